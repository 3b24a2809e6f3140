import { type CacheEntry, type CacheStore, MemoryStore } from 'eed';
import { cacheMap } from 'eed/operators';
import fc from 'fast-check';
import { from, lastValueFrom, Observable, Subject, type Subscription, toArray } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';

/**
 * cacheMap against a model (README "Keyed operators", cacheMap's TSDoc, DESIGN.md
 * "Sharing and caching"), under a fake wall clock (`Date` is faked; nothing else is):
 *
 * - each value is served from the cache when a valid entry is there, without calling
 *   `project`; an entry written at `t` with `ttl` is valid while `t + ttl > now` (so
 *   served at `t + ttl - 1`, expired at `t + ttl`); `ttl: 0` caches nothing;
 * - otherwise `project` runs, once per key in flight, shared by equal keys of every
 *   stream of the operator; its result is written with `ttl`;
 * - failures and cancellations are never cached (a failure errors the streams waiting
 *   on it; a stream unsubscribed leaves its executions, and one left by all is aborted);
 * - one output per input value, in input order with `ordered`, as they come without;
 * - every value handed out is deep-frozen;
 * - the same holds over an asynchronous store (the lookup happens inside the execution).
 */

/** Whether `value` and everything reachable from it is frozen (primitives are). */
function deepFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(deepFrozen);
}

/** A store with only the asynchronous `CacheStore` methods (no `getSync`, no `peekSync`). */
function asyncStore(inner: MemoryStore): CacheStore {
  return {
    get: async (key) => inner.get(key),
    set: async (key, entry) => inner.set(key, entry),
    delete: async (key) => inner.delete(key),
    clear: async () => inner.clear(),
    keys: async () => inner.keys(),
  };
}

type Outcome = 'succeed' | 'fail';

/** An input value; when its key misses, its work emits `count` values and then ends by `outcome`. */
interface Input {
  key: string;
  outcome: Outcome;
  count: number;
}

interface Value {
  gen: number;
  i: number;
  detail: { key: string; tags: string[] };
}

type Action =
  | { kind: 'push'; stream: number; input: Input }
  /** The execution of `key` in flight (if any) emits its values and ends. */
  | { kind: 'settle'; key: string }
  | { kind: 'advance'; ms: number }
  /** Moves the clock to the key's expiry in the model plus `delta`, if that is ahead. */
  | { kind: 'toExpiry'; key: string; delta: -1 | 0 | 1 }
  | { kind: 'unsubscribe'; stream: number }
  | { kind: 'end'; stream: number };

const STREAMS = 2;
const MAX_TTL = 12;
const KEYS = ['a', 'b'];
const keyArb = fc.constantFrom(...KEYS);
const streamArb = fc.nat(STREAMS - 1);
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('push' as const),
      stream: streamArb,
      input: fc.record({
        key: keyArb,
        outcome: fc.constantFrom<Outcome>('succeed', 'succeed', 'succeed', 'succeed', 'fail'),
        count: fc.integer({ min: 0, max: 2 }),
      }),
    }),
  },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('settle' as const), key: keyArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 2 * MAX_TTL })),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('toExpiry' as const),
      key: keyArb,
      delta: fc.constantFrom<-1 | 0 | 1>(-1, 0, 1),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('unsubscribe' as const), stream: streamArb }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('end' as const), stream: streamArb }) },
);

const ttlArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: MAX_TTL }) },
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.constant(Number.POSITIVE_INFINITY) },
);

type StreamState = 'open' | 'completed' | 'failed' | 'unsubscribed';

interface ModelStream {
  /** Each input's result once known (the values it outputs). */
  inputs: { key: string; result: Value[] | undefined }[];
  emitIndex: number;
  output: Value[];
  state: StreamState;
  ended: boolean;
}

interface ModelFlight {
  gen: number;
  key: string;
  input: Input;
  /** Inputs waiting on it, in subscription order. */
  subscribers: { stream: number; index: number }[];
}

interface RealGeneration {
  key: string;
  aborted: boolean;
  settled: boolean;
  settle: (() => void) | undefined;
}

/** Lets pending microtasks and the current macrotask turn finish (no timers involved). */
const settleTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const valuesOf = (gen: number, input: Input): Value[] =>
  Array.from({ length: input.count }, (_, i) => ({
    gen,
    i,
    detail: { key: input.key, tags: [`g${gen}`, `i${i}`] },
  }));

afterEach(() => {
  vi.useRealTimers();
});

