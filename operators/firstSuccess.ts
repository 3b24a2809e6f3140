import { Observable, type ObservableInput, type OperatorFunction } from 'rxjs';
import { AllFailedError } from '../src/errors.js';
import {
  resolveShortCircuitOptions,
  shortCircuitInternals,
} from '../src/shortCircuit/shortCircuitInternals.js';
import type { ShortCircuitOptions } from '../src/shortCircuit/types.js';

/**
 * Options of {@link firstSuccess}: a cap, a shared executor, a priority lane, a label, and
 * where to report work saved (see {@link ShortCircuitOptions}).
 *
 * @example
 * ```ts
 * const options: FirstSuccessOptions = { concurrency: 3, label: 'mirrors' };
 * ```
 */
export interface FirstSuccessOptions extends ShortCircuitOptions {}

/**
 * Races alternatives and keeps the first that succeeds: each source value is one
 * alternative, and `project(value, index, signal)` runs it, up to `concurrency` at once
 * (the rest wait their turn, in order). An alternative succeeds with its first value.
 *
 * - The first success is emitted, then the output completes. Before it is emitted, the
 *   source is unsubscribed, waiting alternatives are dropped (their `project` is never
 *   called) and every other running alternative's `signal` is aborted (with an eed
 *   `AbortError`). The winner's signal is not aborted: a Promise result has settled, and an
 *   Observable result is unsubscribed after its first value, like `first()`.
 * - A failure (a throw, a rejection, an error, or completing without a value, which fails
 *   with RxJS's `EmptyError`) only rules that alternative out, and frees its slot for the
 *   next one.
 * - When the source completes and every alternative failed, the output errors with an
 *   {@link AllFailedError} (an `AggregateError`) whose `errors` are the causes in input order. An empty source errors
 *   the same way, with no causes and a message saying there were no alternatives.
 * - A source error errors the output at once (running alternatives are aborted).
 * - With `events`, a success reports a `'short-circuit'` event counting the running
 *   alternatives it aborted and the received ones it never started.
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { firstSuccess } from 'eed/operators';
 *
 * from(['https://a.example/x', 'https://b.example/x', 'https://c.example/x'])
 *   .pipe(
 *     firstSuccess(
 *       async (url, _i, signal) => {
 *         const response = await fetch(url, { signal });
 *         if (!response.ok) throw new Error(`${url}: ${response.status}`);
 *         return response.json();
 *       },
 *       { concurrency: 2 },
 *     ),
 *   )
 *   .subscribe({ next: (body) => console.log(body), error: (e: AggregateError) => console.error(e.errors) });
 * ```
 * @param project Runs one alternative; receives the value, its index and an AbortSignal.
 * @param options Cap (default 10, or the executor's), executor, priority, label, events.
 * @returns An operator emitting the first success, or erroring with an {@link AllFailedError}.
 */
export function firstSuccess<T, R>(
  project: (value: T, index: number, signal: AbortSignal) => ObservableInput<R>,
  options: FirstSuccessOptions = {},
): OperatorFunction<T, R> {
  const settings = resolveShortCircuitOptions('firstSuccess', 'project', project, options);
  return (source) =>
    new Observable<R>((subscriber) => {
      const causes: unknown[] = [];
      return shortCircuitInternals<T, R, R>(source, subscriber, settings, {
        operator: 'firstSuccess',
        project,
        decide: (result) => ({ answer: result }),
        failed: (error, index) => {
          causes[index] = error;
          return undefined;
        },
        exhausted: (count) => ({
          error:
            count === 0
              ? new AllFailedError(
                  'firstSuccess',
                  [],
                  'firstSuccess: no alternatives (the source completed without a value)',
                )
              : new AllFailedError(
                  'firstSuccess',
                  causes,
                  `firstSuccess: all ${count} alternative${count === 1 ? '' : 's'} failed`,
                ),
        }),
      });
    });
}
