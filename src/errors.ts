/**
 * Named error classes thrown or delivered by eed. Every class sets `name`, so errors
 * survive `structuredClone`, logging and cross-realm checks by name.
 *
 * @example
 * ```ts
 * import { PreemptedError } from 'eed';
 * executor.schedule(work, { priority: 'background', preemptible: true }).subscribe({
 *   error: (e) => { if (e instanceof PreemptedError) retryLater(); },
 * });
 * ```
 * @module
 */

/**
 * The reason an eed `AbortSignal` carries when the result of a task is no longer
 * wanted (its subscriber left, or a short-circuit made it useless).
 *
 * @example
 * ```ts
 * const work = (signal: AbortSignal) => fetch(url, { signal });
 * // after unsubscribing: signal.reason instanceof AbortError === true
 * ```
 */
export class AbortError extends Error {
  override readonly name: string = 'AbortError';
  constructor(message = 'The task was aborted because its result is no longer wanted') {
    super(message);
  }
}

/**
 * Delivered to the subscriber of a preemptible task whose slot was taken by a waiting
 * task of higher priority. The task's signal is aborted with the same error.
 *
 * @example
 * ```ts
 * executor.schedule(work, { priority: 'background', preemptible: true })
 *   .pipe(retry({ delay: (e) => (e instanceof PreemptedError ? timer(100) : throwError(() => e)) }));
 * ```
 */
export class PreemptedError extends AbortError {
  override readonly name: string = 'PreemptedError';
  constructor(message = 'The task was preempted by a task of higher priority') {
    super(message);
  }
}

/**
 * Every item of a batch fails with this when `loadBatch` returned an array whose length
 * differs from the number of values it was given (or no array at all).
 *
 * @example
 * ```ts
 * // loadBatch(['a', 'b']) resolved to [1]:
 * // BatchLengthError: loadBatch returned 1 result for 2 values (expected 2)
 * ```
 */
export class BatchLengthError extends Error {
  override readonly name: string = 'BatchLengthError';
  constructor(
    readonly expected: number,
    received: unknown,
  ) {
    const got = Array.isArray(received)
      ? `${received.length} result${received.length === 1 ? '' : 's'}`
      : received === undefined
        ? 'nothing'
        : `a ${typeof received}, not an array`;
    super(`loadBatch returned ${got} for ${expected} values (expected ${expected})`);
  }
}

/**
 * An item of `batchMap` whose load failed (its result slot held an Error, or its whole
 * batch failed). Emitted in place of the item's result unless `onItemError` handles it.
 *
 * @example
 * ```ts
 * ids$.pipe(batchMap(loadUsers)).subscribe((user) => {
 *   if (user instanceof BatchItemError) console.warn('no user', user.value, user.cause);
 * });
 * ```
 */
export class BatchItemError<T = unknown> extends Error {
  override readonly name: string = 'BatchItemError';
  constructor(
    /** The input value whose load failed. */
    readonly value: T,
    cause: unknown,
  ) {
    super(
      `loading ${String(value)} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
      },
    );
  }
}
