import { freeze } from 'immer';
import { from, type ObservableInput, type Subscription } from 'rxjs';
import { AbortError } from '../errors.js';
import type { TaskRef } from '../executor/PriorityExecutor.js';
import { submitTask } from '../executor/submitTask.js';
import type { Executor, Priority, TaskControl, Work } from '../executor/types.js';
import { UNUSED_SIGNAL } from '../executor/unusedSignal.js';
import type { FlightSink, FlightSource } from '../sharing/Flight.js';
import { callAfterCheck } from '../util/callAfterCheck.js';

/**
 * What the engine keeps with one execution in flight.
 *
 * @example
 * ```ts
 * const meta: FlightMeta = { control: new TaskControl(), priority: 'normal', prefetch: false, prefetchUsed: false, began: false, stale: false };
 * ```
 */
export interface FlightMeta {
  /** Raises a task of the executor; `undefined` when the execution is no executor task. */
  readonly control: TaskControl | undefined;
  /** The highest priority any subscriber asked for. */
  priority: Priority;
  readonly prefetch: boolean;
  prefetchUsed: boolean;
  /** The work was called. An invalidation before that leaves the result fresh. */
  began: boolean;
  /** Set by `invalidate` once the work began: the result must not be cached. */
  stale: boolean;
}

/**
 * How one execution was asked for.
 *
 * @example
 * ```ts
 * const settings: ExecutionSettings = { label: 'user', ttl: 60_000, useCache: true, expectedMs: undefined, direct: false };
 * ```
 */
export interface ExecutionSettings {
  readonly label: string | undefined;
  readonly ttl: number;
  readonly useCache: boolean;
  readonly expectedMs: number | undefined;
  /** Call the work directly instead of as an executor task (a loader's batch is the task). */
  readonly direct: boolean;
}

/**
 * What an execution tells its engine (metrics, events and the cache).
 *
 * @example
 * ```ts
 * const id = host.started('user:1', 'user', false, host.now());
 * ```
 */
export interface ExecutionHost {
  readonly executor: Executor;
  /** The work was called at `time`: record it; returns the execution's id. */
  started(key: string, label: string | undefined, prefetch: boolean, time: number): number;
  /** The work ended (only after `started`). */
  ended(
    key: string,
    label: string | undefined,
    executionId: number,
    outcome: 'completed' | 'failed' | 'cancelled',
    startedAt: number,
  ): void;
  /** The work completed at `time` with `values` after `cost` ms: cache them as the settings say. */
  completed(
    key: string,
    values: readonly unknown[],
    cost: number,
    settings: ExecutionSettings,
    meta: FlightMeta,
    time: number,
  ): void;
  /** The engine's clock (ms). */
  now(): number;
}

/**
 * Deep-freezes a value handed to subscribers (immer `freeze`), skipping the call for
 * what needs none: primitives and objects already frozen.
 *
 * @example
 * ```ts
 * const user = freezeValue({ id: 1, roles: ['admin'] }); // user.roles.push(...) throws
 * ```
 */
export const freezeValue = <T>(value: T): T =>
  typeof value === 'object' && value !== null && !Object.isFrozen(value)
    ? freeze(value, true)
    : value;

/**
 * One execution of a key on this process alone (no coordinator, no asynchronous cache
 * lookup): the flight's source, with no Observable of its own. It runs the work as an
 * executor task (whose core is callback based) or calls it directly (`slot: false`)
 * (a loader's keys are {@link LoaderKey}s instead); values are frozen and sent to the
 * flight; on success they are cached. Work declaring no signal parameter gets no
 * AbortController.
 *
 * @example
 * ```ts
 * const execution = new LocalExecution(host, key, work, settings, 'normal', false, new TaskControl());
 * const flight = flights.join(key, execution, execution);
 * flight.subscribe(observer); // starts it
 * ```
 */
