import {
  AbortError,
  createExecutor,
  type Executor,
  LATENCY_HISTOGRAM_ERROR,
  LatencyRegistry,
  type ShortCircuitEvent,
} from 'eed';
import { hedge } from 'eed/operators';
import fc from 'fast-check';
import { Observable, type Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';

/**
 * hedge against an exact model of its timeline (hedge's TSDoc, README "Exit early"),
 * in virtual time (a `TestScheduler` passed as `scheduler`, flushed by hand):
 *
 * - copy 1 is launched at once; a backup is launched `after` ms after the latest launch
 *   while no copy has a result (the wait restarts with each copy, and counts the time a
 *   copy waits for a slot on a shared executor), or at once when a copy fails, while
 *   fewer than `max` were launched; `after: Infinity` never hedges on time;
 * - the first copy to emit a value (or to complete empty) wins: at that instant every
 *   other copy is cancelled (a running one's signal aborts with an AbortError, a queued
 *   one never starts), no copy starts any more, and a `short-circuit` event counts them;
 *   the winner's values, then its end, are forwarded as they come;
 * - when all `max` copies failed, the output errors with an AggregateError of the causes
 *   in copy order;
 * - the winner's latency (its start to its first value) is learned under the label;
 * - unsubscribing cancels every copy and the timer: when the output ends or is
 *   unsubscribed, no timer and no copy of the hedge is left scheduled.
 *
 * The model is a discrete-event simulation ordered like the VirtualTimeScheduler: by
 * time, then by the order the actions were scheduled in. It schedules exactly what the
 * test's copies and blockers schedule, plus one action per hedge timer, in the same order.
 */

interface Plan {
  /** When its first value (or its end, with no values) comes, after it starts. */
  delay: number;
  /** Between its values. */
  gap: number;
  /** How many values, then its end. */
  n: number;
  end: 'complete' | 'error';
  /** Emits and ends while the work is called (only without a shared executor). */
  sync: boolean;
}

interface Scenario {
  max: number;
  after: number;
  /** Copies run on a shared executor of `slots`, busy with `blockers` (their durations). */
  shared: { slots: number; blockers: number[] } | undefined;
  plans: Plan[];
  unsubscribeAt: number | undefined;
}

type OutputEvent =
  | { time: number; kind: 'next'; value: string }
  | { time: number; kind: 'complete' }
  | { time: number; kind: 'error'; message: string; causes: string[] | undefined };

interface Observed {
  /** When each copy's work was called, in call order (copy i is the i-th call). */
  starts: number[];
  aborted: boolean[];
  output: OutputEvent[];
  shortCircuits: { time: number; aborted: number; skipped: number }[];
  /** The winner's latency, if there was a winner. */
  latency: number | undefined;
  /** A shared executor's running and queued tasks when the output ended or was left. */
  executorAt: string[];
}

const planArb = (sync: boolean): fc.Arbitrary<Plan> =>
  fc
    .record({
      delay: fc.integer({ min: 0, max: 12 }),
      gap: fc.integer({ min: 1, max: 3 }),
      kind: fc.constantFrom('fail', 'fail', 'values', 'values', 'empty', 'valuesThenError'),
      n: fc.integer({ min: 1, max: 3 }),
      sync: sync ? fc.boolean() : fc.constant(false),
    })
    .map(({ delay, gap, kind, n, sync }) => ({
      delay,
      gap,
      n: kind === 'values' || kind === 'valuesThenError' ? n : 0,
      end: kind === 'values' || kind === 'empty' ? ('complete' as const) : ('error' as const),
      // Mostly asynchronous: a synchronous copy settles the race at once.
      sync: sync && delay < 2,
    }));

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    max: fc.integer({ min: 1, max: 5 }),
    after: fc.oneof(
      { weight: 5, arbitrary: fc.integer({ min: 0, max: 10 }) },
      { weight: 1, arbitrary: fc.constant(Number.POSITIVE_INFINITY) },
    ),
    shared: fc.option(
      fc.record({
        slots: fc.integer({ min: 1, max: 3 }),
        blockers: fc.array(fc.integer({ min: 1, max: 15 }), { maxLength: 4 }),
      }),
      { nil: undefined },
    ),
    unsubscribeAt: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined, freq: 3 }),
  })
  .chain((base) =>
    fc
      .array(planArb(base.shared === undefined), { minLength: base.max, maxLength: base.max })
      .map((plans) => ({ ...base, plans })),
  );

