import {
  type CacheEntry,
  type CacheStore,
  createEngine,
  createExecutor,
  MemoryStore,
  TieredCache,
  TierUnavailableError,
} from 'eed';
import {
  asyncScheduler,
  firstValueFrom,
  lastValueFrom,
  type Observable,
  of,
  Subject,
  take,
  toArray,
} from 'rxjs';
import { describe, expect, it, vi } from 'vitest';

/** A promise whose settlement the test controls. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** An async store that keeps entries in a Map, for the engine's asynchronous path. */
class AsyncMapStore implements CacheStore {
  readonly map = new Map<string, CacheEntry>();
  gets = 0;
  fail = false;
  async get(key: string) {
    this.gets++;
    if (this.fail) throw new Error('store down');
    const entry = this.map.get(key);
    return entry && entry.expiresAt > Date.now() ? entry : undefined;
  }
  async set(key: string, entry: CacheEntry) {
    if (this.fail) throw new Error('store down');
    this.map.set(key, entry);
  }
  async delete(key: string) {
    return this.map.delete(key);
  }
  async clear() {
    this.map.clear();
  }
  async keys() {
    return [...this.map.keys()];
  }
}

describe('engine.run', () => {
  it('runs the work once and serves the next run from the cache, synchronously', async () => {
    const engine = createEngine();
    const work = vi.fn(async () => 42);
    expect(await firstValueFrom(engine.run('k', work))).toBe(42);
    const seen: number[] = [];
    engine.run('k', work).subscribe((v) => seen.push(v));
    expect(seen).toEqual([42]); // delivered before subscribe returned
    expect(work).toHaveBeenCalledTimes(1);
    const m = engine.metrics();
    expect(m).toMatchObject({ requests: 2, cacheHits: 1, cacheMisses: 1, executions: 1 });
    expect(m.cacheHitRate).toBe(0.5);
  });

  it('joins an execution in flight: one call, every subscriber sees every value', async () => {
    const engine = createEngine();
    const source = new Subject<number>();
    const work = vi.fn(() => source);
    const a: number[] = [];
    const b: number[] = [];
    engine.run('k', work).subscribe((v) => a.push(v));
    await flush();
    source.next(1);
    engine.run('k', work).subscribe((v) => b.push(v)); // late joiner replays 1
    source.next(2);
    source.complete();
    expect(a).toEqual([1, 2]);
    expect(b).toEqual([1, 2]);
    expect(work).toHaveBeenCalledTimes(1);
    expect(engine.metrics()).toMatchObject({ joins: 1, dedupeRate: 0.5, redundancyRate: 0 });
    expect(engine.inFlight).toBe(0);
  });

  it('caches the whole sequence of a multi-value result', async () => {
    const engine = createEngine();
    expect(await lastValueFrom(engine.run('k', () => of(1, 2, 3)).pipe(toArray()))).toEqual([
      1, 2, 3,
    ]);
    const work = vi.fn(() => of(9));
    expect(await lastValueFrom(engine.run('k', work).pipe(toArray()))).toEqual([1, 2, 3]);
    expect(work).not.toHaveBeenCalled();
  });

  it('never caches an error: the next run executes again', async () => {
    const engine = createEngine();
    let calls = 0;
    const work = async () => {
      calls++;
      if (calls === 1) throw new Error('boom');
      return 'ok';
    };
    await expect(firstValueFrom(engine.run('k', work))).rejects.toThrow('boom');
    expect(await firstValueFrom(engine.run('k', work))).toBe('ok');
    expect(calls).toBe(2);
    expect(engine.metrics().failures).toBe(1);
  });

  it('a consumer leaving on the first value of a Promise still caches it (firstValueFrom / take(1))', async () => {
    const engine = createEngine();
    const work = vi.fn(async () => ({ id: 1 }));
    await firstValueFrom(engine.run('p', work));
    await lastValueFrom(engine.run('a', () => [1, 2, 3]).pipe(take(1)));
    await lastValueFrom(engine.run('o', () => of('x')).pipe(take(1)));
    await flush();
    await firstValueFrom(engine.run('p', work));
    expect(work).toHaveBeenCalledTimes(1);
    const again = vi.fn(() => [0]);
    expect(await lastValueFrom(engine.run('a', again).pipe(toArray()))).toEqual([1, 2, 3]);
    expect(await lastValueFrom(engine.run('o', again).pipe(toArray()))).toEqual(['x']);
    expect(again).not.toHaveBeenCalled();
    expect(engine.metrics().cancellations).toBe(0);
  });

  it('aborts the execution only when its last subscriber leaves, and caches nothing', async () => {
    const engine = createEngine();
    let signal: AbortSignal | undefined;
    const work = vi.fn((s: AbortSignal) => {
      signal = s;
      return new Promise<number>(() => {});
    });
    const a = engine.run('k', work).subscribe();
    const b = engine.run('k', work).subscribe();
    await flush();
    a.unsubscribe();
    await flush();
    expect(signal?.aborted).toBe(false);
    b.unsubscribe();
    await flush();
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toMatchObject({ name: 'AbortError' });
    expect(engine.inFlight).toBe(0);
    expect(engine.executor.stats().running).toBe(0);
    const next = vi.fn(async () => 1);
    await firstValueFrom(engine.run('k', next));
    expect(next).toHaveBeenCalledTimes(1);
    expect(engine.metrics().cancellations).toBe(1);
  });

  it('deep-freezes delivered values, from work and from cache', async () => {
    const engine = createEngine();
    const value = await firstValueFrom(engine.run('k', async () => ({ a: { b: [1] } })));
    expect(Object.isFrozen(value)).toBe(true);
    expect(Object.isFrozen(value.a.b)).toBe(true);
    expect(() => {
      (value.a.b as number[]).push(2);
    }).toThrow();
    const store = new AsyncMapStore();
    store.map.set('x', {
      values: [{ n: [1] }],
      storedAt: 0,
      expiresAt: Infinity,
      cost: 0,
      size: 0,
    });
    const fromStore = await firstValueFrom(
      createEngine({ cache: store }).run('x', async () => ({ n: [2] })),
    );
    expect(fromStore).toEqual({ n: [1] });
    expect(Object.isFrozen(fromStore.n)).toBe(true);
  });

  it('respects ttl: expired entries run again; ttl 0 and cache:false never cache', async () => {
    let now = 1_000;
    const engine = createEngine({ ttl: 100, wallClock: { now: () => now } });
    const work = vi.fn(async () => 1);
    await firstValueFrom(engine.run('k', work));
    await flush();
    now += 99;
    await firstValueFrom(engine.run('k', work));
    expect(work).toHaveBeenCalledTimes(1);
    now += 1;
    await firstValueFrom(engine.run('k', work));
    expect(work).toHaveBeenCalledTimes(2);
    await firstValueFrom(engine.run('z', work, { ttl: 0 }));
    await firstValueFrom(engine.run('z', work, { ttl: 0 }));
    expect(work).toHaveBeenCalledTimes(4);
    await firstValueFrom(engine.run('c', work, { cache: false }));
    await firstValueFrom(engine.run('c', work));
    expect(work).toHaveBeenCalledTimes(6);
  });

  it('works over an asynchronous store, sharing one lookup between concurrent runs', async () => {
    const store = new AsyncMapStore();
    const engine = createEngine({ cache: store });
    const work = vi.fn(async () => 'v');
    const results = await Promise.all(
      Array.from({ length: 5 }, () => firstValueFrom(engine.run('k', work))),
    );
    expect(results).toEqual(['v', 'v', 'v', 'v', 'v']);
    expect(store.gets).toBe(1);
    expect(work).toHaveBeenCalledTimes(1);
    await flush();
    expect(await firstValueFrom(createEngine({ cache: store }).run('k', work))).toBe('v');
    expect(work).toHaveBeenCalledTimes(1);
  });

  it('a failing store degrades to a miss and an event, never failing the run', async () => {
    const store = new AsyncMapStore();
    store.fail = true;
    const engine = createEngine({ cache: store });
    const errors: string[] = [];
    engine.events$.subscribe((e) => {
      if (e.type === 'cache-error') errors.push(e.operation);
    });
    expect(await firstValueFrom(engine.run('k', async () => 7))).toBe(7);
    await flush();
    expect(errors).toEqual(['get', 'set']);
    await engine.invalidate('k');
    expect(errors).toEqual(['get', 'set']); // delete did not throw
  });

  it("a tier's failures become cache-error events stamped by the engine's clock, breaker events included", async () => {
    const failing = new AsyncMapStore();
    failing.fail = true;
    const cache = new TieredCache({
      tiers: [{ store: new MemoryStore() }, { store: failing }],
      failureThreshold: 1,
      // The store's own times are wall-clock times.
      clock: { now: () => 1_700_000_000_000 },
    });
    const engine = createEngine({ cache, clock: { now: () => 42 }, metrics: false });
    const seen: { time: number; message: string }[] = [];
    const unavailable: string[] = [];
    engine.events$.subscribe((e) => {
      if (e.type !== 'cache-error') return;
      seen.push({ time: e.time, message: (e.error as Error).message });
      if (e.error instanceof TierUnavailableError) {
        unavailable.push(`${e.error.reason} ${e.error.tier}`);
      }
    });
    expect(await firstValueFrom(engine.run('a', async () => 1))).toBe(1);
    expect(await firstValueFrom(engine.run('b', async () => 2))).toBe(2);
    await flush();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((event) => event.time === 42)).toBe(true);
    expect(seen.map((event) => event.message)).toEqual(
      expect.arrayContaining([
        'store down',
        expect.stringMatching(/^cache tier-opened: tier 1 failed too often/),
        expect.stringMatching(/^cache tier-skipped: tier 1 is skipped/),
      ]),
    );
    expect(unavailable).toEqual(expect.arrayContaining(['opened 1', 'skipped 1']));
    expect(new TierUnavailableError(2, 'opened').name).toBe('TierUnavailableError');
  });

  it('invalidate removes the entry and keeps a result in flight from being cached', async () => {
    const engine = createEngine();
    const work = vi.fn(async () => 1);
    await firstValueFrom(engine.run('k', work));
    await engine.invalidate('k');
    await firstValueFrom(engine.run('k', work));
    expect(work).toHaveBeenCalledTimes(2);

    const gate = deferred<number>();
    const slow = vi.fn(() => gate.promise);
    const pending = firstValueFrom(engine.run('s', slow));
    await flush();
    await engine.invalidate('s');
    gate.resolve(5);
    expect(await pending).toBe(5);
    await firstValueFrom(engine.run('s', async () => 6)).then((v) => expect(v).toBe(6));
  });

  it('proves one execution for 10,000 concurrent runs of one key', async () => {
    const engine = createEngine();
    const gate = deferred<string>();
    const work = vi.fn(() => gate.promise);
    const all = Promise.all(
      Array.from({ length: 10_000 }, () => firstValueFrom(engine.run('hot', work))),
    );
    await flush();
    gate.resolve('done');
    const results = await all;
    expect(results.every((r) => r === 'done')).toBe(true);
    expect(work).toHaveBeenCalledTimes(1);
    const m = engine.metrics();
    expect(m.executions).toBe(1);
    expect(m.joins).toBe(9_999);
    expect(m.redundancyRate).toBe(0);
    expect(engine.inFlight).toBe(0);
  });

  it('invalidate: a started execution is not cached, a still queued one is', async () => {
    const engine = createEngine({ executor: createExecutor({ concurrency: 1 }) });
    const gate = deferred<string>();
    const running = engine.run('running', () => gate.promise);
    const queued = engine.run('queued', async () => 'fresh');
    const results = Promise.all([firstValueFrom(running), firstValueFrom(queued)]);
    await flush();
    expect(engine.executor.stats()).toMatchObject({ running: 1, queued: 1 });
    await engine.invalidate('running');
    await engine.invalidate('queued');
    gate.resolve('stale');
    expect(await results).toEqual(['stale', 'fresh']);
    const again = vi.fn(async () => 'again');
    expect(await firstValueFrom(engine.run('running', again))).toBe('again');
    expect(await firstValueFrom(engine.run('queued', again))).toBe('fresh');
    expect(again).toHaveBeenCalledTimes(1);
  });

  it('promotes a queued execution when a caller of higher priority joins', async () => {
    const executor = createExecutor({ concurrency: 1 });
    const engine = createEngine({ executor });
    const gate = deferred<void>();
    const order: string[] = [];
    engine.run('blocker', () => gate.promise).subscribe();
    engine.run('n', async () => order.push('n')).subscribe();
    engine.run('b', async () => order.push('b'), { priority: 'background' }).subscribe();
    engine.run('b', async () => order.push('b2'), { priority: 'critical' }).subscribe();
    expect(executor.stats().queuedByPriority).toEqual({ critical: 1, normal: 1, background: 0 });
    gate.resolve();
    await flush();
    await flush();
    expect(order).toEqual(['b', 'n']);
  });

  it('a joiner pins a running prefetch so it cannot be preempted', async () => {
    const executor = createExecutor({ concurrency: 1 });
    const engine = createEngine({ executor });
    const gate = deferred<string>();
    const prefetchWork = vi.fn(() => gate.promise);
    engine.prefetch('p', prefetchWork);
    expect(executor.stats().runningByPriority.background).toBe(1);
    const got = firstValueFrom(engine.run('p', async () => 'again'));
    engine.run('other', async () => 'x').subscribe();
    expect(executor.stats().running).toBe(1);
    expect(executor.stats().queued).toBe(1); // 'other' waits: the prefetch was pinned
    gate.resolve('prefetched');
    expect(await got).toBe('prefetched');
    expect(prefetchWork).toHaveBeenCalledTimes(1);
    expect(engine.metrics().prefetch).toEqual({ issued: 1, used: 1, wasted: 0, precision: 1 });
  });

  it("a joined running prefetch moves to the caller's lane and frees its background place", async () => {
    const executor = createExecutor({ concurrency: 2, backgroundConcurrency: 1 });
    const engine = createEngine({ executor });
    const gate = deferred<string>();
    engine.prefetch('p', () => gate.promise);
    const next = vi.fn(async () => 'q');
    engine.prefetch('q', next);
    expect(executor.stats().queuedByPriority.background).toBe(1); // one background place
    const got = firstValueFrom(engine.run('p', async () => 'again', { priority: 'critical' }));
    expect(executor.stats().runningByPriority).toEqual({ critical: 1, normal: 0, background: 1 });
    expect(next).toHaveBeenCalledTimes(1);
    gate.resolve('prefetched');
    expect(await got).toBe('prefetched');
  });
});

