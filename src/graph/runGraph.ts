import { freeze } from 'immer';
import { EMPTY, Observable, type ObservableInput, Subscriber, throwError } from 'rxjs';
import type { Engine } from '../engine/Engine.js';
import { createExecutor } from '../executor/createExecutor.js';
import { monotonicClock, type TaskRef } from '../executor/PriorityExecutor.js';
import { submitTask } from '../executor/submitTask.js';
import type { Clock, Executor, Priority } from '../executor/types.js';
import { assertCount, assertExecutor, assertMethods, describe } from '../executor/validate.js';
import { GraphBuilder } from './defineGraph.js';
import { type LearnedDurations, learnedDurationsOf } from './learned.js';
import { type LockTable, lockTableOf } from './locks.js';
import { type LooseTask, type Plan, type PlanNode, plan } from './plan.js';
import { ReadyQueue } from './ReadyQueue.js';
import type {
  GraphEvent,
  GraphOrder,
  GraphSummary,
  GraphTask,
  RunGraphOptions,
  TaskSkipReason,
} from './types.js';

let sharedExecutor: Executor | undefined;

/** The executor of every `runGraph` given neither an executor nor an engine. */
function defaultExecutor(): Executor {
  sharedExecutor ??= createExecutor();
  return sharedExecutor;
}

/**
 * Runs a task graph: each task starts once all its dependencies succeeded, with their
 * results; independent tasks run in parallel up to the executor's cap; among ready
 * tasks, the one with the longest remaining path to a sink starts first (critical-path
 * scheduling); tasks sharing a lock never overlap; with an `engine`, keyed tasks go
 * through `engine.run(key, ...)`, so a re-run executes only tasks whose key changed or
 * expired.
 *
 * The graph is validated when `runGraph` is called, before anything runs: an unknown
 * dependency throws {@link UnknownDependencyError}, a cycle throws
 * {@link GraphCycleError}. The returned Observable is cold: each subscription is one run.
 * It emits `graph-started`, then `task-*` events as they happen, then `graph-completed`
 * with a summary and every result. With `failFast` (default) the first failure aborts
 * the running tasks, which are reported as skipped with the pending ones, and the stream
 * errors with that failure after `graph-completed`; with `failFast: false` only the
 * failed task's dependents are skipped and the stream completes. Unsubscribing aborts
 * every running task.
 *
 * Pass a plain object (`deps` typed one level deep) or a {@link defineGraph} builder
 * (typed at any depth).
 *
 * @example
 * ```ts
 * import { createEngine, runGraph } from 'eed';
 *
 * const engine = createEngine({ executor: { concurrency: 4 } });
 * runGraph(
 *   {
 *     fetchUser: { key: 'user:1', run: (_: unknown, signal: AbortSignal) => fetch('/api/users/1', { signal }).then((r) => r.json() as Promise<User>) },
 *     fetchPosts: {
 *       deps: ['fetchUser'],
 *       key: (k) => `posts:${k.fetchUser}`,
 *       run: ({ fetchUser }, signal) => fetch(`/api/users/${fetchUser.id}/posts`, { signal }).then((r) => r.json()),
 *     },
 *   },
 *   { engine },
 * ).subscribe((event) => console.log(event.type, 'task' in event ? event.task : ''));
 * ```
 * @param tasks Tasks by name, or a {@link GraphBuilder}.
 * @param options Engine, executor, failure mode, cap, order and clock; see {@link RunGraphOptions}.
 * @returns A cold Observable of {@link GraphEvent}s.
 * @throws UnknownDependencyError, GraphCycleError, or a TypeError/RangeError naming a malformed task or option.
 */
export function runGraph<R>(
  tasks: GraphBuilder<R>,
  options?: RunGraphOptions,
): Observable<GraphEvent<R>>;
export function runGraph<
  R extends Record<string, unknown>,
  const D extends { [K in keyof R]: keyof R },
