import {
  createEngine,
  createExecutor,
  GraphCycleError,
  type GraphEvent,
  type GraphTask,
  runGraph,
  UnknownDependencyError,
} from 'eed';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** A random DAG: task `i` may depend only on tasks `< i`, so there is never a cycle. */
interface Dag {
  readonly n: number;
  readonly deps: readonly (readonly number[])[];
  readonly locks: readonly (readonly string[])[];
  readonly costs: readonly number[];
  readonly fails: readonly boolean[];
  readonly cap: number;
  /** The run's own `concurrency` option, if any. */
  readonly limit: number | undefined;
}

const dagArb = (options: { failures?: boolean; locks?: boolean; maxTasks?: number } = {}) =>
  fc.integer({ min: 1, max: options.maxTasks ?? 9 }).chain((n) =>
    fc.record({
      n: fc.constant(n),
      deps: fc.tuple(
        ...Array.from({ length: n }, (_, j) =>
          fc.subarray(
            Array.from({ length: j }, (_, i) => i),
            { maxLength: Math.min(3, j) },
          ),
        ),
      ),
      locks: fc.array(
        options.locks === false
          ? fc.constant([] as string[])
          : fc.subarray(['x', 'y', 'z'], { maxLength: 2 }),
        { minLength: n, maxLength: n },
      ),
      costs: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: n, maxLength: n }),
      fails: fc.array(
        options.failures === true
          ? fc.integer({ min: 0, max: 3 }).map((v) => v === 0)
          : fc.constant(false),
        { minLength: n, maxLength: n },
      ),
      cap: fc.integer({ min: 1, max: 4 }),
      limit: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    }),
  );

const name = (i: number) => `t${i}`;
const index = (task: string) => Number(task.slice(1));

/** The transitive dependents of `i`. */
function descendants(dag: Dag, i: number): Set<number> {
  const out = new Set<number>();
  const stack = [i];
  while (stack.length > 0) {
    const at = stack.pop() as number;
    for (let j = 0; j < dag.n; j++) {
      if (!out.has(j) && dag.deps[j]?.includes(at)) {
        out.add(j);
        stack.push(j);
      }
    }
  }
  return out;
}

/** Longest path to a sink, weighing each task by its cost (what critical-path order maximises). */
function remainingPaths(dag: Dag): number[] {
  const remaining = new Array<number>(dag.n).fill(0);
  for (let i = dag.n - 1; i >= 0; i--) {
    let longest = 0;
    for (let j = i + 1; j < dag.n; j++) {
      if (dag.deps[j]?.includes(i)) longest = Math.max(longest, remaining[j] as number);
    }
    remaining[i] = (dag.costs[i] as number) + longest;
  }
  return remaining;
}

interface Observation {
  events: GraphEvent[];
  calls: Map<string, number>;
  problems: string[];
  finished: boolean;
  error: unknown;
}

/**
 * Runs `dag` with works that resolve when the fast-check scheduler says so, and checks
 * at every work call what must hold at that instant: dependencies ended with the right
 * values, the cap, the locks.
 */
