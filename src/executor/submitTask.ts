import { Subscriber } from 'rxjs';
import { PriorityExecutor, type TaskRef } from './PriorityExecutor.js';
import type { TaskSink } from './Task.js';
import type { Executor, Priority, ScheduleOptions, Work } from './types.js';

/**
 * Runs `work` on `executor`, sending its output to `sink`. Uses the executor's
 * callback-based core when it is eed's own (no Observable per task), and falls back to
 * `schedule().subscribe()` for any other {@link Executor} implementation.
 *
 * @example
 * ```ts
 * const ref = submitTask(executor, work, { label: 'x' }, 'normal', { next, error, complete });
 * ref.cancel();
 * ```
 */
export function submitTask<T>(
  executor: Executor,
  work: Work<T>,
  options: ScheduleOptions,
  priority: Priority,
  sink: TaskSink<T>,
): TaskRef {
  if (executor instanceof PriorityExecutor) return executor.submit(work, options, priority, sink);
  // A closable Subscriber, so a sink that closes while the work emits synchronously stops it.
  const subscriber: Subscriber<T> = new Subscriber<T>({
    next: (value: T) => {
      sink.next(value);
      if (sink.closed === true) subscriber.unsubscribe();
    },
    error: (error: unknown) => sink.error(error),
    complete: () => sink.complete(),
  });
  executor.schedule(work, { ...options, priority }).subscribe(subscriber);
  return { cancel: () => subscriber.unsubscribe() };
}
