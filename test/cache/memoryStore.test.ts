import { type CacheEntry, MemoryStore, type MemoryStoreEvictionReason, sizeOf } from 'eed';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CostAwarePolicy } from '../../src/cache/eviction/CostAwarePolicy.js';
import { createEvictionPolicy, NO_SLOT } from '../../src/cache/eviction/index.js';
import { LruPolicy } from '../../src/cache/eviction/LruPolicy.js';
import { ManualClock } from './conformance.js';

const T0 = Date.UTC(2030, 0, 1);

/** An entry stored at `T0`, valid for `ttl` ms. */
function entry(values: readonly unknown[], extra: Partial<CacheEntry> & { ttl?: number } = {}) {
  const { ttl = Number.POSITIVE_INFINITY, ...rest } = extra;
  return { values, storedAt: T0, expiresAt: T0 + ttl, cost: 1, size: 0, ...rest } as CacheEntry;
}

/** A store with a manual clock at `T0` that records `onEvict` calls. */
function recordingStore(options: ConstructorParameters<typeof MemoryStore>[0] = {}) {
  const clock = new ManualClock(T0);
  const evictions: [string, MemoryStoreEvictionReason][] = [];
  const store = new MemoryStore({
    clock,
    onEvict: (key, _entry, reason) => evictions.push([key, reason]),
    ...options,
  });
  return { store, clock, evictions };
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('MemoryStore: LRU', () => {
  it('evicts the least recently used entry when maxEntries is reached', () => {
    const { store, evictions } = recordingStore({ maxEntries: 3 });
    store.setSync('a', entry(['A']));
    store.setSync('b', entry(['B']));
    store.setSync('c', entry(['C']));
    expect(store.getSync('a')?.values).toEqual(['A']); // a is now the most recent
    store.setSync('d', entry(['D']));
    expect(store.getSync('b')).toBeUndefined();
    expect(evictions).toEqual([['b', 'evicted']]);
    store.setSync('e', entry(['E']));
    expect(evictions).toEqual([
      ['b', 'evicted'],
      ['c', 'evicted'],
    ]);
    expect(store.size).toBe(3);
    expect(['a', 'd', 'e'].map((k) => store.getSync(k)?.values[0])).toEqual(['A', 'D', 'E']);
  });

  it('counts an overwrite as a use and does not report it', () => {
    const { store, evictions } = recordingStore({ maxEntries: 2 });
    store.setSync('a', entry(['A1']));
    store.setSync('b', entry(['B']));
    store.setSync('a', entry(['A2']));
    store.setSync('c', entry(['C']));
    expect(evictions).toEqual([['b', 'evicted']]);
    expect(store.getSync('a')?.values).toEqual(['A2']);
  });

  it('a miss or a delete does not disturb the order', () => {
    const { store, evictions } = recordingStore({ maxEntries: 2 });
    store.setSync('a', entry(['A']));
    store.setSync('b', entry(['B']));
    expect(store.getSync('zzz')).toBeUndefined();
    expect(store.deleteSync('zzz')).toBe(false);
    store.setSync('c', entry(['C']));
    expect(evictions).toEqual([['a', 'evicted']]);
    expect(store.deleteSync('b')).toBe(true);
    store.setSync('d', entry(['D']));
    expect(evictions).toEqual([['a', 'evicted']]); // room was freed by the delete
    expect(store.size).toBe(2);
  });

  it('holds 10,000 entries by default and maxEntries: Infinity lifts the bound', () => {
    const bounded = new MemoryStore();
    expect(bounded.maxEntries).toBe(10_000);
    for (let i = 0; i <= 10_000; i++) bounded.setSync(`k${i}`, entry([i], { size: 1 }));
    expect(bounded.size).toBe(10_000);
    expect(bounded.getSync('k0')).toBeUndefined();
    const unbounded = new MemoryStore({ maxEntries: Number.POSITIVE_INFINITY });
    for (let i = 0; i <= 10_000; i++) unbounded.setSync(`k${i}`, entry([i], { size: 1 }));
    expect(unbounded.size).toBe(10_001);
  });

  it('agrees with a simple model under random operations (fast-check)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 7 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 60 }), (max, ops) => {
        const evicted: string[] = [];
        const store = new MemoryStore({ maxEntries: max, onEvict: (key) => evicted.push(key) });
        // Model: keys from least to most recently used, and their values.
        const order: string[] = [];
        const values = new Map<string, number>();
        const modelEvicted: string[] = [];
        ops.forEach(({ kind, key: k }, step) => {
          const key = `k${k}`;
          const at = order.indexOf(key);
          if (kind === 'set') {
            if (at >= 0) order.splice(at, 1);
            else if (order.length >= max) modelEvicted.push(order.shift() as string);
            order.push(key);
            values.set(key, step);
            store.setSync(key, entry([step], { size: 1 }));
          } else if (kind === 'get') {
            if (at >= 0) order.push(...order.splice(at, 1));
            expect(store.getSync(key)?.values[0]).toBe(at >= 0 ? values.get(key) : undefined);
          } else {
            if (at >= 0) order.splice(at, 1);
            expect(store.deleteSync(key)).toBe(at >= 0);
          }
          expect(store.size).toBe(order.length);
        });
        expect(evicted).toEqual(modelEvicted);
      }),
      { numRuns: 300 },
    );
  });
});

