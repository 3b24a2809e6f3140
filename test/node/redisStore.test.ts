import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  type CacheStoreEvent,
  CorruptEntryError,
  createEngine,
  MemoryStore,
  TieredCache,
  UnserializableValueError,
} from 'eed';
import {
  FileSystemStore,
  RedisStore,
  RedisStoreClosedError,
  type RedisStoreOptions,
  RedisTimeoutError,
} from 'eed/node';
import type { Redis } from 'ioredis';
import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../cache/conformance.js';
import { entryOf, tempDirs } from './helpers.js';
import {
  createTestClient,
  describeWithRedis,
  freePort,
  type PrivateRedis,
  redisUrl,
  spawnRedisServer,
  uniquePrefix,
} from './redis.js';

/** Timers the test fires by hand: `fire()` runs every pending callback. */
function manualTimers() {
  const pending = new Map<number, () => void>();
  let next = 0;
  return {
    setTimeout(callback: () => void): unknown {
      pending.set(++next, callback);
      return next;
    },
    clearTimeout(handle: unknown): void {
      pending.delete(handle as number);
    },
    get pending(): number {
      return pending.size;
    },
    fire(): void {
      const callbacks = [...pending.values()];
      pending.clear();
      for (const callback of callbacks) callback();
    },
  };
}

