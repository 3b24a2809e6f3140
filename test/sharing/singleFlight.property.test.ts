import { createEngine } from 'eed';
import { dedupeMap } from 'eed/operators';
import fc from 'fast-check';
import { Observable, Subject, type Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { AbortError } from '../../src/errors.js';
import type {
  FlightObserver,
  FlightOutcome,
  FlightSink,
  SharedFlight,
} from '../../src/sharing/Flight.js';
import { SingleFlight } from '../../src/sharing/SingleFlight.js';

/**
 * The keyed single-flight registry against a model (DESIGN.md, "Sharing and caching"):
 *
 * - while a key is in flight, `join(key)` returns the same flight and its execution is
 *   started once; every observer sees the same values in the same order (late joiners
 *   get the values so far replayed, then the rest, then the end);
 * - the execution is stopped only when its last observer (or keepAlive holder) left and
 *   nobody joined again before the next microtask; whatever it sends afterwards is ignored;
 * - the entry leaves the registry when the execution ends, before any observer hears of
 *   the end, and `onEnd` runs exactly once with the outcome; so no entry outlives its
 *   execution and the registry is empty at quiescence;
 * - a reference to an ended flight replays its values and its end.
 */

const KEYS = ['a', 'b'] as const;
type Key = (typeof KEYS)[number];
const keyArb = fc.constantFrom<Key>(...KEYS);

type Action =
  /** `join(key)` and subscribe a new observer; `leaveOnValue`: it leaves on its first value. */
  | { kind: 'join'; key: Key; leaveOnValue: boolean }
  /** Subscribes a new observer straight to a flight object made earlier (maybe ended). */
  | { kind: 'late'; flight: number }
  /** The latest execution of `key` emits a value (ignored if it ended or was stopped). */
  | { kind: 'emit'; key: Key }
  | { kind: 'complete'; key: Key }
  | { kind: 'fail'; key: Key }
  | { kind: 'leave'; observer: number }
  | { kind: 'keepAlive'; key: Key }
  | { kind: 'release'; holder: number }
  /** Lets pending microtasks run (the stop of an abandoned flight). */
  | { kind: 'tick' };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('join' as const),
      key: keyArb,
      leaveOnValue: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('late' as const), flight: fc.nat(20) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('emit' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('complete' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fail' as const), key: keyArb }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('leave' as const), observer: fc.nat(40) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('keepAlive' as const), key: keyArb }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('release' as const), holder: fc.nat(10) }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'tick' as const }) },
);

type State = 'running' | 'completed' | 'failed' | 'cancelled';

/** One execution, as the model sees it and as the test observed it. */
interface FlightRecord {
  key: Key;
  // Model.
  state: State;
  values: number[];
  /** Attached observers (and keepAlive holders), by id. */
  attached: Set<number>;
  stopQueued: boolean;
  // Real.
  flight: SharedFlight<number, string>;
  sink: FlightSink<number> | undefined;
  starts: number;
  stops: number;
  ends: FlightOutcome[];
  /** Whether the flight was still in the registry when `onEnd` ran, and at each end notification. */
  registeredAtEnd: boolean[];
}

/** What one observer was sent, in the model and in reality. */
interface ObserverRecord {
  flight: number;
  expected: string[];
  got: string[];
  observer: FlightObserver<number>;
}

const FAILURE = new Error('work failed');

describe('SingleFlight: model of joins, replays, ends and stops', () => {
  it('one start per flight, identical sequences, stop only when abandoned, no entry outlives its execution', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(actionArb, { minLength: 1, maxLength: 60, size: 'medium' }),
        async (actions) => {
          const registry = new SingleFlight<number, string>();
          const flights: FlightRecord[] = [];
          /** The latest flight of each key (running or not). */
          const latest = new Map<Key, number>();
          const observers: ObserverRecord[] = [];
          /** keepAlive holders, with the flight they hold. */
          const holders: { flight: number; release: () => void; released: boolean }[] = [];
          /** Observers that leave on the first value they receive. */
          const leavesOnValue = new Set<ObserverRecord>();
          let nextValue = 0;
          let nextAttachId = 0;

          const errorName = (state: State) => (state === 'failed' ? 'Error' : 'AbortError');
          const ids = new WeakMap<ObserverRecord, number>();
          const observerId = (observer: ObserverRecord) => ids.get(observer) as number;

          const running = (key: Key): FlightRecord | undefined => {
            const id = latest.get(key);
            const record = id === undefined ? undefined : flights[id];
            return record?.state === 'running' ? record : undefined;
          };

          /** Model: an execution ended (outcome known); every attached observer hears it. */
          const modelEnd = (record: FlightRecord, state: Exclude<State, 'running'>) => {
            record.state = state;
            const end = state === 'completed' ? 'complete' : 'error';
            for (const observer of observers) {
              if (
                flights[observer.flight] === record &&
                record.attached.has(observerId(observer))
              ) {
                observer.expected.push(
                  end === 'complete' ? 'complete' : `error ${errorName(state)}`,
                );
              }
            }
            record.attached.clear();
          };
          const newObserver = (flightId: number, leaveOnValue: boolean): ObserverRecord => {
            const record: ObserverRecord = {
              flight: flightId,
              expected: [],
              got: [],
              observer: undefined as unknown as FlightObserver<number>,
            };
            const flightRecord = flights[flightId] as FlightRecord;
            const atEnd = () => {
              flightRecord.registeredAtEnd.push(
                registry.local(flightRecord.key) === flightRecord.flight,
              );
            };
            const observer: FlightObserver<number> = {
              next: (value) => {
                record.got.push(`next ${value}`);
                if (leaveOnValue) flightRecord.flight.unsubscribe(observer);
              },
              error: (error) => {
                atEnd();
                record.got.push(`error ${(error as Error).name}`);
              },
              complete: () => {
                atEnd();
                record.got.push('complete');
              },
            };
            record.observer = observer;
            ids.set(record, nextAttachId++);
            observers.push(record);
            return record;
          };

          /** Model of `subscribe`: replay, then the end if there was one, else attach. */
          const modelSubscribe = (record: FlightRecord, observer: ObserverRecord) => {
            for (const value of record.values) observer.expected.push(`next ${value}`);
            if (record.state === 'completed') observer.expected.push('complete');
            else if (record.state !== 'running') {
              observer.expected.push(`error ${errorName(record.state)}`);
            } else {
              record.attached.add(observerId(observer));
              record.stopQueued = false;
            }
          };

          const modelLeave = (record: FlightRecord, id: number) => {
            if (!record.attached.delete(id)) return;
            if (record.attached.size === 0 && record.state === 'running') record.stopQueued = true;
          };

          const perform = (action: Action): void => {
            switch (action.kind) {
              case 'join': {
                const current = running(action.key);
                const flightId = current === undefined ? flights.length : flights.indexOf(current);
                let created: FlightRecord | undefined;
                const meta = `meta ${flightId}`;
                const flight = registry.join(
                  action.key,
                  {
                    start(sink) {
                      if (created === undefined)
                        throw new Error('started a flight that was not new');
                      created.sink = sink;
                      created.starts++;
                    },
                    stop() {
                      if (created !== undefined) created.stops++;
                    },
                  },
                  meta,
                  (outcome) => {
                    if (created === undefined)
                      throw new Error('onEnd of a flight that was not new');
                    created.ends.push(outcome);
                    created.registeredAtEnd.push(registry.local(action.key) === created.flight);
                  },
                );
                if (current === undefined) {
                  created = {
                    key: action.key,
                    state: 'running',
                    values: [],
                    attached: new Set(),
                    stopQueued: false,
                    flight,
                    sink: undefined,
                    starts: 0,
                    stops: 0,
                    ends: [],
                    registeredAtEnd: [],
                  };
                  flights.push(created);
                  latest.set(action.key, flightId);
                } else {
                  // While the key is in flight, join returns that very flight.
                  expect(flight).toBe(current.flight);
                  expect(flight.meta).toBe(`meta ${flightId}`);
                }
                const record = flights[flightId] as FlightRecord;
                // Leaving during one's own replay is a separate property (below): here an
                // observer only leaves on a value shared live, once it is attached.
                const leaveOnValue = action.leaveOnValue && record.values.length === 0;
                const observer = newObserver(flightId, leaveOnValue);
                if (leaveOnValue) leavesOnValue.add(observer);
                modelSubscribe(record, observer);
                flight.subscribe(observer.observer);
                return;
              }
              case 'late': {
                if (flights.length === 0) return;
                const flightId = action.flight % flights.length;
                const record = flights[flightId] as FlightRecord;
                const observer = newObserver(flightId, false);
                modelSubscribe(record, observer);
                record.flight.subscribe(observer.observer);
                return;
              }
              case 'emit': {
                const id = latest.get(action.key);
                if (id === undefined) return;
                const record = flights[id] as FlightRecord;
                const value = nextValue++;
                if (record.state === 'running') {
                  record.values.push(value);
                  for (const observer of observers) {
                    if (observer.flight !== id || !record.attached.has(observerId(observer)))
                      continue;
                    observer.expected.push(`next ${value}`);
                    // Leaves on its first value, in the middle of the fan-out.
                    if (leavesOnValue.has(observer)) modelLeave(record, observerId(observer));
                  }
                }
                record.sink?.next(value);
                return;
              }
              case 'complete':
              case 'fail': {
                const id = latest.get(action.key);
                if (id === undefined) return;
                const record = flights[id] as FlightRecord;
                if (record.state === 'running') {
                  modelEnd(record, action.kind === 'complete' ? 'completed' : 'failed');
                }
                if (action.kind === 'complete') record.sink?.complete();
                else record.sink?.error(FAILURE);
                return;
              }
              case 'leave': {
                if (observers.length === 0) return;
                const observer = observers[action.observer % observers.length] as ObserverRecord;
                const record = flights[observer.flight] as FlightRecord;
                modelLeave(record, observerId(observer));
                record.flight.unsubscribe(observer.observer);
                return;
              }
              case 'keepAlive': {
                const current = running(action.key);
                const release = registry.keepAlive(action.key);
                if (current === undefined) {
                  expect(release).toBeUndefined();
                  return;
                }
                expect(release).toBeTypeOf('function');
                const id = nextAttachId++;
                current.attached.add(id);
                current.stopQueued = false;
                const flightId = flights.indexOf(current);
                holders.push({
                  flight: flightId,
                  released: false,
                  release: () => {
                    modelLeave(current, id);
                    release?.();
                  },
                });
                return;
              }
              case 'release': {
                if (holders.length === 0) return;
                const holder = holders[action.holder % holders.length] as (typeof holders)[number];
                if (holder.released) return;
                holder.released = true;
                holder.release();
                return;
              }
              case 'tick': {
                for (const record of flights) {
                  if (!record.stopQueued) continue;
                  record.stopQueued = false;
                  if (record.attached.size === 0 && record.state === 'running') {
                    modelEnd(record, 'cancelled');
                  }
                }
                return;
              }
            }
          };

          const check = (where: string) => {
            for (const [i, observer] of observers.entries()) {
              expect(observer.got, `${where}: observer ${i} of flight ${observer.flight}`).toEqual(
                observer.expected,
              );
            }
            for (const [i, record] of flights.entries()) {
              const at = `${where}: flight ${i} (${record.key})`;
              expect(record.starts, at).toBe(1);
              expect(record.stops, at).toBe(record.state === 'cancelled' ? 1 : 0);
              expect(record.ends, at).toEqual(record.state === 'running' ? [] : [record.state]);
              // It had left the registry before onEnd ran and before any observer heard the end.
              expect(
                record.registeredAtEnd.every((registered) => !registered),
                at,
              ).toBe(true);
              expect(record.flight.observers, at).toBe(record.attached.size);
              expect(record.flight.values, at).toEqual(record.values);
            }
            // The registry holds exactly the running flights.
            const inFlight = flights.filter((record) => record.state === 'running');
            expect(registry.size, where).toBe(inFlight.length);
            for (const key of KEYS) {
              expect(registry.get(key), `${where}: get(${key})`).toBe(running(key)?.flight);
            }
          };

          for (const [step, action] of actions.entries()) {
            perform(action);
            // Everything above ran in one synchronous turn: microtasks run only on a tick.
            if (action.kind === 'tick') await Promise.resolve();
            check(`step ${step} ${JSON.stringify(action)}`);
          }

          // Quiescence: everyone leaves; a microtask later nothing is in flight.
          for (const holder of holders) if (!holder.released) holder.release();
          for (const observer of observers) {
            const record = flights[observer.flight] as FlightRecord;
            modelLeave(record, observerId(observer));
            record.flight.unsubscribe(observer.observer);
          }
          perform({ kind: 'tick' });
          await Promise.resolve();
          check('quiescence');
          expect(registry.size).toBe(0);
          expect(flights.every((record) => record.state !== 'running')).toBe(true);
          for (const record of flights) {
            // A stopped execution's late output is ignored.
            record.sink?.next(-1);
            record.sink?.complete();
          }
          check('after late output');
        },
      ),
      { numRuns: 300 },
    );
  });

  /*
   * Once a defect: an execution has emitted n values; a second observer subscribes and, on
   * a value of the replay, calls `flight.unsubscribe(itself)`; then the first observer
   * leaves. `Flight.subscribe` replayed before attaching, so the unsubscribe found nothing
   * to detach and the observer was attached right after, for good: `stop()` was never
   * called and the entry stayed in the registry. (`engine.run` was not affected: its
   * teardown runs only after `subscribe` returned.)
   */
  it('an observer that leaves during its own replay is detached (the execution stops when the others leave)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.nat(3), async (emitted, leaveAt) => {
        const registry = new SingleFlight<number, undefined>();
        let stops = 0;
        let sink: FlightSink<number> | undefined;
        const flight = registry.join(
          'k',
          {
            start: (s) => {
              sink = s;
            },
            stop: () => {
              stops++;
            },
          },
          undefined,
        );
        const first: FlightObserver<number> = { next() {}, error() {}, complete() {} };
        flight.subscribe(first);
        for (let i = 0; i < emitted; i++) sink?.next(i);
        const seen: number[] = [];
        const leaver: FlightObserver<number> = {
          next: (value) => {
            seen.push(value);
            if (value === Math.min(leaveAt, emitted - 1)) flight.unsubscribe(leaver);
          },
          error() {},
          complete() {},
        };
        flight.subscribe(leaver);
        // Nothing after it left.
        expect(seen).toEqual([...Array(Math.min(leaveAt, emitted - 1) + 1).keys()]);
        flight.unsubscribe(first);
        await Promise.resolve();
        expect(flight.observers).toBe(0);
        expect(stops).toBe(1);
        expect(registry.size).toBe(0);
      }),
      { numRuns: 20 },
    );
  });

  it('the stop waits a microtask: a consumer leaving and another joining in the same turn keep the execution', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }), async (rejoins) => {
        // Each round: the only observer leaves; maybe a new one joins in the same turn.
        const registry = new SingleFlight<number, undefined>();
        let stops = 0;
        let sink: FlightSink<number> | undefined;
        const outcomes: FlightOutcome[] = [];
        const flight = registry.join(
          'k',
          {
            start: (s) => {
              sink = s;
            },
            stop: () => {
              stops++;
            },
          },
          undefined,
          (outcome) => outcomes.push(outcome),
        );
        const noop: FlightObserver<number> = { next() {}, error() {}, complete() {} };
        let current: FlightObserver<number> = { ...noop };
        flight.subscribe(current);
        sink?.next(1);
        let alive = true;
        for (const rejoin of rejoins) {
          if (!alive) break;
          flight.unsubscribe(current);
          if (rejoin) {
            current = { ...noop };
            expect(registry.join('k', { start() {}, stop() {} }, undefined)).toBe(flight);
            flight.subscribe(current);
          }
          await Promise.resolve();
          alive = rejoin;
          expect(stops).toBe(alive ? 0 : 1);
          expect(registry.size).toBe(alive ? 1 : 0);
        }
        if (alive) {
          sink?.complete();
          expect(outcomes).toEqual(['completed']);
        } else {
          expect(outcomes).toEqual(['cancelled']);
        }
        expect(registry.size).toBe(0);
        // An error of a stopped flight is an AbortError, replayed to late subscribers.
        if (!alive) {
          const errors: unknown[] = [];
          flight.subscribe({ ...noop, error: (e) => errors.push(e) });
          expect(errors[0]).toBeInstanceOf(AbortError);
        }
      }),
      { numRuns: 200 },
    );
  });
});

