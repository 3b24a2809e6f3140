import { createEngine, MemoryStore } from 'eed';
import fc from 'fast-check';
import { from, type SchedulerAction, type SchedulerLike, Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';

type Action =
  | { kind: 'load'; key: string }
  | { kind: 'run'; key: string }
  | { kind: 'invalidate'; key: string }
  | { kind: 'unsubscribe'; index: number };

/** Key `x` is always answered with an Error slot. */
const keyArb = fc.constantFrom('a', 'b', 'c', 'x');
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('load' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('run' as const), key: keyArb }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('unsubscribe' as const), index: fc.nat(20) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('invalidate' as const), key: keyArb }) },
);

/** The batching window as a task of the fast-check scheduler. */
function windowOf(s: fc.Scheduler): SchedulerLike {
  return {
    now: () => 0,
    schedule<T>(
      work: (this: SchedulerAction<T>, state?: T) => void,
      _delay?: number,
      state?: T,
    ): Subscription {
      let live = true;
      void s.schedule(Promise.resolve(), 'window').then(() => {
        if (live) work.call(undefined as unknown as SchedulerAction<T>, state);
      });
      return new Subscription(() => {
        live = false;
      });
    },
  };
}

interface Record {
  key: string;
  values: unknown[];
  end: 'open' | 'completed' | 'failed' | 'unsubscribed';
  subscription?: Subscription;
}

describe('engine.loader under arbitrary interleavings', () => {
  it('asks only for keys nobody has, delivers every subscriber its key, caches no failure, leaks nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(actionArb, { maxLength: 20 }),
        fc.integer({ min: 1, max: 3 }),
        async (s, actions, maxBatchSize) => {
          const store = new MemoryStore();
          const engine = createEngine({ cache: store });
          const problems: string[] = [];
          /** Keys of batches sent and not answered or aborted yet, and of runs' work. */
          const inFlight = new Map<string, number>();
          /**
           * Keys a subscriber left while they were open. A loader's key whose subscribers
           * all left is cancelled (cancellations are never cached), even while the batch
           * it was sent in goes on for other keys: a later load asks for it again.
           */
          const abandoned = new Set<string>();
          const enter = (key: string) => {
            if ((inFlight.get(key) ?? 0) > 0 && !abandoned.has(key)) {
              problems.push(`${key} asked for while in flight`);
            }
            if (store.getSync(key) !== undefined) problems.push(`${key} asked for while cached`);
            inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
          };
          const leave = (key: string) => inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
          const load = engine.loader(
            (keys: string[], signal: AbortSignal) => {
              if (new Set(keys).size !== keys.length) problems.push(`duplicate keys ${keys}`);
              for (const key of keys) enter(key);
              let left = false;
              const done = () => {
                if (left) return;
                left = true;
                for (const key of keys) leave(key);
              };
              signal.addEventListener('abort', done);
              return s.schedule(Promise.resolve(keys), 'batch').then((answered) => {
                done();
                return answered.map((key) => (key === 'x' ? new Error('no x') : `v${key}`));
              });
            },
            { maxBatchSize, scheduler: windowOf(s) },
          );
          const run = (key: string) =>
            engine.run(key, (signal) => {
              enter(key);
              // An abandoned run is aborted: its key is free to be asked for again, even
              // while this (signal-ignoring) work is still pending.
              let left = false;
              const done = () => {
                if (left) return;
                left = true;
                leave(key);
              };
              signal.addEventListener('abort', done);
              return from(
                s.schedule(Promise.resolve(key), 'run').then((k) => {
                  done();
                  if (k === 'x') throw new Error('no x');
                  return `v${k}`;
                }),
              );
            });
          const records: Record[] = [];
          const subscribe = (key: string, kind: 'load' | 'run') => {
            const record: Record = { key, values: [], end: 'open' };
            records.push(record);
            record.subscription = (kind === 'load' ? load(key) : run(key)).subscribe({
              next: (value) => record.values.push(value),
              error: () => {
                record.end = 'failed';
              },
              complete: () => {
                record.end = 'completed';
              },
            });
          };

          await s.waitFor(
            s.scheduleSequence(
              actions.map((action) => ({
                label: `${action.kind} ${'key' in action ? action.key : action.index}`,
                builder: async () => {
                  if (action.kind === 'load' || action.kind === 'run') {
                    subscribe(action.key, action.kind);
                  } else if (action.kind === 'invalidate') {
                    await engine.invalidate(action.key);
                  } else {
                    const record = records[action.index];
                    if (record?.end === 'open') {
                      record.end = 'unsubscribed';
                      abandoned.add(record.key);
                      record.subscription?.unsubscribe();
                    }
                  }
                },
              })),
            ).task,
          );
          await s.waitIdle();
          await new Promise((resolve) => setTimeout(resolve, 0));
          await s.waitIdle();

          expect(problems).toEqual([]);
          for (const record of records) {
            if (record.end === 'unsubscribed') continue;
            if (record.key === 'x') expect(record).toMatchObject({ end: 'failed', values: [] });
            else expect(record).toMatchObject({ end: 'completed', values: [`v${record.key}`] });
          }
          expect(store.getSync('x')).toBeUndefined();
          expect(engine.inFlight).toBe(0);
          // The loader's keys in flight were reservations of the store: none is left.
          expect(store.reserved).toBe(0);
          expect(store.size).toBe((await store.keys()).length);
          const m = engine.metrics();
          expect(m.requests).toBe(records.length);
          expect(m.cacheHits + m.cacheMisses + m.joins).toBe(m.requests);
          expect(m.redundantExecutions).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
