import {
  asyncScheduler,
  EMPTY,
  type SchedulerLike,
  type Subscriber,
  type Subscription,
  timer,
} from 'rxjs';
import { AllFailedError } from '../errors.js';
import { createExecutor } from '../executor/createExecutor.js';
import type { TaskRef } from '../executor/PriorityExecutor.js';
import { submitTask } from '../executor/submitTask.js';
import type { TaskSink } from '../executor/Task.js';
import type { Executor, Priority, Work } from '../executor/types.js';
import {
  assertCount,
  assertDuration,
  assertExecutor,
  assertFiniteCount,
  assertFunction,
  assertPriority,
  describe,
  MAX_TIMER_MS,
} from '../executor/validate.js';
import type { ShortCircuitEvent } from '../metrics/events.js';
import { hasMethod } from '../shortCircuit/shortCircuitInternals.js';
import type { EventSink } from '../shortCircuit/types.js';
import { type LatencyRegistry, sharedLatencyRegistry } from './LatencyRegistry.js';

/**
 * Options of `hedge`.
 *
 * @example
 * ```ts
 * const options: HedgeOptions = { after: 'p95', max: 3, label: 'search' };
 * ```
 */
export interface HedgeOptions {
  /**
   * How long (ms) to wait for a result before starting a backup copy; the wait restarts
   * with each copy. A number >= 0 (`Infinity`: never hedge on time), or `'p95'`: the 95th
   * percentile of the recent latencies of this `label` (which is then required), learned
   * from earlier hedges with the same label; `afterFallbackMs` until `minSamples` are known.
   */
  after: number | 'p95';
  /** The most copies started in all, the first included: a finite integer >= 1. Default 2. */
  max?: number;
  /**
   * Run the copies through this executor (each copy is one task), so they count against
   * its cap and wait in its lanes. Default: a private executor with room for `max` copies.
   */
  executor?: Executor;
  /** The lane copies wait in on the executor. Default `'normal'`. */
  priority?: Priority;
  /**
   * Names the work: for events and executor traces, and the key under which winning
   * copies' latencies are learned (always, when given) and read back for `after: 'p95'`.
   */
  label?: string;
  /** The wait (ms) for `after: 'p95'` while fewer than `minSamples` latencies are known. Default 1000. */
  afterFallbackMs?: number;
  /** How many latencies of the label `after: 'p95'` needs before it trusts them. Default 20. */
  minSamples?: number;
  /** Where latencies are learned and read. Default: one registry shared by the process. */
  latencies?: LatencyRegistry;
  /** Schedules the hedge timers and reads the time. Default `asyncScheduler` (tests: a `TestScheduler`). */
  scheduler?: SchedulerLike;
  /**
   * Receives a `'short-circuit'` event when a copy wins while other copies run or wait:
   * `aborted` running losers, `skipped` copies still queued in the executor.
   */
  events?: EventSink<ShortCircuitEvent>;
}

/**
 * Settings resolved from {@link HedgeOptions} when `hedge` is called.
 *
 * @example
 * ```ts
 * const settings: ResolvedHedge = resolveHedgeOptions(work, { after: 100, max: 3 });
 * ```
 */
export interface ResolvedHedge {
  readonly after: number | 'p95';
  readonly max: number;
  readonly executor: Executor | undefined;
  readonly priority: Priority;
  readonly label: string | undefined;
  readonly afterFallbackMs: number;
  readonly minSamples: number;
  readonly latencies: LatencyRegistry;
  readonly scheduler: SchedulerLike;
  readonly events: EventSink<ShortCircuitEvent> | undefined;
}

/**
 * Validates `hedge`'s arguments, so a bad one throws at the call, naming the option and
 * the value received.
 *
 * @example
 * ```ts
 * const settings = resolveHedgeOptions(work, { after: 200 });
 * ```
 */