const valueName = (copy: number, j: number) => `c${copy}v${j}`;
const causeOf = (copy: number) => `copy ${copy} failed`;

/** The expected timeline of `scenario`. */
function model(scenario: Scenario): Observed {
  const { max, after, plans } = scenario;
  const slots = scenario.shared?.slots ?? max;

  // The scheduler: actions run by time, then by the order they were scheduled in.
  interface Action {
    time: number;
    seq: number;
    cancelled: boolean;
    run: () => void;
  }
  let now = 0;
  let seq = 0;
  const pending: Action[] = [];
  const schedule = (delay: number, run: () => void): Action => {
    const action = { time: now + delay, seq: seq++, cancelled: false, run };
    pending.push(action);
    return action;
  };

  // The executor: FIFO lane, `slots` places.
  type Task = { kind: 'copy'; copy: number } | { kind: 'blocker'; duration: number };
  let running = 0;
  const queue: Task[] = [];
  let draining = false;
  let drainAgain = false;

  interface Copy {
    startedAt: number | undefined;
    over: boolean;
    ended: boolean;
    aborted: boolean;
    actions: Action[];
  }
  const copies: Copy[] = [];
  const causes: string[] = [];
  let failed = 0;
  let winner: number | undefined;
  let closed = false;
  let timer: Action | undefined;
  const observed: Observed = {
    starts: [],
    aborted: [],
    output: [],
    shortCircuits: [],
    latency: undefined,
    executorAt: [],
  };
  const executorAt = (when: string) => {
    if (scenario.shared !== undefined) {
      observed.executorAt.push(`${when}: running ${running}, queued ${queue.length}`);
    }
  };

  const drain = () => {
    if (draining) {
      drainAgain = true;
      return;
    }
    draining = true;
    do {
      drainAgain = false;
      while (running < slots && queue.length > 0) {
        const task = queue.shift() as Task;
        running++;
        if (task.kind === 'blocker') {
          schedule(task.duration, () => {
            running--;
            drain();
          });
        } else {
          startCopy(task.copy);
        }
      }
    } while (drainAgain);
    draining = false;
  };

  const cancelOthers = (keep: number | undefined) => {
    timer = cancel(timer);
    const others = copies
      .map((copy, i) => ({ copy, i }))
      .filter(({ copy, i }) => i !== keep && !copy.over);
    for (const { copy } of others) copy.over = true;
    for (const { copy, i } of others) {
      if (copy.startedAt === undefined) {
        // Queued: removed, never started.
        const at = queue.findIndex((task) => task.kind === 'copy' && task.copy === i);
        if (at >= 0) queue.splice(at, 1);
      }
    }
    for (const { copy } of others) {
      if (copy.startedAt !== undefined && !copy.ended) {
        copy.ended = true;
        copy.aborted = true;
        for (const action of copy.actions) action.cancelled = true;
        running--;
        drain();
      }
    }
  };

  const cancel = (action: Action | undefined): undefined => {
    if (action !== undefined) action.cancelled = true;
    return undefined;
  };

  const win = (i: number) => {
    winner = i;
    const copy = copies[i] as Copy;
    observed.latency = now - (copy.startedAt as number);
    let aborted = 0;
    let skipped = 0;
    copies.forEach((other, j) => {
      if (j === i || other.over) return;
      if (other.startedAt === undefined) skipped++;
      else aborted++;
    });
    cancelOthers(i);
    if (aborted + skipped > 0) observed.shortCircuits.push({ time: now, aborted, skipped });
  };

  const onValue = (i: number, j: number) => {
    if (closed) return;
    if (winner === undefined) win(i);
    if (winner === i) observed.output.push({ time: now, kind: 'next', value: valueName(i, j) });
  };

  const onEnd = (i: number) => {
    const copy = copies[i] as Copy;
    const plan = plans[i] as Plan;
    // The executor frees the slot, then delivers the end, then hands the slot on.
    copy.ended = true;
    running--;
    if (plan.end === 'complete') {
      if (!closed) {
        if (winner === undefined) win(i);
        if (winner === i) {
          closed = true;
          observed.output.push({ time: now, kind: 'complete' });
          executorAt('output completed');
          cancelOthers(undefined);
        }
      }
    } else if (!closed) {
      if (winner === i) {
        closed = true;
        observed.output.push({
          time: now,
          kind: 'error',
          message: causeOf(i),
          causes: undefined,
        });
        executorAt('output errored');
        cancelOthers(undefined);
      } else if (winner === undefined && !copy.over) {
        copy.over = true;
        causes[i] = causeOf(i);
        failed++;
        if (copies.length < max) launch();
        else if (failed === copies.length) {
          closed = true;
          timer = cancel(timer);
          observed.output.push({
            time: now,
            kind: 'error',
            message: `hedge (h): all ${failed} cop${failed === 1 ? 'y' : 'ies'} failed`,
            causes: [...causes],
          });
          executorAt('output errored');
        }
      }
    }
    drain();
  };

  const startCopy = (i: number) => {
    const copy = copies[i] as Copy;
    const plan = plans[i] as Plan;
    copy.startedAt = now;
    observed.starts.push(now);
    if (plan.sync) {
      for (let j = 0; j < plan.n; j++) onValue(i, j);
      onEnd(i);
      return;
    }
    const last = Math.max(plan.n, 1) - 1;
    for (let j = 0; j <= last; j++) {
      copy.actions.push(
        schedule(plan.delay + j * plan.gap, () => {
          if (j < plan.n) onValue(i, j);
          if (j === last) onEnd(i);
        }),
      );
    }
  };

  const armTimer = () => {
    timer = cancel(timer);
    if (copies.length >= max || !Number.isFinite(after)) return;
    timer = schedule(after, () => {
      timer = undefined;
      launch();
    });
  };

  const launch = () => {
    if (closed || winner !== undefined || copies.length >= max) return;
    const i = copies.length;
    copies.push({ startedAt: undefined, over: false, ended: false, aborted: false, actions: [] });
    armTimer();
    queue.push({ kind: 'copy', copy: i });
    drain();
  };

  for (const duration of scenario.shared?.blockers ?? []) {
    queue.push({ kind: 'blocker', duration });
    drain();
  }
  launch();
  if (scenario.unsubscribeAt !== undefined) {
    schedule(scenario.unsubscribeAt, () => {
      if (!closed) {
        closed = true;
        cancelOthers(undefined);
      }
      executorAt('unsubscribed');
    });
  }
  for (;;) {
    const live = pending.filter((action) => !action.cancelled);
    if (live.length === 0) break;
    live.sort((a, b) => a.time - b.time || a.seq - b.seq);
    const next = live[0] as Action;
    next.cancelled = true;
    now = next.time;
    next.run();
  }
  observed.aborted = copies.filter((c) => c.startedAt !== undefined).map((c) => c.aborted);
  return observed;
}

