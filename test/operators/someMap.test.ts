import { AbortError, createExecutor, type ShortCircuitEvent } from 'eed';
import { someMap } from 'eed/operators';
import {
  EMPTY,
  EmptyError,
  firstValueFrom,
  from,
  NEVER,
  type Observable,
  of,
  range,
  Subject,
  throwError,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it, vi } from 'vitest';
import { deferred } from '../executor/helpers.js';
import { checkBooleanShortCircuitLaw } from './shortCircuitLaws.js';

const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('someMap: basics', () => {
  it('is Array#some over async predicates', async () => {
    expect(await firstValueFrom(from([1, 2, 3]).pipe(someMap(async (x) => x > 2)))).toBe(true);
    expect(await firstValueFrom(from([1, 2, 3]).pipe(someMap(async (x) => x > 3)))).toBe(false);
    expect(await firstValueFrom(EMPTY.pipe(someMap(async () => true)))).toBe(false);
    expect(await firstValueFrom(from([0, 1]).pipe(someMap((x) => of(x === 1))))).toBe(true);
  });

  it('answers true at the first true: aborts the running, never starts the waiting', async () => {
    const source = new Subject<number>();
    const runs = [0, 1, 2, 3].map(() => deferred<boolean>());
    const signals: AbortSignal[] = [];
    const predicate = vi.fn((x: number, _i: number, signal: AbortSignal) => {
      signals[x] = signal;
      return (runs[x] as ReturnType<typeof deferred<boolean>>).promise;
    });
    const values: boolean[] = [];
    let completed = false;
    source.pipe(someMap(predicate, { concurrency: 2 })).subscribe({
      next: (v) => {
        values.push(v);
        // The others are already aborted when the answer arrives.
        expect(signals[0]?.aborted).toBe(true);
      },
      complete: () => {
        completed = true;
      },
    });
    for (let i = 0; i < 4; i++) source.next(i);
    runs[1]?.resolve(true);
    await flush();
    expect(values).toEqual([true]);
    expect(completed).toBe(true);
    expect(signals[0]?.reason).toBeInstanceOf(AbortError);
    expect(signals[1]?.aborted).toBe(false);
    expect(predicate).toHaveBeenCalledTimes(2);
    expect(source.observed).toBe(false);
  });

  it('waits for every predicate before answering false', async () => {
    const runs = [0, 1, 2].map(() => deferred<boolean>());
    const values: boolean[] = [];
    from([0, 1, 2])
      .pipe(someMap((x) => (runs[x] as ReturnType<typeof deferred<boolean>>).promise))
      .subscribe((v) => values.push(v));
    runs[0]?.resolve(false);
    runs[2]?.resolve(false);
    await flush();
    expect(values).toEqual([]);
    runs[1]?.resolve(false);
    await flush();
    expect(values).toEqual([false]);
  });

  it('counts the first value only, by truthiness', async () => {
    const truthy = (x: number) => of(x, 0) as unknown as Observable<boolean>;
    expect(await firstValueFrom(from([0, 3]).pipe(someMap(truthy)))).toBe(true);
  });

  it('a failing predicate errors the output after aborting the others', async () => {
    const source = new Subject<number>();
    const signals: AbortSignal[] = [];
    const boom = new Error('boom');
    let error: unknown;
    source
      .pipe(
        someMap((x, _i, signal) => {
          signals.push(signal);
          return x === 1 ? throwError(() => boom) : NEVER;
        }),
      )
      .subscribe({
        error: (e: unknown) => {
          error = e;
          expect(signals[0]?.aborted).toBe(true);
        },
      });
    source.next(0);
    source.next(1);
    expect(error).toBe(boom);
    expect(source.observed).toBe(false);
  });

  it('a predicate that completes without a value errors with EmptyError', async () => {
    await expect(firstValueFrom(of(1).pipe(someMap(() => EMPTY)))).rejects.toBeInstanceOf(
      EmptyError,
    );
  });

  it('reports the work it saved', async () => {
    const events: ShortCircuitEvent[] = [];
    const executor = createExecutor({ concurrency: 2 });
    const runs = [0, 1, 2, 3, 4].map(() => deferred<boolean>());
    const answer = firstValueFrom(
      range(0, 5).pipe(
        someMap((x) => (runs[x] as ReturnType<typeof deferred<boolean>>).promise, {
          executor,
          label: 'checks',
          events: { next: (e) => events.push(e) },
        }),
      ),
    );
    runs[0]?.resolve(true);
    expect(await answer).toBe(true);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'short-circuit',
        operator: 'someMap',
        label: 'checks',
        aborted: 1,
        skipped: 3,
      }),
    ]);
    expect(executor.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('validates its arguments at construction', () => {
    expect(() => someMap(undefined as never)).toThrow(
      'someMap: predicate must be a function; received undefined',
    );
    expect(() => someMap(() => of(true), { concurrency: 1.5 })).toThrow(
      /someMap: concurrency must be an integer >= 1.*received 1.5/,
    );
    expect(() => someMap(() => of(true), { label: 5 as never })).toThrow(
      'someMap: label must be a string; received 5',
    );
    expect(() => someMap(() => of(true), { executor: null as never })).toThrow(
      'someMap: executor must be an Executor (see createExecutor); received null',
    );
    expect(() => someMap(() => of(true), { label: 'checks' })).not.toThrow();
  });
});

describe('someMap: marbles', () => {
  const testScheduler = () =>
    new TestScheduler((actual, expected) => {
      expect(actual).toEqual(expected);
    });

  it('emits true at the first true, unsubscribing the source and every other predicate', () => {
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot<'a' | 'b' | 'c' | 'd'>('-a-b-c--d|');
      const inners = {
        a: cold('-------f|', { f: false }),
        b: cold('-f|', { f: false }),
        c: cold('--t|', { t: true }),
        d: cold('t|', { t: true }),
      };
      const result = source.pipe(someMap((v: 'a' | 'b' | 'c' | 'd') => inners[v]));
      expectObservable(result).toBe('-------(t|)', { t: true });
      expectSubscriptions(source.subscriptions).toBe('^------!');
      expectSubscriptions(inners.a.subscriptions).toBe('-^-----!');
      expectSubscriptions(inners.b.subscriptions).toBe('---^!');
      expectSubscriptions(inners.c.subscriptions).toBe('-----^-!');
      expectSubscriptions(inners.d.subscriptions).toBe([]);
    });
  });

  it('emits false when the source completes and every predicate said false', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold<'a' | 'b'>('ab|');
      const inners = { a: cold('---f|', { f: false }), b: cold('-f|', { f: false }) };
      expectObservable(source.pipe(someMap((v: 'a' | 'b') => inners[v]))).toBe('---(f|)', {
        f: false,
      });
    });
  });

  it('with concurrency 1 starts the next predicate only when the last one answered', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<'a' | 'b' | 'c'>('(abc|)');
      const inners = {
        a: cold('--f', { f: false }),
        b: cold('--t', { t: true }),
        c: cold('t', { t: true }),
      };
      const result = source.pipe(someMap((v: 'a' | 'b' | 'c') => inners[v], { concurrency: 1 }));
      expectObservable(result).toBe('----(t|)', { t: true });
      expectSubscriptions(inners.a.subscriptions).toBe('^-!');
      expectSubscriptions(inners.b.subscriptions).toBe('--^-!');
      expectSubscriptions(inners.c.subscriptions).toBe([]);
    });
  });
});

describe('someMap: properties', () => {
  it('answers like Array#some; nothing starts after the answer; running signals are aborted', async () => {
    await checkBooleanShortCircuitLaw({ operator: someMap, decisive: true });
  });
});
