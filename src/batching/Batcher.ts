import {
  asyncScheduler,
  EMPTY,
  type ObservableInput,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { BatchLengthError } from '../errors.js';
import type { TaskRef } from '../executor/PriorityExecutor.js';
import { submitTask } from '../executor/submitTask.js';
import type { Executor, Priority } from '../executor/types.js';
import { UNUSED_SIGNAL } from '../executor/unusedSignal.js';
import {
  assertCount,
  assertFunction,
  assertPriority,
  assertTimerMs,
} from '../executor/validate.js';
import { callAfterCheck } from '../util/callAfterCheck.js';
import { RingBuffer } from '../util/RingBuffer.js';

/**
 * Where a {@link Batcher} sends results: one sink for every value, told which one by its
 * `token`. Exactly one of `next` or `error` is called per value added (and not cancelled).
 *
 * @example
 * ```ts
 * const sink: BatchSink<Subscriber<User>, User> = {
 *   next: (subscriber, user) => subscriber.next(user),
 *   error: (subscriber, error) => subscriber.error(error),
 * };
 * ```
 */
export interface BatchSink<K, R> {
  next(token: K, result: R): void;
  error(token: K, error: unknown): void;
  /**
   * Called once before a batch's results (or its failure) are delivered, all in the same
   * synchronous turn: what they share, such as the time, can be read once per batch.
   */
  settling?(): void;
}

/** Settings of a {@link Batcher}. */
export interface BatcherSettings<T, R, K> {
  /** Loads a batch; the result array maps back to the values by position. */
  readonly loadBatch: (values: T[], signal: AbortSignal) => ObservableInput<readonly (R | Error)[]>;
  readonly maxBatchSize: number;
  /**
   * The batching window (ms); `undefined`: the current macrotask turn (a 0 ms timer);
   * `Infinity`: no window (a batch closes when full or flushed).
   */
  readonly maxWaitMs: number | undefined;
  /** The most batches in flight at once. */
  readonly concurrency: number;
  /** Values with equal keys in one window are loaded once and fanned out. */
  readonly keyOf: ((value: T) => string) | undefined;
  /** Batches run as tasks of this executor. */
  readonly executor: Executor;
  readonly priority: Priority;
  readonly label: string | undefined;
  /** Schedules the window timer; inject a TestScheduler or VirtualTimeScheduler in tests. */
  readonly scheduler: SchedulerLike | undefined;
  /** Receives every value's result or failure. */
  readonly sink: BatchSink<K, R>;
  /** Called with each batch's size when it is sent (for batch metrics). */
  readonly onDispatch?: (size: number) => void;
  /**
   * Whether everyone who wanted a value just left (its owner cancels it at the next
   * microtask unless someone comes back). A batch whose values are all done or abandoned
   * as its task gets a slot waits for that microtask before its load is called, so a load
   * nobody wants is never called. Default: values are never abandoned.
   */
  readonly isAbandoned?: (token: K) => boolean;
}

/** The batching options `batchMap` and `engine.loader` share. */
export interface BatchWindowOptions {
  maxBatchSize?: number;
  maxWaitMs?: number;
  concurrency?: number;
  priority?: Priority;
}

/**
 * Validates the batching options shared by `batchMap` and `engine.loader` (bad values
 * throw, naming `prefix + option`) and fills in their defaults.
 *
 * @example
 * ```ts
 * const { maxBatchSize, concurrency } = resolveBatchOptions('batchMap: ', loadBatch, options);
 * ```
 */
export function resolveBatchOptions(
  prefix: string,
  loadBatch: unknown,
  options: BatchWindowOptions,
): {
  maxBatchSize: number;
  maxWaitMs: number | undefined;
  concurrency: number;
  priority: Priority;
} {
  assertFunction(`${prefix}loadBatch`, loadBatch);
  const maxBatchSize = options.maxBatchSize ?? Number.POSITIVE_INFINITY;
  assertCount(`${prefix}maxBatchSize`, maxBatchSize, 1);
  if (options.maxWaitMs !== undefined) {
    assertTimerMs(`${prefix}maxWaitMs`, options.maxWaitMs, { infinity: true });
  }
  const concurrency = options.concurrency ?? Number.POSITIVE_INFINITY;
  assertCount(`${prefix}concurrency`, concurrency, 1);
  const priority = options.priority ?? 'normal';
  assertPriority(`${prefix}priority`, priority);
  return { maxBatchSize, maxWaitMs: options.maxWaitMs, concurrency, priority };
}

/**
 * One value in a {@link Batcher}: the handle {@link Batcher.cancel} takes. A
 * {@link BatchEntry}, or an object of the caller's that is its own token
 * ({@link Batcher.enqueue}), so a value costs one record and no closure.
 *
 * @example
 * ```ts
 * const item: BatchItem<string, Slot> = { value: 'user:1', token: slot, done: false, twins: undefined, batch: undefined };
 * batcher.enqueue(item);
 * ```
 */
export interface BatchItem<T, K> {
  readonly value: T;
  /** What the sink is given with this value's result. */
  readonly token: K;
  /** Set once the value was cancelled or its result delivered. */
  done: boolean;
  /** Later values of the same key in the same batch (`keyOf`), loaded once with this one. */
  twins: BatchItem<T, K>[] | undefined;
  /** The batch this value belongs to (set by the batcher). */
  batch: Batch<T, K> | undefined;
}

/**
 * One value added with {@link Batcher.add}: the handle {@link Batcher.cancel} takes. One
 * record per value, no closure.
 *
 * @example
 * ```ts
 * const entry = batcher.add(id, subscriber);
 * batcher.cancel(entry);
 * ```
 */
export class BatchEntry<T, K> implements BatchItem<T, K> {
  done = false;
  twins: BatchItem<T, K>[] | undefined = undefined;
  batch: Batch<T, K> | undefined = undefined;

  constructor(
    readonly value: T,
    readonly token: K,
  ) {}
}

/**
 * One batch of a {@link Batcher}, open, waiting or in flight (internal to the batcher).
 *
 * @example
 * ```ts
 * const waiting = entry.batch?.waiting; // values of the batch not cancelled yet
 * ```
 */
export interface Batch<T, K> {
  /**
   * One entry per distinct key (the first one added). While the batch is open it may also
   * hold keys whose values were all cancelled (they are skipped when it is sent).
   */
  entries: BatchItem<T, K>[];
  /** With `keyOf`, while the batch is open: the first entry of each key a value waits for. */
  byKey: Map<string, BatchItem<T, K>> | undefined;
  /** With `keyOf`, while the batch is open: the key of every value in it (twins too). */
  keys: Map<BatchItem<T, K>, string> | undefined;
  /** While the batch is open: its keys that a value still waits for, toward `maxBatchSize`. */
  places: number;
  /** Values still waiting for this batch; when it drops to 0 in flight, the load is aborted. */
  waiting: number;
  ref: TaskRef | undefined;
  settled: boolean;
}

/**
 * Collects values into batches and loads each batch with one call, DataLoader-style,
 * with a cap on batches in flight. Shared by `batchMap` and `engine.loader`.
 *
 * - A batch closes when it reaches `maxBatchSize` or when its window ends (`maxWaitMs`,
 *   or by default the current macrotask turn, which gathers everything requested in
 *   the same tick, promise callbacks included).
 * - Closed batches wait in FIFO order while `concurrency` batches are in flight.
 * - A result slot holding an `Error` fails only its value; a failed load fails every
 *   value; a result of the wrong length fails every value with a {@link BatchLengthError}.
 *   Of a load that emits several arrays, the first one counts.
 * - A value cancelled before its batch is sent is not loaded (a batch left with none is
 *   never sent). While the batch is still open, a key none of whose values waits any more
 *   gives its place toward `maxBatchSize` to the next key (a value of the same key added
 *   later comes back as a new key, at the end). When every value of a batch in flight is
 *   cancelled, the load's signal is aborted.
 * - {@link dispose} drops what was not sent and aborts what is in flight, a load still
 *   queued in the executor before any running one, so no load is called afterwards.
 * - Results go to one shared {@link BatchSink}, with the token given to {@link add}: a
 *   value costs one {@link BatchEntry} record, no closure.
 *
 * @example
 * ```ts
 * const batcher = new Batcher<string, User, Subscriber<User>>({ loadBatch, maxBatchSize: 100, maxWaitMs: undefined, concurrency: 4,
 *   keyOf: undefined, executor, priority: 'normal', label: 'users', scheduler: undefined,
 *   sink: { next: (subscriber, user) => subscriber.next(user), error: (subscriber, e) => subscriber.error(e) } });
 * const entry = batcher.add(userId, subscriber);
 * batcher.cancel(entry);
 * ```
 */
export class Batcher<T, R, K> {
  readonly #settings: BatcherSettings<T, R, K>;
  #open: Batch<T, K> | undefined;
  #timer: Subscription | undefined;
  readonly #closed = new RingBuffer<Batch<T, K>>();
  readonly #inFlight = new Set<Batch<T, K>>();
  #pumping = false;
  /** Set by {@link dispose}: nothing is batched afterwards (so nothing is sent either). */
  #disposed = false;

  constructor(settings: BatcherSettings<T, R, K>) {
    this.#settings = settings;
  }

  /** Batches in flight, closed batches waiting to be sent, and the open batch. */
  get pending(): number {
    return this.#inFlight.size + this.#closed.size + (this.#open === undefined ? 0 : 1);
  }

  /** Adds `value` to the open batch; its result goes to the sink with `token`. */
  add(value: T, token: K): BatchEntry<T, K> {
    const entry = new BatchEntry(value, token);
    this.enqueue(entry);
    return entry;
  }

  /**
   * Adds `entry`, a record of the caller's (whose token is often the item itself), to the
   * open batch; {@link cancel} takes it back.
   *
   * @example
   * ```ts
   * batcher.enqueue(slot); // slot.value is loaded; the sink gets slot.token
   * batcher.cancel(slot);
   * ```
   */
  enqueue(entry: BatchItem<T, K>): void {
    if (this.#disposed) return;
    const batch = this.#open ?? this.#openBatch();
    entry.batch = batch;
    batch.waiting++;
    const byKey = batch.byKey;
    if (byKey !== undefined) {
      const key = (this.#settings.keyOf as (value: T) => string)(entry.value);
      (batch.keys as Map<BatchItem<T, K>, string>).set(entry, key);
      const first = byKey.get(key);
      if (first !== undefined) {
        if (first.twins === undefined) first.twins = [entry];
        else first.twins.push(entry);
        return;
      }
      byKey.set(key, entry);
    }
    batch.entries.push(entry);
    if (++batch.places >= this.#settings.maxBatchSize) this.#close();
  }

  /** Cancels one value: no result is delivered for it; a batch nobody waits for is aborted. */
  cancel(entry: BatchItem<T, K>): void {
    const batch = entry.batch;
    if (entry.done || batch === undefined) return;
    entry.done = true;
    if (--batch.waiting !== 0) {
      if (batch === this.#open) this.#leaveIfUnwanted(batch, entry);
      return;
    }
    if (batch === this.#open) {
      // Nothing left to send: the window ends now, its timer with it.
      this.#timer?.unsubscribe();
      this.#timer = undefined;
      this.#open = undefined;
    } else if (batch.ref !== undefined && !batch.settled) {
      this.#settle(batch);
      batch.ref.cancel();
      this.#pump();
    }
  }

  /**
   * After a value of the open `batch` was cancelled: if no value of its key waits any more,
   * the key gives up its place (and, with `keyOf`, its group: a later value of that key
   * starts a new one). Keys given up are dropped from `entries` once they are the most of it.
   */
  #leaveIfUnwanted(batch: Batch<T, K>, entry: BatchItem<T, K>): void {
    const byKey = batch.byKey;
    if (byKey === undefined) {
      batch.places--;
    } else {
      const keys = batch.keys as Map<BatchItem<T, K>, string>;
      const key = keys.get(entry) as string;
      const first = byKey.get(key);
      if (first === undefined || isWanted(first)) return;
      byKey.delete(key);
      keys.delete(first);
      if (first.twins !== undefined) for (const twin of first.twins) keys.delete(twin);
      batch.places--;
    }
    if (batch.entries.length > 2 * batch.places + 16)
      batch.entries = batch.entries.filter(isWanted);
  }

  /** Sends the open batch now (when the source ends, nothing is gained by waiting). */
  flush(): void {
    if (this.#open !== undefined) this.#close();
  }

  /**
   * Drops the open batch and the batches waiting to be sent, and aborts the batches in
   * flight: no result is delivered and no load is called afterwards, and values added
   * afterwards are ignored.
   */
  dispose(): void {
    this.#disposed = true;
    this.#timer?.unsubscribe();
    this.#timer = undefined;
    this.#open = undefined;
    this.#closed.clear();
    const inFlight = [...this.#inFlight];
    this.#inFlight.clear();
    for (const batch of inFlight) batch.settled = true;
    // Newest first: a batch still queued in the executor is removed before an abort frees
    // a slot the executor would hand it (its load would be called, only to be aborted).
    for (let i = inFlight.length - 1; i >= 0; i--) inFlight[i]?.ref?.cancel();
  }

  #openBatch(): Batch<T, K> {
    const keyed = this.#settings.keyOf !== undefined;
    const batch: Batch<T, K> = {
      entries: [],
      byKey: keyed ? new Map() : undefined,
      keys: keyed ? new Map() : undefined,
      places: 0,
      waiting: 0,
      ref: undefined,
      settled: false,
    };
    this.#open = batch;
    const maxWaitMs = this.#settings.maxWaitMs ?? 0;
    // An endless window has no timer: the batch closes when full or flushed.
    if (maxWaitMs === Number.POSITIVE_INFINITY) return batch;
    const scheduler = this.#settings.scheduler ?? asyncScheduler;
    this.#timer = scheduler.schedule(() => {
      this.#timer = undefined;
      if (this.#open === batch) this.#close();
    }, maxWaitMs);
    return batch;
  }

  #close(): void {
    const batch = this.#open;
    if (batch === undefined) return;
    this.#open = undefined;
    // Only the open batch takes values and gives places back: what served that goes.
    batch.byKey = undefined;
    batch.keys = undefined;
    this.#timer?.unsubscribe();
    this.#timer = undefined;
    this.#closed.push(batch);
    this.#pump();
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#inFlight.size < this.#settings.concurrency && this.#closed.size > 0) {
        this.#dispatch(this.#closed.shift() as Batch<T, K>);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #settle(batch: Batch<T, K>): void {
    batch.settled = true;
    this.#inFlight.delete(batch);
  }

  #dispatch(batch: Batch<T, K>): void {
    if (batch.waiting === 0) return;
    const entries =
      batch.waiting === countAll(batch.entries) ? batch.entries : batch.entries.filter(isWanted);
    const values = entries.map((entry) => entry.value);
    this.#inFlight.add(batch);
    const settings = this.#settings;
    settings.onDispatch?.(entries.length);
    const loadBatch = settings.loadBatch;
    // Work that declares no signal gets none: no AbortController per batch.
    const load = (signal: AbortSignal) => loadBatch(values, signal);
    const abandoned = settings.isAbandoned;
    const call = (signal: AbortSignal): ObservableInput<readonly (R | Error)[]> => {
      // Disposed or given up while its task waited, before the batcher knew the task (it
      // was being submitted): nothing is loaded.
      if (batch.settled) return EMPTY;
      return abandoned === undefined ? load(signal) : loadWanted(entries, abandoned, load, signal);
    };
    const work = loadBatch.length < 2 ? () => call(UNUSED_SIGNAL) : call;
    let results: readonly (R | Error)[] | undefined;
    const ref = submitTask<readonly (R | Error)[]>(
      settings.executor,
      work,
      { label: settings.label },
      settings.priority,
      {
        next: (value) => {
          if (results === undefined) results = value;
        },
        error: (error) => {
          if (batch.settled) return;
          this.#settle(batch);
          this.#pump();
          settings.sink.settling?.();
          for (const entry of entries) this.#fail(entry, error);
        },
        complete: () => {
          if (batch.settled) return;
          this.#settle(batch);
          this.#pump();
          settings.sink.settling?.();
          if (!Array.isArray(results) || results.length !== entries.length) {
            const error = new BatchLengthError(entries.length, results);
            for (const entry of entries) this.#fail(entry, error);
            return;
          }
          for (let i = 0; i < entries.length; i++) {
            const result = results[i] as R | Error;
            const entry = entries[i] as BatchItem<T, K>;
            if (result instanceof Error) this.#fail(entry, result);
            else this.#succeed(entry, result);
          }
        },
      },
    );
    if (batch.settled) {
      // Ended already, or disposed while its load was being called: the task must go too.
      ref.cancel();
    } else if (batch.waiting === 0) {
      // Every value was cancelled while its load was being called: nobody waits for it.
      this.#settle(batch);
      ref.cancel();
      this.#pump();
    } else {
      batch.ref = ref;
    }
  }

  /** Sends one key's result to every value of it still waiting, once. */
  #succeed(entry: BatchItem<T, K>, result: R): void {
    const sink = this.#settings.sink;
    if (!entry.done) {
      entry.done = true;
      sink.next(entry.token, result);
    }
    const twins = entry.twins;
    if (twins === undefined) return;
    for (const twin of twins) {
      if (twin.done) continue;
      twin.done = true;
      sink.next(twin.token, result);
    }
  }

  /** Sends one key's failure to every value of it still waiting, once. */
  #fail(entry: BatchItem<T, K>, error: unknown): void {
    const sink = this.#settings.sink;
    if (!entry.done) {
      entry.done = true;
      sink.error(entry.token, error);
    }
    const twins = entry.twins;
    if (twins === undefined) return;
    for (const twin of twins) {
      if (twin.done) continue;
      twin.done = true;
      sink.error(twin.token, error);
    }
  }
}

