import type { Subscriber, TeardownLogic } from 'rxjs';
import { DirectObservable } from '../util/DirectObservable.js';
import type { Task, TaskSink } from './Task.js';
import type { Priority, ScheduleOptions, Work } from './types.js';

/**
 * Where a {@link ScheduledObservable} queues its work: the executor's callback-based core.
 *
 * @example
 * ```ts
 * const submitter: TaskSubmitter = executor; // a PriorityExecutor
 * submitter.submit(work, {}, 'normal', subscriber);
 * ```
 */
export interface TaskSubmitter {
  /** Queues `work` and drives `sink` with what it emits; the task is its own cancel handle. */
  submit<T>(
    work: Work<T>,
    options: ScheduleOptions,
    priority: Priority,
    sink: TaskSink<T>,
  ): Task<T>;
}

/**
 * The Observable `executor.schedule(work)` returns: cold, each subscription queues `work`
 * as a task of its own and unsubscribing cancels that task. It holds the call's arguments
 * rather than a closure, and a plain observer subscribes it through one
 * {@link DirectObservable} subscriber, so a task waiting in its lane holds no RxJS
 * wrappers.
 *
 * @example
 * ```ts
 * const answer$ = new ScheduledObservable(executor, async () => 42, {}, 'normal');
 * answer$.subscribe((value) => console.log(value)); // queues a task; 42
 * ```
 */
export class ScheduledObservable<T> extends DirectObservable<T> {
  /**
   * @param executor Where each subscription queues the work.
   * @param work The task's work.
   * @param options The schedule options, as given.
   * @param priority The lane, already validated.
   */
  constructor(
    readonly executor: TaskSubmitter,
    readonly work: Work<T>,
    readonly options: ScheduleOptions,
    readonly priority: Priority,
  ) {
    super();
  }

  request(subscriber: Subscriber<unknown>): TeardownLogic {
    // The task is its own teardown: unsubscribing cancels it.
    return this.executor.submit(
      this.work,
      this.options,
      this.priority,
      subscriber as Subscriber<T>,
    );
  }
}
