import { type CacheEntry, createEngine, MemoryStore, TieredCache } from 'eed';
import { config, Subject, Subscriber, Subscription, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** A batch function whose calls are answered by hand. */
function manualBatches() {
  const calls: { keys: string[]; answer: Subject<(string | Error)[]> }[] = [];
  const loadBatch = (keys: string[]) => {
    const answer = new Subject<(string | Error)[]>();
    calls.push({ keys: [...keys], answer });
    return answer;
  };
  const answer = (index: number, result?: (string | Error)[]) => {
    const call = calls[index];
    if (call === undefined) throw new Error(`no batch ${index}`);
    call.answer.next(result ?? call.keys.map((key) => `v${key}`));
    call.answer.complete();
  };
  return { calls, loadBatch, answer };
}

describe('load(key).subscribe with a plain observer (one subscriber object, as RxJS semantics)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    config.onUnhandledError = null;
    vi.useRealTimers();
  });

  it('delivers to an observer object, a next function, or nothing, and returns a Subscription', async () => {
    const engine = createEngine();
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch);
    const seen: string[] = [];
    const a = load('a').subscribe({
      next: (v) => seen.push(`o:${v}`),
      complete: () => seen.push('o:end'),
    });
    const b = load('b').subscribe((v) => seen.push(`f:${v}`));
    const c = load('c').subscribe();
    expect(a).toBeInstanceOf(Subscription);
    expect(b).toBeInstanceOf(Subscription);
    await vi.advanceTimersByTimeAsync(0);
    batches.answer(0);
    expect(seen).toEqual(['o:va', 'o:end', 'f:vb']);
    expect([a.closed, b.closed, c.closed]).toEqual([true, true, true]);
    expect(engine.inFlight).toBe(0);
  });

  it('a throwing observer is reported as unhandled and does not disturb other keys', async () => {
    const unhandled: unknown[] = [];
    config.onUnhandledError = (error) => unhandled.push(error);
    const engine = createEngine();
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch);
    const boom = new Error('consumer bug');
    const other: string[] = [];
    load('a').subscribe({
      next: () => {
        throw boom;
      },
    });
    load('b').subscribe({ next: (v) => other.push(v), complete: () => other.push('end') });
    await vi.advanceTimersByTimeAsync(0);
    batches.answer(0);
    expect(other).toEqual(['vb', 'end']);
    expect(unhandled).toEqual([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(unhandled).toEqual([boom]);
    expect(engine.inFlight).toBe(0);
  });

  it('an error with no error callback is reported as unhandled', async () => {
    const unhandled: unknown[] = [];
    config.onUnhandledError = (error) => unhandled.push(error);
    const engine = createEngine();
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch);
    const failure = new Error('no such key');
    const sub = load('a').subscribe({ next: () => {} });
    await vi.advanceTimersByTimeAsync(0);
    batches.answer(0, [failure]);
    expect(sub.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(unhandled).toEqual([failure]);
  });

  it('unsubscribing (directly or through a parent Subscription) cancels the key', async () => {
    const engine = createEngine();
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch);
    const parent = new Subscription();
    parent.add(load('a').subscribe({ next: () => {} }));
    const b = load('b').subscribe({ next: () => {} });
    const kept: string[] = [];
    load('c').subscribe({ next: (v) => kept.push(v) });
    parent.unsubscribe();
    b.unsubscribe();
    b.unsubscribe(); // twice is harmless
    await vi.advanceTimersByTimeAsync(0);
    expect(batches.calls.map((call) => call.keys)).toEqual([['c']]);
    batches.answer(0);
    expect(kept).toEqual(['vc']);
    expect(engine.inFlight).toBe(0);
    expect(engine.metrics()).toMatchObject({ cancellations: 2 });
  });

  it('a cache hit completes synchronously; a Subscriber (operators) is used as is', async () => {
    const store = new MemoryStore();
    const engine = createEngine({ cache: store });
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch);
    const piped: string[][] = [];
    load('a')
      .pipe(toArray())
      .subscribe((values) => piped.push(values));
    await vi.advanceTimersByTimeAsync(0);
    batches.answer(0);
    expect(piped).toEqual([['va']]);
    const seen: string[] = [];
    const hit = load('a').subscribe({
      next: (v) => seen.push(v),
      complete: () => seen.push('end'),
    });
    expect(seen).toEqual(['va', 'end']);
    expect(hit.closed).toBe(true);
    expect(batches.calls).toHaveLength(1);
  });

  it('with RxJS deprecated modes on, subscribes the standard way', async () => {
    config.useDeprecatedSynchronousErrorHandling = true;
    try {
      const engine = createEngine();
      const batches = manualBatches();
      const load = engine.loader(batches.loadBatch);
      const seen: string[] = [];
      load('a').subscribe({ next: (v) => seen.push(v) });
      await vi.advanceTimersByTimeAsync(0);
      batches.answer(0);
      expect(seen).toEqual(['va']);
    } finally {
      config.useDeprecatedSynchronousErrorHandling = false;
    }
  });
  it('a cached key is served at once, to a closed subscription, and counted as a hit', async () => {
    const engine = createEngine();
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch);
    load('a').subscribe();
    await vi.advanceTimersByTimeAsync(0);
    batches.answer(0, ['va']);
    const seen: string[] = [];
    const hit = load('a').subscribe({
      next: (v) => seen.push(v),
      complete: () => seen.push('end'),
    });
    expect(seen).toEqual(['va', 'end']);
    expect(hit).toBe(Subscription.EMPTY);
    const metrics = engine.metrics();
    expect([metrics.requests, metrics.cacheHits, metrics.cacheMisses]).toEqual([2, 1, 1]);
    // Over a cache that is no MemoryStore, the same.
    const tiered = createEngine({
      cache: new TieredCache({ tiers: [{ store: new MemoryStore() }] }),
    });
    const other = manualBatches();
    const loadOther = tiered.loader(other.loadBatch);
    loadOther('b').subscribe();
    await vi.advanceTimersByTimeAsync(0);
    other.answer(0, ['vb']);
    await vi.advanceTimersByTimeAsync(0);
    expect(loadOther('b').subscribe((v) => seen.push(v))).toBe(Subscription.EMPTY);
    expect(seen.at(-1)).toBe('vb');
  });

  it('trying the hit first costs a new key or a key in flight no second lookup', async () => {
    class CountingStore extends MemoryStore {
      lookups = 0;
      override entryOrReservation(key: string): CacheEntry | object | undefined {
        this.lookups++;
        return super.entryOrReservation(key);
      }
    }
    const cache = new CountingStore();
    const engine = createEngine({ cache });
    const batches = manualBatches();
    const load = engine.loader(batches.loadBatch);
    const lookupsOf = (subscribe: () => void) => {
      const before = cache.lookups;
      subscribe();
      return cache.lookups - before;
    };
    const seen: string[] = [];
    // A Subscriber goes through RxJS and the engine's subscription path only.
    const viaSubscriber = (key: string) =>
      lookupsOf(() => {
        load(key).subscribe(
          new Subscriber<string>({
            next: (v) => seen.push(v),
            error: () => {},
            complete: () => {},
          }),
        );
      });
    const viaObserver = (key: string) =>
      lookupsOf(() => {
        load(key).subscribe((v) => seen.push(v));
      });
    expect([viaSubscriber('a'), viaObserver('b')]).toEqual([1, 1]); // new keys
    expect([viaSubscriber('a'), viaObserver('b')]).toEqual([1, 1]); // keys in flight
    await vi.advanceTimersByTimeAsync(0);
    batches.answer(0);
    expect([viaSubscriber('a'), viaObserver('b')]).toEqual([1, 1]); // hits
    expect(seen).toEqual(['va', 'va', 'vb', 'vb', 'va', 'vb']);
    expect([engine.inFlight, cache.reserved]).toEqual([0, 0]);
  });
});
