import { createEngine, MemoryStore } from 'eed';
import { firstValueFrom, lastValueFrom, Subject, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Counts AbortControllers created while `body` runs. */
async function countControllers(body: () => Promise<void>): Promise<number> {
  const Original = globalThis.AbortController;
  let created = 0;
  globalThis.AbortController = class extends Original {
    constructor() {
      super();
      created++;
    }
  };
  try {
    await body();
  } finally {
    globalThis.AbortController = Original;
  }
  return created;
}

describe('engine.run local executions (no coordinator, synchronous cache)', () => {
  it('gives work without a signal parameter no AbortController, on the executor and with slot: false', async () => {
    const engine = createEngine();
    const created = await countControllers(async () => {
      expect(await firstValueFrom(engine.run('a', async () => 1))).toBe(1);
      expect(await firstValueFrom(engine.run('b', async () => 2, { slot: false }))).toBe(2);
      expect(
        await lastValueFrom(engine.run('c', () => [1, 2, 3], { slot: false }).pipe(toArray())),
      ).toEqual([1, 2, 3]);
    });
    expect(created).toBe(0);
    expect(engine.metrics()).toMatchObject({ executions: 3, requests: 3, cacheMisses: 3 });
  });

  it('work taking a signal still gets one, aborted when the last subscriber leaves (both paths)', async () => {
    const engine = createEngine();
    for (const slot of [true, false]) {
      let signal: AbortSignal | undefined;
      const key = `k${slot}`;
      const run = engine.run(
        key,
        (s) => {
          signal = s;
          return new Promise<number>(() => {});
        },
        { slot },
      );
      const a = run.subscribe();
      const b = run.subscribe();
      a.unsubscribe();
      await tick();
      expect(signal?.aborted).toBe(false);
      b.unsubscribe();
      await tick();
      expect(signal?.aborted).toBe(true);
    }
    expect(engine.inFlight).toBe(0);
    expect(engine.executor.stats()).toMatchObject({ running: 0, queued: 0 });
    expect(engine.metrics().cancellations).toBe(2);
  });

  it('releases a queued execution on cancellation: its work is never called', async () => {
    const engine = createEngine({ executor: { concurrency: 1 } });
    const blocker = new Subject<number>();
    const first = engine.run('busy', () => blocker).subscribe();
    let called = false;
    const queued = engine
      .run('queued', async () => {
        called = true;
        return 1;
      })
      .subscribe();
    expect(engine.executor.stats().queued).toBe(1);
    queued.unsubscribe();
    await tick();
    expect(engine.executor.stats().queued).toBe(0);
    first.unsubscribe();
    await tick();
    expect(called).toBe(false);
    expect(engine.inFlight).toBe(0);
  });

  it('a synchronous error is not cached, and reaches every joiner', async () => {
    const engine = createEngine();
    let calls = 0;
    const fail = () => {
      calls++;
      throw new Error('boom');
    };
    for (const slot of [true, false]) {
      await expect(firstValueFrom(engine.run(`e${slot}`, fail, { slot }))).rejects.toThrow('boom');
      await expect(firstValueFrom(engine.run(`e${slot}`, fail, { slot }))).rejects.toThrow('boom');
    }
    expect(calls).toBe(4);
    const source = new Subject<number>();
    const seen: unknown[] = [];
    engine.run('j', () => source).subscribe({ error: (e) => seen.push(e) });
    engine.run('j', () => source).subscribe({ error: (e) => seen.push(e) });
    source.error(new Error('late'));
    expect(seen).toHaveLength(2);
    expect(await firstValueFrom(engine.run('j', async () => 'ok'))).toBe('ok');
    expect(engine.inFlight).toBe(0);
  });

  it('a joiner gets the values so far, then the rest; values are frozen and cached', async () => {
    const engine = createEngine();
    const source = new Subject<{ n: number }>();
    const early: number[] = [];
    const late: number[] = [];
    engine.run('k', () => source).subscribe((v) => early.push(v.n));
    source.next({ n: 1 });
    engine.run('k', () => source).subscribe((v) => late.push(v.n));
    source.next({ n: 2 });
    source.complete();
    expect(early).toEqual([1, 2]);
    expect(late).toEqual([1, 2]);
    const cached = await lastValueFrom(engine.run('k', () => source).pipe(toArray()));
    expect(cached.map((v) => v.n)).toEqual([1, 2]);
    expect(Object.isFrozen(cached[0])).toBe(true);
    expect(engine.metrics()).toMatchObject({ executions: 1, joins: 1, cacheHits: 1 });
  });

  it('take(1) on a result that completes at once still caches it', async () => {
    const engine = createEngine();
    let calls = 0;
    const work = () => {
      calls++;
      return [1, 2];
    };
    await lastValueFrom(engine.run('t', work).pipe(take(1)));
    await tick();
    expect(await lastValueFrom(engine.run('t', work).pipe(toArray()))).toEqual([1, 2]);
    expect(calls).toBe(1);
  });
});

describe('engine metrics and events listeners', () => {
  it('counts the same metrics with and without an events$ listener', async () => {
    const scenario = async (listen: boolean) => {
      const engine = createEngine();
      const seen: string[] = [];
      const subscription = listen ? engine.events$.subscribe((e) => seen.push(e.type)) : undefined;
      await firstValueFrom(engine.run('a', async () => 1));
      await firstValueFrom(engine.run('a', async () => 1));
      const both = [engine.run('b', async () => 2), engine.run('b', async () => 2)];
      await Promise.all(both.map((run) => firstValueFrom(run)));
      await expect(
        firstValueFrom(engine.run('c', () => Promise.reject(new Error('x')))),
      ).rejects.toThrow();
      subscription?.unsubscribe();
      const { requests, cacheHits, cacheMisses, joins, executions, failures, latency } =
        engine.metrics();
      return {
        metrics: {
          requests,
          cacheHits,
          cacheMisses,
          joins,
          executions,
          failures,
          completions: latency.completion.count,
          firstValues: latency.firstValue.count,
        },
        seen,
      };
    };
    const quiet = await scenario(false);
    const heard = await scenario(true);
    expect(quiet.metrics).toEqual(heard.metrics);
    expect(quiet.metrics).toEqual({
      requests: 5,
      cacheHits: 1,
      cacheMisses: 3,
      joins: 1,
      executions: 3,
      failures: 1,
      // firstValueFrom leaves on the first value: only the synchronous hit completes first.
      completions: 1,
      firstValues: 4,
    });
    expect(heard.seen.filter((t) => t === 'request')).toHaveLength(5);
    expect(heard.seen).toContain('joined');
  });

  it('makes no event object while nobody listens, and publishes them once someone does', async () => {
    const engine = createEngine({ metrics: false });
    await firstValueFrom(engine.run('a', async () => 1));
    const types: string[] = [];
    const subscription = engine.events$.subscribe((e) => types.push(e.type));
    await firstValueFrom(engine.run('a', async () => 1));
    subscription.unsubscribe();
    await firstValueFrom(engine.run('b', async () => 1));
    expect(types).toEqual(['request', 'cache-hit', 'first-value', 'request-ended']);
    expect(engine.metrics().requests).toBe(0);
  });

  it('counts redundant executions of a key still valid in cache (cache: false runs)', async () => {
    const engine = createEngine({ cache: new MemoryStore() });
    await firstValueFrom(engine.run('k', async () => 1));
    await firstValueFrom(engine.run('k', async () => 1, { cache: false }));
    expect(engine.metrics()).toMatchObject({ executions: 2, redundantExecutions: 1 });
  });

  it('a synchronous hit is counted the same whether or not events$ has a listener', async () => {
    let now = 1;
    const clock = { now: () => now };
    const snapshot = async (listen: boolean) => {
      const engine = createEngine({ clock });
      const subscription = listen ? engine.events$.subscribe() : undefined;
      await firstValueFrom(engine.run('k', async () => 1));
      now += 5;
      await lastValueFrom(engine.run('k', async () => 2).pipe(toArray()));
      await lastValueFrom(engine.run('k', async () => 3).pipe(take(1)));
      subscription?.unsubscribe();
      const { requests, cacheHits, cacheMisses, executions, latency, tiers } = engine.metrics();
      return { requests, cacheHits, cacheMisses, executions, latency, tiers };
    };
    const counted = await snapshot(false);
    expect(counted).toEqual(await snapshot(true));
    expect(counted).toMatchObject({ requests: 3, cacheHits: 2, cacheMisses: 1, executions: 1 });
    expect(counted.latency.firstValue.count).toBe(3);
    // firstValueFrom leaves the miss after its first value: that request never completed.
    expect(counted.latency.completion.count).toBe(2);
  });

  it('an execution after eviction, expiry or invalidation is not redundant (the entry is gone)', async () => {
    let now = 0;
    const wallClock = { now: () => now };
    const engine = createEngine({
      cache: new MemoryStore({ maxEntries: 1, clock: wallClock }),
      wallClock,
      ttl: 10,
    });
    const run = (key: string) => firstValueFrom(engine.run(key, async () => key));
    await run('a');
    await run('b'); // evicts a
    await run('a'); // evicts b
    now = 20; // a expired
    await run('a');
    await engine.invalidate('a');
    await run('a');
    expect(engine.metrics()).toMatchObject({ executions: 5, redundantExecutions: 0 });
  });
});

describe('engine.loader on a synchronous cache', () => {
  it('adds keys to the batcher directly: no controller for a batch function without a signal, errors not cached', async () => {
    const engine = createEngine();
    let batches = 0;
    const load = engine.loader(async (keys: string[]) => {
      batches++;
      return keys.map((key) => (key === 'bad' ? new Error(`no ${key}`) : key.toUpperCase()));
    });
    const created = await countControllers(async () => {
      const [a, b] = await Promise.all([firstValueFrom(load('a')), firstValueFrom(load('b'))]);
      expect([a, b]).toEqual(['A', 'B']);
      await expect(firstValueFrom(load('bad'))).rejects.toThrow('no bad');
    });
    expect(created).toBe(0);
    expect(batches).toBe(2);
    expect(await firstValueFrom(load('a'))).toBe('A'); // cached
    await expect(firstValueFrom(load('bad'))).rejects.toThrow('no bad'); // not cached
    expect(batches).toBe(3);
    expect(engine.metrics().batches.count).toBe(3);
    expect(engine.inFlight).toBe(0);
  });
});
