import { assertCount } from '../executor/validate.js';

/** Durations up to this (ms) share the lowest bucket. */
const FLOOR_MS = 0.001;
/** Durations are counted in units of the floor: 1 µs. */
const PER_MS = 1 / FLOOR_MS;
/** Each power of two of the duration (in µs) is split into 2^6 = 64 equal buckets. */
const SUB_BITS = 6;
/** Powers of two covered: from 1 µs to 2^34 µs (about 4.8 hours). */
const OCTAVES = 34;
/** The top bucket, past the last octave: longer durations share it. */
const TOP = (OCTAVES << SUB_BITS) + 1;
/** IEEE 754 exponent bias, shifted to where the high word holds the exponent (bit 20). */
const BIASED_ONE = 1023 << SUB_BITS;

// A duration's bucket is read off its float64 bits (exponent and the top mantissa bits):
// no logarithm per record. The high 32-bit word is word 1 on little-endian machines.
const scratch = new Float64Array(1);
const words = new Uint32Array(scratch.buffer);
const HIGH_WORD = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * The bucket of a duration of `units` µs: 0 up to 1 µs, else 1 + 64 x (octave) + (which
 * 64th of the octave), capped at {@link TOP}.
 */
function bucketOf(units: number): number {
  if (!(units > 1)) return 0;
  scratch[0] = units;
  // The exponent and top SUB_BITS mantissa bits of the high word, unbiased.
  const index = ((words[HIGH_WORD] as number) >>> (20 - SUB_BITS)) - BIASED_ONE;
  return index < TOP - 1 ? index + 1 : TOP;
}

/** The middle of a bucket, in ms: within 1/128 (0.8%) of every duration the bucket holds. */
function middleOf(bucket: number): number {
  if (bucket === 0) return FLOOR_MS;
  const index = bucket - 1;
  const octave = index >>> SUB_BITS;
  const sub = index & ((1 << SUB_BITS) - 1);
  return 2 ** octave * (1 + (sub + 0.5) / (1 << SUB_BITS)) * FLOOR_MS;
}

/**
 * A bounded-memory quantile sketch for durations (ms): log-linear buckets (each power of
 * two split into 64 equal parts, as HdrHistogram does), so any quantile is within 0.8% of
 * the truth while memory stays at 2,178 counts (a 17 KB typed array, allocated on the
 * first `record`) whatever the count, from 1 µs to about 4.8 hours (shorter durations
 * share the lowest bucket, longer ones the top). Recording allocates nothing and takes no
 * logarithm: the bucket is read off the float's exponent and mantissa bits.
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
    this.#add(ms, 1);
  }

  /**
   * Records `count` durations of `ms` each, as `count` calls of {@link record} would.
   *
   * @throws RangeError when `count` is not an integer from 0 to `Number.MAX_SAFE_INTEGER`.
   *
   * @example
   * ```ts
   * sketch.recordMany(0, servedAtOnce); // every hit served at once took no time
   * ```
   */
  recordMany(ms: number, count: number): void {
    assertCount('count', count, 0, Number.MAX_SAFE_INTEGER);
    if (count > 0) this.#add(ms, count);
  }

  #add(ms: number, count: number): void {
    // biome-ignore lint/complexity/useMathMinMax: NaN must count as 0, which Math.max would not do.
    const value = ms > 0 ? ms : 0;
    const bucket = bucketOf(value * PER_MS);
    this.#buckets ??= new Float64Array(TOP + 1);
    this.#buckets[bucket] = (this.#buckets[bucket] as number) + count;
    this.#count += count;
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
        return Math.min(this.#max, Math.max(this.#min, middleOf(bucket)));
      }
    }
    return this.#max;
  }
}
