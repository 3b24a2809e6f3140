import { type Clock, createEngine, createExecutor, MemoryStore } from 'eed';
import fc from 'fast-check';
import { map, Observable, type Subscriber, type Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';

/**
 * Cache-TTL invariant of `engine.run` (DESIGN.md, "Sharing and caching"):
 * - within a key's TTL after success, `run(key)` is served from cache and calls no work;
 * - once the TTL has run out, the next `run(key)` calls the work again;
 * - errors and cancellations are never cached.
 *
 * Checked against a model, step by step, under a fake wall clock. An entry stored at wall
 * time `t` with TTL `ttl` has `expiresAt = t + ttl` and is valid while `expiresAt > now`
 * (Engine#valid, MemoryStore#hit: `expiresAt <= now` means expired), so it is served at
 * `t + ttl - 1` and expired at exactly `t + ttl`. A TTL of 0 caches nothing.
 */

type Outcome = 'succeed' | 'fail';

type Action =
  | {
      kind: 'run';
      key: string;
      /** Per-run TTL; `undefined` uses the engine's. */
      ttl: number | undefined;
      outcome: Outcome;
      count: number;
      /** Settles while the run subscribes, or waits for a `settle` action. */
      sync: boolean;
      /** `false`: the work is called outside an executor slot. */
      slot: boolean;
      /** Subscribe with a plain observer (the engine's fast path) or through an operator. */
      piped: boolean;
    }
  | { kind: 'settle'; key: string }
  | { kind: 'advance'; ms: number }
  /** Moves the clock to the key's model expiry plus `delta` (if that is not in the past). */
  | { kind: 'toExpiry'; key: string; delta: -1 | 0 | 1 }
  | { kind: 'unsubscribe'; key: string }
  | { kind: 'invalidate'; key: string };

const MAX_TTL = 12;
const keyArb = fc.constantFrom('a', 'b');

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('run' as const),
      key: keyArb,
      ttl: fc.option(fc.integer({ min: 0, max: MAX_TTL }), { nil: undefined, freq: 3 }),
      outcome: fc.constantFrom<Outcome>('succeed', 'succeed', 'succeed', 'fail'),
      count: fc.integer({ min: 0, max: 2 }),
      sync: fc.boolean(),
      slot: fc.boolean(),
      piped: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('settle' as const), key: keyArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 2 * MAX_TTL })),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('toExpiry' as const),
      key: keyArb,
      delta: fc.constantFrom<-1 | 0 | 1>(-1, 0, 1),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unsubscribe' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('invalidate' as const), key: keyArb }) },
);

type End = 'open' | 'completed' | 'failed' | 'unsubscribed';

interface RunView {
  key: string;
  values: string[];
  end: End;
}

/** What the test observed of one call of a work. */
interface RealGeneration {
  key: string;
  aborted: boolean;
  /** Settles the work (emits its values, then completes or fails); set for deferred work. */
  settle: (() => void) | undefined;
}

interface ModelFlight {
  gen: number;
  key: string;
  values: string[];
  outcome: Outcome;
  ttl: number;
  /** Invalidated while running: its result must not be cached. */
  stale: boolean;
  /** Indices of the runs subscribed to it and still open. */
  subscribers: number[];
}

interface ModelEntry {
  values: string[];
  expiresAt: number;
}

