import { type ExecutionEvent, MetricsAggregator } from 'eed';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** A task's life: queued at q, started at s, ended at e (q < s < e), all times distinct. */
interface Life {
  q: number;
  s: number;
  e: number;
  outcome: 'completed' | 'failed' | 'cancelled' | 'preempted';
}

const livesArb = fc
  .integer({ min: 1, max: 12 })
  .chain((n) =>
    fc.tuple(
      fc.uniqueArray(fc.integer({ min: 0, max: 100_000 }), { minLength: 3 * n, maxLength: 3 * n }),
      fc.array(
        fc.constantFrom('completed', 'failed', 'cancelled', 'preempted') as fc.Arbitrary<
          Life['outcome']
        >,
        {
          minLength: n,
          maxLength: n,
        },
      ),
    ),
  )
  .map(([times, outcomes]) =>
    outcomes.map((outcome, i) => {
      const [q, s, e] = times.slice(3 * i, 3 * i + 3).sort((a, b) => a - b) as [
        number,
        number,
        number,
      ];
      return { q, s, e, outcome };
    }),
  );

function executorEvents(lives: Life[]): ExecutionEvent[] {
  const base = { label: undefined, priority: 'normal' as const, executorId: 1 };
  const events: ExecutionEvent[] = [];
  lives.forEach((life, taskId) => {
    events.push({ type: 'queued', time: life.q, taskId, preemptible: false, ...base });
    events.push({
      type: 'started',
      time: life.s,
      taskId,
      slot: 0,
      preemptible: false,
      expectedMs: undefined,
      ...base,
    });
    const end = { time: life.e, taskId, slot: 0, ...base };
    events.push(
      life.outcome === 'failed'
        ? { type: 'failed', ...end, error: new Error('x') }
        : { type: life.outcome, ...end },
    );
  });
  return events.sort((a, b) => a.time - b.time);
}

/** Measure of the union of intervals. */
function unionLength(intervals: Array<[number, number]>): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = Number.NEGATIVE_INFINITY;
  let start = 0;
  for (const [a, b] of sorted) {
    if (a > end) {
      if (end > Number.NEGATIVE_INFINITY) total += end - start;
      start = a;
      end = b;
    } else end = Math.max(end, b);
  }
  if (end > Number.NEGATIVE_INFINITY) total += end - start;
  return total;
}

