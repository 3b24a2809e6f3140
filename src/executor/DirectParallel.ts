import { from, Subscriber } from 'rxjs';
import { AbortError } from '../errors.js';
import type { Project } from './ExecutorParallel.js';
import { isPromiseLike } from './isPromiseLike.js';
import { ParallelCore } from './ParallelCore.js';
import { UNUSED_SIGNAL } from './unusedSignal.js';

/**
 * An inner task that teardown may have to stop: it owns an AbortController (the project
 * declares a signal), or an inner subscription, or both. Linked into its operator's list
 * of such tasks; settles at most once.
 */
class DirectTask<R> {
  older: DirectTask<R> | undefined = undefined;
  newer: DirectTask<R> | undefined = undefined;
  controller: AbortController | undefined = undefined;
  inner: Subscriber<R> | undefined = undefined;
  done = false;

  constructor(
    readonly owner: DirectParallel<unknown, R>,
    readonly index: number,
  ) {}

  /** A promise result fulfilled. */
  resolve(value: R): void {
    if (this.#settle()) this.owner.innerResolved(this.index, value);
  }

  /** The work threw, rejected or errored. */
  fail(error: unknown): void {
    if (this.#settle()) this.owner.innerError(error);
  }

  /** An Observable-like result completed. */
  complete(): void {
    if (this.#settle()) this.owner.innerComplete(this.index);
  }

  /** Stops the task for teardown: aborts its signal, then unsubscribes its inner. */
  cancel(): void {
    this.done = true;
    const inner = this.inner;
    this.inner = undefined;
    this.controller?.abort(new AbortError());
    inner?.unsubscribe();
  }

  #settle(): boolean {
    if (this.done) return false;
    this.done = true;
    // Unsubscribe before reporting, so the work's own finalizers (closing a file, a
    // socket) run before its slot goes to the next task, as they do in `mergeMap`.
    const inner = this.inner;
    this.inner = undefined;
    inner?.unsubscribe();
    this.owner.unlink(this);
    return true;
  }
}

/**
 * A capped-parallel operator's subscription with no shared executor: a private slot
 * counter instead of a {@link PriorityExecutor}, calling `project` itself. A native
 * promise from a project that takes no signal (the common `async (x) => ...`) costs no
 * allocation of ours: shared callbacks, no task object, no AbortController. Everything
 * else gets a {@link DirectTask} that teardown aborts and unsubscribes.
 *
 * @example
 * ```ts
 * new Observable((subscriber) => new DirectParallel(subscriber, 10, false, project).run(source));
 * ```
 */
export class DirectParallel<T, R> extends ParallelCore<T, R> {
  readonly #project: Project<T, R>;
  readonly #usesSignal: boolean;
  readonly #ordered: boolean;
  /** Tasks with something to stop at teardown, newest last. */
  #newest: DirectTask<R> | undefined = undefined;
  // Shared by every untracked promise (unordered, no signal): they need no index and
  // no task, and once closed their late results are dropped.
  readonly #resolved = (value: R) => this.innerResolved(0, value);
  readonly #rejected = (error: unknown) => this.innerError(error);

  constructor(subscriber: Subscriber<R>, limit: number, ordered: boolean, project: Project<T, R>) {
    super(subscriber, limit, ordered);
    this.#project = project;
    this.#usesSignal = project.length >= 3;
    this.#ordered = ordered;
  }

  protected start(value: T, index: number): void {
    let task: DirectTask<R> | undefined;
    let signal = UNUSED_SIGNAL;
    if (this.#usesSignal) {
      task = this.#track(index);
      const controller = new AbortController();
      task.controller = controller;
      signal = controller.signal;
    }
    let result: ReturnType<Project<T, R>>;
    try {
      result = this.#project(value, index, signal);
    } catch (error) {
      if (task === undefined) this.innerError(error);
      else task.fail(error);
      return;
    }
    // The project itself may have ended the output (and torn this task down).
    if (this.closed) return;
    if (task === undefined) {
      // A native promise settles once, so it needs no guard: the fast path.
      if (!this.#ordered && result instanceof Promise) {
        result.then(this.#resolved, this.#rejected);
        return;
      }
      task = this.#track(index);
    }
    const settled = task;
    if (isPromiseLike(result)) {
      result.then(
        (resolved) => settled.resolve(resolved as R),
        (error: unknown) => settled.fail(error),
      );
      return;
    }
    // Stored before subscribing, so that teardown while the work emits synchronously
    // closes it and stops the emission loop.
    const inner = new Subscriber<R>({
      next: (emitted) => this.innerValue(index, emitted),
      error: (error: unknown) => settled.fail(error),
      complete: () => settled.complete(),
    });
    settled.inner = inner;
    try {
      from(result).subscribe(inner);
    } catch (error) {
      // `from` throws synchronously for values it cannot convert.
      settled.fail(error);
    }
  }

  /** Unlinks a task that settled (once closed, `cancelAll` owns the list). */
  unlink(task: DirectTask<R>): void {
    if (this.closed) return;
    const { older, newer } = task;
    if (older !== undefined) older.newer = newer;
    if (newer !== undefined) newer.older = older;
    else this.#newest = older;
    task.older = task.newer = undefined;
  }

  protected cancelAll(): void {
    let task = this.#newest;
    this.#newest = undefined;
    while (task !== undefined) {
      const older: DirectTask<R> | undefined = task.older;
      task.older = task.newer = undefined;
      task.cancel();
      task = older;
    }
  }

  #track(index: number): DirectTask<R> {
    const task = new DirectTask<R>(this as DirectParallel<unknown, R>, index);
    task.older = this.#newest;
    if (this.#newest !== undefined) this.#newest.newer = task;
    this.#newest = task;
    return task;
  }
}