export function resolveHedgeOptions(work: unknown, options: HedgeOptions): ResolvedHedge {
  assertFunction('hedge: work', work);
  if (options === null || typeof options !== 'object') {
    throw new TypeError(
      `hedge: options must be an object with an after; received ${describe(options)}`,
    );
  }
  const { after } = options;
  if (after !== 'p95') {
    if (typeof after !== 'number') {
      throw new RangeError(
        `hedge: after must be a number of milliseconds >= 0 or 'p95'; received ${describe(after)}`,
      );
    }
    assertDuration('hedge: after', after);
  }
  const max = options.max === undefined ? 2 : options.max;
  assertFiniteCount('hedge: max', max, 1);
  const priority = options.priority ?? 'normal';
  assertPriority('hedge: priority', priority);
  const label = options.label;
  if (label !== undefined && typeof label !== 'string') {
    throw new TypeError(`hedge: label must be a string; received ${describe(label)}`);
  }
  if (after === 'p95' && label === undefined) {
    throw new TypeError(
      "hedge: after: 'p95' needs a label, naming the work whose latencies to learn; received label undefined",
    );
  }
  const afterFallbackMs = options.afterFallbackMs ?? 1000;
  assertDuration('hedge: afterFallbackMs', afterFallbackMs);
  const minSamples = options.minSamples ?? 20;
  assertCount('hedge: minSamples', minSamples, 1);
  if (options.executor !== undefined) assertExecutor('hedge: executor', options.executor);
  if (options.latencies !== undefined && !hasMethod(options.latencies, 'quantile')) {
    throw new TypeError(
      `hedge: latencies must be a LatencyRegistry; received ${describe(options.latencies)}`,
    );
  }
  if (options.scheduler !== undefined && !hasMethod(options.scheduler, 'schedule')) {
    throw new TypeError(
      `hedge: scheduler must be a SchedulerLike; received ${describe(options.scheduler)}`,
    );
  }
  if (options.events !== undefined && !hasMethod(options.events, 'next')) {
    throw new TypeError(
      `hedge: events must have a next(event) method (a Subject, say); received ${describe(options.events)}`,
    );
  }
  return {
    after,
    max,
    executor: options.executor,
    priority,
    label,
    afterFallbackMs,
    minSamples,
    latencies: options.latencies ?? sharedLatencyRegistry(),
    scheduler: options.scheduler ?? asyncScheduler,
    events: options.events,
  };
}

/** The wait before a backup copy, for one hedged call. */
function delayOf(settings: ResolvedHedge): number {
  if (settings.after !== 'p95') return settings.after;
  const p95 = settings.latencies.quantile(settings.label as string, 0.95, settings.minSamples);
  return p95 ?? settings.afterFallbackMs;
}

/** One copy of the work. */
interface Copy {
  readonly index: number;
  ref: TaskRef | undefined;
  /** When the work was called (scheduler time), or undefined while queued. */
  startedAt: number | undefined;
  /** Failed, or cancelled by the teardown. */
  over: boolean;
}

/**
 * Runs one hedged call into `subscriber`: starts copy 1 at once, and another copy each
 * time `after` ms pass without a result since the last copy started, or at once when a
 * copy fails, while fewer than `max` copies were started. The first copy to emit a value
 * (or to complete, empty) wins: every other copy is cancelled (running ones' signals
 * aborted, queued ones removed), no copy starts any more, the winner's latency is
 * recorded under the label, and its values, completion or error are forwarded. When every
 * copy failed and no more may start, the output errors with an `AllFailedError` (an `AggregateError`) of the
 * causes in copy order. Unsubscribing cancels every copy and the timer.
 *
 * @example
 * ```ts
 * new Observable<T>((subscriber) => hedgeInternals(work, subscriber, settings));
 * ```
 * @returns The teardown for the output subscription.
 */
