import { Observable, type Subscriber, type TeardownLogic } from 'rxjs';

/**
 * Where the Observables of one `engine.loader` subscribe: one object per loader.
 *
 * @example
 * ```ts
 * const requests: KeyRequests = { request: (key, subscriber) => engine.subscribeKey(key, subscriber) };
 * ```
 */
export interface KeyRequests {
  /** One subscription of `key`'s Observable; returns its teardown. */
  request(key: string, subscriber: Subscriber<unknown>): TeardownLogic;
}

/**
 * The Observable `load(key)` returns: the key and its loader, with no closure of its own.
 * Every instance shares one subscribe function, which RxJS calls with the Observable as
 * `this` (the constructor's public signature says so).
 *
 * @example
 * ```ts
 * const user$ = new KeyObservable<User>('user:1', requests);
 * user$.subscribe(render); // requests.request('user:1', subscriber)
 * ```
 */
export class KeyObservable<V> extends Observable<V> {
  /**
   * @param key The key to load.
   * @param requests The loader's subscriptions.
   */
  constructor(
    readonly key: string,
    readonly requests: KeyRequests,
  ) {
    super(subscribeKey);
  }
}

function subscribeKey<V>(this: Observable<V>, subscriber: Subscriber<V>): TeardownLogic {
  const observable = this as KeyObservable<V>;
  return observable.requests.request(observable.key, subscriber as Subscriber<unknown>);
}