>(
  tasks: { [K in keyof R]: GraphTask<R, D[K], R[K]> },
  options?: RunGraphOptions,
): Observable<GraphEvent<R>>;
export function runGraph(
  tasks: Readonly<Record<string, GraphTask>>,
  options?: RunGraphOptions,
): Observable<GraphEvent>;
export function runGraph(
  tasks: GraphBuilder<Record<string, unknown>> | Readonly<Record<string, LooseTask>>,
  options: RunGraphOptions = {},
): Observable<GraphEvent> {
  const settings = resolveOptions(options);
  const graphPlan = plan(tasks instanceof GraphBuilder ? tasks.tasks : tasks);
  return new Observable<GraphEvent>((subscriber) => {
    const run = new GraphRun(graphPlan, settings, subscriber);
    run.start();
    return () => run.stop();
  });
}

interface Settings {
  readonly engine: Engine | undefined;
  readonly executor: Executor;
  readonly failFast: boolean;
  readonly concurrency: number;
  readonly order: GraphOrder;
  readonly clock: Clock;
  readonly learned: LearnedDurations;
  readonly locks: LockTable;
}

function resolveOptions(options: RunGraphOptions): Settings {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`options must be an object; received ${describe(options)}`);
  }
  const { engine, failFast = true, concurrency = Number.POSITIVE_INFINITY } = options;
  if (engine !== undefined)
    assertMethods('engine', engine, ['run'], 'an Engine (see createEngine)');
  if (options.executor !== undefined) assertExecutor('executor', options.executor);
  const executor = options.executor ?? engine?.executor ?? defaultExecutor();
  if (typeof failFast !== 'boolean') {
    throw new TypeError(`failFast must be a boolean; received ${describe(failFast)}`);
  }
  assertCount('concurrency', concurrency, 1);
  const order = options.order ?? 'critical-path';
  if (order !== 'critical-path' && order !== 'fifo') {
    throw new TypeError(`order must be 'critical-path' or 'fifo'; received ${describe(order)}`);
  }
  const clock = options.clock ?? monotonicClock;
  if (typeof (clock as Partial<Clock>).now !== 'function') {
    throw new TypeError(`clock must have a now() method; received ${describe(clock)}`);
  }
  return {
    engine,
    executor,
    failFast,
    concurrency,
    order,
    clock,
    learned: learnedDurationsOf(engine ?? executor),
    locks: lockTableOf(executor),
  };
}

enum Status {
  Waiting = 0,
  Ready = 1,
  Running = 2,
  Succeeded = 3,
  Failed = 4,
  Skipped = 5,
}

/** A request for one executor slot; which ready task uses it is decided when it is granted. */
interface Ticket {
  readonly lane: 0 | 1 | 2;
  ref: TaskRef | undefined;
  /** The task running in this ticket's slot, while it does. */
  node: RunNode | undefined;
  /** Cancel asked for before `submitTask` returned the ref. */
  cancelled: boolean;
}

/** One task's state in one run. */
interface RunNode {
  readonly plan: PlanNode;
  status: Status;
  pendingDeps: number;
  /** Remaining path: own weight plus the longest remaining path of a dependent. */
  remaining: number;
  /** When it became ready (FIFO order). */
  readySeq: number;
  key: string | undefined;
  last: unknown;
  value: unknown;
  startedAt: number;
  workStartedAt: number;
  executed: boolean;
  ticket: Ticket | undefined;
  engineRun: Subscriber<unknown> | undefined;
}

const LANES = [0, 1, 2] as const;
const PRIORITY_OF: readonly Priority[] = ['critical', 'normal', 'background'];

/**
 * One subscription of {@link runGraph}. Ready tasks wait in a {@link ReadyQueue}, ordered
 * by lane, then remaining path (or readiness, for FIFO). The run keeps as many executor "tickets"
 * queued as it has runnable tasks (ready, locks free, within its own cap); when the
 * executor grants a ticket a slot, the best runnable task at that moment takes it. So
 * the executor's FIFO lanes decide only when the run gets a slot, the run decides which
 * task uses it, and no ticket waits for a lock.
 */
