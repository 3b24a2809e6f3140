import type { Clock } from '../executor/types.js';

const settled = Promise.resolve();

/**
 * A clock read at most once per synchronous turn: the first `now()` reads `clock` and
 * queues a microtask that forgets the reading; every `now()` before that microtask runs
 * returns the same time. For counters that only need to know which part of a window an
 * event fell in (a burst of a thousand synchronous cache hits costs one reading instead of
 * a thousand), never for durations.
 *
 * @example
 * ```ts
 * const turn = new TurnClock(new PerformanceClock());
 * turn.now() === turn.now(); // true until the current synchronous code has finished
 * ```
 */
export class TurnClock implements Clock {
  #time = 0;
  #fresh = false;
  readonly #forget = (): void => {
    this.#fresh = false;
  };

  /** @param clock The clock read once per turn. */
  constructor(readonly clock: Clock) {}

  now(): number {
    if (this.#fresh) return this.#time;
    this.#fresh = true;
    void settled.then(this.#forget);
    this.#time = this.clock.now();
    return this.#time;
  }
}
