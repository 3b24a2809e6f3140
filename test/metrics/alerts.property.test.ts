import {
  type Alert,
  AlertMonitor,
  type AlertThresholds,
  type ExecutionEvent,
  MetricsAggregator,
} from 'eed';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const WINDOW_MS = 1_000;

/** Steps between events: none, within a bucket, on a bucket's edge, past the whole window. */
const STEPS = [0, 1, 50, 99.5, 100, 400, 1_200] as const;
const step = fc.oneof(
  { arbitrary: fc.constantFrom(0, 1, 50, 99.5, 100), weight: 4 },
  fc.constantFrom(400, 1_200),
  fc.double({ min: 0, max: 1_500, noNaN: true }),
);
/** Ratio thresholds: values a ratio of small counts can equal exactly, and anything between. */
const ratioThreshold = fc.oneof(
  fc.constantFrom(0, 0.25, 0.5, 1),
  fc.double({ min: 0, max: 1, noNaN: true }),
);

type Outcome = 'completed' | 'failed' | 'cancelled' | 'preempted';
/** Mostly completions; the other ends of a running task now and then. */
const outcome = fc.oneof(
  { arbitrary: fc.constant<Outcome>('completed'), weight: 3 },
  fc.constantFrom<Outcome>('failed', 'cancelled', 'preempted'),
);

/** An AlertMonitor fed as the engine feeds it: each event goes to the aggregator first. */
function monitored(thresholds: AlertThresholds) {
  const alerts: Alert[] = [];
  const monitor = new AlertMonitor({ ...thresholds, windowMs: WINDOW_MS }, (a) => alerts.push(a));
  const aggregator = new MetricsAggregator({ windowMs: WINDOW_MS });
  return {
    alerts,
    /** Feeds `event`; returns the window the monitor was given and the alerts it emitted. */
    feed(event: ExecutionEvent) {
      aggregator.add(event);
      const window = aggregator.window();
      const before = alerts.length;
      monitor.observe(event, window);
      return { window, emitted: alerts.slice(before) };
    },
  };
}

/** The executor's events of one task: queued and started at `start`, then its end. */
function taskEvents(
  taskId: number,
  label: string | undefined,
  start: number,
  expectedMs: number | undefined,
): { started: ExecutionEvent[]; end: (outcome: Outcome, time: number) => ExecutionEvent } {
  const base = { taskId, label, priority: 'normal', executorId: 1 } as const;
  return {
    started: [
      { ...base, type: 'queued', time: start, preemptible: true },
      { ...base, type: 'started', time: start, slot: 0, preemptible: true, expectedMs },
    ],
    end: (outcome, time) =>
      outcome === 'failed'
        ? { ...base, type: 'failed', time, slot: 0, error: new Error('boom') }
        : { ...base, type: outcome, time, slot: 0 },
  };
}

interface PlannedTask {
  /** From the previous task's start. */
  readonly gap: number;
  readonly duration: number;
  readonly label: string | undefined;
  readonly expectedMs: number | undefined;
  readonly outcome: Outcome;
}

/** The events of tasks started `gap` apart, each ending `duration` after its start, in time order. */
function scheduleEvents(tasks: readonly PlannedTask[]): ExecutionEvent[] {
  const events: ExecutionEvent[] = [];
  let start = 0;
  tasks.forEach((task, taskId) => {
    start += task.gap;
    const { started, end } = taskEvents(taskId, task.label, start, task.expectedMs);
    events.push(...started, end(task.outcome, start + task.duration));
  });
  // A stable sort: at equal times a task's own events keep their order.
  return events.sort((a, b) => a.time - b.time);
}

/** The exact nearest-rank `q`-quantile (the rank the sketch uses too). */
function nearestRank(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] as number;
}

/** Each label's alerts alternate firing and resolved, starting with firing. */
function expectAlternation(alerts: readonly Alert[], by: (alert: Alert) => unknown): void {
  const groups = new Map<unknown, Alert[]>();
  for (const alert of alerts) groups.set(by(alert), [...(groups.get(by(alert)) ?? []), alert]);
  for (const group of groups.values()) {
    group.forEach((alert, i) => {
      expect(alert.state).toBe(i % 2 === 0 ? 'firing' : 'resolved');
    });
  }
}

/**
 * slow-execution against tasks that each have an `expectedMs`: the model keeps one firing
 * state per label (undefined, "no label", is a label of its own) and judges each completed
 * task by its duration, from the events' own times, against its `expectedMs`.
 */