describe('MemoryStore: TTL', () => {
  it('expires lazily on read and reports it', () => {
    const { store, clock, evictions } = recordingStore();
    store.setSync('k', entry(['v'], { ttl: 1_000 }));
    clock.advance(999);
    expect(store.getSync('k')?.values).toEqual(['v']);
    clock.advance(1);
    expect(store.size).toBe(1); // not noticed yet
    expect(store.getSync('k')).toBeUndefined();
    expect(store.size).toBe(0);
    expect(store.bytes).toBe(0);
    expect(evictions).toEqual([['k', 'expired']]);
  });

  it('does not store an entry that is already expired, and drops the stale one', () => {
    const { store, evictions } = recordingStore();
    store.setSync('k', entry(['old']));
    expect(store.setSync('k', entry(['new'], { ttl: 0 }))).toBe(false);
    expect(store.getSync('k')).toBeUndefined();
    expect(store.size).toBe(0);
    expect(evictions).toEqual([]);
  });

  it('delete of an expired entry reports it expired and returns false', () => {
    const { store, clock, evictions } = recordingStore();
    store.setSync('k', entry(['v'], { ttl: 10 }));
    clock.advance(10);
    expect(store.deleteSync('k')).toBe(false);
    expect(evictions).toEqual([['k', 'expired']]);
  });

  it('keys() lists keys in the order they were stored; an overwrite keeps its place', async () => {
    const store = new MemoryStore();
    store.setSync('a', entry([1]));
    store.setSync('b', entry([2]));
    store.setSync('a', entry([3]));
    expect(await store.keys()).toEqual(['a', 'b']);
  });

  it('keys() and prune() remove expired entries', async () => {
    const { store, clock, evictions } = recordingStore();
    store.setSync('short', entry([1], { ttl: 100 }));
    store.setSync('long', entry([2], { ttl: 10_000 }));
    store.setSync('forever', entry([3]));
    clock.advance(100);
    expect(await store.keys()).toEqual(['long', 'forever']);
    expect(evictions).toEqual([['short', 'expired']]);
    clock.advance(10_000);
    expect(store.prune()).toBe(1);
    expect(store.prune()).toBe(0);
    expect(evictions.map(([k]) => k)).toEqual(['short', 'long']);
    expect(store.size).toBe(1);
  });

  it('reports an expired entry chosen for eviction as expired', () => {
    const { store, clock, evictions } = recordingStore({ maxEntries: 2 });
    store.setSync('a', entry(['A'], { ttl: 50 }));
    store.setSync('b', entry(['B']));
    clock.advance(60);
    store.setSync('c', entry(['C'], { storedAt: T0 + 60 }));
    expect(evictions).toEqual([['a', 'expired']]);
  });

  it('uses Date.now by default', () => {
    vi.useFakeTimers({ now: T0 });
    const store = new MemoryStore();
    store.setSync('k', entry(['v'], { ttl: 1_000 }));
    vi.setSystemTime(T0 + 999);
    expect(store.getSync('k')).toBeDefined();
    vi.setSystemTime(T0 + 1_000);
    expect(store.getSync('k')).toBeUndefined();
  });
});

