import { Flight, type FlightObserver, type FlightOutcome, type FlightSource } from './Flight.js';

const NOOP = (): void => {};

/**
 * A keyed single-flight registry: at most one {@link Flight} per key is in flight.
 *
 * - While a key is in flight, {@link join} returns the same flight: late subscribers
 *   receive every value emitted so far, then the rest, then the end.
 * - The entry is removed the moment the execution completes or errors, before any
 *   subscriber hears of it, so a subscriber reacting to the end starts a fresh lookup.
 * - When the last subscriber (or {@link keepAlive} holder) leaves, the execution is
 *   stopped (its work aborted) at the next microtask, and the entry removed.
 *
 * @example
 * ```ts
 * const flights = new SingleFlight<User, void>();
 * const a = flights.join('user:1', userSource(1), undefined);
 * const b = flights.join('user:1', userSource(1), undefined); // same flight
 * a.subscribe(observer);
 * ```
 */
export class SingleFlight<T, M> {
  readonly #entries = new Map<string, Flight<T, M>>();

  /** How many keys are in flight. */
  get size(): number {
    return this.#entries.size;
  }

  /** The keys in flight. */
  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /** The flight of `key` if it is in flight. */
  get(key: string): Flight<T, M> | undefined {
    return this.#entries.get(key);
  }

  /**
   * Returns the flight of `key`, or registers a new one whose execution is `source`
   * (started on the first subscription). `onEnd` runs when the execution completes,
   * errors or is abandoned, after the entry was removed. The caller must subscribe to a
   * new flight at once: a flight nobody subscribes to stays.
   */
  join(
    key: string,
    source: FlightSource<T>,
    meta: M,
    onEnd?: (outcome: FlightOutcome) => void,
  ): Flight<T, M> {
    const existing = this.#entries.get(key);
    if (existing !== undefined) return existing;
    const flight = new Flight(key, meta, source, this.#entries, onEnd);
    this.#entries.set(key, flight);
    return flight;
  }

  /**
   * Holds the execution of `key` open as if one more subscriber were there, until it
   * ends or the returned function is called. Returns `undefined` if `key` is not in flight.
   */
  keepAlive(key: string): (() => void) | undefined {
    const flight = this.#entries.get(key);
    if (flight === undefined) return undefined;
    const holder: FlightObserver<T> = { next: NOOP, error: NOOP, complete: NOOP };
    flight.subscribe(holder);
    return () => flight.unsubscribe(holder);
  }
}
