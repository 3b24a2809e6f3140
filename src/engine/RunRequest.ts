import type { Subscriber, Unsubscribable } from 'rxjs';
import type { FlightObserver } from '../sharing/Flight.js';

/**
 * Where a {@link RunRequest} reports (the engine's metrics and events).
 *
 * @example
 * ```ts
 * const host: RequestHost = { firstValue: (request) => log(request.key), ended: (request, outcome) => log(outcome) };
 * ```
 */
export interface RequestHost {
  /** The request received its first value. */
  firstValue(request: RunRequest<never>): void;
  /** The request ended. */
  ended(request: RunRequest<never>, outcome: 'completed' | 'failed' | 'cancelled'): void;
}

/**
 * One subscription of `engine.run`: relays a flight (or a cache hit) to its subscriber,
 * and reports its first value and its end. It is the flight's observer and the
 * subscription's teardown at once: one object per request, no closure.
 *
 * @example
 * ```ts
 * const request = new RunRequest(host, subscriber, key, label, requestId, clock.now());
 * request.flight = flight;
 * flight.subscribe(request);
 * return request; // unsubscribing leaves the flight
 * ```
 */
export class RunRequest<T> implements FlightObserver<T>, Unsubscribable {
  /** The flight this request joined, if any (left on unsubscribe). */
  flight: { unsubscribe(observer: FlightObserver<T>): void } | undefined = undefined;
  #waitingForFirst = true;
  #ended = false;

  constructor(
    readonly host: RequestHost,
    readonly subscriber: Subscriber<T>,
    readonly key: string,
    readonly label: string | undefined,
    readonly requestId: number,
    /** When the request was made (0 when nothing records). */
    readonly startedAt: number,
  ) {}

  /** The consumer left (the request's own unsubscribe may still be on its way). */
  get closed(): boolean {
    return this.subscriber.closed;
  }

  next(value: T): void {
    if (this.#ended) return;
    if (this.#waitingForFirst) {
      this.#waitingForFirst = false;
      this.host.firstValue(this);
    }
    this.subscriber.next(value);
  }

  error(error: unknown): void {
    if (this.#ended) return;
    this.#end('failed');
    this.subscriber.error(error);
  }

  complete(): void {
    if (this.#ended) return;
    this.#end('completed');
    this.subscriber.complete();
  }

  /** Leaves the flight (the last one to leave aborts it) and reports a cancellation. */
  unsubscribe(): void {
    this.flight?.unsubscribe(this);
    if (!this.#ended) this.#end('cancelled');
  }

  #end(outcome: 'completed' | 'failed' | 'cancelled'): void {
    this.#ended = true;
    this.host.ended(this, outcome);
  }
}
