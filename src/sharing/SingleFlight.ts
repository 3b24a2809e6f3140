import {
  Flight,
  type FlightObserver,
  type FlightOutcome,
  type FlightSource,
  type SharedFlight,
} from './Flight.js';

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
  readonly #entries = new Map<string, SharedFlight<T, M>>();
  readonly #elsewhere: ((key: string) => SharedFlight<T, M> | undefined) | undefined;

  /**
   * @param elsewhere Finds flights registered outside this registry (the engine's loader
   *   keeps its keys in flight in its `MemoryStore`, as reservations): {@link get} asks it
   *   when this registry has no flight of the key. {@link size} and {@link keys} count
   *   only this registry's own flights.
   */
  constructor(elsewhere?: (key: string) => SharedFlight<T, M> | undefined) {
    this.#elsewhere = elsewhere;
  }

  /** How many keys are in flight in this registry (not counting flights found elsewhere). */
  get size(): number {
    return this.#entries.size;
  }

  /** The keys in flight in this registry. */
  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /** The flight of `key` if it is in flight, here or elsewhere. */
  get(key: string): SharedFlight<T, M> | undefined {
    const flight = this.#entries.get(key);
    if (flight !== undefined || this.#elsewhere === undefined) return flight;
    return this.#elsewhere(key);
  }

  /**
   * The flight of `key` registered in this registry itself, if any (for a caller that
   * has already looked elsewhere).
   *
   * @example
   * ```ts
   * const flight = store.reservation(key) ?? flights.local(key);
   * ```
   */
  local(key: string): SharedFlight<T, M> | undefined {
    return this.#entries.get(key);
  }

  /**
   * Registers `flight`, an execution made by the caller, under `key`, which must not be
   * in flight. The flight must {@link remove} itself when it ends, before its observers
   * hear of the end.
   *
   * @example
   * ```ts
   * if (flights.get(key) === undefined) flights.add(key, new LoaderKey(...));
   * ```
   */
  add(key: string, flight: SharedFlight<T, M>): void {
    this.#entries.set(key, flight);
  }

  /**
   * Removes `key`'s entry: called once by the flight {@link add}ed under `key` when it
   * ends (no other entry can be there meanwhile, so there is nothing to compare).
   *
   * @example
   * ```ts
   * flights.remove(key);
   * ```
   */
  remove(key: string): void {
    this.#entries.delete(key);
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
  ): SharedFlight<T, M> {
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
