import {
  createEngine,
  createExecutor,
  type ExecutorEvent,
  PreemptedError,
  type Priority,
} from 'eed';
import fc from 'fast-check';
import { Observable, type Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';

/**
 * Model-based properties for DESIGN.md "Short-circuit and speculation" and "Sharing and
 * caching": prefetches interleaved with real runs of the same keys (and other work) on a
 * small executor, every work completion released by fast-check's scheduler.
 *
 * 1. A prefetched key in flight or cached is served to a later run without calling the
 *    work again (work calls counted per key, directly).
 * 2. A run joining a queued execution (a prefetch, or any) moves it to the tail of the
 *    caller's lane (a 'promoted' event, then the start order), so a joined prefetch no
 *    longer waits behind background work.
 * 3. A prefetch counts as a subscriber: once a real caller joined it, its signal is never
 *    aborted (not by preemption, not when the callers leave); a run's execution is aborted
 *    only when no subscriber is left.
 * 4. A running execution a higher caller joins counts in the caller's lane from then on
 *    (a 'promoted' event): a joined prefetch no longer holds background capacity, the
 *    background lane never holds more than `backgroundConcurrency` slots, and no slot
 *    stays idle while queued work could start.
 */

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f'] as const;

type Step =
  | { kind: 'prefetch'; key: string }
  | { kind: 'run'; key: string; priority: Priority }
  /** Unsubscribes the `index`-th (modulo) run still subscribed. */
  | { kind: 'leave'; index: number }
  /** Work completions wait until `release` (so queues build up). */
  | { kind: 'hold' }
  | { kind: 'release' };

/** A generated step: a run may `follow` the latest prefetch step (same key). */
type RawStep =
  | Exclude<Step, { kind: 'run' }>
  | { kind: 'run'; key: string; priority: Priority; follow: boolean };

const LANES: readonly Priority[] = ['critical', 'normal', 'background'];
const rank = (priority: Priority): number => LANES.indexOf(priority);

const prefetchArb = fc.record({
  kind: fc.constant('prefetch' as const),
  key: fc.constantFrom(...KEYS),
});
const runArb = fc.record({
  kind: fc.constant('run' as const),
  key: fc.constantFrom(...KEYS),
  priority: fc.constantFrom<Priority>('critical', 'normal', 'background'),
  follow: fc.boolean(),
});
const leaveArb = fc.record({ kind: fc.constant('leave' as const), index: fc.nat(24) });

/** Resolves `follow` so counterexamples show the keys runs actually used. */
function resolveSteps(raw: readonly RawStep[]): Step[] {
  let prefetched: string | undefined;
  return raw.map((step) => {
    if (step.kind === 'prefetch') prefetched = step.key;
    if (step.kind !== 'run') return step;
    const key = step.follow ? (prefetched ?? step.key) : step.key;
    return { kind: 'run', key, priority: step.priority };
  });
}

const executorArb = fc.integer({ min: 1, max: 2 }).chain((concurrency) =>
  fc.record({
    concurrency: fc.constant(concurrency),
    backgroundConcurrency: fc.integer({ min: 0, max: concurrency }),
  }),
);

interface TaskModel {
  readonly id: number;
  readonly key: string;
  readonly prefetch: boolean;
  /** A real caller (a run) joined this execution. */
  joined: boolean;
  /** The lane the task should be in: its own priority, raised by every joiner. */
  lane: Priority;
  state: 'queued' | 'running' | 'done';
  /** The value its work produced, once it completed. */
  value: string | undefined;
}

interface SubModel {
  readonly id: number;
  readonly key: string;
  readonly kind: 'new' | 'join' | 'hit';
  /** The execution this run subscribed to (undefined for a cache hit). */
  taskId: number | undefined;
  /** The run joined an execution that a prefetch started. */
  readonly joinedPrefetch: boolean;
  readonly values: string[];
  completed: boolean;
  errored: boolean;
  left: boolean;
  subscription: Subscription | undefined;
}

interface Call {
  readonly key: string;
  readonly origin: 'prefetch' | 'run';
  readonly taskId: number;
  value: string | undefined;
  aborted: boolean;
}

type Context = { kind: 'prefetch'; key: string } | { kind: 'run'; key: string; priority: Priority };

/** Lets queued microtasks (a flight abandoned by its last subscriber) run. */
async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/**
 * Plays `steps` against a fresh engine on an executor of `concurrency` slots, checking the
 * guarantees as it goes; resolves with the violations found (empty when none).
 */
async function play(
  s: fc.Scheduler,
  concurrency: number,
  backgroundConcurrency: number,
  steps: readonly Step[],
): Promise<string[]> {
  const executor = createExecutor({ concurrency, backgroundConcurrency });
  const engine = createEngine({ executor });
  const problems: string[] = [];

  const tasks = new Map<number, TaskModel>();
  /** The execution of each key in flight (its queued or running task). */
  const taskOf = new Map<string, number>();
  /** Queued task ids per lane, in the order the executor must start them. */
  const lanes: [number[], number[], number[]] = [[], [], []];
  /** Values of keys whose work completed: the cache (TTL Infinity). */
  const cached = new Map<string, string>();
  const calls: Call[] = [];
  const subs: SubModel[] = [];
  let context: Context | undefined;
  let lastStarted = -1;
  let promotions: ExecutorEvent[] = [];
  let held = false;
  const parked: (() => void)[] = [];
  const release = () => {
    held = false;
    for (const attempt of parked.splice(0)) attempt();
  };
  /** No background capacity: a task in the background lane can never start. */
  const stuck = (task: TaskModel | undefined) =>
    task?.state === 'queued' && task.lane === 'background' && backgroundConcurrency === 0;

  const activeSubscribers = (taskId: number): number =>
    subs.filter((sub) => sub.taskId === taskId && !sub.left && !sub.completed && !sub.errored)
      .length;

  const laneOf = (priority: Priority): number[] => lanes[rank(priority)] as number[];

  const removeQueued = (task: TaskModel) => {
    const lane = laneOf(task.lane);
    const at = lane.indexOf(task.id);
    if (at < 0) problems.push(`task ${task.id} (${task.key}) not queued in lane ${task.lane}`);
    else lane.splice(at, 1);
  };

  const ended = (task: TaskModel) => {
    task.state = 'done';
    if (taskOf.get(task.key) === task.id) taskOf.delete(task.key);
  };

  const onQueued = (e: Extract<ExecutorEvent, { type: 'queued' }>) => {
    const label = e.label ?? '';
    if (context === undefined || context.key !== label) {
      problems.push(`task ${e.taskId} (${label}) queued outside a request for it`);
      return;
    }
    const prefetch = context.kind === 'prefetch';
    const priority = context.kind === 'prefetch' ? 'background' : context.priority;
    if (e.priority !== priority) {
      problems.push(`task ${label} queued in ${e.priority}, asked for ${priority}`);
    }
    if (e.preemptible !== prefetch) {
      problems.push(`task ${label} preemptible=${e.preemptible}, prefetch=${prefetch}`);
    }
    tasks.set(e.taskId, {
      id: e.taskId,
      key: label,
      prefetch,
      joined: false,
      lane: e.priority,
      state: 'queued',
      value: undefined,
    });
    laneOf(e.priority).push(e.taskId);
    taskOf.set(label, e.taskId);
  };

  executor.events$.subscribe((e) => {
    if (e.type === 'queued') return onQueued(e);
    if (e.type === 'promoted') {
      promotions.push(e);
      return;
    }
    const task = tasks.get(e.taskId);
    if (task === undefined) {
      problems.push(`${e.type} of unknown task ${e.taskId}`);
      return;
    }
    switch (e.type) {
      case 'started': {
        // The head of the highest non-empty lane starts (FIFO within a lane); a joined
        // task sits in the lane of the highest caller that joined it.
        const [critical, normal, background] = lanes;
        const lane = critical.length > 0 ? critical : normal.length > 0 ? normal : background;
        if (lane[0] !== task.id) {
          problems.push(
            `task ${task.id} (${task.key}, ${task.lane}) started while queued: ${JSON.stringify(lanes)}`,
          );
        }
        if (e.priority !== task.lane) {
          problems.push(`task ${task.key} started in ${e.priority}, expected ${task.lane}`);
        }
        removeQueued(task);
        task.state = 'running';
        lastStarted = task.id;
        break;
      }
      case 'completed':
        ended(task);
        break;
      case 'cancelled':
        // Guarantee 3: a prefetch holds its execution until it lands; a run's execution
        // is stopped only once its last subscriber left.
        if (task.prefetch) problems.push(`prefetch ${task.key} cancelled`);
        if (activeSubscribers(task.id) > 0) {
          problems.push(`execution ${task.key} cancelled with subscribers left`);
        }
        if (task.state === 'queued') removeQueued(task);
        ended(task);
        break;
      case 'preempted':
        if (!task.prefetch || task.joined) {
          problems.push(`${task.key} preempted (prefetch=${task.prefetch}, joined=${task.joined})`);
        }
        ended(task);
        break;
      case 'failed':
        problems.push(`task ${task.key} failed: ${String(e.error)}`);
        ended(task);
        break;
    }
  });

  /** Work for `key`: one value, released by the scheduler; every call is recorded. */
  const makeWork =
    (key: string, origin: 'prefetch' | SubModel) =>
    (signal: AbortSignal): Observable<string> => {
      const task = tasks.get(lastStarted);
      const who = origin === 'prefetch' ? 'prefetch' : `run ${origin.id}`;
      if (task === undefined || task.key !== key || task.state !== 'running') {
        problems.push(`work of ${key} (${who}) called outside its task`);
      } else if (
        origin === 'prefetch' ? !task.prefetch : origin.kind !== 'new' || origin.taskId !== task.id
      ) {
        problems.push(`work of ${key} (${who}) called for task ${task.id}`);
      }
      // Guarantee 1, counted directly: never while the key is cached or while another
      // call of it runs.
      if (cached.has(key)) problems.push(`work of ${key} (${who}) called although cached`);
      if (calls.some((c) => c.key === key && c.value === undefined && !c.aborted)) {
        problems.push(`work of ${key} (${who}) called while another call of it runs`);
      }
      const call: Call = {
        key,
        origin: origin === 'prefetch' ? 'prefetch' : 'run',
        taskId: task?.id ?? -1,
        value: undefined,
        aborted: false,
      };
      const value = `${key}#${calls.length}`;
      calls.push(call);
      signal.addEventListener('abort', () => {
        call.aborted = true;
        if (task === undefined) return;
        if (task.prefetch) {
          // Guarantee 3: only preemption, before any caller joined, stops a prefetch.
          if (!(signal.reason instanceof PreemptedError) || task.joined) {
            problems.push(
              `prefetch ${key} aborted (${String(signal.reason)}, joined=${task.joined})`,
            );
          }
        } else if (activeSubscribers(task.id) > 0) {
          problems.push(`execution ${key} aborted while a subscriber is left`);
        }
      });
      return new Observable<string>((subscriber) => {
        const attempt = () => {
          void s.schedule(Promise.resolve(), `work ${key}`).then(() => {
            if (signal.aborted) return;
            if (held) {
              parked.push(attempt);
              return;
            }
            call.value = value;
            if (task !== undefined) task.value = value;
            cached.set(key, value);
            subscriber.next(value);
            subscriber.complete();
          });
        };
        attempt();
      });
    };

  const subscribe = (sub: SubModel, priority: Priority): Subscription =>
    engine.run(sub.key, makeWork(sub.key, sub), { priority, label: sub.key }).subscribe({
      next: (value) => sub.values.push(value),
      error: (error: unknown) => {
        sub.errored = true;
        problems.push(`run ${sub.id} (${sub.key}) failed: ${String(error)}`);
      },
      complete: () => {
        sub.completed = true;
      },
    });

  const doPrefetch = (key: string) => {
    const issues = !cached.has(key) && !taskOf.has(key);
    const before = taskOf.get(key);
    context = { kind: 'prefetch', key };
    engine.prefetch(key, makeWork(key, 'prefetch'), { label: key });
    context = undefined;
    const after = taskOf.get(key);
    const issued = after !== undefined && after !== before;
    if (issued !== issues) problems.push(`prefetch ${key}: issued=${issued}, expected ${issues}`);
  };

  const doRun = (key: string, priority: Priority) => {
    const existing = taskOf.get(key);
    const task = existing === undefined ? undefined : tasks.get(existing);
    const kind = cached.has(key) ? 'hit' : task !== undefined ? 'join' : 'new';
    let expected: { taskId: number; from: Priority; to: Priority } | undefined;
    if (kind === 'join' && task !== undefined) {
      task.joined = true;
      // Guarantee 2: a queued execution moves to the tail of a higher caller's lane; a
      // running one counts in that lane from now on.
      if (task.state !== 'done' && rank(priority) < rank(task.lane)) {
        expected = { taskId: task.id, from: task.lane, to: priority };
        if (task.state === 'queued') {
          removeQueued(task);
          laneOf(priority).push(task.id);
        }
        task.lane = priority;
      }
    }
    const sub: SubModel = {
      id: subs.length,
      key,
      kind,
      taskId: kind === 'join' ? task?.id : undefined,
      joinedPrefetch: kind === 'join' && task?.prefetch === true,
      values: [],
      completed: false,
      errored: false,
      left: false,
      subscription: undefined,
    };
    subs.push(sub);
    promotions = [];
    context = { kind: 'run', key, priority };
    if (kind === 'new') {
      // The new execution's task is queued (and may start) while subscribing.
      const watch = executor.events$.subscribe((e) => {
        if (e.type === 'queued' && e.label === key) sub.taskId = e.taskId;
      });
      sub.subscription = subscribe(sub, priority);
      watch.unsubscribe();
    } else {
      sub.subscription = subscribe(sub, priority);
    }
    context = undefined;
    if (taskOf.get(key) !== (kind === 'new' ? sub.taskId : existing)) {
      problems.push(`run ${sub.id} (${key}, ${kind}): execution ${taskOf.get(key)}`);
    }
    if (kind === 'new' && sub.taskId === undefined) {
      problems.push(`run ${sub.id} (${key}) started no execution`);
    }
    // Served at once from the entry the prefetch (or an earlier run) stored.
    if (kind === 'hit' && (!sub.completed || sub.values.join() !== cached.get(key))) {
      problems.push(`run ${sub.id} (${key}) not served from cache: ${JSON.stringify(sub.values)}`);
    }
    const seen = promotions.map((e) =>
      e.type === 'promoted' ? { taskId: e.taskId, from: e.from, to: e.priority } : e,
    );
    const want = expected === undefined ? [] : [expected];
    if (JSON.stringify(seen) !== JSON.stringify(want)) {
      problems.push(
        `run ${sub.id} (${key}, ${priority}): promotions ${JSON.stringify(seen)}, expected ${JSON.stringify(want)}`,
      );
    }
  };

  const doLeave = (index: number) => {
    const active = subs.filter((sub) => !sub.left && !sub.completed && !sub.errored);
    const sub = active[index % Math.max(1, active.length)];
    if (sub === undefined) return;
    sub.left = true;
    sub.subscription?.unsubscribe();
  };

  /**
   * Guarantee 4: the executor counts each running task in its (possibly raised) lane, and
   * leaves no slot idle that a queued task could take.
   */
  const checkAccounting = (when: string) => {
    const running = { critical: 0, normal: 0, background: 0 };
    for (const task of tasks.values()) if (task.state === 'running') running[task.lane]++;
    const stats = executor.stats();
    if (JSON.stringify(stats.runningByPriority) !== JSON.stringify(running)) {
      problems.push(
        `${when}: running ${JSON.stringify(stats.runningByPriority)}, model ${JSON.stringify(running)}`,
      );
    }
    if (stats.runningByPriority.background > backgroundConcurrency) {
      problems.push(`${when}: background holds more than ${backgroundConcurrency} slots`);
    }
    const queued = stats.queuedByPriority;
    const startable =
      queued.critical + queued.normal > 0 ||
      (queued.background > 0 && stats.runningByPriority.background < backgroundConcurrency);
    if (stats.running < concurrency && startable) {
      problems.push(`${when}: a slot idle while work could start: ${JSON.stringify(stats)}`);
    }
  };

  const driver = (async () => {
    for (const [i, step] of steps.entries()) {
      await s.schedule(Promise.resolve(), step.kind);
      if (step.kind === 'prefetch') doPrefetch(step.key);
      else if (step.kind === 'run') doRun(step.key, step.priority);
      else if (step.kind === 'leave') doLeave(step.index);
      else if (step.kind === 'hold') held = true;
      else release();
      checkAccounting(`after step ${i} (${step.kind})`);
    }
    release();
  })();
  await s.waitFor(driver);
  await s.waitIdle();
  await settleMicrotasks();
  checkAccounting('at the end');

  // Every run still subscribed got exactly the value of the execution it subscribed to;
  // one that joined a prefetch got the value of the prefetch's own (single) work call.
  for (const sub of subs) {
    if (sub.left || sub.errored) continue;
    const task = sub.taskId === undefined ? undefined : tasks.get(sub.taskId);
    if (!sub.completed) {
      if (!stuck(task)) problems.push(`run ${sub.id} (${sub.key}) never completed`);
      continue;
    }
    const value = sub.kind === 'hit' ? cached.get(sub.key) : task?.value;
    if (sub.values.length !== 1 || sub.values[0] !== value) {
      problems.push(`run ${sub.id} (${sub.key}) got ${JSON.stringify(sub.values)}, not ${value}`);
    }
    if (sub.joinedPrefetch) {
      const producer = calls.find((c) => c.value === sub.values[0]);
      if (producer?.origin !== 'prefetch' || producer.taskId !== sub.taskId) {
        problems.push(`run ${sub.id} (${sub.key}) joined a prefetch but got another value`);
      }
    }
  }
  // Per key: at most one call succeeded, and every other call was aborted.
  for (const key of new Set(calls.map((c) => c.key))) {
    const ofKey = calls.filter((c) => c.key === key);
    const succeeded = ofKey.filter((c) => c.value !== undefined).length;
    const aborted = ofKey.filter((c) => c.aborted).length;
    if (succeeded > 1 || succeeded + aborted !== ofKey.length) {
      problems.push(`${key}: ${ofKey.length} calls, ${succeeded} succeeded, ${aborted} aborted`);
    }
  }
  // A joined prefetch always lands, whether or not its callers stayed.
  for (const task of tasks.values()) {
    if (task.prefetch && task.joined && task.value === undefined && !stuck(task)) {
      problems.push(`joined prefetch ${task.key} (task ${task.id}) never landed`);
    }
  }

  for (const sub of subs) {
    sub.left = true;
    sub.subscription?.unsubscribe();
  }
  await settleMicrotasks();
  // All that may remain are prefetches waiting for background capacity that never comes.
  const remaining = [...tasks.values()].filter((task) => task.state !== 'done');
  for (const task of remaining) {
    if (!task.prefetch || !stuck(task)) {
      problems.push(`task ${task.id} (${task.key}) still ${task.state} at quiescence`);
    }
  }
  const stats = executor.stats();
  if (stats.running !== 0 || stats.queued !== remaining.length) {
    problems.push(`executor not quiescent: ${JSON.stringify(stats)}`);
  }
  if (engine.inFlight !== remaining.length) problems.push(`inFlight ${engine.inFlight}`);
  const redundancy = engine.metrics().redundancyRate;
  if (redundancy !== 0) problems.push(`redundancyRate ${redundancy}`);
  return problems;
}

describe('prefetch joined by real callers (model-based properties)', () => {
  it('random interleavings: served without re-running, promoted when joined, kept alive', async () => {
    const stepArb: fc.Arbitrary<RawStep> = fc.oneof(
      { weight: 3, arbitrary: prefetchArb },
      { weight: 4, arbitrary: runArb },
      { weight: 2, arbitrary: leaveArb },
      { weight: 1, arbitrary: fc.constant({ kind: 'hold' as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'release' as const }) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        executorArb,
        fc.array(stepArb, { minLength: 1, maxLength: 30 }).map(resolveSteps),
        async (s, { concurrency, backgroundConcurrency }, steps) => {
          expect(await play(s, concurrency, backgroundConcurrency, steps)).toEqual([]);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('queues built behind busy slots: joined prefetches leave the background lane', async () => {
    // Every slot is held by a normal run whose work waits for `release`; prefetches and
    // runs then queue up, runs join the queued prefetches, and the slots are released.
    const opArb: fc.Arbitrary<RawStep> = fc.oneof(
      { weight: 3, arbitrary: prefetchArb },
      { weight: 4, arbitrary: runArb },
      { weight: 1, arbitrary: leaveArb },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        executorArb,
        fc.array(opArb, { minLength: 1, maxLength: 14 }),
        async (s, { concurrency, backgroundConcurrency }, ops) => {
          const blockers = Array.from(
            { length: concurrency },
            (_, i): Step => ({ kind: 'run', key: `busy${i}`, priority: 'normal' }),
          );
          const steps: Step[] = [
            { kind: 'hold' },
            ...blockers,
            ...resolveSteps(ops),
            { kind: 'release' },
          ];
          expect(await play(s, concurrency, backgroundConcurrency, steps)).toEqual([]);
        },
      ),
      { numRuns: 400 },
    );
  });
});
