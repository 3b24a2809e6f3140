import type { Subscription, Unsubscribable } from 'rxjs';
import type { LinkedList, ListNode } from '../util/LinkedList.js';
import type { TaskRef } from './PriorityExecutor.js';
import type { Priority, TaskControl, Work } from './types.js';

/** Where a task sends what its work emits. RxJS Subscribers satisfy it. */
export interface TaskSink<T> {
  next(value: T): void;
  error(error: unknown): void;
  complete(): void;
  /**
   * True once the sink wants no more values (an RxJS Subscriber that was unsubscribed).
   * The executor checks it after each value and cancels the task, so work that emits
   * synchronously (an endless iterable, an Observable that emits before it returns its
   * teardown) stops as soon as a consumer like `take(1)` is satisfied.
   */
  readonly closed?: boolean;
  /**
   * Optional: given the task's handle as soon as it is queued, before it can start, so the
   * sink's owner can cancel it even while its work is being called.
   */
  attached?(ref: TaskRef): void;
}

/** Lifecycle of a task: waiting in a lane, holding a slot, or over. */
export enum TaskState {
  Queued = 0,
  Running = 1,
  Done = 2,
}

/**
 * The executor a task belongs to, as the task sees it.
 *
 * @example
 * ```ts
 * const owner: TaskOwner = { cancelTask: (task) => lanes.remove(task) };
 * ```
 */
export interface TaskOwner {
  /** Removes the task if queued, aborts it if running; no-op once it ended. */
  cancelTask(task: Task): void;
}

/**
 * One subscription of a scheduled task: its work, its sink, and its place in a lane (or
 * in the list of running preemptible tasks). It is also its own cancel handle and the
 * teardown of the subscription that scheduled it, so a task costs one object. Internal
 * to the executor.
 */
export class Task<T = unknown> implements ListNode<Task>, TaskRef, Unsubscribable {
  prev: Task | undefined = undefined;
  next: Task | undefined = undefined;
  list: LinkedList<Task> | undefined = undefined;

  state = TaskState.Queued;
  slot = -1;
  /** When the task entered its current lane (only read when aging is on). */
  laneSince = 0;
  controller: AbortController | undefined = undefined;
  inner: Subscription | undefined = undefined;

  constructor(
    readonly owner: TaskOwner,
    readonly id: number,
    readonly work: Work<T>,
    readonly sink: TaskSink<T>,
    public priority: Priority,
    public preemptible: boolean,
    readonly label: string | undefined,
    readonly expectedMs: number | undefined,
    readonly control: TaskControl | undefined,
  ) {}

  cancel(): void {
    this.owner.cancelTask(this);
  }

  /** Cancels, as the teardown of the subscription that scheduled the task. */
  unsubscribe(): void {
    this.owner.cancelTask(this);
  }
}
