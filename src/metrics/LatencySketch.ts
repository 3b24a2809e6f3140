/** Relative accuracy of quantiles: each is within 1% of a value actually recorded nearby. */
const GAMMA = 1.02;
const LOG_GAMMA = Math.log(GAMMA);
/** Durations below this (ms) share the lowest bucket. */
const FLOOR_MS = 0.001;
/** The top bucket: durations beyond about 3 hours share it. */
const TOP = 1200;

/**
 * A bounded-memory quantile sketch for durations (ms): logarithmic buckets 2% wide, so
 * any quantile is within about 1% of the truth while memory stays at 1,201 counts (a
 * 9.6 KB typed array, allocated on the first `record`) whatever the count (from 1 µs to
 * about 3 hours; longer durations share the top bucket). Recording allocates nothing.
 *
 * @example
 * ```ts
 * const sketch = new LatencySketch();
 * for (const ms of [12, 15, 30, 250]) sketch.record(ms);
 * sketch.quantile(0.95); // ≈ 250
 * ```
 */
export class LatencySketch {
  /** Count per bucket, allocated on the first `record` (a sketch nobody feeds costs nothing). */
  #buckets: Float64Array | undefined;
  #count = 0;
  #max = 0;
  #min = Number.POSITIVE_INFINITY;

  /** How many durations were recorded. */
  get count(): number {
    return this.#count;
  }

  /** The largest duration recorded (0 when empty). */
  get max(): number {
    return this.#max;
  }

  /** Records one duration in ms (negative values count as 0). Allocates nothing. */
  record(ms: number): void {
    // biome-ignore lint/complexity/useMathMinMax: NaN must count as 0, which Math.max would not do.
    const value = ms > 0 ? ms : 0;
    const bucket =
      value <= FLOOR_MS ? 0 : Math.min(TOP, Math.ceil(Math.log(value / FLOOR_MS) / LOG_GAMMA));
    this.#buckets ??= new Float64Array(TOP + 1);
    this.#buckets[bucket] = (this.#buckets[bucket] as number) + 1;
    this.#count++;
    if (value > this.#max) this.#max = value;
    if (value < this.#min) this.#min = value;
  }

  /** The `q`-quantile (0..1) of recorded durations; 0 when nothing was recorded. O(buckets). */
  quantile(q: number): number {
    const buckets = this.#buckets;
    if (this.#count === 0 || buckets === undefined) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let bucket = 0; bucket <= TOP; bucket++) {
      seen += buckets[bucket] as number;
      if (seen >= rank) {
        const estimate = bucket === 0 ? FLOOR_MS : (FLOOR_MS * GAMMA ** bucket * 2) / (1 + GAMMA);
        return Math.min(this.#max, Math.max(this.#min, estimate));
      }
    }
    return this.#max;
  }
}
