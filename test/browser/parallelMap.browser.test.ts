import { createExecutor } from 'eed';
import * as nodeEntry from 'eed/node';
import { parallelMap } from 'eed/operators';
import { firstValueFrom, from, lastValueFrom, merge, range, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';

// These tests run in a real Chromium page (vitest browser mode): they prove that the
// package's isomorphic entries load and work in a browser, and that "eed/node" resolves
// to its browser stub there.

/** Resolves after `ms` of the page's own timers (a macrotask, so work really interleaves). */
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Counts how many callers are inside a section at once, and the most ever seen. */
function gauge() {
  let active = 0;
  let peak = 0;
  return {
    enter() {
      active++;
      peak = Math.max(peak, active);
    },
    leave() {
      active--;
    },
    get active() {
      return active;
    },
    get peak() {
      return peak;
    },
  };
}

describe('in a real browser', () => {
  it('runs in Chromium, not in Node', () => {
    expect(typeof window).toBe('object');
    expect(typeof document.createElement).toBe('function');
    expect(navigator.userAgent).toMatch(/Chrome/);
  });
});

describe('parallelMap in the browser', () => {
  it('maps every value and never runs more than `concurrency` at once', async () => {
    const inside = gauge();
    const results = await lastValueFrom(
      range(0, 24).pipe(
        parallelMap(
          async (value: number, _index, signal) => {
            expect(signal.aborted).toBe(false);
            inside.enter();
            await delay((value * 7) % 5);
            inside.leave();
            return value * 2;
          },
          { concurrency: 3 },
        ),
        toArray(),
      ),
    );
    expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, i) => i * 2));
    expect(inside.peak).toBe(3);
    expect(inside.active).toBe(0);
  });

  it('with `ordered`, emits results in input order while running in parallel', async () => {
    const inside = gauge();
    const results = await lastValueFrom(
      range(0, 12).pipe(
        parallelMap(
          async (value: number) => {
            inside.enter();
            // Later values finish first, so order has to be restored.
            await delay(12 - value);
            inside.leave();
            return `#${value}`;
          },
          { concurrency: 4, ordered: true },
        ),
        toArray(),
      ),
    );
    expect(results).toEqual(Array.from({ length: 12 }, (_, i) => `#${i}`));
    expect(inside.peak).toBeGreaterThan(1);
    expect(inside.peak).toBeLessThanOrEqual(4);
  });

  it('shares one executor cap between two streams', async () => {
    const executor = createExecutor({ concurrency: 2 });
    const inside = gauge();
    const work = async (value: number) => {
      inside.enter();
      await delay(value % 3);
      inside.leave();
      return value;
    };
    const results = await lastValueFrom(
      merge(
        range(0, 8).pipe(parallelMap(work, { executor })),
        range(100, 8).pipe(parallelMap(work, { executor })),
      ).pipe(toArray()),
    );
    expect(results).toHaveLength(16);
    expect(inside.peak).toBe(2);
    expect(executor.stats().running).toBe(0);
    expect(executor.stats().queued).toBe(0);
  });

  it('after take(1), aborts the running work and starts no more', async () => {
    const started: number[] = [];
    const signals = new Map<number, AbortSignal>();
    const first = await firstValueFrom(
      from([0, 1, 2, 3, 4, 5]).pipe(
        parallelMap(
          (value: number, _index, signal) => {
            started.push(value);
            signals.set(value, signal);
            if (value === 0) return delay(1).then(() => 'winner');
            // The others only end when their signal aborts, as real work should.
            return new Promise<string>((_resolve, reject) => {
              signal.addEventListener('abort', () => reject(signal.reason), { once: true });
            });
          },
          { concurrency: 3 },
        ),
        take(1),
      ),
    );
    expect(first).toBe('winner');
    expect(started).toEqual([0, 1, 2]);
    for (const value of [1, 2]) {
      const signal = signals.get(value);
      expect(signal?.aborted).toBe(true);
      expect((signal?.reason as Error | undefined)?.name).toBe('AbortError');
    }
    // Nothing queued behind the winner starts later either.
    await delay(5);
    expect(started).toEqual([0, 1, 2]);
  });
});

describe("'eed/node' in the browser", () => {
  // The browser project aliases 'eed/node' to src/node/browser.ts, as the package's
  // "browser" export condition does for bundlers.
  const stubExports = Object.entries(nodeEntry as Record<string, unknown>);

  it('resolves to the stub, whose every export throws a Node-only error', () => {
    expect(stubExports.length).toBeGreaterThan(0);
    for (const [name, value] of stubExports) {
      expect(typeof value, name).toBe('function');
      const isClass = /^class\b/.test(Function.prototype.toString.call(value));
      const use = isClass
        ? () => new (value as new () => unknown)()
        : () => (value as () => unknown)();
      expect(use, name).toThrow(/Node-only/);
    }
  });
});
