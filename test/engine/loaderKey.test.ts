import { createEngine, MemoryStore } from 'eed';
import { firstValueFrom, lastValueFrom, Subject, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** A batch function whose calls are recorded and answered by hand. */
function manualBatches() {
  const calls: { keys: string[]; signal: AbortSignal; answer: Subject<string[]> }[] = [];
  const loadBatch = (keys: string[], signal: AbortSignal) => {
    const answer = new Subject<string[]>();
    calls.push({ keys: [...keys], signal, answer });
    return answer;
  };
  const answer = (index: number) => {
    const call = calls[index];
    if (call === undefined) throw new Error(`no batch ${index}`);
    call.answer.next(call.keys.map((key) => `v${key}`));
    call.answer.complete();
  };
  return { calls, loadBatch, answer };
}

describe('engine.loader keys (one object per key: flight, batch entry, request)', () => {
  it('a run of a key the loader has in flight joins it: the work is never called', async () => {
    const engine = createEngine();
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch);
    const loaded = firstValueFrom(load('a'));
    let called = false;
    const ran = firstValueFrom(
      engine.run('a', async () => {
        called = true;
        return 'from run';
      }),
    );
    await tick();
    batches.answer(0);
    expect(await loaded).toBe('va');
    expect(await ran).toBe('va');
    expect(called).toBe(false);
    expect(engine.metrics()).toMatchObject({ requests: 2, joins: 1, executions: 1 });
    expect(engine.inFlight).toBe(0);
  });

  it('a second load of a key in flight joins it, in the same batch window or a later one', async () => {
    const engine = createEngine();
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch, { maxBatchSize: 2 });
    const first = lastValueFrom(load('a').pipe(toArray()));
    const same = lastValueFrom(load('a').pipe(toArray()));
    await tick();
    const later = lastValueFrom(load('a').pipe(toArray()));
    const other = firstValueFrom(load('b'));
    await tick();
    expect(batches.calls.map((c) => c.keys)).toEqual([['a'], ['b']]);
    batches.answer(0);
    batches.answer(1);
    expect(await Promise.all([first, same, later])).toEqual([['va'], ['va'], ['va']]);
    expect(await other).toBe('vb');
    expect(await firstValueFrom(load('a'))).toBe('va'); // cached
    expect(batches.calls).toHaveLength(2);
    expect(engine.metrics()).toMatchObject({ requests: 5, joins: 2, cacheHits: 1 });
  });

  it('a key whose only subscriber left before the batch was sent is not loaded', async () => {
    const engine = createEngine();
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch);
    const gone = load('gone').subscribe();
    const kept = firstValueFrom(load('kept'));
    gone.unsubscribe();
    await tick();
    expect(batches.calls.map((c) => c.keys)).toEqual([['kept']]);
    batches.answer(0);
    expect(await kept).toBe('vkept');
    expect(engine.inFlight).toBe(0);
    expect(engine.metrics()).toMatchObject({ executions: 2, cancellations: 1 });
  });

  it('a key still wanted by a joiner is delivered when its first subscriber left', async () => {
    const engine = createEngine();
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch);
    const first = load('a').subscribe();
    const joiner = firstValueFrom(engine.run('a', async () => 'never'));
    await tick();
    first.unsubscribe();
    await tick();
    expect(batches.calls[0]?.signal.aborted).toBe(false);
    batches.answer(0);
    expect(await joiner).toBe('va');
    expect(engine.inFlight).toBe(0);
  });

  it('take(1) on a loaded key still caches it; a result dropped after every subscriber left is not cached', async () => {
    const store = new MemoryStore();
    const engine = createEngine({ cache: store });
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch);
    const taken = firstValueFrom(load('a').pipe(take(1)));
    const dropped = load('b').subscribe();
    await tick();
    dropped.unsubscribe();
    await tick();
    batches.answer(0);
    expect(await taken).toBe('va');
    expect(store.getSync('a')?.values).toEqual(['va']);
    expect(store.getSync('b')).toBeUndefined();
    expect(engine.inFlight).toBe(0);
  });

  it('an invalidation while the key is in a batch keeps the stale result out of the cache', async () => {
    const store = new MemoryStore();
    const engine = createEngine({ cache: store });
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch);
    const loaded = firstValueFrom(load('a'));
    await tick();
    await engine.invalidate('a');
    batches.answer(0);
    expect(await loaded).toBe('va');
    expect(store.getSync('a')).toBeUndefined();
  });

  it('a failed batch fails every subscriber of its keys, joiners included, and caches nothing', async () => {
    const store = new MemoryStore();
    const engine = createEngine({ cache: store });
    const load = engine.loader(async () => {
      throw new Error('backend down');
    });
    const a = firstValueFrom(load('a'));
    const joiner = firstValueFrom(engine.run('a', async () => 'never'));
    await expect(a).rejects.toThrow('backend down');
    await expect(joiner).rejects.toThrow('backend down');
    expect(store.size).toBe(0);
    expect(engine.metrics()).toMatchObject({ failures: 1, executions: 1 });
  });

  it('stores the entries of a batch at the wall time of its delivery, valid for the ttl', async () => {
    let now = 1_000;
    const wallClock = { now: () => now };
    const store = new MemoryStore({ clock: wallClock });
    const engine = createEngine({ cache: store, wallClock });
    let calls = 0;
    const load = engine.loader(
      async (keys: string[]) => {
        calls++;
        now += 5; // the backend takes 5 ms of wall time
        return keys;
      },
      { ttl: 10 },
    );
    await Promise.all([firstValueFrom(load('a')), firstValueFrom(load('b'))]);
    expect(store.getSync('a')).toMatchObject({ storedAt: 1_005, expiresAt: 1_015 });
    expect(store.getSync('b')).toMatchObject({ storedAt: 1_005, expiresAt: 1_015 });
    now = 1_014;
    await firstValueFrom(load('a'));
    expect(calls).toBe(1);
    now = 1_015;
    await firstValueFrom(load('a'));
    expect(calls).toBe(2);
  });

  it('reports the same metrics with and without an events$ listener, and the events of a miss', async () => {
    const scenario = async (listen: boolean) => {
      const engine = createEngine();
      const types: string[] = [];
      const subscription = listen ? engine.events$.subscribe((e) => types.push(e.type)) : undefined;
      const load = engine.loader(async (keys: string[]) =>
        keys.map((key) => (key === 'bad' ? new Error('no') : key)),
      );
      await Promise.all([firstValueFrom(load('a')), firstValueFrom(load('b'))]);
      await expect(firstValueFrom(load('bad'))).rejects.toThrow('no');
      await firstValueFrom(load('a'));
      subscription?.unsubscribe();
      const { requests, cacheHits, cacheMisses, joins, executions, failures, latency, batches } =
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
          batches: batches.count,
        },
        types,
      };
    };
    const quiet = await scenario(false);
    const heard = await scenario(true);
    expect(quiet.metrics).toEqual(heard.metrics);
    expect(quiet.metrics).toEqual({
      requests: 4,
      cacheHits: 1,
      cacheMisses: 3,
      joins: 0,
      executions: 3,
      failures: 1,
      completions: 1, // firstValueFrom leaves on the value: only the synchronous hit completes first
      firstValues: 3,
      batches: 2,
    });
    expect(heard.types.slice(0, 3)).toEqual(['request', 'cache-miss', 'executed']);
    for (const type of ['first-value', 'execution-ended', 'cache-stored', 'request-ended']) {
      expect(heard.types).toContain(type);
    }
  });
});

