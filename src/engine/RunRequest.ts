import type { Subscriber, Unsubscribable } from 'rxjs';
import type { EngineEvent } from '../metrics/events.js';
import type { FlightObserver } from '../sharing/Flight.js';

/** Where a {@link RunRequest} reports its events. */
export interface RequestHost {
  /** Whether anything counts or listens to events; when not, no event object is made. */
  readonly recording: boolean;
  record(event: EngineEvent): void;
  /** The engine's clock (ms). */
  now(): number;
}

/**
 * One subscription of `engine.run`: relays a flight (or a cache hit) to its subscriber,
 * and reports `first-value` and `request-ended`. It is the flight's observer and the
 * subscription's teardown at once: one object per request, no closure.
 *
 * @example
 * ```ts
 * const request = new RunRequest(host, subscriber, key, label, requestId);
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
  ) {}

  next(value: T): void {
    if (this.#ended) return;
    if (this.#waitingForFirst) {
      this.#waitingForFirst = false;
      const host = this.host;
      if (host.recording) {
        host.record({
          type: 'first-value',
          time: host.now(),
          key: this.key,
          label: this.label,
          requestId: this.requestId,
        });
      }
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
    const host = this.host;
    if (!host.recording) return;
    host.record({
      type: 'request-ended',
      time: host.now(),
      key: this.key,
      label: this.label,
      requestId: this.requestId,
      outcome,
    });
  }
}
