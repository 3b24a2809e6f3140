/**
 * The counters kept over a sliding window.
 *
 * @example
 * ```ts
 * const { ended, overlapped } = aggregator.window();
 * const recentParallelization = ended === 0 ? 0 : overlapped / ended;
 * ```
 */
export interface WindowCounts {
  /** Executor tasks that ended. */
  ended: number;
  /** Ended tasks that overlapped another task. */
  overlapped: number;
  /** Executions of a key's work. */
  executions: number;
  /** Executions of a key already in flight or validly cached. */
  redundant: number;
  hits: number;
  misses: number;
}

const FIELDS = ['ended', 'overlapped', 'executions', 'redundant', 'hits', 'misses'] as const;
const BUCKETS = 10;
/** Slightly less than 1: times this close below a bucket's end take the exact (slow) path. */
const EARLY = 1 - 1e-9;

/**
 * The column of each {@link WindowCounts} field in {@link SlidingCounters}: what `add`
 * takes, so counting is an index into a typed array rather than a property looked up by
 * name.
 *
 * @example
 * ```ts
 * window.add(WINDOW_FIELD.hits, event.time);
 * ```
 */
export const WINDOW_FIELD = {
  ended: 0,
  overlapped: 1,
  executions: 2,
  redundant: 3,
  hits: 4,
  misses: 5,
} as const satisfies { readonly [K in keyof WindowCounts]: number };

/** A column of {@link WINDOW_FIELD}. @example `const column: WindowField = WINDOW_FIELD.misses;` */
export type WindowField = (typeof WINDOW_FIELD)[keyof WindowCounts];

/**
 * Counters over the last `windowMs`, kept in 10 rotating buckets (so the window slides
 * in steps of a tenth of its length) in constant memory: one `Float64Array` of 10 rows of
 * 6 counts. Counting allocates nothing, and costs no division unless the time crossed
 * into a new bucket.
 *
 * @example
 * ```ts
 * const window = new SlidingCounters(60_000);
 * window.add(WINDOW_FIELD.hits, now);
 * window.totals(now).hits; // 1
 * ```
 */
export class SlidingCounters {
  readonly #bucketMs: number;
  /** Row `index % BUCKETS`, column `WINDOW_FIELD[field]`. */
  readonly #counts = new Float64Array(BUCKETS * FIELDS.length);
  /** Index (time / bucketMs) of the newest bucket. */
  #newest = 0;
  /** Times below this are in the newest bucket (or older): no rotation to check. */
  #rotateFrom: number;
  /** Offset of the newest bucket's row in `#counts`. */
  #row = 0;

  constructor(windowMs: number) {
    this.#bucketMs = windowMs / BUCKETS;
    this.#rotateFrom = this.#bucketMs * EARLY;
  }

  /** Counts `count` (default 1) occurrences of `field` (a {@link WINDOW_FIELD} column) at `time`. */
  add(field: WindowField, time: number, count = 1): void {
    if (!(time < this.#rotateFrom)) this.#rotate(time);
    const index = this.#row + field;
    this.#counts[index] = (this.#counts[index] as number) + count;
  }

  /** The sums over the window ending at `time`. */
  totals(time: number): WindowCounts {
    this.#rotate(time);
    const counts = this.#counts;
    const sum: WindowCounts = {
      ended: 0,
      overlapped: 0,
      executions: 0,
      redundant: 0,
      hits: 0,
      misses: 0,
    };
    for (let row = 0; row < counts.length; row += FIELDS.length) {
      FIELDS.forEach((field, column) => {
        sum[field] += counts[row + column] as number;
      });
    }
    return sum;
  }

  #rotate(time: number): void {
    const bucketMs = this.#bucketMs;
    const index = Math.floor(time / bucketMs);
    if (index <= this.#newest) return;
    const steps = Math.min(BUCKETS, index - this.#newest);
    for (let i = 1; i <= steps; i++) {
      const row = ((this.#newest + i) % BUCKETS) * FIELDS.length;
      this.#counts.fill(0, row, row + FIELDS.length);
    }
    this.#newest = index;
    this.#row = (index % BUCKETS) * FIELDS.length;
    this.#rotateFrom = (index + 1) * bucketMs * EARLY;
  }
}