function slowWithExpectedMs(labels: readonly (string | undefined)[]) {
  const ms = fc.oneof(fc.constantFrom(...STEPS), fc.double({ min: 0, max: 1_500, noNaN: true }));
  return fc.property(
    fc.integer({ min: 1, max: 6 }),
    fc.array(
      fc.record({
        gap: step,
        // From the same constants as expectedMs, so a duration often equals it exactly.
        duration: ms,
        label: fc.constantFrom(...labels),
        expectedMs: ms,
        outcome,
      }),
      { maxLength: 60, size: 'max' },
    ),
    (minSamples, tasks) => {
      // minParallelization 0: nothing is below it, so every alert here is a slow-execution.
      const { alerts, feed } = monitored({ minSamples, minParallelization: 0 });
      const running = new Map<
        number,
        { time: number; label: string | undefined; expectedMs: number }
      >();
      const firing = new Map<string | undefined, boolean>();
      for (const event of scheduleEvents(tasks)) {
        const { emitted } = feed(event);
        let expected: Partial<Alert> | undefined;
        if (event.type === 'started') {
          running.set(event.taskId, {
            time: event.time,
            label: event.label,
            expectedMs: event.expectedMs as number,
          });
        } else if (event.type === 'completed') {
          // Judged on every completion, however few runs the label had (minSamples is for p95).
          const task = running.get(event.taskId)!;
          const duration = event.time - task.time;
          const slow = duration > task.expectedMs;
          if (slow !== (firing.get(task.label) ?? false)) {
            firing.set(task.label, slow);
            expected = {
              kind: 'slow-execution',
              state: slow ? 'firing' : 'resolved',
              label: task.label,
              value: duration,
              threshold: task.expectedMs,
              time: event.time,
              message: expect.stringContaining(`"${task.label ?? 'unlabelled'}"`),
            };
          }
        }
        // Failed, cancelled and preempted tasks are never judged.
        expect(emitted).toEqual(expected === undefined ? [] : [expect.objectContaining(expected)]);
      }
      expectAlternation(alerts, (alert) => alert.label);
    },
  );
}

/**
 * low-parallelization over the window the monitor is given: judged at every end of a
 * running task, whatever its outcome (each one moves the window's counts).
 */
function lowParallelization() {
  return fc.property(
    fc.integer({ min: 1, max: 6 }),
    ratioThreshold,
    fc.array(
      fc.record({
        step,
        // A new task one time in three (or when none runs): both lone and overlapping runs.
        start: fc.constantFrom(true, false, false),
        pick: fc.nat(),
        outcome,
      }),
      { maxLength: 100, size: 'max' },
    ),
    (minSamples, minParallelization, ops) => {
      // slowFactor Infinity and no expectedMs: no task is ever slow, so every alert here
      // is about parallelization.
      const { alerts, feed } = monitored({
        minSamples,
        minParallelization,
        slowFactor: Number.POSITIVE_INFINITY,
      });
      const running: ReturnType<typeof taskEvents>[] = [];
      let nextId = 0;
      let time = 0;
      let firing = false;
      for (const op of ops) {
        time += op.step;
        let events: ExecutionEvent[];
        if (op.start || running.length === 0) {
          const task = taskEvents(nextId++, 'work', time, undefined);
          running.push(task);
          events = task.started;
        } else {
          const [task] = running.splice(op.pick % running.length, 1);
          events = [task!.end(op.outcome, time)];
        }
        for (const event of events) {
          const { window, emitted } = feed(event);
          const value = window.overlapped / window.ended;
          // Judged only on enough samples; otherwise the state stays what it was.
          const breached: boolean =
            window.ended >= minSamples ? value < minParallelization : firing;
          if (['completed', 'failed', 'cancelled', 'preempted'].includes(event.type)) {
            firing = breached;
          }
          expect(emitted.length).toBeLessThanOrEqual(1);
          expect(alerts.at(-1)?.state === 'firing').toBe(firing);
          for (const alert of emitted) {
            expect(alert).toMatchObject({
              kind: 'low-parallelization',
              threshold: minParallelization,
              label: undefined,
              time,
              value,
            });
          }
        }
      }
      expectAlternation(alerts, (alert) => alert.kind);
    },
  );
}

