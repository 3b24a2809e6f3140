import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import type { CacheEntry } from 'eed';
import { FileSystemStore, RedisStore } from 'eed/node';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_HEADER_BYTES } from '../../src/cache/codec.js';
import { encodeKeyBytes, escapeGlob } from '../../src/node/redisKeys.js';
import {
  checkStoreModel,
  type OpenStore,
  type Step,
  type StoreModel,
  setSpec,
} from '../cache/storeModel.js';
import { createTestClient, describeWithRedis, uniquePrefix } from './redis.js';

/*
 * Model-based property tests of the CacheStore contract (src/cache/types.ts) against
 * FileSystemStore and RedisStore. The model and the commands are in
 * test/cache/storeModel.ts (see its comment); what differs per store is said there and
 * here.
 *
 * FileSystemStore: a fresh directory per run (`<os.tmpdir()>/eed-model-*` + `/cache`, so the
 * store creates it); `reopen()` starts a new instance on the directory mid-run, as the next
 * process would: every entry file survives (expired ones until something notices them),
 * the new instance knows none of them until it scans the directory. After every command
 * the directory holds exactly one file per entry the model holds, named by the SHA-256 of
 * the key's UTF-16 code units ("no key ever becomes a path"), no temporary file is left,
 * and nothing else appears next to the directory. Bounded runs (`maxBytes`, LRU, no
 * compression so that each entry file's length is known: header + key + v8 payload)
 * predict every eviction; cost-aware and compressing runs keep within their bounds.
 *
 * RedisStore: a fresh prefix per run (with glob characters, which must not match other
 * runs' keys), an optional `ttl` cap, small `scanCount`s (so `keys` and `clear` page);
 * `reopen()` is a new store on the same prefix. Redis expires entries by its own clock, so
 * lifetimes and clock steps are multiples of 2 minutes (the store's manual clock moves;
 * Redis' does not, and no entry it holds may expire by it during a run). After every
 * command the prefix holds exactly the model's entries, each with a Redis TTL iff its
 * `expiresAt` is finite ("no PX when the entry never expires; ttl caps it").
 */

/** The name FileSystemStore gives `key`'s file: SHA-256 of its UTF-16LE code units, in hex. */
const fileNameOf = (key: string): string =>
  createHash('sha256').update(Buffer.from(key, 'utf16le')).digest('hex');

/** The length of the file FileSystemStore writes for an uncompressed entry. */
const fileBytesOf = (key: string, entry: CacheEntry): number =>
  RECORD_HEADER_BYTES + 2 * key.length + serialize(entry.values).length;

interface FileSystemConfig {
  readonly policy: 'lru' | 'cost-aware';
  readonly maxBytes: number | undefined;
  readonly compressThreshold: number | undefined;
}

const fileSystemConfigArb: fc.Arbitrary<FileSystemConfig> = fc.oneof(
  // Bounded, LRU, uncompressed: the model predicts every eviction.
  {
    weight: 3,
    arbitrary: fc.record({
      policy: fc.constant('lru' as const),
      maxBytes: fc.noBias(fc.integer({ min: 100, max: 450 })),
      compressThreshold: fc.constant(Number.POSITIVE_INFINITY),
    }),
  },
  // Unbounded; entries compressed (0), above 16 KiB (default), or never.
  {
    weight: 2,
    arbitrary: fc.record({
      policy: fc.constantFrom('lru' as const, 'cost-aware' as const),
      maxBytes: fc.constantFrom(Number.POSITIVE_INFINITY, undefined),
      compressThreshold: fc.constantFrom(0, undefined, Number.POSITIVE_INFINITY),
    }),
  },
  // Cost-aware, within its bound (5 keys of at most 80 KiB files each).
  {
    weight: 1,
    arbitrary: fc.record({
      policy: fc.constant('cost-aware' as const),
      maxBytes: fc.constant(1e9),
      compressThreshold: fc.constant(Number.POSITIVE_INFINITY),
    }),
  },
);

