import { EMPTY, type ObservableInput, type Subscriber } from 'rxjs';
import { ParallelCore } from './ParallelCore.js';
import type { TaskRef } from './PriorityExecutor.js';
import { submitTask } from './submitTask.js';
import type { TaskSink } from './Task.js';
import type { Executor, Priority, ScheduleOptions } from './types.js';
import { UNUSED_SIGNAL } from './unusedSignal.js';

/**
 * Builds the inner work of a capped-parallel operator for one source value.
 *
 * @example
 * ```ts
 * const project: Project<string, Response> = (url, _index, signal) => fetch(url, { signal });
 * ```
 */
export type Project<T, R> = (value: T, index: number, signal: AbortSignal) => ObservableInput<R>;

/**
 * One inner task submitted to an executor: the sink the executor drives, and a link in
 * the operator's list of submitted tasks, so teardown can cancel them with no `Set` to
 * add to and delete from per task. (`next` is the sink's, so the links are
 * `older`/`newer`.)
 */
class SubmittedTask<R> implements TaskSink<R> {
  older: SubmittedTask<R> | undefined = undefined;
  newer: SubmittedTask<R> | undefined = undefined;
  ref: TaskRef | undefined = undefined;
  ended = false;

  constructor(
    readonly owner: ExecutorParallel<unknown, R>,
    readonly index: number,
  ) {}

  get closed(): boolean {
    return this.owner.closed;
  }

  /** The task is queued: from now on the operator's teardown can cancel it. */
  attached(ref: TaskRef): void {
    this.ref = ref;
  }

  next(value: R): void {
    this.owner.innerValue(this.index, value);
  }

  error(error: unknown): void {
    this.owner.ended(this);
    this.owner.innerError(error);
  }

  complete(): void {
    this.owner.ended(this);
    this.owner.innerComplete(this.index);
  }
}

/**
 * A capped-parallel operator's subscription whose inner tasks run on an executor
 * (shared with other streams, so they share its cap and priority lanes).
 *
 * @example
 * ```ts
 * new Observable((subscriber) =>
 *   new ExecutorParallel(subscriber, limit, false, executor, project, 'normal', 'label').run(source),
 * );
 * ```
 */
export class ExecutorParallel<T, R> extends ParallelCore<T, R> {
  readonly #executor: Executor;
  readonly #project: Project<T, R>;
  readonly #usesSignal: boolean;
  readonly #priority: Priority;
  readonly #options: ScheduleOptions;
  /** Submitted tasks not ended yet, newest last. */
  #newest: SubmittedTask<R> | undefined = undefined;

  constructor(
    subscriber: Subscriber<R>,
    limit: number,
    ordered: boolean,
    executor: Executor,
    project: Project<T, R>,
    priority: Priority,
    label: string | undefined,
  ) {
    super(subscriber, limit, ordered);
    this.#executor = executor;
    this.#project = project;
    this.#usesSignal = project.length >= 3;
    this.#priority = priority;
    this.#options = { label };
  }

  protected start(value: T, index: number): void {
    const task = new SubmittedTask<R>(this as ExecutorParallel<unknown, R>, index);
    const project = this.#project;
    // Listed before it is submitted: the output may be torn down while the task's work
    // is being called (a shared executor runs other work in the same call), and teardown
    // must reach it then (eed's executor hands over its handle as it queues it).
    task.older = this.#newest;
    if (this.#newest !== undefined) this.#newest.newer = task;
    this.#newest = task;
    // A task of ours may get a slot while teardown cancels its siblings (a shared
    // executor hands the freed slot on at once): once closed, it must not call project.
    const ref = submitTask<R>(
      this.#executor,
      this.#usesSignal
        ? (signal) => (this.closed ? EMPTY : project(value, index, signal))
        : () => (this.closed ? EMPTY : project(value, index, UNUSED_SIGNAL)),
      this.#options,
      this.#priority,
      task,
    );
    // Torn down while the work ran synchronously, before an executor of another kind
    // handed over `ref`: cancel it here instead of leaking its slot (no-op once it ended).
    if (this.closed) ref.cancel();
    else if (!task.ended) task.ref = ref;
  }

  /** Unlinks a task that ended (once closed, `cancelAll` owns the list). */
  ended(task: SubmittedTask<R>): void {
    task.ended = true;
    if (this.closed) return;
    const { older, newer } = task;
    if (older !== undefined) older.newer = newer;
    if (newer !== undefined) newer.older = older;
    else this.#newest = older;
    task.older = task.newer = undefined;
  }

  // Newest first: queued tasks (the newest) go before running ones, so a slot freed by
  // cancelling a running task is never handed to a sibling that is about to go too.
  protected cancelAll(): void {
    let task = this.#newest;
    this.#newest = undefined;
    while (task !== undefined) {
      const older: SubmittedTask<R> | undefined = task.older;
      task.older = task.newer = undefined;
      task.ended = true;
      task.ref?.cancel();
      task = older;
    }
  }
}
