import { createEngine, MemoryStore } from 'eed';
import fc from 'fast-check';
import { lastValueFrom, Observable, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';

/** Whether `value` and everything reachable from it is frozen (primitives are). */
function deepFrozen(value: unknown, seen = new Set<object>()): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (seen.has(value)) return true;
  seen.add(value);
  if (!Object.isFrozen(value)) return false;
  return Object.values(value).every((inner) => deepFrozen(inner, seen));
}

/** Everything a plain observer gets, delivered at once or later. */
function collect<T>(subscribe: (observer: { next: (v: T) => void; complete: () => void }) => void) {
  return new Promise<T[]>((resolve) => {
    const values: T[] = [];
    subscribe({ next: (v) => values.push(v), complete: () => resolve(values) });
  });
}

describe('every value handed out is deep-frozen (DESIGN: sharing and caching)', () => {
  it('through a miss, hits served at once (of entries frozen or not), a Subscriber, and a loader', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue(), { minLength: 1, maxLength: 3 }), async (values) => {
        // Entries written straight into the store are not frozen: a hit must freeze them.
        const store = new MemoryStore();
        const written = (stored: unknown[]) => ({
          values: stored,
          storedAt: Date.now(),
          expiresAt: Number.POSITIVE_INFINITY,
          cost: 1,
          size: 0,
        });
        store.setSync('primed', written(structuredClone(values)));
        store.setSync('primed-key', written([structuredClone(values[0])]));
        const engine = createEngine({ cache: store });
        // Fresh copies each call: the engine must freeze what the work hands it.
        const work = () => structuredClone(values);
        const viaRun = () => collect<unknown>((o) => engine.run('k', work).subscribe(o));
        const missed = await viaRun();
        const servedAtOnce = await viaRun();
        const viaSubscriber = await lastValueFrom(engine.run('k', work).pipe(toArray()));
        const primedHit = await collect<unknown>((o) => engine.run('primed', work).subscribe(o));

        const load = engine.loader(async (keys: string[]) =>
          keys.map(() => structuredClone(values[0])),
        );
        const viaLoad = () => collect<unknown>((o) => load('l').subscribe(o));
        const loaded = await viaLoad();
        const loadHit = await viaLoad();
        const primedLoadHit = await collect<unknown>((o) => load('primed-key').subscribe(o));

        for (const got of [missed, servedAtOnce, viaSubscriber, primedHit]) {
          expect(got).toEqual(values);
          expect(got.every((v) => deepFrozen(v))).toBe(true);
        }
        for (const got of [loaded, loadHit, primedLoadHit]) {
          expect(got).toEqual([values[0]]);
          expect(deepFrozen(got[0])).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
  it('to joiners of an execution in flight, before and after its values arrive', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue(), { minLength: 1, maxLength: 3 }), async (values) => {
        const engine = createEngine();
        // The work emits one value at a time, with a macrotask between values.
        const work = () =>
          new Observable<unknown>((subscriber) => {
            const copies = structuredClone(values);
            let i = 0;
            const emit = () => {
              if (i === copies.length) {
                subscriber.complete();
                return;
              }
              subscriber.next(copies[i++]);
              timer = setTimeout(emit, 0);
            };
            let timer = setTimeout(emit, 0);
            return () => clearTimeout(timer);
          });
        const first = collect<unknown>((o) => engine.run('k', work).subscribe(o));
        const joinedBefore = collect<unknown>((o) => engine.run('k', work).subscribe(o));
        await new Promise((resolve) => setTimeout(resolve, 0));
        // Joins after the first value: the values so far are replayed, then the rest.
        const joinedDuring = collect<unknown>((o) => engine.run('k', work).subscribe(o));
        for (const got of await Promise.all([first, joinedBefore, joinedDuring])) {
          expect(got).toEqual(values);
          expect(got.every((v) => deepFrozen(v))).toBe(true);
        }
        expect(engine.metrics()).toMatchObject({ executions: 1, joins: 2 });
      }),
      { numRuns: 100 },
    );
  });
});