const openFileSystemStore: OpenStore<FileSystemConfig> = async (config, clock) => {
  const root = mkdtempSync(join(tmpdir(), 'eed-model-'));
  const dir = join(root, 'cache');
  const open = () =>
    new FileSystemStore({
      dir,
      clock,
      policy: config.policy,
      ...(config.maxBytes === undefined ? {} : { maxBytes: config.maxBytes }),
      ...(config.compressThreshold === undefined
        ? {}
        : { compressThreshold: config.compressThreshold }),
    });
  let store = open();
  const maxBytes = config.maxBytes ?? Number.POSITIVE_INFINITY;
  return {
    harness: {
      store,
      clock,
      async reopen() {
        await store.flush();
        store = open();
        this.store = store;
      },
      verify(model: StoreModel) {
        // Nothing escapes the directory...
        expect(
          readdirSync(root).filter((name) => name !== 'cache'),
          'next to the cache',
        ).toEqual([]);
        // ...and it holds one file per entry held, named by the hash of the key.
        const files = existsSync(dir) ? readdirSync(dir).sort() : [];
        const expected = [...model.held.keys()].map(fileNameOf).sort();
        expect(files, 'entry files in the cache directory').toEqual(expected);
      },
      async dispose() {
        await store.flush();
        rmSync(root, { recursive: true, force: true });
      },
    },
    model: {
      semantics: 'filesystem',
      maxBytes,
      eviction: config.policy === 'lru' ? 'lru' : 'none',
      bytesOf: fileBytesOf,
      reopenable: true,
    },
  };
};

/**
 * `set('a', 1)`, `clear()`, `set('a', 2)`, called without waiting, then `get('a')`, which
 * must find 2: that set was called after the clear. Six times: the FileSystemStore race
 * is lost about 94 times in 100 on one try (a set awaited before the clear: 25).
 */
const SET_AFTER_CLEAR: readonly Step[] = Array.from({ length: 6 }, (): Step[] => [
  {
    kind: 'burst',
    ops: [
      { kind: 'set', key: 0, spec: setSpec([1]), sync: false },
      { kind: 'set', key: 0, spec: setSpec([2]), sync: false },
    ],
    clearAt: 1,
  },
  { kind: 'get', key: 0, sync: false },
]).flat();

describe('CacheStore model (fast-check): FileSystemStore', () => {
  it('answers get, set, delete, clear and keys as the model, across expiry boundaries, LRU evictions by maxBytes and restarts', async () => {
    await checkStoreModel(fileSystemConfigArb, openFileSystemStore, {
      numRuns: 300,
      timeScale: 1_000,
      maxCommands: 40,
    });
  });

  // Once a bug: clear() waited for the operations called before it, but an operation
  // called after it started at once, and clear() then unlinked its temporary file (ENOENT
  // on the rename) or its renamed entry (the write lost). Shrunk to burst[set(k), clear,
  // set(k)]; pinned below. Now operations on keys called after clear() wait for it.
  it('an operation called after clear() takes effect after it (clear() anywhere in a burst)', async () => {
    await checkStoreModel(fileSystemConfigArb, openFileSystemStore, {
      numRuns: 100,
      timeScale: 1_000,
      maxCommands: 40,
      clearInBursts: 'anywhere',
      examples: [
        [
          { policy: 'lru', maxBytes: undefined, compressThreshold: undefined },
          ['a'],
          SET_AFTER_CLEAR,
        ],
      ],
    });
  });
});

// ---------------------------------------------------------------------------------------
// RedisStore

/** Redis' clock does not move with the store's: lifetimes far longer than a run. */
const REDIS_TIME_SCALE = 120_000;

interface RedisConfig {
  readonly ttl: number | undefined;
  readonly compressThreshold: number | undefined;
  readonly scanCount: number | undefined;
}

