import { AbortError, AllFailedError, createExecutor, type ShortCircuitEvent } from 'eed';
import { firstSuccess } from 'eed/operators';
import fc from 'fast-check';
import {
  concatMap,
  EMPTY,
  EmptyError,
  firstValueFrom,
  from,
  NEVER,
  Observable,
  of,
  range,
  Subject,
  tap,
  throwError,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it, vi } from 'vitest';
import { deferred } from '../executor/helpers.js';

/** Subscribes and records the outcome. */
function observe<T>(source: Observable<T>) {
  const result = {
    values: [] as T[],
    error: undefined as unknown,
    errored: false,
    completed: false,
  };
  const subscription = source.subscribe({
    next: (value) => result.values.push(value),
    error: (error: unknown) => {
      result.error = error;
      result.errored = true;
    },
    complete: () => {
      result.completed = true;
    },
  });
  return { result, subscription };
}

const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('firstSuccess: basics', () => {
  it('emits the first success, completes, aborts the running rest and never starts the queued', async () => {
    const source = new Subject<number>();
    const runs = [0, 1, 2, 3, 4].map(() => deferred<string>());
    const signals: AbortSignal[] = [];
    const project = vi.fn((x: number, _i: number, signal: AbortSignal) => {
      signals[x] = signal;
      return (runs[x] as ReturnType<typeof deferred<string>>).promise;
    });
    const { result } = observe(source.pipe(firstSuccess(project, { concurrency: 3 })));
    for (let i = 0; i < 5; i++) source.next(i);
    expect(project).toHaveBeenCalledTimes(3);
    runs[1]?.resolve('one');
    await flush();
    expect(result.values).toEqual(['one']);
    expect(result.completed).toBe(true);
    expect(signals.map((s) => s.aborted)).toEqual([true, false, true]);
    expect(signals[0]?.reason).toBeInstanceOf(AbortError);
    expect(project).toHaveBeenCalledTimes(3);
    expect(source.observed).toBe(false);
  });

  it('a failure only rules its alternative out and frees its slot for the next', async () => {
    const runs = [0, 1, 2].map(() => deferred<string>());
    const project = vi.fn((x: number) => (runs[x] as ReturnType<typeof deferred<string>>).promise);
    const { result } = observe(from([0, 1, 2]).pipe(firstSuccess(project, { concurrency: 1 })));
    expect(project).toHaveBeenCalledTimes(1);
    runs[0]?.reject(new Error('zero'));
    await flush();
    expect(project).toHaveBeenCalledTimes(2);
    expect(result.errored).toBe(false);
    runs[1]?.resolve('one');
    await flush();
    expect(result.values).toEqual(['one']);
    expect(result.completed).toBe(true);
    expect(project).toHaveBeenCalledTimes(2);
  });

  it('all failing: an AggregateError of every cause in input order', async () => {
    const errors = [new Error('a'), new Error('b'), new Error('c')];
    const delays = [30, 10, 20];
    const error = await firstValueFrom(
      from([0, 1, 2]).pipe(
        firstSuccess(
          (x) =>
            new Promise<never>((_, reject) =>
              setTimeout(() => reject(errors[x]), delays[x] as number),
            ),
          { concurrency: 3 },
        ),
      ),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AggregateError);
    expect(error).toBeInstanceOf(AllFailedError);
    expect(error).toMatchObject({ name: 'AllFailedError', operator: 'firstSuccess' });
    expect((error as AggregateError).errors).toEqual(errors);
    expect((error as AggregateError).message).toBe('firstSuccess: all 3 alternatives failed');
  });

  it('an empty source errors with an AggregateError without causes', async () => {
    const error = await firstValueFrom(EMPTY.pipe(firstSuccess(() => of(1)))).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as AggregateError).errors).toEqual([]);
    expect((error as AggregateError).message).toMatch(/no alternatives/);
  });

  it('counts a throw, an error and an empty completion as failures', async () => {
    const boom = new Error('thrown');
    const error = await firstValueFrom(
      from([0, 1, 2]).pipe(
        firstSuccess((x): Observable<number> => {
          if (x === 0) throw boom;
          if (x === 1) return throwError(() => new Error('errored'));
          return EMPTY;
        }),
      ),
    ).catch((e: unknown) => e);
    const causes = (error as AggregateError).errors;
    expect(causes[0]).toBe(boom);
    expect((causes[1] as Error).message).toBe('errored');
    expect(causes[2]).toBeInstanceOf(EmptyError);
  });

  it('takes only the first value of an Observable alternative and does not abort the winner', () => {
    let signal: AbortSignal | undefined;
    let tornDown = false;
    const { result } = observe(
      of('x').pipe(
        firstSuccess((_x, _i, s) => {
          signal = s;
          return new Observable<number>((subscriber) => {
            subscriber.next(1);
            subscriber.next(2);
            return () => {
              tornDown = true;
            };
          });
        }),
      ),
    );
    expect(result.values).toEqual([1]);
    expect(result.completed).toBe(true);
    expect(tornDown).toBe(true);
    expect(signal?.aborted).toBe(false);
  });

  it('stops a synchronous endless source at the first success', () => {
    function* naturals() {
      for (let i = 0; ; i++) yield i;
    }
    const project = vi.fn((x: number) => (x < 3 ? throwError(() => new Error(`${x}`)) : of(x)));
    const { result } = observe(from(naturals()).pipe(firstSuccess(project, { concurrency: 2 })));
    expect(result.values).toEqual([3]);
    expect(project).toHaveBeenCalledTimes(4);
  });

  it('forwards a source error and aborts the running alternatives', () => {
    const source = new Subject<number>();
    const signals: AbortSignal[] = [];
    const { result } = observe(
      source.pipe(
        firstSuccess((_x, _i, signal) => {
          signals.push(signal);
          return NEVER;
        }),
      ),
    );
    source.next(1);
    source.next(2);
    const boom = new Error('source');
    source.error(boom);
    expect(result.error).toBe(boom);
    expect(signals.map((s) => s.aborted)).toEqual([true, true]);
  });

  it('unsubscribing aborts the running alternatives and reports no short-circuit', () => {
    const events: ShortCircuitEvent[] = [];
    const signals: AbortSignal[] = [];
    const { subscription } = observe(
      range(0, 4).pipe(
        firstSuccess(
          (_x, _i, signal) => {
            signals.push(signal);
            return NEVER;
          },
          { concurrency: 2, events: { next: (e) => events.push(e) } },
        ),
      ),
    );
    subscription.unsubscribe();
    expect(signals.map((s) => s.aborted)).toEqual([true, true]);
    expect(events).toEqual([]);
  });

  it('reports the work it saved as a short-circuit event', async () => {
    const events: ShortCircuitEvent[] = [];
    const runs = [0, 1, 2, 3, 4, 5].map(() => deferred<number>());
    const { result } = observe(
      range(0, 6).pipe(
        firstSuccess((x) => (runs[x] as ReturnType<typeof deferred<number>>).promise, {
          concurrency: 3,
          label: 'mirrors',
          events: { next: (e) => events.push(e) },
          clock: { now: () => 42 },
        }),
      ),
    );
    runs[2]?.resolve(2);
    await flush();
    expect(result.values).toEqual([2]);
    expect(events).toEqual([
      {
        type: 'short-circuit',
        time: 42,
        label: 'mirrors',
        operator: 'firstSuccess',
        aborted: 2,
        skipped: 3,
      },
    ]);
  });

  it('on a shared executor, alternatives queued there count as skipped and never start', async () => {
    const executor = createExecutor({ concurrency: 1 });
    const blocker = deferred<void>();
    executor.schedule(() => blocker.promise).subscribe();
    const events: ShortCircuitEvent[] = [];
    const project = vi.fn((x: number) => Promise.resolve(x));
    const { result } = observe(
      range(0, 3).pipe(
        firstSuccess(project, {
          executor,
          concurrency: 3,
          events: { next: (e) => events.push(e) },
        }),
      ),
    );
    expect(executor.stats().queued).toBe(3);
    blocker.resolve();
    await flush();
    expect(result.values).toEqual([0]);
    expect(project).toHaveBeenCalledTimes(1);
    expect(events[0]).toMatchObject({ aborted: 0, skipped: 2 });
    expect(executor.stats()).toMatchObject({ running: 0, queued: 0 });
  });
  it('aborting a running alternative frees a slot that no queued alternative of its own takes', async () => {
    const executor = createExecutor({ concurrency: 2 });
    const runs = [0, 1, 2].map(() => deferred<number>());
    const project = vi.fn((x: number) => (runs[x] as ReturnType<typeof deferred<number>>).promise);
    const { result } = observe(
      range(0, 3).pipe(firstSuccess(project, { executor, concurrency: 3 })),
    );
    expect(project).toHaveBeenCalledTimes(2);
    runs[1]?.resolve(1);
    await flush();
    expect(result.values).toEqual([1]);
    expect(project).toHaveBeenCalledTimes(2);
    expect(executor.stats()).toMatchObject({ running: 0, queued: 0 });
  });
});

