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

/**
 * The `error` of an `unavailable` claim (and of the engine's `coordination` event) from a
 * `redisCoordinator` that was closed: the run executes locally.
 *
 * @example
 * ```ts
 * await coordinator.close();
 * const claim = await coordinator.acquire('k', new AbortController().signal);
 * claim.kind === 'unavailable' && claim.error instanceof RedisCoordinatorClosedError; // true
 * ```
 */
export class RedisCoordinatorClosedError extends Error {
  override readonly name: string = 'RedisCoordinatorClosedError';
  constructor(
    /** What was under way: `'acquire'`, `'subscribe'`, or a Redis command given up. */
    readonly operation: string,
  ) {
    super(`redisCoordinator was closed during ${operation}`);
  }
}

/**
 * The `error` of an `unavailable` claim when a `redisCoordinator` cannot use Redis for a
 * reason of its own: it skips Redis for `coolDownMs` after a failure (`reason:
 * 'cool-down'`), or the connection it waited on ended (`'connection-closed'`). The run
 * executes locally. Failures of Redis itself arrive as they are (a `RedisTimeoutError`,
 * a connection error).
 *
 * @example
 * ```ts
 * coordinator.events$.subscribe((e) => {
 *   if (e.error instanceof RedisUnavailableError) console.warn(e.error.reason);
 * });
 * ```
 */
export class RedisUnavailableError extends Error {
  override readonly name: string = 'RedisUnavailableError';
  constructor(
    /** Why Redis was not used. */
    readonly reason: 'cool-down' | 'connection-closed',
  ) {
    super(
      reason === 'cool-down'
        ? 'redisCoordinator skips Redis for coolDownMs after a failure'
        : 'the Redis connection was closed',
    );
  }
}
