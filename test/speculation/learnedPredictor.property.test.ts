import {
  createEngine,
  type Engine,
  type ExecutionEvent,
  MarkovPredictor,
  markovPredictor,
  type Predict,
  type PrefetchCandidate,
  type Work,
} from 'eed';
import { prefetch } from 'eed/operators';
import fc from 'fast-check';
import { concat, from, of, Subject, type Subscription, throwError } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';

/*
 * Property tests of the learned predictor `markovPredictor` (src/speculation/
 * learnedPredictor.ts) and of the `prefetch` operator (operators/prefetch.ts) it feeds,
 * against their TSDoc and the README ("Speculation: prefetch and markovPredictor"):
 *
 * markovPredictor({ keyOf, workFor, ...MarkovPredictorOptions })
 * - observes each value's key (learning the transition from the previous key), then
 *   predicts the most probable next keys with a MarkovPredictor, for the `depth` and
 *   `minProbability` the operator passes; each candidate's work is `workFor(key)`;
 * - `model` is the underlying MarkovPredictor.
 *
 * prefetch(predict, { engine, depth = 1, minProbability = 0 })
 * - values pass through untouched, in order, and so do completion and errors;
 * - for each value, `predict(value, { depth, minProbability })` is asked once and every
 *   candidate at least `minProbability` likely (no probability: 1) goes to
 *   `engine.prefetch(key, work, { ttl })`, the others are ignored; nothing caps the count;
 * - `engine.prefetch` starts a key only if it is neither cached nor in flight, so over a
 *   real engine a prefetch is issued (and its work called) exactly when the key is not
 *   validly cached and not in flight, and a later `run` joins it or hits its entry.
 */

// ---------------------------------------------------------------------------------------
// markovPredictor