describe('engine.loader keys in flight are reservations of the engine MemoryStore', () => {
  it('one per key while in flight, none once answered, failed or abandoned', async () => {
    const store = new MemoryStore();
    const engine = createEngine({ cache: store });
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch);
    const a = firstValueFrom(load('a'));
    const gone = load('gone').subscribe();
    const joined = firstValueFrom(load('a'));
    expect([store.reserved, store.size, engine.inFlight]).toEqual([2, 0, 2]);
    gone.unsubscribe();
    await tick();
    expect([store.reserved, engine.inFlight]).toEqual([1, 1]);
    expect(batches.calls.map((call) => call.keys)).toEqual([['a']]);
    batches.answer(0);
    expect(await a).toBe('va');
    expect(await joined).toBe('va');
    expect([store.reserved, store.size, engine.inFlight]).toEqual([0, 1, 0]);
    expect(engine.metrics()).toMatchObject({ requests: 3, joins: 1, executions: 2 });
  });

  it('a prefetch or warm-up of a key in flight in a loader starts nothing', async () => {
    const store = new MemoryStore();
    const engine = createEngine({ cache: store });
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch);
    const a = firstValueFrom(load('a'));
    let called = 0;
    engine.prefetch('a', async () => {
      called++;
      return 'prefetched';
    });
    const warmed = engine.warm([{ key: 'a', work: async () => 'warmed' }]);
    await tick();
    batches.answer(0);
    expect(await a).toBe('va');
    expect(await warmed).toEqual({ warmed: 0, skipped: 1, failed: 0 });
    expect(called).toBe(0);
    expect(store.getSync('a')?.values).toEqual(['va']);
  });

  it('an invalidation or a clear keeps the key in flight: a new load joins it, nothing stale is cached', async () => {
    const store = new MemoryStore();
    const engine = createEngine({ cache: store });
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch);
    const first = firstValueFrom(load('a'));
    await tick();
    await engine.invalidate('a');
    await store.clear();
    const second = firstValueFrom(load('a'));
    await tick();
    expect(batches.calls).toHaveLength(1);
    batches.answer(0);
    expect(await first).toBe('va');
    expect(await second).toBe('va');
    expect(store.getSync('a')).toBeUndefined();
    expect([store.reserved, engine.inFlight]).toEqual([0, 0]);
  });

  it('results land in their reserved slots, or by key when a write or a clear moved them', async () => {
    const store = new MemoryStore();
    const engine = createEngine({ cache: store });
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch);
    const values = Promise.all(['a', 'b', 'c', 'd'].map((key) => firstValueFrom(load(key))));
    await tick();
    expect(store.reserved).toBe(4);
    // A write of a key in flight ends its reservation; a clear moves the others to new slots.
    const now = Date.now();
    store.setSync('a', { values: ['mine'], storedAt: now, expiresAt: Infinity, cost: 0, size: 0 });
    await store.clear();
    expect([store.size, store.reserved]).toEqual([0, 3]);
    batches.answer(0);
    expect(await values).toEqual(['va', 'vb', 'vc', 'vd']);
    for (const key of ['a', 'b', 'c', 'd']) expect(store.getSync(key)?.values).toEqual([`v${key}`]);
    expect([store.size, store.reserved, engine.inFlight]).toEqual([4, 0, 0]);
    // And loads with nothing in their way fill the slots they reserved.
    const more = Promise.all(['e', 'f'].map((key) => firstValueFrom(load(key))));
    await tick();
    batches.answer(1);
    expect(await more).toEqual(['ve', 'vf']);
    expect([store.size, store.reserved, await store.keys()]).toEqual([
      6,
      0,
      ['b', 'c', 'd', 'a', 'e', 'f'],
    ]);
  });

  it('a loader with ttl: 0 joins, and is joined by, keys in flight, and caches nothing', async () => {
    const store = new MemoryStore();
    const engine = createEngine({ cache: store });
    const batches = manualBatches();
    const cached = engine.loader(batches.loadBatch);
    const uncached = engine.loader(batches.loadBatch, { ttl: 0 });
    const a1 = firstValueFrom(cached('a'));
    const a2 = firstValueFrom(uncached('a'));
    const b1 = firstValueFrom(uncached('b'));
    const b2 = firstValueFrom(cached('b'));
    await tick();
    expect(batches.calls.map((call) => call.keys)).toEqual([['a'], ['b']]);
    batches.answer(0);
    batches.answer(1);
    expect(await Promise.all([a1, a2, b1, b2])).toEqual(['va', 'va', 'vb', 'vb']);
    expect(store.getSync('a')?.values).toEqual(['va']);
    expect(store.getSync('b')).toBeUndefined();
    expect([store.reserved, engine.inFlight]).toEqual([0, 0]);
  });
});

describe('engine.loader cache hits over a MemoryStore', () => {
  it('count the same with and without event listeners, and publish events only to listeners', async () => {
    const store = new MemoryStore();
    const engine = createEngine({ cache: store });
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch);
    const first = firstValueFrom(load('a'));
    await tick();
    batches.answer(0);
    expect(await first).toBe('va');
    expect(await firstValueFrom(load('a'))).toBe('va');
    expect(engine.metrics()).toMatchObject({ requests: 2, cacheHits: 1, cacheMisses: 1 });
    const events: string[] = [];
    const listening = engine.events$.subscribe((event) => events.push(event.type));
    expect(await firstValueFrom(load('a'))).toBe('va');
    listening.unsubscribe();
    expect(events).toEqual(['request', 'cache-hit', 'first-value', 'request-ended']);
    expect(engine.metrics()).toMatchObject({ requests: 3, cacheHits: 2, cacheMisses: 1 });
    expect(batches.calls).toHaveLength(1);
  });
});
