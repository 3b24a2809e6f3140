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
