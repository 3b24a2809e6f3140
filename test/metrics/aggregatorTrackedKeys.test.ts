import { type ExecutionEvent, MetricsAggregator } from 'eed';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const stored = (key: string, time: number, ttl = Number.POSITIVE_INFINITY): ExecutionEvent => ({
  type: 'cache-stored',
  key,
  ttl,
  expiresAt: 0,
  time,
  label: undefined,
});
const executed = (key: string, time: number, executionId: number): ExecutionEvent[] => [
  { type: 'executed', key, executionId, prefetch: false, time, label: undefined },
  {
    type: 'execution-ended',
    key,
    executionId,
    outcome: 'completed',
    durationMs: 0,
    time,
    label: undefined,
  },
];

describe('MetricsAggregator maxTrackedKeys', () => {
  it('forgets the key stored longest ago past the bound, as if it had been evicted', () => {
    const aggregator = new MetricsAggregator({ maxTrackedKeys: 2 });
    aggregator.add(stored('a', 1));
    aggregator.add(stored('b', 2));
    aggregator.add(stored('a', 3)); // stored again: now the newest
    aggregator.add(stored('c', 4)); // forgets b
    for (const event of executed('b', 5, 1)) aggregator.add(event);
    expect(aggregator.snapshot().redundantExecutions).toBe(0);
    for (const event of executed('a', 6, 2)) aggregator.add(event);
    for (const event of executed('c', 7, 3)) aggregator.add(event);
    expect(aggregator.snapshot().redundantExecutions).toBe(2);
  });

  it('rejects a bound that is not an integer >= 1, naming the option and the value', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, '10']) {
      expect(() => new MetricsAggregator({ maxTrackedKeys: bad as number })).toThrow(
        new RangeError(
          `maxTrackedKeys must be an integer >= 1 (or Infinity); received ${typeof bad === 'string' ? JSON.stringify(bad) : String(bad)}`,
        ),
      );
    }
    expect(() => new MetricsAggregator({ maxTrackedKeys: Number.POSITIVE_INFINITY })).not.toThrow();
  });

  it('counts what an unbounded aggregator counts while the keys fit, and never more', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('store' as const),
        key: fc.integer({ min: 0, max: 5 }),
        ttl: fc.integer({ min: 1, max: 60 }),
      }),
      fc.record({ kind: fc.constant('execute' as const), key: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant('invalidate' as const), key: fc.integer({ min: 0, max: 5 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(op, { maxLength: 60 }), (bound, ops) => {
        const bounded = new MetricsAggregator({ maxTrackedKeys: bound });
        const unbounded = new MetricsAggregator({ maxTrackedKeys: Number.POSITIVE_INFINITY });
        const keysStored = new Set<number>();
        let id = 0;
        ops.forEach((o, i) => {
          const time = 10 * i;
          const key = `k${o.key}`;
          const events =
            o.kind === 'store'
              ? [stored(key, time, o.ttl)]
              : o.kind === 'execute'
                ? executed(key, time, ++id)
                : [{ type: 'invalidated', key, time, label: undefined } as ExecutionEvent];
          if (o.kind === 'store') keysStored.add(o.key);
          for (const event of events) {
            bounded.add(event);
            unbounded.add(event);
          }
        });
        const got = bounded.snapshot().redundantExecutions;
        const all = unbounded.snapshot().redundantExecutions;
        expect(got).toBeLessThanOrEqual(all);
        if (keysStored.size <= bound) expect(got).toBe(all);
      }),
    );
  });
});
