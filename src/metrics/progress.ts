import { freeze } from 'immer';
import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { monotonicClock } from '../executor/PriorityExecutor.js';
import type { Clock } from '../executor/types.js';
import {
  assertClock,
  assertDuration,
  assertFiniteCount,
  assertMethods,
  assertScheduler,
  assertTimerMs,
  describe,
} from '../executor/validate.js';
import type { ExecutionEvent } from './events.js';

/**
 * Where a run of known size stands, as {@link progress$} emits it. Deep-frozen.
 *
 * @example
 * ```ts
 * const { percent, etaMs } = snapshot;
 * console.log(`${percent.toFixed(0)}%`, etaMs === undefined ? '' : `${(etaMs / 1000).toFixed(0)} s left`);
 * ```
 */
export interface ProgressSnapshot {
  /** The declared size of the run. */
  readonly total: number;
  /** Items that succeeded (`completed` tasks, or requests that completed). */
  readonly done: number;
  /** Items that failed (`failed` tasks, plus `preempted` ones with `preempted: 'failed'`). */
  readonly failed: number;
  /** Items unsubscribed before they ended (not counted as finished). */
  readonly cancelled: number;
  /** Tasks aborted to free a slot for higher-priority work (with the default `preempted: 'retried'`, not finished). */
  readonly preempted: number;
  /** Tasks running now, or requests in flight (`count: 'requests'`). */
  readonly running: number;
  /** Tasks waiting for a slot (always 0 with `count: 'requests'`). */
  readonly queued: number;
  /** `(done + failed) / total` as 0..100 (100 when `total` is 0). */
  readonly percent: number;
  /** Items finished (done or failed) per second over the last `windowMs`. */
  readonly ratePerSecond: number;
  /**
   * `(total - done - failed) / rate`: ms left at the current rate; 0 once nothing is left,
   * else `undefined` while the rate is unknown or 0.
   */
  readonly etaMs: number | undefined;
  /** Ms since {@link progress$} was subscribed. */
  readonly elapsedMs: number;
}

/**
 * Options of {@link progress$}.
 *
 * @example
 * ```ts
 * progress$(engine.events$, { total: files.length, intervalMs: 250, windowMs: 10_000 });
 * ```
 */
