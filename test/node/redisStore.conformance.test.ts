import { MemoryStore, TieredCache } from 'eed';
import { RedisStore } from 'eed/node';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { describeCacheStoreConformance } from '../cache/conformance.js';
import { tempDirs } from './helpers.js';
import { createTestClient, describeWithRedis, redisUrl, uniquePrefix } from './redis.js';

describeWithRedis('RedisStore conformance', () => {
  let client: Redis;
  beforeAll(() => {
    client = createTestClient();
  });
  afterAll(async () => {
    await client.quit();
  });
  const temp = tempDirs();
  afterAll(temp.removeAll);

  /** Clears only the test's own prefix, then closes the store. */
  const cleanup = async (store: unknown): Promise<void> => {
    const redis = store as RedisStore;
    await redis.clear();
    await redis.close();
  };

  describeCacheStoreConformance(
    'RedisStore (shared client, manual clock)',
    ({ clock }) => new RedisStore({ client, prefix: uniquePrefix('conformance'), clock }),
    { clock: true, cleanup },
  );

  describeCacheStoreConformance(
    'RedisStore (own client from url, every entry compressed, wall clock)',
    () =>
      new RedisStore({ url: redisUrl(), prefix: uniquePrefix('conf[url]*'), compressThreshold: 0 }),
    { cleanup },
  );

  // Written by one store, read by another on the same prefix: what the suite checks
  // survives the trip through Redis, as it would to another process.
  describeCacheStoreConformance(
    'RedisStore (written by one store, read by another)',
    ({ clock }) => {
      const prefix = uniquePrefix('two');
      const writer = new RedisStore({ client, prefix, clock });
      const reader = new RedisStore({ url: redisUrl(), prefix, clock });
      return {
        get: (key) => reader.get(key),
        set: (key, entry) => writer.set(key, entry),
        delete: (key) => writer.delete(key),
        clear: () => writer.clear(),
        keys: () => reader.keys(),
        close: () => reader.close(),
      } as RedisStore;
    },
    { clock: true, cleanup },
  );

  describeCacheStoreConformance(
    'TieredCache (MemoryStore -> RedisStore)',
    ({ clock }) =>
      new TieredCache({
        tiers: [
          { store: new MemoryStore({ clock }) },
          { store: new RedisStore({ client, prefix: uniquePrefix('tiered'), clock }) },
        ],
        clock,
      }),
    { clock: true, cleanup: (cache) => cache.clear() },
  );
});
