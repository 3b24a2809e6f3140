import { assertCount } from '../executor/validate.js';

/** Bucket width: each bucket spans a factor of 1.04, so estimates are within ~2%. */
const GAMMA = 1.04;
const LOG_GAMMA = Math.log(GAMMA);
/** Durations at or below this (ms) share bucket 0: 10 µs. */
const FLOOR_MS = 0.01;
/** The top bucket: durations beyond ~2.8 hours (1e7 ms) share it. */
const TOP_BUCKET = Math.ceil(Math.log(1e7 / FLOOR_MS) / LOG_GAMMA);

/**
 * The largest relative error of {@link LatencyHistogram.quantile} for durations above
 * 10 µs and below ~2.8 hours: (γ − 1) / (γ + 1) with γ = 1.04, about 1.96%. Below 10 µs
 * the error is at most 10 µs.
 *
 * @example
 * ```ts
 * expect(Math.abs(estimate - exact)).toBeLessThanOrEqual(exact * LATENCY_HISTOGRAM_ERROR);
 * ```
 */
export const LATENCY_HISTOGRAM_ERROR = (GAMMA - 1) / (GAMMA + 1);

/**
 * The largest `window` of a {@link LatencyHistogram} (or a `LatencyRegistry`): 2^31
 * samples per generation.
 *
 * @example
 * ```ts
 * assertCount('window', window, 1, MAX_LATENCY_WINDOW);
 * ```
 */
export const MAX_LATENCY_WINDOW = 2 ** 31;

/** One generation of samples: counts per bucket, and the extremes. */
class Generation {
  readonly buckets = new Map<number, number>();
  count = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  add(bucket: number, ms: number): void {
    this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + 1);
    this.count++;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  clear(): void {
    this.buckets.clear();
    this.count = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = Number.NEGATIVE_INFINITY;
  }
}

/**
 * Options of {@link LatencyHistogram}.
 *
 * @example
 * ```ts
 * new LatencyHistogram({ window: 200 }); // quantiles of the latest 200 to 400 samples
 * ```
 */
export interface LatencyHistogramOptions {
  /**
   * How many recent samples quantiles describe: at least the latest `window` (once that
   * many were recorded) and at most the latest 2 × `window`. Older samples are forgotten,
   * so the estimate follows a latency that drifts. An integer from 1 to 2^31; default 512.
   */
  window?: number;
}

/**
 * A bounded-memory latency histogram over a sliding window of recent samples, for
 * quantiles such as p95 (used by `hedge` with `after: 'p95'`, and reusable by metrics).
 *
 * Durations (ms) go into logarithmic buckets 4% wide from 10 µs to ~2.8 hours (at most
 * ~530 buckets, whatever the count), so any quantile is within ~2% of the exact
 * nearest-rank quantile of the same samples ({@link LATENCY_HISTOGRAM_ERROR}). The window
 * is two generations of `window` samples: when the current one fills, it becomes the
 * previous one and the older generation is dropped, so recording and forgetting are O(1)
 * and a quantile costs O(buckets in use).
 *
 * @example
 * ```ts
 * const histogram = new LatencyHistogram({ window: 100 });
 * for (const ms of [12, 15, 30, 250]) histogram.record(ms);
 * histogram.quantile(0.5);  // ≈ 15
 * histogram.quantile(0.95); // ≈ 250
 * ```
 */
export class LatencyHistogram {
  /** Samples per generation. */
  readonly window: number;
  #current = new Generation();
  #previous = new Generation();
  #sorted: number[] | undefined;
  #recorded = 0;

  constructor(options: LatencyHistogramOptions = {}) {
    const window = options.window ?? 512;
    assertCount('LatencyHistogram: window', window, 1, MAX_LATENCY_WINDOW);
    this.window = window;
  }

  /** How many samples the quantiles describe now (between `window` and 2 × `window` once full). */
  get count(): number {
    return this.#current.count + this.#previous.count;
  }

  /** How many samples were ever recorded. */
  get recorded(): number {
    return this.#recorded;
  }

  /**
   * Records one duration in ms. Negative durations count as 0; `Infinity` lands in the
   * top bucket. Throws a `RangeError` for `NaN` or a non-number.
   */
  record(ms: number): void {
    if (typeof ms !== 'number' || Number.isNaN(ms)) {
      throw new RangeError(`LatencyHistogram.record: ms must be a number; received ${String(ms)}`);
    }
    const value = Math.max(ms, 0);
    if (this.#current.count >= this.window) {
      const dropped = this.#previous;
      this.#previous = this.#current;
      dropped.clear();
      this.#current = dropped;
      this.#sorted = undefined;
    }
    const bucket = bucketOf(value);
    if (!this.#current.buckets.has(bucket) && !this.#previous.buckets.has(bucket)) {
      this.#sorted = undefined;
    }
    this.#current.add(bucket, value);
    this.#recorded++;
  }

  /**
   * The `q`-quantile (0 to 1, nearest rank) of the samples in the window, within ~2%;
   * `undefined` when nothing was recorded. `quantile(0)` is the smallest sample,
   * `quantile(1)` the largest.
   */
  quantile(q: number): number | undefined {
    if (typeof q !== 'number' || !(q >= 0 && q <= 1)) {
      throw new RangeError(
        `LatencyHistogram.quantile: q must be a number from 0 to 1; received ${String(q)}`,
      );
    }
    const count = this.count;
    if (count === 0) return undefined;
    const min = Math.min(this.#current.min, this.#previous.min);
    const max = Math.max(this.#current.max, this.#previous.max);
    if (q === 0) return min;
    if (q === 1) return max;
    if (this.#sorted === undefined) {
      const keys = new Set([...this.#current.buckets.keys(), ...this.#previous.buckets.keys()]);
      this.#sorted = [...keys].sort((a, b) => a - b);
    }
    const rank = Math.max(1, Math.ceil(q * count));
    let seen = 0;
    for (const bucket of this.#sorted) {
      seen += (this.#current.buckets.get(bucket) ?? 0) + (this.#previous.buckets.get(bucket) ?? 0);
      if (seen >= rank) return Math.min(max, Math.max(min, representative(bucket)));
    }
    return max;
  }

  /** Forgets every sample. */
  clear(): void {
    this.#current.clear();
    this.#previous.clear();
    this.#sorted = undefined;
    this.#recorded = 0;
  }
}

/** Bucket `i` > 0 holds durations in (FLOOR·γ^(i−1), FLOOR·γ^i]; bucket 0 those <= FLOOR. */
function bucketOf(ms: number): number {
  if (ms <= FLOOR_MS) return 0;
  return Math.min(TOP_BUCKET, Math.max(1, Math.ceil(Math.log(ms / FLOOR_MS) / LOG_GAMMA)));
}

/** The value that best stands for a bucket: equally far, relatively, from both edges. */
function representative(bucket: number): number {
  return bucket === 0 ? FLOOR_MS : (2 * FLOOR_MS * GAMMA ** bucket) / (1 + GAMMA);
}
