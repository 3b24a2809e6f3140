import { type CacheStore, IndexedDbStore, MemoryStore, TieredCache } from 'eed';
import { describeCacheStoreConformance } from '../cache/conformance.js';

// The shared CacheStore conformance suite, in real Chromium, against IndexedDbStore alone and
// as the second tier of a TieredCache. Each test gets its own database, deleted afterwards.

let dbCounter = 0;
/** The IndexedDB store behind each store under test, to close and delete after it. */
const persistentOf = new WeakMap<CacheStore, IndexedDbStore>();

function uniqueDb(): string {
  return `eed-conformance-${Date.now()}-${++dbCounter}-${Math.random().toString(36).slice(2)}`;
}

function deleteDb(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

async function cleanup(store: CacheStore): Promise<void> {
  const persistent = persistentOf.get(store);
  if (persistent === undefined) return;
  await persistent.close();
  await deleteDb(persistent.dbName);
}

describeCacheStoreConformance(
  'IndexedDbStore',
  ({ clock }) => {
    const store = new IndexedDbStore({ dbName: uniqueDb(), clock });
    persistentOf.set(store, store);
    return store;
  },
  { clock: true, cleanup },
);

describeCacheStoreConformance(
  'IndexedDbStore (compressing everything JSON-lossless)',
  ({ clock }) => {
    const store = new IndexedDbStore({ dbName: uniqueDb(), clock, compressThreshold: 0 });
    persistentOf.set(store, store);
    return store;
  },
  { clock: true, cleanup },
);

describeCacheStoreConformance(
  'TieredCache(MemoryStore -> IndexedDbStore)',
  ({ clock }) => {
    const persistent = new IndexedDbStore({ dbName: uniqueDb(), clock });
    const cache = new TieredCache({
      tiers: [{ store: new MemoryStore({ clock }) }, { store: persistent }],
      clock,
      // Reads of the IndexedDB tier must not be abandoned on a slow CI machine.
      timeoutMs: 10_000,
    });
    persistentOf.set(cache, persistent);
    return cache;
  },
  { clock: true, cleanup },
);
