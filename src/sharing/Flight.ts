import { AbortError } from '../errors.js';

/**
 * Receives what one shared execution emits: values, then exactly one of `error` or
 * `complete`. RxJS Subscribers satisfy it.
 *
 * @example
 * ```ts
 * const observer: FlightObserver<number> = { next: console.log, error: console.error, complete() {} };
 * ```
 */
export interface FlightObserver<T> {
  next(value: T): void;
  error(error: unknown): void;
  complete(): void;
  /**
   * Optional: the consumer behind this observer already left, and the observer's own
   * unsubscribe is on its way (a subscription closed while it was being made).
   */
  readonly closed?: boolean;
}

/** How a flight ended. @example `const outcome: FlightOutcome = 'completed';` */
export type FlightOutcome = 'completed' | 'failed' | 'cancelled';

/**
 * What an execution sends its output to: a {@link FlightObserver} that also keeps the
 * values emitted so far (which a completed execution caches).
 *
 * @example
 * ```ts
 * sink.next(1);
 * sink.complete();
 * cache.set(key, sink.values);
 * ```
 */
export interface FlightSink<T> extends FlightObserver<T> {
  readonly values: readonly T[];
  /**
   * Whether an attached observer still wants the output: not once the last one left (the
   * execution is stopped at the next microtask unless someone joins again), nor while
   * every one attached is closed, its leave on its way.
   */
  readonly wanted: boolean;
}

/**
 * One execution a {@link Flight} shares: started on the first subscription, stopped when
 * the last subscriber left.
 *
 * @example
 * ```ts
 * const source: FlightSource<number> = {
 *   start(sink) { timer = setTimeout(() => { sink.next(1); sink.complete(); }, 10); },
 *   stop() { clearTimeout(timer); },
 * };
 * ```
 */
export interface FlightSource<T> {
  /** Starts the execution, sending its output to `sink`. */
  start(sink: FlightSink<T>): void;
  /** Stops it; called at most once, only if it has not ended. */
  stop(): void;
}

/**
 * What a keyed single-flight registry holds for one key in flight: a {@link Flight}, or
 * a leaner execution of the same contract (an `engine.loader` key, say). Subscribing
 * replays the values so far, then the end if there was one, else shares the rest; the
 * last observer to leave stops the execution (at the next microtask).
 *
 * @example
 * ```ts
 * const shared: SharedFlight<User, FlightMeta> | undefined = flights.get('user:1');
 * shared?.subscribe(observer);
 * ```
 */
export interface SharedFlight<T, M> {
  readonly key: string;
  /** What the owner of the registry keeps with the execution. */
  readonly meta: M;
  /** How many observers are attached. */
  readonly observers: number;
  /** Values emitted so far. */
  readonly values: readonly T[];
  /** Attaches `observer` (see {@link Flight.subscribe}). */
  subscribe(observer: FlightObserver<T>): void;
  /** Detaches `observer` (see {@link Flight.unsubscribe}). */
  unsubscribe(observer: FlightObserver<T>): void;
}

const NO_VALUES: readonly never[] = Object.freeze([]);

enum State {
  Idle = 0,
  Running = 1,
  Completed = 2,
  Failed = 3,
  Cancelled = 4,
}

/**
 * One execution shared by every subscriber of a key: a hand-written replaying multicast
 * (no Subject, no `share()`). Observers live in an array; the values emitted so far are
 * kept and replayed to late joiners, followed by the end once there is one.
 *
 * - The execution starts on the first {@link subscribe}.
 * - `onEnd` runs when the execution completes, errors or is abandoned, before any
 *   observer hears of the end, so an observer reacting to it finds the key free.
 * - When the last observer leaves, the execution is stopped at the next microtask unless
 *   someone joined again: a consumer leaving on the first value (`take(1)`) of a source
 *   that completes right after it does not turn that success into a cancellation.
 *
 * @example
 * ```ts
 * const flight = new Flight('user:1', meta, source, registry, (outcome) => log(outcome));
 * flight.subscribe(observerA); // starts it
 * flight.subscribe(observerB); // joins it: replays, then shares the rest
 * ```
 */
export class Flight<T, M> implements FlightSink<T>, SharedFlight<T, M> {
  /** Values emitted so far (allocated with the first one). */
  #values: T[] | undefined = undefined;
  /** The first observer, and the others: most flights have one, which needs no array. */
  #first: FlightObserver<T> | undefined = undefined;
  /** Replaced, never changed in place, on removal: a fan-out keeps iterating its copy. */
  #rest: FlightObserver<T>[] | undefined = undefined;
  #count = 0;
  #state = State.Idle;
  #error: unknown;
  readonly #source: FlightSource<T>;
  #registry: Map<string, SharedFlight<T, M>> | undefined;
  #onEnd: ((outcome: FlightOutcome) => void) | undefined;
  #resetQueued = false;
  /** How many replays to joining observers are in progress (they may nest). */
  #replays = 0;
  /** Observers that left while not yet attached, during a replay in progress. */
  #leftInReplay: FlightObserver<T>[] | undefined = undefined;