describe('firstSuccess: validation', () => {
  it('names the option and the value', () => {
    expect(() => firstSuccess('nope' as never)).toThrow(
      'firstSuccess: project must be a function; received "nope"',
    );
    expect(() => firstSuccess(() => of(1), { concurrency: 0 })).toThrow(
      /firstSuccess: concurrency must be an integer >= 1.*received 0/,
    );
    expect(() => firstSuccess(() => of(1), { priority: 'urgent' as never })).toThrow(
      /firstSuccess: priority must be one of .*received "urgent"/,
    );
    expect(() => firstSuccess(() => of(1), { executor: {} as never })).toThrow(TypeError);
    expect(() => firstSuccess(() => of(1), { executor: 5 as never })).toThrow(
      'firstSuccess: executor must be an Executor (see createExecutor); received 5',
    );
    expect(() => firstSuccess(() => of(1), { label: 5 as never })).toThrow(
      'firstSuccess: label must be a string; received 5',
    );
    expect(() => firstSuccess(() => of(1), { events: {} as never })).toThrow(
      'firstSuccess: events must have a next(event) method (a Subject, say); received an object',
    );
    expect(() => firstSuccess(() => of(1), { clock: 5 as never })).toThrow(
      'firstSuccess: clock must have a now() method; received 5',
    );
  });
});