describe('MemoryStore: sweep timer', () => {
  it('starts no timer unless sweepIntervalMs is given', () => {
    vi.useFakeTimers();
    const store = new MemoryStore({ maxEntries: 10 });
    expect(vi.getTimerCount()).toBe(0);
    store.dispose(); // harmless without a timer
  });

  it('removes expired entries every sweepIntervalMs, until disposed', () => {
    vi.useFakeTimers({ now: T0 });
    const evictions: string[] = [];
    const store = new MemoryStore({
      sweepIntervalMs: 1_000,
      onEvict: (key, _entry, reason) => evictions.push(`${key}:${reason}`),
    });
    expect(vi.getTimerCount()).toBe(1);
    store.setSync('a', entry(['A'], { ttl: 500 }));
    store.setSync('b', entry(['B'], { ttl: 1_500 }));
    store.setSync('c', entry(['C']));
    vi.advanceTimersByTime(999);
    expect(store.size).toBe(3);
    vi.advanceTimersByTime(1);
    expect(store.size).toBe(2);
    expect(evictions).toEqual(['a:expired']);
    vi.advanceTimersByTime(1_000);
    expect(evictions).toEqual(['a:expired', 'b:expired']);
    store.dispose();
    expect(vi.getTimerCount()).toBe(0);
    store.setSync('d', entry(['D'], { ttl: 10, storedAt: Date.now(), expiresAt: Date.now() + 10 }));
    vi.advanceTimersByTime(5_000);
    expect(store.size).toBe(2); // no more sweeping; d is still dropped lazily on read
    expect(store.getSync('d')).toBeUndefined();
  });

  it('[Symbol.dispose] stops the timer', () => {
    vi.useFakeTimers();
    const store = new MemoryStore({ sweepIntervalMs: 100 });
    expect(vi.getTimerCount()).toBe(1);
    store[Symbol.dispose]();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('unrefs the timer in Node so it never keeps the process alive', () => {
    const intervals: NodeJS.Timeout[] = [];
    const realSetInterval = globalThis.setInterval;
    vi.spyOn(globalThis, 'setInterval').mockImplementation(((callback: () => void, ms: number) => {
      const timer = realSetInterval(callback, ms);
      intervals.push(timer);
      return timer;
    }) as typeof setInterval);
    const store = new MemoryStore({ sweepIntervalMs: 60_000 });
    expect(intervals).toHaveLength(1);
    expect(intervals[0]?.hasRef()).toBe(false);
    store.dispose();
  });
});

describe('MemoryStore: bytes', () => {
  it('evicts until the new entry fits in maxBytes', () => {
    const { store, evictions } = recordingStore({ maxBytes: 100 });
    store.setSync('a', entry(['A'], { size: 40 }));
    store.setSync('b', entry(['B'], { size: 40 }));
    expect(store.bytes).toBe(80);
    store.setSync('c', entry(['C'], { size: 50 }));
    expect(evictions).toEqual([['a', 'evicted']]);
    expect(store.bytes).toBe(90);
    store.setSync('d', entry(['D'], { size: 100 }));
    expect(evictions.map(([k]) => k)).toEqual(['a', 'b', 'c']);
    expect(store.bytes).toBe(100);
    expect(store.size).toBe(1);
  });

  it('does not store an entry bigger than maxBytes, and removes the stale one', async () => {
    const { store, evictions } = recordingStore({ maxBytes: 100 });
    store.setSync('small', entry(['s'], { size: 10 }));
    store.setSync('k', entry(['old'], { size: 10 }));
    expect(store.setSync('k', entry(['huge'], { size: 101 }))).toBe(false);
    await expect(store.set('k', entry(['huge'], { size: 101 }))).resolves.toBeUndefined();
    expect(store.getSync('k')).toBeUndefined();
    expect(store.getSync('small')).toBeDefined();
    expect(store.bytes).toBe(10);
    expect(evictions).toEqual([]);
  });

  it('measures entries that come without a size, and keeps the measurement', () => {
    const store = new MemoryStore();
    const values = [{ name: 'x'.repeat(1_000) }];
    store.setSync('k', entry(values));
    const stored = store.getSync('k');
    expect(stored?.size).toBe(sizeOf(values));
    expect(stored?.size).toBeGreaterThan(2_000);
    expect(store.bytes).toBe(stored?.size);
    expect(stored?.values).toBe(values); // kept by reference
  });

  it('trusts a positive size and calls a custom sizeOf with values and key', () => {
    const custom = vi.fn((values: readonly unknown[]) => values.length * 10);
    const store = new MemoryStore({ sizeOf: custom, maxBytes: 30 });
    const given = entry([1], { size: 7 });
    store.setSync('given', given);
    expect(custom).not.toHaveBeenCalled();
    expect(store.getSync('given')).toBe(given);
    store.setSync('measured', entry([1, 2]));
    expect(custom).toHaveBeenCalledWith([1, 2], 'measured');
    expect(store.bytes).toBe(27);
    store.setSync('third', entry([1]));
    expect(store.getSync('given')).toBeUndefined();
    expect(store.bytes).toBe(30); // measured (20) + third (10)
  });

  it('keeps bytes exact across overwrites, deletes, expiry and clear', async () => {
    const { store, clock } = recordingStore();
    store.setSync('a', entry(['A'], { size: 10 }));
    store.setSync('a', entry(['A'], { size: 30 }));
    store.setSync('b', entry(['B'], { size: 5, ttl: 10 }));
    expect(store.bytes).toBe(35);
    store.deleteSync('a');
    expect(store.bytes).toBe(5);
    clock.advance(10);
    store.getSync('b');
    expect(store.bytes).toBe(0);
    store.setSync('c', entry(['C'], { size: 5, storedAt: T0 + 10, expiresAt: T0 + 100 }));
    await store.clear();
    expect(store.bytes).toBe(0);
    expect(store.size).toBe(0);
  });

  it('rejects a sizeOf result that is not a finite number >= 0', async () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '10']) {
      const store = new MemoryStore({ sizeOf: () => bad as number });
      expect(() => store.setSync('k', entry(['v']))).toThrow(TypeError);
      expect(() => store.setSync('k', entry(['v']))).toThrow(/sizeOf must return/);
      await expect(store.set('k', entry(['v']))).rejects.toThrow(TypeError);
      expect(store.size).toBe(0);
    }
  });
});