describe('engine.prefetch', () => {
  it('runs in the background and a later run hits its cache entry', async () => {
    const engine = createEngine();
    const work = vi.fn(async () => 'p');
    engine.prefetch('k', work);
    await flush();
    expect(await firstValueFrom(engine.run('k', async () => 'fresh'))).toBe('p');
    expect(work).toHaveBeenCalledTimes(1);
    expect(engine.metrics().prefetch).toEqual({ issued: 1, used: 1, wasted: 0, precision: 1 });
  });

  it('does nothing for a key cached or in flight', async () => {
    const engine = createEngine();
    await firstValueFrom(engine.run('k', async () => 1));
    const work = vi.fn(async () => 2);
    engine.prefetch('k', work);
    engine.run('f', () => new Promise(() => {})).subscribe();
    engine.prefetch('f', work);
    await flush();
    expect(work).not.toHaveBeenCalled();
    expect(engine.metrics().prefetch.issued).toBe(0);
  });

  it('is preempted by real work when slots are full, and counted as wasted', async () => {
    const executor = createExecutor({ concurrency: 1 });
    const engine = createEngine({ executor });
    let signal: AbortSignal | undefined;
    engine.prefetch('p', (s) => {
      signal = s;
      return new Promise(() => {});
    });
    expect(executor.stats().runningByPriority.background).toBe(1);
    const got = firstValueFrom(engine.run('real', async () => 'r'));
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toMatchObject({ name: 'PreemptedError' });
    expect(await got).toBe('r');
    await flush();
    expect(engine.metrics().prefetch).toEqual({ issued: 1, used: 0, wasted: 1, precision: 0 });
    expect(engine.inFlight).toBe(0);
  });
});

