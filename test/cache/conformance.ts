/**
 * The shared conformance suite every `CacheStore` must pass (MemoryStore, IndexedDbStore in
 * Chromium, FileSystemStore in Node, TieredCache over each). It imports nothing from
 * `node:*`, so browser tests can run it too.
 */
import type { CacheEntry, CacheStore, SyncCacheStore } from 'eed';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * A clock the test moves by hand. Starts at the real wall time, so entries look like
 * entries written now.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const store = new MemoryStore({ clock });
 * clock.advance(60_000);
 * ```
 */
export class ManualClock {
  #now: number;

  /** @param start - the initial time in ms; default `Date.now()`. */
  constructor(start: number = Date.now()) {
    this.#now = start;
  }

  /** The current time in ms. */
  now(): number {
    return this.#now;
  }

  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    this.#now += ms;
  }
}

/**
 * What the suite hands `makeStore` for each test.
 *
 * @example
 * ```ts
 * describeCacheStoreConformance('MemoryStore', ({ clock }) => new MemoryStore({ clock }), { clock: true });
 * ```
 */
export interface ConformanceContext {
  /** A fresh clock per test; pass it to the store when `options.clock` is `true`. */
  readonly clock: ManualClock;
}

/**
 * Options of {@link describeCacheStoreConformance}.
 *
 * @example
 * ```ts
 * const options: CacheStoreConformanceOptions = { clock: true, cleanup: (store) => store.clear() };
 * ```
 */
export interface CacheStoreConformanceOptions {
  /**
   * Whether the store reads `context.clock` for expiry. Then the TTL tests move that clock
   * across an entry's `expiresAt`; otherwise they write entries whose `expiresAt` is already
   * in the past (or far in the future) by the real clock. Default `false`.
   */
  clock?: boolean;
  /**
   * Whether the store keeps every structured-clone type (Date, Map, Set, typed arrays,
   * bigint, RegExp, shared and cyclic references...). Default `true`; a JSON-only store
   * would pass `false`.
   */
  structuredCloneTypes?: boolean;
  /** How many keys the "many keys" test writes; the store must hold them all. Default 1,000. */
  manyKeys?: number;
  /** Called after each test with the store, e.g. to close a database or remove a directory. */
  cleanup?: (store: CacheStore) => Promise<void> | void;
}

/** The odd keys every store must treat as ordinary, distinct keys. */
export const ODD_KEYS: readonly string[] = [
  '',
  ' ',
  'héllo wörld',
  '日本語のキー',
  '👩‍👩‍👧‍👦 family',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  '../../etc/passwd',
  '..\\..\\windows\\system32',
  '/absolute/path',
  'a/b/c',
  '\0',
  'nul\0inside',
  'line\nbreak',
  'CON',
  'k'.repeat(10_000),
];

/**
 * Registers the conformance suite for one store implementation: get/set/delete/clear/keys,
 * overwrite, TTL, many keys, odd keys and structured-clone values. `makeStore` is called
 * for every test and must return an empty store that holds at least `manyKeys` entries.
 *
 * @param name - shown in the test names.
 * @param makeStore - a new, empty store; receives a fresh {@link ConformanceContext}.
 * @param options - see {@link CacheStoreConformanceOptions}.
 *
 * @example
 * ```ts
 * import { MemoryStore } from 'eed';
 * import { describeCacheStoreConformance } from './conformance.js';
 *
 * describeCacheStoreConformance('MemoryStore', ({ clock }) => new MemoryStore({ clock }), {
 *   clock: true,
 * });
 * ```
 */
export function describeCacheStoreConformance(
  name: string,
  makeStore: (context: ConformanceContext) => Promise<CacheStore> | CacheStore,
  options: CacheStoreConformanceOptions = {},
): void {
  const { clock: usesClock = false, structuredCloneTypes = true, manyKeys = 1_000 } = options;

  describe(`${name} conforms to CacheStore`, () => {
    let clock: ManualClock;
    let store: CacheStore;

    /** The time the store compares `expiresAt` with. */
    const now = (): number => (usesClock ? clock.now() : Date.now());

    /** An entry written now, valid for `ttl` ms (default: forever). */
    const entryOf = (
      values: readonly unknown[],
      ttl = Number.POSITIVE_INFINITY,
      extra: Partial<CacheEntry> = {},
    ): CacheEntry => {
      const storedAt = now();
      return { values, storedAt, expiresAt: storedAt + ttl, cost: 25, size: 0, ...extra };
    };

    beforeEach(async () => {
      clock = new ManualClock();
      store = await makeStore({ clock });
    });

    afterEach(async () => {
      await options.cleanup?.(store);
    });

    describe('basic operations', () => {
      it('returns undefined for a key never written', async () => {
        expect(await store.get('missing')).toBeUndefined();
        expect(await store.keys()).toEqual([]);
      });

      it('returns what was set: values, times and cost', async () => {
        const entry = entryOf([{ id: 1, name: 'Ada' }], 60_000, { cost: 120 });
        await store.set('user:1', entry);
        const read = await store.get('user:1');
        expect(read).toBeDefined();
        expect(read?.values).toEqual([{ id: 1, name: 'Ada' }]);
        expect(read?.storedAt).toBe(entry.storedAt);
        expect(read?.expiresAt).toBe(entry.expiresAt);
        expect(read?.cost).toBe(120);
        expect(read?.size).toBeGreaterThanOrEqual(0);
      });

      it('keeps several values in order', async () => {
        await store.set('multi', entryOf([1, 'two', { three: 3 }, [4], null]));
        expect((await store.get('multi'))?.values).toEqual([1, 'two', { three: 3 }, [4], null]);
      });

      it('keeps an entry with no values (work that completed without emitting)', async () => {
        await store.set('empty', entryOf([]));
        expect((await store.get('empty'))?.values).toEqual([]);
      });

      it('returns settled promises and answers get/set/delete/clear/keys', async () => {
        const pending = store.get('k');
        expect(typeof pending.then).toBe('function');
        await pending;
        await expect(store.set('k', entryOf(['v']))).resolves.toBeUndefined();
        await expect(store.keys()).resolves.toEqual(['k']);
        await expect(store.delete('k')).resolves.toBe(true);
        await expect(store.clear()).resolves.toBeUndefined();
      });

      it('overwrites: the last set wins and the key is listed once', async () => {
        await store.set('k', entryOf(['first'], Number.POSITIVE_INFINITY, { cost: 1 }));
        await store.set('k', entryOf(['second'], Number.POSITIVE_INFINITY, { cost: 2 }));
        const read = await store.get('k');
        expect(read?.values).toEqual(['second']);
        expect(read?.cost).toBe(2);
        expect(await store.keys()).toEqual(['k']);
      });

      it('delete removes the entry and reports whether it was there', async () => {
        await store.set('a', entryOf(['A']));
        await store.set('b', entryOf(['B']));
        expect(await store.delete('a')).toBe(true);
        expect(await store.get('a')).toBeUndefined();
        expect((await store.get('b'))?.values).toEqual(['B']);
        expect(await store.delete('a')).toBe(false);
        expect(await store.delete('never')).toBe(false);
        expect(await store.keys()).toEqual(['b']);
      });

      it('clear removes every entry, and the store stays usable', async () => {
        for (const key of ['a', 'b', 'c']) await store.set(key, entryOf([key]));
        await store.clear();
        expect(await store.keys()).toEqual([]);
        for (const key of ['a', 'b', 'c']) expect(await store.get(key)).toBeUndefined();
        await store.set('d', entryOf(['D']));
        expect((await store.get('d'))?.values).toEqual(['D']);
      });

      it('keys lists every stored key once', async () => {
        const keys = ['x', 'y', 'z', 'x'];
        for (const key of keys) await store.set(key, entryOf([key]));
        expect((await store.keys()).sort()).toEqual(['x', 'y', 'z']);
      });

      it('a sync store answers getSync like get', async () => {
        const sync = store as Partial<SyncCacheStore>;
        if (typeof sync.getSync !== 'function') return;
        await store.set('k', entryOf(['v']));
        expect(sync.getSync('k')?.values).toEqual(['v']);
        expect(sync.getSync('other')).toBeUndefined();
      });
    });

    describe('expiry', () => {
      it('never returns an entry written already expired', async () => {
        const storedAt = now() - 10_000;
        await store.set('old', { values: ['x'], storedAt, expiresAt: now() - 1, cost: 1, size: 0 });
        expect(await store.get('old')).toBeUndefined();
      });

      it('keeps an entry with expiresAt Infinity', async () => {
        await store.set('forever', entryOf(['x']));
        if (usesClock) clock.advance(10 * 365 * 24 * 60 * 60_000);
        expect((await store.get('forever'))?.values).toEqual(['x']);
      });

      it('keeps an entry until its expiresAt', async () => {
        await store.set('soon', entryOf(['x'], 60_000));
        expect((await store.get('soon'))?.values).toEqual(['x']);
      });

      it('an overwrite with a later expiresAt extends the lifetime', async () => {
        await store.set('k', entryOf(['old'], 1_000));
        await store.set('k', entryOf(['new'], 120_000));
        if (usesClock) clock.advance(60_000);
        expect((await store.get('k'))?.values).toEqual(['new']);
      });

      it.runIf(usesClock)('treats an entry as absent from its expiresAt on', async () => {
        await store.set('ttl', entryOf(['x'], 1_000));
        clock.advance(999);
        expect((await store.get('ttl'))?.values).toEqual(['x']);
        clock.advance(1);
        expect(await store.get('ttl')).toBeUndefined();
        // Expired entries may linger in keys() until noticed, but never come back.
        expect(await store.get('ttl')).toBeUndefined();
      });

      it.runIf(usesClock)('expires entries independently of each other', async () => {
        await store.set('short', entryOf(['s'], 1_000));
        await store.set('long', entryOf(['l'], 5_000));
        clock.advance(2_000);
        expect(await store.get('short')).toBeUndefined();
        expect((await store.get('long'))?.values).toEqual(['l']);
        clock.advance(3_000);
        expect(await store.get('long')).toBeUndefined();
      });

      it.runIf(usesClock)('a set after expiry stores afresh', async () => {
        await store.set('k', entryOf(['old'], 1_000));
        clock.advance(2_000);
        expect(await store.get('k')).toBeUndefined();
        await store.set('k', entryOf(['new'], 1_000));
        expect((await store.get('k'))?.values).toEqual(['new']);
      });
    });

    describe('many and odd keys', () => {
      it(`holds ${manyKeys} keys`, async () => {
        const keys = Array.from({ length: manyKeys }, (_, i) => `key:${i}`);
        await Promise.all(keys.map((key, i) => store.set(key, entryOf([i, key]))));
        expect((await store.keys()).length).toBe(manyKeys);
        const reads = await Promise.all(keys.map((key) => store.get(key)));
        reads.forEach((read, i) => {
          expect(read?.values).toEqual([i, `key:${i}`]);
        });
      });

      it('treats odd keys as ordinary, distinct keys', async () => {
        for (const [i, key] of ODD_KEYS.entries()) await store.set(key, entryOf([i]));
        for (const [i, key] of ODD_KEYS.entries()) {
          expect((await store.get(key))?.values, `key #${i}`).toEqual([i]);
        }
        expect((await store.keys()).sort()).toEqual([...ODD_KEYS].sort());
        expect(await store.delete('__proto__')).toBe(true);
        expect(await store.get('__proto__')).toBeUndefined();
        expect((await store.get('constructor'))?.values).toEqual([ODD_KEYS.indexOf('constructor')]);
      });

      it('does not see inherited properties as entries, nor pollute prototypes', async () => {
        for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
          expect(await store.get(key)).toBeUndefined();
        }
        await store.set('__proto__', entryOf([{ polluted: true }]));
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.prototype).not.toHaveProperty('polluted');
      });

      it('keeps keys that differ only by a character apart', async () => {
        const long = 'k'.repeat(10_000);
        await store.set(long, entryOf(['long']));
        await store.set(`${long}x`, entryOf(['longer']));
        await store.set('a', entryOf(['a']));
        await store.set('A', entryOf(['A']));
        await store.set('a ', entryOf(['a-space']));
        expect((await store.get(long))?.values).toEqual(['long']);
        expect((await store.get(`${long}x`))?.values).toEqual(['longer']);
        expect((await store.get('a'))?.values).toEqual(['a']);
        expect((await store.get('A'))?.values).toEqual(['A']);
        expect((await store.get('a '))?.values).toEqual(['a-space']);
      });
    });

    describe.runIf(structuredCloneTypes)('structured-clone values', () => {
      it('round-trips every structured-clone type', async () => {
        const buffer = new ArrayBuffer(8);
        new Uint8Array(buffer).set([1, 2, 3, 4, 5, 6, 7, 8]);
        const values = [
          new Date('2024-02-29T12:34:56.789Z'),
          new Map<unknown, unknown>([
            ['a', 1],
            [2, { b: [3] }],
          ]),
          new Set(['x', 1, null]),
          new Uint8Array([0, 1, 255]),
          new Int32Array([-1, 0, 2 ** 31 - 1]),
          new Float64Array([Math.PI, Number.NEGATIVE_INFINITY]),
          new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]),
          buffer,
          { nested: { deeper: { deepest: [1, { x: 'y' }] } }, empty: {} },
          123456789012345678901234567890n,
          /ab+c/gi,
          [null, undefined, 1],
          null,
          undefined,
          'strïng ✓',
          true,
          Number.MAX_SAFE_INTEGER,
        ];
        await store.set('clone', entryOf(values));
        const read = (await store.get('clone'))?.values;
        expect(read).toEqual(values);
        expect(read?.[0]).toBeInstanceOf(Date);
        expect(read?.[1]).toBeInstanceOf(Map);
        expect(read?.[2]).toBeInstanceOf(Set);
        expect(read?.[3]).toBeInstanceOf(Uint8Array);
        expect(read?.[6]).toBeInstanceOf(BigInt64Array);
        expect(read?.[7]).toBeInstanceOf(ArrayBuffer);
        expect(new Uint8Array(read?.[7] as ArrayBuffer)).toEqual(new Uint8Array(buffer));
        expect(typeof read?.[9]).toBe('bigint');
        expect((read?.[10] as RegExp | undefined)?.flags).toBe('gi');
        expect(read?.[11]).toHaveLength(3);
        expect(read).toHaveLength(values.length);
      });

      it('keeps numbers exactly: NaN, -0, Infinity', async () => {
        await store.set('numbers', entryOf([Number.NaN, -0, Number.POSITIVE_INFINITY, 0.1 + 0.2]));
        const read = (await store.get('numbers'))?.values ?? [];
        expect(Number.isNaN(read[0])).toBe(true);
        expect(Object.is(read[1], -0)).toBe(true);
        expect(read[2]).toBe(Number.POSITIVE_INFINITY);
        expect(read[3]).toBe(0.1 + 0.2);
      });

      it('keeps shared and cyclic references', async () => {
        const shared = { n: 1 };
        const cyclic: { name: string; self?: unknown } = { name: 'loop' };
        cyclic.self = cyclic;
        await store.set('refs', entryOf([{ a: shared, b: shared }, cyclic]));
        const [pair, loop] = ((await store.get('refs'))?.values ?? []) as [
          { a: unknown; b: unknown },
          { name: string; self: unknown },
        ];
        expect(pair.a).toEqual({ n: 1 });
        expect(pair.a).toBe(pair.b);
        expect(loop.name).toBe('loop');
        expect(loop.self).toBe(loop);
      });

      it('keeps a large value (1 MiB typed array)', async () => {
        const big = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
        await store.set('big', entryOf([big]));
        const read = (await store.get('big'))?.values[0] as Uint8Array;
        expect(read.byteLength).toBe(big.byteLength);
        expect(read[1000]).toBe(1000 % 251);
      });
    });
  });
}
