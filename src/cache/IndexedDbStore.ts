import {
  clear as idbClear,
  getMany as idbGetMany,
  set as idbSet,
  promisifyRequest,
  type UseStore,
} from 'idb-keyval';
import { type Observable, Subject } from 'rxjs';
import { CorruptEntryError } from '../errors.js';
import type { Clock } from '../executor/types.js';
import { assertCount, assertFunction, describe } from '../executor/validate.js';
import { compressBytes, decompressBytes } from './codec.js';
import { sizeOf } from './sizeOf.js';
import type { CacheEntry, CacheStore, CacheStoreEvent } from './types.js';

const INFINITY = Number.POSITIVE_INFINITY;

/**
 * The IndexedDB key of the store's access index. It is a number, and every cache key is a
 * string, so no cache key can collide with it (IndexedDB keeps the two types apart).
 */
const INDEX_KEY = 0;

/** How long after a change the access index is written back (ms); changes in between are batched. */
const INDEX_FLUSH_MS = 1_000;

/** A compressed payload is kept only when it is at most this fraction of the JSON it encodes. */
const MIN_COMPRESSION_GAIN = 0.9;

/**
 * Why IndexedDB could not be used:
 * - `'missing'`: there is no `indexedDB` global (Node, server-side rendering, a worker
 *   without it) — detected at each operation, never at import or construction;
 * - `'blocked'`: the store needed to add its object store to an existing database (a
 *   version upgrade) and another connection that does not close on `versionchange`
 *   (an old tab) holds the database open. The upgrade completes once that connection
 *   closes; until then operations fail with this error instead of waiting.
 *
 * @example
 * ```ts
 * store.events$.subscribe((event) => {
 *   if (event.type === 'tier-error' && event.error instanceof IndexedDbUnavailableError) {
 *     console.info('persistent cache off:', event.error.reason);
 *   }
 * });
 * ```
 */
export class IndexedDbUnavailableError extends Error {
  override readonly name: string = 'IndexedDbUnavailableError';

  /**
   * @param reason - `'missing'` or `'blocked'` (see the class description).
   * @param dbName - the database the store tried to use.
   */
  constructor(
    readonly reason: 'missing' | 'blocked',
    readonly dbName: string,
  ) {
    super(
      reason === 'missing'
        ? `IndexedDB is not available in this environment (database ${JSON.stringify(dbName)})`
        : `IndexedDB database ${JSON.stringify(dbName)} is blocked: another connection did not close for an upgrade`,
    );
  }
}

/**
 * Options of {@link IndexedDbStore}. Every option is optional.
 *
 * @example
 * ```ts
 * const options: IndexedDbStoreOptions = {
 *   dbName: 'my-app',
 *   storeName: 'results',
 *   maxEntries: 2_000,
 *   compressThreshold: 64 * 1024,
 * };
 * const store = new IndexedDbStore(options);
 * ```
 */
export interface IndexedDbStoreOptions {
  /**
   * The IndexedDB database to use; created on first use if absent.
   *
   * @default 'eed'
   */
  dbName?: string;
  /**
   * The object store inside `dbName` that holds this store's entries. Several stores may
   * share one database under different `storeName`s: a store whose object store is missing
   * adds it with a version upgrade (other `IndexedDbStore`s on the database close and
   * reopen on their own). The object store must be this store's alone: a record in it
   * that is not an eed cache entry is deleted when read.
   *
   * @default 'cache'
   */
  storeName?: string;
  /**
   * The most entries the store keeps; storing a new key when full first deletes the least
   * recently used entries (in the same transaction as the write). An integer >= 1, or
   * `Infinity` for no bound. Enforced per page: several tabs writing one database may
   * exceed it until their access indexes meet again (see {@link IndexedDbStore}).
   *
   * @default 10_000
   */
  maxEntries?: number;
  /**
   * Wall-clock source compared with entries' `expiresAt` (wall-clock ms, so they keep their
   * meaning across reloads). Inject one in tests.
   *
   * @default { now: Date.now }
   */
  clock?: Clock;
  /**
   * Entries whose size (`entry.size`, or {@link sizeOf} of the values when `size` is 0) is
   * at least this many bytes are stored gzip-compressed when their values are JSON-lossless
   * and compressing saves at least 10% (see {@link IndexedDbStore}). `Infinity` turns
   * compression off. A number >= 0.
   *
   * @default 16_384 (16 KiB)
   */
  compressThreshold?: number;
  /**
   * Advanced: an `idb-keyval` store function (`UseStore`, e.g. the result of idb-keyval's
   * `createStore(dbName, storeName)`) to run every transaction through, instead of the
   * store's own connection to `dbName`/`storeName`. The connection handling described for
   * {@link IndexedDbStore} (closing on `versionchange`, reopening, adding a missing object
   * store) is then the caller's. Used to share a connection, or to inject faults in tests.
   * As with `storeName`, the object store it opens must hold nothing but this store's
   * records.
   *
   * @default undefined — the store opens `dbName`/`storeName` itself, on first use
   */
  useStore?: UseStore;
}

/**
 * How an entry is kept in IndexedDB, version 1. `payload` holds the entry's `values`:
 * - `encoding: 'clone'`: the `values` array itself, stored by structured clone;
 * - `encoding: 'gzip-json'`: a `Uint8Array`, gzip of the UTF-8 of `JSON.stringify(values)`,
 *   which is `rawLength` bytes long (the bound decompression is held to).
 */