describe('AlertMonitor (fast-check)', () => {
  it('low-cache-hit-rate fires exactly while the window, once it holds minSamples lookups, is below the threshold', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(
          fc.record({ hit: fc.boolean(), step: fc.constantFrom(0, 1, 50, 99.5, 100, 400, 1_200) }),
          { maxLength: 80 },
        ),
        (minSamples, minCacheHitRate, lookups) => {
          const alerts: Alert[] = [];
          const monitor = new AlertMonitor(
            { minSamples, minCacheHitRate, windowMs: WINDOW_MS },
            (a) => alerts.push(a),
          );
          const aggregator = new MetricsAggregator({ windowMs: WINDOW_MS });
          let time = 0;
          let firing = false;
          for (const { hit, step } of lookups) {
            time += step;
            const event: ExecutionEvent = hit
              ? { type: 'cache-hit', time, key: 'k', label: undefined, tier: 0 }
              : { type: 'cache-miss', time, key: 'k', label: undefined };
            aggregator.add(event);
            const window = aggregator.window();
            const before = alerts.length;
            monitor.observe(event, window);
            const whole = window.hits + window.misses;
            // Judged only on enough samples; otherwise the state stays what it was.
            if (whole >= minSamples) firing = window.hits / whole < minCacheHitRate;
            const emitted = alerts.slice(before);
            expect(emitted.length).toBeLessThanOrEqual(1);
            const last = alerts.at(-1);
            expect(last?.state === 'firing').toBe(firing);
            for (const alert of emitted) {
              expect(alert).toMatchObject({
                kind: 'low-cache-hit-rate',
                threshold: minCacheHitRate,
                time,
                value: window.hits / whole,
              });
            }
          }
          // Firing and resolved alternate, starting with firing.
          alerts.forEach((alert, i) => {
            expect(alert.state).toBe(i % 2 === 0 ? 'firing' : 'resolved');
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('slow-execution fires exactly when a task outlasts its expectedMs, per label, and resolves when one of that label is within it', () => {
    fc.assert(slowWithExpectedMs(['a', 'b', undefined]), { numRuns: 300 });
  });

  // Unlabelled tasks and tasks labelled '' once shared one state and one p95 history.
  it('slow-execution keeps an unlabelled task apart from a task labelled ""', () => {
    fc.assert(slowWithExpectedMs(['', undefined]), { numRuns: 100 });
  });

  it('slow-execution without expectedMs fires past slowFactor x the label p95, once the label has minSamples runs', () => {
    // The monitor's p95 is a LatencySketch's: within 1/128 of the exact nearest-rank p95
    // (1 µs at its floor) and within the observed range. So the model allows its threshold
    // a band around slowFactor x the exact p95 (1% of p95, or 1 µs, clamped to the observed
    // min..max). A duration inside the band may be judged either way: there the model takes
    // what the monitor did (at most one alert, which must flip the state) and checks the
    // alert's fields. Everywhere else the monitor must match the exact comparison.
    let decided = 0;
    let banded = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        // A factor > 0: 0 is rejected (every task would be slow).
        fc.oneof(
          fc.constantFrom(1, 2, 3),
          fc.double({ min: 0, max: 5, minExcluded: true, noNaN: true }),
        ),
        fc.array(
          fc.record({
            gap: step,
            duration: fc.oneof(
              fc.constantFrom(0, 0.5, 1, 10, 50, 99.5, 100, 400, 1_200),
              fc.double({ min: 0, max: 2_000, noNaN: true }),
            ),
            label: fc.constantFrom('a', 'b', undefined),
            // Mostly without one; a task with one is judged by it, and its run still
            // counts in the label's p95.
            expectedMs: fc.oneof(
              { arbitrary: fc.constant(undefined), weight: 4 },
              fc.constantFrom(10, 100, 400),
            ),
            outcome,
          }),
          { maxLength: 60, size: 'max' },
        ),
        (minSamples, slowFactor, tasks) => {
          const { alerts, feed } = monitored({ minSamples, slowFactor, minParallelization: 0 });
          const running = new Map<
            number,
            { time: number; label: string | undefined; expectedMs: number | undefined }
          >();
          // Durations of each label's completed runs: failed or cancelled runs are not observed.
          const runs = new Map<string | undefined, number[]>();
          const firing = new Map<string | undefined, boolean>();
          for (const event of scheduleEvents(tasks)) {
            const { emitted } = feed(event);
            if (event.type === 'started') {
              running.set(event.taskId, {
                time: event.time,
                label: event.label,
                expectedMs: event.expectedMs,
              });
            }
            if (event.type !== 'completed') {
              expect(emitted).toEqual([]);
              continue;
            }
            const task = running.get(event.taskId)!;
            const duration = event.time - task.time;
            const before = runs.get(task.label) ?? [];
            runs.set(task.label, [...before, duration]);
            // The threshold, and where the monitor's may lie: exactly expectedMs, or near
            // slowFactor x p95.
            let threshold: number;
            let lower: number;
            let upper: number;
            if (task.expectedMs !== undefined) {
              threshold = lower = upper = task.expectedMs;
            } else {
              if (before.length < minSamples) {
                // Not judged yet: the state stays what it was.
                expect(emitted).toEqual([]);
                continue;
              }
              const p95 = nearestRank(before, 0.95);
              threshold = slowFactor * p95;
              // The sketch's p95 is within 1/128 of p95 (1 µs at its floor) and within the
              // observed range.
              const error = p95 > 0.001 ? p95 / 100 : 0.001;
              lower = slowFactor * Math.max(p95 - error, Math.min(...before));
              upper = slowFactor * Math.min(p95 + error, Math.max(...before));
            }
            const was = firing.get(task.label) ?? false;
            let slow: boolean;
            if (lower < duration && duration <= upper) {
              banded++;
              expect(emitted.length).toBeLessThanOrEqual(1);
              slow = emitted.length === 1 ? !was : was;
            } else {
              decided++;
              slow = duration > threshold;
            }
            firing.set(task.label, slow);
            if (slow === was) {
              expect(emitted).toEqual([]);
              continue;
            }
            expect(emitted).toHaveLength(1);
            const alert = emitted[0]!;
            expect(alert).toMatchObject({
              kind: 'slow-execution',
              state: slow ? 'firing' : 'resolved',
              label: task.label,
              value: duration,
              time: event.time,
            });
            expect(alert.threshold).toBeGreaterThanOrEqual(lower);
            expect(alert.threshold).toBeLessThanOrEqual(upper);
          }
          expectAlternation(alerts, (alert) => alert.label);
        },
      ),
      { numRuns: 300 },
    );
    // The band is a sliver: nearly every judgement is checked exactly.
    expect(banded).toBeLessThan(decided / 20);
  });

  // Once judged at completions only: a lone failed task (minSamples 1, threshold 0.5)
  // left the window at 0 / 1 with nothing firing.
  it('low-parallelization fires exactly while the window, once it holds minSamples tasks, is below the threshold, judged at every end of a running task', () => {
    fc.assert(lowParallelization(), { numRuns: 400 });
  });

  it('high-redundancy fires exactly while the window, once it holds minSamples executions, is above the threshold', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        ratioThreshold,
        fc.array(
          fc.record({
            step,
            op: fc.constantFrom('execute', 'execute', 'end', 'end', 'invalidate'),
            key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
            ttl: fc.constantFrom(0, 50, 500, 2_000, Number.POSITIVE_INFINITY),
            outcome: fc.constantFrom('completed', 'completed', 'failed', 'cancelled'),
          }),
          { maxLength: 100, size: 'max' },
        ),
        (minSamples, maxRedundancy, ops) => {
          const { alerts, feed } = monitored({ minSamples, maxRedundancy });
          // Executions in flight per key, oldest first.
          const inFlight = new Map<string, { id: number; time: number }[]>();
          let nextId = 0;
          let time = 0;
          let firing = false;
          for (const { step: dt, op, key, ttl, outcome } of ops) {
            time += dt;
            const flights = inFlight.get(key) ?? [];
            inFlight.set(key, flights);
            const events: ExecutionEvent[] = [];
            const base = { time, key, label: undefined };
            if (op === 'execute') {
              flights.push({ id: nextId, time });
              events.push({ ...base, type: 'executed', executionId: nextId++, prefetch: false });
            } else if (op === 'invalidate') {
              events.push({ ...base, type: 'invalidated' });
            } else {
              const flight = flights.shift();
              if (flight !== undefined) {
                events.push({
                  ...base,
                  type: 'execution-ended',
                  executionId: flight.id,
                  outcome,
                  durationMs: time - flight.time,
                });
                if (outcome === 'completed') {
                  events.push({ ...base, type: 'cache-stored', ttl, expiresAt: time + ttl });
                }
              }
            }
            for (const event of events) {
              const { window, emitted } = feed(event);
              // Only an execution moves the window's executions and redundant counts.
              if (event.type === 'executed' && window.executions >= minSamples) {
                firing = window.redundant / window.executions > maxRedundancy;
              }
              expect(emitted.length).toBeLessThanOrEqual(1);
              expect(alerts.at(-1)?.state === 'firing').toBe(firing);
              for (const alert of emitted) {
                expect(event.type).toBe('executed');
                expect(alert).toMatchObject({
                  kind: 'high-redundancy',
                  threshold: maxRedundancy,
                  label: undefined,
                  time,
                  value: window.redundant / window.executions,
                });
              }
            }
          }
          expectAlternation(alerts, (alert) => alert.kind);
        },
      ),
      { numRuns: 300 },
    );
  });
});