/** Runs `scenario` for real on a TestScheduler. */
function observe(scenario: Scenario) {
  const { max, after, plans } = scenario;
  const scheduler = new TestScheduler(() => undefined);
  const latencies = new LatencyRegistry();
  const executor: Executor | undefined =
    scenario.shared === undefined
      ? undefined
      : createExecutor({ concurrency: scenario.shared.slots });
  const blockerActions = new Set<Subscription>();
  const copyActions = new Set<Subscription>();
  let unsubscribeAction: Subscription | undefined;
  const signals: AbortSignal[] = [];
  const starts: number[] = [];
  const output: OutputEvent[] = [];
  const events: ShortCircuitEvent[] = [];
  /** Hedge actions (timers, copies) still scheduled when the output ended or was left. */
  const leftovers: string[] = [];
  const executorAt: string[] = [];
  const checkReleased = (when: string) => {
    const stats = executor?.stats();
    if (stats !== undefined) {
      executorAt.push(`${when}: running ${stats.running}, queued ${stats.queued}`);
    }
    const left = scheduler.actions.filter(
      (action) => !blockerActions.has(action) && action !== unsubscribeAction,
    );
    if (left.length > 0) {
      const copies = left.filter((action) => copyActions.has(action)).length;
      leftovers.push(`${when}: ${copies} copy actions, ${left.length - copies} timers`);
    }
  };

  for (const duration of scenario.shared?.blockers ?? []) {
    executor
      ?.schedule(
        () =>
          new Observable<never>((subscriber) => {
            const action = scheduler.schedule(() => subscriber.complete(), duration);
            blockerActions.add(action);
            return () => action.unsubscribe();
          }),
      )
      .subscribe();
  }

  const work = (signal: AbortSignal) => {
    const i = starts.length;
    starts.push(scheduler.now());
    signals.push(signal);
    const plan = plans[i];
    if (plan === undefined) throw new Error(`copy ${i} started: more than max`);
    return new Observable<string>((subscriber) => {
      const end = () => {
        if (plan.end === 'complete') subscriber.complete();
        else subscriber.error(new Error(causeOf(i)));
      };
      if (plan.sync) {
        for (let j = 0; j < plan.n; j++) subscriber.next(valueName(i, j));
        end();
        return;
      }
      const last = Math.max(plan.n, 1) - 1;
      const actions: Subscription[] = [];
      for (let j = 0; j <= last; j++) {
        const action = scheduler.schedule(
          () => {
            copyActions.delete(action);
            if (j < plan.n) subscriber.next(valueName(i, j));
            if (j === last) end();
          },
          plan.delay + j * plan.gap,
        );
        copyActions.add(action);
        actions.push(action);
      }
      return () => {
        for (const action of actions) {
          copyActions.delete(action);
          action.unsubscribe();
        }
      };
    });
  };

  const subscription = hedge(work, {
    after,
    max,
    executor,
    label: 'h',
    latencies,
    scheduler,
    events: { next: (event) => events.push(event) },
  }).subscribe({
    next: (value) => output.push({ time: scheduler.now(), kind: 'next', value }),
    error: (error: unknown) => {
      output.push({
        time: scheduler.now(),
        kind: 'error',
        message: (error as Error).message,
        causes:
          error instanceof AggregateError
            ? error.errors.map((cause: Error) => cause.message)
            : undefined,
      });
      checkReleased('output errored');
    },
    complete: () => {
      output.push({ time: scheduler.now(), kind: 'complete' });
      checkReleased('output completed');
    },
  });
  if (scenario.unsubscribeAt !== undefined) {
    unsubscribeAction = scheduler.schedule(() => {
      subscription.unsubscribe();
      checkReleased('unsubscribed');
    }, scenario.unsubscribeAt);
  }
  scheduler.flush();

  const samples = latencies.quantile('h', 0.5);
  return {
    observed: {
      starts,
      aborted: signals.map((signal) => signal.aborted),
      output,
      shortCircuits: events.map(({ time, aborted, skipped }) => ({ time, aborted, skipped })),
      latency: samples,
      executorAt,
    } satisfies Observed,
    signals,
    events,
    leftovers,
    stats: executor?.stats(),
    sampleCount: latencies.size === 0 ? 0 : latencies.histogram('h').count,
  };
}

