import {
  type CacheEntry,
  type CacheStoreEvent,
  CorruptEntryError,
  IndexedDbStore,
  IndexedDbUnavailableError,
  MemoryStore,
  TieredCache,
} from 'eed';
import { createStore as createIdbKeyvalStore, type UseStore } from 'idb-keyval';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../cache/conformance.js';

// IndexedDbStore in a real Chromium page (vitest browser mode): real IndexedDB, real
// structured clone, real CompressionStream.

let dbCounter = 0;
/** Databases the tests created; deleted after each test. */
const created: string[] = [];
/** Stores the tests created; closed after each test so their databases can be deleted. */
const opened: IndexedDbStore[] = [];

/** A database name no other test uses. */
function uniqueDb(): string {
  const name = `eed-test-${Date.now()}-${++dbCounter}-${Math.random().toString(36).slice(2)}`;
  created.push(name);
  return name;
}

function track(store: IndexedDbStore): IndexedDbStore {
  opened.push(store);
  return store;
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Opens `name` directly, without any eed code. */
function openRaw(name: string, version?: number, storeName?: string): Promise<IDBDatabase> {
  const req = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
  if (storeName !== undefined) {
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(storeName)) req.result.createObjectStore(storeName);
    };
  }
  return request(req);
}

/** Reads one record of `storeName` directly. */
async function rawGet(name: string, key: IDBValidKey, storeName = 'cache'): Promise<unknown> {
  const db = await openRaw(name);
  try {
    return await request(db.transaction(storeName).objectStore(storeName).get(key));
  } finally {
    db.close();
  }
}

/** Writes one record of `storeName` directly. */
async function rawPut(name: string, key: IDBValidKey, value: unknown, storeName = 'cache') {
  const db = await openRaw(name);
  try {
    const tx = db.transaction(storeName, 'readwrite');
    tx.objectStore(storeName).put(value, key);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** Every key of `storeName`, read directly. */
async function rawKeys(name: string, storeName = 'cache'): Promise<IDBValidKey[]> {
  const db = await openRaw(name);
  try {
    return await request(db.transaction(storeName).objectStore(storeName).getAllKeys());
  } finally {
    db.close();
  }
}

function deleteDb(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(name);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error);
  });
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  await Promise.all(created.splice(0).map(deleteDb));
});

const entryOf = (
  values: readonly unknown[],
  now: number,
  ttl = Number.POSITIVE_INFINITY,
  cost = 25,
): CacheEntry => ({ values, storedAt: now, expiresAt: now + ttl, cost, size: 0 });

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Collects a store's or cache's events. */
function collect(source: { events$?: import('rxjs').Observable<CacheStoreEvent> }) {
  const events: CacheStoreEvent[] = [];
  source.events$?.subscribe((event) => events.push(event));
  return events;
}

/** The error of a `tier-error` event. */
const errorOf = (event: CacheStoreEvent | undefined): unknown =>
  event?.type === 'tier-error' ? event.error : undefined;