describe('firstSuccess: marbles', () => {
  const testScheduler = () =>
    new TestScheduler((actual, expected) => {
      expect(actual).toEqual(expected);
    });

  it('the first value wins: the source and the other inners are unsubscribed at that frame', () => {
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot<'a' | 'b' | 'c' | 'd'>('-a-b-c-d-|');
      const inners = {
        a: cold<string>('---------x|'),
        b: cold<string>('--#'),
        c: cold<string>('---y-z|'),
        d: cold<string>('-w|'),
      };
      const result = source.pipe(
        firstSuccess((v: 'a' | 'b' | 'c' | 'd') => inners[v], { concurrency: 2 }),
      );
      // b fails at 5 and frees its slot for c, whose first value (8) wins.
      expectObservable(result).toBe('--------(y|)');
      expectSubscriptions(source.subscriptions).toBe('^-------!');
      expectSubscriptions(inners.a.subscriptions).toBe('-^------!');
      expectSubscriptions(inners.b.subscriptions).toBe('---^-!');
      expectSubscriptions(inners.c.subscriptions).toBe('-----^--!');
      // d arrived at 7 with both slots taken: it never starts.
      expectSubscriptions(inners.d.subscriptions).toBe([]);
    });
  });

  it('errors with the causes in input order once all failed', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold<'a' | 'b'>('ab|');
      const inners = { a: cold<string>('----#', {}, 'A'), b: cold<string>('-#', {}, 'B') };
      const result = source.pipe(firstSuccess((v: 'a' | 'b') => inners[v]));
      expectObservable(result).toBe(
        '----#',
        undefined,
        new AllFailedError('firstSuccess', ['A', 'B'], 'firstSuccess: all 2 alternatives failed'),
      );
    });
  });

  it('a source that never completes keeps the output open after every failure', () => {
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot<'a'>('-a---');
      const inner = cold<string>('-#');
      expectObservable(source.pipe(firstSuccess(() => inner)), '^---!').toBe('');
      expectSubscriptions(inner.subscriptions).toBe('-^!');
    });
  });
});

