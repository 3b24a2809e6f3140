import {
  type CacheEntry,
  type CacheStore,
  type CoordinationEvent,
  type Coordinator,
  type CoordinatorClaim,
  type CoordinatorLease,
  createEngine,
  type ExecutionEvent,
  MemoryStore,
  RemoteExecutionError,
} from 'eed';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';

const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** An asynchronous store in a Map: what the processes share (a Redis tier, in production). */
class SharedStore implements CacheStore {
  readonly map = new Map<string, CacheEntry>();
  failSets = false;
  async get(key: string) {
    const entry = this.map.get(key);
    return entry && entry.expiresAt > Date.now() ? entry : undefined;
  }
  async set(key: string, entry: CacheEntry) {
    if (this.failSets) throw new Error('shared store down');
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

/** A lease that records how it ended. */
class RecordingLease implements CoordinatorLease {
  ends: { how: 'complete' | 'fail' | 'release'; error?: unknown }[] = [];
  async complete() {
    this.ends.push({ how: 'complete' });
  }
  async fail(error: unknown) {
    this.ends.push({ how: 'fail', error });
  }
  async release() {
    this.ends.push({ how: 'release' });
  }
}

/** A coordinator whose answers the test scripts, one per `acquire`. */
class ScriptedCoordinator implements Coordinator {
  readonly calls: { key: string; signal: AbortSignal }[] = [];
  readonly answers: (() => Promise<CoordinatorClaim>)[] = [];
  acquire(key: string, signal: AbortSignal): Promise<CoordinatorClaim> {
    this.calls.push({ key, signal });
    const next = this.answers.shift();
    if (next === undefined) throw new Error(`no scripted answer for acquire #${this.calls.length}`);
    return next();
  }
  answer(claim: CoordinatorClaim): this {
    this.answers.push(() => Promise.resolve(claim));
    return this;
  }
}

const entryOf = (values: unknown[]): CacheEntry => ({
  values,
  storedAt: Date.now(),
  expiresAt: Date.now() + 60_000,
  cost: 1,
  size: 0,
});

function setup(coordinator: Coordinator) {
  const shared = new SharedStore();
  const engine = createEngine({ cache: shared, coordinator });
  const outcomes: CoordinationEvent['outcome'][] = [];
  engine.events$.subscribe((event: ExecutionEvent) => {
    if (event.type === 'coordination') outcomes.push(event.outcome);
  });
  return { shared, engine, outcomes };
}

describe('Engine with a coordinator', () => {
  it('executes under a lease and completes it once the result is in the shared cache', async () => {
    const lease = new RecordingLease();
    const coordinator = new ScriptedCoordinator().answer({ kind: 'lease', lease, waited: false });
    const { shared, engine, outcomes } = setup(coordinator);
    let calls = 0;
    const value = await firstValueFrom(engine.run('k', async () => ++calls));
    await flush();
    expect(value).toBe(1);
    expect(calls).toBe(1);
    expect(shared.map.get('k')?.values).toEqual([1]);
    expect(lease.ends).toEqual([{ how: 'complete' }]);
    expect(outcomes).toEqual(['leased']);
    expect(coordinator.calls.map((c) => c.key)).toEqual(['k']);
  });

  it('reads the result another process stored, without executing', async () => {
    const coordinator = new ScriptedCoordinator();
    const { shared, engine, outcomes } = setup(coordinator);
    coordinator.answers.push(async () => {
      shared.map.set('k', entryOf(['remote']));
      return { kind: 'done' };
    });
    let calls = 0;
    const values = await lastValueFrom(engine.run('k', async () => ++calls).pipe(toArray()));
    expect(values).toEqual(['remote']);
    expect(calls).toBe(0);
    expect(outcomes).toEqual(['remote-done']);
  });

  it('delivers another process’s error, and does not cache it', async () => {
    const lease = new RecordingLease();
    const coordinator = new ScriptedCoordinator()
      .answer({ kind: 'failed', error: new RemoteExecutionError('boom', 'TypeError') })
      .answer({ kind: 'lease', lease, waited: false });
    const { engine, outcomes } = setup(coordinator);
    const error = await firstValueFrom(engine.run('k', async () => 1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteExecutionError);
    expect((error as RemoteExecutionError).remoteName).toBe('TypeError');
    expect(await firstValueFrom(engine.run('k', async () => 2))).toBe(2);
    expect(outcomes).toEqual(['remote-failed', 'leased']);
  });

  it('executes locally when coordination is unavailable', async () => {
    const down = new Error('redis down');
    const coordinator = new ScriptedCoordinator().answer({ kind: 'unavailable', error: down });
    const { engine } = setup(coordinator);
    const events: CoordinationEvent[] = [];
    engine.events$.subscribe((e) => {
      if (e.type === 'coordination') events.push(e);
    });
    expect(await firstValueFrom(engine.run('k', async () => 'local'))).toBe('local');
    expect(events.map((e) => [e.outcome, e.error])).toEqual([['unavailable', down]]);
  });

  it('after waiting for another holder, serves its stored result and releases the lease', async () => {
    const lease = new RecordingLease();
    const coordinator = new ScriptedCoordinator();
    const { shared, engine, outcomes } = setup(coordinator);
    coordinator.answers.push(async () => {
      shared.map.set('k', entryOf(['theirs']));
      return { kind: 'lease', lease, waited: true };
    });
    let calls = 0;
    expect(await firstValueFrom(engine.run('k', async () => ++calls))).toBe('theirs');
    await flush();
    expect(calls).toBe(0);
    expect(lease.ends).toEqual([{ how: 'release' }]);
    expect(outcomes).toEqual(['remote-done']);
  });

  it('takes over when the holder left no result', async () => {
    const lease = new RecordingLease();
    const coordinator = new ScriptedCoordinator().answer({ kind: 'lease', lease, waited: true });
    const { engine, outcomes } = setup(coordinator);
    expect(await firstValueFrom(engine.run('k', async () => 'mine'))).toBe('mine');
    await flush();
    expect(lease.ends).toEqual([{ how: 'complete' }]);
    expect(outcomes).toEqual(['took-over']);
  });

  it('asks again when a result was announced but the shared cache lacks it, then executes', async () => {
    const lease = new RecordingLease();
    const coordinator = new ScriptedCoordinator()
      .answer({ kind: 'done' })
      .answer({ kind: 'lease', lease, waited: true });
    const { engine, outcomes } = setup(coordinator);
    expect(await firstValueFrom(engine.run('k', async () => 'again'))).toBe('again');
    expect(outcomes).toEqual(['remote-missing', 'took-over']);
    expect(coordinator.calls).toHaveLength(2);
  });

  it('executes locally after repeated announcements without a shared result', async () => {
    const coordinator = new ScriptedCoordinator()
      .answer({ kind: 'done' })
      .answer({ kind: 'done' })
      .answer({ kind: 'done' });
    const { engine, outcomes } = setup(coordinator);
    expect(await firstValueFrom(engine.run('k', async () => 'local'))).toBe('local');
    expect(outcomes).toEqual(['remote-missing', 'remote-missing', 'remote-missing']);
    expect(coordinator.calls).toHaveLength(3);
  });

  it('fails the lease with the work’s error', async () => {
    const lease = new RecordingLease();
    const coordinator = new ScriptedCoordinator().answer({ kind: 'lease', lease, waited: false });
    const { engine, shared } = setup(coordinator);
    const boom = new Error('boom');
    await expect(
      firstValueFrom(
        engine.run('k', async () => {
          throw boom;
        }),
      ),
    ).rejects.toBe(boom);
    await flush();
    expect(lease.ends).toEqual([{ how: 'fail', error: boom }]);
    expect(shared.map.has('k')).toBe(false);
  });

  it('releases the lease when the result could not be stored', async () => {
    const lease = new RecordingLease();
    const coordinator = new ScriptedCoordinator().answer({ kind: 'lease', lease, waited: false });
    const { engine, shared } = setup(coordinator);
    shared.failSets = true;
    expect(await firstValueFrom(engine.run('k', async () => 1))).toBe(1);
    await flush();
    expect(lease.ends).toEqual([{ how: 'release' }]);
  });

  it('releases the lease when the last subscriber leaves mid-work', async () => {
    const lease = new RecordingLease();
    const coordinator = new ScriptedCoordinator().answer({ kind: 'lease', lease, waited: false });
    const { engine } = setup(coordinator);
    let aborted = false;
    const subscription = engine
      .run('k', (signal) => {
        signal.addEventListener('abort', () => {
          aborted = true;
        });
        return new Promise<never>(() => {});
      })
      .subscribe();
    await flush();
    subscription.unsubscribe();
    await flush();
    expect(aborted).toBe(true);
    expect(lease.ends).toEqual([{ how: 'release' }]);
    expect(engine.inFlight).toBe(0);
  });

  it('aborts the acquisition when the last subscriber leaves, and releases a lease granted late', async () => {
    const lease = new RecordingLease();
    const coordinator = new ScriptedCoordinator();
    let grant!: (claim: CoordinatorClaim) => void;
    coordinator.answers.push(() => new Promise((resolve) => (grant = resolve)));
    const { engine } = setup(coordinator);
    let calls = 0;
    const subscription = engine.run('k', async () => ++calls).subscribe();
    await flush();
    const { signal } = coordinator.calls[0] ?? { signal: undefined };
    expect(signal?.aborted).toBe(false);
    subscription.unsubscribe();
    await flush();
    expect(signal?.aborted).toBe(true);
    grant({ kind: 'lease', lease, waited: false });
    await flush();
    expect(calls).toBe(0);
    expect(lease.ends).toEqual([{ how: 'release' }]);
  });

  it('shares one acquisition among the runs of a key in this process', async () => {
    const lease = new RecordingLease();
    const coordinator = new ScriptedCoordinator().answer({ kind: 'lease', lease, waited: false });
    const { engine } = setup(coordinator);
    let calls = 0;
    const work = async () => ++calls;
    const both = await Promise.all([
      firstValueFrom(engine.run('k', work)),
      firstValueFrom(engine.run('k', work)),
    ]);
    expect(both).toEqual([1, 1]);
    expect(coordinator.calls).toHaveLength(1);
  });

  it('does not coordinate runs that neither read nor write the cache', async () => {
    const coordinator = new ScriptedCoordinator();
    const { engine } = setup(coordinator);
    expect(await firstValueFrom(engine.run('a', async () => 1, { cache: false }))).toBe(1);
    expect(await firstValueFrom(engine.run('b', async () => 2, { ttl: 0 }))).toBe(2);
    expect(coordinator.calls).toHaveLength(0);
  });

  it('flush() waits for the last cache writes and lease ends', async () => {
    const lease = new RecordingLease();
    const coordinator = new ScriptedCoordinator().answer({ kind: 'lease', lease, waited: false });
    const { engine, shared } = setup(coordinator);
    let land!: () => void;
    const landed = new Promise<void>((resolve) => (land = resolve));
    const set = shared.set.bind(shared);
    shared.set = async (key, entry) => {
      await landed;
      return set(key, entry);
    };
    await engine.flush(); // nothing pending: resolves at once
    expect(await firstValueFrom(engine.run('k', async () => 1))).toBe(1);
    let flushed = false;
    const flushing = engine.flush().then(() => (flushed = true));
    await flush();
    expect(flushed).toBe(false);
    expect(lease.ends).toEqual([]);
    land();
    await flushing;
    expect(shared.map.has('k')).toBe(true);
    expect(lease.ends).toEqual([{ how: 'complete' }]);
  });

  it('rejects a coordinator without a cache the processes could share', () => {
    const coordinator = new ScriptedCoordinator();
    expect(() => createEngine({ coordinator })).toThrow(TypeError);
    expect(() => createEngine({ coordinator, cache: new MemoryStore() })).toThrow(
      /coordinator needs a cache the processes share/,
    );
    expect(() =>
      createEngine({ coordinator: {} as Coordinator, cache: new SharedStore() }),
    ).toThrow(/coordinator must be a Coordinator; received an object/);
  });
});
