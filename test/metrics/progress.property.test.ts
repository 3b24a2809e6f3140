import {
  createEngine,
  createExecutor,
  type ExecutionEvent,
  type Executor,
  PreemptedError,
  type Priority,
  type ProgressOptions,
  type ProgressSnapshot,
  progress$,
} from 'eed';
import fc from 'fast-check';
import { mergeMap, Subject, type Subscription, throwError, timer } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/*
 * Property tests of `progress$` (src/metrics/progress.ts) against its TSDoc and the README
 * ("Progress"), under arbitrary event sequences on fake timers:
 *
 * - a snapshot at once when subscribed; then, while counted events arrive, at most one per
 *   `intervalMs`: a change is shown at once if the last snapshot is at least `intervalMs`
 *   old, else when it gets that old (`Infinity`: first and last only); nothing while no
 *   counted event arrives;
 * - a last snapshot, then completion, as soon as `done + failed >= total`, or when the
 *   source completes; a source error is passed on; total 0 completes at once; after the
 *   end (or an unsubscribe) the source is let go and nothing more is emitted;
 * - counts: tasks (`completed` done, `failed` failed, `cancelled` cancelled, `preempted`
 *   preempted and, with `preempted: 'failed'`, failed too; `queued`/`started` move tasks
 *   between queued and running) or, with `count: 'requests'`, `request` / `request-ended`;
 *   every other event is ignored;
 * - percent = (done + failed) / total as 0..100; rate = finishes within the last
 *   `windowMs` / min(windowMs, elapsed) per second; etaMs = remaining / rate (undefined
 *   while the rate is 0); elapsedMs since subscribing; snapshots frozen.
 *
 * An independent model replays the same steps and says which snapshots must appear, at
 * which (fake) time and with which fields. Choices the docs leave open, pinned to what
 * progress$ does: "within the last windowMs" is the half-open window (now - windowMs, now];
 * "older than intervalMs" means at least intervalMs old; with nothing left, etaMs is 0.
 *
 * Further properties drop the model: laws every snapshot sequence obeys, and a real
 * executor (and engine) whose own stats must agree with the snapshots.
 */

// ---------------------------------------------------------------------------------------
// Events

type TaskEventType = 'queued' | 'started' | 'completed' | 'failed' | 'cancelled' | 'preempted';

type EventSpec =
  | {
      readonly kind: 'task';
      readonly type: TaskEventType | 'promoted';
      readonly taskId: number;
      readonly executorId: number;
    }
  | { readonly kind: 'request'; readonly requestId: number }
  | {
      readonly kind: 'request-ended';
      readonly requestId: number;
      readonly outcome: 'completed' | 'failed' | 'cancelled';
    }
  | { readonly kind: 'noise'; readonly type: 'cache-hit' | 'prefetch-issued' };

function toEvent(spec: EventSpec): ExecutionEvent {
  const time = Date.now();
  switch (spec.kind) {
    case 'task': {
      const base = {
        time,
        taskId: spec.taskId,
        executorId: spec.executorId,
        label: undefined,
        priority: 'normal' as Priority,
      };
      switch (spec.type) {
        case 'queued':
          return { type: 'queued', ...base, preemptible: false };
        case 'started':
          return { type: 'started', ...base, slot: 0, preemptible: false, expectedMs: undefined };
        case 'completed':
          return { type: 'completed', ...base, slot: 0 };
        case 'failed':
          return { type: 'failed', ...base, slot: 0, error: new Error('x') };
        case 'cancelled':
          return { type: 'cancelled', ...base, slot: undefined };
        case 'preempted':
          return { type: 'preempted', ...base, slot: 0 };
        case 'promoted':
          return { type: 'promoted', ...base, from: 'background' };
      }
      break;
    }
    case 'request':
      return {
        type: 'request',
        time,
        key: 'k',
        label: undefined,
        requestId: spec.requestId,
        priority: 'normal',
      };
    case 'request-ended':
      return {
        type: 'request-ended',
        time,
        key: 'k',
        label: undefined,
        requestId: spec.requestId,
        outcome: spec.outcome,
      };
    case 'noise':
      return spec.type === 'cache-hit'
        ? { type: 'cache-hit', time, key: 'k', label: undefined, tier: 0 }
        : { type: 'prefetch-issued', time, key: 'k', label: undefined };
  }
}