describe('markovPredictor (property)', () => {
  it('observes each key, then returns the MarkovPredictor prediction with work = workFor(key)', () => {
    const stepArb = fc.record({
      key: fc.constantFrom('home', 'list', 'item', 'cart', '__proto__'),
      depth: fc.integer({ min: 1, max: 3 }),
      minProbability: fc.constantFrom(0, 0.2, 1 / 3, 0.5, 1),
    });
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 60 }),
        fc.record(
          {
            maxKeys: fc.integer({ min: 1, max: 6 }),
            maxTransitionsPerKey: fc.integer({ min: 1, max: 4 }),
          },
          { requiredKeys: [] },
        ),
        (steps, bounds) => {
          const keyOf = vi.fn((value: { route: string }) => value.route);
          const made: { key: string; work: Work<unknown> }[] = [];
          const workFor = vi.fn((key: string) => {
            const work: Work<unknown> = async () => key;
            made.push({ key, work });
            return work;
          });
          const predict = markovPredictor({ keyOf, workFor, ...bounds });
          const reference = new MarkovPredictor(bounds);
          expect(predict.model).toBeInstanceOf(MarkovPredictor);
          const model = predict.model;
          for (const [i, step] of steps.entries()) {
            const value = { route: step.key };
            const context = { depth: step.depth, minProbability: step.minProbability };
            made.length = 0;
            const candidates = [...predict(value, context)];
            expect(keyOf).toHaveBeenCalledTimes(i + 1);
            expect(keyOf).toHaveBeenLastCalledWith(value);
            reference.observe(step.key);
            const expected = reference.predict(step.key, context);
            expect(candidates.map((c) => ({ key: c.key, probability: c.probability }))).toEqual(
              expected,
            );
            // Each candidate carries the work workFor made for its key, in this call.
            expect(made.map((m) => m.key)).toEqual(expected.map((p) => p.key));
            expect(candidates.map((c) => c.work)).toEqual(made.map((m) => m.work));
            for (const c of candidates) {
              expect(c.probability).toBeGreaterThanOrEqual(step.minProbability);
              expect(c.key).not.toBe(step.key);
            }
            // `model` is the live model that learned it (same state as the reference).
            expect(predict.model).toBe(model);
            expect(model.size).toBe(reference.size);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------
// prefetch over a stub engine: pass-through and what is handed to engine.prefetch

interface CandidateSpec {
  readonly key: string;
  readonly probability: number | undefined;
  readonly ttl: number | undefined;
}

const candidateSpecArb: fc.Arbitrary<CandidateSpec> = fc.record({
  key: fc.constantFrom('a', 'b', 'c', 'd', '__proto__'),
  probability: fc.option(
    fc.oneof(fc.constantFrom(0, 0.25, 0.5, 0.75, 1), fc.double({ min: 0, max: 1, noNaN: true })),
    { nil: undefined },
  ),
  ttl: fc.option(fc.constantFrom(0, 5, 20, Number.POSITIVE_INFINITY), { nil: undefined }),
});

const optionsArb = fc.record(
  {
    depth: fc.integer({ min: 1, max: 5 }),
    minProbability: fc.oneof(
      fc.constantFrom(0, 0.25, 0.5, 0.75, 1),
      fc.double({ min: 0, max: 1, noNaN: true }),
    ),
  },
  { requiredKeys: [] },
);

const toCandidate = (spec: CandidateSpec, work: Work<unknown>): PrefetchCandidate => {
  const candidate: { key: string; work: Work<unknown>; probability?: number; ttl?: number } = {
    key: spec.key,
    work,
  };
  if (spec.probability !== undefined) candidate.probability = spec.probability;
  if (spec.ttl !== undefined) candidate.ttl = spec.ttl;
  return candidate;
};

describe('prefetch operator (property, stub engine)', () => {
  it('mirrors its source (same values, same order, same end) and prefetches exactly the likely enough candidates', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            value: fc.anything(),
            candidates: fc.array(candidateSpecArb, { maxLength: 6 }),
            generator: fc.boolean(),
          }),
          { maxLength: 25 },
        ),
        optionsArb,
        fc.constantFrom('complete', 'error', 'open'),
        (items, options, end) => {
          const calls: { key: string; work: Work<unknown>; options: unknown }[] = [];
          const engine = {
            prefetch: (key: string, work: Work<unknown>, opts: unknown) => {
              calls.push({ key, work, options: opts });
            },
          } as unknown as Engine;
          const works = items.map((item) => item.candidates.map(() => async () => 0));
          const contexts: unknown[] = [];
          const predicted: unknown[] = [];
          const predict: Predict<unknown> = (value, context) => {
            const index = predicted.length;
            predicted.push(value);
            contexts.push({ ...context });
            const list = items[index]!.candidates.map((spec, j) =>
              toCandidate(spec, works[index]![j]!),
            );
            // An Iterable, not necessarily an array.
            return items[index]!.generator ? list.values() : list;
          };
          const source = new Subject<unknown>();
          const out: unknown[] = [];
          let completed = false;
          let error: unknown;
          const boom = new Error('source failed');
          const subscription = source.pipe(prefetch(predict, { engine, ...options })).subscribe({
            next: (v) => out.push(v),
            complete: () => {
              completed = true;
            },
            error: (e: unknown) => {
              error = e;
            },
          });
          for (const item of items) source.next(item.value);
          if (end === 'complete') source.complete();
          if (end === 'error') source.error(boom);

          // Pass-through: the very same values (Object.is), in order, then the same end.
          expect(out.length).toBe(items.length);
          for (const [i, item] of items.entries()) expect(Object.is(out[i], item.value)).toBe(true);
          expect(completed).toBe(end === 'complete');
          expect(error).toBe(end === 'error' ? boom : undefined);
          // predict: once per value, with the value and { depth, minProbability } (defaults 1, 0).
          expect(predicted.length).toBe(items.length);
          for (const [i, item] of items.entries()) {
            expect(Object.is(predicted[i], item.value)).toBe(true);
          }
          const depth = options.depth ?? 1;
          const minProbability = options.minProbability ?? 0;
          for (const context of contexts) expect(context).toEqual({ depth, minProbability });
          // engine.prefetch: every candidate with (probability ?? 1) >= minProbability, in
          // order, duplicates included (the engine dedupes), with its work and ttl.
          const expected = items.flatMap((item, i) =>
            item.candidates.flatMap((spec, j) =>
              (spec.probability ?? 1) >= minProbability
                ? [{ key: spec.key, work: works[i]![j]!, options: { ttl: spec.ttl } }]
                : [],
            ),
          );
          expect(calls.length).toBe(expected.length);
          for (const [i, call] of calls.entries()) {
            expect(call.key).toBe(expected[i]!.key);
            expect(call.work).toBe(expected[i]!.work);
            expect(call.options).toEqual(expected[i]!.options);
          }
          subscription.unsubscribe();
          expect(source.observed).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('passes values through when the source is a synchronous array, errors included', () => {
    fc.assert(
      fc.property(fc.array(fc.anything(), { maxLength: 20 }), fc.boolean(), (values, fails) => {
        const engine = { prefetch: vi.fn() } as unknown as Engine;
        const boom = new Error('late');
        const source = fails
          ? concat(
              from(values),
              throwError(() => boom),
            )
          : from(values);
        const out: unknown[] = [];
        let error: unknown;
        let completed = false;
        source.pipe(prefetch(() => [{ key: 'k', work: () => of(1) }], { engine })).subscribe({
          next: (v) => out.push(v),
          error: (e: unknown) => {
            error = e;
          },
          complete: () => {
            completed = true;
          },
        });
        expect(out).toEqual(values);
        for (const [i, v] of values.entries()) expect(Object.is(out[i], v)).toBe(true);
        expect(error).toBe(fails ? boom : undefined);
        expect(completed).toBe(!fails);
        expect(engine.prefetch).toHaveBeenCalledTimes(values.length);
      }),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------
// prefetch over a real engine: model-based (fc.commands)

type KeyState =
  | { readonly status: 'none' }
  | { readonly status: 'flight'; readonly ttl: number; stale: boolean }
  | { readonly status: 'cached'; readonly expiresAt: number };

const KEYS = ['a', 'b', 'c', 'd'] as const;

class EngineModel {
  wall = 0;
  readonly keys = new Map<string, KeyState>();
  readonly workCalls = new Map<string, number>();
  issued = 0;
  values = 0;

  constructor(
    readonly engineTtl: number,
    readonly minProbability: number,
  ) {}

  state(key: string): KeyState {
    const state = this.keys.get(key) ?? { status: 'none' };
    // An entry is valid while wall < expiresAt.
    if (state.status === 'cached' && !(this.wall < state.expiresAt)) return { status: 'none' };
    return state;
  }

  start(key: string, ttl: number): void {
    this.keys.set(key, { status: 'flight', ttl, stale: false });
    this.workCalls.set(key, (this.workCalls.get(key) ?? 0) + 1);
  }

  flights(): string[] {
    return KEYS.filter((key) => this.state(key).status === 'flight');
  }
}

interface EngineReal {
  readonly engine: Engine;
  readonly source: Subject<number>;
  readonly out: number[];
  /** Set before each value: what predict answers for it. */
  candidates: readonly CandidateSpec[];
  readonly issued: string[];
  readonly workCalls: Map<string, number>;
  readonly pending: Map<string, Subject<string>>;
  readonly runs: Subscription[];
  readonly work: (key: string) => Work<string>;
  setWall(ms: number): void;
}

type EngineCommand = fc.AsyncCommand<EngineModel, EngineReal>;

function expectSameState(model: EngineModel, real: EngineReal): void {
  expect(real.issued.length).toBe(model.issued);
  expect(real.engine.inFlight).toBe(model.flights().length);
  for (const key of KEYS) {
    expect(real.workCalls.get(key) ?? 0, `work calls of ${key}`).toBe(
      model.workCalls.get(key) ?? 0,
    );
  }
  expect(real.out).toEqual(Array.from({ length: model.values }, (_, i) => i));
  expect(real.engine.metrics().prefetch.issued).toBe(model.issued);
}

class EmitCommand implements EngineCommand {
  constructor(readonly candidates: readonly CandidateSpec[]) {}
  check = () => true;
  async run(model: EngineModel, real: EngineReal): Promise<void> {
    const expected: string[] = [];
    for (const spec of this.candidates) {
      if ((spec.probability ?? 1) < model.minProbability) continue;
      if (model.state(spec.key).status !== 'none') continue; // cached or in flight
      expected.push(spec.key);
      model.issued++;
      model.start(spec.key, spec.ttl ?? model.engineTtl);
    }
    const before = real.issued.length;
    real.candidates = this.candidates;
    real.source.next(model.values++);
    expect(real.issued.slice(before)).toEqual(expected);
    expectSameState(model, real);
  }
  toString = () =>
    `emit(${this.candidates.map((c) => `${c.key} p=${c.probability} ttl=${c.ttl}`).join(', ')})`;
}

class SettleCommand implements EngineCommand {
  constructor(
    readonly index: number,
    readonly ok: boolean,
  ) {}
  check = (model: Readonly<EngineModel>) => (model as EngineModel).flights().length > 0;
  async run(model: EngineModel, real: EngineReal): Promise<void> {
    const flights = model.flights();
    const key = flights[this.index % flights.length]!;
    const state = model.state(key) as Extract<KeyState, { status: 'flight' }>;
    if (this.ok && state.ttl > 0 && !state.stale) {
      model.keys.set(key, { status: 'cached', expiresAt: model.wall + state.ttl });
    } else {
      model.keys.set(key, { status: 'none' });
    }
    const subject = real.pending.get(key)!;
    real.pending.delete(key);
    if (this.ok) {
      subject.next(`value of ${key}`);
      subject.complete();
    } else subject.error(new Error(`${key} failed`));
    expectSameState(model, real);
  }
  toString = () => `settle(#${this.index}, ${this.ok ? 'ok' : 'fail'})`;
}

class AdvanceCommand implements EngineCommand {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(model: EngineModel, real: EngineReal): Promise<void> {
    model.wall += this.ms;
    real.setWall(model.wall);
    expectSameState(model, real);
  }
  toString = () => `advance(${this.ms})`;
}

class RunCommand implements EngineCommand {
  constructor(readonly key: string) {}
  check = () => true;
  async run(model: EngineModel, real: EngineReal): Promise<void> {
    // A real caller: hits the entry, joins the flight, or starts the work itself.
    if (model.state(this.key).status === 'none') model.start(this.key, model.engineTtl);
    real.runs.push(real.engine.run(this.key, real.work(this.key)).subscribe({ error: () => {} }));
    expectSameState(model, real);
  }
  toString = () => `run(${this.key})`;
}

class InvalidateCommand implements EngineCommand {
  constructor(readonly key: string) {}
  check = () => true;
  async run(model: EngineModel, real: EngineReal): Promise<void> {
    const state = model.state(this.key);
    if (state.status === 'flight')
      state.stale = true; // its work began: not cached
    else model.keys.set(this.key, { status: 'none' });
    await real.engine.invalidate(this.key);
    expectSameState(model, real);
  }
  toString = () => `invalidate(${this.key})`;
}

describe('prefetch operator over a real engine (model-based)', () => {
  it('issues a prefetch exactly for likely enough keys neither validly cached nor in flight', async () => {
    const keyArb = fc.constantFrom(...KEYS);
    const specArb: fc.Arbitrary<CandidateSpec> = fc.record({
      key: keyArb,
      probability: fc.option(fc.constantFrom(0, 0.3, 0.5, 0.8, 1), { nil: undefined }),
      ttl: fc.option(fc.constantFrom(0, 5, 20, Number.POSITIVE_INFINITY), { nil: undefined }),
    });
    const commandsArb = fc.commands(
      [
        fc.array(specArb, { maxLength: 5 }).map((c) => new EmitCommand(c)),
        fc.array(specArb, { maxLength: 5 }).map((c) => new EmitCommand(c)),
        fc.tuple(fc.nat(10), fc.boolean()).map(([i, ok]) => new SettleCommand(i, ok)),
        fc.tuple(fc.nat(10), fc.constant(true)).map(([i, ok]) => new SettleCommand(i, ok)),
        fc.integer({ min: 1, max: 12 }).map((ms) => new AdvanceCommand(ms)),
        keyArb.map((key) => new RunCommand(key)),
        keyArb.map((key) => new InvalidateCommand(key)),
      ],
      { maxCommands: 40, size: 'max' },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(Number.POSITIVE_INFINITY, 15),
        fc.constantFrom(0, 0.3, 0.5, 1),
        fc.integer({ min: 1, max: 5 }),
        commandsArb,
        async (engineTtl, minProbability, depth, commands) => {
          let wall = 0;
          // Slots for everything: every execution starts (and calls its work) at once.
          const engine = createEngine({
            executor: { concurrency: 64, backgroundConcurrency: 64 },
            ttl: engineTtl,
            wallClock: { now: () => wall },
          });
          const issued: string[] = [];
          const events = engine.events$.subscribe((e: ExecutionEvent) => {
            if (e.type === 'prefetch-issued') issued.push(e.key);
          });
          const workCalls = new Map<string, number>();
          const pending = new Map<string, Subject<string>>();
          const work =
            (key: string): Work<string> =>
            () => {
              workCalls.set(key, (workCalls.get(key) ?? 0) + 1);
              expect(pending.has(key), `two executions of ${key} at once`).toBe(false);
              const subject = new Subject<string>();
              pending.set(key, subject);
              return subject;
            };
          const source = new Subject<number>();
          const out: number[] = [];
          const real: EngineReal = {
            engine,
            source,
            out,
            candidates: [],
            issued,
            workCalls,
            pending,
            runs: [],
            work,
            setWall: (ms) => {
              wall = ms;
            },
          };
          const contexts: unknown[] = [];
          const predict: Predict<number> = (_value, context) => {
            contexts.push({ ...context });
            return real.candidates.map((spec) => toCandidate(spec, work(spec.key)));
          };
          const subscription = source
            .pipe(prefetch(predict, { engine, minProbability, depth }))
            .subscribe((v) => out.push(v));
          try {
            await fc.asyncModelRun(
              () => ({ model: new EngineModel(engineTtl, minProbability), real }),
              commands,
            );
            for (const context of contexts) expect(context).toEqual({ depth, minProbability });
          } finally {
            subscription.unsubscribe();
            for (const run of real.runs) run.unsubscribe();
            for (const subject of pending.values()) subject.error(new Error('test over'));
            events.unsubscribe();
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('markovPredictor + prefetch: each key predicted likely enough is prefetched once, then served from cache', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('home', 'list', 'item', 'cart', 'help'), { maxLength: 40 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom(0, 0.3, 0.5, 1),
        async (routes, depth, minProbability) => {
          const engine = createEngine();
          const issued: string[] = [];
          const events = engine.events$.subscribe((e) => {
            if (e.type === 'prefetch-issued') issued.push(e.key);
          });
          const loads: string[] = [];
          // Synchronous work: a prefetch lands in the cache at once.
          const workFor = (route: string) => () => {
            loads.push(route);
            return of(`page ${route}`);
          };
          const predict = markovPredictor({ keyOf: (r: string) => r, workFor });
          const out: string[] = [];
          from(routes)
            .pipe(prefetch(predict, { engine, depth, minProbability }))
            .subscribe((r) => out.push(r));
          expect(out).toEqual(routes);
          // Independent expectation: replay the same routes through a MarkovPredictor.
          const reference = new MarkovPredictor();
          const expected: string[] = [];
          for (const route of routes) {
            reference.observe(route);
            for (const p of reference.predict(route, { depth, minProbability })) {
              if (!expected.includes(p.key)) expected.push(p.key);
            }
          }
          expect(issued).toEqual(expected);
          expect(loads).toEqual(expected);
          // A later run of a prefetched key is served without running the work again.
          for (const key of expected) {
            const work = vi.fn(() => of('again'));
            let got: unknown;
            engine.run(key, work).subscribe((v) => {
              got = v;
            });
            expect(got).toBe(`page ${key}`);
            expect(work).not.toHaveBeenCalled();
          }
          expect(engine.metrics().prefetch).toMatchObject({
            issued: expected.length,
            used: expected.length,
            wasted: 0,
          });
          events.unsubscribe();
        },
      ),
      { numRuns: 150 },
    );
  });
});