type Outcome = 'ok' | 'fail';

describe('firstSuccess: properties', () => {
  it('no work starts after the answer; running signals are aborted; failures aggregate in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.constantFrom<Outcome>('ok', 'fail'), { maxLength: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.option(fc.integer({ min: 1, max: 3 })),
        async (s, outcomes, concurrency, asyncSource, shared) => {
          // A shared executor smaller than the cap queues alternatives in its lanes.
          const executor = shared === null ? undefined : createExecutor({ concurrency: shared });
          const errors = outcomes.map((_, i) => new Error(`cause ${i}`));
          const calls: { index: number; signal: AbortSignal; settled: boolean }[] = [];
          const log: string[] = [];
          const events: ShortCircuitEvent[] = [];
          let active = 0;
          let maxActive = 0;
          let received = 0;
          const seen: {
            atAnswer?: { running: number; unsettledAborted: boolean; skipped: number };
          } = {};
          const project = (x: number, index: number, signal: AbortSignal) => {
            log.push(`start ${index}`);
            const call = { index, signal, settled: false };
            calls.push(call);
            active++;
            maxActive = Math.max(maxActive, active);
            return s.schedule(Promise.resolve(), `alternative ${index}`).then(() => {
              call.settled = true;
              active--;
              if (outcomes[x] === 'ok') return x;
              throw errors[x];
            });
          };
          const source = (
            asyncSource
              ? from(outcomes.map((_, i) => i)).pipe(
                  concatMap((i) => s.schedule(Promise.resolve(i), `source ${i}`)),
                )
              : from(outcomes.map((_, i) => i))
          ).pipe(tap(() => received++));
          const ended = new Promise<{ value?: number; error?: unknown }>((resolve) => {
            let value: number | undefined;
            source
              .pipe(
                firstSuccess(project, {
                  concurrency,
                  executor,
                  events: { next: (e) => events.push(e) },
                }),
              )
              .subscribe({
                next: (v) => {
                  value = v;
                  log.push('answer');
                  const others = calls.filter((c) => c.index !== v && !c.settled);
                  seen.atAnswer = {
                    running: others.length,
                    unsettledAborted: others.every((c) => c.signal.aborted),
                    skipped: received - calls.length,
                  };
                },
                error: (error: unknown) => resolve({ error }),
                complete: () => resolve({ value }),
              });
          });
          const outcome = await s.waitFor(ended);
          await s.waitIdle();
          expect(maxActive).toBeLessThanOrEqual(concurrency);
          if (outcomes.includes('ok')) {
            const winner = outcome.value as number;
            expect(outcomes[winner]).toBe('ok');
            // Nothing started after the answer was known...
            expect(log.indexOf('answer')).toBe(log.length - 1);
            const snapshot = seen.atAnswer;
            if (snapshot === undefined) throw new Error('no answer was seen');
            // ...every running alternative was aborted before it was emitted...
            expect(snapshot.unsettledAborted).toBe(true);
            // ...the winner was not, and the event counts what was dropped.
            expect(calls.find((c) => c.index === winner)?.signal.aborted).toBe(false);
            // (A settled promise not yet delivered to the operator is still running to it.)
            if (events.length === 0) {
              expect(snapshot.running + snapshot.skipped).toBe(0);
            } else {
              expect(events).toHaveLength(1);
              const [event] = events as [ShortCircuitEvent];
              expect(event.skipped).toBe(snapshot.skipped);
              expect(event.aborted).toBeGreaterThanOrEqual(snapshot.running);
              expect(event.aborted).toBeLessThanOrEqual(calls.length - 1);
              expect(event.aborted + event.skipped).toBeGreaterThan(0);
            }
          } else {
            expect(outcome.error).toBeInstanceOf(AggregateError);
            expect((outcome.error as AggregateError).errors).toEqual(errors);
            expect(calls).toHaveLength(outcomes.length);
            expect(events).toEqual([]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
