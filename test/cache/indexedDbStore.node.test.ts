import type { CacheEntry, CacheStoreEvent, ExecutionEvent } from 'eed';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// Node has no IndexedDB. These tests prove that importing eed, constructing an
// IndexedDbStore or a browser cache touch no IndexedDB API (safe for server-side rendering),
// and that using them without IndexedDB degrades to misses and events. Every eed module is
// imported dynamically, after the watch on `globalThis.indexedDB` is in place.

/** The module's JSON check (not part of the public API). */
const loadIsJsonLossless = async () =>
  (await import('../../src/cache/IndexedDbStore.js')).isJsonLossless;

/** Counts reads of `globalThis.indexedDB` and serves whatever `value` is set to. */
function watchIndexedDb() {
  const watch = { reads: 0, value: undefined as unknown };
  Object.defineProperty(globalThis, 'indexedDB', {
    configurable: true,
    get() {
      watch.reads++;
      return watch.value;
    },
  });
  return watch;
}

const entryOf = (values: readonly unknown[], ttl = 60_000): CacheEntry => {
  const storedAt = Date.now();
  return { values, storedAt, expiresAt: storedAt + ttl, cost: 10, size: 0 };
};

describe('IndexedDbStore without IndexedDB (Node, SSR)', () => {
  let watch: ReturnType<typeof watchIndexedDb>;

  beforeEach(() => {
    watch = watchIndexedDb();
  });

  afterEach(() => {
    Reflect.deleteProperty(globalThis, 'indexedDB');
  });

  it('importing eed and constructing stores and caches touches no IndexedDB API', async () => {
    const eed = await import('eed');
    const store = new eed.IndexedDbStore();
    const named = new eed.IndexedDbStore({ dbName: 'app', storeName: 'results', maxEntries: 10 });
    const cache = eed.createBrowserCache();
    const engine = eed.createEngine({ cache });
    expect(store.dbName).toBe('eed');
    expect(store.storeName).toBe('cache');
    expect(store.maxEntries).toBe(10_000);
    expect(store.compressThreshold).toBe(16 * 1024);
    expect(named.maxEntries).toBe(10);
    expect(cache.depth).toBe(2);
    expect(engine.executor.concurrency).toBeGreaterThan(0);
    expect(watch.reads).toBe(0);
  });

  it('get is a miss plus an event; set, delete, keys and prune reject; nothing throws synchronously', async () => {
    const { IndexedDbStore, IndexedDbUnavailableError } = await import('eed');
    const store = new IndexedDbStore({ dbName: 'ssr' });
    const events: CacheStoreEvent[] = [];
    store.events$.subscribe((event) => events.push(event));

    await expect(store.get('k')).resolves.toBeUndefined();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'tier-error', tier: 0, key: 'k', operation: 'get' });
    const error = (events[0] as { error: unknown }).error;
    expect(error).toBeInstanceOf(IndexedDbUnavailableError);
    expect(error).toMatchObject({ reason: 'missing', dbName: 'ssr' });
    expect(String((error as Error).message)).toMatch(/not available/);

    await expect(store.set('k', entryOf(['v']))).rejects.toBeInstanceOf(IndexedDbUnavailableError);
    await expect(store.delete('k')).rejects.toBeInstanceOf(IndexedDbUnavailableError);
    await expect(store.keys()).rejects.toBeInstanceOf(IndexedDbUnavailableError);
    await expect(store.prune()).rejects.toBeInstanceOf(IndexedDbUnavailableError);
    await expect(store.clear()).rejects.toBeInstanceOf(IndexedDbUnavailableError);
    await expect(store.flush()).resolves.toBeUndefined();
    await expect(store.close()).resolves.toBeUndefined();
    // set/delete/... report through their rejection only: still the one get event.
    expect(events).toHaveLength(1);
    expect(watch.reads).toBeGreaterThan(0);
  });

  it('retries on each use: IndexedDB appearing later is picked up', async () => {
    const { IndexedDbStore } = await import('eed');
    const store = new IndexedDbStore();
    await expect(store.get('k')).resolves.toBeUndefined();
    let opened = 0;
    watch.value = {
      open() {
        opened++;
        throw new DOMException('storage is disabled', 'SecurityError');
      },
    };
    const events: CacheStoreEvent[] = [];
    store.events$.subscribe((event) => events.push(event));
    await expect(store.get('k')).resolves.toBeUndefined();
    expect(opened).toBe(1);
    expect(events).toHaveLength(1);
    expect((events[0] as { error: Error }).error.name).toBe('SecurityError');
    await expect(store.set('k', entryOf(['v']))).rejects.toMatchObject({ name: 'SecurityError' });
    expect(opened).toBe(2);
  });

  it('an engine over createBrowserCache works from memory and reports the IndexedDB tier', async () => {
    const { createBrowserCache, createEngine, IndexedDbUnavailableError } = await import('eed');
    const cache = createBrowserCache();
    const engine = createEngine({ cache });
    const events: ExecutionEvent[] = [];
    engine.events$.subscribe((event) => events.push(event));
    let executions = 0;
    const work = async () => {
      executions++;
      return { answer: 42, at: new Date(0) };
    };

    expect(await lastValueFrom(engine.run('q', work))).toEqual({ answer: 42, at: new Date(0) });
    await new Promise((resolve) => setTimeout(resolve, 10)); // let the background write settle
    expect(await lastValueFrom(engine.run('q', work))).toEqual({ answer: 42, at: new Date(0) });
    expect(executions).toBe(1);

    const hits = events.filter((event) => event.type === 'cache-hit');
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ tier: 0 });
    const errors = events.filter((event) => event.type === 'cache-error');
    expect(errors.length).toBeGreaterThan(0);
    for (const event of errors) {
      expect(event).toMatchObject({ tier: 1 });
      expect((event as { error: unknown }).error).toBeInstanceOf(IndexedDbUnavailableError);
    }
    // The get failure (a miss inside the store) and the set failure (a rejection) both arrive.
    expect(new Set(errors.map((event) => (event as { operation: string }).operation))).toEqual(
      new Set(['get', 'set']),
    );
  });

  it("the cache's events$ carries the store's own events re-labelled with tier 1", async () => {
    const { createBrowserCache } = await import('eed');
    const cache = createBrowserCache();
    const first = firstValueFrom(cache.events$);
    expect(await cache.get('x')).toBeUndefined();
    expect(await first).toMatchObject({ type: 'tier-error', tier: 1, key: 'x', operation: 'get' });
  });
});

