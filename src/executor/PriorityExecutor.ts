import { from, type Observable, Subscriber } from 'rxjs';
import { AbortError, PreemptedError } from '../errors.js';
import type { ExecutorEvent } from '../metrics/events.js';
import { LinkedList } from '../util/LinkedList.js';
import { Listeners } from '../util/Listeners.js';
import { PerformanceClock } from '../util/PerformanceClock.js';
import { isPromiseLike } from './isPromiseLike.js';
import { ScheduledObservable } from './ScheduledObservable.js';
import { Task, type TaskOwner, type TaskSink, TaskState } from './Task.js';
import {
  type Clock,
  type Executor,
  type ExecutorStats,
  type Priority,
  rank,
  type ScheduleOptions,
  type Work,
} from './types.js';
import { UNUSED_SIGNAL } from './unusedSignal.js';
import {
  assertClock,
  assertCount,
  assertDuration,
  assertFunction,
  assertPriority,
} from './validate.js';

/**
 * Options of {@link createExecutor}.
 *
 * @example
 * ```ts
 * createExecutor({ concurrency: 8, backgroundConcurrency: 2, agingMs: 5_000 });
 * ```
 */
export interface ExecutorOptions {
  /** The most tasks that run at once: an integer >= 1, or `Infinity`. Default 10 (the seed's `max_parallel_agents`). */
  concurrency?: number;
  /** The most slots background tasks may hold at once: an integer from 0 to `concurrency`. Default `ceil(concurrency / 2)`. */
  backgroundConcurrency?: number;
  /**
   * A task that has waited this long (ms) in its lane moves up one lane (background to
   * normal, normal to critical), so steady high-priority load cannot starve it forever.
   * The price: an aged task can overtake newer work of the lane it joins, so priorities
   * stop being strict for work that waited this long. A number of ms > 0 (`0` throws a
   * `RangeError`: every task would move up at once), or `Infinity`. Default `Infinity`
   * (strict lanes).
   */
  agingMs?: number;
  /**
   * Source of event timestamps and aging time: an object with `now()` (anything else
   * throws a `TypeError`). Default: `performance.now()` (of the `performance` object
   * current when the executor is made). Events emitted in one synchronous call into the
   * executor share one reading until a task's work runs, so a task's duration always
   * includes all of its own work.
   */
  clock?: Clock;
}

/** The default clock: monotonic, sub-millisecond. */
export const monotonicClock: Clock = { now: () => performance.now() };

/**
 * A handle to one submitted task.
 *
 * @example
 * ```ts
 * const ref: TaskRef = submitTask(executor, work, {}, 'normal', sink);
 * ref.cancel();
 * ```
 */
export interface TaskRef {
  /** Removes the task if queued, aborts it if running; no-op once it ended. */
  cancel(): void;
}

let executorIds = 0;

/** The options of a `schedule` call that passes none (one shared object, not one per call). */
const NO_OPTIONS: ScheduleOptions = Object.freeze({});

/**
 * The executor behind {@link createExecutor}: three FIFO lanes kept as intrusive linked
 * lists (O(1) enqueue, dequeue and cancellation), a slot counter, and a list of running
 * preemptible tasks. A freed slot is handed to the next task synchronously. Events are
 * built only while someone listens to `events$`.
 *
 * Events emitted in one synchronous call into the executor (a `submit`, a cancel, a
 * task's end) share one clock reading until a task's work is called: a task's
 * `completed`, then the `queued` and `started` of the task its consumer submits or its
 * slot goes to, carry the same time. The work of a task always runs after its `started`
 * reading and before its end's, so a task's duration includes all of its own work.
 *
 * @example
 * ```ts
 * const executor: Executor = new PriorityExecutor({ concurrency: 4 });
 * ```
 */
export class PriorityExecutor implements Executor, TaskOwner {
  readonly concurrency: number;
  readonly backgroundConcurrency: number;
  readonly id = ++executorIds;

