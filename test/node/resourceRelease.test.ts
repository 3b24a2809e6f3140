/**
 * Resource release: "cancellation is unsubscription". Every timer, connection, listener,
 * file handle, AbortController and registry entry an eed object owns is released when it
 * is disposed or closed, or when the last subscriber of its stream leaves, and nothing
 * keeps the process alive afterwards.
 *
 * Checks are deterministic where they can be: fake timers (`vi.getTimerCount()`), the
 * listener counts of Redis clients, the connections Redis lists under a client name, and
 * the handles `process.getActiveResourcesInfo()` lists (it leaves out unref'd timers,
 * which never keep a process alive).
 *
 * The redisCoordinator cases at the end were gaps when this file was written (an audit of
 * 2026-11-29); they pass since the fix.
 */
import { randomBytes } from 'node:crypto';
import { getEventListeners } from 'node:events';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CacheEntry,
  type CacheStore,
  type CacheStoreEvent,
  createEngine,
  createExecutor,
  type ExecutionEvent,
  MemoryStore,
  progress$,
  TieredCache,
} from 'eed';
import {
  createNodeCache,
  FileSystemStore,
  type FileSystemStoreFs,
  RedisStore,
  redisCoordinator,
} from 'eed/node';
import { batchMap, hedge, parallelMap } from 'eed/operators';
import type { Redis } from 'ioredis';
import { from, lastValueFrom, Subject } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { entryOf, tempDirs } from './helpers.js';
import { createTestClient, describeWithRedis, redisUrl, uniquePrefix } from './redis.js';

afterEach(() => {
  vi.useRealTimers();
});

