import { Observable } from 'rxjs';
import type { Work } from '../src/executor/types.js';
import {
  type HedgeOptions,
  hedgeInternals,
  resolveHedgeOptions,
} from '../src/hedge/hedgeInternals.js';

export type { HedgeOptions } from '../src/hedge/hedgeInternals.js';

/**
 * Hedged requests against tail latency: a cold Observable that, on subscription, starts
 * `work(signal)`, and starts a backup copy of it when no result came `after` ms later,
 * up to `max` copies in all (default 2). The first copy to succeed wins and the others
 * are aborted.
 *
 * - **Winning.** The first copy to emit a value wins (or to complete without one: an
 *   empty success). At that instant every other copy is cancelled (a running one's
 *   `signal` aborts with an eed `AbortError`; one still queued on the executor never
 *   starts) and no copy starts any more. The winner's values, then its completion or
 *   error, are forwarded as they come.
 * - **When a backup starts.** `after` ms after the latest copy was launched, if no copy
 *   has a result yet, or at once when a copy fails (a failure is the clearest sign to
 *   try again), while fewer than `max` copies were launched. On a shared `executor` a
 *   launched copy may wait in its lane; the wait counts toward `after`. So a failure fails nothing while another
 *   copy may still succeed; when every one of the `max` copies failed, the output errors
 *   with an `AggregateError` of the causes in copy order (even for `max: 1`).
 * - **`after: 'p95'`** waits for the 95th percentile of the latencies of this `label`,
 *   learned from earlier hedges with the same label (a bounded sliding window per label,
 *   shared by the process unless `latencies` is given); until `minSamples` (20) are known,
 *   `afterFallbackMs` (1000). A latency is measured from a winning copy's start to its
 *   first value (copies that lost are aborted, so the slow tail is seen only through
 *   winners: the estimate leans low, which hedges slightly earlier).
 * - Timers run on `scheduler` (default `asyncScheduler`), so marble tests control time.
 * - Unsubscribing cancels every copy and the timer.
 *
 * @example
 * ```ts
 * import { hedge } from 'eed/operators';
 *
 * const search$ = hedge((signal) => fetch(`/search?q=${q}`, { signal }).then((r) => r.json()), {
 *   after: 'p95',
 *   label: 'search',
 *   max: 3,
 * });
 * search$.subscribe((results) => render(results));
 * ```
 * @param work The work to run, once per copy; it must stop when its signal aborts.
 * @param options `after` (required), `max`, executor, priority, label, p95 settings, scheduler, events.
 * @returns A cold Observable of the winning copy's values.
 */
export function hedge<T>(work: Work<T>, options: HedgeOptions): Observable<T> {
  const settings = resolveHedgeOptions(work, options);
  return new Observable<T>((subscriber) => hedgeInternals(work, subscriber, settings));
}
