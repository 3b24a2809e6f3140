import { EMPTY, type Observable, type ObservableInput, Subscriber } from 'rxjs';
import { RingBuffer } from '../util/RingBuffer.js';
import { createExecutor } from './createExecutor.js';
import type { TaskRef } from './PriorityExecutor.js';
import { submitTask } from './submitTask.js';
import type { Executor, Priority } from './types.js';
import { UNUSED_SIGNAL } from './unusedSignal.js';
import { assertCount, assertFunction, assertPriority } from './validate.js';

/**
 * Options shared by eed's capped-parallel operators.
 *
 * @example
 * ```ts
 * const options: ParallelOptions = { concurrency: 4, priority: 'critical', label: 'thumbnails' };
 * ```
 */
export interface ParallelOptions {
  /**
   * The most inner tasks this operator has submitted at once. Default: 10 without an
   * executor; the executor's `concurrency` with one.
   */
  concurrency?: number;
  /**
   * Run every inner task through this executor, so several streams share one global
   * cap and its priority lanes. Default: a private executor per subscription.
   */
  executor?: Executor;
  /** The lane inner tasks wait in. Default `'normal'`. */
  priority?: Priority;
  /** A name for the inner tasks in events, metrics and traces. */
  label?: string;
}

/** Settings resolved from {@link ParallelOptions} when the operator is built. */
export interface ResolvedParallel {
  readonly concurrency: number | undefined;
  readonly executor: Executor | undefined;
  readonly priority: Priority;
  readonly label: string | undefined;
}

/**
 * Validates {@link ParallelOptions} when an operator is built, so a bad option throws
 * at the call site, naming the option and the value received.
 *
 * @example
 * ```ts
 * const resolved = resolveParallelOptions('parallelMap', options);
 * ```
 */
export function resolveParallelOptions(
  operator: string,
  options: ParallelOptions = {},
): ResolvedParallel {
  if (options.concurrency !== undefined) {
    assertCount(`${operator}: concurrency`, options.concurrency, 1);
  }
  const priority = options.priority ?? 'normal';
  assertPriority(`${operator}: priority`, priority);
  if (options.executor !== undefined && typeof options.executor.schedule !== 'function') {
    throw new TypeError(`${operator}: executor must be an Executor (see createExecutor)`);
  }
  return {
    concurrency: options.concurrency,
    executor: options.executor,
    priority,
    label: options.label,
  };
}

/**
 * The executor one subscription of a capped-parallel operator runs on, and how many of
 * its tasks it may have submitted at once: the given executor (capped by `concurrency`,
 * or by its own slots), else a private one of `concurrency` (default 10) slots.
 *
 * @example
 * ```ts
 * const { executor, limit } = executorFor(resolveParallelOptions('myOperator', options));
 * ```
 */
export function executorFor(settings: ResolvedParallel): { executor: Executor; limit: number } {
  const executor =
    settings.executor ??
    createExecutor({
      concurrency: settings.concurrency ?? 10,
      backgroundConcurrency: settings.concurrency ?? 10,
    });
  return { executor, limit: settings.concurrency ?? executor.concurrency };
}

/** What a capped-parallel operator does with each inner task's output. */
export interface ParallelHooks<T, R> {
  /** Builds the inner work for a source value. */
  project(value: T, index: number, signal: AbortSignal): ObservableInput<R>;
  /** Whether results are emitted in input order (buffering early finishers). */
  ordered: boolean;
}

interface OrderedSlot<R> {
  values: R[];
  done: boolean;
}

/**
 * The shared engine of capped-parallel operators, in the shape of RxJS's
 * `mergeInternals`: source values wait in a ring buffer; one starts an inner task on the
 * executor while fewer than `concurrency` are active; when an inner ends the buffer
 * drains; the output completes when the source completed, the buffer is empty and
 * nothing is active. Teardown drops the buffer and cancels every active task, which
 * aborts the running ones' signals.
 *
 * With `ordered`, results are emitted in input order. A new task starts only while fewer
 * than `concurrency` finished results wait for an earlier one; tasks already running when
 * that many wait may still finish and wait too. Since a start needs `active < limit` and
 * `held < limit`, and a finish only moves a task from active to held (or emits), the
 * bound `held + active <= 2 * limit - 1` holds at every instant: at most the cap plus the
 * running tasks (besides the partial output of the head task, which streams live).
 *
 * @example
 * ```ts
 * new Observable((subscriber) =>
 *   parallelInternals(source, subscriber, resolved, { project, ordered: false }),
 * );
 * ```
 * @returns The teardown for the output subscription.
 */
