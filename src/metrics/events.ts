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

/**
 * A task entered its lane's queue.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'queued') console.log(e);
 * });
 * ```
 */
export interface QueuedEvent extends TaskEventBase {
  readonly type: 'queued';
  readonly preemptible: boolean;
}
/**
 * A task got a slot and its work was called.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'started') console.log(e);
 * });
 * ```
 */
export interface StartedEvent extends TaskEventBase {
  readonly type: 'started';
  /** Index of the slot the task runs in (stable across tasks, for one track per slot). */
  readonly slot: number;
  readonly preemptible: boolean;
  readonly expectedMs: number | undefined;
}
/**
 * A running task's work completed.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'completed') console.log(e);
 * });
 * ```
 */
export interface CompletedEvent extends TaskEventBase {
  readonly type: 'completed';
  readonly slot: number;
}
/**
 * A running task's work failed (threw, rejected or errored).
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'failed') console.log(e);
 * });
 * ```
 */
export interface FailedEvent extends TaskEventBase {
  readonly type: 'failed';
  readonly slot: number;
  readonly error: unknown;
}
/**
 * A task was unsubscribed: while queued (`slot` undefined) or while running.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'cancelled') console.log(e);
 * });
 * ```
 */
export interface CancelledEvent extends TaskEventBase {
  readonly type: 'cancelled';
  readonly slot: number | undefined;
}
/**
 * A running preemptible task was aborted to free its slot for higher-priority work.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'preempted') console.log(e);
 * });
 * ```
 */
export interface PreemptedEvent extends TaskEventBase {
  readonly type: 'preempted';
  readonly slot: number;
}
/**
 * A task moved to a higher lane (aging, or a caller of higher priority joined it).
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'promoted') console.log(e);
 * });
 * ```
 */
export interface PromotedEvent extends TaskEventBase {
  readonly type: 'promoted';
  readonly from: Priority;
}

/**
 * Events an {@link Executor} emits.
 *
 * @example
 * ```ts
 * executor.events$.subscribe((e: ExecutorEvent) => console.log(e.type, e.taskId));
 * ```
 */
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

/**
 * `engine.run` was subscribed.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'request') console.log(e);
 * });
 * ```
 */
export interface RequestEvent extends KeyEventBase {
  readonly type: 'request';
  readonly requestId: number;
  readonly priority: Priority;
}
/**
 * A request delivered its first value.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'first-value') console.log(e);
 * });
 * ```
 */
export interface FirstValueEvent extends KeyEventBase {
  readonly type: 'first-value';
  readonly requestId: number;
}
/**
 * A request ended.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'request-ended') console.log(e);
 * });
 * ```
 */
export interface RequestEndedEvent extends KeyEventBase {
  readonly type: 'request-ended';
  readonly requestId: number;
  readonly outcome: 'completed' | 'failed' | 'cancelled';
}
/**
 * A request was served from a valid cache entry.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'cache-hit') console.log(e);
 * });
 * ```
 */
export interface CacheHitEvent extends KeyEventBase {
  readonly type: 'cache-hit';
  /** Index of the tier that answered (0 for a single store). */
  readonly tier: number;
}
/**
 * No valid cache entry was found for a request.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'cache-miss') console.log(e);
 * });
 * ```
 */
export interface CacheMissEvent extends KeyEventBase {
  readonly type: 'cache-miss';
}
/**
 * A request joined an execution of its key already in flight.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'joined') console.log(e);
 * });
 * ```
 */
export interface JoinedEvent extends KeyEventBase {
  readonly type: 'joined';
}
/**
 * The engine started an execution of a key's work.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'executed') console.log(e);
 * });
 * ```
 */
export interface ExecutedEvent extends KeyEventBase {
  readonly type: 'executed';
  readonly executionId: number;
  readonly prefetch: boolean;
}
/**
 * An execution ended.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'execution-ended') console.log(e);
 * });
 * ```
 */
export interface ExecutionEndedEvent extends KeyEventBase {
  readonly type: 'execution-ended';
  readonly executionId: number;
  readonly outcome: 'completed' | 'failed' | 'cancelled';
  readonly durationMs: number;
}
/**
 * A result was written to the cache, valid for `ttl` ms from `time`.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'cache-stored') console.log(e);
 * });
 * ```
 */
