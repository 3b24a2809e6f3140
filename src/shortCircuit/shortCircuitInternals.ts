import {
  EMPTY,
  EmptyError,
  from,
  type Observable,
  type ObservableInput,
  Subscriber,
  take,
} from 'rxjs';
import { monotonicClock, type TaskRef } from '../executor/PriorityExecutor.js';
import {
  assertProject,
  executorFor,
  type ResolvedParallel,
  resolveParallelOptions,
} from '../executor/parallelInternals.js';
import { submitTask } from '../executor/submitTask.js';
import type { TaskSink } from '../executor/Task.js';
import type { Clock, Work } from '../executor/types.js';
import { describe } from '../executor/validate.js';
import type { ShortCircuitEvent } from '../metrics/events.js';
import { RingBuffer } from '../util/RingBuffer.js';
import type { EventSink, ShortCircuitOptions } from './types.js';

/**
 * The operators built on {@link shortCircuitInternals}.
 *
 * @example
 * ```ts
 * const operator: ShortCircuitOperator = 'someMap';
 * ```
 */
export type ShortCircuitOperator = 'firstSuccess' | 'someMap' | 'everyMap';

/**
 * Settings resolved from {@link ShortCircuitOptions} when an operator is built.
 *
 * @example
 * ```ts
 * const settings: ResolvedShortCircuit = resolveShortCircuitOptions('someMap', 'predicate', fn, {});
 * ```
 */
export interface ResolvedShortCircuit extends ResolvedParallel {
  readonly events: EventSink<ShortCircuitEvent> | undefined;
  readonly clock: Clock;
}

/**
 * Validates {@link ShortCircuitOptions} and the operator's callback when the operator is
 * built, so a bad argument throws at the call site, naming the option and the value.
 *
 * @example
 * ```ts
 * const settings = resolveShortCircuitOptions('someMap', 'predicate', predicate, options);
 * ```
 */
export function resolveShortCircuitOptions(
  operator: ShortCircuitOperator,
  callbackName: string,
  callback: unknown,
  options: ShortCircuitOptions = {},
): ResolvedShortCircuit {
  assertProject(operator, callbackName, callback);
  const parallel = resolveParallelOptions(operator, options);
  if (options.events !== undefined && !hasMethod(options.events, 'next')) {
    throw new TypeError(
      `${operator}: events must have a next(event) method (a Subject, say); received ${describe(options.events)}`,
    );
  }
  if (options.clock !== undefined && !hasMethod(options.clock, 'now')) {
    throw new TypeError(
      `${operator}: clock must have a now() method; received ${describe(options.clock)}`,
    );
  }
  return { ...parallel, events: options.events, clock: options.clock ?? monotonicClock };
}

/**
 * Whether `value` is an object (or function) with a method called `name`.
 *
 * @example
 * ```ts
 * hasMethod(new Subject(), 'next'); // true
 * ```
 */
export function hasMethod(value: unknown, name: string): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as Record<string, unknown>)[name] === 'function'
  );
}

/**
 * What one alternative's outcome decides: the answer, an error, or nothing yet.
 *
 * @example
 * ```ts
 * const decide = (ok: boolean): Decision<boolean> => (ok ? { answer: true } : undefined);
 * ```
 */
export type Decision<A> = { readonly answer: A } | { readonly error: unknown } | undefined;

/**
 * What a short-circuiting operator does with each alternative's outcome.
 *
 * @example
 * ```ts
 * const hooks: ShortCircuitHooks<number, boolean, boolean> = {
 *   operator: 'everyMap',
 *   project: (x) => of(x > 0),
 *   decide: (ok) => (ok ? undefined : { answer: false }),
 *   failed: (error) => ({ error }),
 *   exhausted: () => ({ answer: true }),
 * };
 * ```
 */