/** Whether a key still has a value waiting for it (the first one or a twin). */
function isWanted<T, K>(entry: BatchItem<T, K>): boolean {
  return !entry.done || (entry.twins?.some((twin) => !twin.done) ?? false);
}

/** How many values the entries stand for, twins included. */
function countAll<T, K>(entries: readonly BatchItem<T, K>[]): number {
  let count = entries.length;
  for (const entry of entries) if (entry.twins !== undefined) count += entry.twins.length;
  return count;
}

const nothingToBegin = (): void => {};

/**
 * Calls `load` as a batch's task gets its slot, unless every value of the batch is done or
 * abandoned: then the call waits a microtask, for their owners to cancel them (which
 * aborts the batch before its load is called) or to keep them.
 */
function loadWanted<T, K, R>(
  entries: readonly BatchItem<T, K>[],
  abandoned: (token: K) => boolean,
  load: (signal: AbortSignal) => ObservableInput<readonly (R | Error)[]>,
  signal: AbortSignal,
): ObservableInput<readonly (R | Error)[]> {
  const waitedFor = (item: BatchItem<T, K>) => !item.done && !abandoned(item.token);
  for (const entry of entries) {
    if (waitedFor(entry) || entry.twins?.some(waitedFor) === true) return load(signal);
  }
  return callAfterCheck(nothingToBegin, load, signal);
}
