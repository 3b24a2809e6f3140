import { Observable, type ObservableInput, type OperatorFunction } from 'rxjs';
import {
  resolveShortCircuitOptions,
  shortCircuitInternals,
} from '../src/shortCircuit/shortCircuitInternals.js';
import type { PredicateMapOptions } from '../src/shortCircuit/types.js';

/**
 * `Array#every` over an async predicate, run in parallel: emits `false` as soon as one
 * predicate says so, or `true` once the source completed and every predicate said true
 * (an empty source gives `true`), then completes.
 *
 * - `predicate(value, index, signal)` may return a Promise, an Observable or anything
 *   `from()` accepts; its first value counts (by truthiness, like `Array#every`) and the
 *   rest is not awaited. Up to `concurrency` run at once; the others wait, in order.
 * - On the first `false`, before it is emitted: the source is unsubscribed, waiting
 *   values are dropped (no predicate starts after the answer is known) and every running
 *   predicate's `signal` is aborted.
 * - A predicate that fails (throws, rejects, errors, or completes without a value, as
 *   RxJS's `EmptyError`) errors the output, after aborting the others. Catch inside the
 *   predicate to treat a failure as an answer.
 * - With `events`, an early `false` reports a `'short-circuit'` event counting the
 *   running predicates it aborted and the received values it never tested.
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { everyMap } from 'eed/operators';
 *
 * from(files)
 *   .pipe(everyMap((file, _i, signal) => checksumMatches(file, signal), { concurrency: 4 }))
 *   .subscribe((allIntact) => console.log(allIntact));
 * ```
 * @param predicate Tests one value; receives the value, its index and an AbortSignal.
 * @param options Cap (default 10, or the executor's), executor, priority, label, events.
 * @returns An operator emitting one boolean.
 */
export function everyMap<T>(
  predicate: (value: T, index: number, signal: AbortSignal) => ObservableInput<boolean>,
  options: PredicateMapOptions = {},
): OperatorFunction<T, boolean> {
  const settings = resolveShortCircuitOptions('everyMap', 'predicate', predicate, options);
  return (source) =>
    new Observable<boolean>((subscriber) =>
      shortCircuitInternals<T, boolean, boolean>(source, subscriber, settings, {
        operator: 'everyMap',
        project: predicate,
        decide: (ok) => (ok ? undefined : { answer: false }),
        failed: (error) => ({ error }),
        exhausted: () => ({ answer: true }),
      }),
    );
}
