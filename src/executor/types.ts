import type { Observable, ObservableInput } from 'rxjs';
import type { ExecutorEvent } from '../metrics/events.js';
import { assertPriority } from './validate.js';

/**
 * The three scheduling lanes, highest first. `critical` is the seed's critical path,
 * `normal` its parallel streams, `background` its spare-capacity work (prefetch, warming).
 *
 * @example
 * ```ts
 * const priority: Priority = 'critical';
 * ```
 */
export type Priority = 'critical' | 'normal' | 'background';

/** All priorities, highest first. @example `PRIORITIES.includes('normal') // true` */
export const PRIORITIES: readonly Priority[] = ['critical', 'normal', 'background'];

/**
 * A unit of work: called at most once, when eed decides to run it. It may return a
 * Promise, Observable, array, AsyncIterable or iterable, and must stop when `signal`
 * aborts.
 *
 * @example
 * ```ts
 * const work: Work<Response> = (signal) => fetch('/api/user', { signal });
 * ```
 */
export type Work<T> = (signal: AbortSignal) => ObservableInput<T>;

/**
 * A source of time in milliseconds. Inject one to control time in tests.
 *
 * @example
 * ```ts
 * let t = 0;
 * const clock: Clock = { now: () => t };
 * ```
 */
export interface Clock {
  /** The current time in milliseconds. */
  now(): number;
}

/** Options of {@link Executor.schedule}. @example `{ priority: 'critical', label: 'fetch user' }` */
export interface ScheduleOptions {
  /** The lane the task waits in. Default `'normal'`. */
  priority?: Priority;
  /** A name for events, metrics and traces. Default: none. */
  label?: string;
  /**
   * Whether the executor may abort this task while it runs, to give its slot to a
   * waiting task of higher priority. The subscriber then receives a `PreemptedError`.
   * Default `false`.
   */
  preemptible?: boolean;
  /** How long the task is expected to take (ms), for slow-execution alerts. */
  expectedMs?: number;
  /** A handle to raise the task's priority or pin it after scheduling. */
  control?: TaskControl;
}

/**
 * Counts of an executor's tasks, overall and per lane.
 *
 * @example
 * ```ts
 * const { running, queued } = executor.stats();
 * ```
 */
export interface ExecutorStats {
  running: number;
  queued: number;
  runningByPriority: Record<Priority, number>;
  queuedByPriority: Record<Priority, number>;
}

/**
 * Runs work with a cap on how much runs at once, in three priority lanes.
 *
 * @example
 * ```ts
 * const executor = createExecutor({ concurrency: 4 });
 * executor.schedule((signal) => fetch(url, { signal }), { priority: 'critical' }).subscribe();
 * ```
 */
export interface Executor {
  /** The most tasks that run at once. */
  readonly concurrency: number;
  /** The most slots background tasks may hold at once. */
  readonly backgroundConcurrency: number;
  /**
   * A cold Observable that, on subscription, queues `work` in its lane, runs it when a
   * slot is free, mirrors what it emits, and frees the slot when it ends or is
   * unsubscribed (aborting its signal). Throws a `TypeError` at the call when `work` is
   * not a function or `options.priority` is not a {@link Priority}.
   */
  schedule<T>(work: Work<T>, options?: ScheduleOptions): Observable<T>;
  /** Running and queued counts, overall and per priority. */
  stats(): ExecutorStats;
  /** What happens to tasks, as it happens. Costs nothing while nobody subscribes. */
  readonly events$: Observable<ExecutorEvent>;
}

/**
 * A handle to a scheduled task, for changing its priority after it was scheduled (the
 * engine uses it when a caller with a higher priority joins a shared execution).
 * Settings made before the task is subscribed apply when it is.
 *
 * @example
 * ```ts
 * const control = new TaskControl();
 * executor.schedule(work, { priority: 'background', preemptible: true, control }).subscribe();
 * control.raise('critical'); // moves it to the critical lane, or pins it if running
 * ```
 */
export class TaskControl {
  #priority: Priority | undefined;
  #pinned = false;
  #listener: ((priority: Priority | undefined, pinned: boolean) => void) | undefined;

  /** The highest priority raised to so far, if any. */
  get priority(): Priority | undefined {
    return this.#priority;
  }

  /** Whether the task was made non-preemptible. */
  get pinned(): boolean {
    return this.#pinned;
  }

  /**
   * Raises the task to `priority` (never lowers it) and pins it: it is never preempted
   * from then on. A queued task moves to the tail of the higher lane; a running one
   * counts in the higher lane from then on (`stats().runningByPriority`), so a raised
   * background task no longer takes one of the `backgroundConcurrency` places. Either
   * change of lane is announced by a `promoted` event. Throws a `TypeError` when
   * `priority` is not a {@link Priority}.
   */
  raise(priority: Priority): void {
    assertPriority('priority', priority);
    if (this.#priority === undefined || rank(priority) < rank(this.#priority)) {
      this.#priority = priority;
    }
    this.#pinned = true;
    this.#listener?.(this.#priority, this.#pinned);
  }

  /** @internal The executor attaches here while the task lives. */
  attach(listener: ((priority: Priority | undefined, pinned: boolean) => void) | undefined): void {
    this.#listener = listener;
  }
}

/** Lane index of a priority: 0 is the highest. @example `rank('critical') // 0` */
export function rank(priority: Priority): 0 | 1 | 2 {
  return priority === 'critical' ? 0 : priority === 'normal' ? 1 : 2;
}
