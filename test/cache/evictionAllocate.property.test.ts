import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEvictionPolicy, EVICTION_POLICIES } from '../../src/cache/eviction/index.js';
import { NO_SLOT } from '../../src/cache/eviction/types.js';

describe('eviction policies: slots handed out apart from being tracked', () => {
  it.each(EVICTION_POLICIES)('%s: an allocated slot is no victim until linked', (name) => {
    const policy = createEvictionPolicy(name);
    const held = policy.allocate();
    const a = policy.add(1, 1);
    expect(a).not.toBe(held);
    expect(policy.size).toBe(1);
    expect(policy.evict()).toBe(a);
    expect(policy.evict()).toBe(NO_SLOT);
    policy.link(held, 1, 1);
    expect(policy.size).toBe(1);
    expect(policy.order()).toEqual([held]);
    expect(policy.evict()).toBe(held);
  });

  it.each(EVICTION_POLICIES)('%s: a freed slot is handed out again', (name) => {
    const policy = createEvictionPolicy(name);
    const held = policy.allocate();
    policy.free(held);
    expect(policy.size).toBe(0);
    expect(policy.add(1, 1)).toBe(held);
  });

  type Op = { kind: 'allocate' | 'add' | 'evict' } | { kind: 'link' | 'free'; pick: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constantFrom('allocate' as const, 'add' as const, 'evict' as const) }),
    fc.record({ kind: fc.constantFrom('link' as const, 'free' as const), pick: fc.nat() }),
  );

  it('slots in use are distinct, and only linked ones are counted, ordered and evicted (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...EVICTION_POLICIES),
        fc.array(opArb, { maxLength: 60 }),
        (name, ops) => {
          const policy = createEvictionPolicy(name);
          const held = new Set<number>();
          const linked = new Set<number>();
          for (const op of ops) {
            if (op.kind === 'allocate' || op.kind === 'add') {
              const slot = op.kind === 'allocate' ? policy.allocate() : policy.add(1, 1);
              expect(held.has(slot) || linked.has(slot)).toBe(false);
              (op.kind === 'allocate' ? held : linked).add(slot);
            } else if (op.kind === 'evict') {
              const victim = policy.evict();
              if (linked.size === 0) expect(victim).toBe(NO_SLOT);
              else expect(linked.delete(victim)).toBe(true);
            } else if (held.size > 0 && 'pick' in op) {
              const slot = [...held][op.pick % held.size] as number;
              held.delete(slot);
              if (op.kind === 'link') {
                policy.link(slot, 1, 1);
                linked.add(slot);
              } else {
                policy.free(slot);
              }
            }
            expect(policy.size).toBe(linked.size);
            expect(new Set(policy.order())).toEqual(linked);
          }
        },
      ),
    );
  });
});