const eventSpecArb: fc.Arbitrary<EventSpec> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('task' as const),
      type: fc.constantFrom<TaskEventType | 'promoted'>(
        'queued',
        'queued',
        'started',
        'started',
        'completed',
        'failed',
        'cancelled',
        'preempted',
        'promoted',
      ),
      taskId: fc.integer({ min: 1, max: 5 }),
      executorId: fc.integer({ min: 1, max: 2 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('request' as const),
      requestId: fc.integer({ min: 1, max: 5 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('request-ended' as const),
      requestId: fc.integer({ min: 1, max: 5 }),
      outcome: fc.constantFrom('completed' as const, 'failed' as const, 'cancelled' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('noise' as const),
      type: fc.constantFrom('cache-hit' as const, 'prefetch-issued' as const),
    }),
  },
);

type Step =
  | { readonly kind: 'event'; readonly event: EventSpec }
  | { readonly kind: 'advance'; readonly ms: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: eventSpecArb.map((event) => ({ kind: 'event' as const, event })) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 31, max: 8_000 }))
      .map((ms) => ({ kind: 'advance' as const, ms })),
  },
);

interface Config {
  readonly total: number;
  readonly count: 'tasks' | 'requests' | undefined;
  readonly preempted: 'retried' | 'failed' | undefined;
  readonly intervalMs: number | undefined;
  readonly windowMs: number | undefined;
  readonly startAt: number;
}

const configArb: fc.Arbitrary<Config> = fc.record({
  total: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 4, max: 14 })),
  count: fc.constantFrom(undefined, 'tasks' as const, 'requests' as const),
  preempted: fc.constantFrom(undefined, 'retried' as const, 'failed' as const),
  intervalMs: fc.constantFrom(undefined, 0, 0, 1, 10, 10, 25, 25, 250, Number.POSITIVE_INFINITY),
  windowMs: fc.constantFrom(undefined, 1, 20, 100, 1_000, Number.POSITIVE_INFINITY),
  startAt: fc.integer({ min: 0, max: 1_000_000 }),
});

/** How the run ends after the steps. */
type Ending = 'complete' | 'error' | 'unsubscribe' | 'none';

// ---------------------------------------------------------------------------------------
// The model

interface Emission {
  readonly at: number;
  readonly snapshot: ProgressSnapshot;
}

class ProgressModel {
  readonly emissions: Emission[] = [];
  now: number;
  readonly startedAt: number;
  ended = false;
  completed = false;
  #lastEmit: number;
  /** When a throttled change will be shown. */
  #due: number | undefined;
  done = 0;
  failed = 0;
  cancelled = 0;
  preempted = 0;
  readonly queued = new Set<string>();
  readonly running = new Set<string>();
  readonly finishes: number[] = [];
  readonly total: number;
  readonly unit: 'tasks' | 'requests';
  readonly preemptedFails: boolean;
  readonly intervalMs: number;
  readonly windowMs: number;

  constructor(config: Config) {
    this.total = config.total;
    this.unit = config.count ?? 'tasks';
    this.preemptedFails = config.preempted === 'failed';
    this.intervalMs = config.intervalMs ?? 100;
    this.windowMs = config.windowMs ?? 5000;
    this.now = config.startAt;
    this.startedAt = config.startAt;
    this.#lastEmit = this.startedAt;
    this.#emit();
    if (this.total === 0) {
      // Nothing to wait for: the first snapshot is also the last.
      this.ended = true;
      this.completed = true;
    }
  }

  snapshot(): ProgressSnapshot {
    const now = this.now;
    const elapsedMs = now - this.startedAt;
    const inWindow = this.finishes.filter((t) => t > now - this.windowMs).length;
    const span = Math.min(this.windowMs, elapsedMs);
    const ratePerSecond = span > 0 ? (inWindow * 1000) / span : 0;
    const finished = this.done + this.failed;
    const remaining = this.total - finished;
    return {
      total: this.total,
      done: this.done,
      failed: this.failed,
      cancelled: this.cancelled,
      preempted: this.preempted,
      running: this.running.size,
      queued: this.queued.size,
      percent: this.total === 0 ? 100 : (finished / this.total) * 100,
      ratePerSecond,
      etaMs:
        remaining === 0 ? 0 : ratePerSecond > 0 ? remaining / (ratePerSecond / 1000) : undefined,
      elapsedMs,
    };
  }

