import { type CacheStore, MemoryStore, TieredCache } from 'eed';
import { createNodeCache, FileSystemStore } from 'eed/node';
import { afterAll } from 'vitest';
import { describeCacheStoreConformance } from '../cache/conformance.js';
import { tempDirs } from './helpers.js';

const temp = tempDirs();
afterAll(temp.removeAll);

describeCacheStoreConformance(
  'FileSystemStore (lru, manual clock)',
  ({ clock }) => new FileSystemStore({ dir: temp.make(), clock }),
  { clock: true },
);

describeCacheStoreConformance(
  'FileSystemStore (cost-aware, bounded, every entry compressed)',
  ({ clock }) =>
    new FileSystemStore({
      dir: temp.make(),
      clock,
      policy: 'cost-aware',
      maxBytes: 256 * 1024 * 1024,
      compressThreshold: 0,
    }),
  { clock: true },
);

describeCacheStoreConformance('FileSystemStore (wall clock, nested new dir)', () => {
  return new FileSystemStore({ dir: `${temp.make()}/a/b/c` });
});

// Writes through one instance, reads through another on the same directory: everything the
// suite checks must survive the trip through the disk (as it would to the next process).
describeCacheStoreConformance(
  'FileSystemStore (written by one instance, read by another)',
  ({ clock }) => {
    const dir = temp.make();
    const writer = new FileSystemStore({ dir, clock });
    const reader = new FileSystemStore({ dir, clock });
    const store: CacheStore = {
      get: (key) => reader.get(key),
      set: (key, entry) => writer.set(key, entry),
      delete: (key) => writer.delete(key),
      clear: () => writer.clear(),
      keys: () => reader.keys(),
    };
    return store;
  },
  { clock: true },
);

describeCacheStoreConformance(
  'TieredCache (MemoryStore -> FileSystemStore)',
  ({ clock }) =>
    new TieredCache({
      tiers: [
        { store: new MemoryStore({ clock }) },
        { store: new FileSystemStore({ dir: temp.make(), clock }) },
      ],
      clock,
    }),
  { clock: true },
);

describeCacheStoreConformance(
  'createNodeCache (NodeCache)',
  ({ clock }) => createNodeCache({ dir: temp.make(), clock }),
  { clock: true, cleanup: (cache) => (cache as ReturnType<typeof createNodeCache>).flush() },
);