  /**
   * @param key The key the execution computes.
   * @param meta What the owner of the registry keeps with the execution.
   * @param source The execution, started on the first subscription.
   * @param registry Where the flight is registered under `key`; it removes itself when it ends.
   * @param onEnd Called once when the execution ends, after the flight left `registry`.
   */
  constructor(
    readonly key: string,
    readonly meta: M,
    source: FlightSource<T>,
    registry: Map<string, SharedFlight<T, M>> | undefined,
    onEnd: ((outcome: FlightOutcome) => void) | undefined,
  ) {
    this.#source = source;
    this.#registry = registry;
    this.#onEnd = onEnd;
  }

  /** How many observers are attached. */
  get observers(): number {
    return this.#count;
  }

  /** See {@link FlightSink.wanted}. */
  get wanted(): boolean {
    const first = this.#first;
    if (first !== undefined && first.closed !== true) return true;
    return this.#rest?.some((observer) => observer.closed !== true) === true;
  }

  /** Values emitted so far (for late joiners, and the cache). */
  get values(): readonly T[] {
    return this.#values ?? NO_VALUES;
  }

  /**
   * Attaches `observer`: replays the values so far, then the end if there was one, else
   * shares the rest. Starts the execution if it was idle.
   */
  subscribe(observer: FlightObserver<T>): void {
    const values = this.#values;
    if (values !== undefined && !this.#replay(observer, values)) return;
    if (this.#state === State.Completed) {
      observer.complete();
      return;
    }
    if (this.#state === State.Failed || this.#state === State.Cancelled) {
      observer.error(this.#error);
      return;
    }
    if (this.#count++ === 0 && this.#rest === undefined) this.#first = observer;
    else if (this.#rest === undefined) this.#rest = [observer];
    else this.#rest.push(observer);
    if (this.#state === State.Idle) {
      this.#state = State.Running;
      this.#source.start(this);
    }
  }

  /**
   * Replays `values` (which may grow meanwhile) to a joining `observer`, not attached yet.
   * Returns `false` if it left during the replay: it gets nothing more and is not attached.
   */
  #replay(observer: FlightObserver<T>, values: readonly T[]): boolean {
    this.#replays++;
    let stayed = true;
    try {
      for (let i = 0; i < values.length && stayed; i++) {
        observer.next(values[i] as T);
        stayed = this.#leftInReplay === undefined || !this.#leftInReplay.includes(observer);
      }
    } finally {
      if (--this.#replays === 0) this.#leftInReplay = undefined;
    }
    return stayed;
  }

  /**
   * Detaches `observer`; the last one to leave stops the execution (at the next microtask).
   * An observer leaving during its own replay is never attached.
   */
  unsubscribe(observer: FlightObserver<T>): void {
    if (this.#first === observer) this.#first = undefined;
    else {
      const rest = this.#rest;
      if (rest === undefined || !rest.includes(observer)) {
        if (this.#replays > 0) this.#leftInReplay = [...(this.#leftInReplay ?? []), observer];
        return;
      }
      // Copy on write: a fan-out in progress keeps iterating the array it started with.
      const left = rest.filter((o) => o !== observer);
      this.#rest = left.length === 0 ? undefined : left;
    }
    if (--this.#count === 0 && this.#state === State.Running && !this.#resetQueued) {
      this.#resetQueued = true;
      queueMicrotask(() => this.#resetIfAbandoned());
    }
  }

  /** Sink side: the execution emitted `value` (already frozen). */
  next(value: T): void {
    if (this.#state !== State.Running) return;
    if (this.#values === undefined) this.#values = [value];
    else this.#values.push(value);
    this.#first?.next(value);
    const rest = this.#rest;
    if (rest === undefined) return;
    for (let i = 0, n = rest.length; i < n; i++) (rest[i] as FlightObserver<T>).next(value);
  }

  /** Sink side: the execution failed. */
  error(error: unknown): void {
    if (this.#state !== State.Running) return;
    this.#error = error;
    const first = this.#first;
    const rest = this.#rest;
    this.#end(State.Failed);
    first?.error(error);
    if (rest !== undefined) for (const observer of rest) observer.error(error);
  }

  /** Sink side: the execution completed. */
  complete(): void {
    if (this.#state !== State.Running) return;
    const first = this.#first;
    const rest = this.#rest;
    this.#end(State.Completed);
    first?.complete();
    if (rest !== undefined) for (const observer of rest) observer.complete();
  }

  /** Ends the flight: detaches every observer, leaves the registry, calls `onEnd`. */
  #end(state: State): void {
    this.#state = state;
    this.#first = undefined;
    this.#rest = undefined;
    this.#count = 0;
    const registry = this.#registry;
    this.#registry = undefined;
    if (registry?.get(this.key) === this) registry.delete(this.key);
    const onEnd = this.#onEnd;
    this.#onEnd = undefined;
    onEnd?.(
      state === State.Completed ? 'completed' : state === State.Failed ? 'failed' : 'cancelled',
    );
  }

  #resetIfAbandoned(): void {
    this.#resetQueued = false;
    if (this.#count > 0 || this.#state !== State.Running) return;
    // Ended before stopping, so whatever the execution sends while it stops is ignored.
    this.#state = State.Cancelled;
    this.#error = new AbortError();
    this.#source.stop();
    this.#end(State.Cancelled);
  }
}
