/**
 * Whether work's result is a thenable to settle with `.then` (one value, then done)
 * rather than something for `from()`. Observables of other libraries may carry a `then`
 * too; a value with `subscribe` goes through `from`.
 *
 * @example
 * ```ts
 * isPromiseLike(Promise.resolve(1)); // true
 * isPromiseLike(of(1)); // false
 * ```
 */
export const isPromiseLike = (value: unknown): value is PromiseLike<unknown> =>
  value !== null &&
  (typeof value === 'object' || typeof value === 'function') &&
  typeof (value as PromiseLike<unknown>).then === 'function' &&
  typeof (value as { subscribe?: unknown }).subscribe !== 'function';