describe('MemoryStore: measure', () => {
  it('gives the size setSync records; an entry written with it is stored as is', () => {
    const store = new MemoryStore({ clock: new ManualClock(T0) });
    const values = [{ id: 1, name: 'x'.repeat(20) }];
    store.setSync('copied', entry(values));
    const measured = store.measure(values, 'as-is');
    expect(store.getSync('copied')?.size).toBe(measured);
    const sized = entry(values, { size: measured });
    store.setSync('as-is', sized);
    expect(store.getSync('as-is')).toBe(sized);
    expect(store.bytes).toBe(2 * measured);
  });

  it('throws as setSync does when sizeOf returns no finite size', () => {
    const store = new MemoryStore({ sizeOf: () => Number.NaN });
    expect(() => store.measure([1], 'k')).toThrow(TypeError);
    expect(() => store.setSync('k', entry([1]))).toThrow(TypeError);
  });
});

describe('MemoryStore: keys are plain strings', () => {
  it("stores '__proto__', 'constructor' and '' as ordinary keys", async () => {
    const store = new MemoryStore();
    expect(store.getSync('__proto__')).toBeUndefined();
    expect(store.getSync('constructor')).toBeUndefined();
    expect(store.getSync('toString')).toBeUndefined();
    store.setSync('__proto__', entry([{ polluted: true }]));
    store.setSync('constructor', entry(['c']));
    store.setSync('', entry(['empty']));
    expect(store.getSync('__proto__')?.values).toEqual([{ polluted: true }]);
    expect(store.getSync('constructor')?.values).toEqual(['c']);
    expect(store.getSync('')?.values).toEqual(['empty']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await store.keys()).sort()).toEqual(['', '__proto__', 'constructor']);
    expect(store.deleteSync('__proto__')).toBe(true);
    expect(store.size).toBe(2);
  });
});

describe('MemoryStore: onEvict', () => {
  it('is not called for delete, clear or overwrite', async () => {
    const { store, evictions } = recordingStore();
    store.setSync('a', entry(['A']));
    store.setSync('a', entry(['A2']));
    store.deleteSync('a');
    store.setSync('b', entry(['B']));
    await store.clear();
    expect(evictions).toEqual([]);
  });

  it('receives the evicted entry, and is called once the store is consistent', () => {
    const seen: { key: string; entry: CacheEntry; size: number; has: boolean }[] = [];
    const store: MemoryStore = new MemoryStore({
      maxEntries: 1,
      onEvict: (key, evicted) => {
        seen.push({ key, entry: evicted, size: store.size, has: store.getSync('b') !== undefined });
      },
    });
    const a = entry(['A'], { size: 3 });
    store.setSync('a', a);
    store.setSync('b', entry(['B'], { size: 3 }));
    expect(seen).toEqual([{ key: 'a', entry: a, size: 1, has: true }]);
  });

  it('an exception in onEvict does not fail the operation; it is re-thrown asynchronously', () => {
    const rethrown: (() => void)[] = [];
    vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((callback) => {
      rethrown.push(callback);
    });
    const store = new MemoryStore({
      maxEntries: 1,
      onEvict: () => {
        throw new Error('listener failed');
      },
    });
    store.setSync('a', entry(['A']));
    expect(store.setSync('b', entry(['B']))).toBe(true);
    expect(store.getSync('b')?.values).toEqual(['B']);
    expect(rethrown).toHaveLength(1);
    expect(() => rethrown[0]?.()).toThrow('listener failed');
  });
});

