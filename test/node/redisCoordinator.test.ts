import { type AddressInfo, createServer, type Socket } from 'node:net';
import {
  type CacheEntry,
  type CacheStore,
  type CoordinationEvent,
  createEngine,
  MemoryStore,
  RemoteExecutionError,
  TieredCache,
} from 'eed';
import {
  type RedisCoordinator,
  RedisCoordinatorClosedError,
  RedisTimeoutError,
  RedisUnavailableError,
  redisCoordinator,
} from 'eed/node';
import { Redis } from 'ioredis';
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestClient, describeWithRedis, uniquePrefix } from './redis.js';

/** What several processes share in production (a RedisStore tier); here one Map. */
class SharedStore implements CacheStore {
  readonly map = new Map<string, CacheEntry>();
  async get(key: string) {
    const entry = this.map.get(key);
    return entry && entry.expiresAt > Date.now() ? entry : undefined;
  }
  async set(key: string, entry: CacheEntry) {
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

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `condition` until it holds (behaviour, not timing: the bound only stops a hang). */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await condition()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One "process": its own Redis connection, coordinator, memory tier and engine. */
function processSharing(shared: CacheStore, prefix: string, leaseMs = 2_000) {
  const client = createTestClient();
  const coordinator = redisCoordinator({ client, prefix, leaseMs, pollMs: 10 });
  const engine = createEngine({
    cache: new TieredCache({ tiers: [{ store: new MemoryStore() }, { store: shared }] }),
    coordinator,
    ttl: 60_000,
  });
  const outcomes: CoordinationEvent['outcome'][] = [];
  engine.events$.subscribe((event) => {
    if (event.type === 'coordination') outcomes.push(event.outcome);
  });
  cleanups.push(async () => {
    await coordinator.close();
    client.disconnect();
  });
  return { client, coordinator, engine, outcomes };
}

describeWithRedis('redisCoordinator', () => {
  it('runs a key once across processes; the others read its result from the shared tier', async () => {
    const shared = new SharedStore();
    const prefix = uniquePrefix('coordinator');
    const a = processSharing(shared, prefix);
    const b = processSharing(shared, prefix);
    let calls = 0;
    const work = async () => {
      calls++;
      await sleep(50);
      return { answer: 42 };
    };
    const first = firstValueFrom(a.engine.run('k', work));
    await until(async () => (await a.client.exists(`${prefix}lease:k`)) === 1, 'the lease');
    const [fromA, fromB] = await Promise.all([first, firstValueFrom(b.engine.run('k', work))]);
    expect(fromA).toEqual({ answer: 42 });
    expect(fromB).toEqual({ answer: 42 });
    expect(calls).toBe(1);
    expect(a.outcomes).toEqual(['leased']);
    expect(b.outcomes).toEqual(['remote-done']);
    await until(async () => (await a.client.exists(`${prefix}lease:k`)) === 0, 'the release');
    expect(a.coordinator.held).toBe(0);
    expect(b.coordinator.waiting).toBe(0);
  });

  it('answers done for a key that just succeeded elsewhere, unless the result was missing', async () => {
    const shared = new SharedStore();
    const prefix = uniquePrefix('coordinator');
    const a = processSharing(shared, prefix);
    const b = processSharing(shared, prefix);
    expect(await firstValueFrom(a.engine.run('k', async () => 'a'))).toBe('a');
    await a.engine.flush();
    // b's own lookup missed before a's result landed; it asks the coordinator only now.
    const signal = new AbortController().signal;
    expect(await b.coordinator.acquire('k', signal)).toEqual({ kind: 'done' });
    const again = await b.coordinator.acquire('k', signal, { afterMiss: true });
    expect(again.kind).toBe('lease');
    if (again.kind === 'lease') await again.lease.release();
  });

  it('hands the holder’s error to the waiters and does not cache it', async () => {
    const shared = new SharedStore();
    const prefix = uniquePrefix('coordinator');
    const a = processSharing(shared, prefix);
    const b = processSharing(shared, prefix);
    let calls = 0;
    const failing = async () => {
      calls++;
      await sleep(50);
      throw new TypeError('backend said no');
    };
    const first = firstValueFrom(a.engine.run('k', failing)).catch((e: unknown) => e);
    await until(async () => (await a.client.exists(`${prefix}lease:k`)) === 1, 'the lease');
    const second = await firstValueFrom(b.engine.run('k', failing)).catch((e: unknown) => e);
    expect(await first).toBeInstanceOf(TypeError);
    expect(second).toBeInstanceOf(RemoteExecutionError);
    expect(second).toMatchObject({ message: 'backend said no', remoteName: 'TypeError' });
    expect(calls).toBe(1);
    expect(shared.map.size).toBe(0);
    // Not cached: the next run executes again.
    expect(await firstValueFrom(b.engine.run('k', async () => 'recovered'))).toBe('recovered');
  });

  it('lets a waiter take over when the holder is cancelled', async () => {
    const shared = new SharedStore();
    const prefix = uniquePrefix('coordinator');
    const a = processSharing(shared, prefix);
    const b = processSharing(shared, prefix);
    const subscription = a.engine.run('k', () => new Promise<never>(() => {})).subscribe();
    await until(async () => (await a.client.exists(`${prefix}lease:k`)) === 1, 'the lease');
    const fromB = firstValueFrom(b.engine.run('k', async () => 'b did it'));
    await until(() => b.coordinator.waiting === 1, 'b to wait');
    subscription.unsubscribe();
    expect(await fromB).toBe('b did it');
    expect(b.outcomes).toEqual(['took-over']);
    expect(a.coordinator.held).toBe(0);
  });

  it('takes over a lease whose holder died (it expires; nobody releases it)', async () => {
    const shared = new SharedStore();
    const prefix = uniquePrefix('coordinator');
    const b = processSharing(shared, prefix);
    await b.client.set(`${prefix}lease:k`, 'a-dead-process', 'PX', 300);
    let calls = 0;
    expect(await firstValueFrom(b.engine.run('k', async () => ++calls))).toBe(1);
    expect(calls).toBe(1);
    expect(b.outcomes).toEqual(['took-over']);
  });

  it('renews the lease while the work runs, so nobody takes over a live holder', async () => {
    const shared = new SharedStore();
    const prefix = uniquePrefix('coordinator');
    const a = processSharing(shared, prefix, 150);
    const b = processSharing(shared, prefix, 150);
    let calls = 0;
    let finish!: (value: string) => void;
    const work = () => {
      calls++;
      return new Promise<string>((resolve) => (finish = resolve));
    };
    const fromA = firstValueFrom(a.engine.run('k', work));
    await until(async () => (await a.client.exists(`${prefix}lease:k`)) === 1, 'the lease');
    const fromB = firstValueFrom(b.engine.run('k', work));
    // Several lease periods pass; the renewals keep the lease alive.
    let renewals = 0;
    let last = Number.POSITIVE_INFINITY;
    await until(async () => {
      const ttl = await a.client.pttl(`${prefix}lease:k`);
      if (ttl > last) renewals++;
      last = ttl;
      return renewals >= 3;
    }, 'three renewals');
    expect(calls).toBe(1);
    finish('done');
    expect(await fromA).toBe('done');
    expect(await fromB).toBe('done');
    expect(calls).toBe(1);
  });

  it('executes locally when Redis cannot be reached, and skips it for a while after', async () => {
    const client = new Redis({
      port: 1, // nothing listens there
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    const coordinator = redisCoordinator({ client, coolDownMs: 60_000 });
    cleanups.push(() => coordinator.close());
    const engine = createEngine({ cache: new SharedStore(), coordinator });
    const outcomes: CoordinationEvent['outcome'][] = [];
    engine.events$.subscribe((e) => {
      if (e.type === 'coordination') outcomes.push(e.outcome);
    });
    expect(await firstValueFrom(engine.run('a', async () => 'local a'))).toBe('local a');
    const set = client.set.bind(client);
    let commands = 0;
    client.set = ((...args: Parameters<typeof set>) => {
      commands++;
      return set(...args);
    }) as typeof client.set;
    expect(await firstValueFrom(engine.run('b', async () => 'local b'))).toBe('local b');
    expect(outcomes).toEqual(['unavailable', 'unavailable']);
    expect(commands).toBe(0);
  });

  it('gives up on a Redis that accepts connections but never answers, within timeoutMs', async () => {
    // A hung server: the TCP connection opens, no reply ever comes.
    const sockets = new Set<Socket>();
    const server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    const coordinator = redisCoordinator({ client, timeoutMs: 50 });
    cleanups.push(async () => {
      await coordinator.close();
      client.disconnect();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });
    const errors: unknown[] = [];
    coordinator.events$.subscribe((e) => errors.push(e.error));
    const claim = await coordinator.acquire('k', new AbortController().signal);
    expect(claim.kind).toBe('unavailable');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(RedisTimeoutError);
    expect(errors[0]).toMatchObject({ operation: 'acquire', timeoutMs: 50 });
  });

  it('stops waiting when the run is unsubscribed, leaving no waiter or timer behind', async () => {
    const shared = new SharedStore();
    const prefix = uniquePrefix('coordinator');
    const b = processSharing(shared, prefix);
    await b.client.set(`${prefix}lease:k`, 'someone-else', 'PX', 60_000);
    let calls = 0;
    const subscription = b.engine.run('k', async () => ++calls).subscribe();
    await until(() => b.coordinator.waiting === 1, 'the wait');
    subscription.unsubscribe();
    await until(() => b.coordinator.waiting === 0, 'the waiter to leave');
    expect(calls).toBe(0);
    expect(b.engine.inFlight).toBe(0);
    // The other process's lease is untouched.
    expect(await b.client.get(`${prefix}lease:k`)).toBe('someone-else');
  });

  it('never deletes a lease another process holds', async () => {
    const prefix = uniquePrefix('coordinator');
    const client = createTestClient();
    const coordinator: RedisCoordinator = redisCoordinator({ client, prefix, leaseMs: 1_000 });
    cleanups.push(async () => {
      await coordinator.close();
      client.disconnect();
    });
    const claim = await coordinator.acquire('k', new AbortController().signal);
    if (claim.kind !== 'lease') throw new Error(`expected a lease, got ${claim.kind}`);
    // The lease expired and another process took it.
    await client.set(`${prefix}lease:k`, 'the-new-holder', 'PX', 60_000);
    await claim.lease.complete();
    expect(await client.get(`${prefix}lease:k`)).toBe('the-new-holder');
    expect(coordinator.held).toBe(0);
  });

  it('validates its options', () => {
    const client = createTestClient();
    cleanups.push(() => client.disconnect());
    expect(() => redisCoordinator({ client: {} as Redis })).toThrow(
      /client must be an ioredis client/,
    );
    expect(() => redisCoordinator({ client, leaseMs: 0 })).toThrow(RangeError);
    expect(() => redisCoordinator({ client, leaseMs: Number.POSITIVE_INFINITY })).toThrow(
      /leaseMs must be an integer between 30 and/,
    );
    expect(() => redisCoordinator({ client, timeoutMs: -1 })).toThrow(/timeoutMs/);
    expect(() => redisCoordinator({ client, pollMs: 0.5 })).toThrow(/pollMs/);
    expect(() => redisCoordinator({ client, prefix: 3 as unknown as string })).toThrow(TypeError);
  });
});

describe('redisCoordinator options (no Redis needed)', () => {
  const bad = (value: unknown): never => value as never;
  const evalOnly = { eval: async () => null };
  const fullClient = { ...evalOnly, duplicate: () => fullClient, subscribe: async () => {} };

  it('needs duplicate() of a client when no subscriber is given, naming client', () => {
    expect(() => redisCoordinator({ client: bad(evalOnly) })).toThrow(TypeError);
    expect(() => redisCoordinator({ client: bad(evalOnly) })).toThrow(
      /^client must be an ioredis client .*duplicate\(\).*; received an object$/,
    );
    expect(() => redisCoordinator({ client: bad({ duplicate: () => null }) })).toThrow(
      /^client must be .*eval\(\).*; received an object$/,
    );
    expect(() => redisCoordinator({ client: bad(5) })).toThrow(/^client .*received 5$/);
    expect(() => redisCoordinator({ client: bad(null) })).toThrow(/^client .*received null$/);
    // With a subscriber of its own, the client only runs commands: eval() is enough.
    expect(() =>
      redisCoordinator({ client: bad(evalOnly), subscriber: bad(fullClient) }),
    ).not.toThrow();
    expect(() => redisCoordinator({ client: bad(fullClient) })).not.toThrow();
    // A real ioredis client has everything (lazy: nothing is sent).
    const real = new Redis({ lazyConnect: true });
    expect(() => redisCoordinator({ client: real })).not.toThrow();
    real.disconnect();
  });

  it('answers unavailable with a named error once closed, and counts no failure', async () => {
    const coordinator = redisCoordinator({ client: bad(fullClient) });
    const reported: unknown[] = [];
    coordinator.events$.subscribe((e) => reported.push(e));
    await coordinator.close();
    const claim = await coordinator.acquire('k', new AbortController().signal);
    expect(claim.kind).toBe('unavailable');
    const error = claim.kind === 'unavailable' ? claim.error : undefined;
    expect(error).toBeInstanceOf(RedisCoordinatorClosedError);
    expect(error).toMatchObject({ name: 'RedisCoordinatorClosedError', operation: 'acquire' });
    expect(reported).toEqual([]);
    expect(new RedisUnavailableError('cool-down').name).toBe('RedisUnavailableError');
  });

  it('close() called twice waits for the same close', async () => {
    const coordinator = redisCoordinator({ client: bad(fullClient) });
    const first = coordinator.close();
    expect(coordinator.close()).toBe(first);
    await first;
    expect(coordinator.close()).toBe(first);
  });

  it('rejects an empty prefix like RedisStore, and accepts the documented edges', () => {
    const client = bad(fullClient);
    expect(() => redisCoordinator({ client, prefix: '' })).toThrow(
      new TypeError('prefix must be a non-empty string; received ""'),
    );
    expect(() => redisCoordinator({ client, prefix: bad(3) })).toThrow(/^prefix .*received 3$/);
    expect(() => redisCoordinator({ client, leaseMs: 30.5 })).toThrow(/leaseMs .*received 30\.5/);
    expect(() => redisCoordinator({ client, leaseMs: 2 ** 31 })).toThrow(RangeError);
    expect(() => redisCoordinator({ client, timeoutMs: 0 })).toThrow(/timeoutMs .*received 0/);
    expect(() => redisCoordinator({ client, coolDownMs: -1 })).toThrow(RangeError);
    expect(() =>
      redisCoordinator({
        client,
        prefix: 'p',
        leaseMs: 30,
        timeoutMs: 2 ** 31 - 1,
        pollMs: 1,
        coolDownMs: 0.5,
      }),
    ).not.toThrow();
    expect(() =>
      redisCoordinator({ client, leaseMs: 2 ** 31 - 1, coolDownMs: Infinity }),
    ).not.toThrow();
  });
});
