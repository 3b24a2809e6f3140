import {
  BrowserCache,
  type CacheEntry,
  createBrowserCache,
  createEngine,
  type ExecutionEvent,
  IndexedDbStore,
  MemoryStore,
  TieredCache,
} from 'eed';
import { lastValueFrom } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// createBrowserCache in real Chromium: the "done when" — a reloaded page is served
// from IndexedDB — and a failing IndexedDB never hurting a run.

/** The database createBrowserCache() uses by default. */
const DEFAULT_DB = 'eed';

/** Caches a test created; their IndexedDB connections are closed after it. */
const caches: BrowserCache[] = [];

function track(cache: BrowserCache): BrowserCache {
  caches.push(cache);
  return cache;
}

function deleteDb(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

beforeEach(() => deleteDb(DEFAULT_DB));

afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.indexedDb.close()));
  await deleteDb(DEFAULT_DB);
});

interface Report {
  readonly title: string;
  readonly at: Date;
  readonly totals: Map<string, number>;
  readonly samples: Float64Array;
}

/** A work function that counts its executions. */
function countedWork() {
  const counter = {
    executions: 0,
    work: async (): Promise<Report> => {
      counter.executions++;
      return {
        title: 'quarterly',
        at: new Date('2024-03-31T00:00:00Z'),
        totals: new Map([
          ['eu', 12],
          ['us', 30],
        ]),
        samples: new Float64Array([1.5, 2.5]),
      };
    },
  };
  return counter;
}

