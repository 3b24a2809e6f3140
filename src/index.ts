export type { Cache, CacheEntry, CacheStore, SyncCacheStore } from './cache/types.js';
export { isSyncCacheStore } from './cache/types.js';
export { AbortError, PreemptedError } from './errors.js';
export { createExecutor } from './executor/createExecutor.js';
export type { ExecutorOptions } from './executor/PriorityExecutor.js';
export type { ParallelOptions } from './executor/parallelInternals.js';
export type {
  Clock,
  Executor,
  ExecutorStats,
  Priority,
  ScheduleOptions,
  Work,
} from './executor/types.js';
export { PRIORITIES, TaskControl } from './executor/types.js';
export type * from './metrics/events.js';
