import { type ExecutorOptions, PriorityExecutor } from './PriorityExecutor.js';
import type { Executor } from './types.js';

/**
 * Creates an executor: at most `concurrency` tasks run at once, `critical` before
 * `normal` before `background`, FIFO within a lane; background work holds at most
 * `backgroundConcurrency` slots and is the first to be preempted.
 *
 * @example
 * ```ts
 * import { createExecutor } from 'eed';
 *
 * const executor = createExecutor({ concurrency: 4 });
 * executor
 *   .schedule((signal) => fetch('/api/user', { signal }).then((r) => r.json()), { priority: 'critical' })
 *   .subscribe((user) => console.log(user));
 * ```
 * @param options Caps, aging and clock; see {@link ExecutorOptions}.
 * @returns A new {@link Executor}.
 * @throws RangeError when a number option is out of range, or TypeError when `clock` is not
 *   a clock (an object with `now()`), naming the option and the value received.
 */
export function createExecutor(options?: ExecutorOptions): Executor {
  return new PriorityExecutor(options);
}
