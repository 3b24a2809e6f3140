import { type Observable, Subscriber } from 'rxjs';
import { RingBuffer } from '../util/RingBuffer.js';

/** Output of a task that ended or emitted before an earlier task, held for `ordered`. */
interface HeldResult<R> {
  values: R[];
  done: boolean;
}

/**
 * The bookkeeping every capped-parallel operator shares, in the shape of RxJS's
 * `mergeInternals`: source values wait in a ring buffer; one starts an inner task while
 * fewer than `limit` are active; when an inner ends the buffer drains; the output
 * completes when the source completed, the buffer is empty and nothing is active.
 * Teardown drops the buffer and cancels every active inner. Subclasses decide how an
 * inner runs ({@link ParallelCore.start}) and how it is cancelled
 * ({@link ParallelCore.cancelAll}), and report back through `innerValue`,
 * `innerResolved`, `innerComplete` and `innerError`.
 *
 * With `ordered`, results are emitted in input order. A new task starts only while fewer
 * than `limit` finished results wait for an earlier one; tasks already running when
 * that many wait may still finish and wait too. Since a start needs `active < limit` and
 * `held < limit`, and a finish only moves a task from active to held (or emits), the
 * bound `held + active <= 2 * limit - 1` holds at every instant: at most the cap plus the
 * running tasks (besides the partial output of the head task, which streams live).
 *
 * @example
 * ```ts
 * class MyParallel<T, R> extends ParallelCore<T, R> {
 *   protected start(value: T, index: number) { ...; this.innerResolved(index, result); }
 *   protected cancelAll() {}
 * }
 * new Observable((subscriber) => new MyParallel(subscriber, 4, false).run(source));
 * ```
 */
export abstract class ParallelCore<T, R> {
  /** Inner tasks started and not ended yet. */
  protected active = 0;
  /** True once the output ended, failed or was unsubscribed: nothing starts or emits after. */
  closed = false;

  readonly #subscriber: Subscriber<R>;
  readonly #limit: number;
  readonly #buffer = new RingBuffer<T>();
  /** With `ordered`: output of tasks after the head, by index. */
  readonly #held: Map<number, HeldResult<R>> | undefined;
  #heldDone = 0;
  #nextIndex = 0;
  #emitIndex = 0;
  #sourceDone = false;
  #pumping = false;
  #pumpAgain = false;
  #tornDown = false;
  readonly #source: Subscriber<T>;

  constructor(subscriber: Subscriber<R>, limit: number, ordered: boolean) {
    this.#subscriber = subscriber;
    this.#limit = limit;
    this.#held = ordered ? new Map() : undefined;
    // A Subscriber of our own (not a plain observer), so that if the output is
    // unsubscribed while a synchronous source is still emitting (say `range(0, 1e6)` into
    // `take(2)`), the source loop stops at once and no further inner starts.
    this.#source = new Subscriber<T>({
      next: (value: T) => {
        if (this.closed) return;
        this.#buffer.push(value);
        this.#pump();
      },
      error: (error: unknown) => {
        if (this.closed) return;
        this.teardown();
        this.#subscriber.error(error);
      },
      complete: () => {
        this.#sourceDone = true;
        this.#finishIfIdle();
      },
    });
  }

  /**
   * Subscribes to `source`, registering the teardown on the output first (so a
   * synchronous source stops as soon as the output is unsubscribed).
   *
   * @returns The teardown for the output subscription.
   */
  run(source: Observable<T>): () => void {
    const teardown = () => this.teardown();
    this.#subscriber.add(teardown);
    source.subscribe(this.#source);
    return teardown;
  }

  /** Starts the inner task for the source value at `index`; `active` already counts it. */
  protected abstract start(value: T, index: number): void;

  /** Cancels every inner still active, newest first. Called once, by teardown. */
  protected abstract cancelAll(): void;

  /** Inner `index` emitted `value` (it goes on running). */
  innerValue(index: number, value: R): void {
    if (this.closed) return;
    if (this.#held === undefined || index === this.#emitIndex) this.#subscriber.next(value);
    else this.#heldFor(this.#held, index).values.push(value);
  }

  /**
   * Inner `index` ended with one value (a promise): its slot is freed before the value
   * is delivered, so a consumer that leaves on it finds nothing of it left to cancel.
   */
  innerResolved(index: number, value: R): void {
    this.active--;
    if (this.closed) return;
    this.innerValue(index, value);
    if (!this.closed) this.#ended(index);
  }

  /** Inner `index` completed. */
  innerComplete(index: number): void {
    this.active--;
    if (!this.closed) this.#ended(index);
  }

  /**
   * An inner failed: tear down first (drop queued values, cancel the other inners), then
   * forward, so a consumer that retries on the error finds the slots already free.
   */
  innerError(error: unknown): void {
    this.active--;
    if (this.closed) return;
    this.teardown();
    this.#subscriber.error(error);
  }

  /** Drops queued values and cancels active inners. Idempotent. */
  teardown(): void {
    if (this.#tornDown) return;
    this.#tornDown = true;
    this.closed = true;
    this.#source.unsubscribe();
    this.#buffer.clear();
    this.#held?.clear();
    this.cancelAll();
  }

  #heldFor(held: Map<number, HeldResult<R>>, index: number): HeldResult<R> {
    let result = held.get(index);
    if (result === undefined) {
      result = { values: [], done: false };
      held.set(index, result);
    }
    return result;
  }

  #ended(index: number): void {
    const held = this.#held;
    if (held !== undefined) {
      if (index === this.#emitIndex) {
        held.delete(index);
        this.#emitIndex++;
        this.#flush(held);
      } else {
        this.#heldFor(held, index).done = true;
        this.#heldDone++;
      }
    }
    this.#pump();
    this.#finishIfIdle();
  }

  /** Emits held output that is next in order; the first unfinished task streams live. */
  #flush(held: Map<number, HeldResult<R>>): void {
    for (;;) {
      const result = held.get(this.#emitIndex);
      if (result === undefined) return;
      const values = result.values;
      result.values = [];
      for (const value of values) {
        if (this.closed) return;
        this.#subscriber.next(value);
      }
      if (!result.done || this.closed) return;
      held.delete(this.#emitIndex);
      this.#heldDone--;
      this.#emitIndex++;
    }
  }

  #pump(): void {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        while (
          !this.closed &&
          this.#buffer.size !== 0 &&
          this.active < this.#limit &&
          this.#heldDone < this.#limit
        ) {
          this.active++;
          this.start(this.#buffer.shift() as T, this.#nextIndex++);
        }
      } while (this.#pumpAgain);
    } finally {
      this.#pumping = false;
    }
  }

  #finishIfIdle(): void {
    if (this.#sourceDone && this.#buffer.size === 0 && this.active === 0 && !this.closed) {
      this.closed = true;
      this.#subscriber.complete();
    }
  }
}
