import { from, Observable, type ObservableInput, type Subscription } from 'rxjs';

/**
 * Work whose task got its executor slot just after everyone who wanted it left: its
 * owner decides at a microtask queued in this same synchronous turn whether to stop it
 * (nobody came back) or not (someone joined again). The call waits until every microtask
 * queued in this turn has run (two hops: the owner's check may be queued after this one
 * is made): a stopped task unsubscribes this, and `work` is never called; otherwise
 * `begin()`, then `work(signal)`, whose output this mirrors.
 *
 * @example
 * ```ts
 * const execute = (signal: AbortSignal) =>
 *   flight.observers > 0 ? work(signal) : callAfterCheck(() => {}, work, signal);
 * ```
 */
export function callAfterCheck<T>(
  begin: () => void,
  work: (signal: AbortSignal) => ObservableInput<T>,
  signal: AbortSignal,
): Observable<T> {
  return new Observable<T>((subscriber) => {
    let inner: Subscription | undefined;
    const call = () => {
      if (subscriber.closed) return;
      begin();
      try {
        inner = from(work(signal)).subscribe(subscriber);
      } catch (error) {
        subscriber.error(error);
      }
    };
    queueMicrotask(() => queueMicrotask(call));
    return () => inner?.unsubscribe();
  });
}