describe('hedge: exact model of launches, the race, cancellation and release', () => {
  it('launch times, winner, forwarded output, aborted losers, short-circuit counts and learned latency match the model; nothing is left scheduled', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const expected = model(scenario);
        const real = observe(scenario);
        const { observed } = real;

        expect(observed.starts).toEqual(expected.starts);
        expect(observed.output).toEqual(expected.output);
        expect(observed.aborted).toEqual(expected.aborted);
        expect(observed.shortCircuits).toEqual(expected.shortCircuits);
        // No copy left running or queued on a shared executor once the output ended.
        expect(observed.executorAt).toEqual(expected.executorAt);
        for (const signal of real.signals) {
          if (signal.aborted) expect(signal.reason).toBeInstanceOf(AbortError);
        }
        for (const event of real.events) {
          expect(event).toMatchObject({ type: 'short-circuit', operator: 'hedge', label: 'h' });
        }
        // At most `max` copies started, none after the output ended.
        expect(observed.starts.length).toBeLessThanOrEqual(scenario.max);
        // The winner's latency (start to first value) was learned, once; nothing otherwise.
        if (expected.latency === undefined) {
          expect(real.sampleCount).toBe(0);
        } else {
          expect(real.sampleCount).toBe(1);
          const learned = observed.latency as number;
          expect(Math.abs(learned - expected.latency)).toBeLessThanOrEqual(
            expected.latency * LATENCY_HISTOGRAM_ERROR + 0.01,
          );
        }
        // Every timer and copy released when the output ended or was unsubscribed.
        expect(real.leftovers).toEqual([]);
        if (real.stats !== undefined) expect(real.stats).toMatchObject({ running: 0, queued: 0 });
      }),
      { numRuns: 1500 },
    );
  });
});

