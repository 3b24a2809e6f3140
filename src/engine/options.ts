import type { SchedulerLike } from 'rxjs';
import type { Cache } from '../cache/types.js';
import type { ExecutorOptions } from '../executor/PriorityExecutor.js';
import type { Clock, Executor, Priority } from '../executor/types.js';
import type { AlertThresholds } from '../metrics/AlertMonitor.js';
import type { Coordinator } from './coordinator.js';

/**
 * Options of {@link createEngine}.
 *
 * @example
 * ```ts
 * createEngine({ executor: { concurrency: 8 }, cache: new MemoryStore({ maxEntries: 10_000 }), ttl: 60_000 });
 * ```
 */
export interface EngineOptions {
  /**
   * An executor to share (see `createExecutor`), or options for a new one; anything else
   * throws a `TypeError`. Default: `createExecutor()` (10 slots).
   */
  executor?: Executor | ExecutorOptions;
  /** Where results are cached: any `CacheStore` or `TieredCache`. Default: a new `MemoryStore()`. */
  cache?: Cache;
  /** How long (ms) a result stays valid. Default `Infinity` (the session). `0` caches nothing. */
  ttl?: number;
  /**
   * Source of event timestamps and durations. Default: `performance.now()` (of the
   * `performance` object current when the engine is made).
   */
  clock?: Clock;
  /**
   * Source of wall-clock time for cache expiry (`storedAt`, `expiresAt`). Default:
   * `Date.now()`. The default cache uses it too; give a cache of your own the same clock.
   */
  wallClock?: Clock;
  /**
   * Least time (ms) between two `metrics$` snapshots: at most 2^31 - 1 (the longest timer
   * delay), or `Infinity` for only the snapshot each subscriber gets at once. Default 1000.
   */
  metricsIntervalMs?: number;
  /**
   * Keep metrics (and alerts). The engine then listens to its executor's events, which
   * costs a little per task; `false` turns all of it off (`metrics()` stays empty).
   * `true` or `false`; default `true`.
   */
  metrics?: boolean;
  /**
   * Alert thresholds and window (an object; `windowMs` a number > 0 or `Infinity`);
   * defaults from the seed.
   */
  alerts?: AlertThresholds;
  /**
   * Deduplicates executions across processes (`redisCoordinator` from `"eed/node"`):
   * before executing a key that missed the cache, the engine asks the coordinator, and
   * either executes under a lease or reads another process's result from the shared
   * cache. Needs a `cache` the processes share (a `TieredCache` with a `RedisStore`
   * tier); runs with `cache: false` or `ttl: 0` are not coordinated. Default: none (each
   * process deduplicates on its own).
   */
  coordinator?: Coordinator;
}

/**
 * Options of {@link Engine.run}.
 *
 * @example
 * ```ts
 * engine.run('user:1', work, { priority: 'critical', ttl: 5_000, label: 'user' });
 * ```
 */
export interface RunOptions {
  /** The lane the work waits in; a higher one promotes an execution it joins. Default `'normal'`. */
  priority?: Priority;
  /** How long (ms) this result stays valid. Default: the engine's `ttl`. */
  ttl?: number;
  /** `false`: neither read nor write the cache (still joins an execution in flight). Default `true`. */
  cache?: boolean;
  /** A name for events, metrics and traces. */
  label?: string;
  /** How long (ms) the work is expected to take, for slow-execution alerts. */
  expectedMs?: number;
  /**
   * `false`: call the work without holding an executor slot. For composite work that
   * schedules its own tasks on the same executor (holding a slot while waiting for them
   * would deadlock once every slot waits); the run still shares, caches and is measured.
   * Default `true`.
   */
  slot?: boolean;
}

/**
 * Options of {@link Engine.prefetch}.
 *
 * @example
 * ```ts
 * engine.prefetch('user:2', work, { ttl: 30_000 });
 * ```
 */
export interface PrefetchOptions {
  /** How long (ms) the prefetched result stays valid. Default: the engine's `ttl`. */
  ttl?: number;
  /** A name for events, metrics and traces. */
  label?: string;
}

/**
 * Options of {@link Engine.loader}.
 *
 * @example
 * ```ts
 * engine.loader(loadUsers, { maxBatchSize: 100, maxWaitMs: 5, concurrency: 4, ttl: 60_000 });
 * ```
 */
export interface LoaderOptions {
  /** A batch is sent as soon as it holds this many keys. Default `Infinity`. */
  maxBatchSize?: number;
  /**
   * How long (ms) a batch collects keys: at most 2^31 - 1 (the longest timer delay), or
   * `Infinity` for no window (a batch is sent when full: `maxBatchSize` must then be
   * finite). Default: the current macrotask turn (a 0 ms timer).
   */
  maxWaitMs?: number;
  /** The most batches in flight at once. Default `Infinity` (the executor's cap still applies). */
  concurrency?: number;
  /** The lane batch tasks wait in. Default `'normal'`. */
  priority?: Priority;
  /** How long (ms) each loaded key stays cached. Default: the engine's `ttl`. */
  ttl?: number;
  /** A name for events, metrics and traces. */
  label?: string;
  /** Scheduler of the batching window; inject a TestScheduler in tests. Default: `asyncScheduler`. */
  scheduler?: SchedulerLike;
}