  #emit(): void {
    this.emissions.push({ at: this.now, snapshot: this.snapshot() });
    this.#lastEmit = this.now;
    this.#due = undefined;
  }

  #end(): void {
    if (this.ended) return;
    this.#emit();
    this.ended = true;
    this.completed = true;
  }

  #finish(kind: 'done' | 'failed'): void {
    if (kind === 'done') this.done++;
    else this.failed++;
    this.finishes.push(this.now);
  }

  /** Applies a counted event; false for an event this unit ignores. */
  #count(spec: EventSpec): boolean {
    if (this.unit === 'requests') {
      if (spec.kind === 'request') {
        this.running.add(String(spec.requestId));
        return true;
      }
      if (spec.kind !== 'request-ended') return false;
      this.running.delete(String(spec.requestId));
      if (spec.outcome === 'cancelled') this.cancelled++;
      else this.#finish(spec.outcome === 'completed' ? 'done' : 'failed');
      return true;
    }
    if (spec.kind !== 'task' || spec.type === 'promoted') return false;
    const id = `${spec.executorId}/${spec.taskId}`;
    if (spec.type === 'queued') {
      this.queued.add(id);
      return true;
    }
    this.queued.delete(id);
    if (spec.type === 'started') {
      this.running.add(id);
      return true;
    }
    this.running.delete(id);
    if (spec.type === 'completed') this.#finish('done');
    else if (spec.type === 'failed') this.#finish('failed');
    else if (spec.type === 'cancelled') this.cancelled++;
    else {
      this.preempted++;
      if (this.preemptedFails) this.#finish('failed');
    }
    return true;
  }

  event(spec: EventSpec): void {
    if (this.ended || !this.#count(spec)) return;
    if (this.done + this.failed >= this.total) {
      this.#end();
      return;
    }
    if (this.#due !== undefined) return;
    const age = this.now - this.#lastEmit;
    if (age >= this.intervalMs) this.#emit();
    else if (this.intervalMs !== Number.POSITIVE_INFINITY)
      this.#due = this.#lastEmit + this.intervalMs;
  }

  advance(ms: number): void {
    const target = this.now + ms;
    if (!this.ended && this.#due !== undefined && this.#due <= target) {
      this.now = this.#due;
      this.#emit();
    }
    this.now = target;
  }

  complete(): void {
    this.#end();
  }

  stop(): void {
    this.ended = true;
  }
}

// ---------------------------------------------------------------------------------------
// Checks

function expectSnapshot(actual: ProgressSnapshot, expected: ProgressSnapshot, where: string): void {
  const { ratePerSecond, etaMs, percent, ...exact } = expected;
  expect(actual, where).toMatchObject(exact);
  expect(Object.keys(actual).sort(), where).toEqual(Object.keys(expected).sort());
  expect(actual.percent, `${where} percent`).toBeCloseTo(percent, 9);
  expect(actual.ratePerSecond, `${where} rate`).toBeCloseTo(ratePerSecond, 9);
  if (etaMs === undefined) expect(actual.etaMs, `${where} eta`).toBeUndefined();
  else
    expect(actual.etaMs! / Math.max(1, etaMs), `${where} eta`).toBeCloseTo(
      etaMs / Math.max(1, etaMs),
      9,
    );
}

/** Laws of every sequence of snapshots, whatever the events. */
function expectLaws(snapshots: readonly ProgressSnapshot[], total: number, ended: boolean): void {
  let previous: ProgressSnapshot | undefined;
  for (const s of snapshots) {
    expect(Object.isFrozen(s)).toBe(true);
    expect(s.total).toBe(total);
    for (const n of [s.done, s.failed, s.cancelled, s.preempted, s.running, s.queued]) {
      expect(Number.isInteger(n) && n >= 0).toBe(true);
    }
    const finished = s.done + s.failed;
    expect(finished).toBeLessThanOrEqual(total);
    expect(s.percent).toBeGreaterThanOrEqual(0);
    expect(s.percent).toBeLessThanOrEqual(100);
    expect(s.percent === 100).toBe(finished === total);
    expect(s.ratePerSecond).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(s.ratePerSecond)).toBe(true);
    if (finished === total) expect(s.etaMs).toBe(0);
    else if (s.ratePerSecond === 0) expect(s.etaMs).toBeUndefined();
    else {
      expect(s.etaMs).toBeGreaterThan(0);
      expect(s.etaMs!).toBeCloseTo(((total - finished) * 1000) / s.ratePerSecond, 6);
    }
    expect(s.elapsedMs).toBeGreaterThanOrEqual(0);
    if (previous !== undefined) {
      // Counts only grow, and time only moves on.
      expect(s.done).toBeGreaterThanOrEqual(previous.done);
      expect(s.failed).toBeGreaterThanOrEqual(previous.failed);
      expect(s.cancelled).toBeGreaterThanOrEqual(previous.cancelled);
      expect(s.preempted).toBeGreaterThanOrEqual(previous.preempted);
      expect(s.elapsedMs).toBeGreaterThanOrEqual(previous.elapsedMs);
    }
    previous = s;
  }
  expect(snapshots.length).toBeGreaterThanOrEqual(1);
  expect(snapshots[0]).toMatchObject({ done: 0, failed: 0, elapsedMs: 0 });
  // Only the last snapshot may show the run finished, and then it has ended.
  for (const s of snapshots.slice(0, -1)) expect(s.done + s.failed).toBeLessThan(total);
  if (snapshots.at(-1)!.done + snapshots.at(-1)!.failed === total) expect(ended).toBe(true);
}

