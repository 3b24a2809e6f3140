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
  /** used / issued: how many prefetches paid off (0 before any was issued). */
  readonly precision: number;
}

/**
 * Quantiles of a duration distribution, in ms, from a bounded-memory sketch (about 1%
 * relative accuracy).
 *
 * @example
 * ```ts
 * const { p50, p95, p99 } = engine.metrics().latency.firstValue;
 * ```
 */
export interface QuantileSummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * What the executor's tasks did.
 *
 * @example
 * ```ts
 * const { started, preempted } = engine.metrics().tasks;
 * ```
 */
export interface TaskMetrics {
  readonly started: number;
  readonly completed: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly preempted: number;
  /** Ended tasks that ran at the same time as at least one other task. */
  readonly overlapped: number;
}

/**
 * Hits answered by one cache tier.
 *
 * @example
 * ```ts
 * const [memory, disk] = engine.metrics().tiers;
 * ```
 */
export interface TierMetrics {
  readonly hits: number;
  /** Hits of this tier / (all hits + misses). */
  readonly hitRate: number;
}

/**
 * Work that short-circuiting operators saved.
 *
 * @example
 * ```ts
 * const { aborted, skipped } = engine.metrics().shortCircuit;
 * ```
 */
export interface ShortCircuitMetrics {
  /** Running work aborted because the answer was already known. */
  readonly aborted: number;
  /** Queued work never started because the answer was already known. */
  readonly skipped: number;
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
  readonly tasks: TaskMetrics;
  /** Executed tasks that overlapped another task in time / executed tasks. Seed target: > 80%. */
  readonly parallelizationRatio: number;
  /** Busy slot-time / (concurrency × time with work queued or running). Seed target: > 90%. */
  readonly utilization: number;
  /** Sum of task durations / wall time while active ("actual vs serial"). */
  readonly speedup: number;
  /** Wall time (ms) with work queued or running. */
  readonly activeMs: number;
  /** Busy slot-time (ms): the sum of task durations so far. */
  readonly busyMs: number;
  /** Request to first value, and request to completion (completed runs only). Seed target: first value < 500 ms. */
  readonly latency: { readonly firstValue: QuantileSummary; readonly completion: QuantileSummary };
  /** Slot release to the next task's start, when work was waiting. Seed target: < 10 ms. */
  readonly handoff: QuantileSummary;
  /** Hits per cache tier (index 0 for a single store). */
  readonly tiers: readonly TierMetrics[];
  readonly prefetch: PrefetchMetrics;
  readonly batches: BatchMetrics;
  readonly shortCircuit: ShortCircuitMetrics;
}
