/**
 * Raised (as a rejection) when Redis did not answer a round trip within the store's (or
 * the coordinator's) `timeoutMs`: a hung, paused or unreachable server. A coordinator
 * answers `unavailable` with it, and the engine executes locally. A `TieredCache` in front of the
 * store reports it as a failure of that tier (a `tier-error` event, a miss) and counts it
 * towards skipping the tier for a while.
 *
 * @example
 * ```ts
 * cache.events$.subscribe((event) => {
 *   if (event.type === 'tier-error' && event.error instanceof RedisTimeoutError) {
 *     console.warn(`Redis too slow for ${event.error.operation}`);
 *   }
 * });
 * ```
 */
export class RedisTimeoutError extends Error {
  override readonly name: string = 'RedisTimeoutError';
  constructor(
    /**
     * What was being done: a store's `'get'`, `'set'`, `'delete'`, `'keys'`, `'clear'` or
     * `'close'`; a coordinator's `'acquire'`, `'subscribe'`, `'renew'`, `'release'` or
     * `'unsubscribe'`.
     */
    readonly operation: string,
    /** The bound that was exceeded (ms). */
    readonly timeoutMs: number,
  ) {
    super(`Redis did not answer ${operation} within ${timeoutMs} ms`);
  }
}

/**
 * Raised (as a rejection) by an operation called on a `RedisStore` after its `close()`.
 *
 * @example
 * ```ts
 * await store.close();
 * await store.get('k').catch((error) => error instanceof RedisStoreClosedError); // true
 * ```
 */
export class RedisStoreClosedError extends Error {
  override readonly name: string = 'RedisStoreClosedError';
  constructor(
    /** The operation that was called too late. */
    readonly operation: string,
  ) {
    super(`RedisStore.${operation}() called after close()`);
  }
}