// ---------------------------------------------------------------------------------------

describe('progress$ (model-based, arbitrary event sequences)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('emits the snapshots an independent model expects, when it expects them, and ends as documented', () => {
    fc.assert(
      fc.property(
        configArb,
        fc.array(stepArb, { maxLength: 60, size: 'max' }),
        fc.constantFrom<Ending>('complete', 'error', 'unsubscribe', 'none'),
        (config, steps, ending) => {
          vi.clearAllTimers();
          vi.setSystemTime(config.startAt);
          const options: ProgressOptions = {
            total: config.total,
            clock: { now: () => Date.now() },
          };
          if (config.count !== undefined) options.count = config.count;
          if (config.preempted !== undefined) options.preempted = config.preempted;
          if (config.intervalMs !== undefined) options.intervalMs = config.intervalMs;
          if (config.windowMs !== undefined) options.windowMs = config.windowMs;

          const source = new Subject<ExecutionEvent>();
          const emissions: Emission[] = [];
          let completed = false;
          let error: unknown;
          const subscription = progress$(source, options).subscribe({
            next: (snapshot) => emissions.push({ at: Date.now(), snapshot }),
            complete: () => {
              completed = true;
            },
            error: (e: unknown) => {
              error = e;
            },
          });
          const model = new ProgressModel(config);
          let checked = 0;
          const compare = (where: string) => {
            expect(
              emissions.map((e) => e.at),
              `${where}: emission times`,
            ).toEqual(model.emissions.map((e) => e.at));
            for (; checked < emissions.length; checked++) {
              const i = checked;
              expectSnapshot(
                emissions[i]!.snapshot,
                model.emissions[i]!.snapshot,
                `${where}: snapshot ${i}`,
              );
            }
            expect(completed, `${where}: completed`).toBe(model.completed);
            if (model.ended) {
              // Once ended it lets go of the source and of its throttle timer.
              expect(source.observed, `${where}: still subscribed`).toBe(false);
              expect(vi.getTimerCount(), `${where}: timer left`).toBe(0);
            }
          };
          compare('subscribed');
          for (const [i, step] of steps.entries()) {
            if (step.kind === 'event') {
              source.next(toEvent(step.event));
              model.event(step.event);
            } else {
              vi.advanceTimersByTime(step.ms);
              model.advance(step.ms);
            }
            compare(`step ${i} ${JSON.stringify(step)}`);
          }
          const boom = new Error('events failed');
          if (ending === 'complete') {
            source.complete();
            model.complete();
          } else if (ending === 'error') {
            const wasEnded = model.ended;
            source.error(boom);
            model.stop();
            expect(error).toBe(wasEnded ? undefined : boom);
          } else if (ending === 'unsubscribe') {
            subscription.unsubscribe();
            model.stop();
            expect(source.observed).toBe(false);
          }
          compare(`end ${ending}`);
          if (ending !== 'none') {
            // Nothing is emitted after the end: no late throttled snapshot.
            const count = emissions.length;
            vi.advanceTimersByTime(100_000);
            source.next(toEvent({ kind: 'task', type: 'completed', taskId: 1, executorId: 1 }));
            expect(emissions.length).toBe(count);
          }
          if (ending !== 'error') expect(error).toBeUndefined();
          expectLaws(
            emissions.map((e) => e.snapshot),
            config.total,
            model.completed,
          );
          subscription.unsubscribe();
        },
      ),
      { numRuns: 400 },
    );
  });

  it('throttles: snapshots while events flow are at least intervalMs apart, and a change is never held longer', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 60 }),
            fc.constantFrom<TaskEventType>('queued', 'started', 'cancelled'),
          ),
          {
            maxLength: 40,
          },
        ),
        (intervalMs, steps) => {
          vi.clearAllTimers();
          vi.setSystemTime(0);
          const source = new Subject<ExecutionEvent>();
          const times: number[] = [];
          const snapshots: ProgressSnapshot[] = [];
          progress$(source, { total: 1, intervalMs, clock: { now: () => Date.now() } }).subscribe(
            (s) => {
              times.push(Date.now());
              snapshots.push(s);
            },
          );
          const eventTimes: number[] = [];
          for (const [i, [wait, type]] of steps.entries()) {
            vi.advanceTimersByTime(wait);
            source.next(toEvent({ kind: 'task', type, taskId: i, executorId: 1 }));
            eventTimes.push(Date.now());
          }
          vi.advanceTimersByTime(intervalMs);
          for (let i = 1; i < times.length; i++) {
            expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(intervalMs);
          }
          // Each event (task i adds 1 to queued + running + cancelled) is shown by a
          // snapshot no later than intervalMs after it arrived.
          const shown = snapshots.map((s) => s.queued + s.running + s.cancelled);
          for (const [i, t] of eventTimes.entries()) {
            const first = shown.findIndex((n) => n >= i + 1);
            expect(first, `event ${i} at ${t} never shown`).toBeGreaterThanOrEqual(0);
            expect(times[first]! - t, `event ${i} at ${t}`).toBeLessThanOrEqual(intervalMs);
          }
          expect(shown.at(-1)).toBe(steps.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------
// A real executor and engine

interface TaskPlan {
  readonly delay: number;
  readonly priority: Priority;
  readonly preemptible: boolean;
  readonly fails: boolean;
  /** Unsubscribe after this many ms (maybe before the task ends, maybe before it starts). */
  readonly leaveAfter: number | undefined;
  readonly durationMs: number;
}

const taskPlanArb: fc.Arbitrary<TaskPlan> = fc.record({
  delay: fc.integer({ min: 0, max: 40 }),
  priority: fc.constantFrom<Priority>('critical', 'normal', 'background'),
  preemptible: fc.boolean(),
  fails: fc.boolean(),
  leaveAfter: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined, freq: 4 }),
  durationMs: fc.integer({ min: 1, max: 30 }),
});

