import { type Alert, AlertMonitor, type ExecutionEvent, MetricsAggregator } from 'eed';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const WINDOW_MS = 1_000;

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
});
