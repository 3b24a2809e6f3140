import { describe, expect, it } from 'vitest';
import type { FlightObserver, FlightSink } from '../../src/sharing/Flight.js';
import { SingleFlight } from '../../src/sharing/SingleFlight.js';

/** A source the test drives by hand. */
function manualSource() {
  const state = { sink: undefined as FlightSink<number> | undefined, starts: 0, stops: 0 };
  return {
    state,
    source: {
      start(sink: FlightSink<number>) {
        state.sink = sink;
        state.starts++;
      },
      stop() {
        state.stops++;
      },
    },
  };
}

function recorder() {
  const log: string[] = [];
  const observer: FlightObserver<number> = {
    next: (v) => log.push(`next ${v}`),
    error: (e) => log.push(`error ${(e as Error).name}`),
    complete: () => log.push('complete'),
  };
  return { log, observer };
}

describe('SingleFlight', () => {
  it('starts once on the first subscription, replays to late joiners, and leaves the registry before notifying', () => {
    const flights = new SingleFlight<number, string>();
    const { state, source } = manualSource();
    const flight = flights.join('k', source, 'meta');
    expect(flights.join('k', manualSource().source, 'other')).toBe(flight);
    const a = recorder();
    const b = recorder();
    flight.subscribe(a.observer);
    state.sink?.next(1);
    flight.subscribe(b.observer);
    state.sink?.next(2);
    let inRegistryAtEnd: boolean | undefined;
    flight.subscribe({
      next: () => {},
      error: () => {},
      complete: () => {
        inRegistryAtEnd = flights.get('k') !== undefined;
      },
    });
    state.sink?.complete();
    expect(state.starts).toBe(1);
    expect(a.log).toEqual(['next 1', 'next 2', 'complete']);
    expect(b.log).toEqual(['next 1', 'next 2', 'complete']);
    expect(inRegistryAtEnd).toBe(false);
    expect(flights.size).toBe(0);
    expect(flight.values).toEqual([1, 2]);
  });

  it('stops the execution a microtask after the last observer left, unless someone rejoined', async () => {
    const flights = new SingleFlight<number, undefined>();
    const { state, source } = manualSource();
    const ends: string[] = [];
    const flight = flights.join('k', source, undefined, (outcome) => ends.push(outcome));
    const a = recorder();
    flight.subscribe(a.observer);
    flight.unsubscribe(a.observer);
    const b = recorder();
    flight.subscribe(b.observer); // rejoined in the same tick: still running
    await Promise.resolve();
    expect(state.stops).toBe(0);
    flight.unsubscribe(b.observer);
    await Promise.resolve();
    expect(state.stops).toBe(1);
    expect(ends).toEqual(['cancelled']);
    expect(flights.size).toBe(0);
    state.sink?.next(3); // whatever a stopped execution still sends is ignored
    expect(b.log).toEqual([]);
  });

  it('keepAlive holds the execution open until released', async () => {
    const flights = new SingleFlight<number, undefined>();
    const { state, source } = manualSource();
    const flight = flights.join('k', source, undefined);
    const a = recorder();
    flight.subscribe(a.observer);
    const release = flights.keepAlive('k');
    flight.unsubscribe(a.observer);
    await Promise.resolve();
    expect(state.stops).toBe(0);
    release?.();
    await Promise.resolve();
    expect(state.stops).toBe(1);
    expect(flights.keepAlive('k')).toBeUndefined();
  });

  it('an observer leaving during a fan-out does not skip the others', () => {
    const flights = new SingleFlight<number, undefined>();
    const { state, source } = manualSource();
    const flight = flights.join('k', source, undefined);
    const log: string[] = [];
    const c = recorder();
    const b: FlightObserver<number> = {
      next: (v) => {
        log.push(`b ${v}`);
        flight.unsubscribe(b);
      },
      error: () => {},
      complete: () => {},
    };
    flight.subscribe(recorder().observer);
    flight.subscribe(b);
    flight.subscribe(c.observer);
    state.sink?.next(1);
    state.sink?.next(2);
    expect(log).toEqual(['b 1']);
    expect(c.log).toEqual(['next 1', 'next 2']);
    expect(flight.observers).toBe(2);
  });
  it('registers a flight made elsewhere: join returns it until it removes itself', () => {
    const flights = new SingleFlight<number, string>();
    const own = {
      key: 'k',
      meta: 'own',
      observers: 0,
      values: [],
      subscribe: () => {},
      unsubscribe: () => {},
    };
    flights.add('k', own);
    expect(flights.get('k')).toBe(own);
    expect(flights.join('k', manualSource().source, 'other')).toBe(own);
    expect(flights.size).toBe(1);
    flights.remove('k');
    expect(flights.get('k')).toBeUndefined();
    expect(flights.size).toBe(0);
  });
});
