import { createEngine, createExecutor, type Engine, markovPredictor } from 'eed';
import { prefetch } from 'eed/operators';
import fc from 'fast-check';
import { firstValueFrom, from, lastValueFrom, Observable, toArray } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';

const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('prefetch operator', () => {
  it('passes values through untouched and prefetches what predict proposes', async () => {
    const engine = createEngine();
    const work = vi.fn(async () => 'page 2');
    const out = await lastValueFrom(
      from([1]).pipe(
        prefetch((page: number) => [{ key: `page:${page + 1}`, work }], { engine }),
        toArray(),
      ),
    );
    expect(out).toEqual([1]);
    await flush();
    expect(await firstValueFrom(engine.run('page:2', async () => 'again'))).toBe('page 2');
    expect(work).toHaveBeenCalledTimes(1);
    expect(engine.metrics().prefetch).toEqual({ issued: 1, used: 1, wasted: 0, precision: 1 });
  });

  it('skips candidates under minProbability', async () => {
    const engine = createEngine();
    const work = vi.fn(async () => 1);
    await lastValueFrom(
      from([0]).pipe(
        prefetch(() => [{ key: 'x', work, probability: 0.1 }], { engine, minProbability: 0.5 }),
      ),
    );
    await flush();
    expect(work).not.toHaveBeenCalled();
  });

  it('learns a route sequence with markovPredictor and prefetches the likely next route', async () => {
    const engine = createEngine();
    const loads: string[] = [];
    const load = (route: string) => async () => {
      loads.push(route);
      return route;
    };
    const predict = markovPredictor({ keyOf: (r: string) => r, workFor: load });
    await lastValueFrom(
      from(['home', 'list', 'item', 'home']).pipe(prefetch(predict, { engine }), toArray()),
    );
    await flush();
    expect(loads).toEqual(['list']); // after the second 'home', 'list' is predicted
  });

  it('validates options when built', () => {
    expect(() => prefetch(() => [], {} as never)).toThrow(/engine is required/);
    const engine = createEngine();
    expect(() => prefetch(() => [], { engine, depth: 0 })).toThrow(/depth.*0/);
    expect(() => prefetch(() => [], { engine, minProbability: 2 })).toThrow(/minProbability.*2/);
  });

  it('rejects a bad engine, depth or minProbability when built, naming the option and the value', () => {
    const engine = createEngine();
    const cases: [object, ErrorConstructor, string][] = [
      [
        { engine: {} },
        TypeError,
        'prefetch: engine must be an Engine (see createEngine); received an object',
      ],
      [
        { engine: null },
        TypeError,
        'prefetch: engine must be an Engine (see createEngine); received null',
      ],
      [
        { engine, depth: Number.POSITIVE_INFINITY },
        RangeError,
        'prefetch: depth must be a finite integer >= 1; received Infinity',
      ],
      [
        { engine, depth: 1.5 },
        RangeError,
        'prefetch: depth must be a finite integer >= 1; received 1.5',
      ],
      [
        { engine, depth: '2' },
        RangeError,
        'prefetch: depth must be a finite integer >= 1; received "2"',
      ],
      [
        { engine, depth: null },
        RangeError,
        'prefetch: depth must be a finite integer >= 1; received null',
      ],
      [
        { engine, minProbability: '0.5' },
        RangeError,
        'prefetch: minProbability must be a number from 0 to 1; received "0.5"',
      ],
      [
        { engine, minProbability: '' },
        RangeError,
        'prefetch: minProbability must be a number from 0 to 1; received ""',
      ],
      [
        { engine, minProbability: null },
        RangeError,
        'prefetch: minProbability must be a number from 0 to 1; received null',
      ],
    ];
    for (const [options, type, message] of cases) {
      const build = () => prefetch(() => [], options as never);
      expect(build).toThrow(type);
      expect(build).toThrow(message);
    }
  });

  it('accepts an object with prefetch() as the engine, a large depth and minProbability 0 to 1', () => {
    const engine = { prefetch: vi.fn() } as unknown as Engine;
    const contexts: unknown[] = [];
    for (const [depth, minProbability] of [
      [1_000_000, 0],
      [3, 1],
    ] as const) {
      from([1])
        .pipe(
          prefetch(
            (_page: number, context) => {
              contexts.push(context);
              return [{ key: 'k', work: async () => 1 }];
            },
            { engine, depth, minProbability },
          ),
        )
        .subscribe();
    }
    expect(contexts).toEqual([
      { depth: 1_000_000, minProbability: 0 },
      { depth: 3, minProbability: 1 },
    ]);
    expect(engine.prefetch).toHaveBeenCalledTimes(2);
  });

  it('with markovPredictor, a large depth ends on a cycle of certain transitions', async () => {
    const engine = createEngine();
    const loads: string[] = [];
    const predict = markovPredictor({
      keyOf: (r: string) => r,
      workFor: (route) => async () => {
        loads.push(route);
        return route;
      },
      // b -> p is forgotten (b -> a was seen more): a and b always follow each other.
      maxTransitionsPerKey: 1,
    });
    const routes = ['k', 'a', 'b', 'a', 'b', 'a', 'b', 'p', 'k'];
    await lastValueFrom(
      from(routes).pipe(prefetch(predict, { engine, depth: 1_000_000_000 }), toArray()),
    );
    await flush();
    expect(predict.model.predict('k', { depth: 1_000_000_000 })).toEqual([
      { key: 'a', probability: 1 },
      { key: 'b', probability: 1 },
    ]);
    expect(loads.sort()).toEqual(['a', 'b']);
  });
});