/** Whether `value` and everything reachable from it is frozen (primitives are). */
function deepFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(deepFrozen);
}

type Outcome = 'succeed' | 'fail' | 'hang';

/** One input value of a dedupeMap stream: what its work does if it is the one that runs. */
interface Input {
  key: string;
  outcome: Outcome;
  count: number;
}

type StreamAction =
  | { kind: 'push'; stream: number; input: Input }
  | { kind: 'unsubscribe'; stream: number }
  | { kind: 'end'; stream: number };

const STREAMS = 3;
const streamArb = fc.nat(STREAMS - 1);
const streamActionArb: fc.Arbitrary<StreamAction> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('push' as const),
      stream: streamArb,
      input: fc.record({
        key: fc.constantFrom('a', 'b', 'c'),
        outcome: fc.constantFrom<Outcome>('succeed', 'succeed', 'succeed', 'fail', 'hang'),
        count: fc.integer({ min: 1, max: 3 }),
      }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('unsubscribe' as const), stream: streamArb }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('end' as const), stream: streamArb }) },
);

/** One call of the work (one execution of a key). */
interface Generation {
  key: string;
  emitted: { id: string; parts: string[] }[];
  end: 'running' | 'completed' | 'failed' | 'aborted';
}

interface StreamRecord {
  source: Subject<Input>;
  inputs: Input[];
  output: unknown[];
  state: 'open' | 'completed' | 'failed' | 'unsubscribed';
  /** Its source completed: no more inputs. */
  ended: boolean;
  subscription: Subscription;
}

