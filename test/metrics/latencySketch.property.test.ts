import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencySketch } from '../../src/metrics/LatencySketch.js';

/** The nearest-rank q-quantile of `values`, as the sketch defines its rank. */
function exactQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] as number;
}

const FLOOR_MS = 0.001;
/** 2^34 µs: longer durations share the top bucket. */
const TOP_MS = 2 ** 34 * FLOOR_MS;

const duration = fc.oneof(
  fc.double({ min: 0, max: 10, noNaN: true }),
  fc.double({ min: 0, max: TOP_MS, noNaN: true }),
  // Bucket edges: powers of two of a µs and their 64ths, and the floor itself.
  fc
    .tuple(fc.integer({ min: 0, max: 33 }), fc.integer({ min: 0, max: 63 }))
    .map(([octave, sub]) => 2 ** octave * (1 + sub / 64) * FLOOR_MS),
  fc.constantFrom(0, FLOOR_MS, 2 * FLOOR_MS),
);

describe('LatencySketch', () => {
  it('answers every quantile within 1/128 of the exact one (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(duration, { minLength: 1, maxLength: 300 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, q) => {
          const sketch = new LatencySketch();
          for (const value of values) sketch.record(value);
          const exact = exactQuantile(values, q);
          const estimate = sketch.quantile(q);
          expect(sketch.count).toBe(values.length);
          expect(sketch.max).toBe(Math.max(...values));
          if (exact <= FLOOR_MS) {
            // Durations up to the floor share the lowest bucket.
            expect(estimate).toBeLessThanOrEqual(FLOOR_MS);
          } else {
            // The bound is reached exactly at a bucket's edge: allow the doubles' rounding
            // there, relative to the value (about 1e-11 near 2^18 ms).
            expect(Math.abs(estimate - exact)).toBeLessThanOrEqual((exact / 128) * (1 + 1e-12));
          }
        },
      ),
      // A bucket edge near 2^18 ms, where the error is the bound up to rounding.
      { numRuns: 500, examples: [[[272629.76, 268435.456], 0]] },
    );
  });

  it('keeps quantiles in order and inside the recorded range (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(duration, { minLength: 1, maxLength: 200 }), (values) => {
        const sketch = new LatencySketch();
        for (const value of values) sketch.record(value);
        const quantiles = [0, 0.5, 0.95, 0.99, 1].map((q) => sketch.quantile(q));
        for (let i = 1; i < quantiles.length; i++) {
          expect(quantiles[i]).toBeGreaterThanOrEqual(quantiles[i - 1] as number);
        }
        expect(quantiles[0]).toBeGreaterThanOrEqual(Math.min(...values));
        expect(quantiles[4]).toBeLessThanOrEqual(Math.max(...values));
      }),
    );
  });

  it('counts negative and NaN durations as 0, and durations past the top in the top bucket', () => {
    const sketch = new LatencySketch();
    sketch.record(-5);
    sketch.record(Number.NaN);
    expect(sketch.quantile(1)).toBe(0);
    sketch.record(Number.POSITIVE_INFINITY);
    sketch.record(10 * TOP_MS);
    expect(sketch.count).toBe(4);
    expect(sketch.max).toBe(Number.POSITIVE_INFINITY);
    // The top bucket's middle: past every finite bucket, below the recorded maximum.
    expect(sketch.quantile(1)).toBeGreaterThan(TOP_MS);
    expect(new LatencySketch().quantile(0.5)).toBe(0);
  });
  it('records many durations at once as that many records of one (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(duration, fc.integer({ min: 0, max: 20 })), { maxLength: 30 }),
        (runs) => {
          const many = new LatencySketch();
          const one = new LatencySketch();
          for (const [value, count] of runs) {
            many.recordMany(value, count);
            for (let i = 0; i < count; i++) one.record(value);
          }
          expect(many.count).toBe(one.count);
          expect(many.max).toBe(one.max);
          for (const q of [0, 0.25, 0.5, 0.9, 0.99, 1]) {
            expect(many.quantile(q)).toBe(one.quantile(q));
          }
        },
      ),
    );
  });

  it('rejects a count that is not an integer from 0 up, naming it', () => {
    const sketch = new LatencySketch();
    for (const count of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => sketch.recordMany(1, count)).toThrow(RangeError);
    }
    expect(() => sketch.recordMany(1, -1)).toThrow(/count must be an integer .*received -1/);
    sketch.recordMany(1, 0);
    expect(sketch.count).toBe(0);
  });
});
