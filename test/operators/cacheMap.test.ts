import { type CacheEntry, type CacheStore, createExecutor, MemoryStore } from 'eed';
import { cacheMap } from 'eed/operators';
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';

describe('cacheMap', () => {
  it('reads through the cache: a second pipeline over the same cache runs nothing', async () => {
    const cache = new MemoryStore();
    const project = vi.fn(async (q: string) => q.toUpperCase());
    const first = await lastValueFrom(
      from(['a', 'b', 'a']).pipe(
        cacheMap((q) => q, project, { cache }),
        toArray(),
      ),
    );
    expect(first.sort()).toEqual(['A', 'A', 'B']);
    expect(project).toHaveBeenCalledTimes(2);
    const second = await lastValueFrom(
      from(['b', 'a']).pipe(
        cacheMap((q) => q, project, { cache }),
        toArray(),
      ),
    );
    expect(second.sort()).toEqual(['A', 'B']);
    expect(project).toHaveBeenCalledTimes(2);
    expect(await cache.keys()).toEqual(expect.arrayContaining(['a', 'b']));
  });

  it('writes entries with the given ttl', async () => {
    const cache = new MemoryStore();
    await lastValueFrom(
      from(['k']).pipe(
        cacheMap(
          (q) => q,
          async () => 1,
          { cache, ttl: 5_000 },
        ),
      ),
    );
    const entry = cache.getSync('k');
    expect(entry).toBeDefined();
    expect(entry!.expiresAt - entry!.storedAt).toBe(5_000);
  });

  it('degrades to running the work when the store fails', async () => {
    const broken: CacheStore = {
      get: () => Promise.reject(new Error('down')),
      set: (_k: string, _e: CacheEntry) => Promise.reject(new Error('down')),
      delete: () => Promise.reject(new Error('down')),
      clear: () => Promise.reject(new Error('down')),
      keys: () => Promise.reject(new Error('down')),
    };
    const out = await lastValueFrom(
      from([1, 2]).pipe(
        cacheMap(String, async (x: number) => x * 2, { cache: broken }),
        toArray(),
      ),
    );
    expect(out.sort()).toEqual([2, 4]);
  });

  it('requires a cache', () => {
    expect(() =>
      cacheMap(String, async (x: number) => x, undefined as unknown as { cache: CacheStore }),
    ).toThrow(/cache is required/);
  });

  it('rejects a bad cache, executor or label when built, naming the option and the value', () => {
    const project = async (x: number) => x;
    const cache = new MemoryStore();
    const cases: [object, string][] = [
      [{ cache: null }, 'cacheMap: cache must be a CacheStore (get() and set()); received null'],
      [{ cache: 5 }, 'cacheMap: cache must be a CacheStore (get() and set()); received 5'],
      [
        { cache: { get: async () => undefined } },
        'cacheMap: cache must be a CacheStore (get() and set()); received an object',
      ],
      [
        { cache, executor: 5 },
        'cacheMap: executor must be an Executor (see createExecutor); received 5',
      ],
      [
        { cache, executor: { concurrency: 2 } },
        'cacheMap: executor must be an Executor (see createExecutor); received an object',
      ],
      [{ cache, label: 5 }, 'cacheMap: label must be a string; received 5'],
      [{ cache, ordered: 1 }, 'cacheMap: ordered must be true or false; received 1'],
    ];
    for (const [options, message] of cases) {
      const build = () => cacheMap(String, project, options as never);
      expect(build).toThrow(TypeError);
      expect(build).toThrow(message);
    }
  });

  it('runs on the given executor, with a label', async () => {
    const executor = createExecutor();
    const events: string[] = [];
    executor.events$.subscribe((event) => events.push(`${event.type} ${event.label}`));
    const out = await lastValueFrom(
      from([1, 2]).pipe(
        cacheMap(String, async (x: number) => x * 2, {
          cache: new MemoryStore(),
          executor,
          label: 'double',
        }),
        toArray(),
      ),
    );
    expect(out.sort()).toEqual([2, 4]);
    expect(events).toContain('started double');
  });
});