describe('MemoryStore: cost-aware eviction', () => {
  /**
   * Four slots. `expensive` took 1 s to compute, `small` is tiny, `frequent` is cheap but
   * read 20 times; then a stream of cheap, large, never-read entries arrives.
   */
  function scenario(policy: 'lru' | 'cost-aware') {
    const { store, evictions } = recordingStore({ maxEntries: 4, policy });
    store.setSync('cheap-0', entry(['c'], { cost: 1, size: 100 }));
    store.setSync('expensive', entry(['e'], { cost: 1_000, size: 100 }));
    store.setSync('small', entry(['s'], { cost: 10, size: 1 }));
    store.setSync('frequent', entry(['f'], { cost: 1, size: 100 }));
    for (let i = 0; i < 20; i++) store.getSync('frequent');
    for (let i = 1; i <= 5; i++) store.setSync(`cheap-${i}`, entry(['c'], { cost: 1, size: 100 }));
    const kept = ['expensive', 'small', 'frequent'].filter((k) => store.getSync(k) !== undefined);
    return { store, evictions, kept };
  }

  it('keeps expensive, small and frequently used entries over cheap ones', () => {
    const { kept, evictions } = scenario('cost-aware');
    expect(kept).toEqual(['expensive', 'small', 'frequent']);
    expect(evictions.map(([k]) => k)).toEqual([
      'cheap-0',
      'cheap-1',
      'cheap-2',
      'cheap-3',
      'cheap-4',
    ]);
  });

  it('where LRU, on the same trace, loses all three', () => {
    const { kept } = scenario('lru');
    expect(kept).toEqual([]);
  });

  it('ages entries nobody uses any more: even the expensive one goes eventually', () => {
    // After the scenario (which read each survivor once more), H is about 0.2 for
    // `frequent` and 20 for `expensive` and `small`; every cheap entry that arrives evicts
    // the previous one and raises L by 0.01.
    const { store, evictions } = scenario('cost-aware');
    const evictedAt = new Map<string, number>();
    for (let i = 0; i < 10_000 && evictedAt.size < 3; i++) {
      store.setSync(`late-${i}`, entry(['c'], { cost: 1, size: 100 }));
      for (const [key] of evictions) {
        if (['expensive', 'small', 'frequent'].includes(key) && !evictedAt.has(key)) {
          evictedAt.set(key, i);
        }
      }
    }
    expect([...evictedAt.keys()].sort()).toEqual(['expensive', 'frequent', 'small']);
    expect(evictedAt.get('frequent')).toBeLessThan(100);
    expect(evictedAt.get('expensive')).toBeGreaterThan(1_000);
    expect(evictedAt.get('small')).toBeGreaterThan(1_000);
  });

  it('respects maxBytes, evicting by value per byte', () => {
    const { store, evictions } = recordingStore({ maxBytes: 1_000, policy: 'cost-aware' });
    store.setSync('big-cheap', entry(['a'], { cost: 5, size: 500 })); // H = 0.01
    store.setSync('small-costly', entry(['b'], { cost: 50, size: 100 })); // H = 0.5
    store.setSync('mid', entry(['c'], { cost: 20, size: 300 })); // H ≈ 0.067
    store.setSync('new', entry(['d'], { cost: 10, size: 400 })); // needs 300 more bytes
    expect(evictions).toEqual([['big-cheap', 'evicted']]);
    expect(store.bytes).toBe(800);
  });

  it('carries the use count across overwrites', () => {
    const { store } = recordingStore({ maxEntries: 2, policy: 'cost-aware' });
    store.setSync('hot', entry(['1'], { cost: 1, size: 10 }));
    for (let i = 0; i < 10; i++) store.getSync('hot');
    store.setSync('hot', entry(['2'], { cost: 1, size: 10 })); // refreshed, still hot
    store.setSync('cold', entry(['c'], { cost: 2, size: 10 }));
    store.setSync('newer', entry(['n'], { cost: 2, size: 10 }));
    expect(store.getSync('hot')?.values).toEqual(['2']);
    expect(store.getSync('cold')).toBeUndefined();
  });
});

