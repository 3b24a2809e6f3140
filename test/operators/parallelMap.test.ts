import { AbortError, createExecutor, type ExecutionEvent, type Priority } from 'eed';
import { parallelMap } from 'eed/operators';
import fc from 'fast-check';
import {
  concat,
  concatMap,
  defer,
  finalize,
  from,
  lastValueFrom,
  map,
  mergeMap,
  NEVER,
  Observable,
  type ObservableInput,
  of,
  range,
  Subject,
  take,
  toArray,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it, vi } from 'vitest';

/** A total order on numbers: -0 before +0 (`a - b` alone ties them, and toEqual tells them apart). */
const byNumber = (a: number, b: number) =>
  a - b || Number(Object.is(b, -0)) - Number(Object.is(a, -0));

/** The values a test project produces for input `x` at `index` (the reference). */
const resultsFor = (x: number, index: number): number[] => [x * 10 + index, -x];

type Shape = 'promise' | 'observable' | 'array';

/**
 * Builds a project whose results come at moments the fast-check scheduler picks, and
 * that counts how many calls are in flight at once.
 */
function scheduledProject(s: fc.Scheduler, shape: Shape) {
  const stats = { active: 0, maxActive: 0, calls: 0 };
  const begin = () => {
    stats.calls++;
    stats.active++;
    stats.maxActive = Math.max(stats.maxActive, stats.active);
  };
  const project = (x: number, index: number): ObservableInput<number> => {
    begin();
    const [first, second] = resultsFor(x, index) as [number, number];
    switch (shape) {
      case 'promise':
        // One value per call: the reference for this shape is the first result only.
        return s.schedule(Promise.resolve(first), `p${index}`).finally(() => {
          stats.active--;
        });
      case 'observable':
        return concat(
          defer(() => s.schedule(Promise.resolve(first), `o${index}a`)),
          defer(() => s.schedule(Promise.resolve(second), `o${index}b`)),
        ).pipe(finalize(() => stats.active--));
      case 'array':
        stats.active--;
        return [first, second];
    }
  };
  const reference = (x: number, index: number): number[] =>
    shape === 'promise' ? [resultsFor(x, index)[0] as number] : resultsFor(x, index);
  return { project, reference, stats };
}

/** A source emitting `inputs`, synchronously or at moments the scheduler picks. */
const sourceOf = (s: fc.Scheduler, inputs: number[], async: boolean) =>
  async
    ? from(inputs).pipe(concatMap((x, i) => s.schedule(Promise.resolve(x), `source ${i}`)))
    : from(inputs);

const settings = fc.record({
  inputs: fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 25 }),
  concurrency: fc.integer({ min: 1, max: 5 }),
  shape: fc.constantFrom<Shape>('promise', 'observable', 'array'),
  asyncSource: fc.boolean(),
});

