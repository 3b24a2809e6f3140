import type { Clock } from '../executor/types.js';

/**
 * The default monotonic clock of an engine or executor: `performance.now()` of the
 * `performance` object that was current when the clock was made. In Node the global
 * `performance` is a getter that costs about as much as the reading itself, so it is read
 * once; fake timers installed later (which replace the global) are not seen by clocks made
 * before. One class for every instance keeps the call site monomorphic.
 *
 * @example
 * ```ts
 * const clock = new PerformanceClock();
 * const start = clock.now();
 * ```
 */
export class PerformanceClock implements Clock {
  readonly #source: Clock;

  /** @param source What to read; default the current global `performance`. */
  constructor(source: Clock = globalThis.performance) {
    this.#source = source;
  }

  now(): number {
    return this.#source.now();
  }
}
