import { LATENCY_HISTOGRAM_ERROR, LatencyHistogram, LatencyRegistry } from 'eed';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** The exact nearest-rank quantile of `samples`. */
function exactQuantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  if (q === 0) return sorted[0] as number;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] as number;
}

/** The samples a histogram of generation size `window` describes after recording `all`. */
function inWindow(all: number[], window: number): number[] {
  if (all.length <= window) return all;
  const current = all.length % window === 0 ? window : all.length % window;
  return all.slice(-(current + window));
}

describe('LatencyHistogram', () => {
  it('is empty at first', () => {
    const histogram = new LatencyHistogram();
    expect(histogram.count).toBe(0);
    expect(histogram.quantile(0.95)).toBeUndefined();
  });

  it('gives min and max exactly, and quantiles within ~2%', () => {
    const histogram = new LatencyHistogram();
    for (let ms = 1; ms <= 100; ms++) histogram.record(ms);
    expect(histogram.quantile(0)).toBe(1);
    expect(histogram.quantile(1)).toBe(100);
    expect(histogram.quantile(0.5)).toBeCloseTo(50, -0.5);
    expect(Math.abs((histogram.quantile(0.95) as number) - 95)).toBeLessThanOrEqual(
      95 * LATENCY_HISTOGRAM_ERROR,
    );
  });

  it('forgets samples older than two generations', () => {
    const histogram = new LatencyHistogram({ window: 10 });
    for (let i = 0; i < 20; i++) histogram.record(1000);
    for (let i = 0; i < 20; i++) histogram.record(5);
    expect(histogram.count).toBe(20);
    expect(histogram.recorded).toBe(40);
    expect(histogram.quantile(1)).toBe(5);
  });

  it('counts negative durations as 0 and rejects NaN', () => {
    const histogram = new LatencyHistogram();
    histogram.record(-3);
    expect(histogram.quantile(0.5)).toBe(0);
    expect(() => histogram.record(Number.NaN)).toThrow(
      'LatencyHistogram.record: ms must be a number; received NaN',
    );
  });

  it('validates its arguments, naming them', () => {
    expect(() => new LatencyHistogram({ window: 0 })).toThrow(
      /LatencyHistogram: window must be an integer between 1 and \d+; received 0/,
    );
    expect(() => new LatencyHistogram({ window: 2 ** 31 + 1 })).toThrow(
      `LatencyHistogram: window must be an integer between 1 and ${2 ** 31}; received ${2 ** 31 + 1}`,
    );
    expect(new LatencyHistogram({ window: 2 ** 31 }).window).toBe(2 ** 31);
    expect(() => new LatencyHistogram().quantile(1.5)).toThrow(
      'LatencyHistogram.quantile: q must be a number from 0 to 1; received 1.5',
    );
  });

  it('clear forgets everything', () => {
    const histogram = new LatencyHistogram();
    histogram.record(5);
    histogram.clear();
    expect(histogram.count).toBe(0);
    expect(histogram.quantile(0.5)).toBeUndefined();
  });

  it('property: any quantile is within the stated error of the exact one over the window', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.double({ min: 0, max: 1e6, noNaN: true }),
            fc.integer({ min: 0, max: 5000 }),
            fc.constant(0),
          ),
          { minLength: 1, maxLength: 300 },
        ),
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 8 }),
        (samples, window, qs) => {
          const histogram = new LatencyHistogram({ window });
          for (const ms of samples) histogram.record(ms);
          const kept = inWindow(samples, window);
          expect(histogram.count).toBe(kept.length);
          for (const q of [...qs, 0, 0.5, 0.95, 1]) {
            const exact = exactQuantile(kept, q);
            const estimate = histogram.quantile(q) as number;
            // Relative within the bucket width; absolute within 10 µs for tiny durations.
            expect(Math.abs(estimate - exact)).toBeLessThanOrEqual(
              exact * LATENCY_HISTOGRAM_ERROR * (1 + 1e-9) + 0.01,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stays accurate over many samples spanning eight decades', () => {
    const histogram = new LatencyHistogram({ window: 1_000_000 });
    const samples: number[] = [];
    let seed = 1;
    for (let i = 0; i < 100_000; i++) {
      seed = (seed * 48271) % 2147483647;
      const ms = Math.exp((seed / 2147483647) * 18) / 100;
      samples.push(ms);
      histogram.record(ms);
    }
    for (const q of [0.5, 0.9, 0.95, 0.99]) {
      const exact = exactQuantile(samples, q);
      expect(Math.abs((histogram.quantile(q) as number) - exact)).toBeLessThanOrEqual(
        exact * LATENCY_HISTOGRAM_ERROR * (1 + 1e-9),
      );
    }
  });
});

describe('LatencyRegistry', () => {
  it('keeps one histogram per label and answers only with enough samples', () => {
    const registry = new LatencyRegistry();
    for (let i = 1; i <= 19; i++) registry.record('search', i);
    expect(registry.quantile('search', 0.95, 20)).toBeUndefined();
    registry.record('search', 20);
    expect(registry.quantile('search', 0.95, 20)).toBeCloseTo(19, -0.5);
    expect(registry.quantile('other', 0.95)).toBeUndefined();
  });

  it('forgets the least recently used label beyond maxLabels', () => {
    const registry = new LatencyRegistry({ maxLabels: 2 });
    registry.record('a', 1);
    registry.record('b', 2);
    registry.quantile('a', 0.5); // a is now the most recently used
    registry.record('c', 3);
    expect(registry.size).toBe(2);
    expect(registry.quantile('b', 0.5)).toBeUndefined();
    expect(registry.quantile('a', 0.5)).toBe(1);
    expect(registry.quantile('c', 0.5)).toBe(3);
    registry.clear('a');
    expect(registry.size).toBe(1);
    registry.clear();
    expect(registry.size).toBe(0);
  });

  it('validates its options', () => {
    expect(() => new LatencyRegistry({ maxLabels: 0 })).toThrow(
      /LatencyRegistry: maxLabels must be an integer >= 1.*received 0/,
    );
    for (const window of [-1, 0, 1.5, 2 ** 31 + 1, Number.POSITIVE_INFINITY]) {
      expect(() => new LatencyRegistry({ window })).toThrow(
        new RangeError(
          `LatencyRegistry: window must be an integer between 1 and ${2 ** 31}; received ${window}`,
        ),
      );
    }
    for (const window of [1, 2 ** 31]) {
      expect(new LatencyRegistry({ window }).histogram('a').window).toBe(window);
    }
  });
});