export interface ShortCircuitHooks<T, R, A> {
  readonly operator: ShortCircuitOperator;
  /** Builds an alternative's work for a source value; only its first value counts. */
  project(value: T, index: number, signal: AbortSignal): ObservableInput<R>;
  /** An alternative's first value: the answer (a short-circuit), or `undefined` to go on. */
  decide(value: R, index: number): Decision<A>;
  /**
   * An alternative failed (threw, rejected, errored, or completed without a value, as an
   * `EmptyError`): an error to end the output with, or `undefined` to go on.
   */
  failed(error: unknown, index: number): Decision<A>;
  /** Every alternative ended and none decided: the final outcome (`count` of them). */
  exhausted(count: number): { readonly answer: A } | { readonly error: unknown };
}

/** One source value's run. */
interface Alternative {
  ref: TaskRef | undefined;
  /** The work was called (the task got a slot). */
  started: boolean;
  /** The task ended (or is ending): it is no longer in `active`. */
  ended: boolean;
  /** It delivered its first value. */
  answered: boolean;
}

const isPromiseLike = (value: unknown): value is PromiseLike<unknown> =>
  value !== null &&
  (typeof value === 'object' || typeof value === 'function') &&
  typeof (value as PromiseLike<unknown>).then === 'function' &&
  typeof (value as { subscribe?: unknown }).subscribe !== 'function';

/**
 * The first value of `input` and nothing more: a Promise passes through (the executor
 * frees its slot before delivering its value), anything else is cut after one value, so
 * an alternative ends, and frees its slot, as soon as its answer is in.
 */
function firstOf<R>(input: ObservableInput<R>): ObservableInput<R> {
  return isPromiseLike(input) ? input : from(input).pipe(take(1));
}

/**
 * The shared engine of the short-circuiting operators, in the shape of
 * `parallelInternals` (RxJS `mergeInternals`): source values wait in a ring buffer and
 * start as alternatives on the executor while fewer than `concurrency` are active; each
 * alternative's first value goes to `hooks.decide`, its failure to `hooks.failed`.
 *
 * Once a decision is made (an answer or an error) everything else stops before the
 * output hears of it: the source is unsubscribed, buffered values are dropped, queued
 * alternatives are removed from the executor (their work is never called) and running
 * ones are cancelled, which aborts their signal. The alternative that decided is not
 * aborted: it already delivered its first value and ends on its own (a Promise has
 * settled; an Observable is unsubscribed after one value, like `take(1)`). Only then is
 * the answer emitted (followed by `complete`) or the error forwarded. When the source
 * completes and every alternative ended undecided, `hooks.exhausted` gives the outcome.
 *
 * An answer reached while work was left reports a {@link ShortCircuitEvent} to
 * `settings.events`, counting aborted (started) and skipped (received, never started)
 * alternatives; nothing is reported when nothing was left.
 *
 * @example
 * ```ts
 * new Observable<boolean>((subscriber) =>
 *   shortCircuitInternals(source, subscriber, settings, {
 *     operator: 'someMap',
 *     project: predicate,
 *     decide: (ok) => (ok ? { answer: true } : undefined),
 *     failed: (error) => ({ error }),
 *     exhausted: () => ({ answer: false }),
 *   }),
 * );
 * ```
 * @returns The teardown for the output subscription.
 */
