import {
  AbortError,
  createEngine,
  createExecutor,
  defineGraph,
  GraphCycleError,
  type GraphTask,
  runGraph,
  UnknownDependencyError,
} from 'eed';
import { EMPTY, from, of, Subject, take } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { Gates, manualClock, record } from './helpers.js';

const ok = (value: unknown): GraphTask => ({ run: () => of(value) });
/** Calls `effect`, then returns `value`. */
const sideEffect = <T>(effect: () => unknown, value: T): T => {
  effect();
  return value;
};

describe('runGraph: validation before anything runs', () => {
  it('throws UnknownDependencyError naming the task and the missing name', () => {
    const run = vi.fn(() => of(1));
    let error: unknown;
    try {
      runGraph({ a: { run }, b: { deps: ['a', 'nope'], run } } as Record<string, GraphTask>);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnknownDependencyError);
    expect(error).toMatchObject({ name: 'UnknownDependencyError', task: 'b', dependency: 'nope' });
    expect(String(error)).toContain('"b"');
    expect(String(error)).toContain('"nope"');
    expect(run).not.toHaveBeenCalled();
  });

  it('throws GraphCycleError listing one cycle in order', () => {
    const run = vi.fn(() => of(1));
    const tasks: Record<string, GraphTask> = {
      root: { run },
      a: { deps: ['root', 'b'], run },
      b: { deps: ['c'], run },
      c: { deps: ['a'], run },
    };
    expect(() => runGraph(tasks)).toThrow(GraphCycleError);
    expect(() => runGraph(tasks)).toThrow('task graph has a cycle: a -> b -> c -> a');
    try {
      runGraph(tasks);
    } catch (e) {
      expect((e as GraphCycleError).cycle).toEqual(['a', 'b', 'c']);
    }
    expect(run).not.toHaveBeenCalled();
  });

  it('reports a task depending on itself as a cycle', () => {
    expect(() =>
      runGraph({ a: { deps: ['a'], run: () => [1] } } as Record<string, GraphTask>),
    ).toThrow('task graph has a cycle: a -> a');
  });

  it('rejects malformed tasks and options, naming them', () => {
    const bad = (task: unknown) => () =>
      runGraph({ t: task } as unknown as Record<string, GraphTask>);
    expect(bad(null)).toThrow(TypeError);
    expect(bad({})).toThrow('task "t": run must be a function');
    expect(bad({ run: () => [], deps: 'a' })).toThrow('task "t": deps must be an array');
    expect(bad({ run: () => [], locks: [1] })).toThrow('task "t": locks must be an array');
    expect(bad({ run: () => [], cost: -1 })).toThrow(RangeError);
    expect(bad({ run: () => [], cost: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(bad({ run: () => [], priority: 'urgent' })).toThrow('task "t": priority');
    expect(bad({ run: () => [], key: 3 })).toThrow('task "t": key');
    const tasks = { a: ok(1) };
    expect(() => runGraph(tasks, { concurrency: 0 })).toThrow(RangeError);
    expect(() => runGraph(tasks, { failFast: 'yes' as unknown as boolean })).toThrow(TypeError);
    expect(() => runGraph(tasks, { order: 'lifo' as 'fifo' })).toThrow(TypeError);
  });

  it('the builder rejects duplicate names and unknown dependencies at once', () => {
    const graph = defineGraph().task('a', { run: () => [1] });
    expect(() => (graph.task as (n: string, t: GraphTask) => unknown)('a', ok(2))).toThrow(
      'task "a" is already defined',
    );
    expect(() =>
      (graph.task as (n: string, t: GraphTask) => unknown)('b', { deps: ['zzz'], run: () => [] }),
    ).toThrow(UnknownDependencyError);
  });

  it('the builder rejects deps that are not an array of task names, naming the task', () => {
    const graph = defineGraph().task('a', { run: () => [1] });
    const add = graph.task.bind(graph) as (n: string, t: unknown) => unknown;
    for (const [deps, shown] of [
      [5, '5'],
      [null, 'null'],
      ['a', '"a"'],
      [[1], 'an array'],
    ] as const) {
      const call = () => add('b', { deps, run: () => [] });
      expect(call).toThrow(TypeError);
      expect(call).toThrow(`task "b": deps must be an array of task names; received ${shown}`);
    }
    expect(() => add('b', { deps: ['a'], run: () => [] })).not.toThrow();
    expect(() => add('b', { run: () => [] })).not.toThrow();
  });

  it('rejects an engine without run(), null included, naming it and the value', () => {
    for (const [engine, shown] of [
      [{}, 'an object'],
      [null, 'null'],
      [5, '5'],
    ] as const) {
      const call = () => runGraph({ a: ok(1) }, { engine: engine as never });
      expect(call).toThrow(TypeError);
      expect(call).toThrow(`engine must be an Engine (see createEngine); received ${shown}`);
    }
    expect(() =>
      runGraph({ a: ok(1) }, { engine: createEngine({ metrics: false }) }),
    ).not.toThrow();
  });
});

describe('runGraph: dependencies and results', () => {
  it('runs each task once, after its dependencies, with their last values', async () => {
    const calls: string[] = [];
    const graph = defineGraph()
      .task('user', {
        run: () => {
          calls.push('user');
          return Promise.resolve({ id: 7, name: 'Ada' });
        },
      })
      .task('posts', {
        deps: ['user'],
        run: ({ user }) => {
          calls.push('posts');
          return from([[`draft by ${user.name}`], [`post by ${user.name}`]]);
        },
      })
      .task('count', {
        deps: ['posts', 'user'],
        run: ({ posts, user }) => {
          calls.push('count');
          return [posts.length + user.id];
        },
      });
    const r = record(runGraph(graph, { executor: createExecutor({ concurrency: 4 }) }));
    await vi.waitFor(() => expect(r.completed).toBe(true));
    expect(calls).toEqual(['user', 'posts', 'count']);
    const done = r.events.at(-1);
    expect(done).toMatchObject({
      type: 'graph-completed',
      ok: true,
      summary: { total: 3, succeeded: 3, failed: 0, skipped: 0, executed: 3 },
      results: { user: { id: 7, name: 'Ada' }, posts: ['post by Ada'], count: 8 },
    });
    expect(r.trace()).toEqual([
      'graph-started',
      'task-started:user',
      'task-succeeded:user',
      'task-started:posts',
      'task-succeeded:posts',
      'task-started:count',
      'task-succeeded:count',
      'graph-completed',
    ]);
  });

  it('gives a task that emits nothing the result undefined', () => {
    const r = record(
      runGraph({
        a: { run: () => EMPTY },
        b: { deps: ['a'], run: ({ a }) => [a === undefined ? 'none' : 'some'] },
      }),
    );
    expect(r.completed).toBe(true);
    expect(r.events.at(-1)).toMatchObject({ results: { a: undefined, b: 'none' } });
  });

  it('deep-freezes results: a dependent cannot change what another sees', () => {
    const r = record(
      runGraph({
        a: { run: () => [{ list: [1, 2] }] },
        b: {
          deps: ['a'],
          run: ({ a }) => {
            expect(Object.isFrozen(a)).toBe(true);
            expect(Object.isFrozen((a as { list: number[] }).list)).toBe(true);
            return [1];
          },
        },
      }),
    );
    expect(r.completed).toBe(true);
  });

  it('an empty graph starts and completes', () => {
    const r = record(runGraph({}));
    expect(r.trace()).toEqual(['graph-started', 'graph-completed']);
    expect(r.completed).toBe(true);
  });

  it('timestamps come from the injected clock', () => {
    const clock = manualClock(100);
    const gates = new Gates();
    const r = record(runGraph({ a: gates.task('a') }, { clock }));
    clock.advance(5);
    gates.finish('a', 1);
    clock.advance(1);
    expect(r.events).toEqual([
      { type: 'graph-started', time: 100, tasks: ['a'] },
      {
        type: 'task-started',
        task: 'a',
        time: 100,
        key: undefined,
        label: 'a',
        priority: 'normal',
      },
      {
        type: 'task-succeeded',
        task: 'a',
        time: 105,
        startedAt: 100,
        durationMs: 5,
        key: undefined,
        value: 1,
        executed: true,
      },
      {
        type: 'graph-completed',
        time: 105,
        startedAt: 100,
        durationMs: 5,
        ok: true,
        summary: { total: 1, succeeded: 1, failed: 0, skipped: 0, executed: 1 },
        results: { a: 1 },
      },
    ]);
  });

  it('each subscription is a new run (the stream is cold)', () => {
    const run = vi.fn(() => of(1));
    const events$ = runGraph({ a: { run } });
    expect(run).not.toHaveBeenCalled();
    record(events$);
    record(events$);
    expect(run).toHaveBeenCalledTimes(2);
  });
});

describe('runGraph: parallelism and critical-path order', () => {
  it('runs independent tasks in parallel up to the executor cap', () => {
    const executor = createExecutor({ concurrency: 2 });
    const gates = new Gates();
    const tasks = {
      a: gates.task('a'),
      b: gates.task('b'),
      c: gates.task('c'),
      d: gates.task('d'),
    };
    const r = record(runGraph(tasks, { executor }));
    expect(gates.started).toEqual(['a', 'b']);
    expect(executor.stats()).toMatchObject({ running: 2 });
    gates.finish('b');
    expect(gates.started).toEqual(['a', 'b', 'c']);
    gates.finish('a');
    gates.finish('c');
    gates.finish('d');
    expect(r.completed).toBe(true);
    expect(executor.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('the concurrency option caps the run below the executor cap', () => {
    const executor = createExecutor({ concurrency: 8 });
    const gates = new Gates();
    record(
      runGraph(
        { a: gates.task('a'), b: gates.task('b'), c: gates.task('c') },
        { executor, concurrency: 1 },
      ),
    );
    expect(gates.started).toEqual(['a']);
    expect(executor.stats()).toMatchObject({ running: 1, queued: 0 });
    gates.finish('a');
    expect(gates.started).toEqual(['a', 'b']);
  });

  it('starts the ready task with the longest remaining path first', () => {
    const executor = createExecutor({ concurrency: 1 });
    const gates = new Gates();
    // `short` is defined first, but `head` leads a chain of three.
    const tasks = {
      short: gates.task('short'),
      head: gates.task('head'),
      mid: gates.task('mid', { deps: ['head'] }),
      tail: gates.task('tail', { deps: ['mid'] }),
    };
    record(runGraph(tasks, { executor }));
    expect(gates.started).toEqual(['head']);
    gates.finish('head');
    expect(gates.started).toEqual(['head', 'mid']);
  });

  it('weighs paths by cost', () => {
    const executor = createExecutor({ concurrency: 1 });
    const gates = new Gates();
    const tasks = {
      chain1: gates.task('chain1'),
      chain2: gates.task('chain2', { deps: ['chain1'] }),
      big: gates.task('big', { cost: 5 }),
    };
    record(runGraph(tasks, { executor }));
    expect(gates.started).toEqual(['big']);
  });

  it("with order 'fifo', starts ready tasks in the order they became ready", () => {
    const executor = createExecutor({ concurrency: 1 });
    const gates = new Gates();
    const tasks = {
      short: gates.task('short'),
      head: gates.task('head'),
      tail: gates.task('tail', { deps: ['head'] }),
    };
    record(runGraph(tasks, { executor, order: 'fifo' }));
    expect(gates.started).toEqual(['short']);
  });

  it('orders by lane first: a critical task starts before a longer normal path', () => {
    const executor = createExecutor({ concurrency: 1 });
    const gates = new Gates();
    const blocker = new Subject<number>();
    executor.schedule(() => blocker).subscribe();
    const tasks = {
      head: gates.task('head'),
      tail: gates.task('tail', { deps: ['head'] }),
      urgent: gates.task('urgent', { priority: 'critical' }),
    };
    record(runGraph(tasks, { executor }));
    blocker.complete();
    expect(gates.started).toEqual(['urgent']);
  });

  it('learns durations by label: a task that was slow before starts first next time', () => {
    const executor = createExecutor({ concurrency: 1 });
    const clock = manualClock();
    const gates = new Gates();
    const tasks = { quick: gates.task('quick'), slow: gates.task('slow') };
    record(runGraph(tasks, { executor, clock }));
    expect(gates.started).toEqual(['quick']);
    clock.advance(1);
    gates.finish('quick');
    clock.advance(50);
    gates.finish('slow');
    const second = new Gates();
    record(
      runGraph({ quick: second.task('quick'), slow: second.task('slow') }, { executor, clock }),
    );
    expect(second.started).toEqual(['slow']);
  });

  it('picks the task when the slot is granted, not when it queued: a late long path overtakes', () => {
    const executor = createExecutor({ concurrency: 1 });
    const outside = new Subject<number>();
    executor.schedule(() => outside).subscribe();
    const gates = new Gates();
    // Both tasks become ready while the only slot is busy with outside work.
    const tasks = {
      short: gates.task('short'),
      long: gates.task('long'),
      after: gates.task('after', { deps: ['long'] }),
    };
    record(runGraph(tasks, { executor }));
    expect(gates.started).toEqual([]);
    // One ticket waits (never more than the executor has slots); it is not bound to a task.
    expect(executor.stats()).toMatchObject({ running: 1, queued: 1 });
    outside.complete();
    expect(gates.started).toEqual(['long']);
  });

  it('shares a busy executor fairly: its tickets wait in the executor FIFO', () => {
    const executor = createExecutor({ concurrency: 1 });
    const log: string[] = [];
    const outside = new Subject<number>();
    executor.schedule(() => outside).subscribe();
    record(runGraph({ g: { run: () => sideEffect(() => log.push('graph'), [1]) } }, { executor }));
    executor.schedule(() => sideEffect(() => log.push('later'), [1])).subscribe();
    outside.complete();
    expect(log).toEqual(['graph', 'later']);
  });
});

describe('runGraph: locks', () => {
  it('tasks sharing a lock never overlap; waiting for a lock holds no slot', () => {
    const executor = createExecutor({ concurrency: 3 });
    const gates = new Gates();
    const tasks = {
      a: gates.task('a', { locks: ['db'] }),
      b: gates.task('b', { locks: ['db', 'fs'] }),
      c: gates.task('c', { locks: ['fs'] }),
      d: gates.task('d'),
    };
    const r = record(runGraph(tasks, { executor }));
    expect(gates.started).toEqual(['a', 'c', 'd']);
    // b waits for both locks without a slot or a queued ticket.
    expect(executor.stats()).toMatchObject({ running: 3, queued: 0 });
    gates.finish('a');
    expect(gates.started).toEqual(['a', 'c', 'd']);
    expect(executor.stats()).toMatchObject({ running: 2, queued: 0 });
    gates.finish('c');
    expect(gates.started).toEqual(['a', 'c', 'd', 'b']);
    gates.finish('b');
    gates.finish('d');
    expect(r.completed).toBe(true);
  });

  it('a released lock wakes the next waiter when the best one is blocked by another lock', () => {
    const executor = createExecutor({ concurrency: 4 });
    const gates = new Gates();
    const tasks = {
      p: gates.task('p', { locks: ['x'], cost: 20 }),
      q: gates.task('q', { locks: ['y'], cost: 20 }),
      both: gates.task('both', { locks: ['x', 'y'], cost: 10 }),
      onlyX: gates.task('onlyX', { locks: ['x'], cost: 5 }),
    };
    record(runGraph(tasks, { executor }));
    expect(gates.started).toEqual(['p', 'q']);
    gates.finish('p');
    // `both` still needs y: `onlyX` may take x now rather than wait for q.
    expect(gates.started).toEqual(['p', 'q', 'onlyX']);
    gates.finish('q');
    gates.finish('onlyX');
    expect(gates.started).toEqual(['p', 'q', 'onlyX', 'both']);
  });

  it('a task found blocked when its turn comes lets the next waiter of its free locks run', () => {
    const executor = createExecutor({ concurrency: 2 });
    const gates = new Gates();
    const tasks = {
      p: gates.task('p', { locks: ['x'], cost: 30 }),
      r: gates.task('r', { cost: 1 }),
      both: gates.task('both', { deps: ['r'], locks: ['x', 'y'], cost: 10 }),
      onlyX: gates.task('onlyX', { deps: ['r'], locks: ['x'], cost: 5 }),
      h: gates.task('h', { deps: ['p'], locks: ['y'], cost: 20 }),
    };
    record(runGraph(tasks, { executor }));
    expect(gates.started).toEqual(['p', 'r']);
    gates.finish('r'); // `both` and `onlyX` are ready but wait for x
    expect(gates.started).toEqual(['p', 'r']);
    // x is free: `both` is woken first, but `h` (longer) starts first and takes y; when
    // `both` comes up blocked by y, `onlyX` gets x and the other slot.
    gates.finish('p');
    expect(gates.started).toEqual(['p', 'r', 'h', 'onlyX']);
    gates.finish('h');
    gates.finish('onlyX');
    expect(gates.started).toEqual(['p', 'r', 'h', 'onlyX', 'both']);
  });

  it('locks hold across graphs on the same executor', () => {
    const executor = createExecutor({ concurrency: 4 });
    const first = new Gates();
    const second = new Gates();
    record(runGraph({ w: first.task('w', { locks: ['file'] }) }, { executor }));
    const r = record(runGraph({ w: second.task('w', { locks: ['file'] }) }, { executor }));
    expect(second.started).toEqual([]);
    first.finish('w');
    expect(second.started).toEqual(['w']);
    second.finish('w');
    expect(r.completed).toBe(true);
  });

  it('unsubscribing releases locks', () => {
    const executor = createExecutor({ concurrency: 4 });
    const first = new Gates();
    const second = new Gates();
    const r1 = record(runGraph({ w: first.task('w', { locks: ['file'] }) }, { executor }));
    record(runGraph({ w: second.task('w', { locks: ['file'] }) }, { executor }));
    r1.subscription.unsubscribe();
    expect(first.signals.get('w')?.aborted).toBe(true);
    expect(second.started).toEqual(['w']);
  });
});

describe('runGraph: failures', () => {
  it('failFast: aborts running tasks, skips the rest, reports them, then errors', () => {
    const executor = createExecutor({ concurrency: 2 });
    const gates = new Gates();
    const tasks = {
      a: gates.task('a'),
      b: gates.task('b'),
      c: gates.task('c', { deps: ['a'] }),
      d: gates.task('d'),
    };
    const r = record(runGraph(tasks, { executor }));
    const boom = new Error('boom');
    gates.fail('a', boom);
    expect(gates.signals.get('b')?.aborted).toBe(true);
    expect(gates.signals.get('b')?.reason).toBeInstanceOf(AbortError);
    expect(gates.started).toEqual(['a', 'b']);
    expect(r.trace()).toEqual([
      'graph-started',
      'task-started:a',
      'task-started:b',
      'task-failed:a',
      'task-skipped:b',
      'task-skipped:c',
      'task-skipped:d',
      'graph-completed',
    ]);
    expect(r.events.filter((e) => e.type === 'task-skipped')).toMatchObject([
      { task: 'b', reason: 'aborted', cause: 'a' },
      { task: 'c', reason: 'fail-fast', cause: 'a' },
      { task: 'd', reason: 'fail-fast', cause: 'a' },
    ]);
    expect(r.events.at(-1)).toMatchObject({
      ok: false,
      summary: { succeeded: 0, failed: 1, skipped: 3 },
    });
    expect(r.errored).toBe(true);
    expect(r.error).toBe(boom);
    expect(executor.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('without failFast, skips only the transitive dependents and completes', () => {
    const executor = createExecutor({ concurrency: 1 });
    const gates = new Gates();
    const tasks = {
      bad: gates.task('bad', { cost: 10 }),
      child: gates.task('child', { deps: ['bad'] }),
      grandchild: gates.task('grandchild', { deps: ['child', 'other'] }),
      other: gates.task('other'),
      lone: gates.task('lone'),
    };
    const r = record(runGraph(tasks, { executor, failFast: false }));
    gates.fail('bad', new Error('x'));
    gates.finish('other');
    gates.finish('lone');
    expect(gates.started).toEqual(['bad', 'other', 'lone']);
    expect(r.events.filter((e) => e.type === 'task-skipped')).toMatchObject([
      { task: 'child', reason: 'dependency-failed', cause: 'bad' },
      { task: 'grandchild', reason: 'dependency-failed', cause: 'bad' },
    ]);
    expect(r.completed).toBe(true);
    expect(r.events.at(-1)).toMatchObject({
      ok: false,
      summary: { total: 5, succeeded: 2, failed: 1, skipped: 2 },
      results: { other: 'other', lone: 'lone' },
    });
  });

  it('a run that throws synchronously fails its task', () => {
    const r = record(
      runGraph({
        a: {
          run: () => {
            throw new TypeError('sync');
          },
        },
      }),
    );
    expect(r.trace()).toEqual([
      'graph-started',
      'task-started:a',
      'task-failed:a',
      'graph-completed',
    ]);
    expect(r.error).toBeInstanceOf(TypeError);
  });

  it('a key function that throws fails its task before the work runs', () => {
    const run = vi.fn(() => of(1));
    const r = record(
      runGraph(
        {
          a: {
            run,
            key: () => {
              throw new Error('no key');
            },
          },
        },
        { failFast: false },
      ),
    );
    expect(run).not.toHaveBeenCalled();
    expect(r.events.find((e) => e.type === 'task-failed')).toMatchObject({ executed: false });
    expect(r.completed).toBe(true);
  });

  it('unsubscribing aborts running tasks and withdraws queued ones', () => {
    const executor = createExecutor({ concurrency: 1 });
    const gates = new Gates();
    const r = record(runGraph({ a: gates.task('a'), b: gates.task('b') }, { executor }));
    expect(executor.stats()).toMatchObject({ running: 1, queued: 1 });
    const before = r.events.length;
    r.subscription.unsubscribe();
    expect(gates.signals.get('a')?.aborted).toBe(true);
    expect(executor.stats()).toMatchObject({ running: 0, queued: 0 });
    expect(gates.started).toEqual(['a']);
    expect(r.events.length).toBe(before);
  });

  it('a consumer may unsubscribe from inside an event', () => {
    const gates = new Gates();
    const seen: string[] = [];
    const subscription = runGraph({
      a: gates.task('a'),
      b: gates.task('b', { deps: ['a'] }),
    }).subscribe((e) => {
      seen.push(e.type);
      if (e.type === 'task-succeeded') subscription.unsubscribe();
    });
    gates.finish('a');
    expect(gates.started).toEqual(['a']);
    expect(seen).toEqual(['graph-started', 'task-started', 'task-succeeded']);
  });
});

describe('runGraph: with an engine (incremental re-runs)', () => {
  const counting = () => {
    const calls: string[] = [];
    const version: Record<string, number> = { source: 1, config: 1 };
    const tasks = (): Record<string, GraphTask> => ({
      source: {
        key: `source@${version.source}`,
        run: () => sideEffect(() => calls.push('source'), Promise.resolve(`src${version.source}`)),
      },
      config: {
        key: `config@${version.config}`,
        run: () => sideEffect(() => calls.push('config'), [`cfg${version.config}`]),
      },
      compile: {
        deps: ['source'],
        key: (k) => `compile(${k.source})`,
        run: ({ source }) => sideEffect(() => calls.push('compile'), [`bin(${String(source)})`]),
      },
      bundle: {
        deps: ['compile', 'config'],
        key: (k) => `bundle(${k.compile},${k.config})`,
        run: () => sideEffect(() => calls.push('bundle'), ['bundle']),
      },
    });
    return { calls, version, tasks };
  };

  it('a second run with unchanged keys executes nothing', async () => {
    const engine = createEngine({ executor: { concurrency: 2 } });
    const { calls, tasks } = counting();
    const first = record(runGraph(tasks(), { engine }));
    await vi.waitFor(() => expect(first.completed).toBe(true));
    expect(calls.sort()).toEqual(['bundle', 'compile', 'config', 'source']);
    calls.length = 0;
    const second = record(runGraph(tasks(), { engine }));
    expect(second.completed).toBe(true); // served synchronously from the memory cache
    expect(calls).toEqual([]);
    expect(second.events.at(-1)).toMatchObject({
      summary: { succeeded: 4, executed: 0 },
      results: { bundle: 'bundle', compile: 'bin(src1)' },
    });
    expect(second.events.filter((e) => e.type === 'task-succeeded').every((e) => !e.executed)).toBe(
      true,
    );
  });

  it('a changed key re-runs that task and the tasks whose keys derive from it', async () => {
    const engine = createEngine();
    const { calls, version, tasks } = counting();
    const first = record(runGraph(tasks(), { engine }));
    await vi.waitFor(() => expect(first.completed).toBe(true));
    calls.length = 0;
    version.config = 2;
    const second = record(runGraph(tasks(), { engine }));
    await vi.waitFor(() => expect(second.completed).toBe(true));
    expect(calls).toEqual(['config', 'bundle']);
  });

  it('an expired entry runs again', async () => {
    let now = 0;
    const engine = createEngine({ wallClock: { now: () => now } });
    const run = vi.fn(() => [1]);
    const tasks = { a: { key: 'a', ttl: 10, run } };
    record(runGraph(tasks, { engine }));
    now = 5;
    record(runGraph(tasks, { engine }));
    expect(run).toHaveBeenCalledTimes(1);
    now = 11;
    record(runGraph(tasks, { engine }));
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('the key function receives the dependencies keys and results', () => {
    const engine = createEngine();
    const key = vi.fn(
      (k: Readonly<Record<string, string | undefined>>, d: Readonly<Record<string, unknown>>) =>
        `b(${k.a},${String(d.a)})`,
    );
    const tasks: Record<string, GraphTask> = {
      a: { key: 'ka', run: () => [42] },
      b: { deps: ['a'], key, run: () => [1] },
    };
    const r = record(runGraph(tasks, { engine }));
    expect(key).toHaveBeenCalledWith({ a: 'ka' }, { a: 42 });
    expect(r.events.find((e) => e.type === 'task-started' && e.task === 'b')).toMatchObject({
      key: 'b(ka,42)',
    });
  });

  it('a keyed task joins an execution of its key already in flight', () => {
    const engine = createEngine();
    const subject = new Subject<number>();
    const run = vi.fn(() => subject);
    const a = record(runGraph({ t: { key: 'shared', run } }, { engine }));
    const b = record(runGraph({ u: { key: 'shared', run } }, { engine }));
    subject.next(3);
    subject.complete();
    expect(run).toHaveBeenCalledTimes(1);
    expect(a.events.at(-1)).toMatchObject({ results: { t: 3 } });
    expect(b.events.at(-1)).toMatchObject({ results: { u: 3 }, summary: { executed: 0 } });
  });

  it('keyed tasks respect the executor cap and unkeyed ones share it', () => {
    const engine = createEngine({ executor: { concurrency: 1 } });
    const gates = new Gates();
    const r = record(
      runGraph(
        { a: gates.task('a', { key: 'a' }), b: gates.task('b'), c: gates.task('c', { key: 'c' }) },
        { engine },
      ),
    );
    expect(gates.started).toEqual(['a']);
    expect(engine.executor.stats().running).toBe(1);
    gates.finish('a');
    expect(gates.started).toEqual(['a', 'b']);
    gates.finish('b');
    gates.finish('c');
    expect(r.completed).toBe(true);
    expect(engine.executor.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('unsubscribing aborts a keyed task running through the engine', async () => {
    const engine = createEngine();
    const gates = new Gates();
    const r = record(runGraph({ a: gates.task('a', { key: 'a' }) }, { engine }));
    r.subscription.unsubscribe();
    // The engine aborts a shared execution its last subscriber left at the next microtask.
    await vi.waitFor(() => expect(gates.signals.get('a')?.aborted).toBe(true));
    expect(engine.inFlight).toBe(0);
  });
});

describe('runGraph: unsubscribing while it subscribes', () => {
  it('a consumer leaving on graph-started runs nothing', () => {
    const run = vi.fn(() => of(1));
    const subscription = runGraph({ a: { run } }).pipe(take(1)).subscribe();
    expect(run).not.toHaveBeenCalled();
    expect(subscription.closed).toBe(true);
  });

  it('a consumer leaving on task-started aborts the task at once', () => {
    const gates = new Gates();
    const executor = createExecutor({ concurrency: 2 });
    runGraph({ a: gates.task('a'), b: gates.task('b') }, { executor })
      .pipe(take(2))
      .subscribe();
    expect(gates.started).toEqual([]);
    expect(executor.stats()).toMatchObject({ running: 0, queued: 0 });
  });
});