describe("hedge: after 'p95'", () => {
  it("waits the label's p95 (within the histogram's error of the exact one) once minSamples are known, afterFallbackMs before; the wait restarts with each copy; the winner's latency is learned", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 4 }),
        (samples, minSamples, afterFallbackMs, answerAfter) => {
          const latencies = new LatencyRegistry();
          for (const ms of samples) latencies.record('api', ms);
          const sorted = [...samples].sort((a, b) => a - b);
          const exactP95 = sorted[Math.ceil(0.95 * sorted.length) - 1];
          const scheduler = new TestScheduler(() => undefined);
          const starts: number[] = [];
          const values: string[] = [];
          // Copies 1 and 2 never answer; copy 3 answers `answerAfter` ms after its start.
          const work = () => {
            const copy = starts.push(scheduler.now());
            return new Observable<string>((subscriber) => {
              if (copy < 3) return;
              const action = scheduler.schedule(() => {
                subscriber.next('third');
                subscriber.complete();
              }, answerAfter);
              return () => action.unsubscribe();
            });
          };
          hedge(work, {
            after: 'p95',
            label: 'api',
            latencies,
            minSamples,
            afterFallbackMs,
            max: 3,
            scheduler,
          }).subscribe((value) => values.push(value));
          scheduler.flush();

          expect(values).toEqual(['third']);
          expect(starts).toHaveLength(3);
          const wait = (starts[1] as number) - (starts[0] as number);
          // Restarted with each copy: the same wait between copies 2 and 3.
          expect((starts[2] as number) - (starts[1] as number)).toBe(wait);
          if (samples.length < minSamples || exactP95 === undefined) {
            expect(wait).toBe(afterFallbackMs);
          } else {
            expect(Math.abs(wait - exactP95)).toBeLessThanOrEqual(
              exactP95 * LATENCY_HISTOGRAM_ERROR + 1e-9,
            );
          }
          // One more sample, the winner's start to its first value.
          expect(latencies.histogram('api').count).toBe(samples.length + 1);
          if (samples.length === 0) {
            const learned = latencies.quantile('api', 0.5) as number;
            expect(Math.abs(learned - answerAfter)).toBeLessThanOrEqual(
              answerAfter * LATENCY_HISTOGRAM_ERROR + 1e-9,
            );
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