describe('engine events and metrics$', () => {
  it('emits request, miss, executed, stored, first-value and ended events', async () => {
    const engine = createEngine();
    const types: string[] = [];
    engine.events$.subscribe((e) => types.push(e.type));
    await lastValueFrom(engine.run('k', async () => 1));
    expect(types).toEqual([
      'request',
      'cache-miss',
      'queued',
      'started',
      'executed',
      'completed',
      'first-value',
      'execution-ended',
      'cache-stored',
      'request-ended',
    ]);
  });

  it('metrics$ emits the current snapshot, then throttled updates while subscribed', () => {
    vi.useFakeTimers();
    try {
      const engine = createEngine({ metricsIntervalMs: 100 });
      const seen: number[] = [];
      const sub = engine.metrics$.subscribe((m) => seen.push(m.requests));
      expect(seen).toEqual([0]);
      engine.run('a', () => [1]).subscribe();
      engine.run('b', () => [1]).subscribe();
      vi.advanceTimersByTime(100);
      expect(seen).toEqual([0, 2]);
      sub.unsubscribe();
      expect(Object.isFrozen(engine.metrics())).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('metrics$ with metricsIntervalMs: Infinity emits the snapshot at subscription only, with no timer', () => {
    vi.useFakeTimers();
    try {
      const engine = createEngine({ metricsIntervalMs: Number.POSITIVE_INFINITY });
      const seen: number[] = [];
      const sub = engine.metrics$.subscribe((m) => seen.push(m.requests));
      engine.run('a', () => [1]).subscribe();
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(60_000);
      expect(seen).toEqual([0]);
      sub.unsubscribe();
      expect(() => createEngine({ metricsIntervalMs: 2 ** 31 })).toThrow(
        /metricsIntervalMs must be a number of milliseconds >= 0 and at most 2147483647 .*, or Infinity; received 2147483648/,
      );
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects bad options and arguments, naming them', () => {
    expect(() => createEngine({ ttl: -1 })).toThrow(/ttl.*-1/);
    expect(() => createEngine({ executor: { concurrency: 0 } })).toThrow(/concurrency.*0/);
    const engine = createEngine();
    expect(() => engine.run(1 as unknown as string, async () => 1)).toThrow(TypeError);
    expect(() => engine.run('k', async () => 1, { priority: 'urgent' as 'normal' })).toThrow(
      /priority.*urgent/,
    );
    expect(() => engine.run('k', 'nope' as unknown as () => Observable<number>)).toThrow(/work/);
  });

  it('rejects an executor that is neither an Executor nor options, naming the value', () => {
    for (const [executor, shown] of [
      [5, '5'],
      [null, 'null'],
      ['fast', '"fast"'],
      [[], 'an array'],
    ] as const) {
      expect(() => createEngine({ executor: executor as never })).toThrow(
        new TypeError(
          `executor must be an Executor (see createExecutor) or options for one; received ${shown}`,
        ),
      );
    }
    // Something with schedule() or stats() is taken for an Executor, so it must be one.
    for (const partial of [{ schedule: () => of(1) }, { stats: () => ({}) }]) {
      expect(() => createEngine({ executor: partial as never })).toThrow(
        new TypeError('executor must be an Executor (see createExecutor); received an object'),
      );
    }
    const shared = createExecutor({ concurrency: 2 });
    expect(createEngine({ executor: shared }).executor).toBe(shared);
    expect(createEngine({ executor: { concurrency: 3 } }).executor.concurrency).toBe(3);
    expect(createEngine({ executor: {} }).executor.concurrency).toBe(10);
  });

  it('rejects a clock or wallClock without now(), with the default cache or one of its own', () => {
    const clockError = (option: string, shown: string) =>
      new TypeError(`${option} must be a clock (an object with now()); received ${shown}`);
    expect(() => createEngine({ clock: 5 as never })).toThrow(clockError('clock', '5'));
    expect(() => createEngine({ clock: {} as never })).toThrow(clockError('clock', 'an object'));
    expect(() => createEngine({ wallClock: 5 as never })).toThrow(clockError('wallClock', '5'));
    const store = new AsyncMapStore();
    expect(() => createEngine({ cache: store, wallClock: null as never })).toThrow(
      clockError('wallClock', 'null'),
    );
    const now = { now: () => 1 };
    expect(() => createEngine({ cache: store, clock: now, wallClock: now })).not.toThrow();
  });

  it('rejects metrics that is not a boolean, and alerts that is not an object', () => {
    expect(() => createEngine({ metrics: 'no' as never })).toThrow(
      new TypeError('metrics must be true or false; received "no"'),
    );
    expect(() => createEngine({ metrics: 0 as never })).toThrow(
      new TypeError('metrics must be true or false; received 0'),
    );
    for (const [alerts, shown] of [
      [5, '5'],
      [null, 'null'],
      [[], 'an array'],
    ] as const) {
      expect(() => createEngine({ alerts: alerts as never })).toThrow(
        new TypeError(`alerts must be an object; received ${shown}`),
      );
    }
    expect(createEngine({ metrics: true, alerts: {} }).metrics().requests).toBe(0);
    expect(createEngine({ metrics: false }).metrics().requests).toBe(0);
  });

  it('rejects alerts.windowMs unless a number > 0 (Infinity allowed), even with metrics off', () => {
    for (const [windowMs, shown] of [
      [-1, '-1'],
      [0, '0'],
      [Number.NaN, 'NaN'],
      ['60000', '"60000"'],
    ] as const) {
      for (const metrics of [true, false]) {
        expect(() => createEngine({ metrics, alerts: { windowMs: windowMs as never } })).toThrow(
          new RangeError(
            `alerts.windowMs must be a number of milliseconds > 0 (or Infinity); received ${shown}`,
          ),
        );
      }
    }
    for (const windowMs of [0.5, 30_000, Number.POSITIVE_INFINITY]) {
      expect(() => createEngine({ alerts: { windowMs } })).not.toThrow();
    }
  });

  it('engine.loader rejects a scheduler without now() and schedule(), at the call', () => {
    const engine = createEngine();
    const loadBatch = async (keys: string[]) => keys;
    for (const [scheduler, shown] of [
      [5, '5'],
      [{ now: () => 0 }, 'an object'],
    ] as const) {
      expect(() => engine.loader(loadBatch, { scheduler: scheduler as never })).toThrow(
        new TypeError(
          `scheduler must be an RxJS SchedulerLike (now() and schedule()); received ${shown}`,
        ),
      );
    }
    expect(() => engine.loader(loadBatch, { scheduler: asyncScheduler })).not.toThrow();
  });
});

describe('engine.run with slot: false', () => {
  it('runs composite work outside the executor, so its own subtasks cannot deadlock', async () => {
    const engine = createEngine({ executor: { concurrency: 1 } });
    const part = (n: number) => firstValueFrom(engine.executor.schedule(async () => n));
    const composite = (key: string) =>
      firstValueFrom(
        engine.run(key, async () => (await part(1)) + (await part(2)), { slot: false }),
      );
    expect(await Promise.all([composite('a'), composite('b'), composite('a')])).toEqual([3, 3, 3]);
    expect(engine.metrics()).toMatchObject({ executions: 2, joins: 1 });
    expect(engine.executor.stats()).toMatchObject({ running: 0, queued: 0 });
  });
});
