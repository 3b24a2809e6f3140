import { createEngine, MemoryStore, TieredCache } from 'eed';
import { firstValueFrom, forkJoin, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';

describe('engine.loader', () => {
  it('batches only the keys nobody has: cached and in-flight keys are not asked for', async () => {
    const engine = createEngine();
    const load = vi.fn(async (keys: string[]) => keys.map((k) => `v${k}`));
    const loadOne = engine.loader(load, { maxBatchSize: 100 });
    expect(await firstValueFrom(loadOne('1'))).toBe('v1');
    const results = await lastValueFrom(
      forkJoin([loadOne('1'), loadOne('2'), loadOne('3'), loadOne('2')]),
    );
    expect(results).toEqual(['v1', 'v2', 'v3', 'v2']);
    expect(load.mock.calls.map((c) => c[0])).toEqual([['1'], ['2', '3']]);
    const m = engine.metrics();
    expect(m.executions).toBe(3);
    expect(m.redundancyRate).toBe(0);
    expect(m.batches.count).toBe(2);
    expect(m.batches.meanSize).toBe(1.5);
  });

  it('goes through every tier first: keys found in a lower tier are not loaded', async () => {
    const l2 = new MemoryStore();
    l2.setSync('a', {
      values: ['from L2'],
      storedAt: Date.now(),
      expiresAt: Infinity,
      cost: 1,
      size: 1,
    });
    const cache = new TieredCache({ tiers: [{ store: new MemoryStore() }, { store: l2 }] });
    const engine = createEngine({ cache });
    const load = vi.fn(async (keys: string[]) => keys.map((k) => `loaded ${k}`));
    const loadOne = engine.loader(load);
    const out = await lastValueFrom(forkJoin([loadOne('a'), loadOne('b')]));
    expect(out).toEqual(['from L2', 'loaded b']);
    expect(load.mock.calls.map((c) => c[0])).toEqual([['b']]);
  });

  it('an Error slot fails only its key, and is not cached', async () => {
    const engine = createEngine();
    let fail = true;
    const loadOne = engine.loader(async (keys: string[]) =>
      keys.map((k) => (k === 'bad' && fail ? new Error('missing') : k)),
    );
    await expect(firstValueFrom(loadOne('bad'))).rejects.toThrow('missing');
    expect(await firstValueFrom(loadOne('good'))).toBe('good');
    fail = false;
    expect(await firstValueFrom(loadOne('bad'))).toBe('bad');
  });

  it('runs each batch as one task of the engine executor', async () => {
    const engine = createEngine({ executor: { concurrency: 1 } });
    const starts: string[] = [];
    engine.executor.events$.subscribe((e) => {
      if (e.type === 'started') starts.push(e.label ?? '');
    });
    const loadOne = engine.loader(async (keys: string[]) => keys, { label: 'users' });
    const out = await lastValueFrom(
      forkJoin([loadOne('x'), loadOne('y'), loadOne('z')]).pipe(toArray()),
    );
    expect(out).toEqual([['x', 'y', 'z']]);
    expect(starts).toEqual(['users']);
  });

  it('aborts a batch whose every key was abandoned', async () => {
    const engine = createEngine();
    let signal: AbortSignal | undefined;
    const loadOne = engine.loader((_keys: string[], s) => {
      signal = s;
      return new Promise<string[]>(() => {});
    });
    const a = loadOne('a').subscribe();
    const b = loadOne('b').subscribe();
    await new Promise((r) => setTimeout(r, 5));
    a.unsubscribe();
    await Promise.resolve();
    expect(signal?.aborted).toBe(false);
    b.unsubscribe();
    await new Promise((r) => setTimeout(r, 0));
    expect(signal?.aborted).toBe(true);
    expect(engine.inFlight).toBe(0);
    expect(engine.executor.stats().running).toBe(0);
  });
  it('with maxWaitMs: Infinity, sends a batch only when full (no timer), and needs a finite maxBatchSize', async () => {
    const engine = createEngine({ metrics: false });
    expect(() =>
      engine.loader(async (keys: string[]) => keys, { maxWaitMs: Number.POSITIVE_INFINITY }),
    ).toThrow(/maxWaitMs: Infinity needs a finite maxBatchSize/);
    expect(() => engine.loader(async (keys: string[]) => keys, { maxWaitMs: 2 ** 31 })).toThrow(
      /maxWaitMs must be a number of milliseconds >= 0 and at most 2147483647/,
    );
    vi.useFakeTimers();
    try {
      const load = vi.fn(async (keys: string[]) => keys.map((k) => `v${k}`));
      const loadOne = engine.loader(load, {
        maxWaitMs: Number.POSITIVE_INFINITY,
        maxBatchSize: 2,
      });
      const values: string[] = [];
      loadOne('a').subscribe((v) => values.push(v));
      await vi.advanceTimersByTimeAsync(60_000);
      expect(load).not.toHaveBeenCalled();
      expect(vi.getTimerCount()).toBe(0);
      loadOne('b').subscribe((v) => values.push(v));
      await vi.advanceTimersByTimeAsync(0);
      expect(load.mock.calls.map((c) => c[0])).toEqual([['a', 'b']]);
      expect(values).toEqual(['va', 'vb']);
    } finally {
      vi.useRealTimers();
    }
  });
});