export interface ProgressOptions {
  /** How many items the run has: an integer >= 0 (not `Infinity`: the run must end). Required. */
  total: number;
  /**
   * What an item is. `'tasks'` (default): executor tasks (`completed` is done, `failed`
   * is failed). `'requests'`: `engine.run` calls (`request-ended`), for runs where some
   * items are served from cache or join another execution and so never become a task.
   */
  count?: 'tasks' | 'requests';
  /**
   * How a preempted task counts. `'retried'` (default): not finished, since whoever
   * scheduled it is expected to schedule it again (a new task) — eed's own preemption
   * victims are background work that is retried or given up on purpose. `'failed'`: as
   * a failure, for pipelines that do not retry. Anything else throws a `TypeError`.
   */
  preempted?: 'retried' | 'failed';
  /** Source of `elapsedMs` and the rate's time: an object with `now()`. Default: `performance.now()`. */
  clock?: Clock;
  /**
   * Least ms between two snapshots while events flow: at most 2^31 - 1 (the longest timer
   * delay), or `Infinity` (first and last only). Default 100.
   */
  intervalMs?: number;
  /** Length (ms) of the sliding window the rate is measured over. Default 5000. */
  windowMs?: number;
  /** Scheduler of the throttle's timer. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * Progress of a run of known size, for progress bars: counts what finished, runs and
 * waits, the rate over a sliding window and the time left.
 *
 * Counting starts when the result is subscribed (it subscribes to `events$` then) and
 * stops when it is unsubscribed; nothing is counted while nobody listens, so subscribe
 * before starting the run. It emits a snapshot at once, then at most one per `intervalMs`
 * while counted events arrive (a change is shown at once if the last snapshot is older
 * than `intervalMs`, else when it gets that old; `intervalMs: Infinity` shows only the
 * first and the last), and completes with a last snapshot when `done + failed >= total`
 * (or when `events$` completes; an error of `events$` is passed on). Snapshots are
 * frozen with immer's `freeze`.
 *
 * What counts (see {@link ProgressOptions}): tasks from executor events (`completed` →
 * done, `failed` → failed, `cancelled` → cancelled, `preempted` → preempted, which is
 * not finished unless `preempted: 'failed'`), or with `count: 'requests'` the engine's
 * `request-ended` events. Other events are ignored. Rate = items finished within the last
 * `windowMs` / the window's length (or the time since subscribing, if shorter), per
 * second; `etaMs = remaining / rate`.
 *
 * Bad options, and an `events$` without `subscribe()`, throw a `TypeError` or
 * `RangeError` at the call, naming the option and the value received.
 *
 * @example
 * ```ts
 * import { merge } from 'rxjs';
 * import { createEngine, progress$ } from 'eed';
 *
 * const engine = createEngine();
 * // Subscribe first: nothing is counted before. 'requests' also counts cache hits.
 * progress$(engine.events$, { total: urls.length, count: 'requests' }).subscribe((p) => {
 *   const eta = p.etaMs === undefined ? '?' : `${Math.ceil(p.etaMs / 1000)} s`;
 *   process.stdout.write(`\r${p.percent.toFixed(1)}% ${p.done}/${p.total} (${p.failed} failed), ETA ${eta}`);
 * });
 * merge(...urls.map((url) => engine.run(url, (signal) => fetch(url, { signal })))).subscribe();
 * ```
 */
export function progress$(
  events$: Observable<ExecutionEvent>,
  options: ProgressOptions,
): Observable<ProgressSnapshot> {
  assertMethods('events$', events$, ['subscribe'], 'an Observable (an object with subscribe())');
  const total = options.total;
  // A run of known size: Infinity would never complete nor show progress.
  assertFiniteCount('total', total, 0);
  const unit = options.count ?? 'tasks';
  if (unit !== 'tasks' && unit !== 'requests') {
    throw new TypeError(`count must be 'tasks' or 'requests'; received ${describe(unit)}`);
  }
  const preemptedAs = options.preempted ?? 'retried';
  if (preemptedAs !== 'retried' && preemptedAs !== 'failed') {
    throw new TypeError(
      `preempted must be 'retried' or 'failed'; received ${describe(preemptedAs)}`,
    );
  }
  const preemptedFails = preemptedAs === 'failed';
  if (options.clock !== undefined) assertClock('clock', options.clock);
  const clock = options.clock ?? monotonicClock;
  const intervalMs = options.intervalMs ?? 100;
  assertTimerMs('intervalMs', intervalMs, { infinity: true });
  const windowMs = options.windowMs ?? 5000;
  assertDuration('windowMs', windowMs);
  if (windowMs === 0) throw new RangeError('windowMs must be > 0; received 0');
  if (options.scheduler !== undefined) assertScheduler('scheduler', options.scheduler);
  const scheduler = options.scheduler ?? asyncScheduler;

  return new Observable<ProgressSnapshot>((subscriber) => {
    const startedAt = clock.now();
    let done = 0;
    let failed = 0;
    let cancelled = 0;
    let preempted = 0;
    const queued = new Set<string>();
    const running = new Set<string>();
    /** Times of finishes within the window, oldest first, from `head`; `counts` coalesces equal times. */
    const times: number[] = [];
    const counts: number[] = [];
    let head = 0;
    let inWindow = 0;
    let lastEmit = Number.NEGATIVE_INFINITY;
    let timer: Subscription | undefined;
    let ended = false;

    const prune = (now: number): void => {
      while (head < times.length && times[head]! <= now - windowMs) {
        inWindow -= counts[head]!;
        head++;
      }
      if (head > 1024 && head * 2 > times.length) {
        times.splice(0, head);
        counts.splice(0, head);
        head = 0;
      }
    };

    const finished = (now: number): void => {
      if (times.length > head && times[times.length - 1] === now) counts[counts.length - 1]!++;
      else {
        times.push(now);
        counts.push(1);
      }
      inWindow++;
    };

    const snapshot = (now: number): ProgressSnapshot => {
      prune(now);
      const elapsedMs = Math.max(0, now - startedAt);
      const span = Math.min(windowMs, elapsedMs);
      const ratePerSecond = span > 0 ? (inWindow * 1000) / span : 0;
      const finishedCount = done + failed;
      const remaining = Math.max(0, total - finishedCount);
      return freeze(
        {
          total,
          done,
          failed,
          cancelled,
          preempted,
          running: running.size,
          queued: queued.size,
          percent: total === 0 ? 100 : Math.min(100, (finishedCount * 100) / total),
          ratePerSecond,
          etaMs:
            remaining === 0
              ? 0
              : ratePerSecond > 0
                ? (remaining * 1000) / ratePerSecond
                : undefined,
          elapsedMs,
        },
        true,
      );
    };

    const emit = (): void => {
      timer?.unsubscribe();
      timer = undefined;
      const now = clock.now();
      lastEmit = now;
      subscriber.next(snapshot(now));
    };

    const end = (): void => {
      if (ended) return;
      ended = true;
      emit();
      subscriber.complete();
    };

    /** Called after a counted event: emit now, or at the end of the interval. */
    const changed = (): void => {
      if (done + failed >= total) {
        end();
        return;
      }
      if (timer !== undefined) return;
      const wait = lastEmit + intervalMs - clock.now();
      if (wait <= 0) emit();
      else if (wait !== Number.POSITIVE_INFINITY) timer = scheduler.schedule(emit, wait);
    };

    const onTask = (event: ExecutionEvent): boolean => {
      if (!('taskId' in event) || !('executorId' in event)) return false;
      const id = `${event.executorId}:${event.taskId}`;
      switch (event.type) {
        case 'queued':
          queued.add(id);
          return true;
        case 'started':
          queued.delete(id);
          running.add(id);
          return true;
        case 'completed':
        case 'failed':
        case 'cancelled':
        case 'preempted': {
          queued.delete(id);
          running.delete(id);
          const now = clock.now();
          if (event.type === 'completed') {
            done++;
            finished(now);
          } else if (event.type === 'failed') {
            failed++;
            finished(now);
          } else if (event.type === 'cancelled') {
            cancelled++;
          } else {
            preempted++;
            if (preemptedFails) {
              failed++;
              finished(now);
            }
          }
          return true;
        }
        default:
          return false;
      }
    };

    const onRequest = (event: ExecutionEvent): boolean => {
      if (event.type === 'request') {
        running.add(String(event.requestId));
        return true;
      }
      if (event.type !== 'request-ended') return false;
      running.delete(String(event.requestId));
      if (event.outcome === 'cancelled') cancelled++;
      else {
        if (event.outcome === 'completed') done++;
        else failed++;
        finished(clock.now());
      }
      return true;
    };

    const count = unit === 'tasks' ? onTask : onRequest;
    subscriber.next(snapshot(startedAt));
    lastEmit = startedAt;
    if (total === 0) {
      ended = true;
      subscriber.complete();
      return;
    }
    const source = events$.subscribe({
      next: (event) => {
        if (!ended && count(event)) changed();
      },
      error: (error: unknown) => {
        ended = true;
        subscriber.error(error);
      },
      complete: end,
    });
    return () => {
      ended = true;
      timer?.unsubscribe();
      source.unsubscribe();
    };
  });
}