export function shortCircuitInternals<T, R, A>(
  source: Observable<T>,
  subscriber: Subscriber<A>,
  settings: ResolvedShortCircuit,
  hooks: ShortCircuitHooks<T, R, A>,
): () => void {
  const { executor, limit } = executorFor(settings);
  const { priority, label } = settings;
  const scheduleOptions = { label };

  const buffer = new RingBuffer<T>();
  const active = new Set<Alternative>();
  let nextIndex = 0;
  let sourceDone = false;
  /** No alternative may start or decide any more. */
  let closed = false;
  /** The alternative whose value decided: never cancelled by the teardown. */
  let winner: Alternative | undefined;
  let pumping = false;
  let pumpAgain = false;

  let tornDown = false;
  /** Unsubscribes the source, drops buffered values, cancels every other alternative. */
  const teardown = () => {
    if (tornDown) return;
    tornDown = true;
    closed = true;
    sourceSubscriber.unsubscribe();
    buffer.clear();
    const alternatives = [...active];
    active.clear();
    // Queued ones first: cancelling a running one frees a slot, and a shared executor
    // hands it at once to the next queued task, which must not be one of ours.
    for (const alternative of alternatives) alternative.ended = true;
    for (const alternative of alternatives) if (!alternative.started) alternative.ref?.cancel();
    for (const alternative of alternatives) {
      if (alternative.started && alternative !== winner) alternative.ref?.cancel();
    }
  };

  /** Ends the output with `decision`, stopping all other work first. */
  const conclude = (decision: NonNullable<Decision<A>>, decidedBy?: Alternative) => {
    if (closed) return;
    closed = true;
    winner = decidedBy;
    if ('error' in decision) {
      teardown();
      subscriber.error(decision.error);
      return;
    }
    let aborted = 0;
    let skipped = buffer.size;
    if (decidedBy !== undefined) {
      for (const alternative of active) {
        if (alternative === decidedBy) continue;
        if (alternative.started) aborted++;
        else skipped++;
      }
    }
    teardown();
    if (settings.events !== undefined && aborted + skipped > 0) {
      settings.events.next({
        type: 'short-circuit',
        time: settings.clock.now(),
        label,
        operator: hooks.operator,
        aborted,
        skipped,
      });
    }
    subscriber.next(decision.answer);
    subscriber.complete();
  };

  const finishIfIdle = () => {
    if (sourceDone && buffer.size === 0 && active.size === 0 && !closed) {
      conclude(hooks.exhausted(nextIndex));
    }
  };

  const startOne = (value: T) => {
    const index = nextIndex++;
    const alternative: Alternative = {
      ref: undefined,
      started: false,
      ended: false,
      answered: false,
    };
    active.add(alternative);
    const end = () => {
      alternative.ended = true;
      active.delete(alternative);
    };
    const fail = (error: unknown) => {
      if (closed) return;
      const decision = hooks.failed(error, index);
      if (decision !== undefined) conclude(decision);
      else {
        pump();
        finishIfIdle();
      }
    };
    const work: Work<R> = (signal) => {
      // Defence in depth: a slot freed during the teardown never runs our project.
      if (closed) return EMPTY;
      alternative.started = true;
      return firstOf(hooks.project(value, index, signal));
    };
    const sink: TaskSink<R> = {
      next: (result) => {
        if (closed || alternative.answered) return;
        alternative.answered = true;
        const decision = hooks.decide(result, index);
        if (decision !== undefined) conclude(decision, alternative);
      },
      error: (error) => {
        end();
        fail(error);
      },
      complete: () => {
        end();
        if (!alternative.answered) {
          fail(new EmptyError());
          return;
        }
        if (closed) return;
        pump();
        finishIfIdle();
      },
      // The executor cancels a task whose sink closed after a value: every one but the
      // winner, which ends on its own after its first value.
      get closed() {
        return closed && winner !== alternative;
      },
    };
    const ref = submitTask<R>(executor, work, scheduleOptions, priority, sink);
    alternative.ref = ref;
    // The output may have been decided while this work ran synchronously, before `ref`
    // was known to the teardown: cancel it here instead of leaking its slot.
    if (closed && winner !== alternative) ref.cancel();
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
        while (!closed && buffer.size > 0 && active.size < limit) {
          startOne(buffer.shift() as T);
        }
      } while (pumpAgain);
    } finally {
      pumping = false;
    }
  };

  // Our own Subscriber, and the teardown registered before subscribing: a decision
  // reached while a synchronous source is still emitting stops its loop at once.
  const sourceSubscriber = new Subscriber<T>({
    next: (value: T) => {
      if (closed) return;
      buffer.push(value);
      pump();
    },
    error: (error: unknown) => {
      if (closed) return;
      conclude({ error });
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
