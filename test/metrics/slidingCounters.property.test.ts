import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SlidingCounters,
  WINDOW_FIELD,
  type WindowCounts,
} from '../../src/metrics/SlidingCounters.js';

const FIELDS = Object.keys(WINDOW_FIELD) as (keyof WindowCounts)[];

describe('SlidingCounters', () => {
  it('counts what happened in the 10 buckets up to the asked time (fast-check)', () => {
    const windowMs = 1_000;
    const bucketMs = windowMs / 10;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            field: fc.constantFrom(...FIELDS),
            // Steps land on and around bucket edges as well as far ahead.
            step: fc.oneof(
              fc.constantFrom(0, 100, 99.999, 0.001),
              fc.double({ min: 0, max: 3_000, noNaN: true }),
            ),
          }),
          { maxLength: 200 },
        ),
        fc.double({ min: 0, max: 2_000, noNaN: true }),
        (adds, after) => {
          const window = new SlidingCounters(windowMs);
          const added: { field: keyof WindowCounts; bucket: number }[] = [];
          let time = 0;
          for (const { field, step } of adds) {
            time += step;
            window.add(WINDOW_FIELD[field], time);
            added.push({ field, bucket: Math.floor(time / bucketMs) });
          }
          const end = time + after;
          const newest = Math.floor(end / bucketMs);
          const expected: WindowCounts = {
            ended: 0,
            overlapped: 0,
            executions: 0,
            redundant: 0,
            hits: 0,
            misses: 0,
          };
          for (const { field, bucket } of added) if (bucket > newest - 10) expected[field]++;
          expect(window.totals(end)).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('counts a time older than the newest bucket in the newest bucket', () => {
    const window = new SlidingCounters(1_000);
    window.add(WINDOW_FIELD.hits, 950);
    window.add(WINDOW_FIELD.hits, 10);
    expect(window.totals(950).hits).toBe(2);
    expect(window.totals(1_049).hits).toBe(2);
    expect(window.totals(1_900).hits).toBe(0);
  });
});