describe('IndexedDbStore in Chromium', () => {
  it('round-trips structured-clone values and the entry fields', async () => {
    const dbName = uniqueDb();
    const store = track(new IndexedDbStore({ dbName }));
    const cyclic: { name: string; self?: unknown } = { name: 'loop' };
    cyclic.self = cyclic;
    const values = [
      new Date('2024-02-29T12:34:56.789Z'),
      new Map<unknown, unknown>([
        ['a', 1],
        [2, { b: new Set([3]) }],
      ]),
      new Set(['x', null]),
      new Uint8Array([0, 1, 255]),
      new Float64Array([Math.PI, Number.NEGATIVE_INFINITY]),
      new BigInt64Array([-(2n ** 63n)]),
      2n ** 100n,
      /ab+c/gi,
      { nested: { deeper: [1, { x: 'y' }] }, missing: undefined },
      cyclic,
      Number.NaN,
      -0,
    ];
    const now = Date.now();
    await store.set('k', { values, storedAt: now, expiresAt: now + 60_000, cost: 120, size: 777 });
    const read = await store.get('k');
    expect(read).toMatchObject({ storedAt: now, expiresAt: now + 60_000, cost: 120, size: 777 });
    expect(read?.values).toEqual(values);
    const got = read?.values ?? [];
    expect(got[0]).toBeInstanceOf(Date);
    expect(got[1]).toBeInstanceOf(Map);
    expect(((got[1] as Map<unknown, { b: unknown }>).get(2) as { b: unknown }).b).toBeInstanceOf(
      Set,
    );
    expect(got[3]).toBeInstanceOf(Uint8Array);
    expect(got[5]).toBeInstanceOf(BigInt64Array);
    expect(got[6]).toBe(2n ** 100n);
    expect((got[7] as RegExp).flags).toBe('gi');
    expect(got[8]).toHaveProperty('missing', undefined);
    expect((got[9] as { self: unknown }).self).toBe(got[9]);
    expect(Object.is(got[11], -0)).toBe(true);
    // A size of 0 is measured with sizeOf.
    await store.set('measured', entryOf([{ text: 'x'.repeat(100) }], now));
    expect((await store.get('measured'))?.size).toBeGreaterThan(200);
  });

  it('keeps entries across a new store instance on the same database (a reload)', async () => {
    const dbName = uniqueDb();
    const first = track(new IndexedDbStore({ dbName }));
    const now = Date.now();
    await first.set('user:1', entryOf([{ id: 1, joined: new Date(5) }], now, 60_000));
    await first.set('user:2', entryOf([{ id: 2 }], now));

    // Another instance while the first is still open (another tab) ...
    const second = track(new IndexedDbStore({ dbName }));
    expect((await second.get('user:1'))?.values).toEqual([{ id: 1, joined: new Date(5) }]);

    // ... and after the first one is gone (a reload).
    await first.close();
    const third = track(new IndexedDbStore({ dbName }));
    expect((await third.keys()).sort()).toEqual(['user:1', 'user:2']);
    expect((await third.get('user:2'))?.values).toEqual([{ id: 2 }]);
    expect(await third.get('user:3')).toBeUndefined();
  });

  it('opens nothing until first use', async () => {
    const dbName = uniqueDb();
    const store = track(new IndexedDbStore({ dbName }));
    await delay(20);
    const names = (await indexedDB.databases()).map((db) => db.name);
    expect(names).not.toContain(dbName);
    await store.get('anything');
    expect((await indexedDB.databases()).map((db) => db.name)).toContain(dbName);
  });

  it('expiry: an expired entry is a miss and its record is deleted on read', async () => {
    const dbName = uniqueDb();
    const clock = new ManualClock();
    const store = track(new IndexedDbStore({ dbName, clock }));
    await store.set('short', entryOf(['s'], clock.now(), 1_000));
    await store.set('long', entryOf(['l'], clock.now(), 10_000));
    clock.advance(999);
    expect((await store.get('short'))?.values).toEqual(['s']);
    clock.advance(1);
    expect(await store.get('short')).toBeUndefined();
    await expect.poll(() => rawGet(dbName, 'short')).toBeUndefined();
    expect((await store.get('long'))?.values).toEqual(['l']);
    expect(await store.keys()).toEqual(['long']);
    // Writing an already expired entry stores nothing and removes the old one.
    await store.set('long', entryOf(['stale'], clock.now() - 5_000, 1_000));
    expect(await store.get('long')).toBeUndefined();
    expect(await rawGet(dbName, 'long')).toBeUndefined();
  });

  it('prune() deletes every expired entry, also ones written by another instance', async () => {
    const dbName = uniqueDb();
    const clock = new ManualClock();
    const writer = track(new IndexedDbStore({ dbName, clock }));
    for (let i = 0; i < 10; i++) {
      await writer.set(`k${i}`, entryOf([i], clock.now(), i < 6 ? 1_000 : 60_000));
    }
    await writer.close();
    // A fresh instance whose index does not know these expiries yet (the writer's index
    // was saved by close, so wipe it to force the slow path too).
    await rawPut(dbName, 0, { format: 1, keys: [], expires: [] });
    const store = track(new IndexedDbStore({ dbName, clock }));
    clock.advance(2_000);
    expect(await store.prune()).toBe(6);
    expect((await rawKeys(dbName)).filter((key) => typeof key === 'string').sort()).toEqual([
      'k6',
      'k7',
      'k8',
      'k9',
    ]);
    expect(await store.prune()).toBe(0);
    clock.advance(60_000);
    expect(await store.prune()).toBe(4);
    expect(await store.keys()).toEqual([]);
  });

  it('maxEntries evicts the least recently used, and recency survives a reload', async () => {
    const dbName = uniqueDb();
    const store = track(new IndexedDbStore({ dbName, maxEntries: 3 }));
    const now = Date.now();
    for (const key of ['a', 'b', 'c']) await store.set(key, entryOf([key], now));
    expect((await store.get('a'))?.values).toEqual(['a']); // a is now the most recent
    await store.set('d', entryOf(['d'], now)); // evicts b
    expect((await store.keys()).sort()).toEqual(['a', 'c', 'd']);
    expect(await store.get('b')).toBeUndefined();
    await store.set('a', entryOf(['a2'], now)); // an overwrite evicts nothing
    expect((await store.keys()).sort()).toEqual(['a', 'c', 'd']);
    await store.close(); // saves the access index: c, d, a (least recent first)

    const reloaded = track(new IndexedDbStore({ dbName, maxEntries: 3 }));
    expect((await reloaded.get('c'))?.values).toEqual(['c']); // order: d, a, c
    await reloaded.set('e', entryOf(['e'], now)); // evicts d
    expect((await reloaded.keys()).sort()).toEqual(['a', 'c', 'e']);
    await reloaded.set('f', entryOf(['f'], now)); // evicts a
    expect((await reloaded.keys()).sort()).toEqual(['c', 'e', 'f']);
  });

  it('maxEntries holds under many concurrent writes', async () => {
    const dbName = uniqueDb();
    const store = track(new IndexedDbStore({ dbName, maxEntries: 10 }));
    const now = Date.now();
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.set(`k${i}`, entryOf([i], now))));
    const keys = await store.keys();
    expect(keys).toHaveLength(10);
    // The last ten written survive.
    expect(keys.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `k${40 + i}`).sort());
    expect((await rawKeys(dbName)).filter((key) => typeof key === 'string')).toHaveLength(10);
  });

  it('the last call wins: a slow (compressing) set is superseded by a later set or delete', async () => {
    const dbName = uniqueDb();
    const store = track(new IndexedDbStore({ dbName, compressThreshold: 1_024 }));
    const now = Date.now();
    const big = [{ rows: Array.from({ length: 2_000 }, (_, i) => ({ i, name: `row ${i}` })) }];
    const slow = store.set('k', entryOf(big, now));
    const fast = store.set('k', entryOf(['small'], now));
    await Promise.all([slow, fast]);
    expect((await store.get('k'))?.values).toEqual(['small']);

    const slow2 = store.set('j', entryOf(big, now));
    const removed = store.delete('j');
    await Promise.all([slow2, removed]);
    expect(await store.get('j')).toBeUndefined();
  });

  it('delete and clear', async () => {
    const dbName = uniqueDb();
    const clock = new ManualClock();
    const store = track(new IndexedDbStore({ dbName, clock }));
    await store.set('a', entryOf(['A'], clock.now()));
    await store.set('b', entryOf(['B'], clock.now(), 1_000));
    expect(await store.delete('a')).toBe(true);
    expect(await store.delete('a')).toBe(false);
    clock.advance(5_000);
    expect(await store.delete('b')).toBe(false); // expired: removed, but not a valid entry
    expect(await rawGet(dbName, 'b')).toBeUndefined();
    await store.set('c', entryOf(['C'], clock.now()));
    await store.flush();
    await store.clear();
    expect(await rawKeys(dbName)).toEqual([]); // the index record is gone too
    expect(await store.keys()).toEqual([]);
    await store.set('d', entryOf(['D'], clock.now()));
    expect((await store.get('d'))?.values).toEqual(['D']);
  });
});