interface StoredRecord {
  readonly format: 1;
  readonly encoding: 'clone' | 'gzip-json';
  readonly payload: readonly unknown[] | Uint8Array;
  /** `'gzip-json'` only: bytes of the JSON before compression. */
  readonly rawLength?: number;
  readonly storedAt: number;
  readonly expiresAt: number;
  readonly cost: number;
  readonly size: number;
}

/** The access index as stored under {@link INDEX_KEY}, version 1: keys least recently used first. */
interface StoredIndex {
  readonly format: 1;
  readonly keys: readonly string[];
  /** By position: each key's `expiresAt`; `NaN` where the index does not know it. */
  readonly expires: readonly number[];
}

function isStoredRecord(value: unknown): value is StoredRecord {
  if (value === null || typeof value !== 'object') return false;
  const record = value as Partial<StoredRecord>;
  return (
    record.format === 1 &&
    typeof record.storedAt === 'number' &&
    typeof record.expiresAt === 'number' &&
    typeof record.cost === 'number' &&
    typeof record.size === 'number' &&
    ((record.encoding === 'clone' && Array.isArray(record.payload)) ||
      (record.encoding === 'gzip-json' &&
        record.payload instanceof Uint8Array &&
        typeof record.rawLength === 'number'))
  );
}

function isStoredIndex(value: unknown): value is StoredIndex {
  if (value === null || typeof value !== 'object') return false;
  const index = value as Partial<StoredIndex>;
  return (
    index.format === 1 &&
    Array.isArray(index.keys) &&
    Array.isArray(index.expires) &&
    index.keys.length === index.expires.length
  );
}

/**
 * Whether `JSON.parse(JSON.stringify(value))` gives back a value equal to a structured
 * clone of `value`: only strings, booleans, `null`, finite numbers other than `-0`, dense
 * arrays without extra properties, and objects whose prototype is `Object.prototype` or
 * `null` whose own enumerable properties are all of these — with no object reached twice
 * (JSON would duplicate a shared reference and cannot encode a cycle). One walk, stopping
 * at the first value that does not qualify. {@link IndexedDbStore} compresses only values
 * that pass.
 *
 * @example
 * ```ts
 * isJsonLossless([{ id: 1, tags: ['a'] }]); // true
 * isJsonLossless([new Date()]);             // false: JSON turns it into a string
 * isJsonLossless([{ a: undefined }]);       // false: JSON drops the property
 * ```
 */
export function isJsonLossless(value: unknown): boolean {
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    switch (typeof item) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (!Number.isFinite(item) || Object.is(item, -0)) return false;
        continue;
      case 'object':
        if (item === null) continue;
        break;
      default:
        // undefined, bigint, symbol, function
        return false;
    }
    if (seen.has(item)) return false;
    seen.add(item);
    if (Array.isArray(item)) {
      if (Object.getPrototypeOf(item) !== Array.prototype) return false;
      const length = item.length;
      if (Object.keys(item).length !== length) return false; // holes or extra properties
      for (let i = 0; i < length; i++) stack.push(item[i]);
      continue;
    }
    const prototype: unknown = Object.getPrototypeOf(item);
    if (prototype !== Object.prototype && prototype !== null) return false;
    // Symbol-keyed and non-enumerable properties are dropped by both JSON and structured clone.
    const record = item as Record<string, unknown>;
    for (const key of Object.keys(record)) stack.push(record[key]);
  }
  return true;
}

/**
 * The store's memory of which keys it holds, in order of last use (least recent first),
 * with each key's `expiresAt` (`NaN` when unknown). A `Map` keeps the order: a use moves the
 * key to the end in O(1).
 */
class AccessIndex {
  readonly #expires = new Map<string, number>();