describe('createBrowserCache', () => {
  it('is a TieredCache of a MemoryStore over an IndexedDbStore with the seed defaults', () => {
    const cache = track(createBrowserCache());
    expect(cache).toBeInstanceOf(BrowserCache);
    expect(cache).toBeInstanceOf(TieredCache);
    expect(cache.depth).toBe(2);
    expect(cache.memory).toBeInstanceOf(MemoryStore);
    expect(cache.indexedDb).toBeInstanceOf(IndexedDbStore);
    expect(cache.indexedDb.dbName).toBe('eed');
    expect(cache.indexedDb.storeName).toBe('cache');
  });

  it('done when: a reloaded page is served from IndexedDB (no execution, a tier-1 hit)', async () => {
    // Page 1: runs the work once; the result is written to memory and to IndexedDB.
    const page1 = countedWork();
    const cache1 = track(createBrowserCache());
    const engine1 = createEngine({ cache: cache1 });
    const first = await lastValueFrom(engine1.run('report:q1', page1.work));
    expect(page1.executions).toBe(1);
    expect(engine1.metrics().executions).toBe(1);
    // The IndexedDB write is fire-and-forget: wait for it to land, then "unload" the page.
    await expect.poll(async () => (await cache1.indexedDb.get('report:q1'))?.values.length).toBe(1);
    await cache1.indexedDb.close();

    // Page 2, after a reload: a new engine, a new cache, the same database.
    const page2 = countedWork();
    const cache2 = track(createBrowserCache());
    const engine2 = createEngine({ cache: cache2 });
    const events: ExecutionEvent[] = [];
    engine2.events$.subscribe((event) => events.push(event));
    const served = await lastValueFrom(engine2.run('report:q1', page2.work));

    expect(page2.executions).toBe(0);
    expect(engine2.metrics()).toMatchObject({ executions: 0, cacheHits: 1, cacheMisses: 0 });
    expect(engine2.metrics().tiers[1]?.hits).toBe(1);
    expect(events.filter((event) => event.type === 'cache-hit')).toEqual([
      expect.objectContaining({ key: 'report:q1', tier: 1 }),
    ]);
    expect(events.filter((event) => event.type === 'cache-error')).toEqual([]);
    // Structured clone kept the types.
    expect(served).toEqual(first);
    expect(served.at).toBeInstanceOf(Date);
    expect(served.totals).toBeInstanceOf(Map);
    expect(served.samples).toBeInstanceOf(Float64Array);

    // The hit was promoted to memory: the next run is a tier-0 hit, still no execution.
    await expect.poll(() => cache2.memory.size).toBe(1);
    await lastValueFrom(engine2.run('report:q1', page2.work));
    expect(page2.executions).toBe(0);
    expect(engine2.metrics().tiers[0]?.hits).toBe(1);
  });

  it('a full IndexedDB (quota) never fails a run: an event, and memory serves the value', async () => {
    const cache = track(createBrowserCache());
    const engine = createEngine({ cache });
    const events: ExecutionEvent[] = [];
    engine.events$.subscribe((event) => events.push(event));
    const counter = countedWork();
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
    let value: Report;
    try {
      value = await lastValueFrom(engine.run('report', counter.work));
      await expect
        .poll(() => events.filter((event) => event.type === 'cache-error').length)
        .toBe(1);
    } finally {
      IDBObjectStore.prototype.put = original;
    }
    expect(value.title).toBe('quarterly');
    const error = events.find((event) => event.type === 'cache-error');
    expect(error).toMatchObject({ key: 'report', operation: 'set', tier: 1 });
    expect((error as { error: DOMException }).error.name).toBe('QuotaExceededError');
    expect(engine.metrics().failures).toBe(0);
    // Memory kept it: the next run is a hit without work.
    await lastValueFrom(engine.run('report', counter.work));
    expect(engine.metrics().executions).toBe(1);
    expect(engine.metrics().tiers[0]?.hits).toBe(1);
  });

  it("the IndexedDB store's own read failures reach the engine as tier-1 cache errors", async () => {
    const cache = track(createBrowserCache());
    const engine = createEngine({ cache });
    const events: ExecutionEvent[] = [];
    engine.events$.subscribe((event) => events.push(event));
    const counter = countedWork();
    const original = IDBObjectStore.prototype.get;
    IDBObjectStore.prototype.get = function (this: IDBObjectStore, key: IDBValidKey | IDBKeyRange) {
      if (key === 'report') throw new DOMException('Read failed', 'UnknownError');
      return original.call(this, key);
    };
    try {
      await lastValueFrom(engine.run('report', counter.work));
    } finally {
      IDBObjectStore.prototype.get = original;
    }
    expect(counter.executions).toBe(1);
    expect(events.filter((event) => event.type === 'cache-error')).toEqual([
      expect.objectContaining({ key: 'report', operation: 'get', tier: 1 }),
    ]);
    expect(engine.metrics().cacheMisses).toBe(1);
  });

  it('per-tier options and lifetimes', async () => {
    let now = Date.now();
    const clock = { now: () => now };
    const dbName = `eed-browser-cache-${Math.random().toString(36).slice(2)}`;
    const cache = track(
      createBrowserCache({
        memory: { maxEntries: 2 },
        indexedDb: { dbName, maxEntries: 100 },
        ttl: { memory: 1_000, indexedDb: 10_000 },
        clock,
      }),
    );
    expect(cache.memory.maxEntries).toBe(2);
    expect(cache.indexedDb.maxEntries).toBe(100);
    const entry: CacheEntry = {
      values: ['v'],
      storedAt: now,
      expiresAt: Number.POSITIVE_INFINITY,
      cost: 5,
      size: 0,
    };
    await cache.set('k', entry);
    await expect.poll(async () => (await cache.indexedDb.get('k'))?.expiresAt).toBe(now + 10_000);
    expect(cache.memory.getSync('k')?.expiresAt).toBe(now + 1_000);
    now += 2_000; // past the memory tier's lifetime, within IndexedDB's
    expect(await cache.get('k')).toMatchObject({ values: ['v'], tier: 1 });
    now += 10_000;
    expect(await cache.get('k')).toBeUndefined();
    await cache.indexedDb.close();
    await deleteDb(dbName);
  });
});
