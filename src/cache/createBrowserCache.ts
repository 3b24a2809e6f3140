import { map, merge, type Observable } from 'rxjs';
import type { Clock } from '../executor/types.js';
import { assertDuration, assertObject, describe } from '../executor/validate.js';
import { IndexedDbStore, type IndexedDbStoreOptions } from './IndexedDbStore.js';
import { MemoryStore, type MemoryStoreOptions } from './MemoryStore.js';
import { TieredCache, type TieredCacheOptions } from './TieredCache.js';
import type { CacheStoreEvent } from './types.js';

/** The index of the IndexedDB tier in a {@link BrowserCache}. */
const PERSISTENT_TIER = 1;

/**
 * Options of {@link createBrowserCache}. Every option is optional; with none, the cache is
 * the seed's L1 (memory, for the session) over L2 (IndexedDB, 1 hour).
 *
 * @example
 * ```ts
 * const options: BrowserCacheOptions = {
 *   memory: { maxEntries: 500 },
 *   indexedDb: { dbName: 'my-app', maxEntries: 5_000 },
 *   ttl: { memory: 10 * 60_000, indexedDb: 24 * 60 * 60_000 },
 *   timeoutMs: 500,
 * };
 * const cache = createBrowserCache(options);
 * ```
 */
export interface BrowserCacheOptions {
  /**
   * Options of the memory tier (L1), a {@link MemoryStore}. Its `clock` defaults to this
   * cache's `clock`.
   *
   * @default {} — MemoryStore's defaults: 10,000 entries, `'lru'`
   */
  memory?: MemoryStoreOptions;
  /**
   * Options of the IndexedDB tier (L2), an {@link IndexedDbStore}. Its `clock` defaults to
   * this cache's `clock`.
   *
   * @default {} — IndexedDbStore's defaults: database `'eed'`, object store `'cache'`,
   *   10,000 entries, compression from 16 KiB
   */
  indexedDb?: IndexedDbStoreOptions;
  /**
   * The longest an entry lives in each tier (ms, a number >= 0 or `Infinity`); an entry is
   * written to a tier with the shorter of its own lifetime and the tier's.
   *
   * @default { memory: Infinity, indexedDb: 3_600_000 } — the seed's L1 session, L2 1 hour
   */
  ttl?: { memory?: number; indexedDb?: number };
  /**
   * A read of the IndexedDB tier slower than this (ms) is abandoned and counts as a miss
   * (the memory tier is never timed out). The first read of a session also opens the
   * database and loads the store's access index.
   *
   * @default 250 (TieredCache's default)
   */
  timeoutMs?: number;
  /**
   * Consecutive failures of the IndexedDB tier after which it is skipped for `coolDownMs`.
   *
   * @default 3
   */
  failureThreshold?: number;
  /**
   * How long (ms) a failing IndexedDB tier is skipped before it is tried again.
   *
   * @default 30_000
   */
  coolDownMs?: number;
  /**
   * Wall-clock source for expiry, shared by both tiers (unless their own options set one)
   * and the cache's cool-downs.
   *
   * @default { now: Date.now }
   */
  clock?: Clock;
}

/**
 * The default browser cache: a {@link TieredCache} over a {@link MemoryStore} (tier 0) and
 * an {@link IndexedDbStore} (tier 1), made by {@link createBrowserCache}. Besides the
 * TieredCache behaviour, its {@link events$} also carries the IndexedDB store's own
 * failures (`get` failures, which the store turns into misses, and background failures),
 * re-labelled `tier: 1`, so an engine over it reports them as `cache-error` events.
 *
 * @example
 * ```ts
 * const cache = createBrowserCache();
 * cache.memory.size;           // entries in the memory tier
 * await cache.indexedDb.prune(); // drop expired entries from IndexedDB
 * ```
 */
export class BrowserCache extends TieredCache {
  /** The memory tier (tier 0). */
  readonly memory: MemoryStore;
  /** The IndexedDB tier (tier 1). */
  readonly indexedDb: IndexedDbStore;
  /**
   * Tier failures, timeouts and skips (see {@link TieredCache.events$}), plus the IndexedDB
   * store's own failures as `tier-error` events of tier 1.
   */
  declare readonly events$: Observable<CacheStoreEvent>;

