import type { ObservableInput } from 'rxjs';
import type { Engine } from '../engine/Engine.js';
import type { Clock, Executor, Priority } from '../executor/types.js';

/**
 * The `deps` argument of a task's `run`: the result of each dependency named in `deps`,
 * by name. `R` maps every task name of the graph to its result type.
 *
 * @example
 * ```ts
 * type Deps = GraphDeps<{ fetchUser: User; fetchPosts: Post[] }, 'fetchUser'>;
 * // { readonly fetchUser: User }
 * ```
 */
export type GraphDeps<R, D extends keyof R> = { readonly [P in D]: R[P] };

/**
 * The first argument of a task's `key` function: the resolved key of each dependency
 * (`undefined` for a dependency without a key).
 *
 * @example
 * ```ts
 * const key = (depKeys: GraphDepKeys<'source'>) => `compile:${depKeys.source}`;
 * ```
 */
export type GraphDepKeys<D extends PropertyKey> = { readonly [P in D]: string | undefined };

/**
 * One task of a graph. `R` maps the graph's task names to their results, `D` names
 * this task's dependencies and `T` is its own result.
 *
 * @example
 * ```ts
 * const fetchPosts: GraphTask<{ fetchUser: User }, 'fetchUser', Post[]> = {
 *   deps: ['fetchUser'],
 *   run: ({ fetchUser }, signal) => fetch(`/api/users/${fetchUser.id}/posts`, { signal }).then((r) => r.json()),
 *   key: (depKeys) => `posts:${depKeys.fetchUser}`,
 * };
 * ```
 */
export interface GraphTask<R = Record<string, unknown>, D extends keyof R = keyof R, T = unknown> {
  /** Names of the tasks whose results this one needs. It starts once all of them succeeded. */
  readonly deps?: readonly D[];
  /**
   * The work: called at most once per run of the graph, with the dependencies' results
   * (the last value each one emitted) and a signal aborted when the result is no longer
   * wanted. Its last value is the task's result.
   */
  readonly run: (deps: GraphDeps<R, D>, signal: AbortSignal) => ObservableInput<T>;
  /**
   * What the task computes, for the engine's cache: with an `engine`, a keyed task goes
   * through `engine.run(key, ...)`, so a re-run whose key is cached runs nothing. A
   * function receives the dependencies' keys (and results) once they succeeded, so a
   * change upstream changes the key downstream.
   */
  readonly key?: string | ((depKeys: GraphDepKeys<D>, deps: GraphDeps<R, D>) => string);
  /**
   * Expected duration (ms, or any unit used consistently) for critical-path ordering.
   * Default: the learned duration of earlier runs of the same key or label, else the
   * mean learned duration of the graph's other tasks, else 1.
   */
  readonly cost?: number;
  /** Names of resources this task uses exclusively: tasks sharing a lock never overlap in time. */
  readonly locks?: readonly string[];
  /** The executor lane the task waits in. Default `'normal'`. Lanes order ready tasks before path length does. */
  readonly priority?: Priority;
  /** A name for events, metrics and learned durations. Default: the task's name. */
  readonly label?: string;
  /** How long (ms) a keyed result stays in the engine's cache. Default: the engine's `ttl`. */
  readonly ttl?: number;
}

/**
 * The order in which ready tasks get executor slots: `'critical-path'` (default) starts
 * the task with the longest remaining path to a sink first; `'fifo'` starts tasks in
 * the order they became ready (for comparison).
 *
 * @example
 * ```ts
 * const order: GraphOrder = 'critical-path';
 * ```
 */
export type GraphOrder = 'critical-path' | 'fifo';

/**
 * Options of {@link runGraph}.
 *
 * @example
 * ```ts
 * runGraph(tasks, { engine, failFast: false, concurrency: 4 });
 * ```
 */
export interface RunGraphOptions {
  /** Keyed tasks go through `engine.run(key, ...)` (sharing and cache). Its executor is the default executor. */
  engine?: Engine;
  /**
   * Where tasks run. Default: the engine's executor, else one executor (10 slots) that
   * every `runGraph` without an executor shares. Keyed tasks with an engine run on the
   * engine's executor.
   */
  executor?: Executor;
  /**
   * `true` (default): the first failure aborts running tasks, skips the rest, reports
   * them, then the stream errors with that failure. `false`: only the failed task's
   * transitive dependents are skipped; everything else runs and the stream completes.
   */
  failFast?: boolean;
  /** The most tasks of this run at once. Default `Infinity`: only the executor's cap applies. */
  concurrency?: number;
  /** How ready tasks are ordered. Default `'critical-path'`. */
  order?: GraphOrder;
  /** Source of event timestamps and measured durations. Default: `performance.now()`. */
  clock?: Clock;
}

/**
 * Why a task did not run: a dependency failed (`'dependency-failed'`), another task
 * failed under `failFast` before this one started (`'fail-fast'`), or it was running
 * when another task failed under `failFast` and was aborted (`'aborted'`).
 *
 * @example
 * ```ts
 * const reason: TaskSkipReason = 'dependency-failed';
 * ```
 */