/** A TCP server that accepts connections and never answers: a hung Redis. */
async function blackHole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describeWithRedis('RedisStore', () => {
  let client: Redis;
  const stores: RedisStore[] = [];
  const temp = tempDirs();

  /** A store on the shared client under a fresh prefix, cleared and closed after the test. */
  const storeOf = (options: Partial<RedisStoreOptions> = {}): RedisStore => {
    const store = new RedisStore({ client, prefix: uniquePrefix(), ...options });
    stores.push(store);
    return store;
  };

  beforeAll(() => {
    client = createTestClient();
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) {
      await store.clear().catch(() => {});
      await store.close();
    }
  });
  afterAll(async () => {
    await client.quit();
    temp.removeAll();
  });

  describe('expiry with Redis TTLs', () => {
    it('writes SET ... PX the remaining lifetime, and no PX for Infinity', async () => {
      const store = storeOf();
      await store.set('soon', entryOf(['x'], { ttl: 60_000 }));
      await store.set('forever', entryOf(['y']));
      const pttl = await client.pttl(`${store.prefix}soon`);
      expect(pttl).toBeGreaterThan(50_000);
      expect(pttl).toBeLessThanOrEqual(60_000);
      expect(await client.pttl(`${store.prefix}forever`)).toBe(-1);
    });

    it('caps the lifetime with the ttl option, counted from storedAt', async () => {
      const store = storeOf({ ttl: 10_000 });
      const entry = entryOf(['x']);
      await store.set('k', entry);
      const pttl = await client.pttl(`${store.prefix}k`);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(10_000);
      expect((await store.get('k'))?.expiresAt).toBe(entry.storedAt + 10_000);
    });

    it('does not write an entry already expired, and removes the older one', async () => {
      const store = storeOf();
      await store.set('k', entryOf(['old']));
      const now = Date.now();
      await store.set('k', {
        values: ['new'],
        storedAt: now - 10,
        expiresAt: now - 1,
        cost: 1,
        size: 0,
      });
      expect(await client.exists(`${store.prefix}k`)).toBe(0);
      expect(await store.get('k')).toBeUndefined();
    });

    it('computes PX from the injected clock, and get compares expiresAt with it', async () => {
      const clock = new ManualClock();
      const store = storeOf({ clock });
      await store.set('k', entryOf(['x'], { now: clock.now(), ttl: 30_000 }));
      expect(await client.pttl(`${store.prefix}k`)).toBeGreaterThan(20_000);
      clock.advance(30_000);
      // Still in Redis (its clock has not moved), but no longer valid by the store's.
      expect(await client.exists(`${store.prefix}k`)).toBe(1);
      expect(await store.get('k')).toBeUndefined();
      expect(await store.delete('k')).toBe(false);
    });
  });

  describe('keys in Redis', () => {
    it('names an entry prefix + key, as UTF-8, unhashed', async () => {
      const store = storeOf();
      await store.set('user:1 ✓', entryOf(['Ada']));
      expect(await client.exists(`${store.prefix}user:1 ✓`)).toBe(1);
      expect(await store.keys()).toEqual(['user:1 ✓']);
    });

    it('keeps keys with lone surrogates distinct from each other and from U+FFFD', async () => {
      const store = storeOf();
      const keys = ['\uD800', '\uDC00', '\uFFFD', '\uD800\uDC00', 'a\uDBFFb', '\uDC00\uD800'];
      for (const [i, key] of keys.entries()) await store.set(key, entryOf([i]));
      for (const [i, key] of keys.entries()) expect((await store.get(key))?.values).toEqual([i]);
      expect((await store.keys()).sort()).toEqual([...keys].sort());
    });

    it('leaves names under the prefix that no key encodes to out of keys()', async () => {
      const store = storeOf();
      await store.set('ok', entryOf([1]));
      await client.set(Buffer.concat([Buffer.from(store.prefix), Buffer.from([0xff, 0xfe])]), 'x');
      expect(await store.keys()).toEqual(['ok']);
    });
  });

  describe('SCAN, never KEYS', () => {
    it('lists and clears page by page with SCAN MATCH <escaped prefix>* COUNT', async () => {
      const store = storeOf({ prefix: `${uniquePrefix('glob')}[a]*?\\:`, scanCount: 10 });
      for (let i = 0; i < 35; i++) await store.set(`k${i}`, entryOf([i]));
      const scan = vi.spyOn(client, 'scanBuffer');
      const keysCommand = vi.spyOn(client, 'keys');
      try {
        expect((await store.keys()).length).toBe(35);
        const pattern = `${store.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
        expect(scan.mock.calls.length).toBeGreaterThan(1);
        for (const call of scan.mock.calls) {
          expect(call.slice(1)).toEqual(['MATCH', pattern, 'COUNT', 10]);
        }
        scan.mockClear();
        await store.clear();
        expect(scan).toHaveBeenCalled();
        expect(keysCommand).not.toHaveBeenCalled();
        expect(await store.keys()).toEqual([]);
      } finally {
        scan.mockRestore();
        keysCommand.mockRestore();
      }
    });

    it('clear removes only keys under its prefix, glob characters and all', async () => {
      const base = uniquePrefix('clear');
      // Unescaped, the pattern of `${base}[ab]:` would match `${base}a:` keys too.
      const store = storeOf({ prefix: `${base}[ab]:` });
      const neighbour = storeOf({ prefix: `${base}a:` });
      await store.set('k', entryOf(['mine']));
      await neighbour.set('k', entryOf(['theirs']));
      await client.set(`${base}unrelated`, 'stays');
      expect(await store.keys()).toEqual(['k']);
      await store.clear();
      expect(await store.keys()).toEqual([]);
      expect((await neighbour.get('k'))?.values).toEqual(['theirs']);
      expect(await client.get(`${base}unrelated`)).toBe('stays');
      await client.unlink(`${base}unrelated`);
    });
  });

  describe('serialization', () => {
    it('stores the very bytes FileSystemStore writes to a file', async () => {
      const dir = temp.make();
      const files = new FileSystemStore({ dir });
      const store = storeOf();
      const entry = entryOf([new Map([[1, new Date(0)]]), 2n, new Uint8Array([1, 2])], {
        ttl: 60_000,
        cost: 42,
      });
      await files.set('same', entry);
      await store.set('same', entry);
      const [file] = readdirSync(dir);
      const fromRedis = await client.getBuffer(`${store.prefix}same`);
      expect(fromRedis).toEqual(readFileSync(join(dir, file as string)));
    });

    it('compresses above compressThreshold and reads it back', async () => {
      const store = storeOf({ compressThreshold: 1_024 });
      const text = 'eed '.repeat(10_000);
      await store.set('big', entryOf([text]));
      const stored = await client.getBuffer(`${store.prefix}big`);
      expect(stored?.length).toBeLessThan(text.length / 10);
      expect((await store.get('big'))?.values).toEqual([text]);
    });

    it('rejects a value it cannot serialize, naming the key, and sends nothing', async () => {
      const store = storeOf();
      await expect(store.set('fn', entryOf([() => 1]))).rejects.toBeInstanceOf(
        UnserializableValueError,
      );
      await expect(store.set('fn', entryOf([() => 1]))).rejects.toThrow(/"fn"/);
      expect(await client.exists(`${store.prefix}fn`)).toBe(0);
    });

    it('an unusable entry is a miss, is removed, and is reported on events$', async () => {
      const store = storeOf();
      const events: CacheStoreEvent[] = [];
      const subscription = store.events$.subscribe((event) => events.push(event));
      await client.set(`${store.prefix}bad`, 'not an eed record');
      expect(await store.get('bad')).toBeUndefined();
      expect(await client.exists(`${store.prefix}bad`)).toBe(0);
      expect(events).toHaveLength(1);
      const [event] = events;
      expect(event?.type).toBe('tier-error');
      const error = event?.type === 'tier-error' ? event.error : undefined;
      expect(error).toBeInstanceOf(CorruptEntryError);
      expect((error as CorruptEntryError).key).toBe('bad');
      subscription.unsubscribe();
    });

    it('keeps operations on one key in call order (the last set wins)', async () => {
      const store = storeOf({ compressThreshold: 0 });
      const big = 'x'.repeat(1_000_000); // slower to compress than the next one
      const first = store.set('k', entryOf([big]));
      const second = store.set('k', entryOf(['small']));
      const read = store.get('k');
      await Promise.all([first, second]);
      expect((await read)?.values).toEqual(['small']);
    });
  });

  describe('client or url, and who closes it', () => {
    let server: PrivateRedis;
    let admin: Redis;
    beforeAll(async () => {
      server = await spawnRedisServer();
      admin = createTestClient({ port: server.port });
    });
    afterAll(async () => {
      await admin.quit();
      await server.stop();
    });

    /** Connections the private server has, this admin client's included. */
    const connections = async (): Promise<number> =>
      String(await admin.call('CLIENT', 'LIST'))
        .trim()
        .split('\n').length;

    it('a store from url connects on first use, and close() quits its client', async () => {
      const before = await connections();
      const store = new RedisStore({ url: redisUrl(server.port), prefix: uniquePrefix() });
      expect(await connections()).toBe(before);
      await store.set('k', entryOf([1]));
      expect(await connections()).toBe(before + 1);
      await store.clear();
      const closing = store.close();
      // A second call while the first is still quitting waits for the same close.
      expect(store.close()).toBe(closing);
      await closing;
      await vi.waitFor(async () => expect(await connections()).toBe(before));
      await expect(store.get('k')).rejects.toBeInstanceOf(RedisStoreClosedError);
      await store.close(); // again: nothing
    });

    it('closing a store from url that never ran connects nothing', async () => {
      const before = await connections();
      const store = new RedisStore({ url: redisUrl(server.port) });
      await store[Symbol.asyncDispose]();
      expect(await connections()).toBe(before);
      await expect(store.keys()).rejects.toBeInstanceOf(RedisStoreClosedError);
    });

    it('close() leaves a given client open', async () => {
      const own = createTestClient({ port: server.port });
      const store = new RedisStore({ client: own, prefix: uniquePrefix() });
      await store.set('k', entryOf([1]));
      await store.clear();
      await store.close();
      await expect(store.set('k', entryOf([1]))).rejects.toBeInstanceOf(RedisStoreClosedError);
      expect(own.status).toBe('ready');
      expect(await own.ping()).toBe('PONG');
      await own.quit();
    });

    it('close() lets operations already called finish first', async () => {
      const store = new RedisStore({ url: redisUrl(server.port), prefix: uniquePrefix() });
      const write = store.set('k', entryOf(['v']));
      const closed = store.close();
      await expect(write).resolves.toBeUndefined();
      await closed;
      const check = new RedisStore({ client: admin, prefix: store.prefix });
      expect((await check.get('k'))?.values).toEqual(['v']);
      await check.clear();
    });
  });

  describe('options', () => {
    const URL_OK = 'redis://127.0.0.1:1';
    it.each([
      [{}, TypeError, /exactly one of client and url/],
      [{ url: URL_OK, client: {} }, TypeError, /exactly one of client and url/],
      [{ url: 'http://localhost:6379' }, TypeError, /url must be a redis:\/\/.*"http:/],
      [{ url: 42 }, TypeError, /url must be .*received 42/],
      [{ client: { get: () => {} } }, TypeError, /client must be an ioredis Redis instance/],
      [{ url: URL_OK, prefix: '' }, TypeError, /prefix must be .*received ""/],
      [{ url: URL_OK, prefix: 'a\uD800' }, TypeError, /prefix must be/],
      [{ url: URL_OK, timeoutMs: 0 }, RangeError, /timeoutMs must be .*received 0/],
      [{ url: URL_OK, ttl: -1 }, RangeError, /ttl must be .*received -1/],
      [{ url: URL_OK, compressThreshold: Number.NaN }, RangeError, /compressThreshold .*NaN/],
      [{ url: URL_OK, scanCount: 1.5 }, RangeError, /scanCount must be .*1\.5/],
      [{ url: URL_OK, clock: {} }, TypeError, /clock\.now must be a function/],
      [{ url: URL_OK, timers: { setTimeout } }, TypeError, /timers\.clearTimeout/],
    ])('rejects %o', (options, type, message) => {
      expect(() => new RedisStore(options as RedisStoreOptions)).toThrow(type);
      expect(() => new RedisStore(options as RedisStoreOptions)).toThrow(message);
    });

    it('masks a password in the error message', () => {
      expect(() => new RedisStore({ url: 'redis://:s3cret@host:6379', client })).toThrow(
        /redis:\/\/:\*\*\*@host:6379/,
      );
      expect(() => new RedisStore({ url: 'redis://:s3cret@host:6379', client })).not.toThrow(
        /s3cret/,
      );
    });

    it('rejects a key that is not a string', async () => {
      const store = storeOf();
      await expect(store.get(1 as unknown as string)).rejects.toThrow(TypeError);
    });
  });

  describe('never hangs', () => {
    let hole: Awaited<ReturnType<typeof blackHole>>;
    beforeAll(async () => {
      hole = await blackHole();
    });
    afterAll(async () => {
      await hole.close();
    });

    it('rejects with RedisTimeoutError when a given client gets no answer', async () => {
      const timers = manualTimers();
      const mute = createTestClient({ port: hole.port, lazyConnect: false });
      mute.on('error', () => {});
      const store = new RedisStore({ client: mute, timers, timeoutMs: 100 });
      const read = store.get('k');
      expect(timers.pending).toBe(1);
      timers.fire();
      await expect(read).rejects.toBeInstanceOf(RedisTimeoutError);
      await expect(read).rejects.toMatchObject({ operation: 'get', timeoutMs: 100 });
      mute.disconnect();
      await store.close();
    });

    it('bounds the connect of a store from url, then fails at once while not ready', async () => {
      const timers = manualTimers();
      const store = new RedisStore({ url: redisUrl(hole.port), timers });
      const write = store.set('k', entryOf([1]));
      await vi.waitFor(() => expect(timers.pending).toBe(1));
      timers.fire();
      await expect(write).rejects.toBeInstanceOf(RedisTimeoutError);
      // The connect still hangs (no answer to the handshake): later operations wait for it
      // no longer than their own timeoutMs either.
      const read = store.get('k');
      await vi.waitFor(() => expect(timers.pending).toBe(1));
      timers.fire();
      await expect(read).rejects.toBeInstanceOf(RedisTimeoutError);
      await store.close();
    });

    it('rejects at once when nothing listens', async () => {
      const store = new RedisStore({ url: redisUrl(await freePort()), timeoutMs: 60_000 });
      // Refused, not timed out: the 60 s bound is never reached.
      await expect(store.get('k')).rejects.not.toBeInstanceOf(RedisTimeoutError);
      await expect(store.keys()).rejects.not.toBeInstanceOf(RedisTimeoutError);
      await store.close();
    });
  });

  describe('as a tier of TieredCache', () => {
    /** The cache's events, by type and tier. */
    const record = (cache: TieredCache) => {
      const events: CacheStoreEvent[] = [];
      const subscription = cache.events$.subscribe((event) => events.push(event));
      return {
        events,
        count: (type: CacheStoreEvent['type'], tier: number) =>
          events.filter((event) => event.type === type && event.tier === tier).length,
        stop: () => subscription.unsubscribe(),
      };
    };

    it('memory -> Redis: a hit from Redis is promoted, and survives a new memory tier', async () => {
      const prefix = uniquePrefix('tier');
      const redis = storeOf({ prefix });
      const first = new TieredCache({ tiers: [{ store: new MemoryStore() }, { store: redis }] });
      const engine = createEngine({ cache: first });
      expect(await firstValueFrom(engine.run('answer', async () => 42))).toBe(42);
      await vi.waitFor(async () => expect(await client.exists(`${prefix}answer`)).toBe(1));
      // Another process: its own memory, the same Redis.
      const second = new TieredCache({
        tiers: [{ store: new MemoryStore() }, { store: storeOf({ prefix }) }],
      });
      const work = vi.fn(async () => -1);
      const other = createEngine({ cache: second });
      expect(await firstValueFrom(other.run('answer', work))).toBe(42);
      expect(work).not.toHaveBeenCalled();
      expect(other.metrics().tiers.map((tier) => tier.hits)).toEqual([0, 1]);
      // Promoted: the next read is answered by memory.
      await vi.waitFor(async () => expect((await second.get('answer'))?.tier).toBe(0));
    });

    it('memory -> Redis with Redis down: misses and tier-error events, runs succeed, the breaker skips it', async () => {
      const clock = new ManualClock();
      const down = new RedisStore({ url: redisUrl(await freePort()), timeoutMs: 60_000 });
      const cache = new TieredCache({
        tiers: [{ store: new MemoryStore({ clock }) }, { store: down }],
        clock,
        failureThreshold: 3,
        coolDownMs: 30_000,
      });
      const seen = record(cache);
      const engine = createEngine({ cache });
      for (let i = 0; i < 5; i++) {
        expect(await firstValueFrom(engine.run(`k${i}`, async () => i))).toBe(i);
      }
      await vi.waitFor(() => expect(seen.count('tier-opened', 1)).toBe(1));
      // Three failures open the breaker (a write in flight then may add a fourth report).
      expect(seen.count('tier-error', 1)).toBeGreaterThanOrEqual(3);
      expect(seen.count('tier-skipped', 1)).toBeGreaterThan(0);
      expect(seen.count('tier-error', 0)).toBe(0);
      const failures = seen.count('tier-error', 1);
      // The values stayed in memory.
      expect((await cache.get('k0'))?.values).toEqual([0]);
      expect(seen.count('tier-error', 1)).toBe(failures); // skipped: not even tried
      // After the cool-down the tier is tried again (and fails again).
      clock.advance(30_000);
      expect(await firstValueFrom(engine.run('later', async () => 'ok'))).toBe('ok');
      await vi.waitFor(() => expect(seen.count('tier-error', 1)).toBeGreaterThan(failures));
      seen.stop();
      await down.close();
    });

    it('memory -> filesystem -> Redis: an outage mid-run degrades, and Redis is used again once back', async () => {
      const server = await spawnRedisServer();
      const clock = new ManualClock();
      const dir = temp.make();
      const prefix = uniquePrefix('three');
      const redis = new RedisStore({ url: redisUrl(server.port), prefix, clock });
      const watcher = createTestClient({ port: server.port });
      const tiersOf = () =>
        new TieredCache({
          tiers: [
            { store: new MemoryStore({ clock }) },
            { store: new FileSystemStore({ dir, clock }) },
            { store: redis },
          ],
          clock,
          coolDownMs: 30_000,
        });
      try {
        const cache = tiersOf();
        const seen = record(cache);
        const engine = createEngine({ cache });
        expect(await firstValueFrom(engine.run('a', async () => 'A'))).toBe('A');
        await vi.waitFor(async () => expect(await watcher.exists(`${prefix}a`)).toBe(1));
        watcher.disconnect();

        await server.stop();
        // Redis is gone: runs still succeed, from the filesystem tier or by running the work.
        const fresh = tiersOf();
        const seenFresh = record(fresh);
        const after = createEngine({ cache: fresh });
        const work = vi.fn(async () => 'again');
        expect(await firstValueFrom(after.run('a', work))).toBe('A'); // from the filesystem
        expect(work).not.toHaveBeenCalled();
        for (let i = 0; i < 4; i++) {
          expect(await firstValueFrom(after.run(`b${i}`, async () => i))).toBe(i);
        }
        await vi.waitFor(() => expect(seenFresh.count('tier-opened', 2)).toBe(1));
        expect(seenFresh.count('tier-error', 1)).toBe(0);
        expect(seenFresh.count('tier-skipped', 2)).toBeGreaterThan(0);
        seen.stop();

        // Back on the same port; once the cool-down is over, Redis serves again.
        const restarted = await spawnRedisServer(server.port);
        try {
          clock.advance(30_000);
          await vi.waitFor(
            async () => {
              await redis.set('probe', entryOf(['p'], { now: clock.now() }));
            },
            { timeout: 10_000, interval: 100 },
          );
          expect(await firstValueFrom(after.run('c', async () => 'C'))).toBe('C');
          const check = createTestClient({ port: restarted.port });
          await vi.waitFor(async () => expect(await check.exists(`${prefix}c`)).toBe(1));
          await check.quit();
          seenFresh.stop();
        } finally {
          await redis.close();
          await restarted.stop();
        }
      } finally {
        watcher.disconnect();
        await redis.close();
        await server.stop();
      }
    });
  });
});
