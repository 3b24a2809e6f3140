import {
  config,
  Observable,
  type Observer,
  Subscriber,
  type Subscription,
  type TeardownLogic,
  type Unsubscribable,
} from 'rxjs';

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
 * Subscribed with a plain observer or a `next` function (not a `Subscriber`, as operators
 * pass), it subscribes a {@link KeySubscriber}: one object where RxJS makes three (a safe
 * subscriber, the observer wrapper it calls, and the array holding the teardown). A
 * loader's keys wait for their batch all at once, so every byte a subscription holds is
 * held 100,000 times over in a large load (and copied by each young-generation GC).
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

  override subscribe(observerOrNext?: Partial<Observer<V>> | ((value: V) => void)): Subscription;
  /** @deprecated Use an observer (as RxJS 7 does). */
  override subscribe(
    next?: ((value: V) => void) | null,
    error?: ((error: unknown) => void) | null,
    complete?: (() => void) | null,
  ): Subscription;
  override subscribe(
    observerOrNext?: Partial<Observer<V>> | ((value: V) => void) | null,
    error?: ((error: unknown) => void) | null,
    complete?: (() => void) | null,
  ): Subscription {
    if (
      error === undefined &&
      complete === undefined &&
      observerOrNext != null &&
      !config.useDeprecatedNextContext &&
      !config.useDeprecatedSynchronousErrorHandling
    ) {
      if (typeof observerOrNext === 'function') {
        return this.#subscribeKey(new KeySubscriber<V>({ next: observerOrNext }));
      }
      if (!isSubscriberLike(observerOrNext)) {
        return this.#subscribeKey(new KeySubscriber<V>(observerOrNext));
      }
    }
    // RxJS tells an observer from a `next` function at run time, as it does here.
    return super.subscribe(observerOrNext as ((value: V) => void) | null, error, complete);
  }

  /**
   * What `Observable.subscribe` does for an Observable with no operator (outside RxJS's
   * deprecated synchronous error mode): the subscribe function's throw becomes the
   * subscriber's error. Without the closure it wraps that in.
   */
  #subscribeKey(subscriber: KeySubscriber<V>): Subscription {
    try {
      subscriber.hold(this.requests.request(this.key, subscriber as Subscriber<unknown>));
    } catch (error) {
      subscriber.error(error);
    }
    return subscriber;
  }
}

/**
 * A subscription of a {@link KeyObservable} by a plain observer: what RxJS's safe
 * subscriber does (an observer's throw is reported asynchronously, as an unhandled error,
 * and never reaches the producer; nothing is delivered after the end), in one object that
 * also holds the teardown.
 *
 * @example
 * ```ts
 * const subscription = keyObservable.subscribe({ next: render }); // a KeySubscriber
 * subscription.unsubscribe(); // runs the request's teardown
 * ```
 */
export class KeySubscriber<V> extends Subscriber<V> {
  readonly #observer: Partial<Observer<V>>;
  #teardown: Unsubscribable | (() => void) | undefined = undefined;

  /** @param observer The consumer's observer (any callback may be missing). */
  constructor(observer: Partial<Observer<V>>) {
    super();
    this.#observer = observer;
  }

  /** Keeps the request's teardown, or runs it at once if this subscription already ended. */
  hold(teardown: TeardownLogic): void {
    if (teardown == null) return;
    if (this.closed) runTeardown(teardown);
    else this.#teardown = teardown;
  }

  override unsubscribe(): void {
    if (this.closed) return;
    super.unsubscribe();
    const teardown = this.#teardown;
    if (teardown === undefined) return;
    this.#teardown = undefined;
    runTeardown(teardown);
  }

  protected override _next(value: V): void {
    const observer = this.#observer;
    if (observer.next === undefined) return;
    try {
      observer.next(value);
    } catch (thrown) {
      reportUnhandled(thrown);
    }
  }

  protected override _error(error: unknown): void {
    const observer = this.#observer;
    try {
      if (observer.error === undefined) reportUnhandled(error);
      else observer.error(error);
    } catch (thrown) {
      reportUnhandled(thrown);
    } finally {
      this.unsubscribe();
    }
  }

  protected override _complete(): void {
    const observer = this.#observer;
    try {
      observer.complete?.();
    } catch (thrown) {
      reportUnhandled(thrown);
    } finally {
      this.unsubscribe();
    }
  }
}

function subscribeKey<V>(this: Observable<V>, subscriber: Subscriber<V>): TeardownLogic {
  const observable = this as KeyObservable<V>;
  const teardown = observable.requests.request(observable.key, subscriber as Subscriber<unknown>);
  if (!(subscriber instanceof KeySubscriber)) return teardown;
  // Held by the subscriber itself: RxJS would allocate an array of finalizers for it.
  subscriber.hold(teardown);
}

function runTeardown(teardown: Unsubscribable | (() => void)): void {
  if (typeof teardown === 'function') teardown();
  else teardown.unsubscribe();
}

/** What RxJS takes for a subscriber, as its own `isSubscriber` does (used as is, not wrapped). */
function isSubscriberLike(value: object): boolean {
  if (value instanceof Subscriber) return true;
  const candidate = value as Partial<Subscriber<unknown>>;
  return (
    typeof candidate.next === 'function' &&
    typeof candidate.error === 'function' &&
    typeof candidate.complete === 'function' &&
    'closed' in candidate &&
    typeof candidate.add === 'function' &&
    typeof candidate.remove === 'function' &&
    typeof candidate.unsubscribe === 'function'
  );
}

/** An error nobody handles: to `config.onUnhandledError`, else thrown in a later task, as RxJS does. */
function reportUnhandled(error: unknown): void {
  setTimeout(() => {
    const onUnhandledError = config.onUnhandledError;
    if (onUnhandledError) onUnhandledError(error);
    else throw error;
  });
}