describe('cacheMap: model of hits, shared misses, TTL expiry, failures and cancellations', () => {
  it('project runs iff no valid entry and nothing in flight; outputs, frozen values, aborts and cache contents match the model', async () => {
    await fc.assert(
      fc.asyncProperty(
        ttlArb,
        fc.boolean(),
        fc.constantFrom<'memory' | 'async'>('memory', 'async'),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(actionArb, { minLength: 1, maxLength: 50, size: 'medium' }),
        async (ttl, ordered, storeKind, start, actions) => {
          vi.useFakeTimers({ toFake: ['Date'], now: start });
          let now = start;
          const memory = new MemoryStore();
          const cache = storeKind === 'memory' ? memory : asyncStore(memory);

          // Real side.
          const realGens: RealGeneration[] = [];
          const project = (input: Input, signal: AbortSignal) =>
            new Observable<Value>((subscriber) => {
              const gen = realGens.length;
              const real: RealGeneration = {
                key: input.key,
                aborted: false,
                settled: false,
                settle: undefined,
              };
              realGens.push(real);
              signal.addEventListener('abort', () => {
                real.aborted = true;
              });
              real.settle = () => {
                real.settle = undefined;
                real.settled = true;
                // Fresh objects, not frozen: the operator must freeze what it hands out.
                for (const value of valuesOf(gen, input)) subscriber.next(value);
                if (input.outcome === 'fail') subscriber.error(new Error(`gen ${gen} failed`));
                else subscriber.complete();
              };
              return () => {
                real.settle = undefined;
              };
            });
          const operator = cacheMap((input: Input) => input.key, project, {
            cache,
            ttl,
            ordered,
            concurrency: 64,
          });
          // Model side.
          const entries = new Map<string, { values: Value[]; expiresAt: number }>();
          const flights = new Map<string, ModelFlight>();
          const modelGens: string[] = [];
          const modelAborted: boolean[] = [];
          const streams: ModelStream[] = [];

          // Streams, real and model: a slot whose stream ended gets a new one on its next push.
          const sources: Subject<Input>[] = [];
          const subscriptions: Subscription[] = [];
          const realStreams: { output: Value[]; state: StreamState }[] = [];
          const openStream = (): number => {
            const source = new Subject<Input>();
            const real = { output: [] as Value[], state: 'open' as StreamState };
            sources.push(source);
            realStreams.push(real);
            subscriptions.push(
              source.pipe(operator).subscribe({
                next: (value) => real.output.push(value),
                error: () => {
                  real.state = 'failed';
                },
                complete: () => {
                  real.state = 'completed';
                },
              }),
            );
            return (
              streams.push({ inputs: [], emitIndex: 0, output: [], state: 'open', ended: false }) -
              1
            );
          };
          const slots = Array.from({ length: STREAMS }, openStream);

          const validEntry = (key: string) => {
            const entry = entries.get(key);
            return entry !== undefined && entry.expiresAt > now ? entry : undefined;
          };

          /** Emits what is next in input order (`ordered`), and completes a finished stream. */
          const flush = (stream: ModelStream) => {
            if (stream.state !== 'open') return;
            if (ordered) {
              for (;;) {
                const next = stream.inputs[stream.emitIndex];
                if (next?.result === undefined) break;
                stream.output.push(...next.result);
                stream.emitIndex++;
              }
            }
            if (stream.ended && stream.inputs.every((input) => input.result !== undefined)) {
              stream.state = 'completed';
            }
          };

          /** A stream ended (failed or unsubscribed): it leaves every execution it waited on. */
          const leave = (n: number, state: StreamState) => {
            const stream = streams[n] as ModelStream;
            stream.state = state;
            for (const flight of [...flights.values()]) {
              flight.subscribers = flight.subscribers.filter((s) => s.stream !== n);
              if (flight.subscribers.length === 0) {
                // Left by all: aborted, and never cached.
                flights.delete(flight.key);
                modelAborted[flight.gen] = true;
              }
            }
          };

          const modelSettle = (flight: ModelFlight) => {
            flights.delete(flight.key);
            const values = valuesOf(flight.gen, flight.input);
            // The execution emits each value to every waiting input in turn; with `ordered`
            // only the head input streams live, the others' values are held until it ends.
            for (const value of values) {
              for (const { stream, index } of flight.subscribers) {
                const model = streams[stream] as ModelStream;
                if (!ordered || (index === model.emitIndex && flight.input.outcome === 'fail')) {
                  model.output.push(value);
                }
              }
            }
            if (flight.input.outcome === 'fail') {
              // Each stream waiting on it errors (held values are dropped) and leaves.
              for (const { stream } of flight.subscribers) {
                if ((streams[stream] as ModelStream).state === 'open') leave(stream, 'failed');
              }
              return;
            }
            if (ttl > 0) entries.set(flight.key, { values, expiresAt: now + ttl });
            for (const { stream, index } of flight.subscribers) {
              const input = (streams[stream] as ModelStream).inputs[index];
              if (input !== undefined) input.result = values;
            }
            for (const stream of streams) flush(stream);
          };

          const perform = (action: Action) => {
            switch (action.kind) {
              case 'push': {
                let id = slots[action.stream] as number;
                if ((streams[id] as ModelStream).state !== 'open' || streams[id]?.ended) {
                  id = openStream();
                  slots[action.stream] = id;
                }
                const stream = streams[id] as ModelStream;
                const { input } = action;
                const index = stream.inputs.length;
                const entry = validEntry(input.key);
                stream.inputs.push({ key: input.key, result: entry?.values });
                if (entry !== undefined) {
                  if (!ordered) stream.output.push(...entry.values);
                  flush(stream);
                } else {
                  let flight = flights.get(input.key);
                  if (flight === undefined) {
                    flight = { gen: modelGens.length, key: input.key, input, subscribers: [] };
                    modelGens.push(input.key);
                    modelAborted.push(false);
                    flights.set(input.key, flight);
                  }
                  flight.subscribers.push({ stream: id, index });
                }
                sources[id]?.next(input);
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
                vi.setSystemTime(now);
                return;
              case 'toExpiry': {
                const entry = entries.get(action.key);
                if (entry === undefined || !Number.isFinite(entry.expiresAt)) return;
                const target = entry.expiresAt + action.delta;
                if (target > now) {
                  now = target;
                  vi.setSystemTime(now);
                }
                return;
              }
              case 'unsubscribe': {
                const id = slots[action.stream] as number;
                const stream = streams[id] as ModelStream;
                if (stream.state !== 'open') return;
                leave(id, 'unsubscribed');
                (realStreams[id] as { state: StreamState }).state = 'unsubscribed';
                subscriptions[id]?.unsubscribe();
                return;
              }
              case 'end': {
                const id = slots[action.stream] as number;
                const stream = streams[id] as ModelStream;
                if (stream.state !== 'open' || stream.ended) return;
                stream.ended = true;
                flush(stream);
                sources[id]?.complete();
                return;
              }
            }
          };

          try {
            for (const [step, action] of actions.entries()) {
              perform(action);
              await settleTurn();
              const where = `step ${step} ${JSON.stringify(action)}, now=${now}`;
              // project ran exactly for the model's misses, in order.
              expect(
                realGens.map((g) => g.key),
                where,
              ).toEqual(modelGens);
              // Exactly the executions left by all were aborted.
              expect(
                realGens.map((g) => g.aborted),
                where,
              ).toEqual(modelAborted);
              for (let n = 0; n < streams.length; n++) {
                const real = realStreams[n] as { output: Value[]; state: StreamState };
                const model = streams[n] as ModelStream;
                expect(real.state, `${where}: stream ${n}`).toBe(model.state);
                expect(real.output, `${where}: stream ${n}`).toEqual(model.output);
                expect(real.output.every(deepFrozen), `${where}: frozen`).toBe(true);
              }
              // The store holds the model's valid entries, and nothing failed or cancelled.
              for (const key of KEYS) {
                const stored = await memory.get(key);
                const expected = validEntry(key);
                if (expected === undefined) {
                  if (!entries.has(key)) expect(stored, `${where}: entry ${key}`).toBeUndefined();
                } else {
                  expect(stored?.values, `${where}: entry ${key}`).toEqual(expected.values);
                  expect(stored?.expiresAt, `${where}: entry ${key}`).toBe(expected.expiresAt);
                }
              }
            }
            // Leave: every execution still waiting is aborted, none left running.
            for (const subscription of subscriptions) subscription.unsubscribe();
            await settleTurn();
            expect(realGens.every((g) => g.settled || g.aborted)).toBe(true);
          } finally {
            vi.useRealTimers();
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('cacheMap: a failing store degrades to a miss', () => {
  it('whatever get/set fail, every input gets its own result, the output never errors, and project runs at most once per input', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 20 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 16 }),
        fc.boolean(),
        fc.boolean(),
        async (keys, failures, synchronous, throwsSync) => {
          // Each store call fails or not, in the order given (cycling).
          let call = 0;
          const fails = () => failures[call++ % failures.length] === true;
          const inner = new MemoryStore();
          const broken = (method: string) => new Error(`store ${method} down`);
          const base: CacheStore = {
            get: (key) => (fails() ? Promise.reject(broken('get')) : inner.get(key)),
            set: (key, entry: CacheEntry) =>
              fails() ? Promise.reject(broken('set')) : inner.set(key, entry),
            delete: (key) => inner.delete(key),
            clear: () => inner.clear(),
            keys: () => inner.keys(),
          };
          const store: CacheStore = synchronous
            ? Object.assign(base, {
                getSync: (key: string) => {
                  if (fails()) {
                    if (throwsSync) throw broken('getSync');
                    return undefined;
                  }
                  return inner.getSync(key);
                },
              })
            : base;
          const calls: string[] = [];
          const out = await lastValueFrom(
            from(keys).pipe(
              cacheMap(
                (key) => key,
                async (key: string) => {
                  calls.push(key);
                  await Promise.resolve();
                  return { key, n: 1 };
                },
                { cache: store, ordered: true },
              ),
              toArray(),
            ),
          );
          expect(out).toEqual(keys.map((key) => ({ key, n: 1 })));
          expect(out.every(deepFrozen)).toBe(true);
          expect(calls.length).toBeLessThanOrEqual(keys.length);
          // At least one call per distinct key; never more than one per input.
          expect(new Set(calls)).toEqual(new Set(keys));
        },
      ),
      { numRuns: 200 },
    );
  });
});
