import { type CacheEntry, createEngine, type ExecutionEvent, MemoryStore } from 'eed';
import { config, Subject, Subscriber, Subscription, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

describe('engine.run(...).subscribe with a plain observer (one subscriber object, RxJS semantics)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    config.onUnhandledError = null;
    vi.useRealTimers();
  });

  it('delivers hits and misses to an observer object, a next function, or nothing', async () => {
    const engine = createEngine();
    const answer = new Subject<string>();
    const seen: string[] = [];
    const miss = engine
      .run('k', () => answer)
      .subscribe({
        next: (v) => seen.push(`o:${v}`),
        complete: () => seen.push('o:end'),
      });
    const joined = engine.run('k', () => answer).subscribe((v) => seen.push(`f:${v}`));
    const silent = engine.run('k', () => answer).subscribe();
    expect(miss).toBeInstanceOf(Subscription);
    answer.next('v');
    answer.complete();
    expect(seen).toEqual(['o:v', 'f:v', 'o:end']);
    expect([miss.closed, joined.closed, silent.closed]).toEqual([true, true, true]);
    const hit = engine.run('k', () => answer).subscribe((v) => seen.push(`hit:${v}`));
    expect(seen.at(-1)).toBe('hit:v');
    expect(hit.closed).toBe(true);
    expect(engine.inFlight).toBe(0);
  });

  it('a throwing observer is reported as unhandled, later, and the others still get the value', async () => {
    const unhandled: unknown[] = [];
    config.onUnhandledError = (error) => unhandled.push(error);
    const engine = createEngine();
    const answer = new Subject<string>();
    const boom = new Error('consumer bug');
    const other: string[] = [];
    engine
      .run('k', () => answer)
      .subscribe({
        next: () => {
          throw boom;
        },
      });
    engine
      .run('k', () => answer)
      .subscribe({ next: (v) => other.push(v), complete: () => other.push('end') });
    answer.next('v');
    answer.complete();
    expect(other).toEqual(['v', 'end']);
    expect(unhandled).toEqual([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(unhandled).toEqual([boom]);
    // A hit whose observer throws: the same.
    engine
      .run('k', () => answer)
      .subscribe(() => {
        throw boom;
      });
    await vi.advanceTimersByTimeAsync(0);
    expect(unhandled).toEqual([boom, boom]);
  });

  it('an error with no error callback is reported as unhandled; with one, it is delivered', async () => {
    const unhandled: unknown[] = [];
    config.onUnhandledError = (error) => unhandled.push(error);
    const engine = createEngine();
    const failure = new Error('down');
    const errors: unknown[] = [];
    engine.run('a', () => Promise.reject(failure)).subscribe(() => {});
    engine.run('b', () => Promise.reject(failure)).subscribe({ error: (e) => errors.push(e) });
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toEqual([failure]);
    expect(unhandled).toEqual([failure]);
  });

  it('unsubscribing leaves the execution, which is aborted when the last one left', async () => {
    const engine = createEngine();
    let aborted = false;
    const work = (signal: AbortSignal) => {
      signal.addEventListener('abort', () => {
        aborted = true;
      });
      return new Subject<string>();
    };
    const a = engine.run('k', work).subscribe(() => {});
    const parent = new Subscription();
    parent.add(engine.run('k', work).subscribe(() => {}));
    a.unsubscribe();
    expect(aborted).toBe(false);
    parent.unsubscribe();
    await vi.advanceTimersByTimeAsync(0);
    expect(aborted).toBe(true);
    expect(engine.inFlight).toBe(0);
  });

  it('an observer unsubscribing itself on its first value stops the delivery', () => {
    const engine = createEngine();
    const values = new Subject<number>();
    const seen: number[] = [];
    const subscription: Subscription = engine
      .run('k', () => values)
      .subscribe((v) => {
        seen.push(v);
        subscription.unsubscribe();
      });
    values.next(1);
    values.next(2);
    expect(seen).toEqual([1]);
    expect(subscription.closed).toBe(true);
  });

  it('operators and Subscribers still go through RxJS, and so does the deprecated mode', async () => {
    const engine = createEngine();
    const collected = engine.run('k', async () => 5).pipe(toArray());
    const out: number[][] = [];
    collected.subscribe((v) => out.push(v));
    await vi.advanceTimersByTimeAsync(0);
    expect(out).toEqual([[5]]);
    const viaSubscriber: number[] = [];
    engine
      .run('k', async () => 6)
      .subscribe(
        new Subscriber<number>({
          next: (v) => {
            viaSubscriber.push(v);
          },
          error: () => {},
          complete: () => {},
        }),
      );
    expect(viaSubscriber).toEqual([5]);
    config.useDeprecatedSynchronousErrorHandling = true;
    try {
      const seen: number[] = [];
      engine.run('k', async () => 7).subscribe((v) => seen.push(v));
      expect(seen).toEqual([5]);
    } finally {
      config.useDeprecatedSynchronousErrorHandling = false;
    }
  });
  it('a hit is served at once: every value frozen, then the end, and a closed subscription', async () => {
    const engine = createEngine();
    const work = vi.fn(() => [{ n: 1 }, { n: 2 }]);
    await new Promise<void>((resolve) => engine.run('k', work).subscribe({ complete: resolve }));
    const seen: unknown[] = [];
    const hit = engine.run('k', work).subscribe({
      next: (v) => seen.push(v),
      complete: () => seen.push('end'),
    });
    expect(seen).toEqual([{ n: 1 }, { n: 2 }, 'end']);
    expect(Object.isFrozen(seen[0])).toBe(true);
    expect(hit).toBeInstanceOf(Subscription);
    expect(hit.closed).toBe(true);
    hit.unsubscribe(); // a no-op
    let added = false;
    hit.add(() => {
      added = true;
    });
    expect(added).toBe(true); // as on any closed subscription: run at once
    // A next function, an observer with neither callback, and one with only `error`.
    const values: unknown[] = [];
    engine.run('k', work).subscribe((v) => values.push(v));
    engine.run('k', work).subscribe({});
    engine.run('k', work).subscribe({ error: () => values.push('error') });
    expect(values).toEqual([{ n: 1 }, { n: 2 }]);
    expect(work).toHaveBeenCalledTimes(1);
    const metrics = engine.metrics();
    expect([metrics.requests, metrics.cacheHits, metrics.cacheMisses]).toEqual([5, 4, 1]);
  });

  it('a hit whose observer throws in next or complete reports it and still ends', async () => {
    const unhandled: unknown[] = [];
    config.onUnhandledError = (error) => unhandled.push(error);
    const engine = createEngine();
    await new Promise<void>((resolve) =>
      engine.run('k', () => [1, 2]).subscribe({ complete: resolve }),
    );
    const inNext = new Error('next');
    const inComplete = new Error('complete');
    const seen: unknown[] = [];
    engine
      .run('k', () => [0])
      .subscribe({
        next: (v) => {
          seen.push(v);
          throw inNext;
        },
        complete: () => {
          seen.push('end');
          throw inComplete;
        },
      });
    expect(seen).toEqual([1, 2, 'end']);
    expect(unhandled).toEqual([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(unhandled).toEqual([inNext, inNext, inComplete]);
  });

  it('with an events$ listener a hit is a subscription again, with its events', async () => {
    const engine = createEngine();
    await new Promise<void>((resolve) =>
      engine.run('k', async () => 1).subscribe({ complete: resolve }),
    );
    const events: ExecutionEvent['type'][] = [];
    const listening = engine.events$.subscribe((e) => events.push(e.type));
    const seen: number[] = [];
    engine.run('k', async () => 2).subscribe((v) => seen.push(v));
    listening.unsubscribe();
    expect(seen).toEqual([1]);
    expect(events).toEqual(['request', 'cache-hit', 'first-value', 'request-ended']);
  });

  it('trying the hit first costs a miss or a join no second lookup', () => {
    class CountingStore extends MemoryStore {
      lookups = 0;
      override getSync(key: string): CacheEntry | undefined {
        this.lookups++;
        return super.getSync(key);
      }
    }
    const cache = new CountingStore();
    const engine = createEngine({ cache });
    const values = new Subject<number>();
    const lookupsOf = (subscribe: () => void) => {
      const before = cache.lookups;
      subscribe();
      return cache.lookups - before;
    };
    // A Subscriber goes through RxJS and the engine's subscription path only.
    const viaSubscriber = (key: string) =>
      lookupsOf(() => {
        engine.run(key, () => values).subscribe(new Subscriber<number>());
      });
    const viaObserver = (key: string) =>
      lookupsOf(() => {
        engine.run(key, () => values).subscribe(() => {});
      });
    const miss = viaSubscriber('a');
    expect(miss).toBeGreaterThan(0);
    expect(viaObserver('b')).toBe(miss);
    const join = viaSubscriber('a');
    expect(viaObserver('b')).toBe(join);
    values.next(7);
    values.complete();
    // A hit: one lookup either way.
    expect([viaSubscriber('a'), viaObserver('b')]).toEqual([1, 1]);
    expect(engine.inFlight).toBe(0);
  });
});