describe('IndexedDbStore options', () => {
  it('rejects invalid options, naming them', async () => {
    const { IndexedDbStore } = await import('eed');
    expect(() => new IndexedDbStore({ dbName: '' })).toThrow(/dbName/);
    expect(() => new IndexedDbStore({ storeName: 3 as unknown as string })).toThrow(/storeName/);
    expect(() => new IndexedDbStore({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => new IndexedDbStore({ maxEntries: 1.5 })).toThrow(/maxEntries/);
    expect(() => new IndexedDbStore({ compressThreshold: -1 })).toThrow(/compressThreshold/);
    expect(() => new IndexedDbStore({ clock: {} as { now(): number } })).toThrow(/clock\.now/);
    expect(() => new IndexedDbStore(null as unknown as object)).toThrow(TypeError);
    expect(new IndexedDbStore({ maxEntries: Number.POSITIVE_INFINITY }).maxEntries).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it('createBrowserCache validates its options', async () => {
    const { createBrowserCache } = await import('eed');
    expect(() => createBrowserCache({ ttl: { indexedDb: -1 } })).toThrow(/ttl/);
    expect(() => createBrowserCache({ timeoutMs: -5 })).toThrow(/timeoutMs/);
    expect(() => createBrowserCache({ memory: { maxEntries: 0 } })).toThrow(/maxEntries/);
    expect(() => createBrowserCache({ indexedDb: { dbName: '' } })).toThrow(/dbName/);
  });
});

describe('isJsonLossless (which values may be stored compressed)', () => {
  it('accepts plain JSON data', async () => {
    const isJsonLossless = await loadIsJsonLossless();
    expect(isJsonLossless([])).toBe(true);
    expect(isJsonLossless([{ id: 1, name: 'Ada', tags: ['x', 'y'], ok: true, none: null }])).toBe(
      true,
    );
    expect(isJsonLossless([Object.assign(Object.create(null), { a: 1 })])).toBe(true);
    expect(isJsonLossless([JSON.parse('{"__proto__": 1}')])).toBe(true);
    expect(isJsonLossless(['\ud800 lone surrogate'])).toBe(true);
  });

  it('rejects what JSON would change', async () => {
    const isJsonLossless = await loadIsJsonLossless();
    const shared = { n: 1 };
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    const extra: number[] & { note?: string } = [1];
    extra.note = 'x';
    for (const value of [
      new Date(0),
      new Map(),
      new Set(),
      new Uint8Array(1),
      /re/,
      undefined,
      { a: undefined },
      [undefined],
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -0,
      1n,
      () => 1,
      Symbol('s'),
      [shared, shared],
      cyclic,
      // biome-ignore lint/suspicious/noSparseArray: a hole is the point
      [1, , 3],
      extra,
      new (class Point {
        x = 1;
      })(),
    ]) {
      expect(isJsonLossless([value]), String(typeof value)).toBe(false);
    }
  });
});
