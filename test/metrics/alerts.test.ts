import {
  type Alert,
  AlertMonitor,
  type AlertThresholds,
  createEngine,
  LatencySketch,
  MetricsAggregator,
} from 'eed';
import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';

/** The fields every executor event of task `taskId` at `time` has. */
const taskFields = (taskId: number, time: number) => ({
  time,
  taskId,
  label: undefined,
  priority: 'normal' as const,
  executorId: 1,
});

describe('AlertMonitor', () => {
  const started = (taskId: number, time: number, expectedMs?: number, label = 'fetch') =>
    ({
      type: 'started',
      time,
      taskId,
      label,
      priority: 'normal',
      executorId: 1,
      slot: 0,
      preemptible: false,
      expectedMs,
    }) as const;
  const completed = (taskId: number, time: number, label = 'fetch') =>
    ({
      type: 'completed',
      time,
      taskId,
      label,
      priority: 'normal',
      executorId: 1,
      slot: 0,
    }) as const;

  /** A monitor fed as the engine feeds it: each event goes to the aggregator first. */
  const monitored = (thresholds: AlertThresholds, windowMs?: number) => {
    const alerts: Alert[] = [];
    const monitor = new AlertMonitor(thresholds, (a) => alerts.push(a));
    const aggregator = new MetricsAggregator({ windowMs });
    const feed = (e: Parameters<MetricsAggregator['add']>[0]) => {
      aggregator.add(e);
      monitor.observe(e, aggregator.window());
    };
    return { alerts, monitor, feed };
  };

  it('fires slow-execution past expectedMs and resolves when a task is fast again', () => {
    const { alerts, feed } = monitored({});
    feed(started(1, 0, 100));
    feed(completed(1, 150));
    feed(started(2, 200, 100));
    feed(completed(2, 250));
    expect(alerts.map((a) => [a.kind, a.state, a.label])).toEqual([
      ['slow-execution', 'firing', 'fetch'],
      ['slow-execution', 'resolved', 'fetch'],
    ]);
    expect(alerts[0]!.message).toMatch(/took 150\.0 ms, expected at most 100\.0 ms/);
  });

  it('reset forgets started tasks and firing alerts, so a breach still in effect fires again', () => {
    const { alerts, monitor, feed } = monitored({ minSamples: 1, minParallelization: 0 });
    feed(started(1, 0, 100));
    feed(completed(1, 150));
    feed(started(2, 200, 100));
    monitor.reset();
    // Task 2 was forgotten: its end is not judged.
    feed(completed(2, 400));
    expect(alerts.map((a) => a.state)).toEqual(['firing']);
    feed(started(3, 400, 100));
    feed(completed(3, 600));
    expect(alerts.map((a) => [a.kind, a.state])).toEqual([
      ['slow-execution', 'firing'],
      ['slow-execution', 'firing'],
    ]);
  });

  it('learns a label p95 and flags tasks slower than slowFactor times it', () => {
    const { alerts, feed } = monitored({ minSamples: 5, slowFactor: 2 });
    let t = 0;
    for (let i = 0; i < 5; i++) {
      feed(started(i, t));
      feed(completed(i, t + 10));
      t += 100;
    }
    feed(started(99, t));
    feed(completed(99, t + 50));
    const slow = alerts.filter((a) => a.kind === 'slow-execution');
    expect(slow).toHaveLength(1);
    expect(slow[0]!.threshold).toBeCloseTo(20, 0);
  });

  it('fires low-parallelization over the window once enough samples exist, then resolves', () => {
    const { alerts, feed } = monitored({ minSamples: 4 }, 1_000);
    // four serial tasks: no overlap
    for (let i = 0; i < 4; i++) {
      feed(started(i, i * 10));
      feed(completed(i, i * 10 + 5));
    }
    const parallel = () =>
      alerts.filter((a) => a.kind === 'low-parallelization').map((a) => `${a.kind}:${a.state}`);
    expect(parallel()).toEqual(['low-parallelization:firing']);
    // much later, eight overlapping tasks: the old serial ones left the window
    for (let i = 10; i < 18; i++) feed(started(i, 5_000 + i));
    for (let i = 10; i < 18; i++) feed(completed(i, 5_100 + i));
    expect(parallel()).toEqual(['low-parallelization:firing', 'low-parallelization:resolved']);
  });

  it('rejects bad thresholds naming them', () => {
    expect(() => new AlertMonitor({ maxRedundancy: 2 }, () => {})).toThrow(
      /alerts.maxRedundancy.*2/,
    );
    expect(() => new AlertMonitor({ minSamples: 0 }, () => {})).toThrow(/minSamples.*0/);
  });

  it('rejects ratios that are not numbers from 0 to 1, with no coercion', () => {
    for (const name of ['minParallelization', 'maxRedundancy', 'minCacheHitRate'] as const) {
      for (const [value, shown] of [
        ['0.5', '"0.5"'],
        [true, 'true'],
        [-0.1, '-0.1'],
        [1.5, '1.5'],
        [Number.NaN, 'NaN'],
      ] as const) {
        expect(() => new AlertMonitor({ [name]: value as never }, () => {})).toThrow(
          new RangeError(`alerts.${name} must be a number from 0 to 1; received ${shown}`),
        );
      }
      for (const value of [0, 0.5, 1]) {
        expect(() => new AlertMonitor({ [name]: value }, () => {})).not.toThrow();
      }
    }
  });

  it('rejects slowFactor unless a multiplier > 0 (Infinity allowed)', () => {
    for (const [slowFactor, shown] of [
      [0, '0'],
      [-1, '-1'],
      [Number.NaN, 'NaN'],
      ['3', '"3"'],
    ] as const) {
      expect(() => new AlertMonitor({ slowFactor: slowFactor as never }, () => {})).toThrow(
        new RangeError(
          `alerts.slowFactor must be a multiplier > 0 (or Infinity); received ${shown}`,
        ),
      );
    }
    for (const slowFactor of [0.5, 3, Number.POSITIVE_INFINITY]) {
      expect(() => new AlertMonitor({ slowFactor }, () => {})).not.toThrow();
    }
  });

  it('rejects thresholds that are not an object and an emit that is not a function', () => {
    expect(() => new AlertMonitor(undefined as never, () => {})).toThrow(
      new TypeError('thresholds must be an object; received undefined'),
    );
    expect(() => new AlertMonitor({}, 5 as never)).toThrow(
      new TypeError('emit must be a function; received 5'),
    );
  });

  it('with slowFactor Infinity judges only tasks that have an expectedMs', () => {
    const { alerts, feed } = monitored({
      minSamples: 2,
      minParallelization: 0,
      slowFactor: Number.POSITIVE_INFINITY,
    });
    for (let i = 0; i < 4; i++) {
      feed(started(i, i * 100));
      feed(completed(i, i * 100 + (i === 3 ? 90 : 10)));
    }
    expect(alerts).toEqual([]);
    feed(started(9, 1_000, 20));
    feed(completed(9, 1_050));
    expect(alerts.map((a) => [a.kind, a.state])).toEqual([['slow-execution', 'firing']]);
  });
});