describe('MemoryStore: option validation', () => {
  const cases: [string, Record<string, unknown>, ErrorConstructor, RegExp][] = [
    [
      'maxEntries 0',
      { maxEntries: 0 },
      RangeError,
      /maxEntries must be an integer >= 1.*received 0/,
    ],
    ['maxEntries 1.5', { maxEntries: 1.5 }, RangeError, /maxEntries.*received 1\.5/],
    ['maxEntries -1', { maxEntries: -1 }, RangeError, /maxEntries.*received -1/],
    ['maxEntries NaN', { maxEntries: Number.NaN }, RangeError, /maxEntries.*received NaN/],
    ['maxEntries "10"', { maxEntries: '10' }, RangeError, /maxEntries.*received "10"/],
    ['maxBytes 0', { maxBytes: 0 }, RangeError, /maxBytes must be a number > 0.*received 0/],
    ['maxBytes -5', { maxBytes: -5 }, RangeError, /maxBytes.*received -5/],
    ['maxBytes NaN', { maxBytes: Number.NaN }, RangeError, /maxBytes.*received NaN/],
    ['maxBytes null', { maxBytes: null }, RangeError, /maxBytes.*received null/],
    ['sizeOf 42', { sizeOf: 42 }, TypeError, /sizeOf must be a function; received 42/],
    [
      'policy fifo',
      { policy: 'fifo' },
      TypeError,
      /policy must be one of 'lru', 'cost-aware'; received "fifo"/,
    ],
    ['policy LRU', { policy: 'LRU' }, TypeError, /policy.*received "LRU"/],
    ['clock {}', { clock: {} }, TypeError, /clock\.now must be a function/],
    ['clock 5', { clock: 5 }, TypeError, /clock must be an object.*received 5/],
    [
      'sweepIntervalMs 0',
      { sweepIntervalMs: 0 },
      RangeError,
      /sweepIntervalMs.*> 0 and at most 2147483647.*; received 0/,
    ],
    [
      'sweepIntervalMs Inf',
      { sweepIntervalMs: Number.POSITIVE_INFINITY },
      RangeError,
      /sweepIntervalMs.*received Infinity/,
    ],
    ['sweepIntervalMs "1"', { sweepIntervalMs: '1' }, RangeError, /sweepIntervalMs.*received "1"/],
    ['onEvict true', { onEvict: true }, TypeError, /onEvict must be a function; received true/],
  ];

  it.each(cases)('%s', (_name, options, type, message) => {
    expect(() => new MemoryStore(options as never)).toThrow(type);
    expect(() => new MemoryStore(options as never)).toThrow(message);
  });

  it('rejects options that are not an object', () => {
    expect(() => new MemoryStore(null as never)).toThrow(TypeError);
    expect(() => new MemoryStore(5 as never)).toThrow(/options must be an object; received 5/);
  });

  it('accepts Infinity bounds and exposes the settings', () => {
    const store = new MemoryStore({
      maxEntries: Number.POSITIVE_INFINITY,
      maxBytes: Number.POSITIVE_INFINITY,
      policy: 'cost-aware',
    });
    expect(store.maxEntries).toBe(Number.POSITIVE_INFINITY);
    expect(store.maxBytes).toBe(Number.POSITIVE_INFINITY);
    expect(store.policy).toBe('cost-aware');
    expect(new MemoryStore().policy).toBe('lru');
  });
});

