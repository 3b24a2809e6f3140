import type { Subscriber, Unsubscribable } from 'rxjs';
import type { Batch, Batcher, BatchItem } from '../batching/Batcher.js';
import type { MemoryStore } from '../cache/MemoryStore.js';
import { AbortError } from '../errors.js';
import type { Priority } from '../executor/types.js';
import type { FlightObserver, SharedFlight } from '../sharing/Flight.js';
import { type ExecutionSettings, type FlightMeta, freezeValue } from './LocalExecution.js';

/**
 * Where a loader's batcher sends one key's result.
 *
 * @example
 * ```ts
 * const token: BatchToken = { resolve: (user) => render(user), reject: (error) => report(error), abandoned: false };
 * batcher.add('user:1', token);
 * ```
 */
export interface BatchToken {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Everyone who wanted the key just left: it is cancelled at the next microtask unless someone joins again. */
  readonly abandoned: boolean;
}

/**
 * The batcher of an `engine.loader`: keys in, one {@link BatchToken} per key.
 *
 * @example
 * ```ts
 * batcher.enqueue(slot); // a LoaderKey is its own batch entry and token
 * ```
 */
export type LoaderBatcher = Batcher<string, unknown, BatchToken>;

/**
 * What the keys of one `engine.loader` report to (the engine's registry, metrics, cache).
 * `time` arguments are the engine clock's now, or 0 when the caller did not read it.
 *
 * @example
 * ```ts
 * const host: LoaderHost = { batcher, settings, store, time: 0, wall: 0, firstValue, requestCancelled, ended };
 * ```
 */
export interface LoaderHost {
  readonly batcher: LoaderBatcher;
  readonly settings: ExecutionSettings;
  /**
   * The engine's `MemoryStore` when the loader's keys in flight are its reservations
   * (`MemoryStore.reserve`) rather than entries of the engine's in-flight registry.
   */
  readonly store: MemoryStore | undefined;
  /**
   * The engine clock's time of the batch delivery in progress, read once per batch (the
   * batch sink's `settling`): every key of a batch ends in that same synchronous turn.
   */
  time: number;
  /** The wall clock's time of the same delivery (when the keys' entries are stored). */
  wall: number;
  /** The request that created the key received its value. */
  firstValue(slot: LoaderKey, time: number): void;
  /** The request that created the key left before the end. */
  requestCancelled(slot: LoaderKey): void;
  /**
   * The key's execution ended, before any subscriber hears of it: it leaves the in-flight
   * registry; `values` (on success) are cached; `requested`: the request that created the
   * key is still there, and ends with the execution.
   */
  ended(
    slot: LoaderKey,
    outcome: 'completed' | 'failed' | 'cancelled',
    values: readonly unknown[] | undefined,
    time: number,
    requested: boolean,
  ): void;
}

const NO_VALUES: readonly never[] = Object.freeze([]);

// `#flags`: the state in the low two bits, then booleans (one field for all of them).
const RUNNING = 0;
const COMPLETED = 1;
const FAILED = 2;
const CANCELLED = 3;
const STATE = 3;
const RESET_QUEUED = 4;
const STALE = 8;
const DONE = 16;
/** The value was delivered: `#result` holds the values array. */
const HAS_VALUE = 32;

/**
 * One key of an `engine.loader` in flight, as one object: the registry's shared flight
 * (and its metadata), the batcher's entry and token, and the first request (its
 * subscriber held inline, and the teardown RxJS calls). Later subscribers of the key
 * (`run`, another `load`) join it as observers. It emits one value and completes, or
 * fails; the last subscriber to leave (at the next microtask) takes the key out of its
 * pending batch, or drops its result (the batcher aborts a batch nobody waits for).
 *
 * @example
 * ```ts
 * const slot = new LoaderKey(host, key, subscriber, requestId, startedAt, executionId, 'normal');
 * flights.add(key, slot);
 * host.batcher.enqueue(slot);
 * return slot; // the subscription's teardown
 * ```
 */
