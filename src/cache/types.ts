/**
 * One cached result: the complete sequence of values a task emitted, and what it cost.
 *
 * @example
 * ```ts
 * const entry: CacheEntry<number> = {
 *   values: [42], storedAt: Date.now(), expiresAt: Date.now() + 60_000, cost: 120, size: 8,
 * };
 * ```
 */
export interface CacheEntry<T = unknown> {
  /** Every value the work emitted, in order (one for a Promise). */
  readonly values: readonly T[];
  /** Wall-clock ms when the entry was written. */
  readonly storedAt: number;
  /** Wall-clock ms after which the entry is no longer valid (`Infinity`: never expires). */
  readonly expiresAt: number;
  /** What computing it cost, in ms of work time; eviction policies keep costly entries. */
  readonly cost: number;
  /** Approximate size in bytes, as measured by the store's `sizeOf`. */
  readonly size: number;
  /** On reads from a `TieredCache`: the index of the tier that answered. */
  readonly tier?: number;
}

/**
 * What a store reports about its own health (a `TieredCache`, or any store with `events$`).
 *
 * @example
 * ```ts
 * tiered.events$.subscribe((e) => { if (e.type === 'tier-opened') console.warn('tier down', e.tier); });
 * ```
 */
export type CacheStoreEvent =
  | {
      readonly type: 'tier-error';
      readonly tier: number;
      readonly key: string;
      readonly operation: 'get' | 'set' | 'delete' | 'clear' | 'keys';
      readonly error: unknown;
      readonly time: number;
    }
  | {
      readonly type: 'tier-opened';
      readonly tier: number;
      readonly key: string;
      readonly time: number;
    }
  | {
      readonly type: 'tier-skipped';
      readonly tier: number;
      readonly key: string;
      readonly time: number;
    };

/**
 * Where cached results live. Every method is async so the same interface covers memory,
 * IndexedDB, the filesystem or a remote store; a store that can answer synchronously
 * also implements {@link SyncCacheStore.getSync}, and the engine then delivers a hit
 * synchronously (the seed's fast path).
 *
 * Stores return only valid entries: `get` treats an expired entry as absent.
 *
 * @example
 * ```ts
 * const store: CacheStore = new MemoryStore({ maxEntries: 1000 });
 * await store.set('user:1', { values: [user], storedAt: now, expiresAt: now + 60_000, cost: 30, size: 0 });
 * const entry = await store.get('user:1');
 * ```
 */
export interface CacheStore {
  /** The valid entry for `key`, or `undefined`. */
  get(key: string): Promise<CacheEntry | undefined>;
  /** Stores `entry` under `key`, replacing any previous one. */
  set(key: string, entry: CacheEntry): Promise<void>;
  /** Removes `key`; resolves `true` if an entry was there. */
  delete(key: string): Promise<boolean>;
  /** Removes every entry of this store. */
  clear(): Promise<void>;
  /** The keys of the entries currently stored (expired ones may be left out). */
  keys(): Promise<string[]>;
  /**
   * Optional: a hit answered without waiting, where a miss says nothing (ask `get`).
   * A `TieredCache` over a `MemoryStore` offers it; the engine then serves L1 hits
   * synchronously.
   */
  peekSync?(key: string): CacheEntry | undefined;
  /**
   * Optional, for stores whose `set` resolves before every level was written (a
   * `TieredCache` writes its lower tiers behind): stores `entry` and resolves once every
   * level's write settled, with whether all of them took it. An engine with a
   * cross-process coordinator uses it to know other processes can read the result.
   */
  setThrough?(key: string, entry: CacheEntry): Promise<boolean>;
  /** Optional: the store's own failures and skips, which the engine reports as `cache-error` events. */
  readonly events$?: import('rxjs').Observable<CacheStoreEvent>;
}

/**
 * A {@link CacheStore} that can also answer from memory without waiting.
 *
 * @example
 * ```ts
 * if (isSyncCacheStore(store)) store.getSync('k');
 * ```
 */
export interface SyncCacheStore extends CacheStore {
  /** The valid entry for `key`, or `undefined`, synchronously. */
  getSync(key: string): CacheEntry | undefined;
}

/**
 * What the engine and operators accept as a cache: any {@link CacheStore}, including a
 * `TieredCache`.
 *
 * @example
 * ```ts
 * const cache: Cache = new MemoryStore();
 * ```
 */
export type Cache = CacheStore;

/**
 * Whether `store` can answer synchronously.
 *
 * @example
 * ```ts
 * const entry = isSyncCacheStore(store) ? store.getSync(key) : await store.get(key);
 * ```
 */
export function isSyncCacheStore(store: CacheStore): store is SyncCacheStore {
  return typeof (store as Partial<SyncCacheStore>).getSync === 'function';
}