async function runDag(
  dag: Dag,
  s: fc.Scheduler,
  options: { failFast: boolean },
): Promise<Observation> {
  const executor = createExecutor({ concurrency: dag.cap });
  const obs: Observation = {
    events: [],
    calls: new Map(),
    problems: [],
    finished: false,
    error: undefined,
  };
  const active = new Map<string, readonly string[]>();
  const ended = new Set<string>();
  let failureReported = false;
  const tasks: Record<string, GraphTask> = {};
  for (let i = 0; i < dag.n; i++) {
    const me = name(i);
    const locks = dag.locks[i] as readonly string[];
    tasks[me] = {
      deps: (dag.deps[i] as number[]).map(name),
      locks,
      cost: dag.costs[i],
      run: (deps, signal) => {
        obs.calls.set(me, (obs.calls.get(me) ?? 0) + 1);
        if (failureReported && options.failFast) obs.problems.push(`${me} started after a failure`);
        for (const dep of dag.deps[i] as number[]) {
          if (!ended.has(name(dep))) obs.problems.push(`${me} started before ${name(dep)} ended`);
          if (deps[name(dep)] !== `v:${name(dep)}`)
            obs.problems.push(`${me} got a wrong ${name(dep)}`);
        }
        if (active.size >= Math.min(executor.concurrency, dag.limit ?? Number.POSITIVE_INFINITY)) {
          obs.problems.push(`${me} exceeded the cap`);
        }
        for (const [other, held] of active) {
          if (held.some((lock) => locks.includes(lock))) {
            obs.problems.push(`${me} overlaps ${other} on a lock`);
          }
        }
        active.set(me, locks);
        signal.addEventListener('abort', () => active.delete(me));
        return s.schedule(Promise.resolve(), me).then(() => {
          if (signal.aborted) throw signal.reason;
          active.delete(me);
          ended.add(me);
          if (dag.fails[i]) throw new Error(`${me} failed`);
          return `v:${me}`;
        });
      },
    };
  }
  runGraph(tasks, {
    executor,
    failFast: options.failFast,
    concurrency: dag.limit,
  }).subscribe({
    next: (event) => {
      obs.events.push(event);
      if (event.type === 'task-failed') failureReported = true;
    },
    error: (error: unknown) => {
      obs.error = error;
      obs.finished = true;
    },
    complete: () => {
      obs.finished = true;
    },
  });
  await s.waitIdle();
  if (!obs.finished) obs.problems.push('the graph never finished (deadlock?)');
  if (executor.stats().running !== 0 || executor.stats().queued !== 0) {
    obs.problems.push(`executor not empty: ${JSON.stringify(executor.stats())}`);
  }
  return obs;
}

const terminal = (events: GraphEvent[]) => {
  const outcome = new Map<string, string[]>();
  for (const e of events) {
    if (e.type === 'task-succeeded' || e.type === 'task-failed' || e.type === 'task-skipped') {
      outcome.set(e.task, [...(outcome.get(e.task) ?? []), e.type]);
    }
  }
  return outcome;
};

