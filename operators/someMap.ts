import { Observable, type ObservableInput, type OperatorFunction } from 'rxjs';
import {
  resolveShortCircuitOptions,
  shortCircuitInternals,
} from '../src/shortCircuit/shortCircuitInternals.js';
import type { PredicateMapOptions } from '../src/shortCircuit/types.js';

/**
 * `Array#some` over an async predicate, run in parallel: emits `true` as soon as one
 * predicate says so, or `false` once the source completed and every predicate said
 * false (an empty source gives `false`), then completes.
 *
 * - `predicate(value, index, signal)` may return a Promise, an Observable or anything
 *   `from()` accepts; its first value counts (by truthiness, like `Array#some`) and the
 *   rest is not awaited. Up to `concurrency` run at once; the others wait, in order.
 * - On the first `true`, before it is emitted: the source is unsubscribed, waiting values
 *   are dropped (no predicate starts after the answer is known) and every running
 *   predicate's `signal` is aborted.
 * - A predicate that fails (throws, rejects, errors, or completes without a value, as
 *   RxJS's `EmptyError`) errors the output, after aborting the others: without its answer
 *   the result is unknown. Catch inside the predicate to treat a failure as `false`.
 * - With `events`, an early `true` reports a `'short-circuit'` event counting the running
 *   predicates it aborted and the received values it never tested.
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { someMap } from 'eed/operators';
 *
 * from(userIds)
 *   .pipe(someMap((id, _i, signal) => fetch(`/api/users/${id}/banned`, { signal }).then((r) => r.json())))
 *   .subscribe((anyBanned) => console.log(anyBanned));
 * ```
 * @param predicate Tests one value; receives the value, its index and an AbortSignal.
 * @param options Cap (default 10, or the executor's), executor, priority, label, events.
 * @returns An operator emitting one boolean.
 */
export function someMap<T>(
  predicate: (value: T, index: number, signal: AbortSignal) => ObservableInput<boolean>,
  options: PredicateMapOptions = {},
): OperatorFunction<T, boolean> {
  const settings = resolveShortCircuitOptions('someMap', 'predicate', predicate, options);
  return (source) =>
    new Observable<boolean>((subscriber) =>
      shortCircuitInternals<T, boolean, boolean>(source, subscriber, settings, {
        operator: 'someMap',
        project: predicate,
        decide: (ok) => (ok ? { answer: true } : undefined),
        failed: (error) => ({ error }),
        exhausted: () => ({ answer: false }),
      }),
    );
}
