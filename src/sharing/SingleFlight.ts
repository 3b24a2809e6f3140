import { defer, Observable, ReplaySubject, type Subscription, share } from 'rxjs';

/** One execution in flight: the shared Observable and what its owner attached to it. */
export interface FlightEntry<T, M> {
  readonly key: string;
  /** Subscribe to join: replays every value so far, then the rest, then the end. */
  readonly shared: Observable<T>;
  /** Metadata the owner of the registry keeps with the execution. */
  readonly meta: M;
}

/**
 * Defers a refcount-zero reset to the next microtask. A consumer that leaves on the first
 * value (`take(1)`, `firstValueFrom`) of a source that completes right after it (a
 * Promise, an array, `of(x)`) must not turn that success into a cancellation: the
 * completion arrives in the same tick, before the reset fires, and still lands.
 */
const nextMicrotask = (): Promise<void> => Promise.resolve();

/**
 * A keyed single-flight registry built on RxJS `share` with a `ReplaySubject` connector.
 *
 * - While a key is in flight, {@link join} returns the same shared execution: late
 *   subscribers receive every value emitted so far, then the rest, then the end.
 * - The entry is removed the moment the execution completes or errors, before any
 *   subscriber hears of it, so a subscriber reacting to the end starts a fresh lookup.
 * - When the last subscriber (or {@link keepAlive} holder) leaves, the execution is
 *   unsubscribed (its work aborted) at the next microtask, and the entry removed.
 *
 * @example
 * ```ts
 * const flights = new SingleFlight<User, void>();
 * const a = flights.join('user:1', () => fetchUser$(1), undefined);
 * const b = flights.join('user:1', () => fetchUser$(1), undefined); // same execution
 * ```
 */
export class SingleFlight<T, M> {
  readonly #entries = new Map<string, FlightEntry<T, M>>();

  /** How many keys are in flight. */
  get size(): number {
    return this.#entries.size;
  }

  /** The keys in flight. */
  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /** The entry of `key` if it is in flight. */
  get(key: string): FlightEntry<T, M> | undefined {
    return this.#entries.get(key);
  }

  /**
   * Returns the in-flight entry of `key`, or registers a new one whose execution is
   * `execute()` (called on the first subscription). `onEnd` runs when the execution
   * completes, errors or is abandoned, after the entry was removed. The caller must
   * subscribe to a new entry's `shared` at once: an entry nobody subscribes to stays.
   */
  join(
    key: string,
    execute: () => Observable<T>,
    meta: M,
    onEnd?: (outcome: 'completed' | 'failed' | 'cancelled') => void,
  ): FlightEntry<T, M> {
    const existing = this.#entries.get(key);
    if (existing !== undefined) return existing;
    let ended = false;
    const end = (outcome: 'completed' | 'failed' | 'cancelled') => {
      if (ended) return;
      ended = true;
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
      onEnd?.(outcome);
    };
    const source = defer(
      () =>
        new Observable<T>((subscriber) => {
          const subscription = execute().subscribe({
            next: (value) => subscriber.next(value),
            error: (error: unknown) => {
              end('failed');
              subscriber.error(error);
            },
            complete: () => {
              end('completed');
              subscriber.complete();
            },
          });
          return () => {
            subscription.unsubscribe();
            end('cancelled');
          };
        }),
    );
    const entry: FlightEntry<T, M> = {
      key,
      meta,
      shared: source.pipe(
        share({
          connector: () => new ReplaySubject<T>(),
          resetOnError: true,
          resetOnComplete: true,
          resetOnRefCountZero: nextMicrotask,
        }),
      ),
    };
    this.#entries.set(key, entry);
    return entry;
  }

  /**
   * Holds the execution of `key` open as if one more subscriber were there, until it
   * ends or the returned function is called. Returns `undefined` if `key` is not in flight.
   */
  keepAlive(key: string): (() => void) | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const subscription: Subscription = entry.shared.subscribe({ error: () => {} });
    return () => subscription.unsubscribe();
  }
}
