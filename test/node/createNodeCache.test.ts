import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CacheStoreEvent,
  CorruptEntryError,
  createEngine,
  type ExecutionEvent,
  NodeOnlyError,
  TieredCache,
  UnserializableValueError,
} from 'eed';
import * as nodeEntry from 'eed/node';
import { createNodeCache, NodeCache } from 'eed/node';
import { firstValueFrom, lastValueFrom, mergeMap, range, toArray } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import * as browserStub from '../../src/node/browser.js';
import { tempDirs } from './helpers.js';

const temp = tempDirs();
afterAll(temp.removeAll);

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One "process run": a new engine over a new cache on `dir`, computing 20 squares. */
async function runPipeline(dir: string) {
  const cache = createNodeCache({ dir });
  const engine = createEngine({ cache, executor: { concurrency: 4 } });
  let calls = 0;
  const results = await lastValueFrom(
    range(0, 20).pipe(
      mergeMap((n) =>
        engine.run(`square:${n}`, async () => {
          calls++;
          await delay(2);
          return { n, square: n * n, at: new Date(n), seen: new Set([n]) };
        }),
      ),
      toArray(),
    ),
  );
  await cache.flush(); // the disk writes run in the background; a process exit waits for them
  return {
    calls,
    metrics: engine.metrics(),
    results: [...results].sort((a, b) => a.n - b.n),
  };
}

