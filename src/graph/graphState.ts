import { produce } from 'immer';
import { type Observable, scan } from 'rxjs';
import type { GraphEvent, TaskName, TaskSkipReason } from './types.js';

/**
 * Where a task is: not started, running, or one of the three outcomes.
 *
 * @example
 * ```ts
 * const status: TaskStatus = 'running';
 * ```
 */
export type TaskStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

/**
 * One task in a {@link GraphState} snapshot.
 *
 * @example
 * ```ts
 * const { status, value, error } = state.tasks.fetchUser;
 * ```
 */
export interface TaskSnapshot<T = unknown> {
  readonly status: TaskStatus;
  readonly key: string | undefined;
  readonly startedAt: number | undefined;
  readonly endedAt: number | undefined;
  readonly durationMs: number | undefined;
  /** The result, once succeeded. */
  readonly value: T | undefined;
  /** The failure, once failed. */
  readonly error: unknown;
  /** Whether the run called the task's work (false: served by the engine). Undefined until it ended. */
  readonly executed: boolean | undefined;
  /** Why it was skipped, and for which failed task. */
  readonly skipReason: TaskSkipReason | undefined;
  readonly cause: string | undefined;
}

/**
 * An immutable snapshot of a graph run, for a UI to render. Built with immer: a task
 * entry that did not change keeps its identity from one snapshot to the next.
 *
 * @example
 * ```ts
 * graphState$(runGraph(graph)).subscribe((state) => {
 *   render(state.order.map((name) => `${name}: ${state.tasks[name].status}`));
 *   progress(state.counts.succeeded / state.order.length);
 * });
 * ```
 */
export interface GraphState<R = Record<string, unknown>> {
  /** `'pending'` before `graph-started`; `'succeeded'` when every task succeeded. */
  readonly status: 'pending' | 'running' | 'succeeded' | 'failed';
  readonly startedAt: number | undefined;
  readonly endedAt: number | undefined;
  /** Task names in definition order. */
  readonly order: readonly TaskName<R>[];
  readonly tasks: { readonly [K in TaskName<R>]: TaskSnapshot<R[K]> };
  /** How many tasks are in each status. */
  readonly counts: Readonly<Record<TaskStatus, number>>;
}

type LooseState = {
  status: GraphState['status'];
  startedAt: number | undefined;
  endedAt: number | undefined;
  order: string[];
  tasks: Record<string, MutableSnapshot>;
  counts: Record<TaskStatus, number>;
};
type MutableSnapshot = { -readonly [P in keyof TaskSnapshot]: TaskSnapshot[P] };

const pendingTask = (): MutableSnapshot => ({
  status: 'pending',
  key: undefined,
  startedAt: undefined,
  endedAt: undefined,
  durationMs: undefined,
  value: undefined,
  error: undefined,
  executed: undefined,
  skipReason: undefined,
  cause: undefined,
});

const zeroCounts = (): Record<TaskStatus, number> => ({
  pending: 0,
  running: 0,
  succeeded: 0,
  failed: 0,
  skipped: 0,
});

/**
 * The state before any event: no tasks, status `'pending'`.
 *
 * @example
 * ```ts
 * const state = events.reduce(reduceGraphState, initialGraphState());
 * ```
 */
export function initialGraphState<R = Record<string, unknown>>(): GraphState<R> {
  const state: LooseState = {
    status: 'pending',
    startedAt: undefined,
    endedAt: undefined,
    order: [],
    tasks: {},
    counts: zeroCounts(),
  };
  return produce(state, () => {}) as unknown as GraphState<R>;
}

/**
 * Folds one {@link GraphEvent} into a snapshot, returning a new immutable snapshot
 * (immer `produce`); `state` is never changed. A `graph-started` event starts afresh.
 *
 * @example
 * ```ts
 * let state = initialGraphState<Results>();
 * runGraph(graph).subscribe((event) => { state = reduceGraphState(state, event); });
 * ```
 */
export function reduceGraphState<R>(state: GraphState<R>, event: GraphEvent<R>): GraphState<R> {
  return produce(state as unknown as LooseState, (draft) => {
    const e = event as GraphEvent;
    if (e.type === 'graph-started') {
      draft.status = 'running';
      draft.startedAt = e.time;
      draft.endedAt = undefined;
      draft.order = [...e.tasks];
      draft.tasks = {};
      for (const name of e.tasks) draft.tasks[name] = pendingTask();
      draft.counts = { ...zeroCounts(), pending: e.tasks.length };
      return;
    }
    if (e.type === 'graph-completed') {
      draft.status = e.ok ? 'succeeded' : 'failed';
      draft.endedAt = e.time;
      return;
    }
    let task = draft.tasks[e.task];
    if (task === undefined) {
      // Events without a graph-started first: learn the task as it shows up.
      task = pendingTask();
      draft.tasks[e.task] = task;
      draft.order.push(e.task);
      draft.counts.pending++;
      if (draft.status === 'pending') draft.status = 'running';
    }
    draft.counts[task.status]--;
    switch (e.type) {
      case 'task-started':
        task.status = 'running';
        task.key = e.key;
        task.startedAt = e.time;
        break;
      case 'task-succeeded':
        task.status = 'succeeded';
        task.key = e.key;
        task.startedAt = e.startedAt;
        task.endedAt = e.time;
        task.durationMs = e.durationMs;
        task.value = e.value;
        task.executed = e.executed;
        break;
      case 'task-failed':
        task.status = 'failed';
        task.key = e.key;
        task.startedAt = e.startedAt;
        task.endedAt = e.time;
        task.durationMs = e.durationMs;
        task.error = e.error;
        task.executed = e.executed;
        break;
      case 'task-skipped':
        task.status = 'skipped';
        task.endedAt = e.time;
        task.skipReason = e.reason;
        task.cause = e.cause;
        break;
    }
    draft.counts[task.status]++;
  }) as unknown as GraphState<R>;
}

/**
 * Folds a stream of {@link GraphEvent}s into immutable {@link GraphState} snapshots, one
 * per event: status, timings, value or error per task, and counts, fit for a UI.
 *
 * @example
 * ```ts
 * import { graphState$, runGraph } from 'eed';
 *
 * graphState$(runGraph(graph, { engine })).subscribe((state) => {
 *   for (const name of state.order) console.log(name, state.tasks[name].status);
 * });
 * ```
 * @param events$ What {@link runGraph} emits.
 * @returns One snapshot per event; errors and completes with `events$`.
 */
export function graphState$<R>(events$: Observable<GraphEvent<R>>): Observable<GraphState<R>> {
  return events$.pipe(scan(reduceGraphState<R>, initialGraphState<R>()));
}
