import type { Observable, Subscriber } from 'rxjs';
import { createExecutor } from './createExecutor.js';
import { DirectParallel } from './DirectParallel.js';
import { ExecutorParallel, type Project } from './ExecutorParallel.js';
import type { Executor, Priority } from './types.js';
import {
  assertCount,
  assertExecutor,
  assertFunction,
  assertPriority,
  assertString,
} from './validate.js';

/**
 * Options shared by eed's capped-parallel operators.
 *
 * @example
 * ```ts
 * const options: ParallelOptions = { concurrency: 4, priority: 'critical', label: 'thumbnails' };
 * ```
 */
export interface ParallelOptions {
  /**
   * The most inner tasks this operator has submitted at once. Default: 10 without an
   * executor; the executor's `concurrency` with one.
   */
  concurrency?: number;
  /**
   * Run every inner task through this executor, so several streams share one global
   * cap and its priority lanes, and its `events$` report them. Default: a private cap
   * per subscription, with nothing to share and no events.
   */
  executor?: Executor;
  /** The lane inner tasks wait in on `executor`. Default `'normal'`. */
  priority?: Priority;
  /** A name for the inner tasks in the executor's events, metrics and traces. */
  label?: string;
}

/** Settings resolved from {@link ParallelOptions} when the operator is built. */
export interface ResolvedParallel {
  readonly concurrency: number | undefined;
  readonly executor: Executor | undefined;
  readonly priority: Priority;
  readonly label: string | undefined;
}

/**
 * Validates {@link ParallelOptions} when an operator is built, so a bad option throws
 * at the call site, naming the option and the value received.
 *
 * @example
 * ```ts
 * const resolved = resolveParallelOptions('parallelMap', options);
 * ```
 */
export function resolveParallelOptions(
  operator: string,
  options: ParallelOptions = {},
): ResolvedParallel {
  if (options.concurrency !== undefined) {
    assertCount(`${operator}: concurrency`, options.concurrency, 1);
  }
  const priority = options.priority ?? 'normal';
  assertPriority(`${operator}: priority`, priority);
  if (options.executor !== undefined) assertExecutor(`${operator}: executor`, options.executor);
  if (options.label !== undefined) assertString(`${operator}: label`, options.label);
  return {
    concurrency: options.concurrency,
    executor: options.executor,
    priority,
    label: options.label,
  };
}

/**
 * The executor one subscription of a capped-parallel operator runs on, and how many of
 * its tasks it may have submitted at once: the given executor (capped by `concurrency`,
 * or by its own slots), else a private one of `concurrency` (default 10) slots.
 *
 * @example
 * ```ts
 * const { executor, limit } = executorFor(resolveParallelOptions('myOperator', options));
 * ```
 */
export function executorFor(settings: ResolvedParallel): { executor: Executor; limit: number } {
  const executor =
    settings.executor ??
    createExecutor({
      concurrency: settings.concurrency ?? 10,
      backgroundConcurrency: settings.concurrency ?? 10,
    });
  return { executor, limit: settings.concurrency ?? executor.concurrency };
}

/** What a capped-parallel operator does with each inner task's output. */
export interface ParallelHooks<T, R> {
  /** Builds the inner work for a source value. */
  project: Project<T, R>;
  /** Whether results are emitted in input order (buffering early finishers). */
  ordered: boolean;
}

/**
 * The shared engine of capped-parallel operators (see {@link ParallelCore}): source
 * values wait in a ring buffer, at most `concurrency` inner tasks run at once, results
 * are emitted as they come or in input order, and teardown drops the buffer and cancels
 * every active task, aborting the running ones' signals. With a shared executor the
 * inner tasks go through it (its cap, lanes, events); without one they run on a private
 * slot counter ({@link DirectParallel}), which is what a single stream needs.
 *
 * @example
 * ```ts
 * new Observable((subscriber) =>
 *   parallelInternals(source, subscriber, resolved, { project, ordered: false }),
 * );
 * ```
 * @returns The teardown for the output subscription.
 */
export function parallelInternals<T, R>(
  source: Observable<T>,
  subscriber: Subscriber<R>,
  settings: ResolvedParallel,
  hooks: ParallelHooks<T, R>,
): () => void {
  const { executor, concurrency, priority, label } = settings;
  const { project, ordered } = hooks;
  const core =
    executor === undefined
      ? new DirectParallel(subscriber, concurrency ?? 10, ordered, project)
      : new ExecutorParallel(
          subscriber,
          concurrency ?? executor.concurrency,
          ordered,
          executor,
          project,
          priority,
          label,
        );
  return core.run(source);
}

/** Validates an operator's callback argument at build time. */
export function assertProject(operator: string, name: string, value: unknown): void {
  assertFunction(`${operator}: ${name}`, value);
}
