import {
  asyncScheduler,
  from,
  type ObservableInput,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { BatchLengthError } from '../errors.js';
import type { TaskRef } from '../executor/PriorityExecutor.js';
import { submitTask } from '../executor/submitTask.js';
import type { Executor, Priority } from '../executor/types.js';
import {
  assertCount,
  assertDuration,
  assertFunction,
  assertPriority,
} from '../executor/validate.js';
import { RingBuffer } from '../util/RingBuffer.js';

/** Where one item's result goes: exactly one of `next` or `error` is called. */
export interface ItemSink<R> {
  next(result: R): void;
  error(error: unknown): void;
}

/** Settings of a {@link Batcher}. */
export interface BatcherSettings<T, R> {
  /** Loads a batch; the result array maps back to the values by position. */
  readonly loadBatch: (values: T[], signal: AbortSignal) => ObservableInput<readonly (R | Error)[]>;
  readonly maxBatchSize: number;
  /** The batching window (ms); `undefined`: the current macrotask turn (a 0 ms timer). */
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
  /** Called with each batch's size when it is sent (for batch metrics). */
  readonly onDispatch?: (size: number) => void;
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
  if (options.maxWaitMs !== undefined) assertDuration(`${prefix}maxWaitMs`, options.maxWaitMs);
  const concurrency = options.concurrency ?? Number.POSITIVE_INFINITY;
  assertCount(`${prefix}concurrency`, concurrency, 1);
  const priority = options.priority ?? 'normal';
  assertPriority(`${prefix}priority`, priority);
  return { maxBatchSize, maxWaitMs: options.maxWaitMs, concurrency, priority };
}

interface Item<T, R> {
  readonly value: T;
  readonly sinks: Set<ItemSink<R>>;
}

interface Batch<T, R> {
  readonly items: Item<T, R>[];
  readonly byKey: Map<string, Item<T, R>> | undefined;
  /** Sinks still waiting for this batch; when it drops to 0 in flight, the load is aborted. */
  waiting: number;
  ref: TaskRef | undefined;
  settled: boolean;
}

/**
 * Collects items into batches and loads each batch with one call, DataLoader-style,
 * with a cap on batches in flight. Shared by `batchMap` and `engine.loader`.
 *
 * - A batch closes when it reaches `maxBatchSize` or when its window ends (`maxWaitMs`,
 *   or by default the current macrotask turn, which gathers everything requested in
 *   the same tick, promise callbacks included).
 * - Closed batches wait in FIFO order while `concurrency` batches are in flight.
 * - A result slot holding an `Error` fails only its item; a failed load fails every
 *   item; a result of the wrong length fails every item with a {@link BatchLengthError}.
 * - Cancelling an item removes it from a batch not yet sent; when every item of a batch
 *   in flight is cancelled, the load's signal is aborted.
 *
 * @example
 * ```ts
 * const batcher = new Batcher({ loadBatch, maxBatchSize: 100, maxWaitMs: undefined, concurrency: 4,
 *   keyOf: undefined, executor, priority: 'normal', label: 'users', scheduler: undefined });
 * const cancel = batcher.add(userId, { next: (user) => use(user), error: (e) => report(e) });
 * ```
 */
export class Batcher<T, R> {
  readonly #settings: BatcherSettings<T, R>;
  #open: Batch<T, R> | undefined;
  #timer: Subscription | undefined;
  readonly #closed = new RingBuffer<Batch<T, R>>();
  #inFlight = 0;
  #pumping = false;

  constructor(settings: BatcherSettings<T, R>) {
    this.#settings = settings;
  }

  /** Batches in flight plus closed batches waiting to be sent. */
  get pending(): number {
    return this.#inFlight + this.#closed.size + (this.#open === undefined ? 0 : 1);
  }

  /** Adds `value` to the open batch; returns a function that cancels this item. */
  add(value: T, sink: ItemSink<R>): () => void {
    const batch = this.#open ?? this.#openBatch();
    const key = this.#settings.keyOf?.(value);
    let item = key === undefined ? undefined : batch.byKey?.get(key);
    if (item === undefined) {
      item = { value, sinks: new Set() };
      batch.items.push(item);
      if (key !== undefined) batch.byKey?.set(key, item);
    }
    item.sinks.add(sink);
    batch.waiting++;
    const owner = item;
    if (batch.items.length >= this.#settings.maxBatchSize) this.#close();
    return () => this.#cancel(batch, owner, sink);
  }

  /** Sends the open batch now (when the source ends, nothing is gained by waiting). */
  flush(): void {
    if (this.#open !== undefined) this.#close();
  }

  /**
   * Drops the open batch and the batches waiting to be sent. Batches in flight are
   * aborted when their items are cancelled.
   */
  dispose(): void {
    this.#timer?.unsubscribe();
    this.#timer = undefined;
    this.#open = undefined;
    this.#closed.clear();
  }

  #openBatch(): Batch<T, R> {
    const batch: Batch<T, R> = {
      items: [],
      byKey: this.#settings.keyOf === undefined ? undefined : new Map(),
      waiting: 0,
      ref: undefined,
      settled: false,
    };
    this.#open = batch;
    const scheduler = this.#settings.scheduler ?? asyncScheduler;
    this.#timer = scheduler.schedule(() => {
      this.#timer = undefined;
      if (this.#open === batch) this.#close();
    }, this.#settings.maxWaitMs ?? 0);
    return batch;
  }

  #close(): void {
    const batch = this.#open;
    if (batch === undefined) return;
    this.#open = undefined;
    this.#timer?.unsubscribe();
    this.#timer = undefined;
    this.#closed.push(batch);
    this.#pump();
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#inFlight < this.#settings.concurrency && this.#closed.size > 0) {
        this.#dispatch(this.#closed.shift() as Batch<T, R>);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #dispatch(batch: Batch<T, R>): void {
    const items = batch.items.filter((item) => item.sinks.size > 0);
    if (items.length === 0) return;
    this.#inFlight++;
    this.#settings.onDispatch?.(items.length);
    let results: readonly (R | Error)[] | undefined;
    const done = () => {
      if (batch.settled) return;
      batch.settled = true;
      this.#inFlight--;
      this.#pump();
    };
    const ref = submitTask<readonly (R | Error)[]>(
      this.#settings.executor,
      (signal) =>
        from(
          this.#settings.loadBatch(
            items.map((item) => item.value),
            signal,
          ),
        ),
      { label: this.#settings.label },
      this.#settings.priority,
      {
        next: (value) => {
          if (results === undefined) results = value;
        },
        error: (error) => {
          done();
          for (const item of items) fail(item, error);
        },
        complete: () => {
          done();
          if (!Array.isArray(results) || results.length !== items.length) {
            const error = new BatchLengthError(items.length, results);
            for (const item of items) fail(item, error);
            return;
          }
          items.forEach((item, index) => {
            const result = (results as readonly (R | Error)[])[index] as R | Error;
            if (result instanceof Error) fail(item, result);
            else succeed(item, result);
          });
        },
      },
    );
    if (!batch.settled) batch.ref = ref;
  }

  #cancel(batch: Batch<T, R>, item: Item<T, R>, sink: ItemSink<R>): void {
    if (!item.sinks.delete(sink)) return;
    batch.waiting--;
    if (batch.waiting === 0 && batch.ref !== undefined && !batch.settled) {
      batch.settled = true;
      this.#inFlight--;
      batch.ref.cancel();
      this.#pump();
    }
  }
}

/** Sends one item's result to all its sinks, once. */
function succeed<T, R>(item: Item<T, R>, result: R): void {
  const sinks = [...item.sinks];
  item.sinks.clear();
  for (const sink of sinks) sink.next(result);
}

/** Sends one item's failure to all its sinks, once. */
function fail<T, R>(item: Item<T, R>, error: unknown): void {
  const sinks = [...item.sinks];
  item.sinks.clear();
  for (const sink of sinks) sink.error(error);
}