  readonly #agingMs: number;
  readonly #clock: Clock;
  readonly #lanes: [LinkedList<Task>, LinkedList<Task>, LinkedList<Task>] = [
    new LinkedList(),
    new LinkedList(),
    new LinkedList(),
  ];
  /** Running preemptible tasks per lane, in start order. */
  readonly #preemptible: [LinkedList<Task>, LinkedList<Task>, LinkedList<Task>] = [
    new LinkedList(),
    new LinkedList(),
    new LinkedList(),
  ];
  readonly #runningByRank: [number, number, number] = [0, 0, 0];
  #running = 0;
  readonly #freeSlots: number[] = [];
  #slotCount = 0;
  #taskIds = 0;
  #draining = false;
  #drainAgain = false;
  readonly #events = new Listeners<ExecutorEvent>();
  /** How many calls into the executor (submit, cancel, a task's end, a raise) are on the stack. */
  #depth = 0;
  /**
   * The clock reading of the current synchronous call into the executor, taken at its
   * first event, until a task's work is called or the outermost call returns; NaN when
   * there is none (a number from the start, so the field never changes representation).
   */
  #now = Number.NaN;

  readonly events$: Observable<ExecutorEvent> = this.#events.observable;

  constructor(options: ExecutorOptions = {}) {
    const concurrency = options.concurrency ?? 10;
    assertCount('concurrency', concurrency, 1);
    const backgroundConcurrency = options.backgroundConcurrency ?? Math.ceil(concurrency / 2);
    assertCount('backgroundConcurrency', backgroundConcurrency, 0, concurrency);
    const agingMs = options.agingMs ?? Number.POSITIVE_INFINITY;
    assertDuration('agingMs', agingMs);
    if (agingMs === 0) throw new RangeError('agingMs must be > 0; received 0');
    if (options.clock !== undefined) assertClock('clock', options.clock);
    this.concurrency = concurrency;
    this.backgroundConcurrency = backgroundConcurrency;
    this.#agingMs = agingMs;
    this.#clock = options.clock ?? new PerformanceClock();
  }

  schedule<T>(work: Work<T>, options: ScheduleOptions = NO_OPTIONS): Observable<T> {
    assertFunction('work', work);
    const priority = options.priority ?? 'normal';
    if (priority !== 'normal') assertPriority('priority', priority);
    return new ScheduledObservable(this, work, options, priority);
  }

  stats(): ExecutorStats {
    const [c, n, b] = this.#lanes;
    const [rc, rn, rb] = this.#runningByRank;
    return {
      running: this.#running,
      queued: c.size + n.size + b.size,
      runningByPriority: { critical: rc, normal: rn, background: rb },
      queuedByPriority: { critical: c.size, normal: n.size, background: b.size },
    };
  }

  /**
   * Queues `work` and drives `sink` with what it emits: the callback-based core of
   * {@link schedule}, used directly by operators to avoid an Observable per task.
   * `priority` must already be validated.
   */
  submit<T>(
    work: Work<T>,
    options: ScheduleOptions,
    priority: Priority,
    sink: TaskSink<T>,
  ): Task<T> {
    const control = options.control;
    const task = new Task<T>(
      this,
      ++this.#taskIds,
      work,
      sink,
      priority,
      options.preemptible === true,
      options.label,
      options.expectedMs,
      control,
    );
    const t = task as Task;
    if (control?.priority !== undefined && rank(control.priority) < rank(priority)) {
      t.priority = control.priority;
    }
    if (control?.pinned) t.preemptible = false;
    this.#depth++;
    try {
      if (this.#agingMs !== Number.POSITIVE_INFINITY) t.laneSince = this.#time();
      this.#lanes[rank(t.priority)].push(t);
      if (this.#events.active) {
        this.#events.emit({
          type: 'queued',
          time: this.#time(),
          taskId: t.id,
          label: t.label,
          priority: t.priority,
          executorId: this.id,
          preemptible: t.preemptible,
        });
      }
      control?.attach((raised) => this.#raise(t, raised));
      sink.attached?.(task);
      this.#drain();
    } finally {
      this.#leave();
    }
    return task;
  }

  /**
   * The time for an event (or aging) of the current call into the executor: one clock
   * reading shared by everything the call does until a task's work is called.
   */
  #time(): number {
    const now = this.#now;
    return Number.isNaN(now) ? this.#read() : now;
  }

  /** Reads the clock; inside a call into the executor, keeps the reading for the call. */
  #read(): number {
    const now = this.#clock.now();
    if (this.#depth !== 0) this.#now = now;
    return now;
  }

  /** Ends a call into the executor (after `this.#depth++`): the outermost forgets its time. */
  #leave(): void {
    if (--this.#depth === 0) this.#now = Number.NaN;
  }

  /** Removes `task` if queued, aborts it if running; no-op once it ended. */
  cancelTask(task: Task): void {
    if (task.state === TaskState.Done) return;
    if (task.state === TaskState.Queued) {
      task.state = TaskState.Done;
      task.list?.remove(task);
      task.control?.attach(undefined);
      if (this.#events.active) this.#emitEnd(task, 'cancelled', undefined);
      return;
    }
    this.#depth++;
    try {
      const slot = this.#release(task);
      this.#abort(task, new AbortError());
      if (this.#events.active) this.#emitEnd(task, 'cancelled', slot);
      this.#drain();
    } finally {
      this.#leave();
    }
  }

  /** Emits an event that carries a slot (or none for a task cancelled while queued). */
  #emitEnd(task: Task, type: 'completed' | 'preempted', slot: number): void;
  #emitEnd(task: Task, type: 'cancelled', slot: number | undefined): void;
  #emitEnd(task: Task, type: 'completed' | 'preempted' | 'cancelled', slot: number | undefined) {
    this.#events.emit({
      type,
      time: this.#time(),
      taskId: task.id,
      label: task.label,
      priority: task.priority,
      executorId: this.id,
      slot,
    } as ExecutorEvent);
  }

  /** Fills free slots from the lanes, preempting where a higher lane waits on full slots. */
  #drain(): void {
    if (this.#draining) {
      this.#drainAgain = true;
      return;
    }
    // Every slot taken and nothing to preempt (the common case while a backlog waits).
    if (this.#running >= this.concurrency && !this.#anyPreemptible()) return;
    this.#draining = true;
    try {
      do {
        this.#drainAgain = false;
        for (;;) {
          if (this.#running < this.concurrency) {
            const next = this.#pickNext();
            if (next === undefined) break;
            this.#start(next);
          } else {
            const victim = this.#pickVictim();
            if (victim === undefined) break;
            this.#preempt(victim);
          }
        }
      } while (this.#drainAgain);
    } finally {
      this.#draining = false;
    }
  }

  #pickNext(): Task | undefined {
    if (this.#agingMs !== Number.POSITIVE_INFINITY) this.#age();
    const lanes = this.#lanes;
    const next = lanes[0].head ?? lanes[1].head;
    if (next !== undefined) return next;
    const background = lanes[2].head;
    return background !== undefined && this.#runningByRank[2] < this.backgroundConcurrency
      ? background
      : undefined;
  }

  /** Moves the oldest tasks of the lower lanes up one lane once they waited `agingMs`. */
  #age(): void {
    const now = this.#time();
    for (const from of [1, 2] as const) {
      const lane = this.#lanes[from];
      while (lane.head !== undefined && now - lane.head.laneSince >= this.#agingMs) {
        this.#move(lane.head, from === 1 ? 'critical' : 'normal', now);
      }
    }
  }

  /** Moves a queued task to the tail of a higher lane. */
  #move(task: Task, priority: Priority, now: number): void {
    const fromPriority = task.priority;
    this.#lanes[rank(fromPriority)].remove(task);
    task.priority = priority;
    task.laneSince = now;
    this.#lanes[rank(priority)].push(task);
    if (this.#events.active) this.#emitPromoted(task, fromPriority, now);
  }

  #emitPromoted(task: Task, from: Priority, now: number): void {
    this.#events.emit({
      type: 'promoted',
      time: now,
      taskId: task.id,
      label: task.label,
      priority: task.priority,
      executorId: this.id,
      from,
    });
  }

  /** The running preemptible task to abort for the highest waiting non-background task. */
  #pickVictim(): Task | undefined {
    if (!this.#anyPreemptible()) return undefined;
    const lanes = this.#lanes;
    const waiting = lanes[0].head !== undefined ? 0 : lanes[1].head !== undefined ? 1 : -1;
    if (waiting < 0) return undefined;
    for (let lane = 2; lane > waiting; lane--) {
      const victim = this.#preemptible[lane as 1 | 2].tail;
      if (victim !== undefined) return victim;
    }
    return undefined;
  }

  /** Whether a running task could be preempted (only normal and background ones can). */
  #anyPreemptible(): boolean {
    const running = this.#preemptible;
    return running[1].size !== 0 || running[2].size !== 0;
  }

  #start(task: Task): void {
    this.#lanes[rank(task.priority)].remove(task);
    task.state = TaskState.Running;
    this.#running++;
    this.#runningByRank[rank(task.priority)]++;
    task.slot = this.#freeSlots.pop() ?? this.#slotCount++;
    if (task.preemptible) this.#preemptible[rank(task.priority)].push(task);
    let signal = UNUSED_SIGNAL;
    if (task.work.length > 0) {
      const controller = new AbortController();
      task.controller = controller;
      signal = controller.signal;
    }
    if (this.#events.active) {
      this.#events.emit({
        type: 'started',
        time: this.#time(),
        taskId: task.id,
        label: task.label,
        priority: task.priority,
        executorId: this.id,
        slot: task.slot,
        preemptible: task.preemptible,
        expectedMs: task.expectedMs,
      });
    }
    // The work may take time: events after it read the clock again.
    this.#now = Number.NaN;
    let result: unknown;
    try {
      result = task.work(signal);
    } catch (error) {
      this.#finish(task, error, true);
      return;
    }
    if (task.state !== TaskState.Running) return;
    if (isPromiseLike(result)) {
      result.then(
        // The value is the whole result: free the slot before delivering it, so a
        // consumer that leaves on the first value does not turn success into a cancel.
        (value) => this.#finish(task, undefined, false, true, value),
        (error: unknown) => this.#finish(task, error, true),
      );
      return;
    }
    // A Subscriber of our own, stored before subscribing, so that cancelling the task
    // while the work emits synchronously closes it and stops the emission loop.
    const inner = new Subscriber<unknown>({
      next: (value) => {
        if (task.state !== TaskState.Running) return;
        task.sink.next(value);
        if (task.sink.closed === true) this.cancelTask(task);
      },
      // Unsubscribe before finishing, so the work's own finalizers (closing a file, a
      // socket) run before its slot goes to the next task, as they do in `mergeMap`.
      error: (error: unknown) => {
        inner.unsubscribe();
        this.#finish(task, error, true);
      },
      complete: () => {
        inner.unsubscribe();
        this.#finish(task, undefined, false);
      },
    });
    task.inner = inner;
    try {
      from(result as Parameters<typeof from>[0]).subscribe(inner);
    } catch (error) {
      // `from` throws synchronously for values it cannot convert.
      this.#finish(task, error, true);
    }
  }

  /** Frees the running task's slot and returns its slot index. */
  #release(task: Task): number {
    task.state = TaskState.Done;
    this.#running--;
    this.#runningByRank[rank(task.priority)]--;
    if (task.list !== undefined) task.list.remove(task);
    this.#freeSlots.push(task.slot);
    task.control?.attach(undefined);
    return task.slot;
  }

  /**
   * Ends a running task: frees its slot, then delivers the outcome (with `hasValue`, a
   * promise's value first) and hands the slot on.
   */
  #finish(
    task: Task,
    error: unknown,
    failed: boolean,
    hasValue = false,
    value: unknown = undefined,
  ): void {
    if (task.state !== TaskState.Running) return;
    this.#depth++;
    try {
      const slot = this.#release(task);
      task.inner = undefined;
      if (this.#events.active) {
        if (failed) this.#emitFailed(task, slot, error);
        else this.#emitEnd(task, 'completed', slot);
      }
      if (failed) task.sink.error(error);
      else {
        if (hasValue) task.sink.next(value);
        task.sink.complete();
      }
      this.#drain();
    } finally {
      this.#leave();
    }
  }

  /** Emits `failed` (out of `#finish`, which stays small enough to inline a listener). */
  #emitFailed(task: Task, slot: number, error: unknown): void {
    this.#events.emit({
      type: 'failed',
      time: this.#time(),
      taskId: task.id,
      label: task.label,
      priority: task.priority,
      executorId: this.id,
      slot,
      error,
    });
  }

  #preempt(task: Task): void {
    const slot = this.#release(task);
    const error = new PreemptedError();
    this.#abort(task, error);
    if (this.#events.active) this.#emitEnd(task, 'preempted', slot);
    task.sink.error(error);
  }

  #abort(task: Task, reason: Error): void {
    const inner = task.inner;
    task.inner = undefined;
    task.controller?.abort(reason);
    inner?.unsubscribe();
  }

  /**
   * Applies a {@link TaskControl} change: pins the task (never preemptible again) and, for
   * a higher `priority`, moves a queued task to that lane's tail, or counts a running one
   * in that lane from now on (a raised background task frees its place under
   * `backgroundConcurrency`, so queued background work may start).
   */
  #raise(task: Task, priority: Priority | undefined): void {
    const running = task.state === TaskState.Running;
    if (!running && task.state !== TaskState.Queued) return;
    if (task.preemptible) {
      task.preemptible = false;
      // A running preemptible task is in its lane's list of preemption victims.
      if (running) task.list?.remove(task);
    }
    if (priority === undefined || rank(priority) >= rank(task.priority)) return;
    this.#depth++;
    try {
      if (running) this.#promoteRunning(task, priority);
      else this.#move(task, priority, this.#time());
      this.#drain();
    } finally {
      this.#leave();
    }
  }

  /** Counts a running task in a higher lane from now on. */
  #promoteRunning(task: Task, priority: Priority): void {
    const fromPriority = task.priority;
    this.#runningByRank[rank(fromPriority)]--;
    this.#runningByRank[rank(priority)]++;
    task.priority = priority;
    if (this.#events.active) this.#emitPromoted(task, fromPriority, this.#time());
  }
}