describe('IndexedDbStore compression', () => {
  const rows = Array.from({ length: 2_000 }, (_, i) => ({
    id: i,
    name: `customer ${i % 50}`,
    country: ['fr', 'de', 'jp'][i % 3],
    active: i % 2 === 0,
    score: i / 7,
    tags: ['a', 'b'],
    note: null,
  }));

  it('stores a large JSON-lossless entry gzip-compressed and reads it back equal', async () => {
    const dbName = uniqueDb();
    const store = track(new IndexedDbStore({ dbName }));
    const now = Date.now();
    await store.set('rows', entryOf([rows, 'tail'], now));
    const record = (await rawGet(dbName, 'rows')) as {
      encoding: string;
      payload: Uint8Array;
      rawLength: number;
    };
    expect(record.encoding).toBe('gzip-json');
    expect(record.payload).toBeInstanceOf(Uint8Array);
    const json = new TextEncoder().encode(JSON.stringify([rows, 'tail'])).byteLength;
    expect(record.rawLength).toBe(json);
    expect(record.payload.byteLength).toBeLessThan(json / 4);
    expect((await store.get('rows'))?.values).toEqual([rows, 'tail']);
  });

  it('stores by structured clone what JSON would change, what is small, or with compression off', async () => {
    const dbName = uniqueDb();
    const store = track(new IndexedDbStore({ dbName }));
    const off = track(
      new IndexedDbStore({ dbName, storeName: 'plain', compressThreshold: Infinity }),
    );
    const now = Date.now();
    const dated = rows.map((row) => ({ ...row, at: new Date(row.id) }));
    await store.set('dated', entryOf([dated], now));
    await store.set('small', entryOf([{ a: 1 }], now));
    await off.set('rows', entryOf([rows], now));
    for (const [key, storeName] of [
      ['dated', 'cache'],
      ['small', 'cache'],
      ['rows', 'plain'],
    ] as const) {
      expect(((await rawGet(dbName, key, storeName)) as { encoding: string }).encoding, key).toBe(
        'clone',
      );
    }
    expect((await store.get('dated'))?.values[0]).toEqual(dated);
    expect((await off.get('rows'))?.values[0]).toEqual(rows);
  });

  it('a compressed record that does not decompress is a miss, an event, and deleted', async () => {
    const dbName = uniqueDb();
    const store = track(new IndexedDbStore({ dbName }));
    const events = collect(store);
    await store.set('rows', entryOf([rows], Date.now()));
    const record = (await rawGet(dbName, 'rows')) as { payload: Uint8Array };
    await rawPut(dbName, 'rows', { ...record, payload: record.payload.slice(0, 40) });
    expect(await store.get('rows')).toBeUndefined();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'tier-error', tier: 0, key: 'rows', operation: 'get' });
    const error = errorOf(events[0]);
    expect(error).toBeInstanceOf(CorruptEntryError);
    expect(error).toMatchObject({
      reason: 'undecodable',
      key: 'rows',
      location: `indexedDB ${dbName}/${store.storeName}`,
    });
    expect((error as Error).cause).toBeInstanceOf(Error);
    await expect.poll(() => rawGet(dbName, 'rows')).toBeUndefined();
  });
});