export interface CacheStoredEvent extends KeyEventBase {
  readonly type: 'cache-stored';
  /** Lifetime in ms (`Infinity`: for the session). */
  readonly ttl: number;
  /** Wall-clock ms after which the entry expires. */
  readonly expiresAt: number;
}
/**
 * A key's cache entry was removed by `engine.invalidate`.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'invalidated') console.log(e);
 * });
 * ```
 */
export interface InvalidatedEvent extends KeyEventBase {
  readonly type: 'invalidated';
}
/**
 * A cache store failed; the engine treated it as a miss (read) or skipped it (write).
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'cache-error') console.log(e);
 * });
 * ```
 */
export interface CacheErrorEvent extends KeyEventBase {
  readonly type: 'cache-error';
  readonly operation: 'get' | 'set' | 'delete' | 'clear' | 'keys';
  readonly tier: number | undefined;
  readonly error: unknown;
}
/**
 * A prefetch of a key was started.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'prefetch-issued') console.log(e);
 * });
 * ```
 */
export interface PrefetchIssuedEvent extends KeyEventBase {
  readonly type: 'prefetch-issued';
}
/**
 * A request was served by a prefetch (its cache entry or its execution in flight).
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'prefetch-used') console.log(e);
 * });
 * ```
 */
export interface PrefetchUsedEvent extends KeyEventBase {
  readonly type: 'prefetch-used';
}
/**
 * A prefetched entry expired or was evicted before anyone used it, or the prefetch failed.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'prefetch-wasted') console.log(e);
 * });
 * ```
 */
export interface PrefetchWastedEvent extends KeyEventBase {
  readonly type: 'prefetch-wasted';
}

/**
 * A batch of a loader or `batchMap` was sent.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'batch-dispatched') console.log(e);
 * });
 * ```
 */
export interface BatchDispatchedEvent extends EventBase {
  readonly type: 'batch-dispatched';
  readonly label: string | undefined;
  /** How many values the batch holds. */
  readonly size: number;
  /** The batch's `maxBatchSize` (`Infinity`: unbounded). */
  readonly capacity: number;
}

/**
 * A short-circuiting operator (`firstSuccess`, `someMap`, `everyMap`, `hedge`) knew its
 * answer before all its work ended, and dropped the rest: `aborted` running tasks had
 * their signal aborted, `skipped` received ones never started (waiting in the operator
 * or queued in the executor). Values the source had not emitted yet are not counted.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'short-circuit') console.log(e);
 * });
 * ```
 */
export interface ShortCircuitEvent extends EventBase {
  readonly type: 'short-circuit';
  readonly label: string | undefined;
  /** The operator that short-circuited. */
  readonly operator: 'firstSuccess' | 'someMap' | 'everyMap' | 'hedge';
  /** Running work whose signal was aborted. */
  readonly aborted: number;
  /** Received work that never started. */
  readonly skipped: number;
}

/**
 * How a cross-process `Coordinator` settled an execution of a key:
 * - `'leased'`: this process took the lease and executes;
 * - `'took-over'`: it waited for another process, then took the lease (released, expired
 *   with its holder, or ended without a result in the shared cache) and executes;
 * - `'remote-done'`: another process executed the key; its result was read from the
 *   shared cache and nothing ran here;
 * - `'remote-failed'`: another process's execution failed; its error was delivered here;
 * - `'remote-missing'`: another process reported success but the shared cache had no
 *   entry (no shared tier, `ttl` 0, evicted, or the tier is down): the key is asked again;
 * - `'unavailable'`: the coordinator could not be reached (`error`); executed locally.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'coordination' && e.outcome === 'unavailable') console.warn(e.error);
 * });
 * ```
 */
export interface CoordinationEvent extends KeyEventBase {
  readonly type: 'coordination';
  /** What happened; see above. */
  readonly outcome:
    | 'leased'
    | 'took-over'
    | 'remote-done'
    | 'remote-failed'
    | 'remote-missing'
    | 'unavailable';
  /** The coordinator's failure (`'unavailable'`) or the remote error (`'remote-failed'`). */
  readonly error: unknown;
}

/**
 * Events an engine adds to its executor's.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'cache-hit' || e.type === 'joined') console.log(e.type, e.key);
 * });
 * ```
 */
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
  | BatchDispatchedEvent
  | ShortCircuitEvent
  | CoordinationEvent;

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