export class LoaderKey
  implements
    SharedFlight<unknown, FlightMeta>,
    FlightMeta,
    BatchItem<string, BatchToken>,
    BatchToken,
    Unsubscribable
{
  // BatchItem
  batch: Batch<string, BatchToken> | undefined = undefined;
  /** The ticket of the store reservation this key holds (see `MemoryStore.reserve`), else -1. */
  ticket = -1;

  /**
   * State and booleans in one field (see the constants above): every key in flight is
   * held at once, so each field counts 100,000 times over in a large load.
   */
  #flags = RUNNING;
  /** The values array once the value was delivered (`HAS_VALUE`), or the error. */
  #result: unknown = undefined;
  /** The request that created the key, until it ends or leaves. */
  #subscriber: Subscriber<unknown> | undefined;
  /** Observers that joined later; replaced, never changed in place, on removal. */
  #joiners: FlightObserver<unknown>[] | undefined = undefined;
  #count = 1;

  /**
   * @param host The loader's engine side.
   * @param key The key, loaded in a batch.
   * @param subscriber The subscriber of the request that created the key.
   * @param requestId That request's id.
   * @param startedAt When it was made (engine clock), also when the key joined a batch.
   * @param executionId The key's execution id.
   * @param priority The priority of the first request.
   */
  constructor(
    readonly host: LoaderHost,
    readonly key: string,
    subscriber: Subscriber<unknown>,
    readonly requestId: number,
    readonly startedAt: number,
    readonly executionId: number,
    public priority: Priority,
  ) {
    this.#subscriber = subscriber;
  }

  /** FlightMeta: set by `invalidate` once the work began; the result is not cached. */
  get stale(): boolean {
    return (this.#flags & STALE) !== 0;
  }

  set stale(stale: boolean) {
    this.#flags = stale ? this.#flags | STALE : this.#flags & ~STALE;
  }

  /** FlightMeta: loader keys are never prefetched, so no prefetch of theirs is used. */
  get prefetchUsed(): false {
    return false;
  }

  set prefetchUsed(_used: boolean) {}

  /**
   * Batch token: every subscriber left; the key is cancelled at the next microtask unless
   * someone joins again.
   */
  get abandoned(): boolean {
    return this.#count === 0 && (this.#flags & STATE) === RUNNING;
  }

  /** BatchItem: cancelled, or its result delivered. */
  get done(): boolean {
    return (this.#flags & DONE) !== 0;
  }

  set done(done: boolean) {
    this.#flags = done ? this.#flags | DONE : this.#flags & ~DONE;
  }

  /** A batch is no task of its own that a joiner could raise. */
  get control(): undefined {
    return undefined;
  }

  /** Loader keys are requested, never prefetched. */
  get prefetch(): false {
    return false;
  }

  /** The work began: the key is in a batch. */
  get began(): true {
    return true;
  }

  /** Batch entry: a loader batches keys without `keyOf`, so no twins. */
  get twins(): undefined {
    return undefined;
  }

  /** The registry's metadata of the key: the key itself. */
  get meta(): FlightMeta {
    return this;
  }

  /** Batch entry: the value loaded is the key. */
  get value(): string {
    return this.key;
  }

  /** Batch entry: the sink's token is the key itself. */
  get token(): BatchToken {
    return this;
  }

  /** How many subscribers are attached (the first request included). */
  get observers(): number {
    return this.#count;
  }

  /** The value once loaded (for late joiners). */
  get values(): readonly unknown[] {
    return (this.#flags & HAS_VALUE) !== 0 ? (this.#result as unknown[]) : NO_VALUES;
  }

  /** A later subscriber joins: replays the value, then the end if there was one. */
  subscribe(observer: FlightObserver<unknown>): void {
    const flags = this.#flags;
    if ((flags & HAS_VALUE) !== 0) observer.next((this.#result as unknown[])[0]);
    const state = flags & STATE;
    if (state !== RUNNING) {
      if (state === COMPLETED) observer.complete();
      else observer.error(this.#result);
      return;
    }
    const joiners = this.#joiners;
    if (joiners === undefined) this.#joiners = [observer];
    else joiners.push(observer);
    this.#count++;
  }

  /**
   * A subscriber leaves: a joiner (`observer`), or the first request (no argument: RxJS
   * calls this as its teardown, after the end as well). The last one stops the key at
   * the next microtask, unless someone joined again.
   */
  unsubscribe(observer?: FlightObserver<unknown>): void {
    if (observer === undefined) {
      const subscriber = this.#subscriber;
      if (subscriber === undefined) return;
      this.#subscriber = undefined;
      this.host.requestCancelled(this);
    } else {
      const joiners = this.#joiners;
      if (joiners === undefined || !joiners.includes(observer)) return;
      const left = joiners.filter((o) => o !== observer);
      this.#joiners = left.length === 0 ? undefined : left;
    }
    if (--this.#count === 0 && (this.#flags & (STATE | RESET_QUEUED)) === RUNNING) {
      this.#flags |= RESET_QUEUED;
      queueMicrotask(() => this.#resetIfAbandoned());
    }
  }

  /** Batch token: the batch answered this key. */
  resolve(result: unknown): void {
    if ((this.#flags & STATE) !== RUNNING) return;
    const host = this.host;
    const time = host.time;
    const value = freezeValue(result);
    const values = [value];
    this.#result = values;
    this.#flags |= HAS_VALUE;
    // Observers joining during the fan-out got the value as a replay already.
    const joiners = this.#joiners;
    const subscriber = this.#subscriber;
    if (subscriber !== undefined) {
      host.firstValue(this, time);
      subscriber.next(value);
    }
    if (joiners !== undefined) {
      for (let i = 0, n = joiners.length; i < n; i++) joiners[i]?.next(value);
    }
    if ((this.#flags & STATE) !== RUNNING) return;
    this.#flags |= COMPLETED;
    host.ended(this, 'completed', values, time, this.#subscriber !== undefined);
    this.#finish('completed');
  }

  /** Batch token: the batch failed this key. */
  reject(error: unknown): void {
    if ((this.#flags & STATE) !== RUNNING) return;
    this.#flags |= FAILED;
    this.#result = error;
    this.host.ended(this, 'failed', undefined, this.host.time, this.#subscriber !== undefined);
    this.#finish('failed');
  }

  /** Tells the subscribers still there that the key ended. */
  #finish(outcome: 'completed' | 'failed'): void {
    const subscriber = this.#subscriber;
    const joiners = this.#joiners;
    this.#subscriber = undefined;
    this.#joiners = undefined;
    this.#count = 0;
    if (subscriber !== undefined) {
      if (outcome === 'completed') subscriber.complete();
      else subscriber.error(this.#result);
    }
    if (joiners === undefined) return;
    for (const observer of joiners) {
      if (outcome === 'completed') observer.complete();
      else observer.error(this.#result);
    }
  }

  #resetIfAbandoned(): void {
    this.#flags &= ~RESET_QUEUED;
    if (this.#count > 0 || (this.#flags & STATE) !== RUNNING) return;
    this.#flags |= CANCELLED;
    this.#result = new AbortError();
    this.host.batcher.cancel(this);
    this.host.ended(this, 'cancelled', undefined, 0, false);
  }
}