describe('MetricsAggregator against obviously correct references', () => {
  it('parallelization, utilization, speedup and task counts', () => {
    fc.assert(
      fc.property(livesArb, fc.integer({ min: 1, max: 8 }), (lives, concurrency) => {
        const aggregator = new MetricsAggregator({ concurrency });
        for (const event of executorEvents(lives)) aggregator.add(event);
        const m = aggregator.snapshot();

        const overlapped = lives.filter((a, i) =>
          lives.some((b, j) => i !== j && a.s < b.e && b.s < a.e),
        ).length;
        const busy = lives.reduce((sum, l) => sum + (l.e - l.s), 0);
        const active = unionLength(lives.map((l) => [l.q, l.e]));

        expect(m.tasks.started).toBe(lives.length);
        expect(m.tasks.overlapped).toBe(overlapped);
        expect(m.parallelizationRatio).toBeCloseTo(overlapped / lives.length, 10);
        expect(m.busyMs).toBeCloseTo(busy, 6);
        expect(m.activeMs).toBeCloseTo(active, 6);
        expect(m.speedup).toBeCloseTo(active === 0 ? 0 : busy / active, 10);
        expect(m.utilization).toBeCloseTo(active === 0 ? 0 : busy / (concurrency * active), 10);
        for (const outcome of ['completed', 'failed', 'cancelled', 'preempted'] as const) {
          expect(m.tasks[outcome]).toBe(lives.filter((l) => l.outcome === outcome).length);
        }
      }),
    );
  });

  it('cache hit rate, dedupe rate and redundancy', () => {
    type Op =
      | { kind: 'hit' | 'miss' | 'join' | 'request' }
      | { kind: 'execute'; key: string; duration: number; store: boolean; ttl: number }
      | { kind: 'invalidate'; key: string };
    const key = fc.constantFrom('a', 'b', 'c');
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constantFrom('hit' as const, 'miss' as const, 'join' as const, 'request' as const),
      }),
      fc.record({
        kind: fc.constant('execute' as const),
        key,
        duration: fc.integer({ min: 1, max: 50 }),
        store: fc.boolean(),
        ttl: fc.integer({ min: 1, max: 100 }),
      }),
      fc.record({ kind: fc.constant('invalidate' as const), key }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        // Lay the operations out in time: op i happens at 10 * i; executions end later.
        const events: ExecutionEvent[] = [];
        const executions: Array<{ key: string; start: number; end: number }> = [];
        const stores: Array<{ key: string; at: number; until: number }> = [];
        const invalidations: Array<{ key: string; at: number }> = [];
        let id = 0;
        ops.forEach((op, i) => {
          const time = 10 * i + 1;
          const base = { time, label: undefined };
          if (op.kind === 'hit') events.push({ type: 'cache-hit', key: 'k', tier: 0, ...base });
          else if (op.kind === 'miss') events.push({ type: 'cache-miss', key: 'k', ...base });
          else if (op.kind === 'join') events.push({ type: 'joined', key: 'k', ...base });
          else if (op.kind === 'request') {
            events.push({ type: 'request', key: 'k', requestId: i, priority: 'normal', ...base });
          } else if (op.kind === 'invalidate') {
            events.push({ type: 'invalidated', key: op.key, ...base });
            invalidations.push({ key: op.key, at: time });
          } else if (op.kind === 'execute') {
            const end = time + op.duration * 10 + 5;
            const executionId = ++id;
            events.push({ type: 'executed', key: op.key, executionId, prefetch: false, ...base });
            events.push({
              type: 'execution-ended',
              key: op.key,
              executionId,
              outcome: 'completed',
              durationMs: end - time,
              time: end,
              label: undefined,
            });
            if (op.store) {
              events.push({
                type: 'cache-stored',
                key: op.key,
                ttl: op.ttl,
                expiresAt: 0,
                time: end + 0.5,
                label: undefined,
              });
              stores.push({ key: op.key, at: end + 0.5, until: end + 0.5 + op.ttl });
            }
            executions.push({ key: op.key, start: time, end });
          }
        });
        events.sort((a, b) => a.time - b.time);
        const aggregator = new MetricsAggregator();
        for (const event of events) aggregator.add(event);
        const m = aggregator.snapshot();

        const count = (kind: Op['kind']) => ops.filter((o) => o.kind === kind).length;
        const hits = count('hit');
        const misses = count('miss');
        const redundant = executions.filter((x) => {
          const inFlight = executions.some(
            (y) => y !== x && y.key === x.key && y.start < x.start && y.end > x.start,
          );
          const cached = stores.some(
            (s) =>
              s.key === x.key &&
              s.at <= x.start &&
              s.until > x.start &&
              !invalidations.some((v) => v.key === x.key && v.at > s.at && v.at <= x.start),
          );
          return inFlight || cached;
        }).length;
        expect(m.cacheHitRate).toBeCloseTo(hits + misses === 0 ? 0 : hits / (hits + misses), 10);
        expect(m.dedupeRate).toBeCloseTo(
          count('request') === 0 ? 0 : count('join') / count('request'),
          10,
        );
        expect(m.redundantExecutions).toBe(redundant);
        expect(m.redundancyRate).toBeCloseTo(
          executions.length === 0 ? 0 : redundant / executions.length,
          10,
        );
      }),
    );
  });

  it('latency quantiles are within 2% of the exact nearest-rank quantiles', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 300 }),
        (durations) => {
          const aggregator = new MetricsAggregator();
          durations.forEach((d, requestId) => {
            const t = requestId * 2_000_000;
            aggregator.add({
              type: 'request',
              time: t,
              key: 'k',
              label: undefined,
              requestId,
              priority: 'normal',
            });
            aggregator.add({
              type: 'first-value',
              time: t + d / 1000,
              key: 'k',
              label: undefined,
              requestId,
            });
            aggregator.add({
              type: 'request-ended',
              time: t + d / 1000,
              key: 'k',
              label: undefined,
              requestId,
              outcome: 'completed',
            });
          });
          const m = aggregator.snapshot();
          const sorted = durations.map((d) => d / 1000).sort((a, b) => a - b);
          const exact = (q: number) => sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
          for (const [q, got] of [
            [0.5, m.latency.firstValue.p50],
            [0.95, m.latency.firstValue.p95],
            [0.99, m.latency.completion.p99],
          ] as const) {
            expect(Math.abs(got - exact(q)) / exact(q)).toBeLessThanOrEqual(0.02);
          }
          expect(m.latency.completion.count).toBe(durations.length);
          expect(m.latency.completion.max).toBeCloseTo(sorted[sorted.length - 1]!, 6);
        },
      ),
    );
  });
});
