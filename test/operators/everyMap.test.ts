import { AbortError, type ShortCircuitEvent } from 'eed';
import { everyMap } from 'eed/operators';
import { EMPTY, EmptyError, firstValueFrom, from, NEVER, of, Subject, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it, vi } from 'vitest';
import { deferred } from '../executor/helpers.js';
import { checkBooleanShortCircuitLaw } from './shortCircuitLaws.js';

const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('everyMap: basics', () => {
  it('is Array#every over async predicates', async () => {
    expect(await firstValueFrom(from([1, 2, 3]).pipe(everyMap(async (x) => x > 0)))).toBe(true);
    expect(await firstValueFrom(from([1, 2, 3]).pipe(everyMap(async (x) => x < 3)))).toBe(false);
    expect(await firstValueFrom(EMPTY.pipe(everyMap(async () => false)))).toBe(true);
  });

  it('answers false at the first false: aborts the running, never starts the waiting', async () => {
    const source = new Subject<number>();
    const runs = [0, 1, 2, 3, 4].map(() => deferred<boolean>());
    const signals: AbortSignal[] = [];
    const events: ShortCircuitEvent[] = [];
    const predicate = vi.fn((x: number, _i: number, signal: AbortSignal) => {
      signals[x] = signal;
      return (runs[x] as ReturnType<typeof deferred<boolean>>).promise;
    });
    const values: boolean[] = [];
    source
      .pipe(everyMap(predicate, { concurrency: 3, events: { next: (e) => events.push(e) } }))
      .subscribe((v) => {
        values.push(v);
        expect(signals.filter((s, i) => i !== 2 && s.aborted)).toHaveLength(2);
      });
    for (let i = 0; i < 5; i++) source.next(i);
    runs[2]?.resolve(false);
    await flush();
    expect(values).toEqual([false]);
    expect(signals[0]?.reason).toBeInstanceOf(AbortError);
    expect(signals[2]?.aborted).toBe(false);
    expect(predicate).toHaveBeenCalledTimes(3);
    expect(source.observed).toBe(false);
    expect(events).toEqual([
      expect.objectContaining({ operator: 'everyMap', aborted: 2, skipped: 2 }),
    ]);
  });

  it('a true from every predicate answers true once the source completes', async () => {
    const source = new Subject<number>();
    const values: boolean[] = [];
    source.pipe(everyMap(async () => true)).subscribe((v) => values.push(v));
    source.next(1);
    source.next(2);
    await flush();
    expect(values).toEqual([]);
    source.complete();
    expect(values).toEqual([true]);
  });

  it('a failing predicate errors the output after aborting the others', () => {
    const signals: AbortSignal[] = [];
    const boom = new Error('boom');
    let error: unknown;
    from([0, 1])
      .pipe(
        everyMap((x, _i, signal) => {
          signals.push(signal);
          return x === 1 ? throwError(() => boom) : NEVER;
        }),
      )
      .subscribe({ error: (e: unknown) => (error = e) });
    expect(error).toBe(boom);
    expect(signals[0]?.aborted).toBe(true);
  });

  it('a predicate that completes without a value errors with EmptyError', async () => {
    await expect(firstValueFrom(of(1).pipe(everyMap(() => EMPTY)))).rejects.toBeInstanceOf(
      EmptyError,
    );
  });

  it('validates its arguments at construction', () => {
    expect(() => everyMap(42 as never)).toThrow(
      'everyMap: predicate must be a function; received 42',
    );
    expect(() => everyMap(() => of(true), { concurrency: -1 })).toThrow(
      /everyMap: concurrency must be an integer >= 1.*received -1/,
    );
    expect(() => everyMap(() => of(true), { label: [] as never })).toThrow(
      'everyMap: label must be a string; received an array',
    );
    expect(() => everyMap(() => of(true), { executor: 5 as never })).toThrow(
      'everyMap: executor must be an Executor (see createExecutor); received 5',
    );
  });
});

describe('everyMap: marbles', () => {
  const testScheduler = () =>
    new TestScheduler((actual, expected) => {
      expect(actual).toEqual(expected);
    });

  it('emits false at the first false, unsubscribing the source and every other predicate', () => {
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot<'a' | 'b' | 'c'>('-a-b-c-|');
      const inners = {
        a: cold('--------t|', { t: true }),
        b: cold('--f|', { f: false }),
        c: cold('-f|', { f: false }),
      };
      const result = source.pipe(everyMap((v: 'a' | 'b' | 'c') => inners[v], { concurrency: 2 }));
      expectObservable(result).toBe('-----(f|)', { f: false });
      expectSubscriptions(source.subscriptions).toBe('^----!');
      expectSubscriptions(inners.a.subscriptions).toBe('-^---!');
      expectSubscriptions(inners.b.subscriptions).toBe('---^-!');
      // c arrives at 5 with both slots taken; the answer comes at 5 too: c never starts.
      expectSubscriptions(inners.c.subscriptions).toBe([]);
    });
  });

  it('emits true once the source completed and every predicate said true', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold<'a' | 'b'>('a--b|');
      const inners = { a: cold('-t|', { t: true }), b: cold('--t|', { t: true }) };
      expectObservable(source.pipe(everyMap((v: 'a' | 'b') => inners[v]))).toBe('-----(t|)', {
        t: true,
      });
    });
  });
});

describe('everyMap: properties', () => {
  it('answers like Array#every; nothing starts after the answer; running signals are aborted', async () => {
    await checkBooleanShortCircuitLaw({ operator: everyMap, decisive: false });
  });
});