export class LocalExecution implements FlightSource<unknown>, FlightMeta {
  // FlightMeta: the execution is its own metadata (one object less per key).
  prefetchUsed = false;
  began = false;
  stale = false;
  #sink: FlightSink<unknown> | undefined;
  #running = false;
  #startedAt = 0;
  #executionId = 0;
  #ref: TaskRef | undefined;
  #controller: AbortController | undefined;
  #subscription: Subscription | undefined;

  constructor(
    readonly host: ExecutionHost,
    readonly key: string,
    readonly work: Work<unknown>,
    readonly settings: ExecutionSettings,
    public priority: Priority,
    readonly prefetch: boolean,
    readonly control: TaskControl | undefined,
  ) {}

  /** Starts the execution (see {@link FlightSource.start}). */
  start(sink: FlightSink<unknown>): void {
    this.#sink = sink;
    const work = this.work;
    if (this.settings.direct) {
      this.#callDirect(work);
      return;
    }
    // The wrapper keeps the work's arity: work without a signal parameter gets no controller.
    const execute =
      work.length === 0
        ? () => this.#call(work, UNUSED_SIGNAL)
        : (signal: AbortSignal) => this.#call(work, signal);
    const ref = submitTask(
      this.host.executor,
      execute,
      {
        label: this.settings.label,
        preemptible: this.prefetch,
        expectedMs: this.settings.expectedMs,
        control: this.control,
      },
      this.priority,
      this,
    );
    if (this.#sink !== undefined) this.#ref = ref;
  }

  /** Stops the execution: the last subscriber left (see {@link FlightSource.stop}). */
  stop(): void {
    if (this.#sink === undefined) return;
    this.#sink = undefined;
    this.#ref?.cancel();
    this.#subscription?.unsubscribe();
    this.#controller?.abort(new AbortError());
    this.#end('cancelled');
  }

  /** Task sink: the work emitted `value`. */
  next(value: unknown): void {
    const sink = this.#sink;
    if (sink === undefined) return;
    sink.next(freezeValue(value));
  }

  /** Task sink: the work failed. */
  error(error: unknown): void {
    const sink = this.#sink;
    if (sink === undefined) return;
    this.#sink = undefined;
    this.#end('failed');
    sink.error(error);
  }

  /** Task sink: the work completed; its values are cached before the flight ends. */
  complete(): void {
    const sink = this.#sink;
    if (sink === undefined) return;
    this.#sink = undefined;
    const time = this.host.now();
    const cost = time - this.#startedAt;
    this.#end('completed');
    this.host.completed(this.key, sink.values, cost, this.settings, this, time);
    sink.complete();
  }

  /**
   * Calls the work as its task gets a slot. If every subscriber has just left (the flight
   * stops the execution at the next microtask unless someone joins again), the call waits
   * for that microtask: a stopped execution never calls its work, a rejoined one does.
   */
  #call(work: Work<unknown>, signal: AbortSignal): ObservableInput<unknown> {
    if (this.#sink === undefined || this.#sink.wanted) {
      this.#begin();
      return work(signal);
    }
    return callAfterCheck(() => this.#begin(), work, signal);
  }

  #begin(): void {
    this.began = true;
    this.#startedAt = this.host.now();
    this.#running = true;
    this.#executionId = this.host.started(
      this.key,
      this.settings.label,
      this.prefetch,
      this.#startedAt,
    );
  }

  #end(outcome: 'completed' | 'failed' | 'cancelled'): void {
    if (!this.#running) return;
    this.#running = false;
    this.host.ended(this.key, this.settings.label, this.#executionId, outcome, this.#startedAt);
  }

  /** `slot: false`: calls the work at once, outside any executor slot. */
  #callDirect(work: Work<unknown>): void {
    this.#begin();
    let signal = UNUSED_SIGNAL;
    if (work.length > 0) {
      this.#controller = new AbortController();
      signal = this.#controller.signal;
    }
    let subscription: Subscription;
    try {
      subscription = from(work(signal)).subscribe(this);
    } catch (error) {
      this.error(error);
      return;
    }
    if (this.#sink !== undefined) this.#subscription = subscription;
    else this.#controller = undefined;
  }
}
