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

const zero = (): WindowCounts => ({
  ended: 0,
  overlapped: 0,
  executions: 0,
  redundant: 0,
  hits: 0,
  misses: 0,
});

/**
 * Counters over the last `windowMs`, kept in 10 rotating buckets (so the window slides
 * in steps of a tenth of its length) in constant memory.
 *
 * @example
 * ```ts
 * const window = new SlidingCounters(60_000);
 * window.add('hits', now);
 * window.totals(now).hits; // 1
 * ```
 */
export class SlidingCounters {
  readonly #bucketMs: number;
  readonly #buckets: WindowCounts[] = Array.from({ length: BUCKETS }, zero);
  /** Index (time / bucketMs) of the newest bucket. */
  #newest = 0;

  constructor(windowMs: number) {
    this.#bucketMs = windowMs / BUCKETS;
  }

  /** Counts one occurrence of `field` at `time`. */
  add(field: keyof WindowCounts, time: number): void {
    this.#rotate(time);
    const bucket = this.#buckets[this.#newest % BUCKETS] as WindowCounts;
    bucket[field]++;
  }

  /** The sums over the window ending at `time`. */
  totals(time: number): WindowCounts {
    this.#rotate(time);
    const sum = zero();
    for (const bucket of this.#buckets) for (const field of FIELDS) sum[field] += bucket[field];
    return sum;
  }

  #rotate(time: number): void {
    const index = Math.floor(time / this.#bucketMs);
    if (index <= this.#newest) return;
    const steps = Math.min(BUCKETS, index - this.#newest);
    for (let i = 1; i <= steps; i++) this.#buckets[(this.#newest + i) % BUCKETS] = zero();
    this.#newest = index;
  }
}
