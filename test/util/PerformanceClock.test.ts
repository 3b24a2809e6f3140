import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEngine } from '../../src/index.js';
import { PerformanceClock } from '../../src/util/PerformanceClock.js';

describe('PerformanceClock', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('reads the source it was given', () => {
    let t = 5;
    const clock = new PerformanceClock({ now: () => t });
    expect(clock.now()).toBe(5);
    t = 7;
    expect(clock.now()).toBe(7);
  });

  it('by default reads the global performance current when it was made', () => {
    vi.stubGlobal('performance', { now: () => 42 });
    const clock = new PerformanceClock();
    vi.unstubAllGlobals();
    expect(clock.now()).toBe(42);
    expect(new PerformanceClock().now()).not.toBe(42);
  });

  it('is what an engine made under fake timers reads', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const engine = createEngine();
      const times: number[] = [];
      const subscription = engine.events$.subscribe((event) => times.push(event.time));
      vi.advanceTimersByTime(1_000);
      engine.run('k', async () => 1).subscribe();
      subscription.unsubscribe();
      expect(times.length).toBeGreaterThan(0);
      expect(times.every((time) => time === performance.now())).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