describe('MetricsAggregator options', () => {
  it('rejects concurrency unless an integer >= 1 or Infinity', () => {
    for (const [concurrency, shown] of [
      [0, '0'],
      [Number.NaN, 'NaN'],
      [2.5, '2.5'],
      ['4', '"4"'],
    ] as const) {
      expect(() => new MetricsAggregator({ concurrency: concurrency as never })).toThrow(
        new RangeError(`concurrency must be an integer >= 1 (or Infinity); received ${shown}`),
      );
    }
    for (const concurrency of [1, 8, Number.POSITIVE_INFINITY]) {
      expect(() => new MetricsAggregator({ concurrency })).not.toThrow();
    }
  });

  it('rejects windowMs unless a number > 0 (Infinity: the whole session)', () => {
    for (const [windowMs, shown] of [
      [0, '0'],
      [-1, '-1'],
      [Number.NaN, 'NaN'],
      ['60000', '"60000"'],
    ] as const) {
      expect(() => new MetricsAggregator({ windowMs: windowMs as never })).toThrow(
        new RangeError(
          `windowMs must be a number of milliseconds > 0 (or Infinity); received ${shown}`,
        ),
      );
    }
    const ended = (taskId: number, time: number) => [
      { ...taskFields(taskId, time), type: 'queued', preemptible: false } as const,
      {
        ...taskFields(taskId, time),
        type: 'started',
        slot: 0,
        preemptible: false,
        expectedMs: undefined,
      } as const,
      { ...taskFields(taskId, time), type: 'completed', slot: 0 } as const,
    ];
    const session = new MetricsAggregator({ windowMs: Number.POSITIVE_INFINITY });
    const short = new MetricsAggregator({ windowMs: 0.5 });
    for (const event of [...ended(1, 0), ...ended(2, 1e9)]) {
      session.add(event);
      short.add(event);
    }
    expect(session.window().ended).toBe(2);
    expect(short.window().ended).toBe(1);
  });
});

