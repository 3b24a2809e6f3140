import type { Observer, Subscriber, TeardownLogic } from 'rxjs';
import type { Priority, Work } from '../executor/types.js';
import { DirectObservable } from '../util/DirectObservable.js';
import type { ExecutionSettings } from './LocalExecution.js';

/**
 * Where the Observables of one engine's `run` subscribe: one object per engine.
 *
 * @example
 * ```ts
 * // Inside Engine:
 * const runs: RunRequests = {
 *   request: (run, subscriber) =>
 *     this.#request(run.key, run.work as Work<unknown>, run.settings, run.priority, subscriber),
 *   serve: (run, observer) => this.#serveRun(run.key, run.settings, observer),
 * };
 * ```
 */
export interface RunRequests {
  /** One subscription of `run`; returns its teardown. */
  request(run: RunObservable<unknown>, subscriber: Subscriber<unknown>): TeardownLogic;
  /**
   * Serves `observer` from the cache at once if `run`'s key is a hit nobody wants event
   * objects of (see {@link DirectObservable.serveNow}); `false` otherwise.
   */
  serve(run: RunObservable<unknown>, observer: Partial<Observer<unknown>>): boolean;
}

/**
 * The Observable `engine.run(key, work)` returns: the call's arguments and its engine,
 * with no closure of its own (see {@link DirectObservable}).
 *
 * @example
 * ```ts
 * const user$ = new RunObservable<User>(runs, 'user:1', fetchUser, settings, 'normal');
 * user$.subscribe(render); // runs.request(user$, subscriber)
 * ```
 */
export class RunObservable<T> extends DirectObservable<T> {
  /**
   * @param runs The engine's subscriptions.
   * @param key The key of the work's result.
   * @param work The work, called when the key is neither cached nor in flight.
   * @param settings The run's resolved options.
   * @param priority The lane of the work's execution.
   */
  constructor(
    readonly runs: RunRequests,
    readonly key: string,
    readonly work: Work<T>,
    readonly settings: ExecutionSettings,
    readonly priority: Priority,
  ) {
    super();
  }

  request(subscriber: Subscriber<unknown>): TeardownLogic {
    return this.runs.request(this as RunObservable<unknown>, subscriber);
  }

  override serveNow(observer: Partial<Observer<T>>): boolean {
    return this.runs.serve(this as RunObservable<unknown>, observer as Partial<Observer<unknown>>);
  }
}
