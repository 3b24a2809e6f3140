import { Observable, type ObservableInput, type OperatorFunction } from 'rxjs';
import {
  assertProject,
  type ParallelOptions,
  parallelInternals,
  resolveParallelOptions,
} from '../src/executor/parallelInternals.js';
import { assertBoolean } from '../src/executor/validate.js';

/**
 * Options of {@link parallelMap}.
 *
 * @example
 * ```ts
 * const options: ParallelMapOptions = { concurrency: 4, ordered: true };
 * ```
 */
export interface ParallelMapOptions extends ParallelOptions {
  /**
   * Emit results in input order (like `concatMap`) while still running in parallel.
   * Results that finish before an earlier, slower one wait in memory. Once `concurrency`
   * of them wait, no new task starts until the slow one finishes; the tasks already
   * running may still finish and wait too. So at most the cap plus the running tasks are
   * held: finished-but-unemitted results + tasks in flight <= 2 x concurrency - 1.
   * Default `false` (results as they arrive, like `mergeMap`).
   */
  ordered?: boolean;
}

/**
 * Maps each value to inner work and runs up to `concurrency` of them at once: a
 * `mergeMap` with a cap, priorities, an `AbortSignal` per task and optional ordering.
 *
 * `project(value, index, signal)` may return anything `from()` accepts. `signal` aborts
 * when the result is no longer wanted: the output was unsubscribed, another task failed,
 * or a downstream `take(1)` / `first()` was satisfied. Once the output is unsubscribed or
 * has ended, no new `project` call starts. The first error cancels everything (queued
 * values are dropped, running work aborted) and is forwarded.
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { parallelMap } from 'eed/operators';
 *
 * from(urls)
 *   .pipe(parallelMap((url, _i, signal) => fetch(url, { signal }).then((r) => r.text()), { concurrency: 4 }))
 *   .subscribe((body) => console.log(body.length));
 * ```
 * @param project Builds the inner work for a value; receives its index and an AbortSignal.
 * @param options Cap, shared executor, priority, label and ordering; see {@link ParallelMapOptions}.
 * @returns An operator emitting every inner result.
 * @see createExecutor for sharing one cap between several streams.
 */
export function parallelMap<T, R>(
  project: (value: T, index: number, signal: AbortSignal) => ObservableInput<R>,
  options: ParallelMapOptions = {},
): OperatorFunction<T, R> {
  assertProject('parallelMap', 'project', project);
  const settings = resolveParallelOptions('parallelMap', options);
  if (options.ordered !== undefined) assertBoolean('parallelMap: ordered', options.ordered);
  const ordered = options.ordered === true;
  return (source) =>
    new Observable<R>((subscriber) =>
      parallelInternals(source, subscriber, settings, { project, ordered }),
    );
}
