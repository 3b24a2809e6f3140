import {
  config,
  Observable,
  type Observer,
  Subscriber,
  Subscription,
  type TeardownLogic,
  type Unsubscribable,
} from 'rxjs';

/**
 * An Observable with no closure of its own (`executor.schedule`'s, `engine.run`'s, a
 * loader's `load(key)`'s): every instance shares one subscribe function, which RxJS calls
 * with the Observable as `this` and which calls {@link request}.
 *
 * Subscribed with a plain observer or a `next` function (not a `Subscriber`, as operators
 * pass), it first lets the subclass serve the observer at once ({@link serveNow}: a cache
 * hit needs no subscription at all), and otherwise subscribes a {@link DirectSubscriber}:
 * one object where RxJS makes three (a safe subscriber, the observer wrapper it calls,
 * and the array holding the teardown).
 * Tasks queued on an executor and a loader's keys waiting for their batch are subscribed
 * all at once, so every byte a subscription holds is held 100,000 times over in a large
 * run (and copied by each young-generation GC): a task scheduled with a plain observer
 * holds about 200 bytes less while it waits, and a cache hit of `engine.run` allocates
 * that much less per request.
 *
 * @example
 * ```ts
 * class Answer extends DirectObservable<number> {
 *   request(subscriber: Subscriber<unknown>) {
 *     subscriber.next(42);
 *     subscriber.complete();
 *   }
 * }
 * new Answer().subscribe(console.log); // 42
 * ```
 */
export abstract class DirectObservable<V> extends Observable<V> {
  constructor() {
    super(subscribeDirect);
  }

  /** One subscription: serves `subscriber` and returns its teardown. */
  abstract request(subscriber: Subscriber<unknown>): TeardownLogic;

  /**
   * Serves a plain observer to its end at once, if the subclass can (every value, then
   * the end, through {@link nextTo} and {@link completeTo}, which keep a safe subscriber's
   * rules): `subscribe` then returns a closed subscription and allocates none. Returns
   * `false`, having called nothing, when the subscription has to be made.
   */
  serveNow(_observer: Partial<Observer<V>>): boolean {
    return false;
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
      const observer =
        typeof observerOrNext === 'function'
          ? { next: observerOrNext }
          : isSubscriberLike(observerOrNext)
            ? undefined
            : observerOrNext;
      if (observer !== undefined) {
        // Served at once: what RxJS returns then is a subscription already closed.
        if (this.serveNow(observer)) return Subscription.EMPTY;
        return this.#subscribeDirect(new DirectSubscriber<V>(observer));
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
  #subscribeDirect(subscriber: DirectSubscriber<V>): Subscription {
    try {
      subscriber.hold(this.request(subscriber as Subscriber<unknown>));
    } catch (error) {
      subscriber.error(error);
    }
    return subscriber;
  }
}

/**
 * A subscription of a {@link DirectObservable} by a plain observer: what RxJS's safe
 * subscriber does (an observer's throw is reported asynchronously, as an unhandled error,
 * and never reaches the producer; nothing is delivered after the end), in one object that
 * also holds the teardown.
 *
 * @example
 * ```ts
 * const subscription = engine.run('k', work).subscribe({ next: render }); // a DirectSubscriber
 * subscription.unsubscribe(); // runs the request's teardown
 * ```
 */
export class DirectSubscriber<V> extends Subscriber<V> {
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
    nextTo(this.#observer, value);
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
    try {
      completeTo(this.#observer);
    } finally {
      this.unsubscribe();
    }
  }
}

/**
 * Hands `value` to a plain observer as a safe subscriber does: a missing `next` is
 * skipped, and a throw is reported as unhandled, never to the producer.
 *
 * @example
 * ```ts
 * nextTo(observer, cached); // in a DirectObservable's serveNow
 * ```
 */
export function nextTo<V>(observer: Partial<Observer<V>>, value: V): void {
  if (observer.next === undefined) return;
  try {
    observer.next(value);
  } catch (thrown) {
    reportUnhandled(thrown);
  }
}

/**
 * Ends a plain observer as a safe subscriber does (a throw is reported as unhandled).
 *
 * @example
 * ```ts
 * completeTo(observer); // after the last nextTo
 * ```
 */
export function completeTo<V>(observer: Partial<Observer<V>>): void {
  try {
    observer.complete?.();
  } catch (thrown) {
    reportUnhandled(thrown);
  }
}

function subscribeDirect<V>(this: Observable<V>, subscriber: Subscriber<V>): TeardownLogic {
  const teardown = (this as DirectObservable<V>).request(subscriber as Subscriber<unknown>);
  if (!(subscriber instanceof DirectSubscriber)) return teardown;
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
