import {
  Observable,
  type ObservableInput,
  type OperatorFunction,
  type SchedulerLike,
  Subscriber,
} from 'rxjs';
import { Batcher, resolveBatchOptions } from '../src/batching/Batcher.js';
import { BatchItemError } from '../src/errors.js';
import { createExecutor } from '../src/executor/createExecutor.js';
import type { Executor, Priority } from '../src/executor/types.js';
import {
  assertExecutor,
  assertFunction,
  assertScheduler,
  assertString,
} from '../src/executor/validate.js';

/**
 * Options of {@link batchMap}.
 *
 * @example
 * ```ts
 * const options: BatchMapOptions<string> = { maxBatchSize: 100, maxWaitMs: 10, keyOf: (id) => id, concurrency: 4 };
 * ```
 */
export interface BatchMapOptions<T> {
  /** A batch is sent as soon as it holds this many values. Default `Infinity`. */
  maxBatchSize?: number;
  /**
   * How long (ms) a batch collects values after its first one: at most 2^31 - 1 (the
   * longest timer delay), or `Infinity` for no window (a batch is sent when full, and the
   * last one when the source completes). Default: the current macrotask turn (a 0 ms
   * timer), which gathers every value that arrives in the same tick, as DataLoader does.
   */
  maxWaitMs?: number;
  /** Values with equal keys in one batch are loaded once and the result fanned out. Default: none. */
  keyOf?: (value: T) => string;
  /** The most batches in flight at once; further batches wait in order. Default `Infinity` (like DataLoader). */
  concurrency?: number;
  /** Run each batch as a task of this executor (shared cap and priority lanes). Default: a private, uncapped one. */
  executor?: Executor;
  /** The lane batches wait in on `executor`. Default `'normal'`. */
  priority?: Priority;
  /** A name for batch tasks in events and traces. */
  label?: string;
  /** Scheduler of the batching window; inject a TestScheduler in tests. Default: `asyncScheduler`. */
  scheduler?: SchedulerLike;
  /**
   * Receives the failure of one item (its slot held an Error, or its batch failed). When
   * given, failed items are left out of the output; otherwise each is emitted in its
   * place as a {@link BatchItemError}. Either way, only that item fails: the stream goes on.
   */
  onItemError?: (error: BatchItemError<T>) => void;
}

/**
 * Groups values into batches and loads each batch with one call, DataLoader-style:
 * `loadBatch(values, signal)` returns one result per value, by position. Each value gets
 * its own output.
 *
 * A result slot holding an `Error` fails only that value; a failed `loadBatch` fails every
 * value of its batch; a result of the wrong length fails them with a `BatchLengthError`
 * naming both lengths. Failed values are emitted as {@link BatchItemError}s, or handed to
 * `onItemError` and left out. Unsubscribing aborts the batches in flight.
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { batchMap } from 'eed/operators';
 *
 * from(userIds)
 *   .pipe(batchMap((ids, signal) => fetchUsers(ids, signal), { maxBatchSize: 100, onItemError: console.warn }))
 *   .subscribe((user) => render(user)); // one request per 100 ids
 * ```
 * @param loadBatch Loads many values at once; the result array maps back by position.
 * @param options Batch size, window, dedupe key, cap, executor; see {@link BatchMapOptions}.
 * @returns An operator emitting one result (or `BatchItemError`) per value.
 */
export function batchMap<T, R>(
  loadBatch: (values: T[], signal: AbortSignal) => ObservableInput<readonly (R | Error)[]>,
  options: BatchMapOptions<T> & { onItemError: (error: BatchItemError<T>) => void },
): OperatorFunction<T, R>;
export function batchMap<T, R>(
  loadBatch: (values: T[], signal: AbortSignal) => ObservableInput<readonly (R | Error)[]>,
  options?: BatchMapOptions<T>,
): OperatorFunction<T, R | BatchItemError<T>>;
export function batchMap<T, R>(
  loadBatch: (values: T[], signal: AbortSignal) => ObservableInput<readonly (R | Error)[]>,
  options: BatchMapOptions<T> = {},
): OperatorFunction<T, R | BatchItemError<T>> {
  const { maxBatchSize, maxWaitMs, concurrency, priority } = resolveBatchOptions(
    'batchMap: ',
    loadBatch,
    options,
  );
  if (options.keyOf !== undefined) assertFunction('batchMap: keyOf', options.keyOf);
  if (options.onItemError !== undefined)
    assertFunction('batchMap: onItemError', options.onItemError);
  if (options.executor !== undefined) assertExecutor('batchMap: executor', options.executor);
  if (options.label !== undefined) assertString('batchMap: label', options.label);
  if (options.scheduler !== undefined) assertScheduler('batchMap: scheduler', options.scheduler);
  const { onItemError } = options;

  return (source) =>
    new Observable<R | BatchItemError<T>>((subscriber) => {
      let outstanding = 0;
      let sourceDone = false;
      const completeIfIdle = () => {
        if (sourceDone && outstanding === 0) subscriber.complete();
      };
      // One sink for every value: a value costs the batcher one record, no closure.
      const batcher = new Batcher<T, R, T>({
        loadBatch,
        maxBatchSize,
        maxWaitMs,
        concurrency,
        keyOf: options.keyOf,
        executor: options.executor ?? createExecutor({ concurrency: Number.POSITIVE_INFINITY }),
        priority,
        label: options.label,
        scheduler: options.scheduler,
        sink: {
          next: (_value, result) => {
            outstanding--;
            subscriber.next(result);
            completeIfIdle();
          },
          error: (value, cause) => {
            outstanding--;
            // Left on an earlier result of this batch: nothing more is reported.
            if (subscriber.closed) return;
            const error = new BatchItemError(value, cause);
            if (onItemError === undefined) subscriber.next(error);
            else {
              try {
                onItemError(error);
              } catch (thrown) {
                subscriber.error(thrown);
                return;
              }
            }
            completeIfIdle();
          },
        },
      });

      // The teardown goes on first, and the source gets a Subscriber of its own, so a
      // synchronous source (`range(0, 1e6)` into `take(1)`) stops as soon as the output is
      // unsubscribed: no value is batched, and no batch loaded, after that.
      const sourceSubscriber = new Subscriber<T>({
        next: (value) => {
          if (subscriber.closed) return;
          outstanding++;
          batcher.add(value, value);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          batcher.flush();
          completeIfIdle();
        },
      });
      subscriber.add(() => {
        sourceSubscriber.unsubscribe();
        batcher.dispose();
      });
      source.subscribe(sourceSubscriber);
    });
}
