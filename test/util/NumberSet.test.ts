import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NumberSet } from '../../src/util/NumberSet.js';

describe('NumberSet', () => {
  it('adds, finds and deletes numbers, counting them once', () => {
    const set = new NumberSet();
    expect(set.size).toBe(0);
    expect(set.has(1)).toBe(false);
    set.add(1);
    set.add(1);
    set.add(2.5);
    set.add(-3);
    expect(set.size).toBe(3);
    expect([set.has(1), set.has(2.5), set.has(-3), set.has(2)]).toEqual([true, true, true, false]);
    expect(set.delete(1)).toBe(true);
    expect(set.delete(1)).toBe(false);
    expect(set.has(1)).toBe(false);
    expect(set.size).toBe(2);
    set.clear();
    expect(set.size).toBe(0);
    expect(set.has(2.5)).toBe(false);
  });

  it('treats 0 and -0 as one key, like a Set, and ignores NaN', () => {
    const set = new NumberSet();
    set.add(-0);
    expect(set.has(0)).toBe(true);
    set.add(0);
    expect(set.size).toBe(1);
    set.add(Number.NaN);
    expect(set.size).toBe(1);
    expect(set.has(Number.NaN)).toBe(false);
    expect(set.delete(Number.NaN)).toBe(false);
  });

  it('keeps every key reachable across growth and the churn of ids that start and end', () => {
    const set = new NumberSet();
    for (let id = 0; id < 1000; id++) set.add(id);
    for (let id = 0; id < 1000; id += 2) expect(set.delete(id)).toBe(true);
    for (let id = 0; id < 1000; id++) expect(set.has(id)).toBe(id % 2 === 1);
    // A sliding window of 10 running ids, as an aggregator sees tasks start and end.
    const window = new NumberSet();
    for (let id = 0; id < 10_000; id++) {
      window.add(id);
      if (id >= 10) expect(window.delete(id - 10)).toBe(true);
      expect(window.size).toBe(Math.min(id + 1, 10));
    }
    for (let id = 9_990; id < 10_000; id++) expect(window.has(id)).toBe(true);
  });

  it('agrees with a Set (fast-check)', () => {
    // Few distinct keys, so deletes hit; colliding integers and large or fractional doubles.
    const key = fc.oneof(
      fc.integer({ min: 0, max: 40 }),
      fc.constantFrom(64, 128, 1024, 2 ** 31, 2 ** 40, -1, 0.5, 1e300),
    );
    const op = fc.oneof(
      key.map((k) => ({ add: k })),
      key.map((k) => ({ delete: k })),
      fc.constant('clear' as const),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const set = new NumberSet();
        const model = new Set<number>();
        for (const o of ops) {
          if (o === 'clear') {
            set.clear();
            model.clear();
          } else if ('add' in o) {
            set.add(o.add);
            model.add(o.add);
          } else expect(set.delete(o.delete)).toBe(model.delete(o.delete));
          expect(set.size).toBe(model.size);
        }
        for (let k = -1; k <= 41; k++) expect(set.has(k)).toBe(model.has(k));
        for (const k of model) expect(set.has(k)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