describe('progress$ over a real executor and engine', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("agrees with the executor's own stats at every snapshot and counts every task's end", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(taskPlanArb, { minLength: 1, maxLength: 12 }),
        fc.constantFrom<'retried' | 'failed'>('retried', 'failed'),
        (concurrency, plans, preempted) => {
          vi.clearAllTimers();
          vi.setSystemTime(0);
          const clock = { now: () => Date.now() };
          const executor: Executor = createExecutor({ concurrency, clock });
          const problems: string[] = [];
          const snapshots: ProgressSnapshot[] = [];
          let completed = false;
          // A total no run reaches, so the snapshots follow the whole run.
          progress$(executor.events$, {
            total: plans.length + 1,
            intervalMs: 0,
            clock,
            preempted,
          }).subscribe({
            next: (s) => {
              snapshots.push(s);
              const stats = executor.stats();
              if (s.running !== stats.running || s.queued !== stats.queued) {
                problems.push(
                  `snapshot running ${s.running} queued ${s.queued}, executor ${stats.running}/${stats.queued}`,
                );
              }
            },
            complete: () => {
              completed = true;
            },
          });
          const outcomes = { done: 0, failed: 0, cancelled: 0, preempted: 0 };
          const subscriptions: Subscription[] = [];
          for (const plan of plans) {
            setTimeout(() => {
              let ended = false;
              const work = () =>
                plan.fails
                  ? timer(plan.durationMs).pipe(mergeMap(() => throwError(() => new Error('no'))))
                  : timer(plan.durationMs);
              const subscription = executor
                .schedule(work, { priority: plan.priority, preemptible: plan.preemptible })
                .subscribe({
                  error: (e: unknown) => {
                    ended = true;
                    if (e instanceof PreemptedError) outcomes.preempted++;
                    else outcomes.failed++;
                  },
                  complete: () => {
                    ended = true;
                    outcomes.done++;
                  },
                });
              subscriptions.push(subscription);
              if (plan.leaveAfter !== undefined) {
                setTimeout(() => {
                  if (!ended) outcomes.cancelled++;
                  subscription.unsubscribe();
                }, plan.leaveAfter);
              }
            }, plan.delay);
          }
          vi.advanceTimersByTime(1_000);
          expect(problems).toEqual([]);
          expect(executor.stats()).toMatchObject({ running: 0, queued: 0 });
          const last = snapshots.at(-1)!;
          expect(last).toMatchObject({
            done: outcomes.done,
            failed: outcomes.failed + (preempted === 'failed' ? outcomes.preempted : 0),
            cancelled: outcomes.cancelled,
            preempted: outcomes.preempted,
            running: 0,
            queued: 0,
          });
          expect(completed).toBe(false);
          expectLaws(snapshots, plans.length + 1, completed);
          for (const s of subscriptions) s.unsubscribe();
        },
      ),
      { numRuns: 150 },
    );
  });

  it('completes with a last snapshot at the moment the last of `total` tasks ends', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(
          fc.record({
            delay: fc.integer({ min: 0, max: 40 }),
            durationMs: fc.integer({ min: 1, max: 30 }),
            fails: fc.boolean(),
          }),
          { minLength: 1, maxLength: 10 },
        ),
        (concurrency, plans) => {
          vi.clearAllTimers();
          vi.setSystemTime(0);
          const clock = { now: () => Date.now() };
          const executor = createExecutor({ concurrency, clock });
          const snapshots: ProgressSnapshot[] = [];
          let completedAt: number | undefined;
          progress$(executor.events$, { total: plans.length, clock, intervalMs: 50 }).subscribe({
            next: (s) => snapshots.push(s),
            complete: () => {
              completedAt = Date.now();
            },
          });
          let lastEnd = 0;
          let fails = 0;
          for (const plan of plans) {
            if (plan.fails) fails++;
            setTimeout(() => {
              executor
                .schedule(() =>
                  plan.fails
                    ? timer(plan.durationMs).pipe(mergeMap(() => throwError(() => new Error('no'))))
                    : timer(plan.durationMs),
                )
                .subscribe({
                  error: () => {
                    lastEnd = Date.now();
                  },
                  complete: () => {
                    lastEnd = Date.now();
                  },
                });
            }, plan.delay);
          }
          vi.advanceTimersByTime(2_000);
          expect(completedAt).toBe(lastEnd);
          expect(snapshots.at(-1)).toMatchObject({
            done: plans.length - fails,
            failed: fails,
            percent: 100,
            etaMs: 0,
            running: 0,
            queued: 0,
            elapsedMs: lastEnd,
          });
          expectLaws(snapshots, plans.length, true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("count: 'requests' counts every run (cache hits and joins included) and completes with the last", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            delay: fc.integer({ min: 0, max: 20 }),
            key: fc.constantFrom('a', 'b', 'c'),
            fails: fc.boolean(),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        (runs) => {
          vi.clearAllTimers();
          vi.setSystemTime(0);
          const clock = { now: () => Date.now() };
          const engine = createEngine({ executor: { concurrency: 2 }, clock, wallClock: clock });
          const snapshots: ProgressSnapshot[] = [];
          let completed = false;
          progress$(engine.events$, {
            total: runs.length,
            count: 'requests',
            clock,
            intervalMs: 0,
          }).subscribe({
            next: (s) => snapshots.push(s),
            complete: () => {
              completed = true;
            },
          });
          const outcomes = { done: 0, failed: 0 };
          for (const run of runs) {
            setTimeout(() => {
              engine
                .run(run.key, () =>
                  run.fails
                    ? timer(5).pipe(mergeMap(() => throwError(() => new Error('no'))))
                    : timer(5),
                )
                .subscribe({
                  error: () => {
                    outcomes.failed++;
                  },
                  complete: () => {
                    outcomes.done++;
                  },
                });
            }, run.delay);
          }
          vi.advanceTimersByTime(1_000);
          expect(outcomes.done + outcomes.failed).toBe(runs.length);
          expect(completed).toBe(true);
          expect(snapshots.at(-1)).toMatchObject({
            done: outcomes.done,
            failed: outcomes.failed,
            running: 0,
            queued: 0,
            percent: 100,
          });
          for (const s of snapshots) expect(s.queued).toBe(0);
          expectLaws(snapshots, runs.length, completed);
        },
      ),
      { numRuns: 150 },
    );
  });
});