  /**
   * The index as stored, reconciled with the keys really in the database: keys it lists
   * that are gone are dropped; keys it does not list (written since its last flush, or by
   * another tab) are added as the most recently used, their expiry unknown.
   */
  static restore(stored: unknown, keys: readonly IDBValidKey[]): AccessIndex {
    const index = new AccessIndex();
    const present = new Set<string>();
    for (const key of keys) if (typeof key === 'string') present.add(key);
    if (isStoredIndex(stored)) {
      for (let i = 0; i < stored.keys.length; i++) {
        const key = stored.keys[i] as string;
        if (present.has(key)) index.#expires.set(key, stored.expires[i] as number);
      }
    }
    for (const key of present) if (!index.#expires.has(key)) index.#expires.set(key, Number.NaN);
    return index;
  }

  get size(): number {
    return this.#expires.size;
  }

  has(key: string): boolean {
    return this.#expires.has(key);
  }

  /** The key's `expiresAt`: `NaN` if unknown, `undefined` if the key is not indexed. */
  expiresAt(key: string): number | undefined {
    return this.#expires.get(key);
  }

  /** Records a write or a use: `key` becomes the most recently used. */
  put(key: string, expiresAt: number): void {
    this.#expires.delete(key);
    this.#expires.set(key, expiresAt);
  }

  remove(key: string): boolean {
    return this.#expires.delete(key);
  }

  /** Removes and returns (with their `expiresAt`) least recently used keys until at most `keep` remain. */
  shrinkTo(keep: number): [string, number][] {
    const victims: [string, number][] = [];
    if (this.#expires.size <= keep) return victims;
    for (const entry of this.#expires) {
      if (this.#expires.size - victims.length <= keep) break;
      victims.push(entry);
    }
    for (const [key] of victims) this.#expires.delete(key);
    return victims;
  }

  /** Puts keys back as the least recently used (undoing `shrinkTo` after a failed write). */
  restoreOldest(entries: readonly (readonly [string, number])[]): void {
    const rest = [...this.#expires];
    this.#expires.clear();
    for (const [key, expiresAt] of entries) this.#expires.set(key, expiresAt);
    for (const [key, expiresAt] of rest) this.#expires.set(key, expiresAt);
  }

  entries(): IterableIterator<[string, number]> {
    return this.#expires.entries();
  }

  toStored(): StoredIndex {
    return { format: 1, keys: [...this.#expires.keys()], expires: [...this.#expires.values()] };
  }
}

/** Whether `error` is a DOMException (or look-alike) of the given name. */
function isNamed(error: unknown, name: string): boolean {
  return typeof error === 'object' && error !== null && (error as Error).name === name;
}

/** What {@link openDatabase} tells its caller about an upgrade another connection blocks. */
interface OpenHooks {
  /** The upgrade is blocked; the open failed, but its request stays pending. */
  blocked(): void;
  /** The blocked request has finished (the upgrade happened or failed); its connection is closed. */
  unblocked(): void;
}

/**
 * Opens `name`, making sure it has the object store `storeName`: a new database gets it in
 * its first upgrade; an existing one without it is reopened one version up to add it.
 */
function openDatabase(
  factory: IDBFactory,
  name: string,
  storeName: string,
  hooks: OpenHooks,
  version?: number,
): Promise<IDBDatabase> {
  return new Promise<IDBDatabase>((resolve, reject) => {
    const request = version === undefined ? factory.open(name) : factory.open(name, version);
    let abandoned = false;
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(storeName)) db.createObjectStore(storeName);
    };
    request.onblocked = () => {
      // The upgrade waits for another connection to close. Fail now rather than hang; the
      // request carries on, and when it succeeds the database has our object store.
      if (abandoned) return;
      abandoned = true;
      hooks.blocked();
      reject(new IndexedDbUnavailableError('blocked', name));
    };
    request.onsuccess = () => {
      const db = request.result;
      if (abandoned) {
        db.close();
        hooks.unblocked();
        return;
      }
      if (db.objectStoreNames.contains(storeName)) {
        resolve(db);
        return;
      }
      const next = db.version + 1;
      db.close();
      openDatabase(factory, name, storeName, hooks, next).then(resolve, reject);
    };
    request.onerror = () => {
      if (abandoned) hooks.unblocked();
      else reject(request.error);
    };
  });
}

/** One `set` ready to commit: its record and the keys evicted to make room for it. */
interface PendingWrite {
  readonly key: string;
  readonly record: StoredRecord;
  readonly evicted: readonly (readonly [string, number])[];
}

/** A {@link PendingWrite} waiting in a batch, with the settlement of its `set`. */
interface QueuedWrite extends PendingWrite {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** What {@link IndexedDbStore.set} and `delete` hold while they run, to detect being superseded. */
interface Ticket {
  readonly seq: number;
  readonly generation: number;
}

/**
 * A persistent {@link CacheStore} in the browser's IndexedDB, built on `idb-keyval`: the
 * usual second tier of a `TieredCache` (see {@link createBrowserCache}), so results survive
 * a page reload.
 *
 * **Nothing happens until first use.** Importing `eed` and constructing the store touch no
 * IndexedDB API, so both are safe in Node and during server-side rendering. Where IndexedDB
 * is missing, every operation fails as described under *Failures*.
 *
 * **Storage.** One record per key in the object store `storeName` of database `dbName`,
 * the key being the cache key itself (any string). The record holds the entry's
 * `storedAt`, `expiresAt`, `cost`, `size` and its `values`, by structured clone: `Date`,
 * `Map`, `Set`, typed arrays, `ArrayBuffer`, `bigint`, `RegExp`, cycles and shared
 * references survive. A value structured clone cannot copy (a function, a DOM node)
 * makes `set` reject with a `DataCloneError`.
 *
 * **Compression.** When `compressThreshold` is finite (default 16 KiB), an entry is stored
 * compressed when all of these hold: its size (`entry.size`, or `sizeOf(values)` when 0)
 * is at least `compressThreshold`; its `values` are JSON-lossless (only strings, booleans,
 * `null`, finite numbers other than `-0`, dense plain arrays and plain objects, no object
 * reached twice — checked in one walk that stops at the first exception); and the gzip of
 * `JSON.stringify(values)` (UTF-8) is at most 90% of the JSON's size. The record then says
 * `encoding: 'gzip-json'` and holds the gzip bytes; otherwise it says `encoding: 'clone'`
 * and holds the values as they are. Reads decode either, so the threshold may change
 * between sessions. Compression uses the standard `CompressionStream`; where it is missing
 * the entry is stored uncompressed.
 *
 * **Expiry.** An entry is valid while `clock.now() < expiresAt`. `get` of an expired entry
 * is a miss and deletes the record; {@link prune} deletes every expired record.
 *
 * **Eviction and the access index.** The store keeps, in memory, the keys it holds in order
 * of last use with their `expiresAt` (a `Map`: O(1) per read or write). It is loaded on
 * first use from one record of the same object store (under the number key `0`, which no
 * string key can equal) and reconciled with the keys actually stored (one `getAllKeys`
 * per session): keys the index does not list — written after its last save, or by another
 * tab — count as most recently used. It is saved back at most once a second after a
 * change, and by {@link flush} and {@link close}; losing the last second of recency in a
 * crash only changes which entry is evicted first. Writing a new key when the store holds
 * `maxEntries` deletes the least recently used keys in the same transaction as the write.
 * `prune` uses the index to find expired entries without reading values (only entries
 * whose expiry it does not know are read, once). Measured in headless Chromium with
 * 10,000 entries: loading the index on first use ≈ 45 ms, saving it ≈ 3 ms, a hit ≈ 0.4 ms,
 * a write that evicts ≈ 0.9 ms.
 *
 * **Write batching.** The `set`s that are ready in the same microtask wave (a burst of
 * results) are committed in one readwrite transaction: each IndexedDB commit costs about a
 * millisecond, and Chromium slows down sharply with thousands of queued transactions
 * (5,000 concurrent `set`s: ≈ 0.5 s batched, ≈ 15 s one transaction each).
 *
 * **Concurrency.** The last call wins: a `set` superseded by a later `set` or `delete` of
 * the same key, or by `clear`, before its transaction starts is skipped (and resolves).
 *
 * **Connection.** The store opens `dbName` on first use and keeps the connection. When
 * another connection needs the database (an upgrade in another tab, `deleteDatabase`)
 * it closes at once and reopens on its next operation, so it never blocks anyone. A
 * connection the browser closed is reopened and the transaction retried once. An open
 * queued behind another tab's pending upgrade waits for it; behind a `TieredCache` (as in
 * {@link createBrowserCache}) such a read is abandoned after the tier's `timeoutMs`.
 *
 * **Failures** — a quota error (`QuotaExceededError`), a blocked or closed database,
 * IndexedDB missing ({@link IndexedDbUnavailableError}), a corrupt record:
 * - `get` never rejects: the failure is a miss, reported on {@link events$} (a corrupt or
 *   undecodable record is also deleted);
 * - `set`, `delete`, `clear`, `keys`, `prune` and `flush` reject with the error, which their
 *   caller reports (a `TieredCache` as a `tier-error` event, the engine as `cache-error`);
 *   they do not also emit it on `events$`. A failed `set` leaves the store as it was (its
 *   write and its evictions commit together or not at all). A value structured clone
 *   refuses fails only its own `set`; an aborted transaction (quota) fails every `set`
 *   batched into it;
 * - failures of background work (saving the index, deleting an expired record) are
 *   reported on `events$`.
 *
 * @example
 * ```ts
 * import { createEngine, IndexedDbStore, MemoryStore, TieredCache } from 'eed';
 *
 * const persistent = new IndexedDbStore({ dbName: 'my-app', maxEntries: 2_000 });
 * persistent.events$.subscribe((e) => console.warn('IndexedDB cache', e));
 * const cache = new TieredCache({
 *   tiers: [{ store: new MemoryStore() }, { store: persistent, ttl: 60 * 60_000 }],
 * });
 * const engine = createEngine({ cache });
 *
 * // Or on its own:
 * const now = Date.now();
 * await persistent.set('report:2024', {
 *   values: [{ at: new Date(), totals: new Map([['eu', 12]]) }],
 *   storedAt: now, expiresAt: now + 86_400_000, cost: 1_200, size: 0,
 * });
 * (await persistent.get('report:2024'))?.values[0]; // { at: Date, totals: Map }
 * ```
 */
export class IndexedDbStore implements CacheStore {
  /** The database name (see {@link IndexedDbStoreOptions.dbName}). */
  readonly dbName: string;
  /** The object store name (see {@link IndexedDbStoreOptions.storeName}). */
  readonly storeName: string;
  /** Where a corrupt record was, for {@link CorruptEntryError.location}. */
  get #location(): string {
    return `indexedDB ${this.dbName}/${this.storeName}`;
  }
  /** The bound on the number of entries (see {@link IndexedDbStoreOptions.maxEntries}). */
  readonly maxEntries: number;
  /** The size from which entries may be compressed (see {@link IndexedDbStoreOptions.compressThreshold}). */
  readonly compressThreshold: number;

  readonly #clock: Clock;
  readonly #custom: UseStore | undefined;
  readonly #events = new Subject<CacheStoreEvent>();
  /** The open connection, or the attempt to open it; `undefined` until first use or after a close. */
  #db: Promise<IDBDatabase> | undefined = undefined;
  /** The connection `#db` resolved to, while it is current. */
  #connection: IDBDatabase | undefined = undefined;
  /**
   * Whether an upgrade of ours is blocked by another connection: opens would queue behind
   * it and hang, so operations fail at once until it finishes.
   */
  #blocked = false;
  /** The access index, or its loading; `undefined` until first use or after a reset. */
  #index: Promise<AccessIndex> | undefined = undefined;
  #indexDirty = false;
  #flushTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Writes that reached their commit in the current microtask wave; one transaction commits them. */
  #batch: QueuedWrite[] | undefined = undefined;
  /** Per key: the ticket of the latest `set`/`delete` not yet finished. */
  readonly #latest = new Map<string, number>();
  #seq = 0;
  /** Bumped by `clear` and by an index reset: writes begun before are dropped. */
  #generation = 0;

  /**
   * The store's own failures that no caller sees: `get` failures (which resolve a miss)
   * and background failures (saving the access index: `operation: 'set'`, `key: ''`;
   * deleting an expired or corrupt record: `operation: 'delete'`; a compression that
   * failed, after which the entry was stored uncompressed: `operation: 'set'`). Each is a
   * `tier-error` with `tier: 0` (this store); `createBrowserCache` re-labels them with
   * the store's tier. Emits nothing while nobody subscribes.
   */
  readonly events$: Observable<CacheStoreEvent> = this.#events.asObservable();

  /**
   * @param options - database, bounds, clock and compression; see {@link IndexedDbStoreOptions}.
   * @throws TypeError for a `dbName`/`storeName` that is not a non-empty string, or a
   *   `clock.now` or `useStore` that is not a function; RangeError for a `maxEntries` or
   *   `compressThreshold` out of range. Nothing else happens: no database is opened.
   */
  constructor(options: IndexedDbStoreOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(
        `IndexedDbStore options must be an object; received ${describe(options)}`,
      );
    }
    const {
      dbName = 'eed',
      storeName = 'cache',
      maxEntries = 10_000,
      clock = { now: Date.now },
      compressThreshold = 16 * 1024,
      useStore,
    } = options;
    if (typeof dbName !== 'string' || dbName === '') {
      throw new TypeError(`dbName must be a non-empty string; received ${describe(dbName)}`);
    }
    if (typeof storeName !== 'string' || storeName === '') {
      throw new TypeError(`storeName must be a non-empty string; received ${describe(storeName)}`);
    }
    assertCount('maxEntries', maxEntries, 1);
    if (
      typeof compressThreshold !== 'number' ||
      Number.isNaN(compressThreshold) ||
      compressThreshold < 0
    ) {
      throw new RangeError(
        `compressThreshold must be a number of bytes >= 0 (or Infinity); received ${describe(compressThreshold)}`,
      );
    }
    if (clock === null || typeof clock !== 'object') {
      throw new TypeError(`clock must be an object with now(); received ${describe(clock)}`);
    }
    assertFunction('clock.now', clock.now);
    if (useStore !== undefined) assertFunction('useStore', useStore);
    this.dbName = dbName;
    this.storeName = storeName;
    this.maxEntries = maxEntries;
    this.compressThreshold = compressThreshold;
    this.#clock = clock;
    this.#custom = useStore;
  }

  /**
   * The valid entry for `key`, or `undefined`. Never rejects: a failure is a miss and an
   * event on {@link events$}. A hit makes `key` the most recently used; an expired entry
   * is a miss and its record is deleted.
   *
   * @example
   * ```ts
   * const entry = await store.get('user:1');
   * if (entry) render(entry.values[0]);
   * ```
   */
  async get(key: string): Promise<CacheEntry | undefined> {
    try {
      const index = await this.#loadIndex();
      const record: unknown = await this.#transaction('readonly', (store) =>
        promisifyRequest(store.get(key)),
      );
      const pending = this.#latest.has(key);
      if (record === undefined) {
        if (!pending && index.remove(key)) this.#indexChanged();
        return undefined;
      }
      if (!isStoredRecord(record)) {
        this.#discard(index, key);
        const format = (record as { format?: unknown } | null)?.format;
        throw new CorruptEntryError(
          typeof format === 'number' && format !== 1 ? 'other-version' : 'garbage',
          'the record is not an eed cache entry',
          { key, location: this.#location },
        );
      }
      if (!(record.expiresAt > this.#clock.now())) {
        if (!pending) this.#discard(index, key);
        return undefined;
      }
      let values: readonly unknown[];
      try {
        values = await decodeValues(record);
      } catch (error) {
        if (!this.#latest.has(key)) this.#discard(index, key);
        throw new CorruptEntryError(
          'undecodable',
          error instanceof Error ? error.message : String(error),
          { key, location: this.#location, cause: error },
        );
      }
      if (!this.#latest.has(key)) {
        index.put(key, record.expiresAt);
        this.#indexChanged();
      }
      return {
        values,
        storedAt: record.storedAt,
        expiresAt: record.expiresAt,
        cost: record.cost,
        size: record.size,
      };
    } catch (error) {
      this.#report('get', key, error);
      return undefined;
    }
  }

  /**
   * Stores `entry` under `key`, replacing any previous entry; when the store holds
   * `maxEntries` keys and `key` is new, the least recently used entries are deleted in the
   * same transaction. An entry already expired is not stored (and a previous entry under
   * `key` is deleted). Large JSON-lossless values may be compressed (see the class notes).
   *
   * @throws (rejects) `QuotaExceededError`, `DataCloneError` (a value structured clone
   *   cannot copy), {@link IndexedDbUnavailableError}, or another IndexedDB error; the
   *   store is then unchanged.
   *
   * @example
   * ```ts
   * const now = Date.now();
   * await store.set('k', { values: [new Uint8Array([1, 2])], storedAt: now, expiresAt: now + 60_000, cost: 30, size: 0 });
   * ```
   */
  async set(key: string, entry: CacheEntry): Promise<void> {
    const ticket = this.#ticket(key);
    try {
      if (!(entry.expiresAt > this.#clock.now())) {
        await this.#remove(key, ticket);
        return;
      }
      const record = await this.#encode(key, entry);
      const index = await this.#loadIndex();
      if (!this.#current(key, ticket)) return; // superseded by a later set, delete or clear
      const known = index.has(key);
      const previous = index.expiresAt(key) ?? Number.NaN;
      const evicted = known ? [] : index.shrinkTo(this.maxEntries - 1);
      index.put(key, record.expiresAt);
      this.#indexChanged();
      try {
        await this.#write({ key, record, evicted });
      } catch (error) {
        // Neither the write nor its evictions happened. Undo the index.
        if (this.#generation === ticket.generation) {
          if (this.#current(key, ticket)) {
            if (known) index.put(key, previous);
            else index.remove(key);
          }
          index.restoreOldest(evicted.filter(([victim]) => !index.has(victim)));
        }
        throw error;
      }
    } finally {
      this.#release(key, ticket);
    }
  }

  /**
   * Removes `key`; resolves `true` if a valid entry was there.
   *
   * @throws (rejects) an IndexedDB error or {@link IndexedDbUnavailableError}.
   *
   * @example
   * ```ts
   * await store.delete('user:1'); // true
   * ```
   */
  async delete(key: string): Promise<boolean> {
    const ticket = this.#ticket(key);
    try {
      return await this.#remove(key, ticket);
    } finally {
      this.#release(key, ticket);
    }
  }

  /**
   * Removes every entry of this store (and its access index). Writes still preparing are
   * dropped.
   *
   * @throws (rejects) an IndexedDB error or {@link IndexedDbUnavailableError}.
   *
   * @example
   * ```ts
   * await store.clear();
   * await store.keys(); // []
   * ```
   */
  async clear(): Promise<void> {
    this.#generation++;
    this.#latest.clear();
    this.#cancelFlush();
    this.#indexDirty = false;
    this.#index = Promise.resolve(new AccessIndex());
    try {
      await idbClear(this.#useStore);
    } catch (error) {
      // What is left is unknown: load the index afresh next time.
      this.#index = undefined;
      throw error;
    }
  }

  /**
   * The keys stored, leaving out entries the store knows are expired. Also reconciles the
   * access index with the database (one `getAllKeys`).
   *
   * @throws (rejects) an IndexedDB error or {@link IndexedDbUnavailableError}.
   *
   * @example
   * ```ts
   * for (const key of await store.keys()) console.log(key);
   * ```
   */
  async keys(): Promise<string[]> {
    const index = await this.#loadIndex();
    const stored = await this.#storedKeys(index);
    const now = this.#clock.now();
    return stored.filter((key) => !((index.expiresAt(key) ?? Number.NaN) <= now));
  }

  /**
   * Deletes every expired entry now. Finds them through the access index (reconciled with
   * the database by one `getAllKeys`), reading only records whose expiry it does not know.
   *
   * @returns how many entries were deleted.
   * @throws (rejects) an IndexedDB error or {@link IndexedDbUnavailableError}.
   *
   * @example
   * ```ts
   * const removed = await store.prune();
   * ```
   */
  async prune(): Promise<number> {
    const index = await this.#loadIndex();
    await this.#storedKeys(index);
    const unknown: string[] = [];
    for (const [key, expiresAt] of index.entries()) {
      if (Number.isNaN(expiresAt) && !this.#latest.has(key)) unknown.push(key);
    }
    if (unknown.length > 0) {
      const records: unknown[] = await idbGetMany(unknown, this.#useStore);
      unknown.forEach((key, i) => {
        if (this.#latest.has(key)) return;
        const record = records[i];
        if (record === undefined) index.remove(key);
        // A record that is not ours counts as expired: prune removes it.
        else index.put(key, isStoredRecord(record) ? record.expiresAt : Number.NEGATIVE_INFINITY);
      });
      this.#indexChanged();
    }
    const now = this.#clock.now();
    const expired: string[] = [];
    for (const [key, expiresAt] of index.entries()) {
      if (expiresAt <= now && !this.#latest.has(key)) expired.push(key);
    }
    if (expired.length === 0) return 0;
    for (const key of expired) index.remove(key);
    this.#indexChanged();
    await this.#transaction('readwrite', (store) => {
      for (const key of expired) store.delete(key);
      return promisifyRequest(store.transaction);
    });
    return expired.length;
  }

  /**
   * Saves the access index now if it changed (it is otherwise saved within a second of a
   * change).
   *
   * @throws (rejects) an IndexedDB error or {@link IndexedDbUnavailableError}.
   *
   * @example
   * ```ts
   * window.addEventListener('pagehide', () => void store.flush());
   * ```
   */
  async flush(): Promise<void> {
    this.#cancelFlush();
    if (!this.#indexDirty || this.#index === undefined) return;
    const index = await this.#index;
    this.#indexDirty = false;
    try {
      await idbSet(INDEX_KEY, index.toStored(), this.#useStore);
    } catch (error) {
      this.#indexDirty = true;
      throw error;
    }
  }

  /**
   * Saves the access index and closes the connection. The store stays usable: the next
   * operation opens the database again. Never rejects (a failed save is reported on
   * {@link events$}).
   *
   * @example
   * ```ts
   * await store.close();
   * indexedDB.deleteDatabase(store.dbName);
   * ```
   */
  async close(): Promise<void> {
    try {
      await this.flush();
    } catch (error) {
      this.#report('set', '', error);
    }
    const db = this.#db;
    this.#db = undefined;
    this.#connection = undefined;
    if (db !== undefined) {
      try {
        (await db).close();
      } catch {
        // It never opened: nothing to close.
      }
    }
  }

  /** Runs every transaction: the injected `UseStore`, or the store's own connection. */
  readonly #useStore: UseStore = <T>(
    mode: IDBTransactionMode,
    callback: (store: IDBObjectStore) => T | PromiseLike<T>,
  ): Promise<T> => {
    if (this.#custom !== undefined) return this.#custom(mode, callback);
    return this.#connect().then((db) => {
      let transaction: IDBTransaction;
      try {
        transaction = db.transaction(this.storeName, mode);
      } catch (error) {
        // The browser closed the connection under us: reopen once and retry.
        if (!isNamed(error, 'InvalidStateError')) throw error;
        this.#disconnect(db);
        return this.#connect().then((reopened) =>
          callback(reopened.transaction(this.storeName, mode).objectStore(this.storeName)),
        );
      }
      return callback(transaction.objectStore(this.storeName));
    });
  };

  #transaction<T>(
    mode: IDBTransactionMode,
    callback: (store: IDBObjectStore) => T | PromiseLike<T>,
  ): Promise<T> {
    try {
      return this.#useStore(mode, callback);
    } catch (error) {
      // An injected UseStore that throws instead of rejecting.
      return Promise.reject(error);
    }
  }

  /** The open connection, opening it on first use. Touches `indexedDB` only here. */
  #connect(): Promise<IDBDatabase> {
    if (this.#db !== undefined) return this.#db;
    const factory = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (factory === undefined || factory === null) {
      return Promise.reject(new IndexedDbUnavailableError('missing', this.dbName));
    }
    if (this.#blocked) {
      return Promise.reject(new IndexedDbUnavailableError('blocked', this.dbName));
    }
    const opening = openDatabase(factory, this.dbName, this.storeName, {
      blocked: () => {
        this.#blocked = true;
      },
      unblocked: () => {
        this.#blocked = false;
      },
    });
    this.#db = opening;
    opening.then(
      (db) => {
        if (this.#db === opening) this.#connection = db;
        // Never block another tab's upgrade or a deleteDatabase: close and reopen later.
        db.onversionchange = () => {
          this.#disconnect(db);
          this.#resetIndex();
        };
        db.onclose = () => this.#disconnect(db);
      },
      () => {
        if (this.#db === opening) this.#db = undefined;
      },
    );
    return opening;
  }

  /** Closes `db` and forgets it, if it is still the current connection. */
  #disconnect(db: IDBDatabase): void {
    db.close();
    if (this.#connection === db) {
      this.#connection = undefined;
      this.#db = undefined;
    }
  }

  /** The access index, loading it (with one read transaction) on first use. */
  #loadIndex(): Promise<AccessIndex> {
    if (this.#index !== undefined) return this.#index;
    const generation = this.#generation;
    const loading = this.#transaction('readonly', (store) =>
      Promise.all([
        promisifyRequest<unknown>(store.get(INDEX_KEY)),
        promisifyRequest(store.getAllKeys()),
      ]),
    ).then(([stored, keys]) => AccessIndex.restore(stored, keys));
    this.#index = loading;
    loading.catch(() => {
      if (this.#index === loading && this.#generation === generation) this.#index = undefined;
    });
    return loading;
  }

  /** Forgets the access index (the database changed under us): it is loaded again on next use. */
  #resetIndex(): void {
    this.#cancelFlush();
    this.#indexDirty = false;
    this.#index = undefined;
    this.#generation++;
  }

  /** The string keys in the database; reconciles `index` with them. */
  async #storedKeys(index: AccessIndex): Promise<string[]> {
    const all = await this.#transaction('readonly', (store) =>
      promisifyRequest(store.getAllKeys()),
    );
    const keys: string[] = [];
    for (const key of all) if (typeof key === 'string') keys.push(key);
    const present = new Set(keys);
    let changed = false;
    for (const [key] of index.entries()) {
      if (!present.has(key) && !this.#latest.has(key)) {
        index.remove(key);
        changed = true;
      }
    }
    for (const key of keys) {
      if (!index.has(key)) {
        index.put(key, Number.NaN);
        changed = true;
      }
    }
    if (changed) this.#indexChanged();
    return keys;
  }

  /** Deletes `key` unless `ticket` was superseded; resolves whether a valid entry was there. */
  async #remove(key: string, ticket: Ticket): Promise<boolean> {
    const index = await this.#loadIndex();
    if (!this.#current(key, ticket)) return false;
    const expiresAt = index.expiresAt(key);
    if (index.remove(key)) this.#indexChanged();
    const count = await this.#transaction('readwrite', (store) => {
      const counted = promisifyRequest(store.count(key));
      store.delete(key);
      return Promise.all([counted, promisifyRequest(store.transaction)]).then(([n]) => n);
    });
    return count > 0 && !((expiresAt ?? Number.NaN) <= this.#clock.now());
  }

  /** Drops `key` from the index and deletes its record in the background (expired or corrupt). */
  #discard(index: AccessIndex, key: string): void {
    if (index.remove(key)) this.#indexChanged();
    this.#transaction('readwrite', (store) => {
      store.delete(key);
      return promisifyRequest(store.transaction);
    }).catch((error: unknown) => this.#report('delete', key, error));
  }

  /**
   * Commits `write` together with the other writes that reach this point in the same
   * microtask wave: one readwrite transaction for all of them (IndexedDB commits cost
   * milliseconds each, and Chromium slows down with many queued transactions). A value
   * structured clone refuses fails only its own write; an aborted transaction (quota)
   * fails all of them.
   */
  #write(write: PendingWrite): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#batch === undefined) {
        this.#batch = [];
        queueMicrotask(() => this.#commit());
      }
      this.#batch.push({ ...write, resolve, reject });
    });
  }

  #commit(): void {
    const batch = this.#batch ?? [];
    this.#batch = undefined;
    this.#transaction('readwrite', (store) => {
      const refused = new Map<QueuedWrite, unknown>();
      for (const write of batch) {
        try {
          store.put(write.record, write.key);
        } catch (error) {
          refused.set(write, error); // DataCloneError: nothing of this write was queued
          continue;
        }
        for (const [victim] of write.evicted) store.delete(victim);
      }
      return promisifyRequest(store.transaction).then(() => refused);
    }).then(
      (refused) => {
        for (const write of batch) {
          if (refused.has(write)) write.reject(refused.get(write));
          else write.resolve();
        }
      },
      (error: unknown) => {
        for (const write of batch) write.reject(error);
      },
    );
  }

  /** The record for `entry`: compressed when the class notes say so, else by structured clone. */
  async #encode(key: string, entry: CacheEntry): Promise<StoredRecord> {
    let size = entry.size;
    if (!(size > 0 && size < INFINITY)) size = sizeOf(entry.values);
    const base = {
      format: 1 as const,
      storedAt: entry.storedAt,
      expiresAt: entry.expiresAt,
      cost: entry.cost,
      size,
    };
    if (size >= this.compressThreshold && typeof CompressionStream === 'function') {
      const compressed = await compressJson(entry.values).catch((error: unknown) => {
        this.#report('set', key, error);
        return undefined;
      });
      if (compressed !== undefined) {
        return {
          ...base,
          encoding: 'gzip-json',
          payload: compressed.gzip,
          rawLength: compressed.rawLength,
        };
      }
    }
    return { ...base, encoding: 'clone', payload: entry.values };
  }

  #ticket(key: string): Ticket {
    const seq = ++this.#seq;
    this.#latest.set(key, seq);
    return { seq, generation: this.#generation };
  }

  #current(key: string, ticket: Ticket): boolean {
    return this.#latest.get(key) === ticket.seq && this.#generation === ticket.generation;
  }

  #release(key: string, ticket: Ticket): void {
    if (this.#latest.get(key) === ticket.seq) this.#latest.delete(key);
  }

  /** Marks the index changed and schedules saving it. */
  #indexChanged(): void {
    this.#indexDirty = true;
    if (this.#flushTimer !== undefined) return;
    const timer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.flush().catch((error: unknown) => this.#report('set', '', error));
    }, INDEX_FLUSH_MS);
    (timer as { unref?: () => unknown }).unref?.();
    this.#flushTimer = timer;
  }

  #cancelFlush(): void {
    if (this.#flushTimer === undefined) return;
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
  }

  #report(operation: 'get' | 'set' | 'delete', key: string, error: unknown): void {
    if (!this.#events.observed) return;
    this.#events.next({
      type: 'tier-error',
      tier: 0,
      key,
      operation,
      error,
      time: this.#clock.now(),
    });
  }
}

/**
 * The gzip of `values` as JSON, or `undefined` when they are not JSON-lossless or do not
 * compress by at least 10%.
 */
async function compressJson(
  values: readonly unknown[],
): Promise<{ gzip: Uint8Array; rawLength: number } | undefined> {
  if (!isJsonLossless(values)) return undefined;
  const json = new TextEncoder().encode(JSON.stringify(values));
  const gzip = await compressBytes(json);
  return gzip.byteLength <= json.byteLength * MIN_COMPRESSION_GAIN
    ? { gzip, rawLength: json.byteLength }
    : undefined;
}

/** The entry's values from a record of either encoding. */
async function decodeValues(record: StoredRecord): Promise<readonly unknown[]> {
  if (record.encoding === 'clone') return record.payload as readonly unknown[];
  const json = await decompressBytes(record.payload as Uint8Array, record.rawLength);
  const values: unknown = JSON.parse(new TextDecoder().decode(json));
  if (!Array.isArray(values)) throw new TypeError('compressed cache entry is not an array');
  return values;
}