describe('runGraph properties on random DAGs', () => {
  it('every task runs once, after its dependencies; cap and locks hold; critical path first', async () => {
    await fc.assert(
      fc.asyncProperty(dagArb(), fc.scheduler(), async (dag, s) => {
        const obs = await runDag(dag, s, { failFast: true });
        expect(obs.problems).toEqual([]);
        for (let i = 0; i < dag.n; i++) expect(obs.calls.get(name(i))).toBe(1);
        expect(obs.error).toBeUndefined();
        expect(obs.events.at(-1)).toMatchObject({
          type: 'graph-completed',
          ok: true,
          summary: { total: dag.n, succeeded: dag.n, failed: 0, skipped: 0 },
        });

        // Critical-path order: at each start, no ready task that could have started
        // instead (its locks free of the tasks already running) has a longer path.
        const remaining = remainingPaths(dag);
        const started = new Set<number>();
        const succeeded = new Set<number>();
        for (const e of obs.events) {
          if (e.type === 'task-succeeded') succeeded.add(index(e.task));
          if (e.type !== 'task-started') continue;
          const me = index(e.task);
          const held = new Set<string>();
          for (const r of started) {
            if (!succeeded.has(r)) for (const lock of dag.locks[r] ?? []) held.add(lock);
          }
          for (let j = 0; j < dag.n; j++) {
            const ready =
              j !== me &&
              !started.has(j) &&
              (dag.deps[j] ?? []).every((d) => succeeded.has(d)) &&
              (dag.locks[j] ?? []).every((lock) => !held.has(lock));
            if (ready) {
              const better =
                (remaining[j] as number) > (remaining[me] as number) ||
                (remaining[j] === remaining[me] && j < me);
              expect(better, `${name(j)} should have started before ${name(me)}`).toBe(false);
            }
          }
          started.add(me);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('without failFast, exactly the transitive dependents of failed tasks are skipped', async () => {
    await fc.assert(
      fc.asyncProperty(dagArb({ failures: true }), fc.scheduler(), async (dag, s) => {
        const obs = await runDag(dag, s, { failFast: false });
        expect(obs.problems).toEqual([]);
        expect(obs.error).toBeUndefined();
        const failed = new Set<number>();
        const skipped = new Set<number>();
        for (let i = 0; i < dag.n; i++) {
          if ((dag.deps[i] ?? []).some((d) => failed.has(d) || skipped.has(d))) skipped.add(i);
          else if (dag.fails[i]) failed.add(i);
        }
        const expectedSkipped = new Set<number>();
        for (const f of failed) for (const d of descendants(dag, f)) expectedSkipped.add(d);
        expect([...skipped].sort()).toEqual([...expectedSkipped].sort());
        const outcome = terminal(obs.events);
        for (let i = 0; i < dag.n; i++) {
          const want = skipped.has(i)
            ? 'task-skipped'
            : failed.has(i)
              ? 'task-failed'
              : 'task-succeeded';
          expect(outcome.get(name(i)), name(i)).toEqual([want]);
          expect(obs.calls.get(name(i)) ?? 0, name(i)).toBe(skipped.has(i) ? 0 : 1);
        }
        for (const e of obs.events) {
          if (e.type === 'task-skipped') {
            expect(e.reason).toBe('dependency-failed');
            expect(failed.has(index(e.cause))).toBe(true);
            expect(descendants(dag, index(e.cause)).has(index(e.task))).toBe(true);
          }
        }
        expect(obs.events.at(-1)).toMatchObject({
          type: 'graph-completed',
          ok: failed.size === 0,
          summary: { failed: failed.size, skipped: skipped.size },
        });
      }),
      { numRuns: 150 },
    );
  });

  it('with failFast, nothing starts after the first failure and every task ends once', async () => {
    await fc.assert(
      fc.asyncProperty(dagArb({ failures: true }), fc.scheduler(), async (dag, s) => {
        const obs = await runDag(dag, s, { failFast: true });
        expect(obs.problems).toEqual([]);
        const outcome = terminal(obs.events);
        for (let i = 0; i < dag.n; i++) expect(outcome.get(name(i))?.length, name(i)).toBe(1);
        const failures = obs.events.filter((e) => e.type === 'task-failed');
        expect(failures.length).toBeLessThanOrEqual(1);
        const first = failures[0];
        if (first === undefined) {
          expect(obs.error).toBeUndefined();
        } else {
          expect((obs.error as Error).message).toBe(`${first.task} failed`);
          const after = obs.events.slice(obs.events.indexOf(first) + 1);
          expect(
            after.every((e) => e.type === 'task-skipped' || e.type === 'graph-completed'),
          ).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('graphs sharing an executor share its cap and locks, and all finish', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(dagArb({ maxTasks: 6 }), { minLength: 2, maxLength: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.scheduler(),
        async (dags, cap, s) => {
          const executor = createExecutor({ concurrency: cap });
          const active = new Map<string, readonly string[]>();
          const problems: string[] = [];
          let finished = 0;
          dags.forEach((dag, g) => {
            const tasks: Record<string, GraphTask> = {};
            for (let i = 0; i < dag.n; i++) {
              const me = `g${g}.${name(i)}`;
              const locks = dag.locks[i] as readonly string[];
              tasks[name(i)] = {
                deps: (dag.deps[i] as number[]).map(name),
                locks,
                cost: dag.costs[i],
                run: () => {
                  if (active.size >= cap) problems.push(`${me} exceeded the cap`);
                  for (const [other, held] of active) {
                    if (held.some((lock) => locks.includes(lock))) {
                      problems.push(`${me} overlaps ${other} on a lock`);
                    }
                  }
                  active.set(me, locks);
                  return s.schedule(Promise.resolve(me), me).then((value) => {
                    active.delete(me);
                    return value;
                  });
                },
              };
            }
            runGraph(tasks, { executor, concurrency: dag.limit }).subscribe({
              complete: () => finished++,
            });
          });
          await s.waitIdle();
          expect(problems).toEqual([]);
          expect(finished).toBe(dags.length);
          expect(executor.stats()).toMatchObject({ running: 0, queued: 0 });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('cycles and unknown dependencies are reported before any task runs', () => {
    fc.assert(
      fc.property(
        dagArb({ locks: false }),
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        (dag, a, b, unknown) => {
          const calls: string[] = [];
          const deps = dag.deps.map((d) => d.map(name));
          let expected: typeof GraphCycleError | typeof UnknownDependencyError;
          if (unknown) {
            (deps[a % dag.n] as string[]).push('missing');
            expected = UnknownDependencyError;
          } else {
            // A back edge: an ancestor of j (or j itself) depends on j.
            const j = a % dag.n;
            const ancestors = [
              j,
              ...Array.from({ length: j }, (_, i) => i).filter((i) => descendants(dag, i).has(j)),
            ];
            const i = ancestors[b % ancestors.length] as number;
            (deps[i] as string[]).push(name(j));
            expected = GraphCycleError;
          }
          const tasks: Record<string, GraphTask> = {};
          deps.forEach((d, i) => {
            tasks[name(i)] = {
              deps: d,
              run: () => {
                calls.push(name(i));
                return [1];
              },
            };
          });
          let error: unknown;
          try {
            runGraph(tasks).subscribe();
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(expected);
          expect(calls).toEqual([]);
          if (error instanceof GraphCycleError) {
            // The reported cycle is real: each task depends on the next, the last on the first.
            const cycle = error.cycle;
            cycle.forEach((task, k) => {
              const next = cycle[(k + 1) % cycle.length] as string;
              expect(tasks[task]?.deps).toContain(next);
            });
            expect(error.message).toBe(
              `task graph has a cycle: ${[...cycle, cycle[0]].join(' -> ')}`,
            );
          }
          if (error instanceof UnknownDependencyError) {
            expect(error.task).toBe(name(a % dag.n));
            expect(error.dependency).toBe('missing');
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('with an engine, a second run with unchanged keys executes nothing; a changed key re-runs exactly its dependents', async () => {
    await fc.assert(
      fc.asyncProperty(dagArb({ locks: false }), fc.nat(), fc.scheduler(), async (dag, pick, s) => {
        const engine = createEngine({ executor: { concurrency: dag.cap } });
        const version = new Array<number>(dag.n).fill(1);
        const executed: string[] = [];
        const tasks = (): Record<string, GraphTask> => {
          const out: Record<string, GraphTask> = {};
          for (let i = 0; i < dag.n; i++) {
            const me = name(i);
            const v = version[i];
            out[me] = {
              deps: (dag.deps[i] as number[]).map(name),
              key: (k) =>
                `${me}@${v}(${(dag.deps[i] as number[]).map((d) => k[name(d)]).join(',')})`,
              run: () => {
                executed.push(me);
                return s.schedule(Promise.resolve(`v:${me}`), me);
              },
            };
          }
          return out;
        };
        const runOnce = async () => {
          executed.length = 0;
          const events: GraphEvent[] = [];
          let done = false;
          runGraph(tasks(), { engine }).subscribe({
            next: (e) => events.push(e),
            complete: () => {
              done = true;
            },
          });
          await s.waitIdle();
          expect(done).toBe(true);
          return events.at(-1);
        };
        await runOnce();
        expect(executed.length).toBe(dag.n);
        expect(await runOnce()).toMatchObject({ summary: { executed: 0, succeeded: dag.n } });
        expect(executed).toEqual([]);
        const changed = pick % dag.n;
        version[changed] = 2;
        await runOnce();
        const expected = [changed, ...descendants(dag, changed)].map(name).sort();
        expect([...executed].sort()).toEqual(expected);
        expect(engine.inFlight).toBe(0);
      }),
      { numRuns: 100 },
    );
  });
});
