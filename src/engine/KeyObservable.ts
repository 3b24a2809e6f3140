import type { Observer, Subscriber, TeardownLogic } from 'rxjs';
import { DirectObservable } from '../util/DirectObservable.js';

/**
 * Where the Observables of one `engine.loader` subscribe: one object per loader.
 *
 * @example
 * ```ts
 * // Inside Engine.loader:
 * const requests: KeyRequests = {
 *   request: (key, subscriber) => this.#requestKey(key, host, store, priority, subscriber),
 *   serve: (key, observer) => this.#serveKey(key, store, settings.label, observer),
 * };
 * ```
 */
export interface KeyRequests {
  /** One subscription of `key`'s Observable; returns its teardown. */
  request(key: string, subscriber: Subscriber<unknown>): TeardownLogic;
  /**
   * Serves `observer` from the cache at once if `key` is a hit nobody wants event objects
   * of (see {@link DirectObservable.serveNow}); `false` otherwise.
   */
  serve(key: string, observer: Partial<Observer<unknown>>): boolean;
}

/**
 * The Observable `load(key)` returns: the key and its loader, with no closure of its own
 * (see {@link DirectObservable}).
 *
 * @example
 * ```ts
 * const user$ = new KeyObservable<User>('user:1', requests);
 * user$.subscribe(render); // requests.request('user:1', subscriber)
 * ```
 */
export class KeyObservable<V> extends DirectObservable<V> {
  /**
   * @param key The key to load.
   * @param requests The loader's subscriptions.
   */
  constructor(
    readonly key: string,
    readonly requests: KeyRequests,
  ) {
    super();
  }

  request(subscriber: Subscriber<unknown>): TeardownLogic {
    return this.requests.request(this.key, subscriber);
  }

  override serveNow(observer: Partial<Observer<V>>): boolean {
    return this.requests.serve(this.key, observer as Partial<Observer<unknown>>);
  }
}