const redisConfigArb: fc.Arbitrary<RedisConfig> = fc.record({
  ttl: fc.constantFrom(undefined, 2 * REDIS_TIME_SCALE, 5 * REDIS_TIME_SCALE),
  compressThreshold: fc.constantFrom(undefined, 0),
  scanCount: fc.constantFrom(undefined, 1, 2, 3),
});

describeWithRedis('CacheStore model (fast-check): RedisStore', () => {
  let client: Redis;
  beforeAll(() => {
    client = createTestClient();
  });
  afterAll(async () => {
    await client.quit();
  });

  /** Every Redis key under `prefix`. */
  async function namesUnder(prefix: string): Promise<Buffer[]> {
    const names: Buffer[] = [];
    let cursor = '0';
    do {
      const [next, page] = await client.scanBuffer(
        cursor,
        'MATCH',
        `${escapeGlob(prefix)}*`,
        'COUNT',
        1_000,
      );
      cursor = next.toString();
      names.push(...page);
    } while (cursor !== '0');
    return names;
  }

  const openRedisStore: OpenStore<RedisConfig> = async (config, clock) => {
    const prefix = uniquePrefix('model*?[');
    const open = () =>
      new RedisStore({
        client,
        prefix,
        clock,
        ...(config.ttl === undefined ? {} : { ttl: config.ttl }),
        ...(config.compressThreshold === undefined
          ? {}
          : { compressThreshold: config.compressThreshold }),
        ...(config.scanCount === undefined ? {} : { scanCount: config.scanCount }),
      });
    let store = open();
    return {
      harness: {
        store,
        clock,
        async reopen() {
          await store.close();
          store = open();
          this.store = store;
        },
        async verify(model: StoreModel) {
          const names = await namesUnder(prefix);
          expect(
            new Set(names.map((name) => name.toString('hex'))).size,
            'keys under the prefix',
          ).toBe(model.held.size);
          for (const [key, held] of model.held) {
            const name = Buffer.concat([Buffer.from(prefix), encodeKeyBytes(key)]);
            const pttl = await client.pttl(name);
            if (held.expected.expiresAt === Number.POSITIVE_INFINITY) {
              expect(pttl, `no Redis TTL for ${JSON.stringify(key.slice(0, 30))}`).toBe(-1);
            } else {
              expect(pttl, `a Redis TTL for ${JSON.stringify(key.slice(0, 30))}`).toBeGreaterThan(
                0,
              );
            }
          }
        },
        async dispose() {
          await store.clear();
          await store.close();
          expect(await namesUnder(prefix)).toEqual([]);
        },
      },
      model: {
        semantics: 'redis',
        eviction: 'none',
        ...(config.ttl === undefined ? {} : { ttlCap: config.ttl }),
        reopenable: true,
      },
    };
  };

  it('answers get, set, delete, clear and keys as the model, across expiry boundaries (its clock), ttl caps and restarts', async () => {
    await checkStoreModel(redisConfigArb, openRedisStore, {
      numRuns: 120,
      timeScale: REDIS_TIME_SCALE,
      maxCommands: 40,
    });
  });

  // Once a bug, as for FileSystemStore: a set() called right after clear() landed before
  // clear's SCAN and was then unlinked by it, silently (the write lost). Shrunk to set(k, 1),
  // burst[clear, set(k, 2)]; pinned below. Now operations called after clear() wait for it.
  it('an operation called after clear() takes effect after it (clear() anywhere in a burst)', async () => {
    await checkStoreModel(redisConfigArb, openRedisStore, {
      numRuns: 50,
      timeScale: REDIS_TIME_SCALE,
      maxCommands: 40,
      clearInBursts: 'anywhere',
      examples: [
        [
          { ttl: undefined, compressThreshold: undefined, scanCount: undefined },
          ['a'],
          SET_AFTER_CLEAR,
        ],
      ],
    });
  });
});