export function parallelInternals<T, R>(
  source: Observable<T>,
  subscriber: Subscriber<R>,
  settings: ResolvedParallel,
  hooks: ParallelHooks<T, R>,
): () => void {
  const { executor, limit } = executorFor(settings);
  const { priority, label } = settings;
  const scheduleOptions = { label };
  const { project, ordered } = hooks;
  const usesSignal = project.length >= 3;

  const buffer = new RingBuffer<T>();
  const active = new Set<TaskRef>();
  const slots = ordered ? new Map<number, OrderedSlot<R>>() : undefined;
  let nextIndex = 0;
  let emitIndex = 0;
  let held = 0;
  let sourceDone = false;
  let closed = false;
  let pumping = false;
  let pumpAgain = false;

  const finishIfIdle = () => {
    if (sourceDone && buffer.size === 0 && active.size === 0 && !closed) {
      closed = true;
      subscriber.complete();
    }
  };

  /** Emits finished results that are next in order; the first unfinished one streams live. */
  const flushOrdered = (map: Map<number, OrderedSlot<R>>) => {
    for (;;) {
      const slot = map.get(emitIndex);
      if (slot === undefined) return;
      const values = slot.values;
      slot.values = [];
      for (const value of values) {
        if (closed) return;
        subscriber.next(value);
      }
      if (!slot.done) return;
      // A finished slot found here finished while an earlier one ran: it was held.
      map.delete(emitIndex);
      held--;
      emitIndex++;
    }
  };

  const startOne = (value: T) => {
    const index = nextIndex++;
    const slot: OrderedSlot<R> | undefined = slots && { values: [], done: false };
    if (slots && slot) slots.set(index, slot);
    let ref: TaskRef | undefined;
    let ended = false;
    const end = () => {
      ended = true;
      if (ref !== undefined) active.delete(ref);
    };
    ref = submitTask<R>(
      executor,
      // A task of ours may get a slot while teardown cancels its siblings (a shared
      // executor hands the freed slot on at once): once closed, it must not call project.
      usesSignal
        ? (signal) => (closed ? EMPTY : project(value, index, signal))
        : () => (closed ? EMPTY : project(value, index, UNUSED_SIGNAL)),
      scheduleOptions,
      priority,
      {
        next: (result) => {
          if (closed) return;
          if (slot === undefined || index === emitIndex) subscriber.next(result);
          else slot.values.push(result);
        },
        error: (error) => {
          end();
          if (closed) return;
          // Tear down first (drop queued values, abort running work), then forward: a
          // consumer that retries on the error finds the slots already free.
          teardown();
          subscriber.error(error);
        },
        complete: () => {
          end();
          if (closed) return;
          if (slots && slot) {
            slot.done = true;
            if (index === emitIndex) {
              slots.delete(index);
              emitIndex++;
              flushOrdered(slots);
            } else {
              held++;
            }
          }
          pump();
          finishIfIdle();
        },
        get closed() {
          return closed;
        },
      },
    );
    if (ended) return;
    // The output may have been torn down while the work ran synchronously, before `ref`
    // was known to the teardown: cancel it here instead of leaking its slot.
    if (closed) ref.cancel();
    else active.add(ref);
  };

  const pump = () => {
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = true;
    try {
      do {
        pumpAgain = false;
        while (!closed && buffer.size > 0 && active.size < limit && held < limit) {
          startOne(buffer.shift() as T);
        }
      } while (pumpAgain);
    } finally {
      pumping = false;
    }
  };

  let tornDown = false;
  /** Drops queued values and cancels active tasks (aborting running ones). Idempotent. */
  const teardown = () => {
    if (tornDown) return;
    tornDown = true;
    closed = true;
    sourceSubscriber.unsubscribe();
    buffer.clear();
    slots?.clear();
    // Newest first: queued tasks (the newest) go before running ones, so a slot freed by
    // cancelling a running task is never handed to a sibling that is about to go too.
    const refs = [...active].reverse();
    active.clear();
    for (const ref of refs) ref.cancel();
  };

  // A Subscriber of our own (not a plain observer) and a teardown registered before the
  // source is subscribed: if the output is unsubscribed while a synchronous source is
  // still emitting (say `range(0, 1e6)` into `take(2)`), the source loop stops at once
  // and no further `project` call starts.
  const sourceSubscriber = new Subscriber<T>({
    next: (value: T) => {
      if (closed) return;
      buffer.push(value);
      pump();
    },
    error: (error: unknown) => {
      if (closed) return;
      teardown();
      subscriber.error(error);
    },
    complete: () => {
      sourceDone = true;
      finishIfIdle();
    },
  });
  subscriber.add(teardown);
  source.subscribe(sourceSubscriber);
  return teardown;
}

/** Validates an operator's callback argument at build time. */
export function assertProject(operator: string, name: string, value: unknown): void {
  assertFunction(`${operator}: ${name}`, value);
}
