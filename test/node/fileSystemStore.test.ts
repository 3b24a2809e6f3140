import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type CacheStoreEvent, CorruptEntryError, UnserializableValueError } from 'eed';
import { FileSystemStore, type FileSystemStoreFs } from 'eed/node';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeRecordHeader, encodeKey, RECORD_HEADER_BYTES } from '../../src/cache/codec.js';
import { ManualClock } from '../cache/conformance.js';
import { entryOf, tempDirs } from './helpers.js';

const temp = tempDirs();
afterAll(temp.removeAll);

const fileOf = (dir: string, key: string): string =>
  join(dir, createHash('sha256').update(encodeKey(key)).digest('hex'));

function collect(store: FileSystemStore): CacheStoreEvent[] {
  const events: CacheStoreEvent[] = [];
  store.events$.subscribe((event) => events.push(event));
  return events;
}

const errorOf = (event: CacheStoreEvent | undefined): unknown =>
  event?.type === 'tier-error' ? event.error : undefined;

/** An error like the ones node:fs throws. */
const fsError = (code: string): Error =>
  Object.assign(new Error(`${code}: simulated failure`), { code });

describe('FileSystemStore', () => {
  describe('values and files', () => {
    it('round-trips v8-serializable values', async () => {
      const store = new FileSystemStore({ dir: temp.make() });
      const nested = { list: [1, { deep: new Set([new Date(0)]) }], map: new Map([['k', [1n]]]) };
      const values = [
        new Date('2024-01-02T03:04:05.678Z'),
        new Map<unknown, unknown>([[{ id: 1 }, 'object key']]),
        new Set([1, 'two', null]),
        new Uint8Array([1, 2, 3]),
        new Float32Array([1.5, -2.25]),
        new BigUint64Array([2n ** 64n - 1n]),
        2n ** 100n,
        nested,
        'text',
        undefined,
      ];
      await store.set('values', entryOf(values, { cost: 7 }));
      const read = await store.get('values');
      expect(read?.values).toEqual(values);
      expect(read?.values[0]).toBeInstanceOf(Date);
      expect(read?.values[4]).toBeInstanceOf(Float32Array);
      expect(read?.values[6]).toBe(2n ** 100n);
      expect(read?.cost).toBe(7);
    });

    it('names each file by the SHA-256 of its key: no key becomes a path', async () => {
      const root = temp.make();
      const dir = join(root, 'cache');
      const store = new FileSystemStore({ dir });
      const keys = ['../../etc/passwd', '\0', '/absolute', 'a/b', '..', 'CON', ''];
      for (const key of keys) await store.set(key, entryOf([key]));
      const names = readdirSync(dir);
      expect(names).toHaveLength(keys.length);
      for (const name of names) expect(name).toMatch(/^[0-9a-f]{64}$/);
      expect(readdirSync(root)).toEqual(['cache']);
      for (const key of keys) {
        expect(existsSync(fileOf(dir, key))).toBe(true);
        expect((await store.get(key))?.values).toEqual([key]);
      }
    });

    it('keeps keys with lone surrogates distinct (keys are hashed as UTF-16)', async () => {
      const store = new FileSystemStore({ dir: temp.make() });
      await store.set('\uD800', entryOf(['lone']));
      await store.set('\uFFFD', entryOf(['replacement']));
      expect((await store.get('\uD800'))?.values).toEqual(['lone']);
      expect((await store.get('\uFFFD'))?.values).toEqual(['replacement']);
      expect((await store.keys()).sort()).toEqual(['\uD800', '\uFFFD'].sort());
    });

    it('persists: a new instance on the same directory reads and lists what was written', async () => {
      const dir = temp.make();
      const clock = new ManualClock();
      const first = new FileSystemStore({ dir, clock });
      await first.set('a', entryOf([{ n: 1 }], { now: clock.now(), ttl: 60_000, cost: 30 }));
      await first.set('b', entryOf([new Map([[2, 'two']])], { now: clock.now() }));
      const second = new FileSystemStore({ dir, clock });
      const a = await second.get('a');
      expect(a).toEqual({
        values: [{ n: 1 }],
        storedAt: clock.now(),
        expiresAt: clock.now() + 60_000,
        cost: 30,
        size: 0,
      });
      expect((await second.get('b'))?.values).toEqual([new Map([[2, 'two']])]);
      expect((await second.keys()).sort()).toEqual(['a', 'b']);
      expect(second.size).toBe(2);
      expect(second.bytes).toBeGreaterThan(2 * RECORD_HEADER_BYTES);
    });

    it('writes atomically: no temporary file is left behind', async () => {
      const dir = temp.make();
      const store = new FileSystemStore({ dir });
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.set(`k${i % 5}`, entryOf([i]))));
      const names = readdirSync(dir);
      expect(names).toHaveLength(5);
      expect(names.some((name) => name.endsWith('.tmp'))).toBe(false);
    });

    it('runs the operations on one key in call order (the last set wins)', async () => {
      const store = new FileSystemStore({ dir: temp.make(), compressThreshold: 0 });
      const slow = Array.from({ length: 20_000 }, (_, i) => ({ i, text: `row ${i}` }));
      const writes = [
        store.set('k', entryOf([slow])), // compressed: takes longest to encode
        store.set('k', entryOf(['small'])),
      ];
      const read = store.get('k');
      await Promise.all(writes);
      expect((await read)?.values).toEqual(['small']);
      await store.set('k', entryOf(['again']));
      const deleted = store.delete('k');
      const after = store.get('k');
      expect(await deleted).toBe(true);
      expect(await after).toBeUndefined();
    });
  });

  describe('expiry', () => {
    it('removes an expired entry when it is read', async () => {
      const dir = temp.make();
      const clock = new ManualClock();
      const store = new FileSystemStore({ dir, clock });
      await store.set('k', entryOf(['v'], { now: clock.now(), ttl: 1_000 }));
      clock.advance(999);
      expect((await store.get('k'))?.values).toEqual(['v']);
      clock.advance(1);
      expect(await store.get('k')).toBeUndefined();
      expect(existsSync(fileOf(dir, 'k'))).toBe(false);
    });

    it('leaves expired entries out of keys() and removes them with prune()', async () => {
      const dir = temp.make();
      const clock = new ManualClock();
      const store = new FileSystemStore({ dir, clock });
      await store.set('short', entryOf([1], { now: clock.now(), ttl: 1_000 }));
      await store.set('long', entryOf([2], { now: clock.now(), ttl: 10_000 }));
      await store.set('forever', entryOf([3], { now: clock.now() }));
      clock.advance(5_000);
      // A fresh instance: prune() has to find the expired entry on disk.
      const other = new FileSystemStore({ dir, clock });
      expect(await other.prune()).toBe(1);
      expect(existsSync(fileOf(dir, 'short'))).toBe(false);
      expect((await store.keys()).sort()).toEqual(['forever', 'long']);
      clock.advance(5_000);
      expect(await store.keys()).toEqual(['forever']);
      expect(readdirSync(dir)).toHaveLength(1);
    });

    it('does not store an entry that is already expired, and drops the old one', async () => {
      const dir = temp.make();
      const clock = new ManualClock();
      const store = new FileSystemStore({ dir, clock });
      await store.set('k', entryOf(['old'], { now: clock.now() }));
      await store.set('k', { ...entryOf(['new'], { now: clock.now() }), expiresAt: clock.now() });
      expect(await store.get('k')).toBeUndefined();
      expect(readdirSync(dir)).toEqual([]);
    });

    it('delete reports an expired entry as absent, and removes it', async () => {
      const dir = temp.make();
      const clock = new ManualClock();
      await new FileSystemStore({ dir, clock }).set(
        'k',
        entryOf(['v'], { now: clock.now(), ttl: 100 }),
      );
      clock.advance(100);
      expect(await new FileSystemStore({ dir, clock }).delete('k')).toBe(false);
      expect(readdirSync(dir)).toEqual([]);
    });
  });

  describe('eviction under maxBytes', () => {
    /** Bytes of the file of an entry `values` under a one-character key. */
    async function fileBytes(values: unknown[]): Promise<number> {
      const dir = temp.make();
      await new FileSystemStore({ dir }).set('x', entryOf(values));
      return readFileSync(fileOf(dir, 'x')).length;
    }

    it("'lru' evicts the least recently used entry", async () => {
      const one = await fileBytes(['v'.repeat(100)]);
      const dir = temp.make();
      const store = new FileSystemStore({ dir, maxBytes: 3 * one + one / 2 });
      for (const key of ['a', 'b', 'c']) await store.set(key, entryOf(['v'.repeat(100)]));
      await store.get('a');
      await store.set('d', entryOf(['v'.repeat(100)]));
      expect((await store.keys()).sort()).toEqual(['a', 'c', 'd']);
      expect(existsSync(fileOf(dir, 'b'))).toBe(false);
      expect(store.bytes).toBe(3 * one);
      expect(readdirSync(dir)).toHaveLength(3);
    });

    it("'cost-aware' evicts the entry cheapest to recompute, not the oldest", async () => {
      const one = await fileBytes(['v'.repeat(100)]);
      const dir = temp.make();
      const store = new FileSystemStore({
        dir,
        maxBytes: 3 * one + one / 2,
        policy: 'cost-aware',
      });
      await store.set('slow', entryOf(['v'.repeat(100)], { cost: 5_000 }));
      await store.set('cheap', entryOf(['v'.repeat(100)], { cost: 1 }));
      await store.set('medium', entryOf(['v'.repeat(100)], { cost: 500 }));
      await store.set('new', entryOf(['v'.repeat(100)], { cost: 100 }));
      expect((await store.keys()).sort()).toEqual(['medium', 'new', 'slow']);
      expect(existsSync(fileOf(dir, 'cheap'))).toBe(false);
    });

    it('scans the directory first: a new instance evicts the oldest entries on disk', async () => {
      const dir = temp.make();
      const clock = new ManualClock();
      const writer = new FileSystemStore({ dir, clock });
      for (const key of ['k1', 'k2', 'k3', 'k4']) {
        await writer.set(key, entryOf(['v'.repeat(200)], { now: clock.now() }));
        clock.advance(1_000);
      }
      const one = readFileSync(fileOf(dir, 'k1')).length;
      const bounded = new FileSystemStore({ dir, clock, maxBytes: 3 * one });
      await bounded.set('k5', entryOf(['v'.repeat(200)], { now: clock.now() }));
      expect((await bounded.keys()).sort()).toEqual(['k3', 'k4', 'k5']);
      expect(readdirSync(dir)).toHaveLength(3);
    });

    it('does not store an entry bigger than maxBytes on its own', async () => {
      const dir = temp.make();
      const store = new FileSystemStore({ dir, maxBytes: 1_000, compressThreshold: Infinity });
      await store.set('small', entryOf(['s']));
      await store.set('big', entryOf(['s']));
      await store.set('big', entryOf(['x'.repeat(2_000)]));
      expect(await store.get('big')).toBeUndefined();
      expect(await store.keys()).toEqual(['small']);
    });

    it('prune() evicts down to maxBytes', async () => {
      const dir = temp.make();
      const writer = new FileSystemStore({ dir });
      for (let i = 0; i < 10; i++) await writer.set(`k${i}`, entryOf(['v'.repeat(100)]));
      const one = readFileSync(fileOf(dir, 'k0')).length;
      const store = new FileSystemStore({ dir, maxBytes: 4 * one });
      expect(await store.prune()).toBe(6);
      expect(readdirSync(dir)).toHaveLength(4);
      expect(store.bytes).toBe(4 * one);
    });
  });

  describe('compression', () => {
    const rows = Array.from({ length: 2_000 }, (_, i) => ({
      id: i,
      name: `user ${i}`,
      email: `user${i}@example.com`,
      active: i % 3 === 0,
      tags: ['a', 'b'],
    }));

    it('gzips entries above the threshold, records it in the header, and reads them back', async () => {
      const dir = temp.make();
      const store = new FileSystemStore({ dir });
      await store.set('rows', entryOf([rows]));
      const bytes = new Uint8Array(readFileSync(fileOf(dir, 'rows')));
      const header = decodeRecordHeader(bytes);
      expect(header.compressed).toBe(true);
      expect(header.rawLength).toBeGreaterThan(16 * 1024);
      expect(bytes.length).toBeLessThan(header.rawLength / 3);
      // An ordinary gzip member: the standard tools read it.
      const payload = bytes.subarray(RECORD_HEADER_BYTES + header.keyBytes);
      expect(gunzipSync(payload).length).toBe(header.rawLength);
      expect((await new FileSystemStore({ dir }).get('rows'))?.values).toEqual([rows]);
    });

    it('stores small entries, and entries gzip cannot shrink, uncompressed', async () => {
      const dir = temp.make();
      const store = new FileSystemStore({ dir });
      const random = new Uint8Array(20 * 1024).map(() => Math.floor(Math.random() * 256));
      await store.set('small', entryOf([rows.slice(0, 10)]));
      await store.set('random', entryOf([random]));
      for (const key of ['small', 'random']) {
        expect(decodeRecordHeader(new Uint8Array(readFileSync(fileOf(dir, key)))).compressed).toBe(
          false,
        );
      }
      expect((await store.get('random'))?.values).toEqual([random]);
    });

    it('honours compressThreshold: Infinity never compresses', async () => {
      const dir = temp.make();
      await new FileSystemStore({ dir, compressThreshold: Infinity }).set('rows', entryOf([rows]));
      expect(decodeRecordHeader(new Uint8Array(readFileSync(fileOf(dir, 'rows')))).compressed).toBe(
        false,
      );
    });
  });

  describe('unusable files are misses: removed, with an event saying why', () => {
    async function damaged(
      damage: (bytes: Buffer) => Buffer,
      values: unknown[] = ['value'],
      compressThreshold?: number,
    ) {
      const dir = temp.make();
      await new FileSystemStore({ dir, compressThreshold }).set('k', entryOf(values));
      const path = fileOf(dir, 'k');
      writeFileSync(path, damage(readFileSync(path)));
      const store = new FileSystemStore({ dir });
      const events = collect(store);
      const read = await store.get('k');
      return { read, events, path, store };
    }

    const cases: [string, (bytes: Buffer) => Buffer, string][] = [
      ['a truncated file', (b) => b.subarray(0, b.length - 3), 'truncated'],
      ['a file cut inside its header', (b) => b.subarray(0, 20), 'truncated'],
      ['an empty file', () => Buffer.alloc(0), 'truncated'],
      ['garbage', () => Buffer.from('definitely not a cache entry, just some text'), 'garbage'],
      ['trailing bytes', (b) => Buffer.concat([b, Buffer.from([0])]), 'garbage'],
      [
        'another format version',
        (b) => {
          const copy = Buffer.from(b);
          copy.writeUInt16LE(99, 4);
          return copy;
        },
        'other-version',
      ],
      [
        'a flipped bit',
        (b) => {
          const copy = Buffer.from(b);
          copy[copy.length - 2] = (copy[copy.length - 2] as number) ^ 0x10;
          return copy;
        },
        'checksum',
      ],
    ];

    for (const [what, damage, reason] of cases) {
      it(`${what}: ${reason}`, async () => {
        const { read, events, path } = await damaged(damage);
        expect(read).toBeUndefined();
        expect(existsSync(path)).toBe(false);
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({
          type: 'tier-error',
          tier: 0,
          key: 'k',
          operation: 'get',
        });
        const error = errorOf(events[0]);
        expect(error).toBeInstanceOf(CorruptEntryError);
        expect(error).toMatchObject({ reason, key: 'k', location: path });
        expect(String((error as Error).message)).toContain(reason);
      });
    }

    it('a payload that does not deserialize: undecodable', async () => {
      // Valid frame and checksum around bytes v8 cannot read: written by the codec itself.
      const { encodeRecord } = await import('../../src/cache/codec.js');
      const dir = temp.make();
      const path = fileOf(dir, 'k');
      const now = Date.now();
      const junk = new TextEncoder().encode('not v8');
      writeFileSync(
        path,
        encodeRecord(
          {
            key: 'k',
            storedAt: now,
            expiresAt: Infinity,
            cost: 0,
            size: 0,
            rawLength: junk.length,
            compressed: false,
          },
          junk,
        ),
      );
      const store = new FileSystemStore({ dir });
      const events = collect(store);
      expect(await store.get('k')).toBeUndefined();
      expect(errorOf(events[0])).toMatchObject({ reason: 'undecodable' });
      expect(existsSync(path)).toBe(false);
    });

    it('keys() and prune() remove unusable files too, and report them', async () => {
      const dir = temp.make();
      const store = new FileSystemStore({ dir });
      await store.set('good', entryOf(['g']));
      writeFileSync(join(dir, 'f'.repeat(64)), 'garbage');
      writeFileSync(join(dir, 'README.txt'), 'not ours: left alone');
      const fresh = new FileSystemStore({ dir });
      const events = collect(fresh);
      expect(await fresh.keys()).toEqual(['good']);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'tier-error', operation: 'keys' });
      expect(errorOf(events[0])).toMatchObject({ reason: 'garbage' });
      expect(readdirSync(dir).sort()).toEqual(
        ['README.txt', fileOf(dir, 'good').slice(-64)].sort(),
      );
    });
  });

  describe('I/O failures degrade to misses and events; writes reject', () => {
    it('a dir under a regular file (ENOTDIR): get misses with an event, set rejects', async () => {
      const file = join(temp.make(), 'file');
      writeFileSync(file, 'x');
      const store = new FileSystemStore({ dir: join(file, 'sub') });
      const events = collect(store);
      expect(await store.get('k')).toBeUndefined();
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'tier-error', key: 'k', operation: 'get' });
      expect(errorOf(events[0])).toMatchObject({ code: 'ENOTDIR' });
      await expect(store.set('k', entryOf(['v']))).rejects.toMatchObject({ code: 'ENOTDIR' });
      await expect(store.keys()).rejects.toMatchObject({ code: 'ENOTDIR' });
      expect(await store.delete('k')).toBe(false);
    });

    it('a full disk (ENOSPC): set rejects, the old entry survives, no temp file is left', async () => {
      const dir = temp.make();
      await new FileSystemStore({ dir }).set('k', entryOf(['old']));
      const created: string[] = [];
      const diskFull: FileSystemStoreFs = {
        ...fs,
        writeFile: async (path, data, options) => {
          created.push(path);
          // A partial write, then the failure, as a real full disk does.
          await fs.writeFile(path, data.subarray(0, 10), options);
          throw fsError('ENOSPC');
        },
      };
      const store = new FileSystemStore({ dir, fs: diskFull });
      await expect(store.set('k', entryOf(['new']))).rejects.toMatchObject({ code: 'ENOSPC' });
      expect(created).toHaveLength(1);
      expect(readdirSync(dir)).toEqual([fileOf(dir, 'k').slice(-64)]);
      expect((await store.get('k'))?.values).toEqual(['old']);
    });

    it('a read that fails (EACCES, EIO): get misses with an event', async () => {
      const dir = temp.make();
      await new FileSystemStore({ dir }).set('k', entryOf(['v']));
      let code = 'EACCES';
      const failing: FileSystemStoreFs = {
        ...fs,
        open: async () => {
          throw fsError(code);
        },
      };
      const store = new FileSystemStore({ dir, fs: failing });
      const events = collect(store);
      expect(await store.get('k')).toBeUndefined();
      code = 'EIO';
      expect(await store.get('k')).toBeUndefined();
      expect(events.map((event) => (errorOf(event) as { code?: string }).code)).toEqual([
        'EACCES',
        'EIO',
      ]);
      // The file was not touched: a healthy reader still finds it.
      expect((await new FileSystemStore({ dir }).get('k'))?.values).toEqual(['v']);
    });

    it("with readErrors: 'reject', a failed read rejects (for a TieredCache) and reports nothing", async () => {
      const dir = temp.make();
      await new FileSystemStore({ dir }).set('k', entryOf(['v']));
      const failing: FileSystemStoreFs = {
        ...fs,
        open: async () => {
          throw fsError('EACCES');
        },
      };
      const store = new FileSystemStore({ dir, fs: failing, readErrors: 'reject' });
      const events = collect(store);
      await expect(store.get('k')).rejects.toMatchObject({ code: 'EACCES' });
      expect(events).toEqual([]);
      // Absence and unusable files are still plain misses.
      const healthy = new FileSystemStore({ dir, readErrors: 'reject' });
      expect(await healthy.get('other')).toBeUndefined();
      writeFileSync(fileOf(dir, 'k'), 'garbage');
      expect(await healthy.get('k')).toBeUndefined();
    });

    it('a missing directory is just empty', async () => {
      const store = new FileSystemStore({ dir: join(temp.make(), 'not', 'yet') });
      const events = collect(store);
      expect(await store.get('k')).toBeUndefined();
      expect(await store.keys()).toEqual([]);
      expect(await store.delete('k')).toBe(false);
      expect(await store.prune()).toBe(0);
      await store.clear();
      expect(events).toEqual([]);
    });

    it('re-creates a directory removed under it', async () => {
      const dir = join(temp.make(), 'cache');
      const store = new FileSystemStore({ dir });
      await store.set('a', entryOf([1]));
      await fs.rm(dir, { recursive: true });
      await store.set('b', entryOf([2]));
      expect((await store.get('b'))?.values).toEqual([2]);
    });
  });

  describe('unserializable values', () => {
    it('rejects with an UnserializableValueError naming the key, and writes nothing', async () => {
      const dir = temp.make();
      const store = new FileSystemStore({ dir });
      await store.set('handler', entryOf(['old']));
      const error = await store
        .set('handler', entryOf([{ onClick: () => 1 }]))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnserializableValueError);
      expect(error).toMatchObject({ name: 'UnserializableValueError', key: 'handler' });
      expect((error as Error).message).toContain('"handler"');
      expect((error as Error).message).toContain('could not be cloned');
      // Nothing else is lost: the previous entry is still there.
      expect((await store.get('handler'))?.values).toEqual(['old']);
    });

    it('names the key for a socket too', async () => {
      const store = new FileSystemStore({ dir: temp.make() });
      const socket = new Socket();
      try {
        await expect(store.set('conn:1', entryOf([socket]))).rejects.toThrow(
          /key "conn:1".*not serializable/,
        );
      } finally {
        socket.destroy();
      }
    });
  });

  describe('housekeeping', () => {
    it('clear() removes entry and temporary files, not other files', async () => {
      const dir = temp.make();
      const store = new FileSystemStore({ dir });
      for (const key of ['a', 'b']) await store.set(key, entryOf([key]));
      const temp1 = `${'a'.repeat(64)}.123.1.abcd.tmp`;
      writeFileSync(join(dir, temp1), 'partial');
      writeFileSync(join(dir, 'notes.txt'), 'mine');
      await store.clear();
      expect(readdirSync(dir)).toEqual(['notes.txt']);
      expect(store.size).toBe(0);
      expect(store.bytes).toBe(0);
    });

    it('prune() removes stale temporary files and keeps fresh ones (a writer may be busy)', async () => {
      const dir = temp.make();
      const stale = `${'b'.repeat(64)}.1.1.abcd.tmp`;
      const fresh = `${'c'.repeat(64)}.1.2.abcd.tmp`;
      writeFileSync(join(dir, stale), 'x');
      writeFileSync(join(dir, fresh), 'x');
      const hourAgo = new Date(Date.now() - 60 * 60_000);
      utimesSync(join(dir, stale), hourAgo, hourAgo);
      expect(await new FileSystemStore({ dir }).prune()).toBe(1);
      expect(readdirSync(dir)).toEqual([fresh]);
    });

    it('flush() waits for writes started in the background', async () => {
      const dir = temp.make();
      const store = new FileSystemStore({ dir });
      for (let i = 0; i < 20; i++) void store.set(`k${i}`, entryOf([i]));
      void store.set('bad', entryOf([() => 1])).catch(() => {});
      await store.flush();
      expect(readdirSync(dir)).toHaveLength(20);
    });

    it('validates its options, naming the option', () => {
      const make = (options: unknown) => () =>
        new FileSystemStore(options as ConstructorParameters<typeof FileSystemStore>[0]);
      expect(make(undefined)).toThrow(TypeError);
      expect(make({ dir: '' })).toThrow(/dir/);
      expect(make({ dir: 'a\0b' })).toThrow(/dir/);
      expect(make({ dir: 'd', maxBytes: 0 })).toThrow(/maxBytes/);
      expect(make({ dir: 'd', maxBytes: Number.NaN })).toThrow(RangeError);
      expect(make({ dir: 'd', compressThreshold: -1 })).toThrow(/compressThreshold/);
      expect(make({ dir: 'd', policy: 'fifo' })).toThrow(/policy/);
      expect(make({ dir: 'd', clock: { now: 1 } })).toThrow(/clock\.now/);
      expect(make({ dir: 'd', readErrors: 'throw' })).toThrow(/readErrors/);
      expect(make({ dir: 'd', fs: { ...fs, rename: undefined } })).toThrow(/fs\.rename/);
      expect(new FileSystemStore({ dir: 'relative/dir' }).dir).toBe(
        join(process.cwd(), 'relative/dir'),
      );
    });

    it('rejects non-string keys and malformed entries', async () => {
      const store = new FileSystemStore({ dir: temp.make() });
      await expect(store.get(1 as unknown as string)).rejects.toThrow(TypeError);
      await expect(store.set('k', { values: 'x' } as never)).rejects.toThrow(/values/);
    });
  });
});