describe('IndexedDbStore failures', () => {
  /** Makes every `put` of a string key throw a QuotaExceededError while `run` runs. */
  async function withQuotaExceeded<T>(run: () => Promise<T>): Promise<T> {
    const original = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (
      this: IDBObjectStore,
      value: unknown,
      key?: IDBValidKey,
    ) {
      if (typeof key === 'string') {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      }
      return original.call(this, value, key);
    };
    try {
      return await run();
    } finally {
      IDBObjectStore.prototype.put = original;
    }
  }

  it('a quota error rejects set and leaves the store as it was (evictions undone)', async () => {
    const dbName = uniqueDb();
    const store = track(new IndexedDbStore({ dbName, maxEntries: 2 }));
    const events = collect(store);
    const now = Date.now();
    await store.set('a', entryOf(['A'], now));
    await store.set('b', entryOf(['B'], now));
    await withQuotaExceeded(async () => {
      const error = await store.set('c', entryOf(['C'], now)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DOMException);
      expect((error as DOMException).name).toBe('QuotaExceededError');
      // Reads still work while writes fail.
      expect((await store.get('a'))?.values).toEqual(['A']);
    });
    expect((await store.keys()).sort()).toEqual(['a', 'b']);
    expect(await store.get('c')).toBeUndefined();
    expect(events).toEqual([]); // set reports through its rejection only
    // The access index was restored: the next write evicts the least recent (b: a was read).
    await store.set('d', entryOf(['D'], now));
    expect((await store.keys()).sort()).toEqual(['a', 'd']);
  });

  it('in a TieredCache a quota error is an event; the memory tier keeps the value', async () => {
    const dbName = uniqueDb();
    const persistent = track(new IndexedDbStore({ dbName }));
    const cache = new TieredCache({ tiers: [{ store: new MemoryStore() }, { store: persistent }] });
    const events = collect(cache);
    const now = Date.now();
    await withQuotaExceeded(async () => {
      await expect(cache.set('k', entryOf(['v'], now))).resolves.toBeUndefined();
      await expect.poll(() => events.length).toBe(1);
    });
    expect(events[0]).toMatchObject({ type: 'tier-error', tier: 1, key: 'k', operation: 'set' });
    expect((errorOf(events[0]) as DOMException).name).toBe('QuotaExceededError');
    expect(await cache.get('k')).toMatchObject({ values: ['v'], tier: 0 });
    expect(await persistent.get('k')).toBeUndefined();
  });

  it('a transaction that aborts with QuotaExceededError (injected idb-keyval UseStore)', async () => {
    const dbName = uniqueDb();
    const real = createIdbKeyvalStore(dbName, 'cache');
    let failWrites = false;
    // A write transaction that fails asynchronously, as an aborted one does.
    const useStore: UseStore = (mode, callback) =>
      failWrites && mode === 'readwrite'
        ? Promise.reject(new DOMException('Quota exceeded', 'QuotaExceededError'))
        : real(mode, callback);
    const store = new IndexedDbStore({ dbName, useStore });
    const now = Date.now();
    await store.set('kept', entryOf(['old'], now));
    failWrites = true;
    await expect(store.set('kept', entryOf(['new'], now))).rejects.toMatchObject({
      name: 'QuotaExceededError',
    });
    await expect(store.set('other', entryOf(['x'], now))).rejects.toMatchObject({
      name: 'QuotaExceededError',
    });
    failWrites = false;
    expect((await store.get('kept'))?.values).toEqual(['old']);
    expect(await store.get('other')).toBeUndefined();
    await store.close();
    // idb-keyval's createStore keeps its connection open: close it so the database can go.
    (await real('readonly', (s) => s.transaction.db)).close();
  });

  it('a value structured clone refuses fails only its own set, not the batch', async () => {
    const dbName = uniqueDb();
    const store = track(new IndexedDbStore({ dbName }));
    const now = Date.now();
    const results = await Promise.allSettled([
      store.set('good', entryOf(['ok'], now)),
      store.set('bad', entryOf([{ callback: () => 1 }], now)),
      store.set('also-good', entryOf([new Date(1)], now)),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(((results[1] as PromiseRejectedResult).reason as DOMException).name).toBe(
      'DataCloneError',
    );
    expect((await store.keys()).sort()).toEqual(['also-good', 'good']);
    expect(await store.get('bad')).toBeUndefined();
  });

  it('a failing read is a miss and an event; get never rejects', async () => {
    const dbName = uniqueDb();
    const store = track(new IndexedDbStore({ dbName }));
    const events = collect(store);
    await store.set('k', entryOf(['v'], Date.now()));
    const original = IDBObjectStore.prototype.get;
    IDBObjectStore.prototype.get = function (this: IDBObjectStore, key: IDBValidKey | IDBKeyRange) {
      if (key === 'k')
        throw new DOMException('The database connection is closing.', 'UnknownError');
      return original.call(this, key);
    };
    try {
      await expect(store.get('k')).resolves.toBeUndefined();
    } finally {
      IDBObjectStore.prototype.get = original;
    }
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'tier-error', tier: 0, key: 'k', operation: 'get' });
    expect((errorOf(events[0]) as DOMException).name).toBe('UnknownError');
    expect((await store.get('k'))?.values).toEqual(['v']);
  });

  it('a record that is not an eed entry is a miss, an event, and deleted', async () => {
    const dbName = uniqueDb();
    const store = track(new IndexedDbStore({ dbName }));
    const events = collect(store);
    await store.get('warm-up'); // creates the database
    await rawPut(dbName, 'garbage', 'not a record');
    await rawPut(dbName, 'old-format', { format: 99, payload: [] });
    expect(await store.get('garbage')).toBeUndefined();
    expect(await store.get('old-format')).toBeUndefined();
    expect(events.map((event) => event.key)).toEqual(['garbage', 'old-format']);
    expect(events.map((event) => (errorOf(event) as CorruptEntryError).reason)).toEqual([
      'garbage',
      'other-version',
    ]);
    expect(events.every((event) => errorOf(event) instanceof CorruptEntryError)).toBe(true);
    await expect.poll(() => rawKeys(dbName)).toEqual([]);
  });

  it('never blocks a deleteDatabase from elsewhere, and reopens afterwards', async () => {
    const dbName = uniqueDb();
    const store = track(new IndexedDbStore({ dbName }));
    await store.set('k', entryOf(['v'], Date.now()));
    let blocked = false;
    await new Promise<void>((resolve, reject) => {
      const req = indexedDB.deleteDatabase(dbName);
      req.onblocked = () => {
        blocked = true;
      };
      req.onsuccess = () => resolve();
      req.onerror = () => reject(req.error);
    });
    expect(blocked).toBe(false);
    expect(await store.get('k')).toBeUndefined(); // a new, empty database
    await store.set('k', entryOf(['again'], Date.now()));
    expect((await store.get('k'))?.values).toEqual(['again']);
  });

  it('a blocked upgrade is a miss and an event, then works once unblocked', async () => {
    const dbName = uniqueDb();
    // An old connection (another tab) that holds the database and ignores versionchange.
    const old = await openRaw(dbName, 1, 'other');
    old.onversionchange = null;
    const store = track(new IndexedDbStore({ dbName, storeName: 'mine' }));
    const events = collect(store);
    expect(await store.get('k')).toBeUndefined();
    expect(events).toHaveLength(1);
    const error = errorOf(events[0]);
    expect(error).toBeInstanceOf(IndexedDbUnavailableError);
    expect(error).toMatchObject({ reason: 'blocked', dbName });
    await expect(store.set('k', entryOf(['v'], Date.now()))).rejects.toBeInstanceOf(
      IndexedDbUnavailableError,
    );
    old.close();
    await expect
      .poll(async () => {
        await store.set('k', entryOf(['v'], Date.now())).catch(() => {});
        return (await store.get('k'))?.values;
      })
      .toEqual(['v']);
  });

  it('stores with different object stores share one database', async () => {
    const dbName = uniqueDb();
    const users = track(new IndexedDbStore({ dbName, storeName: 'users' }));
    const posts = track(new IndexedDbStore({ dbName, storeName: 'posts' }));
    const now = Date.now();
    await users.set('1', entryOf(['Ada'], now));
    await posts.set('1', entryOf(['Hello'], now)); // adds its object store: users reconnects
    await users.set('2', entryOf(['Grace'], now));
    expect((await users.get('1'))?.values).toEqual(['Ada']);
    expect((await posts.get('1'))?.values).toEqual(['Hello']);
    expect((await users.keys()).sort()).toEqual(['1', '2']);
    expect(await posts.keys()).toEqual(['1']);
  });

  it('a connection closed under the store is reopened and the transaction retried', async () => {
    const dbName = uniqueDb();
    const store = track(new IndexedDbStore({ dbName }));
    const events = collect(store);
    await store.set('k', entryOf(['v'], Date.now()));
    const original = IDBDatabase.prototype.transaction;
    let thrown = 0;
    IDBDatabase.prototype.transaction = function (
      this: IDBDatabase,
      ...args: Parameters<IDBDatabase['transaction']>
    ) {
      if (thrown === 0) {
        thrown++;
        this.close(); // what a browser does to a connection it drops
        throw new DOMException('The database connection is closing.', 'InvalidStateError');
      }
      return original.apply(this, args);
    } as IDBDatabase['transaction'];
    try {
      expect((await store.get('k'))?.values).toEqual(['v']);
    } finally {
      IDBDatabase.prototype.transaction = original;
    }
    expect(thrown).toBe(1);
    expect(events).toEqual([]);
  });
});
