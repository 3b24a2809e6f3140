/** Relative accuracy of quantiles: each is within 1% of a value actually recorded nearby. */
const GAMMA = 1.02;
const LOG_GAMMA = Math.log(GAMMA);
/** Durations below this (ms) share the lowest bucket. */
const FLOOR_MS = 0.001;

/**
 * A bounded-memory quantile sketch for durations (ms): logarithmic buckets 2% wide, so
 * any quantile is within about 1% of the truth while memory stays under ~1,200 buckets
 * whatever the count (from 1 µs to about 3 hours; longer durations share the top bucket).
 *
 * @example
 * ```ts
 * const sketch = new LatencySketch();
 * for (const ms of [12, 15, 30, 250]) sketch.record(ms);
 * sketch.quantile(0.95); // ≈ 250
 * ```
 */
export class LatencySketch {
  readonly #buckets = new Map<number, number>();
  #sorted: number[] | undefined = [];
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

  /** Records one duration in ms (negative values count as 0). */
  record(ms: number): void {
    const value = ms > 0 ? ms : 0;
    const bucket =
      value <= FLOOR_MS ? 0 : Math.min(1200, Math.ceil(Math.log(value / FLOOR_MS) / LOG_GAMMA));
    const count = this.#buckets.get(bucket);
    if (count === undefined) {
      this.#buckets.set(bucket, 1);
      this.#sorted = undefined;
    } else {
      this.#buckets.set(bucket, count + 1);
    }
    this.#count++;
    if (value > this.#max) this.#max = value;
    if (value < this.#min) this.#min = value;
  }

  /** The `q`-quantile (0..1) of recorded durations; 0 when nothing was recorded. */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    if (this.#sorted === undefined) this.#sorted = [...this.#buckets.keys()].sort((a, b) => a - b);
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (const bucket of this.#sorted) {
      seen += this.#buckets.get(bucket) ?? 0;
      if (seen >= rank) {
        const estimate = bucket === 0 ? FLOOR_MS : (FLOOR_MS * GAMMA ** bucket * 2) / (1 + GAMMA);
        return Math.min(this.#max, Math.max(this.#min, estimate));
      }
    }
    return this.#max;
  }
}
