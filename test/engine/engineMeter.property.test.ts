import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EngineMeter } from '../../src/engine/EngineMeter.js';
import { MetricsAggregator } from '../../src/metrics/MetricsAggregator.js';
import type { WindowCounts } from '../../src/metrics/SlidingCounters.js';

const WINDOW_MS = 1_000;
const BASE_WINDOW: WindowCounts = {
  ended: 0,
  overlapped: 0,
  executions: 0,
  redundant: 0,
  hits: 0,
  misses: 0,
};

/** Times on and around the window's bucket edges (100 ms), repeated so turns share one. */
const time = fc.oneof(
  fc.constantFrom(0, 5, 99.999, 100, 250, 1_000, 1_950),
  fc.double({ min: 0, max: 3_000, noNaN: true }),
);

/** What the engine tells its meter, and the reads of its counts. */
const operation = fc.oneof(
  fc.record({
    op: fc.constant('served' as const),
    tier: fc.constantFrom(0, 0, 0, 1, 2),
    time,
    withValues: fc.boolean(),
  }),
  // Several hits of one turn in a row: what the deferred count adds up.
  fc.record({
    op: fc.constant('servedRun' as const),
    count: fc.integer({ min: 2, max: 5 }),
    time,
    withValues: fc.boolean(),
  }),
  fc.record({ op: fc.constant('hit' as const), tier: fc.constantFrom(0, 1), time }),
  fc.record({ op: fc.constant('miss' as const), time }),
  fc.record({ op: fc.constant('executed' as const), time, cached: fc.boolean() }),
  fc.record({ op: fc.constant('request' as const) }),
  fc.record({
    op: fc.constant('latency' as const),
    ms: fc.double({ min: 0, max: 500, noNaN: true }),
  }),
  fc.record({ op: fc.constant('read' as const) }),
);

type Operation = typeof operation extends fc.Arbitrary<infer O> ? O : never;

/** Feeds `meter` one operation; a hit served at once through `servedFromCache`. */
function apply(meter: EngineMeter, operation: Operation): void {
  switch (operation.op) {
    case 'served':
      meter.servedFromCache(operation.tier, operation.time, operation.withValues);
      break;
    case 'servedRun':
      for (let i = 0; i < operation.count; i++) {
        meter.servedFromCache(0, operation.time, operation.withValues);
      }
      break;
    default:
      applyOther(meter, operation);
  }
}

/** As {@link apply}, but a hit served at once counted as its four separate parts. */
function applyEagerly(meter: EngineMeter, operation: Operation): void {
  const servedOnce = (tier: number, time: number, withValues: boolean) => {
    meter.request();
    meter.hit(tier, time);
    if (withValues) meter.firstValue(0);
    meter.completed(0);
  };
  switch (operation.op) {
    case 'served':
      servedOnce(operation.tier, operation.time, operation.withValues);
      break;
    case 'servedRun':
      for (let i = 0; i < operation.count; i++) {
        servedOnce(0, operation.time, operation.withValues);
      }
      break;
    default:
      applyOther(meter, operation);
  }
}

function applyOther(meter: EngineMeter, operation: Operation): void {
  switch (operation.op) {
    case 'hit':
      meter.hit(operation.tier, operation.time);
      break;
    case 'miss':
      meter.miss(operation.time);
      break;
    case 'executed':
      meter.executed(operation.time, operation.cached);
      break;
    case 'request':
      meter.request();
      break;
    case 'latency':
      meter.firstValue(operation.ms);
      meter.completed(operation.ms);
      break;
    default:
      break;
  }
}

describe('EngineMeter', () => {
  it('counts hits served at once exactly as their request, hit, first value and completion (fast-check)', () => {
    const base = new MetricsAggregator({ windowMs: WINDOW_MS }).snapshot();
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
        const deferred = new EngineMeter(WINDOW_MS);
        const eager = new EngineMeter(WINDOW_MS);
        for (const operation of operations) {
          apply(deferred, operation);
          applyEagerly(eager, operation);
          if (operation.op === 'read') {
            expect(deferred.snapshot(base)).toEqual(eager.snapshot(base));
            expect(deferred.window(BASE_WINDOW)).toEqual(eager.window(BASE_WINDOW));
          }
        }
        expect(deferred.window(BASE_WINDOW)).toEqual(eager.window(BASE_WINDOW));
        expect(deferred.snapshot(base)).toEqual(eager.snapshot(base));
      }),
      { numRuns: 500 },
    );
  });

  it('returns a new snapshot once hits served at once were counted, and the same one otherwise', () => {
    const base = new MetricsAggregator({ windowMs: WINDOW_MS }).snapshot();
    const meter = new EngineMeter(WINDOW_MS);
    const before = meter.snapshot(base);
    expect(meter.snapshot(base)).toBe(before);
    meter.servedFromCache(0, 10, true);
    meter.servedFromCache(0, 10, false);
    const after = meter.snapshot(base);
    expect(after).not.toBe(before);
    expect(after).toMatchObject({ requests: 2, cacheHits: 2, cacheHitRate: 1 });
    expect(after.latency.firstValue.count).toBe(1);
    expect(after.latency.completion.count).toBe(2);
    expect(meter.snapshot(base)).toBe(after);
  });
});