export type TaskSkipReason = 'dependency-failed' | 'fail-fast' | 'aborted';

/**
 * The run started: every task is pending. Always the first event.
 *
 * @example
 * ```ts
 * { type: 'graph-started', time: 0, tasks: ['fetchUser', 'fetchPosts'] }
 * ```
 */
export interface GraphStartedEvent<N extends string = string> {
  readonly type: 'graph-started';
  readonly time: number;
  /** Every task name, in definition order. */
  readonly tasks: readonly N[];
}

/**
 * A task got an executor slot (or, keyed with an engine, was handed to `engine.run`).
 *
 * @example
 * ```ts
 * { type: 'task-started', task: 'fetchUser', time: 3, key: 'user:1', label: 'fetchUser', priority: 'normal' }
 * ```
 */
export interface TaskStartedEvent<N extends string = string> {
  readonly type: 'task-started';
  readonly task: N;
  readonly time: number;
  readonly key: string | undefined;
  readonly label: string;
  readonly priority: Priority;
}

/**
 * A task succeeded with `value` (the last value its work emitted, deep-frozen).
 *
 * @example
 * ```ts
 * { type: 'task-succeeded', task: 'fetchUser', time: 9, startedAt: 3, durationMs: 6, key: 'user:1', value: user, executed: true }
 * ```
 */
export interface TaskSucceededEvent<N extends string = string, T = unknown> {
  readonly type: 'task-succeeded';
  readonly task: N;
  readonly time: number;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly key: string | undefined;
  readonly value: T;
  /** Whether this run called the task's `run` (false when the engine served it from cache or a shared execution). */
  readonly executed: boolean;
}

/**
 * A task's work failed (threw, rejected or errored), or its `key` function threw.
 *
 * @example
 * ```ts
 * { type: 'task-failed', task: 'fetchPosts', time: 12, startedAt: 9, durationMs: 3, key: undefined, error, executed: true }
 * ```
 */
export interface TaskFailedEvent<N extends string = string> {
  readonly type: 'task-failed';
  readonly task: N;
  readonly time: number;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly key: string | undefined;
  readonly error: unknown;
  /** Whether this run called the task's `run` (false when its `key` function threw, or the engine's shared execution failed). */
  readonly executed: boolean;
}

/**
 * A task will not run, or was aborted, because `cause` failed.
 *
 * @example
 * ```ts
 * { type: 'task-skipped', task: 'render', time: 12, reason: 'dependency-failed', cause: 'fetchPosts' }
 * ```
 */
export interface TaskSkippedEvent<N extends string = string> {
  readonly type: 'task-skipped';
  readonly task: N;
  readonly time: number;
  readonly reason: TaskSkipReason;
  /** The failed task this one was skipped for. */
  readonly cause: N;
}

/**
 * Counts of one run's tasks by outcome.
 *
 * @example
 * ```ts
 * { total: 3, succeeded: 2, failed: 1, skipped: 0, executed: 1 }
 * ```
 */
export interface GraphSummary {
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly skipped: number;
  /** Succeeded or failed tasks whose `run` this run called (the rest came from the engine). */
  readonly executed: number;
}

/**
 * The run is over: every task succeeded, failed or was skipped. Always the last event;
 * with `failFast` and a failure, the stream then errors.
 *
 * @example
 * ```ts
 * runGraph(tasks).pipe(last()).subscribe((e) => e.type === 'graph-completed' && console.log(e.results));
 * ```
 */
export interface GraphCompletedEvent<R = Record<string, unknown>> {
  readonly type: 'graph-completed';
  readonly time: number;
  readonly startedAt: number;
  readonly durationMs: number;
  /** True when every task succeeded. */
  readonly ok: boolean;
  readonly summary: GraphSummary;
  /** The result of every task that succeeded. */
  readonly results: { readonly [K in keyof R]?: R[K] };
}

/** Task names of a result map. @example `type N = TaskName<{ a: number }>; // 'a'` */
export type TaskName<R> = keyof R & string;

/**
 * What {@link runGraph} emits, as a discriminated union on `type`. `task-succeeded`
 * events are typed per task: narrowing on `task` narrows `value`.
 *
 * @example
 * ```ts
 * runGraph(graph).subscribe((e) => {
 *   if (e.type === 'task-succeeded' && e.task === 'fetchUser') console.log(e.value.name);
 * });
 * ```
 */
export type GraphEvent<R = Record<string, unknown>> =
  | GraphStartedEvent<TaskName<R>>
  | TaskStartedEvent<TaskName<R>>
  | { [K in TaskName<R>]: TaskSucceededEvent<K, R[K]> }[TaskName<R>]
  | TaskFailedEvent<TaskName<R>>
  | TaskSkippedEvent<TaskName<R>>
  | GraphCompletedEvent<R>;
