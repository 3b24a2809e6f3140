export { compressBytes, decompressBytes } from './cache/codec.js';
export type { BrowserCacheOptions } from './cache/createBrowserCache.js';
export { BrowserCache, createBrowserCache } from './cache/createBrowserCache.js';
export type { EvictionPolicyName } from './cache/eviction/index.js';
export type { IndexedDbStoreOptions } from './cache/IndexedDbStore.js';
export { IndexedDbStore, IndexedDbUnavailableError } from './cache/IndexedDbStore.js';
export type { MemoryStoreEvictionReason, MemoryStoreOptions } from './cache/MemoryStore.js';
export { MemoryStore } from './cache/MemoryStore.js';
export { sizeOf } from './cache/sizeOf.js';
export type { Tier, TieredCacheOptions } from './cache/TieredCache.js';
export { TieredCache, TierTimeoutError, TierUnavailableError } from './cache/TieredCache.js';
export type {
  Cache,
  CacheEntry,
  CacheStore,
  CacheStoreEvent,
  SyncCacheStore,
} from './cache/types.js';
export { isSyncCacheStore } from './cache/types.js';
export type {
  AcquireOptions,
  Coordinator,
  CoordinatorClaim,
  CoordinatorLease,
} from './engine/coordinator.js';
export { createEngine } from './engine/createEngine.js';
export type { Engine } from './engine/Engine.js';
export type { KeyedMapOptions } from './engine/keyedInternals.js';
export type {
  EngineOptions,
  LoaderOptions,
  PrefetchOptions,
  RunOptions,
} from './engine/options.js';
export type { CorruptEntryReason } from './errors.js';
export {
  AbortError,
  AllFailedError,
  BatchItemError,
  BatchLengthError,
  CorruptEntryError,
  GraphCycleError,
  NodeOnlyError,
  PreemptedError,
  RemoteExecutionError,
  UnknownDependencyError,
  UnserializableValueError,
} from './errors.js';
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
export type { GraphBuilder } from './graph/defineGraph.js';
export { defineGraph } from './graph/defineGraph.js';
export type { GraphState, TaskSnapshot, TaskStatus } from './graph/graphState.js';
export { graphState$, initialGraphState, reduceGraphState } from './graph/graphState.js';
export { runGraph } from './graph/runGraph.js';
export type {
  GraphCompletedEvent,
  GraphDepKeys,
  GraphDeps,
  GraphEvent,
  GraphOrder,
  GraphStartedEvent,
  GraphSummary,
  GraphTask,
  RunGraphOptions,
  TaskFailedEvent,
  TaskName,
  TaskSkippedEvent,
  TaskSkipReason,
  TaskStartedEvent,
  TaskSucceededEvent,
} from './graph/types.js';
export type { LatencyRegistryOptions } from './hedge/LatencyRegistry.js';
export { LatencyRegistry, sharedLatencyRegistry } from './hedge/LatencyRegistry.js';
export type { Alert, AlertKind, AlertThresholds } from './metrics/AlertMonitor.js';
export { AlertMonitor } from './metrics/AlertMonitor.js';
export type {
  ChromeTrace,
  ChromeTraceEvent,
  ChromeTraceOptions,
  TraceArg,
  TraceCompleteEvent,
  TraceCounterEvent,
  TraceInstantEvent,
  TraceMetadataEvent,
} from './metrics/chromeTrace.js';
export { toChromeTrace } from './metrics/chromeTrace.js';
export type * from './metrics/events.js';
export type { LatencyHistogramOptions } from './metrics/LatencyHistogram.js';
export { LATENCY_HISTOGRAM_ERROR, LatencyHistogram } from './metrics/LatencyHistogram.js';
export { LatencySketch } from './metrics/LatencySketch.js';
export type { MetricsAggregatorOptions } from './metrics/MetricsAggregator.js';
export { MetricsAggregator } from './metrics/MetricsAggregator.js';
export type { ProgressOptions, ProgressSnapshot } from './metrics/progress.js';
export { progress$ } from './metrics/progress.js';
export type { WindowCounts } from './metrics/SlidingCounters.js';
export type {
  BatchMetrics,
  MetricsSnapshot,
  PrefetchMetrics,
  QuantileSummary,
  ShortCircuitMetrics,
  TaskMetrics,
  TierMetrics,
} from './metrics/types.js';
export type { EventSink, ShortCircuitOptions } from './shortCircuit/types.js';
export type { MarkovPredictorFnOptions } from './speculation/learnedPredictor.js';
export { markovPredictor } from './speculation/learnedPredictor.js';
export type { MarkovPredictorOptions, Prediction } from './speculation/MarkovPredictor.js';
export { MarkovPredictor } from './speculation/MarkovPredictor.js';
export type { Predict, PrefetchCandidate } from './speculation/types.js';