  /**
   * @param memory - the memory tier.
   * @param indexedDb - the IndexedDB tier.
   * @param options - the tiered cache's options; `tiers` is ignored (the two stores are the tiers).
   * @throws TypeError or RangeError for an invalid option, named as written (`ttl.memory`,
   *   `timeoutMs`, ...) with the value received.
   */
  constructor(
    memory: MemoryStore,
    indexedDb: IndexedDbStore,
    options: Omit<TieredCacheOptions, 'tiers'> & { ttl?: BrowserCacheOptions['ttl'] } = {},
  ) {
    assertObject('options', options);
    const { ttl = {}, ...rest } = options;
    assertObject('ttl', ttl);
    if (ttl.memory !== undefined) assertDuration('ttl.memory', ttl.memory);
    if (ttl.indexedDb !== undefined) assertDuration('ttl.indexedDb', ttl.indexedDb);
    super({
      ...rest,
      tiers: [
        { store: memory, ttl: ttl.memory ?? Number.POSITIVE_INFINITY },
        { store: indexedDb, ttl: ttl.indexedDb ?? 60 * 60_000 },
      ],
    });
    this.memory = memory;
    this.indexedDb = indexedDb;
    const tiered = this.events$;
    const own = indexedDb.events$.pipe(
      map((event): CacheStoreEvent => ({ ...event, tier: PERSISTENT_TIER })),
    );
    Object.defineProperty(this, 'events$', {
      value: merge(tiered, own),
      enumerable: true,
      configurable: false,
      writable: false,
    });
  }
}

/**
 * The default cache for a browser app: memory (L1, for the session) over IndexedDB
 * (L2, 1 hour), so a reloaded page is served from IndexedDB instead of doing the work
 * again. Nothing is opened until the first read or write, so calling it in Node or during
 * server-side rendering is safe: there the IndexedDB tier fails (a miss and an event) and
 * the memory tier works alone.
 *
 * Reads go memory first, then IndexedDB (a hit there is copied into memory); writes go to
 * memory at once and to IndexedDB in the background. A failing IndexedDB (quota, blocked,
 * missing) never fails or delays a run by more than `timeoutMs`: it is a miss and an event.
 *
 * @param options - per-tier options and lifetimes; see {@link BrowserCacheOptions}.
 * @returns a {@link BrowserCache} (a `TieredCache`) to pass to `createEngine`.
 * @throws TypeError or RangeError for invalid options (named in the message).
 *
 * @example
 * ```ts
 * import { createBrowserCache, createEngine } from 'eed';
 *
 * const engine = createEngine({ cache: createBrowserCache(), ttl: 30 * 60_000 });
 * engine.run('weather:paris', (signal) => fetch('/api/weather/paris', { signal }).then((r) => r.json()))
 *   .subscribe(render);
 * // After a reload, the same run is answered from IndexedDB: no request is made.
 * ```
 */
export function createBrowserCache(options: BrowserCacheOptions = {}): BrowserCache {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(
      `createBrowserCache options must be an object; received ${describe(options)}`,
    );
  }
  const { memory = {}, indexedDb = {}, ttl, timeoutMs, failureThreshold, coolDownMs } = options;
  assertObject('memory', memory);
  assertObject('indexedDb', indexedDb);
  const clock = options.clock ?? { now: Date.now };
  const tieredOptions: Omit<TieredCacheOptions, 'tiers'> & { ttl?: BrowserCacheOptions['ttl'] } = {
    clock,
  };
  if (ttl !== undefined) tieredOptions.ttl = ttl;
  if (timeoutMs !== undefined) tieredOptions.timeoutMs = timeoutMs;
  if (failureThreshold !== undefined) tieredOptions.failureThreshold = failureThreshold;
  if (coolDownMs !== undefined) tieredOptions.coolDownMs = coolDownMs;
  return new BrowserCache(
    new MemoryStore({ clock, ...memory }),
    new IndexedDbStore({ clock, ...indexedDb }),
    tieredOptions,
  );
}
