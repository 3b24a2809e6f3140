import { MemoryStore } from 'eed';
import { describeCacheStoreConformance } from './conformance.js';

describeCacheStoreConformance(
  'MemoryStore (lru, manual clock)',
  ({ clock }) => new MemoryStore({ clock }),
  {
    clock: true,
  },
);

describeCacheStoreConformance('MemoryStore (lru, wall clock)', () => new MemoryStore());

describeCacheStoreConformance(
  'MemoryStore (cost-aware, bounded)',
  ({ clock }) =>
    new MemoryStore({ clock, policy: 'cost-aware', maxEntries: 5_000, maxBytes: 64 * 1024 * 1024 }),
  { clock: true },
);

describeCacheStoreConformance(
  'MemoryStore (sweeping)',
  ({ clock }) => new MemoryStore({ clock, sweepIntervalMs: 10 }),
  { clock: true, cleanup: (store) => (store as MemoryStore).dispose() },
);
