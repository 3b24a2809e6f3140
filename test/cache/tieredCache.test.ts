import {
  type CacheEntry,
  type CacheStore,
  createBrowserCache,
  createEngine,
  TieredCache,
  type TieredCacheOptions,
} from 'eed';
import { firstValueFrom } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';

/** A Map-backed async store whose failures and latency a test controls. */
class FakeStore implements CacheStore {
  readonly map = new Map<string, CacheEntry>();
  fail = false;
  hang = false;
  reads = 0;
  async get(key: string) {
    this.reads++;
    if (this.hang) return new Promise<undefined>(() => {});
    if (this.fail) throw new Error('tier down');
    return this.map.get(key);
  }
  async set(key: string, entry: CacheEntry) {
    if (this.fail) throw new Error('tier down');
    this.map.set(key, entry);
  }
  async delete(key: string) {
    if (this.fail) throw new Error('tier down');
    return this.map.delete(key);
  }
  async clear() {
    this.map.clear();
  }
  async keys() {
    return [...this.map.keys()];
  }
}

const entry = (value: unknown, storedAt: number, expiresAt: number): CacheEntry => ({
  values: [value],
  storedAt,
  expiresAt,
  cost: 1,
  size: 1,
});

describe('TieredCache', () => {
  it('reads top-down and promotes a lower hit with its remaining lifetime', async () => {
    let now = 1_000;
    const l1 = new FakeStore();
    const l2 = new FakeStore();
    const cache = new TieredCache({
      tiers: [{ store: l1 }, { store: l2 }],
      clock: { now: () => now },
    });
    l2.map.set('k', entry('v', 500, 5_000));
    const got = await cache.get('k');
    expect(got).toMatchObject({ values: ['v'], tier: 1, expiresAt: 5_000 });
    await Promise.resolve();
    expect(l1.map.get('k')).toMatchObject({ values: ['v'], expiresAt: 5_000 });
    expect(l1.map.get('k')).not.toHaveProperty('tier');
    expect(await cache.get('k')).toMatchObject({ tier: 0 });
    now = 6_000;
    expect(await cache.get('k')).toBeUndefined();
  });

  it('setThrough resolves once every tier wrote, saying whether all of them took it', async () => {
    const memory = new FakeStore();
    const remote = new FakeStore();
    let release!: () => void;
    const landed = new Promise<void>((resolve) => (release = resolve));
    const set = remote.set.bind(remote);
    remote.set = async (key, entry) => {
      await landed;
      return set(key, entry);
    };
    const cache = new TieredCache({ tiers: [{ store: memory }, { store: remote }] });
    const entry: CacheEntry = {
      values: [1],
      storedAt: Date.now(),
      expiresAt: Date.now() + 60_000,
      cost: 1,
      size: 0,
    };
    let through: boolean | undefined;
    const writing = cache.setThrough('k', entry).then((all) => (through = all));
    await cache.set('j', entry); // `set` waits for the first tier only
    expect(memory.map.has('k')).toBe(true);
    expect(through).toBeUndefined();
    release();
    await writing;
    expect(through).toBe(true);
    expect(remote.map.has('k')).toBe(true);
    remote.fail = true;
    expect(await cache.setThrough('m', entry)).toBe(false);
    expect(memory.map.has('m')).toBe(true);
  });

  it('writes every tier with the shorter of the entry lifetime and the tier ttl', async () => {
    const l1 = new FakeStore();
    const l2 = new FakeStore();
    const l3 = new FakeStore();
    const cache = new TieredCache({
      tiers: [{ store: l1 }, { store: l2 }, { store: l3, ttl: 10 }],
      clock: { now: () => 0 },
    });
    await cache.set('k', entry(1, 0, Number.POSITIVE_INFINITY));
    await Promise.resolve();
    expect(l1.map.get('k')!.expiresAt).toBe(Number.POSITIVE_INFINITY);
    expect(l2.map.get('k')!.expiresAt).toBe(3_600_000); // the seed's L2 default: 1 hour
    expect(l3.map.get('k')!.expiresAt).toBe(10);
    expect(await cache.keys()).toEqual(['k']);
    expect(await cache.delete('k')).toBe(true);
    expect(l3.map.size).toBe(0);
  });

  it('a failing tier degrades to a miss and an event, and never loses the faster tier value', async () => {
    const l1 = new FakeStore();
    const l2 = new FakeStore();
    l2.fail = true;
    const cache = new TieredCache({ tiers: [{ store: l1 }, { store: l2 }] });
    const events: string[] = [];
    cache.events$.subscribe((e) => events.push(`${e.type}:${e.tier}`));
    await cache.set('k', entry(1, Date.now(), Number.POSITIVE_INFINITY));
    await new Promise((r) => setTimeout(r, 0));
    expect(l1.map.has('k')).toBe(true);
    expect(await cache.get('missing')).toBeUndefined();
    expect(events).toEqual(['tier-error:1', 'tier-error:1']);
    expect(await cache.get('k')).toMatchObject({ values: [1], tier: 0 });
  });

  it('abandons a hanging tier after its timeout (a miss), without hanging the read', async () => {
    vi.useFakeTimers();
    try {
      const l1 = new FakeStore();
      const l2 = new FakeStore();
      l2.hang = true;
      const cache = new TieredCache({ tiers: [{ store: l1 }, { store: l2, timeoutMs: 50 }] });
      const events: string[] = [];
      cache.events$.subscribe((e) => {
        if (e.type === 'tier-error') events.push((e.error as Error).name);
      });
      const read = cache.get('k');
      await vi.advanceTimersByTimeAsync(50);
      expect(await read).toBeUndefined();
      expect(events).toEqual(['TierTimeoutError']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('skips a tier that keeps failing for the cool-down, then tries it again', async () => {
    let now = 0;
    const l1 = new FakeStore();
    const l2 = new FakeStore();
    l2.fail = true;
    const cache = new TieredCache({
      tiers: [{ store: l1 }, { store: l2 }],
      failureThreshold: 2,
      coolDownMs: 1_000,
      clock: { now: () => now },
    });
    const events: string[] = [];
    cache.events$.subscribe((e) => events.push(e.type));
    await cache.get('a');
    await cache.get('b');
    expect(l2.reads).toBe(2);
    await cache.get('c');
    expect(l2.reads).toBe(2); // skipped while open
    expect(events).toEqual(['tier-error', 'tier-error', 'tier-opened', 'tier-skipped']);
    now = 1_000;
    l2.fail = false;
    l2.map.set('d', entry('back', 0, Number.POSITIVE_INFINITY));
    expect(await cache.get('d')).toMatchObject({ values: ['back'], tier: 1 });
  });

  it('reports a tier whose clear, keys or delete throws synchronously, and still asks the others', async () => {
    const top = new FakeStore();
    const broken = new FakeStore();
    const bottom = new FakeStore();
    const thrown = new Error('sync failure');
    const throwNow = () => {
      throw thrown;
    };
    Object.assign(broken, { clear: throwNow, keys: throwNow, delete: throwNow });
    const cache = new TieredCache({
      tiers: [{ store: top }, { store: broken }, { store: bottom }],
    });
    const errors: string[] = [];
    cache.events$.subscribe((e) => {
      if (e.type === 'tier-error' && e.error === thrown) errors.push(`${e.operation}@${e.tier}`);
    });
    await cache.set('k', entry('v', Date.now(), Number.POSITIVE_INFINITY));
    await cache.set('j', entry('w', Date.now(), Number.POSITIVE_INFINITY));
    await expect(cache.keys()).resolves.toEqual(['k', 'j']);
    await expect(cache.delete('k')).resolves.toBe(true);
    expect(top.map.has('k') || bottom.map.has('k')).toBe(false);
    await expect(cache.clear()).resolves.toBeUndefined();
    expect(top.map.size + bottom.map.size).toBe(0);
    expect(errors).toEqual(['keys@1', 'delete@1', 'clear@1']);
  });

  it('rejects bad options naming them', () => {
    expect(() => new TieredCache({ tiers: [] })).toThrow(/tiers.*0/);
    expect(() => new TieredCache({ tiers: [{ store: {} as CacheStore }] })).toThrow(
      /tiers\[0\]\.store/,
    );
    expect(() => new TieredCache({ tiers: [{ store: new FakeStore() }], timeoutMs: -5 })).toThrow(
      /timeoutMs.*-5/,
    );
    expect(
      () => new TieredCache({ tiers: [{ store: new FakeStore() }], failureThreshold: 0 }),
    ).toThrow(/failureThreshold.*0/);
  });

  it('rejects, at construction, a clock, timers or tier store that lacks what it calls', () => {
    const make = (options: Partial<TieredCacheOptions>) => () =>
      new TieredCache({ tiers: [{ store: new FakeStore() }], ...options });
    const bad = (value: unknown): never => value as never;
    expect(make({ clock: bad(5) })).toThrow(TypeError);
    expect(make({ clock: bad(5) })).toThrow(/^clock must be .*now\(\).*; received 5$/);
    expect(make({ clock: bad({}) })).toThrow(/clock .*received an object/);
    expect(make({ clock: bad(null) })).toThrow(/clock .*received null/);
    expect(make({ timers: bad(5) })).toThrow(TypeError);
    expect(make({ timers: bad(5) })).toThrow(/^timers must be .*setTimeout.*; received 5$/);
    expect(make({ timers: bad({ setTimeout }) })).toThrow(/timers .*received an object/);
    // Each of the five required CacheStore methods is needed; the optional ones are not.
    for (const missing of ['get', 'set', 'delete', 'clear', 'keys']) {
      const store = new FakeStore();
      Object.assign(store, { [missing]: undefined });
      expect(
        () => new TieredCache({ tiers: [{ store: new FakeStore() }, { store }] }),
        missing,
      ).toThrow(/^tiers\[1\]\.store must be a CacheStore .*; received an object$/);
    }
    expect(() => new TieredCache({ tiers: [{ store: bad({ get: () => undefined }) }] })).toThrow(
      TypeError,
    );
    expect(() => new TieredCache({ tiers: [bad(null)] })).toThrow(/tiers\[0\] .*received null/);
  });

  it('accepts a clock and timers with the documented methods, and uses them', async () => {
    const handles: Array<() => void> = [];
    const timers = {
      setTimeout: vi.fn((callback: () => void) => handles.push(callback)),
      clearTimeout: vi.fn(),
    };
    const l2 = new FakeStore();
    l2.hang = true;
    const cache = new TieredCache({
      tiers: [{ store: new FakeStore() }, { store: l2, timeoutMs: 10 }],
      clock: { now: () => 0 },
      timers,
    });
    const read = cache.get('k');
    await vi.waitFor(() => expect(handles).toHaveLength(1));
    handles[0]!();
    await expect(read).resolves.toBeUndefined();
    expect(timers.setTimeout).toHaveBeenCalledWith(expect.any(Function), 10);
  });

  it('serves an engine: a broken lower tier never rejects a run, and reports cache-error events', async () => {
    const l1 = new FakeStore();
    const l2 = new FakeStore();
    l2.fail = true;
    const engine = createEngine({
      cache: new TieredCache({ tiers: [{ store: l1 }, { store: l2 }] }),
    });
    const errors: Array<number | undefined> = [];
    engine.events$.subscribe((e) => {
      if (e.type === 'cache-error') errors.push(e.tier);
    });
    const work = vi.fn(async () => 'ok');
    expect(await firstValueFrom(engine.run('k', work))).toBe('ok');
    await new Promise((r) => setTimeout(r, 0));
    expect(await firstValueFrom(engine.run('k', work))).toBe('ok');
    expect(work).toHaveBeenCalledTimes(1);
    expect(errors).toContain(1);
  });
});

describe('TieredCache and values a tier cannot store', () => {
  it('reports an unserializable value without opening the circuit of that tier', async () => {
    class PickyStore extends FakeStore {
      override async set(key: string, entry: CacheEntry) {
        if (typeof entry.values[0] === 'function') {
          throw Object.assign(new Error(`cannot serialize ${key}`), {
            name: 'UnserializableValueError',
          });
        }
        await super.set(key, entry);
      }
    }
    const l2 = new PickyStore();
    const cache = new TieredCache({
      tiers: [{ store: new FakeStore() }, { store: l2 }],
      failureThreshold: 1,
    });
    const events: string[] = [];
    cache.events$.subscribe((e) => events.push(e.type));
    await cache.set(
      'f',
      entry(() => 1, Date.now(), Number.POSITIVE_INFINITY),
    );
    await new Promise((r) => setTimeout(r, 0));
    await cache.set('n', entry(1, Date.now(), Number.POSITIVE_INFINITY));
    await new Promise((r) => setTimeout(r, 0));
    expect(events).toEqual(['tier-error']);
    expect(l2.map.has('n')).toBe(true);
  });
});

describe('createBrowserCache options', () => {
  const bad = (value: unknown): never => value as never;

  it('names ttl.memory and ttl.indexedDb as written, with the value', () => {
    expect(() => createBrowserCache({ ttl: { memory: -1 } })).toThrow(RangeError);
    expect(() => createBrowserCache({ ttl: { memory: -1 } })).toThrow(
      /^ttl\.memory must be .*; received -1$/,
    );
    expect(() => createBrowserCache({ ttl: { indexedDb: Number.NaN } })).toThrow(
      /^ttl\.indexedDb must be .*; received NaN$/,
    );
  });

  it('rejects a ttl, memory or indexedDb that is not an object', () => {
    for (const option of ['ttl', 'memory', 'indexedDb'] as const) {
      for (const [value, shown] of [
        [5, '5'],
        [null, 'null'],
      ] as const) {
        expect(() => createBrowserCache({ [option]: bad(value) }), `${option} ${shown}`).toThrow(
          new TypeError(`${option} must be an object; received ${shown}`),
        );
      }
    }
  });

  it('accepts the documented ttl values', () => {
    expect(() => createBrowserCache({ ttl: { memory: Infinity, indexedDb: 0 } })).not.toThrow();
    expect(() => createBrowserCache({ ttl: {}, memory: {}, indexedDb: {} })).not.toThrow();
  });
});