describe('parallelMap against mergeMap and concatMap', () => {
  it('emits the same multiset of results as mergeMap, never exceeding the cap', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        settings,
        async (s, { inputs, concurrency, shape, asyncSource }) => {
          const { project, reference, stats } = scheduledProject(s, shape);
          const result = lastValueFrom(
            sourceOf(s, inputs, asyncSource).pipe(parallelMap(project, { concurrency }), toArray()),
          );
          const got = await s.waitFor(result);
          const expected = await lastValueFrom(from(inputs).pipe(mergeMap(reference), toArray()));
          expect([...got].sort(byNumber)).toEqual([...expected].sort(byNumber));
          expect(stats.calls).toBe(inputs.length);
          expect(stats.maxActive).toBeLessThanOrEqual(concurrency);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('with ordered: true emits the same sequence as concatMap', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        settings,
        async (s, { inputs, concurrency, shape, asyncSource }) => {
          const { project, reference, stats } = scheduledProject(s, shape);
          const result = lastValueFrom(
            sourceOf(s, inputs, asyncSource).pipe(
              parallelMap(project, { concurrency, ordered: true }),
              toArray(),
            ),
          );
          const got = await s.waitFor(result);
          const expected = await lastValueFrom(from(inputs).pipe(concatMap(reference), toArray()));
          expect(got).toEqual(expected);
          expect(stats.maxActive).toBeLessThanOrEqual(concurrency);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('with ordered: true gates starts at `concurrency` waiting results and bounds what it holds', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 1, max: 4 }),
        async (s, n, concurrency) => {
          const finished = new Set<number>();
          const emitted = new Set<number>();
          let active = 0;
          let maxWaitingAtStart = 0;
          let maxHeldPlusActive = 0;
          // Finished but not emitted, not counting the next in order (emitted at once).
          const held = () =>
            [...finished].filter((i) => !emitted.has(i) && i !== emitted.size).length;
          const project = (x: number) =>
            new Observable<number>((subscriber) => {
              maxWaitingAtStart = Math.max(maxWaitingAtStart, held());
              active++;
              maxHeldPlusActive = Math.max(maxHeldPlusActive, held() + active);
              s.schedule(Promise.resolve(), `finish ${x}`).then(() => {
                finished.add(x);
                active--;
                maxHeldPlusActive = Math.max(maxHeldPlusActive, held() + active);
                subscriber.next(x);
                subscriber.complete();
              });
            });
          const result = lastValueFrom(
            range(0, n).pipe(
              parallelMap(project, { concurrency, ordered: true }),
              map((x) => {
                emitted.add(x);
                return x;
              }),
              toArray(),
            ),
          );
          expect(await s.waitFor(result)).toEqual([...Array(n).keys()]);
          // A task starts only while fewer than `concurrency` results wait...
          expect(maxWaitingAtStart).toBeLessThan(concurrency);
          // ...so waiting results plus running tasks never exceed 2 x concurrency - 1.
          expect(maxHeldPlusActive).toBeLessThanOrEqual(2 * concurrency - 1);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('parallelMap: early end (take)', () => {
  it('after take(n) starts no further project call and aborts every running one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 20 }).chain((m) =>
          fc.record({
            m: fc.constant(m),
            n: fc.integer({ min: 1, max: m }),
            concurrency: fc.integer({ min: 1, max: 5 }),
            ordered: fc.boolean(),
          }),
        ),
        async (s, { m, n, concurrency, ordered }) => {
          const calls: { signal: AbortSignal; delivered: boolean }[] = [];
          const project = (x: number, _i: number, signal: AbortSignal) => {
            const call = { signal, delivered: false };
            calls.push(call);
            return s.schedule(Promise.resolve(x), `run ${x}`).then((v) => {
              call.delivered = true;
              return v;
            });
          };
          const result = lastValueFrom(
            range(0, m).pipe(parallelMap(project, { concurrency, ordered }), take(n), toArray()),
          );
          const got = await s.waitFor(result);
          expect(got).toHaveLength(n);
          const callsAtEnd = calls.length;
          for (const call of calls) {
            if (!call.delivered) {
              expect(call.signal.aborted).toBe(true);
              expect(call.signal.reason).toBeInstanceOf(AbortError);
            }
          }
          await s.waitIdle();
          expect(calls.length).toBe(callsAtEnd);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('calls project no more often than mergeMap when a synchronous source meets take', () => {
    for (const concurrency of [1, 2, 10]) {
      const calls = { parallel: 0, merge: 0 };
      range(0, 1000)
        .pipe(
          parallelMap(
            (x) => {
              calls.parallel++;
              return [x];
            },
            { concurrency },
          ),
          take(2),
        )
        .subscribe();
      range(0, 1000)
        .pipe(
          mergeMap((x) => {
            calls.merge++;
            return [x];
          }, concurrency),
          take(2),
        )
        .subscribe();
      expect(calls.parallel).toBe(2);
      expect(calls.merge).toBe(2);
    }
  });

  it('stops an endless synchronous source once take is satisfied', async () => {
    function* naturals() {
      for (let i = 0; ; i++) yield i;
    }
    const values = await lastValueFrom(
      from(naturals()).pipe(
        parallelMap((x) => of(x), { concurrency: 3 }),
        take(5),
        toArray(),
      ),
    );
    expect(values).toEqual([0, 1, 2, 3, 4]);
  });

  it('frees the slot of a task whose first synchronous value satisfied take(1)', () => {
    const executor = createExecutor({ concurrency: 2 });
    const source = new Subject<number>();
    let signal: AbortSignal | undefined;
    let innerTornDown = false;
    const got: number[] = [];
    source
      .pipe(
        parallelMap(
          (x, _i, s) => {
            signal = s;
            return new Observable<number>((subscriber) => {
              subscriber.next(x);
              return () => {
                innerTornDown = true;
              };
            });
          },
          { executor },
        ),
        take(1),
      )
      .subscribe((v) => got.push(v));
    source.next(7);
    expect(got).toEqual([7]);
    expect(signal?.aborted).toBe(true);
    expect(innerTornDown).toBe(true);
    expect(source.observed).toBe(false);
    expect(executor.stats().running).toBe(0);
  });

  it('aborts running work and drops queued inputs on unsubscribe', () => {
    const source = new Subject<number>();
    const signals: AbortSignal[] = [];
    const project = vi.fn((_x: number, _i: number, signal: AbortSignal) => {
      signals.push(signal);
      return NEVER;
    });
    const subscription = source.pipe(parallelMap(project, { concurrency: 2 })).subscribe();
    for (let i = 0; i < 5; i++) source.next(i);
    expect(project).toHaveBeenCalledTimes(2);
    subscription.unsubscribe();
    expect(signals.map((s) => s.aborted)).toEqual([true, true]);
    expect(source.observed).toBe(false);
    expect(project).toHaveBeenCalledTimes(2);
  });
});

describe('parallelMap: errors', () => {
  it('tears everything down (queued dropped, running aborted) before forwarding the error', () => {
    const source = new Subject<number>();
    const inners = [0, 1, 2, 3].map(() => new Subject<number>());
    const signals: AbortSignal[] = [];
    const project = vi.fn((x: number, _i: number, signal: AbortSignal) => {
      signals.push(signal);
      return inners[x] as Subject<number>;
    });
    const boom = new Error('boom');
    let atError: { aborted: boolean[]; sourceObserved: boolean; innerObserved: boolean } | null =
      null;
    source.pipe(parallelMap(project, { concurrency: 2 })).subscribe({
      error: (error) => {
        expect(error).toBe(boom);
        atError = {
          aborted: signals.map((s) => s.aborted),
          sourceObserved: source.observed,
          innerObserved: (inners[0] as Subject<number>).observed,
        };
      },
    });
    for (let i = 0; i < 4; i++) source.next(i);
    (inners[1] as Subject<number>).error(boom);
    expect(atError).toEqual({
      aborted: [true, false],
      sourceObserved: false,
      innerObserved: false,
    });
    expect(signals[0]?.reason).toBeInstanceOf(AbortError);
    expect(project).toHaveBeenCalledTimes(2);
  });

  it('a source error aborts running work before it is forwarded', () => {
    const source = new Subject<number>();
    const signals: AbortSignal[] = [];
    let abortedAtError: boolean | undefined;
    source
      .pipe(
        parallelMap((_x, _i, signal) => {
          signals.push(signal);
          return NEVER;
        }),
      )
      .subscribe({ error: () => (abortedAtError = signals[0]?.aborted) });
    source.next(1);
    source.error(new Error('source'));
    expect(abortedAtError).toBe(true);
  });

  it('a synchronous throw in project is forwarded and stops the stream', async () => {
    const project = vi.fn((x: number) => {
      if (x === 2) throw new Error('two');
      return [x];
    });
    await expect(lastValueFrom(range(0, 10).pipe(parallelMap(project)))).rejects.toThrow('two');
    expect(project).toHaveBeenCalledTimes(3);
  });

  it('after any failure no project call starts and every running signal is aborted', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 15 }).chain((m) =>
          fc.record({
            m: fc.constant(m),
            failing: fc.integer({ min: 0, max: m - 1 }),
            concurrency: fc.integer({ min: 1, max: 4 }),
          }),
        ),
        async (s, { m, failing, concurrency }) => {
          const calls: { signal: AbortSignal; settled: boolean }[] = [];
          const boom = new Error('boom');
          const project = (x: number, _i: number, signal: AbortSignal) => {
            const call = { signal, settled: false };
            calls.push(call);
            return s.schedule(Promise.resolve(x), `run ${x}`).then((v) => {
              call.settled = true;
              if (x === failing) throw boom;
              return v;
            });
          };
          const result = lastValueFrom(range(0, m).pipe(parallelMap(project, { concurrency })));
          await expect(s.waitFor(result)).rejects.toBe(boom);
          const callsAtError = calls.length;
          for (const call of calls) if (!call.settled) expect(call.signal.aborted).toBe(true);
          await s.waitIdle();
          expect(calls.length).toBe(callsAtError);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('parallelMap: executor, concurrency and priority options', () => {
  it('shares one cap between streams given the same executor', () => {
    const executor = createExecutor({ concurrency: 2 });
    const started: string[] = [];
    const inners = new Map<string, Subject<string>>();
    const project = (name: string) => {
      started.push(name);
      const inner = new Subject<string>();
      inners.set(name, inner);
      return inner;
    };
    const done: string[] = [];
    from(['a1', 'a2', 'a3'])
      .pipe(parallelMap(project, { executor }))
      .subscribe({ complete: () => done.push('a') });
    from(['b1', 'b2'])
      .pipe(parallelMap(project, { executor }))
      .subscribe({ complete: () => done.push('b') });
    // Each stream submits up to the executor's concurrency; only two run.
    expect(started).toEqual(['a1', 'a2']);
    expect(executor.stats()).toMatchObject({ running: 2, queued: 2 });
    inners.get('a1')?.complete();
    inners.get('a2')?.complete();
    // FIFO within the normal lane across both streams: b1 and b2 were queued before a3.
    expect(started).toEqual(['a1', 'a2', 'b1', 'b2']);
    expect(executor.stats()).toMatchObject({ running: 2, queued: 1 });
    inners.get('b1')?.complete();
    expect(started).toEqual(['a1', 'a2', 'b1', 'b2', 'a3']);
    inners.get('b2')?.complete();
    inners.get('a3')?.complete();
    expect(done).toEqual(['b', 'a']);
    expect(executor.stats().running + executor.stats().queued).toBe(0);
  });

  it('gives each subscription a private cap without an executor', () => {
    let active = 0;
    let maxActive = 0;
    const project = () => {
      active++;
      maxActive = Math.max(maxActive, active);
      return NEVER;
    };
    const a = range(0, 10)
      .pipe(parallelMap(project, { concurrency: 3 }))
      .subscribe();
    const b = range(0, 10)
      .pipe(parallelMap(project, { concurrency: 3 }))
      .subscribe();
    expect(maxActive).toBe(6);
    a.unsubscribe();
    b.unsubscribe();
  });

  it('defaults to a cap of 10', () => {
    const project = vi.fn(() => NEVER);
    const subscription = range(0, 50).pipe(parallelMap(project)).subscribe();
    expect(project).toHaveBeenCalledTimes(10);
    subscription.unsubscribe();
  });

  it('applies its own concurrency on top of a shared executor', () => {
    const executor = createExecutor({ concurrency: 8 });
    const project = vi.fn(() => NEVER);
    const subscription = range(0, 50)
      .pipe(parallelMap(project, { executor, concurrency: 3 }))
      .subscribe();
    expect(project).toHaveBeenCalledTimes(3);
    expect(executor.stats()).toMatchObject({ running: 3, queued: 0 });
    subscription.unsubscribe();
    expect(executor.stats().running).toBe(0);
  });

  it('runs inner tasks in the lane given by priority, with the label', () => {
    const executor = createExecutor({ concurrency: 1 });
    const events: ExecutionEvent[] = [];
    executor.events$.subscribe((e) => events.push(e));
    const blocker = new Subject<never>();
    executor.schedule(() => blocker).subscribe();
    const order: string[] = [];
    const run = (name: string, priority: Priority) =>
      from([`${name}1`, `${name}2`])
        .pipe(
          parallelMap(
            (v) => {
              order.push(v);
              return [v];
            },
            { executor, priority, label: name },
          ),
        )
        .subscribe();
    run('bg', 'background');
    run('n', 'normal');
    run('c', 'critical');
    blocker.complete();
    expect(order).toEqual(['c1', 'c2', 'n1', 'n2', 'bg1', 'bg2']);
    const started = events.filter((e) => e.type === 'started');
    expect(started.map((e) => `${e.label}:${e.priority}`)).toEqual([
      'undefined:normal',
      'c:critical',
      'c:critical',
      'n:normal',
      'n:normal',
      'bg:background',
      'bg:background',
    ]);
  });

  it('runs background priority at full width on a private executor', () => {
    const project = vi.fn(() => NEVER);
    const subscription = range(0, 10)
      .pipe(parallelMap(project, { concurrency: 4, priority: 'background' }))
      .subscribe();
    expect(project).toHaveBeenCalledTimes(4);
    subscription.unsubscribe();
  });
});

describe('parallelMap: ordered', () => {
  it('stops starting new work while `concurrency` finished results wait for a slow head', () => {
    const inners = [...Array(6)].map(() => new Subject<string>());
    const project = vi.fn((i: number) => inners[i] as Subject<string>);
    const out: string[] = [];
    range(0, 6)
      .pipe(parallelMap(project, { concurrency: 2, ordered: true }))
      .subscribe((v) => out.push(v));
    const inner = (i: number) => inners[i] as Subject<string>;
    expect(project).toHaveBeenCalledTimes(2);
    inner(1).next('1');
    inner(1).complete(); // held: 1
    expect(project).toHaveBeenCalledTimes(3);
    inner(2).next('2');
    inner(2).complete(); // held: 2 = concurrency
    // A slot is free (only 0 runs), but two results already wait: nothing new starts.
    expect(project).toHaveBeenCalledTimes(3);
    expect(out).toEqual([]);
    // The head streams live.
    inner(0).next('0a');
    expect(out).toEqual(['0a']);
    inner(0).next('0b');
    inner(0).complete();
    expect(out).toEqual(['0a', '0b', '1', '2']);
    expect(project).toHaveBeenCalledTimes(5);
  });
});

describe('parallelMap: validation at construction', () => {
  const project = (x: number) => [x];

  it.each([0, -1, 1.5, Number.NaN])('rejects concurrency %s', (concurrency) => {
    expect(() => parallelMap(project, { concurrency })).toThrow(RangeError);
    expect(() => parallelMap(project, { concurrency })).toThrow(
      `parallelMap: concurrency must be an integer >= 1 (or Infinity); received ${concurrency}`,
    );
  });

  it('accepts concurrency Infinity', () => {
    expect(() => parallelMap(project, { concurrency: Number.POSITIVE_INFINITY })).not.toThrow();
  });

  it('rejects an unknown priority with a TypeError', () => {
    const build = () => parallelMap(project, { priority: 'asap' as Priority });
    expect(build).toThrow(TypeError);
    expect(build).toThrow(/parallelMap: priority must be one of .*received "asap"/);
  });

  it('rejects a project that is not a function', () => {
    const build = () => parallelMap(42 as never);
    expect(build).toThrow(TypeError);
    expect(build).toThrow('parallelMap: project must be a function; received 42');
  });

  it('rejects an executor that is not an Executor', () => {
    expect(() => parallelMap(project, { executor: {} as never })).toThrow(TypeError);
  });

  it.each([
    [5, '5'],
    [null, 'null'],
    [{ schedule: () => of(1) }, 'an object'],
  ])('rejects executor %s, naming it and the value', (executor, shown) => {
    const build = () => parallelMap(project, { executor: executor as never });
    expect(build).toThrow(TypeError);
    expect(build).toThrow(
      `parallelMap: executor must be an Executor (see createExecutor); received ${shown}`,
    );
  });

  it('rejects a label that is not a string', () => {
    const build = () => parallelMap(project, { label: 5 as never });
    expect(build).toThrow(TypeError);
    expect(build).toThrow('parallelMap: label must be a string; received 5');
  });

  it.each([
    ['yes', '"yes"'],
    [null, 'null'],
    [1, '1'],
  ])('rejects ordered %s', (ordered, shown) => {
    const build = () => parallelMap(project, { ordered: ordered as never });
    expect(build).toThrow(TypeError);
    expect(build).toThrow(`parallelMap: ordered must be true or false; received ${shown}`);
  });

  it('accepts an Executor, a label and ordered true or false', async () => {
    const executor = createExecutor();
    for (const ordered of [true, false]) {
      const out = await lastValueFrom(
        from([1, 2]).pipe(parallelMap(project, { executor, label: 'x', ordered }), toArray()),
      );
      expect(out.sort()).toEqual([1, 2]);
    }
  });
});

describe('parallelMap: marbles', () => {
  const testScheduler = () =>
    new TestScheduler((actual, expected) => {
      expect(actual).toEqual(expected);
    });

  it('starts queued work only when a slot frees', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<'a' | 'b' | 'c'>('abc|');
      const inners = { a: cold('---x|'), b: cold('---y|'), c: cold('---z|') };
      const result = source.pipe(
        parallelMap((v: 'a' | 'b' | 'c') => inners[v], { concurrency: 2 }),
      );
      expectObservable(result).toBe('---xy--z|');
      expectSubscriptions(inners.a.subscriptions).toBe('^---!');
      expectSubscriptions(inners.b.subscriptions).toBe('-^---!');
      expectSubscriptions(inners.c.subscriptions).toBe('----^---!');
    });
  });

  it('behaves like mergeMap when the cap is never reached', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c|');
      const project = (v: string) => cold('--v|', { v });
      expectObservable(source.pipe(parallelMap(project, { concurrency: 5 }))).toBe('--a-b-c|');
      expectObservable(source.pipe(mergeMap(project, 5))).toBe('--a-b-c|');
    });
  });

  it('on unsubscribe tears down the source and running inners, never starting queued ones', () => {
    const signals: AbortSignal[] = [];
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot<'a' | 'b' | 'c'>('-a-b-c-|');
      const inners = { a: cold('-----x|'), b: cold('-y|'), c: cold('-z|') };
      const result = source.pipe(
        parallelMap(
          (v: 'a' | 'b' | 'c', _i, signal) => {
            signals.push(signal);
            return inners[v];
          },
          { concurrency: 1 },
        ),
      );
      expectObservable(result, '^---!').toBe('');
      expectSubscriptions(source.subscriptions).toBe('^---!');
      expectSubscriptions(inners.a.subscriptions).toBe('-^--!');
      expectSubscriptions(inners.b.subscriptions).toBe([]);
      expectSubscriptions(inners.c.subscriptions).toBe([]);
    });
    expect(signals).toHaveLength(1);
    expect(signals[0]?.aborted).toBe(true);
  });

  it('an inner error unsubscribes the other inners at the same frame and drops the queue', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<'a' | 'b' | 'c'>('(abc|)');
      const inners = { a: cold('-----x|'), b: cold('--#'), c: cold('-z|') };
      const result = source.pipe(
        parallelMap((v: 'a' | 'b' | 'c') => inners[v], { concurrency: 2 }),
      );
      expectObservable(result).toBe('--#');
      expectSubscriptions(inners.a.subscriptions).toBe('^-!');
      expectSubscriptions(inners.c.subscriptions).toBe([]);
    });
  });

  it('ordered: a fast second result waits for the slow first one', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold<'a' | 'b'>('(ab|)');
      const inners = { a: cold('----x|'), b: cold('-y|') };
      const result = source.pipe(
        parallelMap((v: 'a' | 'b') => inners[v], { concurrency: 2, ordered: true }),
      );
      expectObservable(result).toBe('----x(y|)');
      expectObservable(source.pipe(parallelMap((v: 'a' | 'b') => inners[v]))).toBe('-y--x|');
    });
  });

  it('two streams on one executor share its slots; critical work goes first', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const executor = createExecutor({ concurrency: 1 });
      const inners = { a: cold('--x|'), b: cold('--y|'), c: cold('--z|') };
      const normal = cold<'a' | 'b' | 'c'>('(ab|)').pipe(
        parallelMap((v: 'a' | 'b' | 'c') => inners[v], { executor }),
      );
      const critical = cold<'a' | 'b' | 'c'>('-c|').pipe(
        parallelMap((v: 'a' | 'b' | 'c') => inners[v], { executor, priority: 'critical' }),
      );
      // a runs 0-3; c (critical, queued at 1) takes the slot at 3; b waits until 6.
      expectObservable(normal).toBe('--x-----y|');
      expectObservable(critical).toBe('-----z|');
      expectSubscriptions(inners.c.subscriptions).toBe('---^--!');
      expectSubscriptions(inners.b.subscriptions).toBe('------^--!');
    });
  });
});