describe('engine alerts and metrics', () => {
  it('reports low cache hit rate through engine.alerts$', async () => {
    const engine = createEngine({ alerts: { minSamples: 3 } });
    const alerts: string[] = [];
    engine.alerts$.subscribe((a) => alerts.push(`${a.kind}:${a.state}`));
    for (const key of ['a', 'b', 'c']) await firstValueFrom(engine.run(key, async () => key));
    expect(alerts).toContain('low-cache-hit-rate:firing');
  });

  it('alerts$ starts afresh once its last subscriber left: an ongoing breach fires again', async () => {
    const engine = createEngine({ alerts: { minSamples: 1 } });
    const alerts: string[] = [];
    const first = engine.alerts$.subscribe((a) => alerts.push(`1:${a.kind}:${a.state}`));
    await firstValueFrom(engine.run('a', async () => 'a'));
    first.unsubscribe();
    engine.alerts$.subscribe((a) => alerts.push(`2:${a.kind}:${a.state}`));
    await firstValueFrom(engine.run('b', async () => 'b'));
    expect(alerts.filter((a) => a.includes('cache-hit'))).toEqual([
      '1:low-cache-hit-rate:firing',
      '2:low-cache-hit-rate:firing',
    ]);
  });

  it('fires high-redundancy when executions repeat a validly cached key, and resolves', async () => {
    const engine = createEngine({ alerts: { minSamples: 3, maxRedundancy: 0.5 } });
    const alerts: string[] = [];
    engine.alerts$.subscribe((a) => alerts.push(`${a.kind}:${a.state}:${a.value.toFixed(2)}`));
    const redundancy = () => alerts.filter((a) => a.startsWith('high-redundancy'));
    await firstValueFrom(engine.run('k', async () => 'k'));
    // Runs that skip the cache while 'k' is validly cached execute redundantly.
    for (let i = 0; i < 3; i++) {
      await firstValueFrom(engine.run('k', async () => 'k', { cache: false }));
    }
    // It fires once enough samples exist: 2 of 3 executions redundant.
    expect(redundancy()).toEqual(['high-redundancy:firing:0.67']);
    expect(engine.metrics().redundantExecutions).toBe(3);
    // Executions of new keys bring the share back under the threshold.
    for (const key of ['a', 'b', 'c', 'd']) await firstValueFrom(engine.run(key, async () => key));
    // 3 of 6 is no longer above 0.5.
    expect(redundancy()).toEqual(['high-redundancy:firing:0.67', 'high-redundancy:resolved:0.50']);
  });

  it('fills executor metrics: tasks, parallelization, speedup, handoff', async () => {
    const engine = createEngine({ executor: { concurrency: 2 } });
    await Promise.all(
      ['a', 'b', 'c', 'd'].map((key) =>
        firstValueFrom(engine.run(key, () => new Promise((r) => setTimeout(() => r(key), 5)))),
      ),
    );
    const m = engine.metrics();
    expect(m.tasks).toMatchObject({ started: 4, completed: 4 });
    expect(m.parallelizationRatio).toBe(1);
    expect(m.speedup).toBeGreaterThan(1);
    expect(m.utilization).toBeGreaterThan(0);
    expect(m.utilization).toBeLessThanOrEqual(1);
    expect(m.handoff.count).toBe(2);
    expect(m.latency.firstValue.count).toBe(4);
  });

  it('metrics: false keeps nothing and does not listen to the executor', async () => {
    const engine = createEngine({ metrics: false });
    await firstValueFrom(engine.run('a', async () => 1));
    expect(engine.metrics().requests).toBe(0);
  });
});

describe('LatencySketch', () => {
  it('answers quantiles of what it recorded, in bounded memory', () => {
    const sketch = new LatencySketch();
    for (let i = 1; i <= 100; i++) sketch.record(i);
    expect(sketch.quantile(0.5)).toBeCloseTo(50, -0.5);
    expect(sketch.quantile(0.99)).toBeCloseTo(99, -0.5);
    expect(sketch.max).toBe(100);
    expect(new LatencySketch().quantile(0.5)).toBe(0);
  });
});
