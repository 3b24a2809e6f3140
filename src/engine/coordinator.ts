import type { RemoteExecutionError } from '../errors.js';

/**
 * Decides which of several processes executes a key, so the same work is not done twice
 * across processes that share a cache tier. The engine asks {@link Coordinator.acquire}
 * after its own cache missed and before it executes; `redisCoordinator` (from
 * `"eed/node"`) implements it with Redis leases.
 *
 * A coordinator must never make a run fail or hang because coordination itself failed:
 * it answers `{ kind: 'unavailable' }` and the engine executes locally.
 *
 * @example
 * ```ts
 * import { redisCoordinator, RedisStore } from 'eed/node';
 * const engine = createEngine({
 *   cache: new TieredCache({ tiers: [{ store: new MemoryStore() }, { store: new RedisStore({ client }) }] }),
 *   coordinator: redisCoordinator({ client }),
 * });
 * ```
 */
export interface Coordinator {
  /**
   * Asks to execute `key`. Resolves when this process holds the lease (execute, then end
   * the lease), or another process's execution ended (read its result from the shared
   * cache, or fail with its error), or coordination is unavailable (execute locally).
   * Rejects only when `signal` is aborted (nobody wants `key` any more); a lease taken
   * meanwhile is released.
   */
  acquire(key: string, signal: AbortSignal, options?: AcquireOptions): Promise<CoordinatorClaim>;
}

/**
 * Options of {@link Coordinator.acquire}.
 *
 * @example
 * ```ts
 * await coordinator.acquire('report:7', signal, { afterMiss: true });
 * ```
 */
export interface AcquireOptions {
  /**
   * The engine was told `done` but found no result in the shared cache (evicted,
   * invalidated, or the tier is down): do not answer `done` again from a record of that
   * success; grant the lease (or wait for a current holder) instead.
   */
  readonly afterMiss?: boolean;
}

/**
 * The answer of {@link Coordinator.acquire}:
 * - `'lease'`: this process executes `key`. `waited` is true when another process held
 *   the lease first (it was released, expired, or ended while this one waited), so the
 *   shared cache may hold the result already and is read again before executing.
 * - `'done'`: another process executed `key` successfully and stored its result in the
 *   shared cache.
 * - `'failed'`: another process's execution of `key` failed; its error, which is not
 *   cached, is delivered to this process's subscribers too.
 * - `'unavailable'`: the coordinator could not be reached; the engine executes locally
 *   and reports a `coordination` event.
 *
 * @example
 * ```ts
 * const claim = await coordinator.acquire('report:7', signal);
 * if (claim.kind === 'lease') { await compute(); await claim.lease.complete(); }
 * ```
 */
export type CoordinatorClaim =
  | { readonly kind: 'lease'; readonly lease: CoordinatorLease; readonly waited: boolean }
  | { readonly kind: 'done' }
  | { readonly kind: 'failed'; readonly error: RemoteExecutionError }
  | { readonly kind: 'unavailable'; readonly error: unknown };

/**
 * The right to execute one key, held while the work runs (the coordinator renews it).
 * Exactly one of its methods is called, once; none of them rejects.
 *
 * @example
 * ```ts
 * try { await store.set(key, await compute()); await lease.complete(); }
 * catch (error) { await lease.fail(error); }
 * ```
 */
export interface CoordinatorLease {
  /** The work succeeded and its result is in the shared cache: wake the waiters, release. */
  complete(): Promise<void>;
  /** The work failed: hand `error` to the waiters (it is not cached), release. */
  fail(error: unknown): Promise<void>;
  /** The work was abandoned (cancelled, or its result could not be shared): release, so a waiter takes over. */
  release(): Promise<void>;
}
