import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CostAwarePolicy } from '../../src/cache/eviction/CostAwarePolicy.js';
import { createEvictionPolicy, EVICTION_POLICIES } from '../../src/cache/eviction/index.js';
import { LruPolicy } from '../../src/cache/eviction/LruPolicy.js';

type Op =
  | { kind: 'add'; cost: number; size: number }
  | { kind: 'touch' | 'remove'; pick: number }
  | { kind: 'replace'; pick: number; cost: number; size: number }
  | { kind: 'evict' };

const cost = fc.integer({ min: -5, max: 50 });
const size = fc.integer({ min: 0, max: 20 });
const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('add' as const), cost, size }),
    fc.record({ kind: fc.constantFrom('touch' as const, 'remove' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), cost, size }),
    fc.constant({ kind: 'evict' as const }),
  ),
  { maxLength: 150 },
);

describe.each(EVICTION_POLICIES)('%s policy: replace', (name) => {
  it('is remove then add with the carried use count, keeping the slot (fast-check)', () => {
    fc.assert(
      fc.property(ops, (steps) => {
        // `a` replaces in place; `b` does what MemoryStore did before replace existed.
        const a = createEvictionPolicy(name);
        const b = createEvictionPolicy(name);
        const slots: number[] = [];
        for (const step of steps) {
          if (step.kind === 'add') {
            const slot = a.add(step.cost, step.size);
            expect(b.add(step.cost, step.size)).toBe(slot);
            slots.push(slot);
          } else if (step.kind === 'evict') {
            const victim = a.evict();
            expect(b.evict()).toBe(victim);
            slots.splice(slots.indexOf(victim), 1);
          } else if (slots.length > 0) {
            const at = step.pick % slots.length;
            const slot = slots[at] as number;
            if (step.kind === 'replace') {
              a.replace(slot, step.cost, step.size);
              const uses = b.uses(slot);
              b.remove(slot);
              expect(b.add(step.cost, step.size, uses)).toBe(slot);
            } else if (step.kind === 'touch') {
              a.touch(slot);
              b.touch(slot);
            } else {
              a.remove(slot);
              b.remove(slot);
              slots.splice(at, 1);
            }
          }
          expect(a.size).toBe(b.size);
          expect(a.order()).toEqual(b.order());
          for (const slot of slots) expect(a.uses(slot)).toBe(b.uses(slot));
          if (a instanceof CostAwarePolicy && b instanceof CostAwarePolicy) {
            expect(a.inflation).toBe(b.inflation);
            for (const slot of slots) expect(a.priorityOf(slot)).toBe(b.priorityOf(slot));
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('LruPolicy: replace', () => {
  it('makes the slot the most recently used', () => {
    const lru = new LruPolicy();
    const first = lru.add(0, 1);
    const second = lru.add(0, 1);
    lru.replace(first, 5, 5);
    expect(lru.order()).toEqual([second, first]);
  });
});