describe('createNodeCache', () => {
  it('done when: a pipeline run twice does no work the second time', async () => {
    const dir = temp.make();
    const first = await runPipeline(dir);
    expect(first.calls).toBe(20);
    expect(first.metrics.executions).toBe(20);
    expect(readdirSync(dir)).toHaveLength(20);

    const second = await runPipeline(dir);
    expect(second.calls).toBe(0);
    expect(second.metrics.executions).toBe(0);
    expect(second.metrics.cacheHits).toBe(20);
    expect(second.metrics.tiers[1]?.hits).toBe(20); // all from disk
    expect(second.results).toEqual(first.results);
    expect(second.results[3]?.at).toBeInstanceOf(Date);
    expect(second.results[3]?.seen).toEqual(new Set([3]));
  });

  it('done when, as two real processes: the second run does no work', () => {
    const dir = temp.make();
    const script = fileURLToPath(new URL('./fixtures/pipeline.ts', import.meta.url));
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const run = () => {
      const child = spawnSync(process.execPath, ['--import', 'tsx', script, dir], {
        cwd: root,
        encoding: 'utf8',
      });
      expect(child.status, child.stderr).toBe(0);
      return JSON.parse(child.stdout.trim()) as {
        calls: number;
        executions: number;
        cacheHits: number;
        diskHits: number;
        squares: number[];
        types: boolean;
      };
    };
    const first = run();
    const second = run();
    expect(first).toMatchObject({ calls: 12, executions: 12, cacheHits: 0, types: true });
    expect(second).toMatchObject({ calls: 0, executions: 0, cacheHits: 12, diskHits: 12 });
    expect(second.squares).toEqual(first.squares);
    expect(second.types).toBe(true);
  });

  it('is a TieredCache of memory over the filesystem, with the documented defaults', () => {
    const cache = createNodeCache();
    expect(cache).toBeInstanceOf(NodeCache);
    expect(cache).toBeInstanceOf(TieredCache);
    expect(cache.depth).toBe(2);
    expect(cache.fileSystem.dir).toBe(join(process.cwd(), 'node_modules/.cache/eed'));
    expect(cache.fileSystem.maxBytes).toBe(256 * 1024 * 1024);
    expect(cache.fileSystem.policy).toBe('lru');
    expect(cache.fileSystem.compressThreshold).toBe(16 * 1024);
    expect(cache.memory.maxEntries).toBe(10_000);
    const custom = createNodeCache({
      dir: temp.make(),
      memory: { maxEntries: 5 },
      maxBytes: 1_000_000,
      policy: 'cost-aware',
      compressThreshold: 0,
    });
    expect(custom.memory.maxEntries).toBe(5);
    expect(custom.fileSystem).toMatchObject({
      maxBytes: 1_000_000,
      policy: 'cost-aware',
      compressThreshold: 0,
    });
    expect(() => createNodeCache({ maxBytes: -1 })).toThrow(/maxBytes/);
    expect(() => createNodeCache({ ttl: -1 })).toThrow(/ttl/);
  });

  it('caps the disk lifetime at ttl, and promotes disk hits into memory', async () => {
    const dir = temp.make();
    let now = 1_000_000;
    const clock = { now: () => now };
    const writer = createNodeCache({ dir, ttl: 60_000, clock });
    await writer.set('k', { values: ['v'], storedAt: now, expiresAt: Infinity, cost: 5, size: 0 });
    await writer.flush();
    expect((await writer.fileSystem.get('k'))?.expiresAt).toBe(now + 60_000);
    expect(writer.memory.getSync('k')?.expiresAt).toBe(Infinity);

    const reader = createNodeCache({ dir, ttl: 60_000, clock });
    expect(reader.memory.getSync('k')).toBeUndefined();
    expect(await reader.get('k')).toMatchObject({ values: ['v'], tier: 1 });
    expect(reader.memory.getSync('k')?.values).toEqual(['v']);
    now += 60_000;
    expect(await createNodeCache({ dir, clock }).get('k')).toBeUndefined();
  });

  it('a broken disk never fails a run: misses and events, the memory tier still serves', async () => {
    const file = join(temp.make(), 'file');
    writeFileSync(file, 'not a directory');
    const cache = createNodeCache({ dir: join(file, 'cache') });
    const cacheEvents: CacheStoreEvent[] = [];
    cache.events$.subscribe((event) => cacheEvents.push(event));
    const engine = createEngine({ cache });
    const engineEvents: ExecutionEvent[] = [];
    engine.events$.subscribe((event) => engineEvents.push(event));
    let calls = 0;
    const work = async () => {
      calls++;
      return 'value';
    };
    for (let i = 0; i < 4; i++) {
      expect(await firstValueFrom(engine.run(`k${i}`, work))).toBe('value');
    }
    await cache.flush();
    expect(await firstValueFrom(engine.run('k0', work))).toBe('value');
    expect(calls).toBe(4); // k0 the second time came from memory
    // Reads of the disk: misses with events; writes: failures that open the breaker.
    const errors = cacheEvents.filter((event) => event.type === 'tier-error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((event) => event.tier === 1)).toBe(true);
    expect(errors.some((event) => event.operation === 'set')).toBe(true);
    expect(errors.some((event) => event.operation === 'get')).toBe(true);
    expect(cacheEvents.some((event) => event.type === 'tier-opened')).toBe(true);
    expect(engineEvents.some((event) => event.type === 'cache-error' && event.tier === 1)).toBe(
      true,
    );
  });

  it('reports a corrupt disk entry as an event of tier 1 and recomputes', async () => {
    const dir = temp.make();
    const first = createNodeCache({ dir });
    const engine = createEngine({ cache: first });
    await firstValueFrom(engine.run('k', async () => 1));
    await first.flush();
    const [name] = readdirSync(dir);
    writeFileSync(join(dir, name as string), 'garbage');

    const cache = createNodeCache({ dir });
    const second = createEngine({ cache });
    const events: ExecutionEvent[] = [];
    second.events$.subscribe((event) => events.push(event));
    let calls = 0;
    expect(
      await firstValueFrom(
        second.run('k', async () => {
          calls++;
          return 2;
        }),
      ),
    ).toBe(2);
    expect(calls).toBe(1);
    const error = events.find((event) => event.type === 'cache-error');
    expect(error).toMatchObject({ type: 'cache-error', tier: 1, key: 'k', operation: 'get' });
    expect(error?.type === 'cache-error' && error.error).toBeInstanceOf(CorruptEntryError);
    await cache.flush();
    expect(await createNodeCache({ dir }).fileSystem.get('k')).toMatchObject({ values: [2] });
  });

  it('an unserializable value: an event naming the key, kept in memory, the disk stays in use', async () => {
    const dir = temp.make();
    const cache = createNodeCache({ dir });
    const events: CacheStoreEvent[] = [];
    cache.events$.subscribe((event) => events.push(event));
    const engine = createEngine({ cache });
    let calls = 0;
    // More failures in a row than the circuit breaker's threshold (3).
    for (let i = 0; i < 5; i++) {
      const handler = await firstValueFrom(
        engine.run(`handler:${i}`, async () => {
          calls++;
          return () => i;
        }),
      );
      expect(handler()).toBe(i);
    }
    await firstValueFrom(engine.run('plain', async () => 'disk-worthy'));
    await cache.flush();
    // In memory: served again without work.
    expect((await firstValueFrom(engine.run('handler:0', async () => () => -1)))()).toBe(0);
    expect(calls).toBe(5);
    const errors = events.filter((event) => event.type === 'tier-error');
    expect(errors).toHaveLength(5);
    for (const [i, event] of errors.entries()) {
      expect(event).toMatchObject({ tier: 1, key: `handler:${i}`, operation: 'set' });
      expect(event.type === 'tier-error' && event.error).toBeInstanceOf(UnserializableValueError);
    }
    expect(events.some((event) => event.type === 'tier-opened')).toBe(false);
    // The breaker did not open: the next value reached the disk.
    expect(await cache.fileSystem.keys()).toEqual(['plain']);
  });

  it('names ttl, timeoutMs and memory as written, with the value', () => {
    const dir = temp.make();
    const bad = (value: unknown): never => value as never;
    expect(() => createNodeCache({ dir, ttl: -1 })).toThrow(RangeError);
    expect(() => createNodeCache({ dir, ttl: -1 })).toThrow(/^ttl must be .*; received -1$/);
    expect(() => createNodeCache({ dir, ttl: Number.NaN })).toThrow(/^ttl .*received NaN$/);
    expect(() => createNodeCache({ dir, timeoutMs: Number.NaN })).toThrow(
      /^timeoutMs must be .*; received NaN$/,
    );
    expect(() => createNodeCache({ dir, timeoutMs: bad('1') })).toThrow(/^timeoutMs .*"1"$/);
    for (const [value, shown] of [
      [5, '5'],
      [null, 'null'],
      [[], 'an array'],
    ] as const) {
      expect(() => createNodeCache({ dir, memory: bad(value) })).toThrow(
        new TypeError(`memory must be an object; received ${shown}`),
      );
    }
    // The documented edges still work.
    expect(() => createNodeCache({ dir, ttl: 0, timeoutMs: 0 })).not.toThrow();
    const lasting = createNodeCache({ dir, ttl: Infinity, timeoutMs: Infinity, memory: {} });
    expect(lasting.depth).toBe(2);
  });

  it("the browser stub of 'eed/node' exports the same names, each throwing Node-only", () => {
    const names = Object.keys(nodeEntry).sort();
    expect(Object.keys(browserStub).sort()).toEqual(names);
    expect(names).toEqual([
      'FileSystemStore',
      'NodeCache',
      'RedisCoordinatorClosedError',
      'RedisStore',
      'RedisStoreClosedError',
      'RedisTimeoutError',
      'RedisUnavailableError',
      'createNodeCache',
      'redisCoordinator',
    ]);
    for (const [name, value] of Object.entries(browserStub)) {
      const isClass = /^class\b/.test(Function.prototype.toString.call(value));
      const use = isClass
        ? () => new (value as new () => unknown)()
        : () => (value as () => unknown)();
      expect(use, name).toThrow(/eed\/node is Node-only/);
      expect(use, name).toThrow(NodeOnlyError);
    }
  });
});
