import {
  createExecutor,
  type ExecutionEvent,
  type Executor,
  PreemptedError,
  type Priority,
  type Work,
} from 'eed';
import fc from 'fast-check';
import { concat, defer, NEVER, Subject, type Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';

const PRIORITY: readonly Priority[] = ['critical', 'normal', 'background'];
const lane = (priority: Priority) => PRIORITY.indexOf(priority) as 0 | 1 | 2;

/**
 * Follows an executor through its events and checks, at every event, the invariants
 * that must hold at every instant: the caps, the start order (lanes, FIFO) and the
 * choice of preemption victims. `settled()` checks what must hold once the executor is
 * idle between two steps: it is work-conserving and agrees with `stats()`.
 */
class InvariantChecker {
  readonly lanes: [number[], number[], number[]] = [[], [], []];
  readonly running = new Map<number, { lane: number; preemptible: boolean; seq: number }>();
  readonly ends = new Map<number, string[]>();
  readonly labels = new Map<number, string | undefined>();
  readonly queuedPreemptible = new Map<number, boolean>();
  #seq = 0;
  readonly subscription: Subscription;

  constructor(readonly executor: Executor) {
    // An assertion failing inside an RxJS callback would be reported asynchronously, not
    // thrown here: keep the first one and rethrow it from `settled()`.
    this.subscription = executor.events$.subscribe((event) => {
      try {
        this.#on(event);
      } catch (error) {
        this.failure ??= { error };
      }
    });
  }

  failure: { error: unknown } | undefined;

  #on(event: ExecutionEvent): void {
    if (!('taskId' in event)) return;
    const id = event.taskId;
    const { concurrency, backgroundConcurrency } = this.executor;
    switch (event.type) {
      case 'queued':
        this.labels.set(id, event.label);
        this.queuedPreemptible.set(id, event.preemptible);
        this.lanes[lane(event.priority)].push(id);
        break;
      case 'started': {
        const l = lane(event.priority);
        // Priority: nothing waits in a higher lane; FIFO: it is the oldest of its lane.
        for (let higher = 0; higher < l; higher++) expect(this.lanes[higher]).toEqual([]);
        expect(this.lanes[l]?.[0]).toBe(id);
        this.lanes[l]?.shift();
        expect(event.preemptible).toBe(this.queuedPreemptible.get(id));
        this.running.set(id, { lane: l, preemptible: event.preemptible, seq: ++this.#seq });
        expect(this.running.size).toBeLessThanOrEqual(concurrency);
        expect(this.#runningIn(2)).toBeLessThanOrEqual(backgroundConcurrency);
        const stats = this.executor.stats();
        expect(stats.running).toBe(this.running.size);
        expect(stats.running).toBeLessThanOrEqual(concurrency);
        expect(stats.runningByPriority.background).toBeLessThanOrEqual(backgroundConcurrency);
        break;
      }
      case 'preempted': {
        // Only on full slots, for a waiting critical or normal task, taking the most
        // recently started preemptible task of the lowest lane below the waiting one.
        expect(this.running.size).toBe(concurrency);
        const waiting = this.lanes[0].length > 0 ? 0 : this.lanes[1].length > 0 ? 1 : -1;
        expect(waiting).toBeGreaterThanOrEqual(0);
        expect(this.#victim(waiting)).toBe(id);
        this.#end(id, event.type);
        break;
      }
      case 'completed':
      case 'failed':
        expect(this.running.has(id)).toBe(true);
        this.#end(id, event.type);
        break;
      case 'cancelled':
        if (event.slot === undefined) {
          const l = this.lanes[lane(event.priority)];
          expect(l).toContain(id);
          l.splice(l.indexOf(id), 1);
          this.ends.set(id, [...(this.ends.get(id) ?? []), event.type]);
        } else {
          this.#end(id, event.type);
        }
        break;
      case 'promoted':
        throw new Error('no aging or TaskControl here: nothing may be promoted');
    }
  }

  #end(id: number, how: string): void {
    expect(this.running.has(id)).toBe(true);
    this.running.delete(id);
    this.ends.set(id, [...(this.ends.get(id) ?? []), how]);
  }

  #runningIn(l: number): number {
    let n = 0;
    for (const task of this.running.values()) if (task.lane === l) n++;
    return n;
  }

  /** The task the executor should preempt for a task waiting in lane `waiting`. */
  #victim(waiting: number): number | undefined {
    for (let l = 2; l > waiting; l--) {
      let best: [number, number] | undefined;
      for (const [id, task] of this.running) {
        if (task.lane === l && task.preemptible && (best === undefined || task.seq > best[1])) {
          best = [id, task.seq];
        }
      }
      if (best !== undefined) return best[0];
    }
    return undefined;
  }

  /** `settled()` from inside a callback: a failure is kept for the next `settled()`. */
  settledInCallback(): void {
    try {
      this.settled();
    } catch (error) {
      this.failure ??= { error };
    }
  }

  /** Checks that hold whenever the executor is not in the middle of an operation. */
  settled(): void {
    if (this.failure !== undefined) throw this.failure.error;
    const { concurrency, backgroundConcurrency } = this.executor;
    const stats = this.executor.stats();
    expect(stats.running).toBe(this.running.size);
    expect(stats.queuedByPriority).toEqual({
      critical: this.lanes[0].length,
      normal: this.lanes[1].length,
      background: this.lanes[2].length,
    });
    expect(stats.runningByPriority).toEqual({
      critical: this.#runningIn(0),
      normal: this.#runningIn(1),
      background: this.#runningIn(2),
    });
    // Work-conserving: a free slot never coexists with a task that could take it...
    const startable =
      this.lanes[0].length > 0 ||
      this.lanes[1].length > 0 ||
      (this.lanes[2].length > 0 && this.#runningIn(2) < backgroundConcurrency);
    if (startable) expect(stats.running).toBe(concurrency);
    // ...nor does a waiting critical or normal task with a task it could preempt.
    const waiting = this.lanes[0].length > 0 ? 0 : this.lanes[1].length > 0 ? 1 : -1;
    if (waiting >= 0) expect(this.#victim(waiting)).toBeUndefined();
  }
}

type Kind = 'resolve' | 'reject' | 'throw' | 'values' | 'sync' | 'hang';

interface Spec {
  priority: Priority;
  preemptible: boolean;
  kind: Kind;
  unsubscribe: boolean;
}

const specArb: fc.Arbitrary<Spec> = fc
  .record({
    priority: fc.constantFrom<Priority>('critical', 'normal', 'background'),
    preemptible: fc.boolean(),
    kind: fc.constantFrom<Kind>('resolve', 'reject', 'throw', 'values', 'sync', 'hang'),
    unsubscribe: fc.boolean(),
  })
  // A task that never ends on its own must be unsubscribed, or the run never quiesces.
  .map((spec) => (spec.kind === 'hang' ? { ...spec, unsubscribe: true } : spec));

const capsArb = fc.integer({ min: 1, max: 4 }).chain((concurrency) =>
  fc.record({
    concurrency: fc.constant(concurrency),
    backgroundConcurrency: fc.integer({ min: 0, max: concurrency }),
  }),
);

interface Outcome {
  values: unknown[];
  terminal: 'complete' | 'error' | 'unsubscribed' | undefined;
  error: unknown;
  workCalls: number;
  notificationsAfterEnd: number;
}

describe('executor properties (fc.scheduler interleavings)', () => {
  it('keeps caps, priority order, work conservation and exactly-once endings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        capsArb,
        fc.array(specArb, { minLength: 1, maxLength: 24 }),
        async (s, caps, generated) => {
          // With backgroundConcurrency 0 background work never starts: such tasks can only
          // end by leaving, so make them leave.
          const specs = generated.map((spec) =>
            caps.backgroundConcurrency === 0 && spec.priority === 'background'
              ? { ...spec, unsubscribe: true }
              : spec,
          );
          const executor = createExecutor(caps);
          const checker = new InvariantChecker(executor);
          const outcomes: Outcome[] = [];
          const boom = new Error('boom');

          const workFor = (i: number, spec: Spec): Work<unknown> => {
            switch (spec.kind) {
              case 'resolve':
                return () => s.schedule(Promise.resolve(i), `resolve ${i}`);
              case 'reject':
                return () =>
                  s.schedule(Promise.resolve(), `reject ${i}`).then(() => Promise.reject(boom));
              case 'throw':
                return () => {
                  throw boom;
                };
              case 'values':
                return () =>
                  concat(
                    defer(() => s.schedule(Promise.resolve(`${i}a`), `value ${i}a`)),
                    defer(() => s.schedule(Promise.resolve(`${i}b`), `value ${i}b`)),
                  );
              case 'sync':
                return () => [i, i];
              case 'hang':
                return () => NEVER;
            }
          };

          specs.forEach((spec, i) => {
            const outcome: Outcome = {
              values: [],
              terminal: undefined,
              error: undefined,
              workCalls: 0,
              notificationsAfterEnd: 0,
            };
            outcomes.push(outcome);
            const work = workFor(i, spec);
            const task$ = executor.schedule(
              (signal) => {
                outcome.workCalls++;
                return work(signal);
              },
              { priority: spec.priority, preemptible: spec.preemptible, label: String(i) },
            );
            // Tasks arrive, and leave, at points the scheduler picks.
            s.schedule(Promise.resolve(), `arrive ${i}`).then(() => {
              const subscription = task$.subscribe({
                next: (value) => {
                  if (outcome.terminal !== undefined) outcome.notificationsAfterEnd++;
                  else outcome.values.push(value);
                },
                error: (error: unknown) => {
                  if (outcome.terminal !== undefined) outcome.notificationsAfterEnd++;
                  else {
                    outcome.terminal = 'error';
                    outcome.error = error;
                  }
                },
                complete: () => {
                  if (outcome.terminal !== undefined) outcome.notificationsAfterEnd++;
                  else outcome.terminal = 'complete';
                },
              });
              checker.settledInCallback();
              if (spec.unsubscribe) {
                s.schedule(Promise.resolve(), `leave ${i}`).then(() => {
                  subscription.unsubscribe();
                  if (outcome.terminal === undefined) outcome.terminal = 'unsubscribed';
                  checker.settledInCallback();
                });
              }
            });
          });

          while (s.count() > 0) {
            await s.waitNext(1);
            checker.settled();
          }
          await s.waitIdle();
          checker.settled();

          // Quiescence: nothing runs, nothing waits.
          expect(executor.stats()).toEqual({
            running: 0,
            queued: 0,
            runningByPriority: { critical: 0, normal: 0, background: 0 },
            queuedByPriority: { critical: 0, normal: 0, background: 0 },
          });
          // Every task ended exactly once, and as its work said.
          const endsByLabel = new Map<string, string[]>();
          for (const [id, ends] of checker.ends) {
            endsByLabel.set(checker.labels.get(id) as string, ends);
          }
          specs.forEach((spec, i) => {
            const outcome = outcomes[i] as Outcome;
            const ends = endsByLabel.get(String(i));
            expect(ends).toHaveLength(1);
            const end = (ends as string[])[0];
            expect(outcome.terminal).toBeDefined();
            expect(outcome.notificationsAfterEnd).toBe(0);
            expect(outcome.workCalls).toBeLessThanOrEqual(1);
            if (end === 'cancelled') {
              expect(outcome.terminal).toBe('unsubscribed');
              return;
            }
            if (end === 'preempted') {
              expect(spec.preemptible).toBe(true);
              expect(outcome.terminal).toBe('error');
              expect(outcome.error).toBeInstanceOf(PreemptedError);
              return;
            }
            expect(outcome.workCalls).toBe(1);
            if (end === 'failed') {
              expect(['reject', 'throw']).toContain(spec.kind);
              expect(outcome.terminal).toBe('error');
              expect(outcome.error).toBe(boom);
            } else {
              expect(end).toBe('completed');
              expect(outcome.terminal).toBe('complete');
              const expected = {
                resolve: [i],
                values: [`${i}a`, `${i}b`],
                sync: [i, i],
              } as Record<Kind, unknown[]>;
              expect(outcome.values).toEqual(expected[spec.kind]);
            }
          });
          // A task whose work was never called was never started.
          outcomes.forEach((outcome, i) => {
            const end = endsByLabel.get(String(i))?.[0];
            if (outcome.workCalls === 0) expect(end).toBe('cancelled');
          });
          checker.subscription.unsubscribe();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never calls the work of a task unsubscribed while queued', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.constantFrom<Priority>('critical', 'normal', 'background'), {
          minLength: 1,
          maxLength: 20,
        }),
        async (s, concurrency, priorities) => {
          const executor = createExecutor({ concurrency, backgroundConcurrency: concurrency });
          const calledAfterLeaving: number[] = [];
          const left = new Set<number>();
          priorities.forEach((priority, i) => {
            const subscription = executor
              .schedule(
                () => {
                  if (left.has(i)) calledAfterLeaving.push(i);
                  return s.schedule(Promise.resolve(i), `run ${i}`);
                },
                { priority },
              )
              .subscribe();
            s.schedule(Promise.resolve(), `leave ${i}`).then(() => {
              left.add(i);
              subscription.unsubscribe();
            });
          });
          await s.waitIdle();
          expect(calledAfterLeaving).toEqual([]);
          expect(executor.stats().running + executor.stats().queued).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------------------
// Model-based: the executor against a reference model made of plain arrays.

interface ModelTask {
  id: number;
  lane: number;
  preemptible: boolean;
  seq: number;
}

interface Model {
  concurrency: number;
  backgroundConcurrency: number;
  lanes: [ModelTask[], ModelTask[], ModelTask[]];
  running: ModelTask[];
  preempted: number[];
  nextId: number;
  seq: number;
}

interface RealTask {
  subject: Subject<unknown>;
  subscription: Subscription;
  started: boolean;
  /** The signal its work was called with. */
  signal: AbortSignal | undefined;
  ended: boolean;
  error: unknown;
}

interface Real {
  executor: Executor;
  tasks: Map<number, RealTask>;
}

/** The reference scheduler: fill free slots by lane, then preempt, as the contract says. */
function modelDrain(m: Model): void {
  for (;;) {
    if (m.running.length < m.concurrency) {
      const runningBackground = m.running.filter((t) => t.lane === 2).length;
      const next =
        m.lanes[0][0] ??
        m.lanes[1][0] ??
        (runningBackground < m.backgroundConcurrency ? m.lanes[2][0] : undefined);
      if (next === undefined) return;
      m.lanes[next.lane]?.shift();
      next.seq = ++m.seq;
      m.running.push(next);
      continue;
    }
    const waiting = m.lanes[0].length > 0 ? 0 : m.lanes[1].length > 0 ? 1 : -1;
    if (waiting < 0) return;
    let victim: ModelTask | undefined;
    for (let l = 2; l > waiting && victim === undefined; l--) {
      const candidates = m.running.filter((t) => t.lane === l && t.preemptible);
      victim = candidates.sort((a, b) => b.seq - a.seq)[0];
    }
    if (victim === undefined) return;
    m.running.splice(m.running.indexOf(victim), 1);
    m.preempted.push(victim.id);
  }
}

function compare(m: Model, r: Real): void {
  const realRunning = [...r.tasks]
    .filter(([, t]) => t.started && !t.ended)
    .map(([id]) => id)
    .sort((a, b) => a - b);
  expect(realRunning).toEqual(m.running.map((t) => t.id).sort((a, b) => a - b));
  const stats = r.executor.stats();
  expect(stats.queuedByPriority).toEqual({
    critical: m.lanes[0].length,
    normal: m.lanes[1].length,
    background: m.lanes[2].length,
  });
  const realPreempted = [...r.tasks]
    .filter(([, t]) => t.error instanceof PreemptedError)
    .map(([id]) => id)
    .sort((a, b) => a - b);
  expect(realPreempted).toEqual([...m.preempted].sort((a, b) => a - b));
  // Nothing was started that the model left queued.
  for (const queued of m.lanes.flat()) expect(r.tasks.get(queued.id)?.started).toBe(false);
}

class ScheduleCommand implements fc.Command<Model, Real> {
  constructor(
    readonly priority: Priority,
    readonly preemptible: boolean,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const id = m.nextId++;
    const task: ModelTask = {
      id,
      lane: lane(this.priority),
      preemptible: this.preemptible,
      seq: 0,
    };
    m.lanes[task.lane]?.push(task);
    modelDrain(m);

    const real: RealTask = {
      subject: new Subject(),
      subscription: undefined as unknown as Subscription,
      started: false,
      signal: undefined,
      ended: false,
      error: undefined,
    };
    r.tasks.set(id, real);
    real.subscription = r.executor
      .schedule(
        (signal) => {
          real.started = true;
          real.signal = signal;
          return real.subject;
        },
        { priority: this.priority, preemptible: this.preemptible },
      )
      .subscribe({
        error: (error: unknown) => {
          real.ended = true;
          real.error = error;
        },
        complete: () => {
          real.ended = true;
        },
      });
    compare(m, r);
  }
  toString = () => `schedule(${this.priority}${this.preemptible ? ', preemptible' : ''})`;
}

/** Picks the `index`-th running task (by id) and ends it the given way. */
class EndRunningCommand implements fc.Command<Model, Real> {
  constructor(
    readonly how: 'complete' | 'fail',
    readonly index: number,
  ) {}
  check = (m: Readonly<Model>) => m.running.length > 0;
  run(m: Model, r: Real): void {
    const ids = m.running.map((t) => t.id).sort((a, b) => a - b);
    const id = ids[this.index % ids.length] as number;
    m.running.splice(
      m.running.findIndex((t) => t.id === id),
      1,
    );
    modelDrain(m);
    const real = r.tasks.get(id) as RealTask;
    if (this.how === 'complete') real.subject.complete();
    else real.subject.error(new Error(`fail ${id}`));
    expect(real.ended).toBe(true);
    compare(m, r);
  }
  toString = () => `${this.how}Task(${this.index})`;
}

/** Unsubscribes the `index`-th live task (queued or running, by id). */
class UnsubscribeCommand implements fc.Command<Model, Real> {
  constructor(readonly index: number) {}
  check = (m: Readonly<Model>) => m.running.length + m.lanes.flat().length > 0;
  run(m: Model, r: Real): void {
    const live = [...m.running, ...m.lanes.flat()].sort((a, b) => a.id - b.id);
    const task = live[this.index % live.length] as ModelTask;
    const running = m.running.includes(task);
    const from = running ? m.running : (m.lanes[task.lane] as ModelTask[]);
    from.splice(from.indexOf(task), 1);
    modelDrain(m);
    const real = r.tasks.get(task.id) as RealTask;
    real.subscription.unsubscribe();
    real.ended = true;
    // A running task's signal is aborted by the unsubscription; a queued one never ran.
    if (running) expect(real.signal?.aborted).toBe(true);
    else expect(real.signal).toBeUndefined();
    compare(m, r);
  }
  toString = () => `unsubscribe(${this.index})`;
}

describe('executor against a reference model (fc.commands)', () => {
  it('runs exactly the tasks the model runs, and preempts exactly the ones it preempts', () => {
    const commands = [
      fc
        .tuple(fc.constantFrom<Priority>('critical', 'normal', 'background'), fc.boolean())
        .map(([priority, preemptible]) => new ScheduleCommand(priority, preemptible)),
      fc.nat().map((i) => new EndRunningCommand('complete', i)),
      fc.nat().map((i) => new EndRunningCommand('fail', i)),
      fc.nat().map((i) => new UnsubscribeCommand(i)),
    ];
    fc.assert(
      fc.property(capsArb, fc.commands(commands, { maxCommands: 60 }), (caps, cmds) => {
        const setup = () => ({
          model: {
            ...caps,
            lanes: [[], [], []] as Model['lanes'],
            running: [],
            preempted: [],
            nextId: 0,
            seq: 0,
          } satisfies Model,
          real: { executor: createExecutor(caps), tasks: new Map() } satisfies Real,
        });
        fc.modelRun(setup, cmds);
      }),
      { numRuns: 300 },
    );
  });
});