describe('engine.warm', () => {
  it('computes entries in the background and reports what it warmed', async () => {
    const engine = createEngine();
    await firstValueFrom(engine.run('cached', async () => 0));
    const result = await engine.warm([
      { key: 'cached', work: async () => 1 },
      { key: 'a', work: async () => 2 },
      { key: 'b', work: () => Promise.reject(new Error('no')) },
    ]);
    expect(result).toEqual({ warmed: 1, skipped: 1, failed: 1 });
    const work = vi.fn(async () => 3);
    expect(await firstValueFrom(engine.run('a', work))).toBe(2);
    expect(work).not.toHaveBeenCalled();
  });
});

type Step =
  | { kind: 'prefetch'; key: string }
  | { kind: 'run'; key: string; priority: 'critical' | 'normal' }
  | { kind: 'leave'; index: number };

describe('speculation guarantees (property)', () => {
  it('prefetches never hold a slot a waiting real task needs; joiners never re-run the work', async () => {
    const stepArb: fc.Arbitrary<Step> = fc.oneof(
      fc.record({
        kind: fc.constant('prefetch' as const),
        key: fc.constantFrom('a', 'b', 'c', 'd'),
      }),
      fc.record({
        kind: fc.constant('run' as const),
        key: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
        priority: fc.constantFrom('critical' as const, 'normal' as const),
      }),
      fc.record({ kind: fc.constant('leave' as const), index: fc.nat(20) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(stepArb, { maxLength: 25 }), async (s, steps) => {
        const executor = createExecutor({ concurrency: 2 });
        const engine = createEngine({ executor });
        const running = new Map<number, { preemptible: boolean; label: string | undefined }>();
        const joined = new Set<string>();
        const problems: string[] = [];
        const check = () => {
          const stats = executor.stats();
          const waiting = stats.queuedByPriority.critical + stats.queuedByPriority.normal;
          if (waiting === 0) return;
          for (const task of running.values()) {
            if (task.preemptible && !joined.has(task.label ?? '')) {
              problems.push(`prefetch ${task.label} holds a slot while real work waits`);
            }
          }
        };
        engine.events$.subscribe((e) => {
          if (e.type === 'joined') joined.add(e.key);
          else if (e.type === 'prefetch-issued') joined.delete(e.key);
        });
        executor.events$.subscribe((e) => {
          if (e.type === 'started')
            running.set(e.taskId, { preemptible: e.preemptible, label: e.label });
          else if (e.type !== 'queued' && e.type !== 'promoted') running.delete(e.taskId);
        });
        const work = (key: string) => () =>
          new Observable<string>((subscriber) => {
            s.schedule(Promise.resolve(key), `work ${key}`).then((v) => {
              subscriber.next(v);
              subscriber.complete();
              check(); // the executor has settled after this completion
            });
          });
        const subscriptions: { unsubscribe(): void }[] = [];
        const driver = (async () => {
          for (const step of steps) {
            await s.schedule(Promise.resolve(), step.kind);
            if (step.kind === 'prefetch') {
              engine.prefetch(step.key, work(step.key), { label: step.key });
            } else if (step.kind === 'run') {
              subscriptions.push(
                engine
                  .run(step.key, work(step.key), { priority: step.priority, label: step.key })
                  .subscribe({
                    error: () => {},
                  }),
              );
            } else {
              subscriptions[step.index]?.unsubscribe();
            }
            check();
          }
        })();
        await s.waitFor(driver);
        await s.waitIdle();
        await flush();
        expect(problems).toEqual([]);
        expect(engine.metrics().redundancyRate).toBe(0);
        for (const sub of subscriptions) sub.unsubscribe();
        await flush();
        expect(engine.inFlight).toBe(0);
        expect(executor.stats()).toMatchObject({ running: 0, queued: 0 });
      }),
      { numRuns: 200 },
    );
  });
});