describe('dedupeMap over a shared engine: the deduplication invariants under arbitrary interleavings', () => {
  it('one execution per key in flight, every input gets its whole shared sequence (deep-frozen), abort only when the last input left, nothing left at quiescence', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 3 }),
        fc.array(streamActionArb, { minLength: 1, maxLength: 30, size: 'medium' }),
        async (s, slots, actions) => {
          const engine = createEngine({ executor: { concurrency: slots } });
          const generations: Generation[] = [];
          /** The execution of each key that is running, and keys whose result is cached. */
          const active = new Map<string, Generation>();
          const cached = new Set<string>();
          const problems: string[] = [];
          const streams: StreamRecord[] = [];

          /** Inputs of `key` in streams still open: each is subscribed to the key's execution. */
          const live = (key: string) =>
            streams
              .filter((stream) => stream.state === 'open')
              .reduce((n, stream) => n + stream.inputs.filter((i) => i.key === key).length, 0);

          const project = (input: Input, signal: AbortSignal) =>
            new Observable<{ id: string; parts: string[] }>((subscriber) => {
              const { key } = input;
              if (active.has(key)) problems.push(`work of ${key} called while in flight`);
              if (cached.has(key)) problems.push(`work of ${key} called while cached`);
              const gen: Generation = { key, emitted: [], end: 'running' };
              const id = generations.push(gen) - 1;
              active.set(key, gen);
              signal.addEventListener('abort', () => {
                if (gen.end !== 'running') problems.push(`${key}#${id} aborted after it ended`);
                if (live(key) !== 0) problems.push(`${key}#${id} aborted with ${live(key)} inputs`);
                gen.end = 'aborted';
                active.delete(key);
              });
              let stopped = false;
              (async () => {
                for (let i = 0; i < input.count; i++) {
                  await s.schedule(Promise.resolve(), `${key}#${id} value ${i}`);
                  if (stopped) return;
                  // A fresh, unfrozen object: what subscribers get must be frozen.
                  const value = { id: `${id}:${i}`, parts: [key, String(i)] };
                  gen.emitted.push(structuredClone(value));
                  subscriber.next(value);
                }
                if (input.outcome === 'hang') return;
                await s.schedule(Promise.resolve(), `${key}#${id} ${input.outcome}`);
                if (stopped) return;
                active.delete(key);
                if (input.outcome === 'fail') {
                  gen.end = 'failed';
                  subscriber.error(new Error(`${key}#${id} failed`));
                } else {
                  gen.end = 'completed';
                  cached.add(key);
                  subscriber.complete();
                }
              })();
              return () => {
                stopped = true;
              };
            });

          for (let i = 0; i < STREAMS; i++) {
            const source = new Subject<Input>();
            const record: StreamRecord = {
              source,
              inputs: [],
              output: [],
              state: 'open',
              ended: false,
              subscription: undefined as unknown as Subscription,
            };
            record.subscription = source
              .pipe(
                dedupeMap((input) => input.key, project, {
                  engine,
                  ordered: true,
                  concurrency: 30,
                }),
              )
              .subscribe({
                next: (value) => record.output.push(value),
                error: () => {
                  record.state = 'failed';
                },
                complete: () => {
                  record.state = 'completed';
                },
              });
            streams.push(record);
          }

          const perform = (action: StreamAction) => {
            const stream = streams[action.stream] as StreamRecord;
            if (stream.state !== 'open') return;
            if (action.kind === 'push') {
              if (stream.ended) return;
              stream.inputs.push(action.input);
              stream.source.next(action.input);
            } else if (action.kind === 'unsubscribe') {
              stream.state = 'unsubscribed';
              stream.subscription.unsubscribe();
            } else {
              stream.ended = true;
              stream.source.complete();
            }
          };

          const driver = (async () => {
            for (const action of actions) {
              await s.schedule(Promise.resolve(), `${action.kind} ${action.stream}`);
              perform(action);
            }
            await s.schedule(Promise.resolve(), 'leave');
            for (const stream of streams) {
              if (stream.state !== 'open') continue;
              // Sources that ended may still wait on work; everything open leaves now.
              stream.state = 'unsubscribed';
              stream.subscription.unsubscribe();
            }
          })();
          await s.waitFor(driver);
          await s.waitIdle();
          // The stop of an abandoned execution comes a microtask after its last input left.
          await new Promise((resolve) => setImmediate(resolve));

          expect(problems).toEqual([]);
          for (const [n, stream] of streams.entries()) {
            // In input order (`ordered`), each input's output is the whole sequence of one
            // execution of its key: inputs sharing it see the same values in the same order.
            let at = 0;
            let consumed = 0;
            for (const input of stream.inputs) {
              if (at === stream.output.length) break;
              const first = stream.output[at] as { id: string };
              const gen = generations[Number(first.id.split(':')[0])] as Generation;
              expect(gen.key, `stream ${n}, input ${consumed}`).toBe(input.key);
              const block = stream.output.slice(at, at + gen.emitted.length);
              if (block.length < gen.emitted.length) {
                // Only the last input of a stream that did not complete may be partial.
                expect(stream.state).not.toBe('completed');
              }
              expect(block, `stream ${n}, input ${consumed}`).toEqual(
                gen.emitted.slice(0, block.length),
              );
              at += block.length;
              consumed++;
            }
            expect(at, `stream ${n}: outputs beyond its inputs`).toBe(stream.output.length);
            if (stream.state === 'completed') expect(consumed).toBe(stream.inputs.length);
            expect(stream.output.every(deepFrozen), `stream ${n}: frozen`).toBe(true);
          }
          // Quiescence: nothing in flight or running, every execution ended.
          expect(engine.inFlight).toBe(0);
          expect(engine.executor.stats()).toMatchObject({ running: 0, queued: 0 });
          expect(active.size).toBe(0);
          expect(generations.every((gen) => gen.end !== 'running')).toBe(true);
          expect(engine.metrics().redundancyRate).toBe(0);
          engine.dispose();
        },
      ),
      { numRuns: 300 },
    );
  });
});