class GraphRun {
  readonly #nodes: RunNode[];
  readonly #ready: ReadyQueue<RunNode>;
  readonly #tickets: [Ticket[], Ticket[], Ticket[]] = [[], [], []];
  readonly #running = new Set<RunNode>();
  /** Another run on the executor took or released locks. */
  readonly #onLockChange = (locks: readonly string[], acquired: boolean) => {
    // A lock taken elsewhere is noticed lazily, when a blocked task comes up.
    if (acquired) return;
    this.#ready.locksReleased(locks);
    this.#reconcile();
  };
  #unlisten: (() => void) | undefined;
  #readySeq = 0;
  #settled = 0;
  #succeeded = 0;
  #failed = 0;
  #skipped = 0;
  #executed = 0;
  #startedAt = 0;
  /** No more tasks start: the run finished, failed fast, or was unsubscribed. */
  #stopped = false;
  #reconciling = false;
  #again = false;

  constructor(
    readonly plan: Plan,
    readonly settings: Settings,
    readonly subscriber: Subscriber<GraphEvent>,
  ) {
    const before =
      settings.order === 'fifo'
        ? (a: RunNode, b: RunNode) => a.readySeq < b.readySeq
        : (a: RunNode, b: RunNode) =>
            a.remaining > b.remaining ||
            (a.remaining === b.remaining && a.plan.index < b.plan.index);
    this.#nodes = plan.nodes.map((node) => ({
      plan: node,
      status: Status.Waiting,
      pendingDeps: node.deps.length,
      remaining: 0,
      readySeq: 0,
      key: undefined,
      last: undefined,
      value: undefined,
      startedAt: 0,
      workStartedAt: 0,
      executed: false,
      ticket: undefined,
      engineRun: undefined,
    }));
    this.#computeRemainingPaths();
    this.#ready = new ReadyQueue(
      this.#nodes,
      (node) => node.plan,
      before,
      settings.locks,
      this.#onLockChange,
    );
  }

  /** Weights from `cost`, else learned durations, else their mean, else 1; then longest paths to a sink. */
  #computeRemainingPaths(): void {
    const { learned } = this.settings;
    const weights: (number | undefined)[] = this.#nodes.map(({ plan: node }) => {
      if (node.task.cost !== undefined) return node.task.cost;
      const key = typeof node.task.key === 'string' ? node.task.key : undefined;
      return learned.get(key, node.label);
    });
    let sum = 0;
    let known = 0;
    this.#nodes.forEach(({ plan: node }, i) => {
      const weight = weights[i];
      if (node.task.cost === undefined && weight !== undefined) {
        sum += weight;
        known++;
      }
    });
    const fallback = known > 0 ? sum / known : 1;
    const topo = this.plan.topo;
    for (let i = topo.length - 1; i >= 0; i--) {
      const node = this.#nodes[topo[i] as number] as RunNode;
      let longest = 0;
      for (const dependent of node.plan.dependents) {
        longest = Math.max(longest, (this.#nodes[dependent] as RunNode).remaining);
      }
      node.remaining = (weights[node.plan.index] ?? fallback) + longest;
    }
  }

  start(): void {
    const { clock } = this.settings;
    this.#startedAt = clock.now();
    if (this.#nodes.some((node) => node.plan.locks.length > 0)) {
      this.#unlisten = this.settings.locks.listen(this.#onLockChange);
    }
    this.#emit({
      type: 'graph-started',
      time: this.#startedAt,
      tasks: this.#nodes.map((node) => node.plan.name),
    });
    if (this.#stopped) return;
    for (const node of this.#nodes) if (node.pendingDeps === 0) this.#makeReady(node);
    if (this.#nodes.length === 0) this.#finish(false, undefined);
    else this.#reconcile();
  }

  /** Unsubscribed: abort everything, report nothing. */
  stop(): void {
    this.#stopped = true;
    this.#cancelTickets();
    for (const node of [...this.#running]) this.#abort(node);
    this.#unlisten?.();
    this.#unlisten = undefined;
  }

  #emit(event: GraphEvent): void {
    if (this.subscriber.closed) return;
    this.subscriber.next(event);
    // A consumer that unsubscribed from inside `next` (possibly while `runGraph` is still
    // being subscribed, before RxJS holds the teardown) stops the run at once.
    if (this.subscriber.closed) this.stop();
  }

  get #closed(): boolean {
    return this.subscriber.closed;
  }

  #makeReady(node: RunNode): void {
    node.status = Status.Ready;
    node.readySeq = ++this.#readySeq;
    this.#ready.add(node);
  }

  /** Keeps the queued tickets per lane equal to the runnable tasks the run may still start. */
  #reconcile(): void {
    if (this.#reconciling) {
      this.#again = true;
      return;
    }
    this.#reconciling = true;
    try {
      do {
        this.#again = false;
        if (this.#stopped) break;
        const desired = this.#desiredTickets();
        for (const lane of LANES) {
          const tickets = this.#tickets[lane];
          while (tickets.length > desired[lane]) this.#cancelTicket(tickets.pop() as Ticket);
        }
        for (const lane of LANES) {
          if (this.#tickets[lane].length < desired[lane]) {
            this.#submitTicket(lane);
            // The ticket may have been granted at once and changed everything: recount.
            this.#again = true;
            break;
          }
        }
      } while (this.#again);
    } finally {
      this.#reconciling = false;
    }
  }

  #desiredTickets(): [number, number, number] {
    // Never more queued tickets than the executor has slots: they would only wait.
    let capLeft = Math.min(
      this.settings.concurrency - this.#running.size,
      this.settings.executor.concurrency,
    );
    const desired: [number, number, number] = [0, 0, 0];
    for (const lane of LANES) {
      desired[lane] = Math.max(0, Math.min(this.#ready.runnable(lane), capLeft));
      capLeft -= desired[lane];
    }
    return desired;
  }

  #submitTicket(lane: 0 | 1 | 2): void {
    const ticket: Ticket = { lane, ref: undefined, node: undefined, cancelled: false };
    this.#tickets[lane].push(ticket);
    const ref = submitTask<unknown>(
      this.settings.executor,
      (signal) => this.#grant(ticket, signal),
      {},
      PRIORITY_OF[lane] as Priority,
      {
        next: (value) => {
          const node = ticket.node;
          if (node !== undefined && node.status === Status.Running) node.last = value;
        },
        error: (error) => {
          const node = ticket.node;
          ticket.node = undefined;
          if (node !== undefined) this.#fail(node, error);
        },
        complete: () => {
          const node = ticket.node;
          ticket.node = undefined;
          if (node !== undefined) this.#succeed(node);
        },
      },
    );
    ticket.ref = ref;
    if (ticket.cancelled) ref.cancel();
  }

  #cancelTicket(ticket: Ticket): void {
    const index = this.#tickets[ticket.lane].indexOf(ticket);
    if (index >= 0) this.#tickets[ticket.lane].splice(index, 1);
    ticket.node = undefined;
    if (ticket.ref === undefined) ticket.cancelled = true;
    else ticket.ref.cancel();
  }

  #cancelTickets(): void {
    for (const lane of LANES) {
      for (const ticket of this.#tickets[lane].splice(0)) this.#cancelTicket(ticket);
    }
  }

  /** A ticket got a slot: the best runnable task takes it. */
  #grant(ticket: Ticket, signal: AbortSignal): ObservableInput<unknown> {
    const tickets = this.#tickets[ticket.lane];
    const index = tickets.indexOf(ticket);
    if (index >= 0) tickets.splice(index, 1);
    if (this.#stopped || ticket.cancelled) return EMPTY;
    const node = this.#ready.take(ticket.lane);
    if (node === undefined) {
      this.#reconcile();
      return EMPTY;
    }
    const { clock, engine } = this.settings;
    const task = node.plan.task;
    node.status = Status.Running;
    node.startedAt = clock.now();
    this.#running.add(node);
    let deps: Record<string, unknown> = {};
    let keyError: { error: unknown } | undefined;
    try {
      deps = this.#depsOf(node);
      node.key = this.#keyOf(node, deps);
    } catch (error) {
      keyError = { error };
    }
    this.#emit({
      type: 'task-started',
      task: node.plan.name,
      time: node.startedAt,
      key: node.key,
      label: node.plan.label,
      priority: node.plan.priority,
    });
    if (this.#stopped || node.status !== Status.Running) return EMPTY;
    if (keyError !== undefined) {
      this.#fail(node, keyError.error);
      return EMPTY;
    }
    const run = task.run as (deps: Record<string, unknown>, signal: AbortSignal) => unknown;
    if (engine !== undefined && node.key !== undefined) {
      // Hand over to the engine, which serves the cache, joins a shared execution or
      // schedules the work; this ticket's slot is released for it at once. The engine's
      // task goes to the critical lane: the lane was empty when this ticket was granted,
      // so the engine's task takes the slot this ticket frees (background stays background).
      const sink = new Subscriber<unknown>({
        next: (value) => {
          if (node.status === Status.Running) node.last = value;
        },
        error: (error: unknown) => this.#fail(node, error),
        complete: () => this.#succeed(node),
      });
      node.engineRun = sink;
      engine
        .run(
          node.key,
          (workSignal) => {
            node.executed = true;
            node.workStartedAt = clock.now();
            return run(deps, workSignal) as ObservableInput<unknown>;
          },
          {
            priority: node.plan.priority === 'background' ? 'background' : 'critical',
            ttl: task.ttl,
            label: node.plan.label,
          },
        )
        .subscribe(sink);
      this.#reconcile();
      return EMPTY;
    }
    ticket.node = node;
    node.ticket = ticket;
    node.executed = true;
    node.workStartedAt = clock.now();
    this.#reconcile();
    if (ticket.node !== node || node.status !== Status.Running) return EMPTY;
    try {
      return run(deps, signal) as ObservableInput<unknown>;
    } catch (error) {
      return throwError(() => error);
    }
  }

  #depsOf(node: RunNode): Record<string, unknown> {
    const deps: Record<string, unknown> = {};
    for (const dep of node.plan.deps) {
      const depNode = this.#nodes[dep] as RunNode;
      deps[depNode.plan.name] = depNode.value;
    }
    return Object.freeze(deps);
  }

  #keyOf(node: RunNode, deps: Record<string, unknown>): string | undefined {
    const key = node.plan.task.key;
    if (key === undefined || typeof key === 'string') return key;
    const depKeys: Record<string, string | undefined> = {};
    for (const dep of node.plan.deps) {
      const depNode = this.#nodes[dep] as RunNode;
      depKeys[depNode.plan.name] = depNode.key;
    }
    const resolved = (key as (k: unknown, d: unknown) => unknown)(Object.freeze(depKeys), deps);
    if (typeof resolved !== 'string') {
      throw new TypeError(
        `task ${JSON.stringify(node.plan.name)}: key() must return a string; returned ${describe(resolved)}`,
      );
    }
    return resolved;
  }

  /** Ends a running task's hold on the run: its slot or engine run, and its locks. */
  #release(node: RunNode): void {
    this.#running.delete(node);
    const ticket = node.ticket;
    node.ticket = undefined;
    if (ticket !== undefined) ticket.node = undefined;
    node.engineRun = undefined;
    if (node.plan.locks.length > 0) {
      this.settings.locks.release(node.plan.locks, this.#onLockChange);
      this.#ready.locksReleased(node.plan.locks);
    }
  }

  /** Aborts a running task: cancels its executor slot or leaves its engine run. */
  #abort(node: RunNode): void {
    const ticket = node.ticket;
    const engineRun = node.engineRun;
    this.#release(node);
    if (ticket !== undefined) this.#cancelTicket(ticket);
    engineRun?.unsubscribe();
  }

  #succeed(node: RunNode): void {
    if (node.status !== Status.Running) return;
    const { clock, learned } = this.settings;
    const now = clock.now();
    node.status = Status.Succeeded;
    node.value = freeze(node.last, true);
    node.last = undefined;
    this.#release(node);
    if (node.executed) {
      this.#executed++;
      learned.record(node.key, node.plan.label, now - node.workStartedAt);
    }
    this.#succeeded++;
    this.#settled++;
    this.#emit({
      type: 'task-succeeded',
      task: node.plan.name,
      time: now,
      startedAt: node.startedAt,
      durationMs: now - node.startedAt,
      key: node.key,
      value: node.value,
      executed: node.executed,
    });
    if (this.#stopped) return;
    for (const dependent of node.plan.dependents) {
      const next = this.#nodes[dependent] as RunNode;
      if (--next.pendingDeps === 0 && next.status === Status.Waiting) this.#makeReady(next);
    }
    if (this.#settled === this.#nodes.length) this.#finish(false, undefined);
    else this.#reconcile();
  }

  #fail(node: RunNode, error: unknown): void {
    if (node.status !== Status.Running) return;
    const now = this.settings.clock.now();
    node.status = Status.Failed;
    node.last = undefined;
    this.#release(node);
    if (node.executed) this.#executed++;
    this.#failed++;
    this.#settled++;
    const skipped: [RunNode, TaskSkipReason][] = [];
    if (this.settings.failFast) {
      this.#stopped = true;
      this.#cancelTickets();
      for (const other of this.#nodes) {
        if (other.status === Status.Running) {
          this.#abort(other);
          skipped.push([other, 'aborted']);
        } else if (other.status === Status.Waiting || other.status === Status.Ready) {
          skipped.push([other, 'fail-fast']);
        }
      }
    } else {
      for (const dependent of this.#dependentsOf(node))
        skipped.push([dependent, 'dependency-failed']);
    }
    for (const [other] of skipped) this.#skip(other);
    this.#emit({
      type: 'task-failed',
      task: node.plan.name,
      time: now,
      startedAt: node.startedAt,
      durationMs: now - node.startedAt,
      key: node.key,
      error,
      executed: node.executed,
    });
    for (const [other, reason] of skipped) {
      if (this.#closed) return;
      this.#emit({
        type: 'task-skipped',
        task: other.plan.name,
        time: now,
        reason,
        cause: node.plan.name,
      });
    }
    if (this.#closed) return;
    if (this.settings.failFast) this.#finish(true, error);
    else if (this.#settled === this.#nodes.length) this.#finish(false, undefined);
    else this.#reconcile();
  }

  /**
   * Marks a waiting, ready or (already aborted) task skipped. A ready one stays in the
   * ready queue, which is cleared as the run stops: only failFast skips ready tasks.
   */
  #skip(node: RunNode): void {
    node.status = Status.Skipped;
    this.#skipped++;
    this.#settled++;
  }

  /** The transitive dependents of `node` that have not started, in definition order. */
  #dependentsOf(node: RunNode): RunNode[] {
    const seen = new Set<number>();
    const stack = [...node.plan.dependents];
    while (stack.length > 0) {
      const index = stack.pop() as number;
      if (seen.has(index)) continue;
      seen.add(index);
      stack.push(...(this.#nodes[index] as RunNode).plan.dependents);
    }
    return [...seen]
      .sort((a, b) => a - b)
      .map((index) => this.#nodes[index] as RunNode)
      .filter((dependent) => dependent.status === Status.Waiting);
  }

  #finish(failed: boolean, error: unknown): void {
    this.#stopped = true;
    this.#unlisten?.();
    this.#unlisten = undefined;
    this.#ready.clear();
    const now = this.settings.clock.now();
    const results: Record<string, unknown> = {};
    for (const node of this.#nodes) {
      if (node.status === Status.Succeeded) results[node.plan.name] = node.value;
    }
    const summary: GraphSummary = {
      total: this.#nodes.length,
      succeeded: this.#succeeded,
      failed: this.#failed,
      skipped: this.#skipped,
      executed: this.#executed,
    };
    this.#emit({
      type: 'graph-completed',
      time: now,
      startedAt: this.#startedAt,
      durationMs: now - this.#startedAt,
      ok: this.#succeeded === this.#nodes.length,
      summary,
      results: Object.freeze(results),
    });
    if (failed) this.subscriber.error(error);
    else this.subscriber.complete();
  }
}
