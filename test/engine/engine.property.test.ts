import { createEngine, createExecutor, MemoryStore } from 'eed';
import fc from 'fast-check';
import { Observable, type Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';

/** Whether `value` and everything reachable from it is frozen (primitives are). */
function deepFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(deepFrozen);
}

type Outcome = 'succeed' | 'fail' | 'hang';
type Action =
  | {
      kind: 'run';
      key: string;
      outcome: Outcome;
      count: number;
      priority: 'critical' | 'normal' | 'background';
    }
  | { kind: 'unsubscribe'; run: number }
  | { kind: 'invalidate'; key: string };

const keyArb = fc.constantFrom('a', 'b', 'c');
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('run' as const),
      key: keyArb,
      outcome: fc.constantFrom<Outcome>('succeed', 'succeed', 'fail', 'hang'),
      count: fc.integer({ min: 1, max: 3 }),
      priority: fc.constantFrom('critical' as const, 'normal' as const, 'background' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('unsubscribe' as const), run: fc.nat(30) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('invalidate' as const), key: keyArb }) },
);

interface RunRecord {
  key: string;
  values: string[];
  end: 'open' | 'completed' | 'failed' | 'unsubscribed';
  subscription?: Subscription;
}

interface Generation {
  key: string;
  emitted: string[];
  end: 'running' | 'completed' | 'failed' | 'aborted';
  invalidated: boolean;
}

describe('deduplication invariants (engine.run under arbitrary interleavings)', () => {
  it('one execution per generation, identical sequences, no cached failures, no leaks, zero redundancy', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(actionArb, { maxLength: 25 }),
        async (s, actions) => {
          const store = new MemoryStore();
          const engine = createEngine({
            executor: createExecutor({ concurrency: 2 }),
            cache: store,
          });
          const generations: Generation[] = [];
          const active = new Map<string, Generation>();
          const cachedGen = new Map<string, Generation>();
          const runs: RunRecord[] = [];
          const problems: string[] = [];

          const live = (key: string) =>
            runs.filter((r) => r.key === key && r.end === 'open').length;

          const workFor = (key: string, outcome: Outcome, count: number) => (signal: AbortSignal) =>
            new Observable<string>((subscriber) => {
              if (active.has(key)) problems.push(`work of ${key} called while in flight`);
              if (cachedGen.has(key)) problems.push(`work of ${key} called while validly cached`);
              const gen: Generation = { key, emitted: [], end: 'running', invalidated: false };
              const id = generations.push(gen) - 1;
              active.set(key, gen);
              signal.addEventListener('abort', () => {
                if (live(key) !== 0) problems.push(`${key} aborted with ${live(key)} subscribers`);
                gen.end = 'aborted';
                active.delete(key);
              });
              let stopped = false;
              (async () => {
                for (let i = 0; i < count; i++) {
                  await s.schedule(Promise.resolve(), `${key}#${id} value ${i}`);
                  if (stopped) return;
                  const value = `${id}:${i}`;
                  gen.emitted.push(value);
                  subscriber.next(value);
                }
                if (outcome === 'hang') return;
                await s.schedule(Promise.resolve(), `${key}#${id} ${outcome}`);
                if (stopped) return;
                active.delete(key);
                if (outcome === 'fail') {
                  gen.end = 'failed';
                  subscriber.error(new Error(`fail ${id}`));
                } else {
                  gen.end = 'completed';
                  if (!gen.invalidated) cachedGen.set(key, gen);
                  subscriber.complete();
                }
              })();
              return () => {
                stopped = true;
              };
            });

          const perform = (action: Action) => {
            if (action.kind === 'run') {
              const record: RunRecord = { key: action.key, values: [], end: 'open' };
              runs.push(record);
              record.subscription = engine
                .run(action.key, workFor(action.key, action.outcome, action.count), {
                  priority: action.priority,
                })
                .subscribe({
                  next: (v) => record.values.push(v),
                  error: () => {
                    record.end = 'failed';
                  },
                  complete: () => {
                    record.end = 'completed';
                  },
                });
            } else if (action.kind === 'unsubscribe') {
              const record = runs[action.run];
              if (record && record.end === 'open') {
                record.end = 'unsubscribed';
                record.subscription?.unsubscribe();
              }
            } else {
              cachedGen.delete(action.key);
              const gen = active.get(action.key);
              if (gen) gen.invalidated = true;
              void engine.invalidate(action.key);
            }
          };

          const driver = (async () => {
            for (const action of actions) {
              await s.schedule(Promise.resolve(), `action ${action.kind}`);
              perform(action);
            }
            await s.schedule(Promise.resolve(), 'leave');
            for (const record of runs) {
              if (record.end === 'open') {
                record.end = 'unsubscribed';
                record.subscription?.unsubscribe();
              }
            }
          })();
          await s.waitFor(driver);
          await s.waitIdle();
          await new Promise((resolve) => setTimeout(resolve, 0));

          expect(problems).toEqual([]);
          // Every subscriber of one generation saw that generation's sequence.
          for (const record of runs) {
            const ids = new Set(record.values.map((v) => v.split(':')[0]));
            expect(ids.size).toBeLessThanOrEqual(1);
            if (ids.size === 0) continue;
            const gen = generations[Number([...ids][0])]!;
            if (record.end === 'completed') expect(record.values).toEqual(gen.emitted);
            else expect(gen.emitted.slice(0, record.values.length)).toEqual(record.values);
          }
          // No failure or cancellation is ever cached.
          for (const key of await store.keys()) {
            const entry = store.getSync(key);
            if (!entry) continue;
            const gen = generations[Number(String(entry.values[0]).split(':')[0])]!;
            expect(gen.end).toBe('completed');
            expect(entry.values).toEqual(gen.emitted);
          }
          // Quiescence: nothing in flight, executor idle, no work left running.
          expect(engine.inFlight).toBe(0);
          expect(engine.executor.stats()).toMatchObject({ running: 0, queued: 0 });
          expect(active.size).toBe(0);
          const metrics = engine.metrics();
          expect(metrics.redundancyRate).toBe(0);
          // Snapshots are immutable (immer), all the way down.
          expect(deepFrozen(metrics)).toBe(true);
          // Every run here looks the cache up: each request is a hit, a join or a miss.
          expect(metrics.requests).toBe(metrics.cacheHits + metrics.cacheMisses + metrics.joins);
        },
      ),
      { numRuns: 300 },
    );
  });
});
