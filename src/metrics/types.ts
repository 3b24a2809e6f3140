/**
 * Prefetch accounting: what speculation issued, what callers used, what it wasted.
 *
 * @example
 * ```ts
 * const { issued, used } = engine.metrics().prefetch;
 * const precision = issued ? used / issued : 0;
 * ```
 */
export interface PrefetchMetrics {
  /** Prefetches started. */
  readonly issued: number;
  /** Prefetches a later run was served by (joined in flight or hit in cache). */
  readonly used: number;
  /** Prefetches that failed, were preempted, or whose entry expired unused. */
  readonly wasted: number;
}

/**
 * Batching accounting: how many batches were sent and how full they were.
 *
 * @example
 * ```ts
 * const { count, meanSize } = engine.metrics().batches;
 * ```
 */
export interface BatchMetrics {
  /** Batches sent. */
  readonly count: number;
  /** Mean number of values per batch. */
  readonly meanSize: number;
  /** Mean of size / maxBatchSize over batches with a finite maxBatchSize (0 when none). */
  readonly meanFill: number;
}

/**
 * An immutable picture of what an engine did and saved, computed from its events with
 * the definitions of DESIGN.md. Rates are in [0, 1] and 0 when their denominator is 0.
 *
 * @example
 * ```ts
 * const m = engine.metrics();
 * console.log(`hit rate ${(m.cacheHitRate * 100).toFixed(1)}%`);
 * ```
 */
export interface MetricsSnapshot {
  /** `engine.run` subscriptions. */
  readonly requests: number;
  /** Runs served from a valid cache entry. */
  readonly cacheHits: number;
  /** Runs that looked in the cache and found nothing valid. */
  readonly cacheMisses: number;
  /** Runs that joined an execution of their key already in flight. */
  readonly joins: number;
  /** Calls of a key's work. */
  readonly executions: number;
  /** Executions of a key that was already in flight or valid in cache at the time. */
  readonly redundantExecutions: number;
  /** Executions that failed. */
  readonly failures: number;
  /** Executions aborted because every subscriber left. */
  readonly cancellations: number;
  /** cache hits / (hits + misses). Seed target: > 70%. */
  readonly cacheHitRate: number;
  /** runs that joined an in-flight execution / all runs. */
  readonly dedupeRate: number;
  /** redundant executions / all executions. Seed target: < 5%; 0 for `engine.run`. */
  readonly redundancyRate: number;
  readonly prefetch: PrefetchMetrics;
  readonly batches: BatchMetrics;
}