describe('LruPolicy', () => {
  it('evicts in least-recently-used order', () => {
    const lru = new LruPolicy();
    const [a, b, c] = [lru.add(0, 1), lru.add(0, 1), lru.add(0, 1)];
    expect(lru.order()).toEqual([a, b, c]);
    lru.touch(a);
    expect(lru.victim()).toBe(b);
    expect(lru.order()).toEqual([b, c, a]);
    lru.touch(a); // already the most recent
    lru.touch(b);
    expect(lru.order()).toEqual([c, a, b]);
    expect(lru.evict()).toBe(c);
    expect(lru.evict()).toBe(a);
    expect(lru.evict()).toBe(b);
    expect(lru.evict()).toBe(NO_SLOT);
    expect(lru.victim()).toBe(NO_SLOT);
    expect(lru.size).toBe(0);
  });

  it('removes from the head, middle and tail', () => {
    const lru = new LruPolicy();
    const slots = Array.from({ length: 5 }, () => lru.add(0, 1));
    lru.remove(slots[2] as number);
    lru.remove(slots[0] as number);
    lru.remove(slots[4] as number);
    expect(lru.order()).toEqual([slots[1], slots[3]]);
    expect(lru.size).toBe(2);
  });

  it('reuses freed slots and grows past its initial capacity', () => {
    const lru = new LruPolicy();
    const slots = Array.from({ length: 100 }, () => lru.add(0, 1));
    expect(new Set(slots).size).toBe(100);
    expect(lru.order()).toEqual(slots);
    lru.remove(slots[50] as number);
    expect(lru.add(0, 1)).toBe(slots[50]);
    lru.clear();
    expect(lru.size).toBe(0);
    expect(lru.order()).toEqual([]);
    expect(lru.add(0, 1)).toBe(0);
    expect(lru.uses(0)).toBe(0);
  });

  it('agrees with an array model under random operations (fast-check)', () => {
    type Op = { kind: 'add' } | { kind: 'touch' | 'remove'; pick: number } | { kind: 'evict' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.constant({ kind: 'add' as const }),
      fc.record({ kind: fc.constantFrom('touch' as const, 'remove' as const), pick: fc.nat() }),
      fc.constant({ kind: 'evict' as const }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const lru = new LruPolicy();
        const model: number[] = []; // least recently used first
        for (const step of ops) {
          if (step.kind === 'add') {
            const slot = lru.add(0, 1);
            expect(model).not.toContain(slot);
            model.push(slot);
          } else if (step.kind === 'evict') {
            expect(lru.victim()).toBe(model[0] ?? NO_SLOT);
            expect(lru.evict()).toBe(model.shift() ?? NO_SLOT);
          } else if (model.length > 0) {
            const index = step.pick % model.length;
            const [slot] = model.splice(index, 1) as [number];
            if (step.kind === 'touch') {
              lru.touch(slot);
              model.push(slot);
            } else {
              lru.remove(slot);
            }
          }
          expect(lru.size).toBe(model.length);
          expect(lru.order()).toEqual(model);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('CostAwarePolicy (GreedyDual-Size-Frequency)', () => {
  it('computes H = L + frequency * cost / size and evicts the lowest', () => {
    const gdsf = new CostAwarePolicy();
    const slow = gdsf.add(900, 100);
    const fast = gdsf.add(5, 100);
    const tiny = gdsf.add(5, 1);
    expect(gdsf.priorityOf(slow)).toBe(9);
    expect(gdsf.priorityOf(fast)).toBe(0.05);
    expect(gdsf.priorityOf(tiny)).toBe(5);
    expect(gdsf.victim()).toBe(fast);
    expect(gdsf.evict()).toBe(fast);
    expect(gdsf.inflation).toBe(0.05);
    expect(gdsf.evict()).toBe(tiny);
    expect(gdsf.inflation).toBe(5);
    expect(gdsf.evict()).toBe(slow);
    expect(gdsf.evict()).toBe(NO_SLOT);
  });

  it('on a hit, counts the use and recomputes H from the current L', () => {
    const gdsf = new CostAwarePolicy();
    const a = gdsf.add(10, 10); // H = 1
    const b = gdsf.add(1, 10); // H = 0.1
    gdsf.evict(); // b; L = 0.1
    expect(gdsf.inflation).toBe(0.1);
    gdsf.touch(a);
    expect(gdsf.uses(a)).toBe(2);
    expect(gdsf.priorityOf(a)).toBeCloseTo(0.1 + (2 * 10) / 10);
    const c = gdsf.add(1, 10);
    expect(gdsf.priorityOf(c)).toBeCloseTo(0.1 + 0.1);
    expect(b).toBe(c); // the freed slot is reused
  });

  it('remove does not age the rest; evict does', () => {
    const gdsf = new CostAwarePolicy();
    const a = gdsf.add(100, 1);
    gdsf.add(1, 1);
    gdsf.remove(a);
    expect(gdsf.inflation).toBe(0);
    expect(gdsf.size).toBe(1);
    gdsf.evict();
    expect(gdsf.inflation).toBe(1);
    gdsf.clear();
    expect(gdsf.inflation).toBe(0);
    expect(gdsf.size).toBe(0);
  });

  it('breaks ties by least recent use, so equal entries behave like LRU', () => {
    const gdsf = new CostAwarePolicy();
    const slots = [gdsf.add(0, 1), gdsf.add(0, 1), gdsf.add(0, 1)];
    gdsf.touch(slots[0] as number);
    expect(gdsf.order()).toEqual([slots[1], slots[2], slots[0]]);
  });

  it('treats cost <= 0 or NaN as free and size < 1 as 1, and carries uses', () => {
    const gdsf = new CostAwarePolicy();
    const free = gdsf.add(Number.NaN, 100);
    const negative = gdsf.add(-5, 100);
    const zeroSize = gdsf.add(3, 0);
    const carried = gdsf.add(1, 1, 4);
    expect(gdsf.priorityOf(free)).toBe(0);
    expect(gdsf.priorityOf(negative)).toBe(0);
    expect(gdsf.priorityOf(zeroSize)).toBe(3);
    expect(gdsf.uses(carried)).toBe(5);
    expect(gdsf.priorityOf(carried)).toBe(5);
  });

  it('agrees with a naive model under random operations (fast-check)', () => {
    type Op =
      | { kind: 'add'; cost: number; size: number }
      | { kind: 'touch' | 'remove'; pick: number }
      | { kind: 'evict' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('add' as const),
        cost: fc.integer({ min: 0, max: 50 }),
        size: fc.integer({ min: 1, max: 20 }),
      }),
      fc.record({ kind: fc.constantFrom('touch' as const, 'remove' as const), pick: fc.nat() }),
      fc.constant({ kind: 'evict' as const }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 150 }), (ops) => {
        const gdsf = new CostAwarePolicy();
        type Item = { slot: number; cost: number; size: number; f: number; h: number; t: number };
        let items: Item[] = [];
        let L = 0;
        let tick = 0;
        const min = () =>
          items.reduce<Item | undefined>(
            (m, x) => (m === undefined || x.h < m.h || (x.h === m.h && x.t < m.t) ? x : m),
            undefined,
          );
        for (const step of ops) {
          if (step.kind === 'add') {
            const slot = gdsf.add(step.cost, step.size);
            items.push({
              slot,
              cost: step.cost,
              size: step.size,
              f: 1,
              h: L + step.cost / step.size,
              t: ++tick,
            });
          } else if (step.kind === 'evict') {
            const victim = min();
            expect(gdsf.evict()).toBe(victim?.slot ?? NO_SLOT);
            if (victim !== undefined) {
              L = victim.h;
              items = items.filter((x) => x !== victim);
            }
          } else if (items.length > 0) {
            const item = items[step.pick % items.length] as Item;
            if (step.kind === 'touch') {
              gdsf.touch(item.slot);
              item.f++;
              item.h = L + (item.f * item.cost) / item.size;
              item.t = ++tick;
            } else {
              gdsf.remove(item.slot);
              items = items.filter((x) => x !== item);
            }
          }
          expect(gdsf.size).toBe(items.length);
          expect(gdsf.victim()).toBe(min()?.slot ?? NO_SLOT);
          expect(gdsf.inflation).toBe(L);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('createEvictionPolicy', () => {
  it('makes the named policy, lru by default, and rejects unknown names', () => {
    expect(createEvictionPolicy().name).toBe('lru');
    expect(createEvictionPolicy('cost-aware')).toBeInstanceOf(CostAwarePolicy);
    expect(() => createEvictionPolicy('mru' as never)).toThrow(/policy must be one of/);
  });
});

describe('sizeOf', () => {
  it('estimates primitives', () => {
    expect(sizeOf('hello')).toBe(26);
    expect(sizeOf('')).toBe(16);
    expect(sizeOf(1)).toBe(8);
    expect(sizeOf(true)).toBe(4);
    expect(sizeOf(null)).toBe(0);
    expect(sizeOf(undefined)).toBe(0);
    expect(sizeOf(Symbol('s'))).toBe(16);
    expect(sizeOf(2n ** 200n)).toBeGreaterThan(sizeOf(1n));
  });

  it('grows with content', () => {
    expect(sizeOf('x'.repeat(1_000))).toBeGreaterThan(sizeOf('x'.repeat(10)));
    expect(sizeOf([1, 2, 3])).toBe(64);
    expect(sizeOf([1, 2, 3, 4])).toBeGreaterThan(sizeOf([1, 2, 3]));
    expect(sizeOf({ a: 'x'.repeat(100) })).toBeGreaterThan(200);
    expect(sizeOf({ a: { b: { c: 1 } } })).toBeGreaterThan(sizeOf({ a: 1 }));
  });

  it('understands Map, Set, Date, RegExp, typed arrays, ArrayBuffer and errors', () => {
    expect(sizeOf(new Map([['k', 'x'.repeat(500)]]))).toBeGreaterThan(1_000);
    expect(sizeOf(new Set(['x'.repeat(500)]))).toBeGreaterThan(1_000);
    expect(sizeOf(new Date())).toBe(24);
    expect(sizeOf(/abc/)).toBeGreaterThan(32);
    expect(sizeOf(new Float64Array(1_000))).toBeGreaterThanOrEqual(8_000);
    expect(sizeOf(new ArrayBuffer(4_096))).toBeGreaterThanOrEqual(4_096);
    expect(sizeOf(new Error('x'.repeat(1_000)))).toBeGreaterThan(2_000);
    expect(sizeOf(() => 1)).toBe(64);
  });

  it('measures an array of primitives as the walk does (no walk needed)', () => {
    const primitive = fc.oneof(
      fc.integer(),
      fc.double(),
      fc.string(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
    );
    fc.assert(
      fc.property(fc.array(primitive), (values) => {
        // One object element sends the array down the walk: 8 bytes its slot, 16 the object.
        expect(sizeOf([...values, {}])).toBe(sizeOf(values) + 8 + 16);
      }),
    );
  });

  it('counts shared objects and shared buffers once, and survives cycles', () => {
    const shared = { payload: 'x'.repeat(1_000) };
    expect(sizeOf([shared, shared])).toBeLessThan(2 * sizeOf(shared));
    const buffer = new ArrayBuffer(10_000);
    const views = [new Uint8Array(buffer), new Uint8Array(buffer, 100, 10)];
    expect(sizeOf(views)).toBeLessThan(11_000);
    const a: { self?: unknown; other?: unknown } = {};
    const b = { back: a };
    a.self = a;
    a.other = b;
    expect(Number.isFinite(sizeOf(a))).toBe(true);
    const map = new Map<string, unknown>();
    map.set('me', map);
    expect(Number.isFinite(sizeOf(map))).toBe(true);
  });

  it('handles very deep nesting without overflowing the stack', () => {
    let list: { next?: unknown } = {};
    for (let i = 0; i < 200_000; i++) list = { next: list };
    expect(sizeOf(list)).toBeGreaterThan(200_000 * 16);
  });

  it('counts own enumerable properties of class instances', () => {
    class Point {
      constructor(
        public x: number,
        public label: string,
      ) {}
    }
    expect(sizeOf(new Point(1, 'x'.repeat(100)))).toBeGreaterThan(200);
  });
});
