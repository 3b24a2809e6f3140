import type { ParallelOptions } from '../executor/parallelInternals.js';
import type { Clock } from '../executor/types.js';
import type { ShortCircuitEvent } from '../metrics/events.js';

/**
 * Where an operator reports events: anything with a `next` method. An RxJS `Subject`
 * fits, so does a plain object.
 *
 * @example
 * ```ts
 * const saved: EventSink<ShortCircuitEvent> = { next: (e) => console.log(e.aborted, e.skipped) };
 * const all: EventSink<ExecutionEvent> = new Subject<ExecutionEvent>(); // fits too
 * ```
 */
export interface EventSink<E> {
  /** Receives one event, synchronously, as it happens. */
  next(event: E): void;
}

/**
 * Options of the short-circuiting operators `firstSuccess`, `someMap` and `everyMap`:
 * the capped-parallel options of `parallelMap`, plus where to report work saved.
 *
 * @example
 * ```ts
 * const saved = new Subject<ShortCircuitEvent>();
 * const options: ShortCircuitOptions = { concurrency: 4, label: 'mirrors', events: saved };
 * ```
 */
export interface ShortCircuitOptions extends ParallelOptions {
  /**
   * Receives one {@link ShortCircuitEvent} when the operator knows its answer while work
   * is left: how many running tasks it aborted and how many received values it never
   * started (values the source has not emitted yet are not counted). Nothing is reported
   * when nothing was left, nor when the output errors or is unsubscribed. Default: none.
   */
  events?: EventSink<ShortCircuitEvent>;
  /** The clock of the events' `time`. Default: `performance.now()`. */
  clock?: Clock;
}

/**
 * Options of `someMap` and `everyMap`: a cap, a shared executor, a priority
 * lane, a label, and where to report work saved (see {@link ShortCircuitOptions}).
 *
 * @example
 * ```ts
 * const options: PredicateMapOptions = { concurrency: 8, priority: 'critical' };
 * ```
 */
export interface PredicateMapOptions extends ShortCircuitOptions {}
