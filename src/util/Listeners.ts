import { Observable, type Subscriber } from 'rxjs';

/**
 * A hot event stream that costs one length check per event while nobody listens: the
 * emitter tests {@link Listeners.active} before building an event at all. Subscribers
 * are kept in a plain array, replaced (never mutated) on subscribe and unsubscribe, so
 * emitting needs no copy and a listener may come or go during an emission.
 *
 * @example
 * ```ts
 * const listeners = new Listeners<string>();
 * listeners.observable.subscribe((e) => console.log(e));
 * if (listeners.active) listeners.emit('started');
 * ```
 */
export class Listeners<E> {
  #subscribers: readonly Subscriber<E>[] = [];

  /** The stream: each subscriber sees the events emitted while it is subscribed. */
  readonly observable: Observable<E> = new Observable<E>((subscriber) => {
    this.#subscribers = [...this.#subscribers, subscriber];
    return () => {
      this.#subscribers = this.#subscribers.filter((s) => s !== subscriber);
    };
  });

  /** Whether anyone listens: check it before building an event. */
  get active(): boolean {
    return this.#subscribers.length !== 0;
  }

  /** Delivers `event` to every current subscriber. */
  emit(event: E): void {
    const subscribers = this.#subscribers;
    for (let i = 0; i < subscribers.length; i++) (subscribers[i] as Subscriber<E>).next(event);
  }
}