/** Lets every pending microtask and the current macrotask turn finish (no timer, no sleep). */
const settleTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('cache TTL invariant (engine.run under a fake wall clock)', () => {
  it('work runs iff no valid entry and nothing in flight; expiry at expiresAt <= now; failures and cancellations never cached', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: MAX_TTL }),
        fc.integer({ min: 0, max: 1_000 }),
        fc.boolean(),
        fc.array(actionArb, { minLength: 1, maxLength: 40, size: 'medium' }),
        async (engineTtl, start, explicitStore, actions) => {
          let now = start;
          const clock: Clock = { now: () => now };
          const engine = createEngine({
            executor: createExecutor({ concurrency: 8 }),
            ttl: engineTtl,
            clock,
            wallClock: clock,
            ...(explicitStore ? { cache: new MemoryStore({ clock }) } : {}),
          });

          // Real side.
          const realGens: RealGeneration[] = [];
          const realRuns: RunView[] = [];
          const subscriptions: Subscription[] = [];

          // Model side.
          const modelRuns: RunView[] = [];
          const modelGenKeys: string[] = [];
          const modelAborted: boolean[] = [];
          const cache = new Map<string, ModelEntry>();
          const flights = new Map<string, ModelFlight>();

          const valuesOf = (gen: number, count: number) =>
            Array.from({ length: count }, (_, i) => `${gen}:${i}`);

          const workFor =
            (key: string, outcome: Outcome, count: number, sync: boolean) =>
            (signal: AbortSignal) =>
              new Observable<string>((subscriber: Subscriber<string>) => {
                const gen = realGens.length;
                const real: RealGeneration = { key, aborted: false, settle: undefined };
                realGens.push(real);
                signal.addEventListener('abort', () => {
                  real.aborted = true;
                });
                const settle = () => {
                  real.settle = undefined;
                  for (const value of valuesOf(gen, count)) subscriber.next(value);
                  if (outcome === 'fail') subscriber.error(new Error(`fail ${gen}`));
                  else subscriber.complete();
                };
                if (sync) settle();
                else real.settle = settle;
                return () => {
                  real.settle = undefined;
                };
              });

          const modelSettle = (flight: ModelFlight) => {
            flights.delete(flight.key);
            const end: End = flight.outcome === 'fail' ? 'failed' : 'completed';
            for (const index of flight.subscribers) {
              const run = modelRuns[index];
              if (run === undefined) throw new Error(`no model run ${index}`);
              run.values = [...flight.values];
              run.end = end;
            }
            flight.subscribers = [];
            if (flight.outcome === 'succeed' && flight.ttl > 0 && !flight.stale) {
              cache.set(flight.key, { values: flight.values, expiresAt: now + flight.ttl });
            }
          };

          const validEntry = (key: string) => {
            const entry = cache.get(key);
            return entry !== undefined && entry.expiresAt > now ? entry : undefined;
          };

          const perform = async (action: Action) => {
            switch (action.kind) {
              case 'run': {
                // Model.
                const index = modelRuns.length;
                const modelRun: RunView = { key: action.key, values: [], end: 'open' };
                modelRuns.push(modelRun);
                const entry = validEntry(action.key);
                const inFlight = flights.get(action.key);
                if (entry !== undefined) {
                  modelRun.values = [...entry.values];
                  modelRun.end = 'completed';
                } else if (inFlight !== undefined) {
                  inFlight.subscribers.push(index);
                } else {
                  const gen = modelGenKeys.push(action.key) - 1;
                  modelAborted.push(false);
                  const flight: ModelFlight = {
                    gen,
                    key: action.key,
                    values: valuesOf(gen, action.count),
                    outcome: action.outcome,
                    ttl: action.ttl ?? engineTtl,
                    stale: false,
                    subscribers: [index],
                  };
                  flights.set(action.key, flight);
                  if (action.sync) modelSettle(flight);
                }

                // Real.
                const realRun: RunView = { key: action.key, values: [], end: 'open' };
                realRuns.push(realRun);
                const options = {
                  ...(action.ttl === undefined ? {} : { ttl: action.ttl }),
                  ...(action.slot ? {} : { slot: false }),
                };
                const source = engine.run(
                  action.key,
                  workFor(action.key, action.outcome, action.count, action.sync),
                  options,
                );
                const observable = action.piped ? source.pipe(map((v) => v)) : source;
                subscriptions.push(
                  observable.subscribe({
                    next: (value) => realRun.values.push(value),
                    error: () => {
                      realRun.end = 'failed';
                    },
                    complete: () => {
                      realRun.end = 'completed';
                    },
                  }),
                );
                return;
              }
              case 'settle': {
                const flight = flights.get(action.key);
                if (flight === undefined) return;
                modelSettle(flight);
                const real = realGens[flight.gen];
                if (real?.settle === undefined) {
                  throw new Error(`generation ${flight.gen} of ${action.key} is not pending`);
                }
                real.settle();
                return;
              }
              case 'advance':
                now += action.ms;
                return;
              case 'toExpiry': {
                const entry = cache.get(action.key);
                if (entry === undefined) return;
                const target = entry.expiresAt + action.delta;
                if (target > now) now = target;
                return;
              }
              case 'unsubscribe': {
                const flight = flights.get(action.key);
                if (flight === undefined) return;
                const index = flight.subscribers.shift();
                if (index === undefined) return;
                const modelRun = modelRuns[index];
                const realRun = realRuns[index];
                if (modelRun === undefined || realRun === undefined) throw new Error('no run');
                modelRun.end = 'unsubscribed';
                if (flight.subscribers.length === 0) {
                  // The last subscriber left: the execution is aborted, nothing cached.
                  flights.delete(action.key);
                  modelAborted[flight.gen] = true;
                }
                if (realRun.end === 'open') realRun.end = 'unsubscribed';
                subscriptions[index]?.unsubscribe();
                return;
              }
              case 'invalidate': {
                cache.delete(action.key);
                const flight = flights.get(action.key);
                if (flight !== undefined) flight.stale = true;
                await engine.invalidate(action.key);
                return;
              }
            }
          };

          for (const [step, action] of actions.entries()) {
            await perform(action);
            await settleTurn();
            const where = `step ${step} (${JSON.stringify(action)}), now=${now}`;
            // Work was called exactly for the model's generations, in the same order.
            expect(
              realGens.map((g) => g.key),
              where,
            ).toEqual(modelGenKeys);
            // Every run saw what the model says, and ended the same way.
            expect(realRuns, where).toEqual(modelRuns);
            expect(
              realGens.map((g) => g.aborted),
              where,
            ).toEqual(modelAborted);
            expect(engine.inFlight, where).toBe(flights.size);
          }

          // Leave: nothing may stay in flight.
          for (const subscription of subscriptions) subscription.unsubscribe();
          await settleTurn();
          expect(engine.inFlight).toBe(0);
          expect(engine.executor.stats()).toMatchObject({ running: 0, queued: 0 });
          engine.dispose();
        },
      ),
      { numRuns: 1000 },
    );
  });
});