/** How many handles of each kind keep the event loop alive right now. */
function alive(...kinds: string[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(kinds.map((kind) => [kind, 0]));
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind in counts) counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

/**
 * Resolves once `check` passes, checking every 10 ms for at most `ms`. Unlike
 * `vi.waitFor`, no timer of its own is pending while `check` runs, so `check` may count
 * the process' timers.
 */
async function eventually(check: () => unknown, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Kinds of handle a socket, a connect or a timer shows up as. */
const NET = ['TCPSocketWrap', 'TCPConnectWrap', 'SimpleShutdownWrap', 'Timeout'] as const;
/** Kinds of handle a pending file-system request shows up as. */
const FS = ['FSReqPromise', 'FSReqCallback', 'CloseReq'] as const;

/** A promise that never settles (work that hangs until aborted). */
const forever = <T>(): Promise<T> => new Promise<T>(() => {});

/** A clock that counts its reads: an executor reads its clock only for listeners' events. */
function countingClock(): { now(): number; reads: number } {
  return {
    reads: 0,
    now() {
      this.reads++;
      return 0;
    },
  };
}

/** A `CacheStore` on a Map, with an `events$` whose subject tells whether anyone listens. */
function eventfulStore(): CacheStore & { subject: Subject<CacheStoreEvent> } {
  const map = new Map<string, CacheEntry>();
  const subject = new Subject<CacheStoreEvent>();
  return {
    subject,
    events$: subject.asObservable(),
    get: async (key) => map.get(key),
    set: async (key, entry) => {
      map.set(key, entry);
    },
    delete: async (key) => map.delete(key),
    clear: async () => map.clear(),
    keys: async () => [...map.keys()],
  };
}

/** An executor `completed` event, as `progress$` counts it. */
const completed = (taskId: number): ExecutionEvent =>
  ({
    type: 'completed',
    time: 0,
    taskId,
    label: undefined,
    priority: 'normal',
    executorId: 1,
    slot: 0,
  }) as ExecutionEvent;

describe('MemoryStore', () => {
  it('dispose() and [Symbol.dispose] stop the sweep timer; without sweepIntervalMs there is none', () => {
    vi.useFakeTimers();
    const store = new MemoryStore({ sweepIntervalMs: 1_000 });
    expect(vi.getTimerCount()).toBe(1);
    store.dispose();
    expect(vi.getTimerCount()).toBe(0);
    store.dispose(); // again: nothing
    {
      using scoped = new MemoryStore({ sweepIntervalMs: 1_000 });
      scoped.setSync('k', entryOf([1]));
      expect(vi.getTimerCount()).toBe(1);
    }
    expect(vi.getTimerCount()).toBe(0);
    new MemoryStore().setSync('k', entryOf([1]));
    expect(vi.getTimerCount()).toBe(0);
  });

  it('the sweep timer never keeps the process alive (it is unref’d)', () => {
    const before = alive('Timeout');
    const store = new MemoryStore({ sweepIntervalMs: 1_000 });
    expect(alive('Timeout')).toEqual(before);
    store.dispose();
  });
});

describe('TieredCache', () => {
  /** A tier whose reads answer as `read` says. */
  const tierOf = (read: () => Promise<CacheEntry | undefined>): CacheStore => ({
    get: read,
    set: async () => {},
    delete: async () => false,
    clear: async () => {},
    keys: async () => [],
  });

  it('a read timeout is cleared when the tier answers or fails, and gone once it fired', async () => {
    vi.useFakeTimers();
    const cacheOver = (lower: CacheStore) =>
      new TieredCache({ tiers: [{ store: new MemoryStore() }, { store: lower }], timeoutMs: 250 });

    const answers = cacheOver(tierOf(async () => entryOf(['v'])));
    expect((await answers.get('k'))?.values).toEqual(['v']);
    expect(vi.getTimerCount()).toBe(0);

    const fails = cacheOver(tierOf(() => Promise.reject(new Error('down'))));
    expect(await fails.get('k')).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);

    const hangs = cacheOver(tierOf(forever));
    const read = hangs.get('k');
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(250);
    expect(await read).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('FileSystemStore and createNodeCache', () => {
  const temp = tempDirs();
  afterAll(temp.removeAll);

  /**
   * `node:fs/promises` with every open handle tracked until closed; `fail` makes a
   * handle's method reject (an I/O error in the middle of a read).
   */
  function trackedFs(fail: { stat?: boolean; read?: boolean; readFile?: boolean } = {}) {
    const open = new Set<object>();
    let opened = 0;
    const ioError = () =>
      Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    const fs: FileSystemStoreFs = {
      mkdir: (path, options) => fsp.mkdir(path, options),
      readdir: (path) => fsp.readdir(path),
      writeFile: (path, data, options) => fsp.writeFile(path, data, options),
      rename: (oldPath, newPath) => fsp.rename(oldPath, newPath),
      unlink: (path) => fsp.unlink(path),
      stat: (path) => fsp.stat(path),
      async open(path, flags) {
        const handle = await fsp.open(path, flags);
        open.add(handle);
        opened++;
        return {
          stat: () => (fail.stat ? ioError() : handle.stat()),
          read: (buffer, offset, length, position) =>
            fail.read ? ioError() : handle.read(buffer, offset, length, position),
          readFile: () => (fail.readFile ? ioError() : handle.readFile()),
          close: async () => {
            open.delete(handle);
            await handle.close();
          },
        };
      },
    };
    return {
      fs,
      open,
      get opened() {
        return opened;
      },
    };
  }

  it('every file handle it opens is closed: reads, scans, corrupt files and I/O errors', async () => {
    const dir = temp.make();
    const tracked = trackedFs();
    const store = new FileSystemStore({ dir, fs: tracked.fs, maxBytes: 1024 * 1024 });
    await store.set('a', entryOf(['A']));
    await store.set('b', entryOf(['B'.repeat(20_000)])); // compressed
    expect((await store.get('a'))?.values).toEqual(['A']);
    expect((await store.get('b'))?.values[0]).toHaveLength(20_000);
    // A garbled entry file: found by a full scan, read, removed.
    const known = new Set(await fsp.readdir(dir));
    await store.set('c', entryOf(['C']));
    const [garbled] = (await fsp.readdir(dir)).filter((file) => !known.has(file));
    await fsp.writeFile(join(dir, garbled as string), 'garbage');
    expect(await store.prune()).toBe(1);
    expect((await store.keys()).sort()).toEqual(['a', 'b']);
    // A store that does not know the files yet reads their headers.
    const fresh = new FileSystemStore({ dir, fs: tracked.fs, maxBytes: 1024 * 1024 });
    expect((await fresh.keys()).sort()).toEqual(['a', 'b']);
    await store.flush();
    await fresh.flush();
    expect(tracked.opened).toBeGreaterThan(4);
    expect(tracked.open.size).toBe(0);

    for (const fail of [{ stat: true }, { read: true }, { readFile: true }]) {
      const failing = trackedFs(fail);
      const broken = new FileSystemStore({ dir, fs: failing.fs });
      await broken.get('a');
      await broken.get('b');
      await broken.keys().catch(() => {});
      await broken.prune().catch(() => {});
      await broken.flush();
      expect(failing.opened).toBeGreaterThan(0);
      expect(failing.open.size).toBe(0);
    }
  });

  it('once flushed, a NodeCache leaves no file handle or pending request', async () => {
    const tracked = trackedFs();
    const before = { FSReqPromise: 0, FSReqCallback: 0, CloseReq: 0 };
    const cache = createNodeCache({ dir: temp.make(), fs: tracked.fs });
    await cache.set('k', entryOf(['v']));
    await cache.flush();
    cache.memory.clear();
    expect((await cache.get('k'))?.values).toEqual(['v']);
    await cache.flush();
    expect(tracked.open.size).toBe(0);
    await eventually(() => expect(alive(...FS)).toEqual(before));
  });

  it('a NodeCache’s memory sweep timer stops with cache.memory.dispose()', () => {
    // NodeCache itself has no dispose(): the memory tier's timer is stopped through it.
    vi.useFakeTimers();
    const cache = createNodeCache({ dir: temp.make(), memory: { sweepIntervalMs: 1_000 } });
    expect(vi.getTimerCount()).toBe(1);
    cache.memory.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('createExecutor', () => {
  it('after its tasks end or are unsubscribed, an executor holds no slot, listener or timer', async () => {
    vi.useFakeTimers();
    const clock = countingClock();
    const executor = createExecutor({ concurrency: 2, clock });
    const signals: AbortSignal[] = [];
    const hang = (signal: AbortSignal) => {
      signals.push(signal);
      return forever<number>();
    };
    const events = executor.events$.subscribe();
    const subscriptions = [1, 2, 3].map(() => executor.schedule(hang).subscribe());
    expect(executor.stats()).toMatchObject({ running: 2, queued: 1 });
    events.unsubscribe();
    // The queued task first: it must never start.
    for (const subscription of subscriptions.reverse()) subscription.unsubscribe();
    expect(executor.stats()).toMatchObject({ running: 0, queued: 0 });
    expect(signals).toHaveLength(2);
    expect(signals.every((signal) => signal.aborted)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    // Nobody listens to events$ any more: a task reads no clock.
    clock.reads = 0;
    await lastValueFrom(executor.schedule(async () => 1));
    expect(clock.reads).toBe(0);
  });
});

describe('Engine', () => {
  it('an engine and the cache it makes own no timer', async () => {
    vi.useFakeTimers();
    const engine = createEngine();
    expect(await lastValueFrom(engine.run('k', async () => 1))).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('dispose() stops listening to the executor', async () => {
    const clock = countingClock();
    const executor = createExecutor({ clock });
    const engine = createEngine({ executor });
    await lastValueFrom(executor.schedule(async () => 1));
    expect(clock.reads).toBeGreaterThan(0); // the engine's metrics listen
    engine.dispose();
    engine.dispose(); // again: nothing
    clock.reads = 0;
    await lastValueFrom(executor.schedule(async () => 1));
    expect(clock.reads).toBe(0);
  });

  it('leaving events$ releases its subscriptions to the executor and to the cache', async () => {
    const clock = countingClock();
    const executor = createExecutor({ clock });
    const cache = eventfulStore();
    const engine = createEngine({ executor, cache, metrics: false });
    const events = engine.events$.subscribe();
    const alerts = engine.alerts$.subscribe();
    expect(cache.subject.observed).toBe(true);
    await lastValueFrom(executor.schedule(async () => 1));
    expect(clock.reads).toBeGreaterThan(0);
    events.unsubscribe();
    alerts.unsubscribe();
    expect(cache.subject.observed).toBe(false);
    clock.reads = 0;
    await lastValueFrom(executor.schedule(async () => 1));
    expect(clock.reads).toBe(0);
  });

  it('leaving metrics$ stops its throttle timer (metricsIntervalMs: Infinity has none)', async () => {
    vi.useFakeTimers();
    const engine = createEngine({ metricsIntervalMs: 1_000 });
    const metrics = engine.metrics$.subscribe();
    await lastValueFrom(engine.run('k', async () => 1));
    expect(vi.getTimerCount()).toBe(1);
    metrics.unsubscribe();
    expect(vi.getTimerCount()).toBe(0);

    const once = createEngine({ metricsIntervalMs: Number.POSITIVE_INFINITY });
    const snapshots = once.metrics$.subscribe();
    await lastValueFrom(once.run('k', async () => 1));
    expect(vi.getTimerCount()).toBe(0);
    snapshots.unsubscribe();
  });

  it('a run unsubscribed while it runs aborts its work, frees its slot and leaves the registry', async () => {
    const engine = createEngine();
    let signal: AbortSignal | undefined;
    const subscription = engine
      .run('k', (s) => {
        signal = s;
        return forever();
      })
      .subscribe();
    expect(engine.inFlight).toBe(1);
    expect(engine.executor.stats().running).toBe(1);
    subscription.unsubscribe();
    await Promise.resolve(); // the last subscriber leaves at the next microtask
    expect(signal?.aborted).toBe(true);
    expect(engine.inFlight).toBe(0);
    expect(engine.executor.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('engine.loader: keys that all left stop the window timer and give back their reservations', async () => {
    vi.useFakeTimers();
    const cache = new MemoryStore();
    const engine = createEngine({ cache });
    const load = engine.loader(async (keys: string[]) => keys, { maxWaitMs: 50 });
    const a = load('a').subscribe();
    const b = load('b').subscribe();
    expect(vi.getTimerCount()).toBe(1);
    expect(cache.reserved).toBe(2);
    a.unsubscribe();
    b.unsubscribe();
    await Promise.resolve(); // the last subscriber leaves at the next microtask
    expect(vi.getTimerCount()).toBe(0);
    expect(cache.reserved).toBe(0);
    expect(engine.inFlight).toBe(0);
  });

  it('engine.loader: a batch in flight is aborted when its keys leave', async () => {
    const cache = new MemoryStore();
    const engine = createEngine({ cache });
    let signal: AbortSignal | undefined;
    const load = engine.loader(
      (_keys: string[], s) => {
        signal = s;
        return forever<string[]>();
      },
      { maxBatchSize: 1 },
    );
    const a = load('a').subscribe();
    await vi.waitFor(() => expect(signal).toBeDefined());
    a.unsubscribe();
    await vi.waitFor(() => expect(signal?.aborted).toBe(true));
    expect(engine.executor.stats()).toMatchObject({ running: 0, queued: 0 });
    expect(cache.reserved).toBe(0);
    expect(engine.inFlight).toBe(0);
  });
});

describe('progress$', () => {
  it('its throttle timer and its subscription to events$ end with it: unsubscribed, completed or failed', async () => {
    vi.useFakeTimers();
    const events = new Subject<ExecutionEvent>();
    const left = progress$(events, { total: 10, intervalMs: 100 }).subscribe();
    events.next(completed(1));
    expect(vi.getTimerCount()).toBe(1);
    left.unsubscribe();
    expect(vi.getTimerCount()).toBe(0);
    expect(events.observed).toBe(false);

    let ended = false;
    progress$(events, { total: 2, intervalMs: 100 }).subscribe({ complete: () => (ended = true) });
    events.next(completed(1));
    expect(vi.getTimerCount()).toBe(1);
    events.next(completed(2));
    expect(ended).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    expect(events.observed).toBe(false);

    let failed = false;
    progress$(events, { total: 2, intervalMs: 100 }).subscribe({ error: () => (failed = true) });
    events.next(completed(1));
    events.error(new Error('boom'));
    expect(failed).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('operators', () => {
  it('hedge: no backup timer or copy outlives the output (won, all failed, unsubscribed)', async () => {
    vi.useFakeTimers();
    const signals: AbortSignal[] = [];
    // Copy 1 hangs; copy 2 (after 100 ms) answers 10 ms later and wins; copy 3 never starts.
    const won = hedge(
      (signal) => {
        signals.push(signal);
        if (signals.length === 1) return forever<string>();
        return new Promise<string>((resolve) => setTimeout(() => resolve('backup'), 10));
      },
      { after: 100, max: 3 },
    );
    const result = lastValueFrom(won);
    await vi.advanceTimersByTimeAsync(110);
    expect(await result).toBe('backup');
    expect(signals).toHaveLength(2);
    expect(signals[0]?.aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);

    const failing = hedge(() => Promise.reject(new Error('no')), { after: 100, max: 3 });
    await expect(lastValueFrom(failing)).rejects.toBeInstanceOf(AggregateError);
    expect(vi.getTimerCount()).toBe(0);

    signals.length = 0;
    const left = hedge(
      (signal) => {
        signals.push(signal);
        return forever<string>();
      },
      { after: 100, max: 3 },
    ).subscribe();
    expect(vi.getTimerCount()).toBe(1);
    left.unsubscribe();
    expect(vi.getTimerCount()).toBe(0);
    expect(signals.map((signal) => signal.aborted)).toEqual([true]);
  });

  it('batchMap: unsubscribing stops the window timer and aborts the batches in flight', async () => {
    vi.useFakeTimers();
    const source = new Subject<number>();
    const windowed = source.pipe(batchMap(async (values: number[]) => values, { maxWaitMs: 50 }));
    const left = windowed.subscribe();
    source.next(1);
    expect(vi.getTimerCount()).toBe(1);
    left.unsubscribe();
    expect(vi.getTimerCount()).toBe(0);
    expect(source.observed).toBe(false);

    let signal: AbortSignal | undefined;
    const inFlight = source
      .pipe(
        batchMap(
          (_values: number[], s) => {
            signal = s;
            return forever<number[]>();
          },
          { maxBatchSize: 1 },
        ),
      )
      .subscribe();
    source.next(1);
    await vi.waitFor(() => expect(signal).toBeDefined());
    inFlight.unsubscribe();
    expect(signal?.aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('parallelMap: unsubscribing aborts every running task and frees the shared executor', () => {
    const executor = createExecutor({ concurrency: 2 });
    const signals: AbortSignal[] = [];
    const left = from([1, 2, 3, 4])
      .pipe(
        parallelMap(
          (_value, _index, signal) => {
            signals.push(signal);
            return forever<number>();
          },
          { executor },
        ),
      )
      .subscribe();
    expect(executor.stats()).toMatchObject({ running: 2, queued: 0 }); // the rest wait in parallelMap
    left.unsubscribe();
    expect(signals.map((signal) => signal.aborted)).toEqual([true, true]);
    expect(executor.stats()).toMatchObject({ running: 0, queued: 0 });
  });
});

describeWithRedis('Redis', () => {
  let admin: Redis;
  /** The prefixes the tests used: what is left under them is removed at the end. */
  const prefixes: string[] = [];
  const freshPrefix = (): string => {
    const prefix = uniquePrefix('release');
    prefixes.push(prefix);
    return prefix;
  };

  beforeAll(async () => {
    admin = createTestClient();
    await admin.connect();
  });
  afterAll(async () => {
    for (const prefix of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
        if (keys.length > 0) await admin.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
    await admin.quit();
  });

  /** A client name no other connection has. */
  const uniqueName = (): string => `eed-release-${randomBytes(6).toString('hex')}`;

  /** How many connections Redis lists under client name `name`. */
  const connectionsNamed = async (name: string): Promise<number> =>
    String(await admin.call('CLIENT', 'LIST'))
      .split('\n')
      .filter((line) => line.includes(` name=${name} `)).length;

  /** The listener count of every event `client` has listeners for. */
  const listenersOf = (client: Redis): Record<string, number> =>
    Object.fromEntries(
      client.eventNames().map((event) => [String(event), client.listenerCount(event)]),
    );

  /** Closes `client` at once; resolves once its connection has ended. */
  async function disconnected(client: Redis): Promise<void> {
    if (client.status === 'end') return;
    const ended = new Promise((resolve) => client.once('end', resolve));
    client.disconnect();
    await ended;
  }

  /** Timer functions that track the timers still pending. */
  function trackedTimers() {
    const pending = new Set<ReturnType<typeof setTimeout>>();
    return {
      pending,
      setTimeout(callback: () => void, ms: number) {
        const handle = setTimeout(() => {
          pending.delete(handle);
          callback();
        }, ms);
        pending.add(handle);
        return handle;
      },
      clearTimeout(handle: unknown) {
        pending.delete(handle as ReturnType<typeof setTimeout>);
        clearTimeout(handle as ReturnType<typeof setTimeout>);
      },
    };
  }

  describe('RedisStore', () => {
    it('on a given client: adds no listener, clears every timeout, leaves the client open', async () => {
      const client = createTestClient();
      await client.connect();
      const listeners = listenersOf(client);
      const timers = trackedTimers();
      const store = new RedisStore({ client, prefix: freshPrefix(), timers });
      await store.set('k', entryOf(['v']));
      expect((await store.get('k'))?.values).toEqual(['v']);
      expect(await store.keys()).toEqual(['k']);
      expect(await store.delete('k')).toBe(true);
      await store.clear();
      expect(timers.pending.size).toBe(0);
      await store.close();
      expect(listenersOf(client)).toEqual(listeners);
      expect(client.status).toBe('ready');
      await disconnected(client);
    });

    it('from url: close() quits the client it made, and nothing keeps the process alive', async () => {
      const name = uniqueName();
      const before = alive(...NET);
      const store = new RedisStore({
        url: `${redisUrl()}?connectionName=${name}`,
        prefix: freshPrefix(),
      });
      await store.set('k', entryOf(['v']));
      await store.clear();
      expect(await connectionsNamed(name)).toBe(1);
      await store[Symbol.asyncDispose]();
      await vi.waitFor(async () => expect(await connectionsNamed(name)).toBe(0));
      await eventually(() => expect(alive(...NET)).toEqual(before));
    });

    it('from url: close() stops the reconnection to a Redis it cannot reach', async () => {
      const before = alive(...NET);
      const store = new RedisStore({ url: 'redis://127.0.0.1:1', timeoutMs: 500 });
      await expect(store.get('k')).rejects.toThrow();
      await store.close();
      // ioredis' disconnect() may leave a grace timer of its own (2 s) for a stream it ends.
      await eventually(() => expect(alive(...NET)).toEqual(before), 5_000);
    });
  });

  describe('redisCoordinator', () => {
    /** A coordinator's connection, named, with every connection duplicated from it kept. */
    async function namedClient() {
      const name = uniqueName();
      const client = createTestClient({ connectionName: name, enableOfflineQueue: false });
      await client.connect();
      const duplicates: Redis[] = [];
      const duplicate = client.duplicate.bind(client);
      client.duplicate = ((...args: Parameters<Redis['duplicate']>) => {
        const made = duplicate(...args);
        duplicates.push(made);
        return made;
      }) as Redis['duplicate'];
      return {
        name,
        client,
        duplicates,
        /** Disconnects the client and anything duplicated from it. */
        async dispose() {
          await Promise.all([...duplicates, client].map(disconnected));
        },
      };
    }

    /** A lease on `key` under `prefix` that another process holds. */
    const leasedElsewhere = (prefix: string, key: string) =>
      admin.set(`${prefix}lease:${key}`, 'another-process', 'PX', 60_000);

    it('close() ends the waits, closes the subscriber it duplicated, and leaves the client as it was', async () => {
      const { name, client, dispose } = await namedClient();
      const listeners = listenersOf(client);
      const prefix = freshPrefix();
      await leasedElsewhere(prefix, 'k');
      try {
        const coordinator = redisCoordinator({ client, prefix, pollMs: 60_000 });
        const controller = new AbortController();
        const claim = coordinator.acquire('k', controller.signal);
        await vi.waitFor(() => expect(coordinator.waiting).toBe(1));
        expect(await connectionsNamed(name)).toBe(2);
        await coordinator[Symbol.asyncDispose]();
        expect((await claim).kind).toBe('unavailable');
        expect(coordinator.waiting).toBe(0);
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
        await vi.waitFor(async () => expect(await connectionsNamed(name)).toBe(1));
        expect(listenersOf(client)).toEqual(listeners);
      } finally {
        await dispose();
      }
    });

    it('an acquisition aborted while it waits leaves no poll timer, abort listener or waiter', async () => {
      const { client, dispose } = await namedClient();
      const prefix = freshPrefix();
      await leasedElsewhere(prefix, 'k');
      const coordinator = redisCoordinator({ client, prefix, pollMs: 60_000 });
      try {
        // Subscribed once, so the wait below is all that changes.
        const first = new AbortController();
        const warmUp = coordinator.acquire('k', first.signal);
        await vi.waitFor(() => expect(coordinator.waiting).toBe(1));
        first.abort();
        await expect(warmUp).rejects.toBeDefined();

        // From here only timeouts are faked: the coordinator's command and poll timers.
        vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
        const controller = new AbortController();
        const claim = coordinator.acquire('k', controller.signal);
        await vi.waitFor(() => expect(coordinator.waiting).toBe(1));
        expect(vi.getTimerCount()).toBe(1);
        controller.abort();
        await expect(claim).rejects.toBeDefined();
        expect(coordinator.waiting).toBe(0);
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
        expect(vi.getTimerCount()).toBe(0);
      } finally {
        await coordinator.close();
        await dispose();
      }
    });

    it('a lease stops renewing when it ends, and close() stops the renewals of leases still held', async () => {
      // Only intervals are faked: renewals are the coordinator's only ones (ioredis has none).
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      const { client, dispose } = await namedClient();
      const prefix = freshPrefix();
      const coordinator = redisCoordinator({ client, prefix, leaseMs: 30_000 });
      try {
        const ended = await coordinator.acquire('a', new AbortController().signal);
        expect(ended.kind).toBe('lease');
        expect(vi.getTimerCount()).toBe(1);
        if (ended.kind === 'lease') await ended.lease.complete();
        expect(vi.getTimerCount()).toBe(0);

        const held = await coordinator.acquire('b', new AbortController().signal);
        expect(held.kind).toBe('lease');
        expect(coordinator.held).toBe(1);
        await coordinator.close();
        expect(coordinator.held).toBe(0);
        expect(vi.getTimerCount()).toBe(0);
      } finally {
        await coordinator.close();
        await dispose();
      }
    });

    /**
     * A coordinator with a subscriber of the caller's, waiting for a lease held elsewhere,
     * is closed while `closeWhen` (its wait is listed, or at once: the acquisition is still
     * in its first round trip). The subscriber keeps no listener and no subscription.
     */
    async function closeWithGivenSubscriber(closeWhen: 'waiting' | 'acquiring'): Promise<void> {
      const { client, dispose } = await namedClient();
      const subscriber = createTestClient();
      await subscriber.connect();
      const listeners = listenersOf(subscriber);
      const prefix = freshPrefix();
      await leasedElsewhere(prefix, 'k');
      try {
        const pollMs = closeWhen === 'waiting' ? 60_000 : 10;
        const coordinator = redisCoordinator({ client, subscriber, prefix, pollMs });
        const claim = coordinator.acquire('k', new AbortController().signal);
        if (closeWhen === 'waiting') await vi.waitFor(() => expect(coordinator.waiting).toBe(1));
        await coordinator.close();
        await claim;
        expect(listenersOf(subscriber)).toEqual(listeners);
        expect(await admin.call('PUBSUB', 'NUMSUB', `${prefix}flights`)).toEqual([
          `${prefix}flights`,
          0,
        ]);
      } finally {
        await disconnected(subscriber);
        await dispose();
      }
    }

    it('with a given subscriber: close() removes its listeners and unsubscribes it', () =>
      closeWithGivenSubscriber('waiting'));

    // Found by this audit: acquire() checked that the coordinator was open only on entry,
    // so an acquisition whose first round trip was in flight at close() went on to
    // duplicate the client, subscribe it, and leave that connection open for good.
    it('close() during an acquisition leaves no duplicated subscriber connection open', async () => {
      const { name, client, duplicates, dispose } = await namedClient();
      const prefix = freshPrefix();
      await leasedElsewhere(prefix, 'k');
      const before = alive('TCPSocketWrap');
      try {
        const coordinator = redisCoordinator({ client, prefix, pollMs: 10 });
        const claim = coordinator.acquire('k', new AbortController().signal);
        await coordinator.close();
        expect((await claim).kind).toBe('unavailable');
        await vi.waitFor(() => {
          expect(
            duplicates.map((made) => made.status).filter((status) => status !== 'end'),
          ).toEqual([]);
        });
        expect(await connectionsNamed(name)).toBe(1);
        expect(alive('TCPSocketWrap')).toEqual(before);
      } finally {
        await dispose();
      }
    });

    // Same cause, with a subscriber of the caller's: the late subscription added listeners
    // and a channel subscription after close() had nothing to remove.
    it('close() during an acquisition leaves no listener or subscription on a given subscriber', () =>
      closeWithGivenSubscriber('acquiring'));

    // Same cause, key free: a lease granted after close() renewed for good, and ending it
    // deleted nothing in Redis.
    it('close() during an acquisition grants no lease that renews after close', async () => {
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      const { client, dispose } = await namedClient();
      const coordinator = redisCoordinator({ client, prefix: freshPrefix() });
      let claimed: Awaited<ReturnType<typeof coordinator.acquire>> | undefined;
      try {
        const claim = coordinator.acquire('k', new AbortController().signal);
        await coordinator.close();
        claimed = await claim;
        expect(coordinator.held).toBe(0);
        expect(vi.getTimerCount()).toBe(0);
      } finally {
        if (claimed?.kind === 'lease') await claimed.lease.release();
        await dispose();
      }
    });

    // The README's shutdown for several processes: flush, close the coordinator, disconnect.
    it('the README’s shutdown (engine.flush(), coordinator.close(), client.disconnect()) leaves no connection open', async () => {
      const { name, client, duplicates, dispose } = await namedClient();
      const prefix = freshPrefix();
      await leasedElsewhere(prefix, 'k');
      try {
        const coordinator = redisCoordinator({ client, prefix, pollMs: 10 });
        const engine = createEngine({
          cache: new TieredCache({
            tiers: [{ store: new MemoryStore() }, { store: new RedisStore({ client, prefix }) }],
          }),
          coordinator,
          ttl: 60_000,
        });
        const result = lastValueFrom(engine.run('k', async () => 'local'));
        await vi.waitFor(() => expect(duplicates).toHaveLength(1)); // it waited
        await admin.del(`${prefix}lease:k`); // the other process died: this one takes over
        expect(await result).toBe('local');
        await engine.flush();
        await coordinator.close();
        client.disconnect();
        await vi.waitFor(async () => expect(await connectionsNamed(name)).toBe(0));
      } finally {
        await dispose();
      }
    });

    // Found by this audit: waiting for a client that is not ready added 'ready', 'error' and
    // 'end' listeners that a timed-out command left behind; on a client whose connection had
    // ended, each acquisition added three for good.
    it('acquisitions on a client whose connection ended leave no listener on it', async () => {
      const client = createTestClient({ enableOfflineQueue: false });
      client.on('error', () => {});
      await client.connect();
      const ended = new Promise((resolve) => client.once('end', resolve));
      client.disconnect();
      await ended;
      const listeners = listenersOf(client);
      const coordinator = redisCoordinator({ client, timeoutMs: 20, coolDownMs: 0 });
      for (const key of ['a', 'b', 'c']) {
        expect((await coordinator.acquire(key, new AbortController().signal)).kind).toBe(
          'unavailable',
        );
      }
      await coordinator.close();
      expect(listenersOf(client)).toEqual(listeners);
    });
  });
});
