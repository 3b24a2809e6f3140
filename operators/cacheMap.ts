import type { ObservableInput, OperatorFunction } from 'rxjs';
import type { Cache } from '../src/cache/types.js';
import { createEngine } from '../src/engine/createEngine.js';
import { type KeyedMapOptions, keyedMap } from '../src/engine/keyedInternals.js';
import type { Executor } from '../src/executor/types.js';
import { assertExecutor, assertMethods } from '../src/executor/validate.js';

/**
 * Options of {@link cacheMap}.
 *
 * @example
 * ```ts
 * const options: CacheMapOptions = { cache: new MemoryStore({ maxEntries: 500 }), ttl: 60_000 };
 * ```
 */
export interface CacheMapOptions extends KeyedMapOptions {
  /** Where results are read from and written to: any `CacheStore` or `TieredCache`. Required. */
  cache: Cache;
  /** How long (ms) a result stays valid. Default `Infinity`. */
  ttl?: number;
  /** Run executions on this executor (shared cap and lanes). Default: a private one of `concurrency` slots. */
  executor?: Executor;
}

/**
 * A read-through cache in a pipeline: each value is served from `cache` under
 * `keyOf(value)` when a valid entry is there; otherwise `project` runs (once per key in
 * flight, shared by equal keys) and its result is written with `ttl`. Failures are never
 * cached; a failing cache store degrades to a miss.
 *
 * @example
 * ```ts
 * import { MemoryStore } from 'eed';
 * import { cacheMap } from 'eed/operators';
 *
 * const cache = new MemoryStore({ maxEntries: 1_000 });
 * query$.pipe(cacheMap((q) => `search:${q}`, (q, signal) => search(q, signal), { cache, ttl: 30_000 }));
 * ```
 * @param keyOf Names what a value computes.
 * @param project The work for a value on a miss; receives an AbortSignal.
 * @param options The cache (required), TTL, cap, executor; see {@link CacheMapOptions}.
 * @returns An operator emitting one result per input value.
 */
export function cacheMap<T, R>(
  keyOf: (value: T) => string,
  project: (value: T, signal: AbortSignal) => ObservableInput<R>,
  options: CacheMapOptions,
): OperatorFunction<T, R> {
  if (options === null || typeof options !== 'object' || options.cache === undefined) {
    throw new TypeError('cacheMap: options.cache is required (a CacheStore)');
  }
  // What the engine calls on it: `null` or a non-store must not become a private cache.
  assertMethods('cacheMap: cache', options.cache, ['get', 'set'], 'a CacheStore (get() and set())');
  if (options.executor !== undefined) assertExecutor('cacheMap: executor', options.executor);
  const engine = createEngine({
    cache: options.cache,
    ttl: options.ttl,
    executor: options.executor ?? { concurrency: options.concurrency ?? 10 },
    metrics: false,
  });
  return keyedMap('cacheMap', keyOf, project, options, () => engine);
}