export function hedgeInternals<T>(
  work: Work<T>,
  subscriber: Subscriber<T>,
  settings: ResolvedHedge,
): () => void {
  const { max, priority, label, scheduler } = settings;
  const executor =
    settings.executor ?? createExecutor({ concurrency: max, backgroundConcurrency: max });
  const delay = Math.min(delayOf(settings), MAX_TIMER_MS);
  const scheduleOptions = { label };
  const copies: Copy[] = [];
  const causes: unknown[] = [];
  let failed = 0;
  let winner: Copy | undefined;
  /** The output ended or was unsubscribed: nothing may start or be forwarded. */
  let closed = false;
  let hedgeTimer: Subscription | undefined;

  const cancelOthers = (keep: Copy | undefined) => {
    hedgeTimer?.unsubscribe();
    hedgeTimer = undefined;
    const others = copies.filter((copy) => copy !== keep && !copy.over);
    for (const copy of others) copy.over = true;
    // Queued copies first: cancelling a running one frees a slot that a shared executor
    // hands at once to the next queued task, which must not be one of ours.
    for (const copy of others) if (copy.startedAt === undefined) copy.ref?.cancel();
    for (const copy of others) if (copy.startedAt !== undefined) copy.ref?.cancel();
  };

  /** Stops the timer and cancels every copy still running or queued. Idempotent. */
  const teardown = () => {
    closed = true;
    cancelOthers(undefined);
  };

  const armTimer = () => {
    hedgeTimer?.unsubscribe();
    hedgeTimer = undefined;
    if (copies.length >= max || !Number.isFinite(delay)) return;
    hedgeTimer = timer(delay, scheduler).subscribe(() => {
      hedgeTimer = undefined;
      launch();
    });
  };

  const win = (copy: Copy) => {
    winner = copy;
    const now = scheduler.now();
    if (label !== undefined && copy.startedAt !== undefined) {
      settings.latencies.record(label, now - copy.startedAt);
    }
    let aborted = 0;
    let skipped = 0;
    for (const other of copies) {
      if (other === copy || other.over) continue;
      if (other.startedAt === undefined) skipped++;
      else aborted++;
    }
    cancelOthers(copy);
    if (settings.events !== undefined && aborted + skipped > 0) {
      settings.events.next({
        type: 'short-circuit',
        time: now,
        label,
        operator: 'hedge',
        aborted,
        skipped,
      });
    }
  };

  const launch = () => {
    if (closed || winner !== undefined || copies.length >= max) return;
    const copy: Copy = { index: copies.length, ref: undefined, startedAt: undefined, over: false };
    copies.push(copy);
    armTimer();
    const sink: TaskSink<T> = {
      next: (value) => {
        if (closed) return;
        if (winner === undefined) win(copy);
        if (winner === copy) subscriber.next(value);
      },
      error: (error) => {
        if (closed) return;
        if (winner === copy) {
          closed = true;
          subscriber.error(error);
          return;
        }
        if (winner !== undefined || copy.over) return;
        copy.over = true;
        causes[copy.index] = error;
        failed++;
        if (copies.length < max) launch();
        else if (failed === copies.length) {
          closed = true;
          hedgeTimer?.unsubscribe();
          subscriber.error(
            new AllFailedError(
              'hedge',
              causes,
              `hedge${label === undefined ? '' : ` (${label})`}: all ${failed} cop${failed === 1 ? 'y' : 'ies'} failed`,
            ),
          );
        }
      },
      complete: () => {
        if (closed) return;
        if (winner === undefined) win(copy);
        if (winner === copy) {
          closed = true;
          subscriber.complete();
        }
      },
      // The executor cancels a task whose sink closed after a value: every loser.
      get closed() {
        return closed || (winner !== undefined && winner !== copy);
      },
    };
    const ref = submitTask<T>(
      executor,
      (signal) => {
        // Defence in depth: a slot freed while losers are cancelled never runs our work.
        if (copy.over || closed || (winner !== undefined && winner !== copy)) return EMPTY;
        copy.startedAt = scheduler.now();
        return work(signal);
      },
      scheduleOptions,
      priority,
      sink,
    );
    copy.ref = ref;
    // Another copy may have won, or the output closed, while this one ran synchronously.
    if (copy.over || (closed && winner !== copy)) ref.cancel();
  };

  subscriber.add(teardown);
  launch();
  return teardown;
}
