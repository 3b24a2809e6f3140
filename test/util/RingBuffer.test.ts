import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RingBuffer } from '../../src/util/RingBuffer.js';

/** Drains a buffer into an array (oldest first). */
const drain = <T>(buffer: RingBuffer<T>): T[] => {
  const out: T[] = [];
  while (buffer.size > 0) out.push(buffer.shift() as T);
  return out;
};

describe('RingBuffer', () => {
  it('is empty when new: size 0 and shift returns undefined', () => {
    const buffer = new RingBuffer<number>();
    expect(buffer.size).toBe(0);
    expect(buffer.shift()).toBeUndefined();
    expect(buffer.size).toBe(0);
  });

  it('returns items first in, first out and counts them', () => {
    const buffer = new RingBuffer<string>();
    buffer.push('a');
    buffer.push('b');
    buffer.push('c');
    expect(buffer.size).toBe(3);
    expect(buffer.shift()).toBe('a');
    expect(buffer.size).toBe(2);
    expect(drain(buffer)).toEqual(['b', 'c']);
    expect(buffer.shift()).toBeUndefined();
  });

  it('keeps order when it grows past its initial capacity', () => {
    const buffer = new RingBuffer<number>();
    for (let i = 0; i < 1000; i++) buffer.push(i);
    expect(buffer.size).toBe(1000);
    expect(drain(buffer)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('keeps order when it grows while the items wrap around the end of storage', () => {
    const buffer = new RingBuffer<number>();
    // Move the head to the middle of the initial 16 slots, then fill past capacity so
    // the queued items wrap around before the buffer grows.
    for (let i = 0; i < 10; i++) buffer.push(-1);
    for (let i = 0; i < 10; i++) buffer.shift();
    for (let i = 0; i < 40; i++) buffer.push(i);
    expect(drain(buffer)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('keeps falsy items (undefined, null, 0) as items', () => {
    const buffer = new RingBuffer<unknown>();
    buffer.push(0);
    buffer.push(null);
    buffer.push(undefined);
    buffer.push('');
    expect(buffer.size).toBe(4);
    expect(drain(buffer)).toEqual([0, null, undefined, '']);
  });

  it('clear drops every item and the buffer stays usable', () => {
    const buffer = new RingBuffer<number>();
    for (let i = 0; i < 100; i++) buffer.push(i);
    buffer.clear();
    expect(buffer.size).toBe(0);
    expect(buffer.shift()).toBeUndefined();
    buffer.push(7);
    buffer.push(8);
    expect(drain(buffer)).toEqual([7, 8]);
  });

  it('handles a long steady stream without losing or reordering items', () => {
    const buffer = new RingBuffer<number>();
    let next = 0;
    const out: number[] = [];
    for (let round = 0; round < 10_000; round++) {
      buffer.push(next++);
      buffer.push(next++);
      out.push(buffer.shift() as number);
    }
    expect(buffer.size).toBe(10_000);
    out.push(...drain(buffer));
    expect(out).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
  });

  it('behaves like an array used as a queue (model-based)', () => {
    type Op = { kind: 'push'; value: number } | { kind: 'shift' } | { kind: 'clear' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.integer().map((value) => ({ kind: 'push' as const, value })) },
      { weight: 4, arbitrary: fc.constant({ kind: 'shift' as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const buffer = new RingBuffer<number>();
        const model: number[] = [];
        for (const o of ops) {
          if (o.kind === 'push') {
            buffer.push(o.value);
            model.push(o.value);
          } else if (o.kind === 'shift') {
            expect(buffer.shift()).toBe(model.shift());
          } else {
            buffer.clear();
            model.length = 0;
          }
          expect(buffer.size).toBe(model.length);
        }
        expect(drain(buffer)).toEqual(model);
      }),
    );
  });
});
