import type { Priority } from '../executor/types.js';

/** Fields every event carries. */
interface EventBase {
  /** Milliseconds from the emitter's clock (monotonic by default). */
  readonly time: number;
}

/** Fields of events about one executor task. */
interface TaskEventBase extends EventBase {
  readonly taskId: number;
  readonly label: string | undefined;
  readonly priority: Priority;
  /** The executor the task belongs to, for traces of several executors. */
  readonly executorId: number;
}

/** A task entered its lane's queue. */
export interface QueuedEvent extends TaskEventBase {
  readonly type: 'queued';
  readonly preemptible: boolean;
}
/** A task got a slot and its work was called. */
export interface StartedEvent extends TaskEventBase {
  readonly type: 'started';
  /** Index of the slot the task runs in (stable across tasks, for one track per slot). */
  readonly slot: number;
  readonly preemptible: boolean;
  readonly expectedMs: number | undefined;
}
/** A running task's work completed. */
export interface CompletedEvent extends TaskEventBase {
  readonly type: 'completed';
  readonly slot: number;
}
/** A running task's work failed (threw, rejected or errored). */
export interface FailedEvent extends TaskEventBase {
  readonly type: 'failed';
  readonly slot: number;
  readonly error: unknown;
}
/** A task was unsubscribed: while queued (`slot` undefined) or while running. */
export interface CancelledEvent extends TaskEventBase {
  readonly type: 'cancelled';
  readonly slot: number | undefined;
}
/** A running preemptible task was aborted to free its slot for higher-priority work. */
export interface PreemptedEvent extends TaskEventBase {
  readonly type: 'preempted';
  readonly slot: number;
}
/** A task moved to a higher lane (aging, or a caller of higher priority joined it). */
export interface PromotedEvent extends TaskEventBase {
  readonly type: 'promoted';
  readonly from: Priority;
}

/** Events an {@link Executor} emits. */
export type ExecutorEvent =
  | QueuedEvent
  | StartedEvent
  | CompletedEvent
  | FailedEvent
  | CancelledEvent
  | PreemptedEvent
  | PromotedEvent;

/** Fields of events about one engine key. */
interface KeyEventBase extends EventBase {
  readonly key: string;
  readonly label: string | undefined;
}

/** `engine.run` was subscribed. */
export interface RequestEvent extends KeyEventBase {
  readonly type: 'request';
  readonly requestId: number;
  readonly priority: Priority;
}
/** A request delivered its first value. */
export interface FirstValueEvent extends KeyEventBase {
  readonly type: 'first-value';
  readonly requestId: number;
}
/** A request ended. */
export interface RequestEndedEvent extends KeyEventBase {
  readonly type: 'request-ended';
  readonly requestId: number;
  readonly outcome: 'completed' | 'failed' | 'cancelled';
}
/** A request was served from a valid cache entry. */
export interface CacheHitEvent extends KeyEventBase {
  readonly type: 'cache-hit';
  /** Index of the tier that answered (0 for a single store). */
  readonly tier: number;
}
/** No valid cache entry was found for a request. */
export interface CacheMissEvent extends KeyEventBase {
  readonly type: 'cache-miss';
}
/** A request joined an execution of its key already in flight. */
export interface JoinedEvent extends KeyEventBase {
  readonly type: 'joined';
}
/** The engine started an execution of a key's work. */
export interface ExecutedEvent extends KeyEventBase {
  readonly type: 'executed';
  readonly executionId: number;
  readonly prefetch: boolean;
}
/** An execution ended. */
export interface ExecutionEndedEvent extends KeyEventBase {
  readonly type: 'execution-ended';
  readonly executionId: number;
  readonly outcome: 'completed' | 'failed' | 'cancelled';
  readonly durationMs: number;
}
/** A result was written to the cache, valid for `ttl` ms from `time`. */
export interface CacheStoredEvent extends KeyEventBase {
  readonly type: 'cache-stored';
  /** Lifetime in ms (`Infinity`: for the session). */
  readonly ttl: number;
  /** Wall-clock ms after which the entry expires. */
  readonly expiresAt: number;
}
/** A key's cache entry was removed by `engine.invalidate`. */
export interface InvalidatedEvent extends KeyEventBase {
  readonly type: 'invalidated';
}
/** A cache store failed; the engine treated it as a miss (read) or skipped it (write). */
export interface CacheErrorEvent extends KeyEventBase {
  readonly type: 'cache-error';
  readonly operation: 'get' | 'set' | 'delete' | 'clear' | 'keys';
  readonly tier: number | undefined;
  readonly error: unknown;
}
/** A prefetch of a key was started. */
export interface PrefetchIssuedEvent extends KeyEventBase {
  readonly type: 'prefetch-issued';
}
/** A request was served by a prefetch (its cache entry or its execution in flight). */
export interface PrefetchUsedEvent extends KeyEventBase {
  readonly type: 'prefetch-used';
}
/** A prefetched entry expired or was evicted before anyone used it, or the prefetch failed. */
export interface PrefetchWastedEvent extends KeyEventBase {
  readonly type: 'prefetch-wasted';
}

/** A batch of a loader or `batchMap` was sent. */
export interface BatchDispatchedEvent extends EventBase {
  readonly type: 'batch-dispatched';
  readonly label: string | undefined;
  /** How many values the batch holds. */
  readonly size: number;
  /** The batch's `maxBatchSize` (`Infinity`: unbounded). */
  readonly capacity: number;
}

/** Events an engine adds to its executor's. */
export type EngineEvent =
  | RequestEvent
  | FirstValueEvent
  | RequestEndedEvent
  | CacheHitEvent
  | CacheMissEvent
  | JoinedEvent
  | ExecutedEvent
  | ExecutionEndedEvent
  | CacheStoredEvent
  | InvalidatedEvent
  | CacheErrorEvent
  | PrefetchIssuedEvent
  | PrefetchUsedEvent
  | PrefetchWastedEvent
  | BatchDispatchedEvent;

/**
 * Everything eed reports, as a discriminated union on `type`.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'cache-hit') console.log('hit', e.key);
 * });
 * ```
 */
export type ExecutionEvent = ExecutorEvent | EngineEvent;
