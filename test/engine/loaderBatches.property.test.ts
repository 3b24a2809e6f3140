import { createEngine } from 'eed';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** Loads `keys` in one synchronous turn and waits for all of them. */
function loadAll(load: (key: string) => { subscribe: (o: object) => unknown }, keys: string[]) {
  return Promise.all(
    keys.map(
      (key) =>
        new Promise<unknown>((resolve, reject) => {
          load(key).subscribe({ next: resolve, error: reject });
        }),
    ),
  );
}

describe('engine.loader batch metrics (DESIGN: batches: count, mean fill)', () => {
  it('count, mean size and mean fill are those of the batches the loader function received (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 7 }),
        // Turns of loads: each a list of key numbers (repeats and keys loaded before included).
        fc.array(fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 20 }), {
          minLength: 1,
          maxLength: 5,
        }),
        async (maxBatchSize, turns) => {
          const engine = createEngine();
          const batches: string[][] = [];
          const load = engine.loader(
            async (keys: string[]) => {
              batches.push(keys);
              return keys.map((key) => `v${key}`);
            },
            { maxBatchSize },
          );
          const loaded = new Set<string>();
          // The keys of one turn that nobody loaded before fill as few batches as they can.
          let fewest = 0;
          for (const turn of turns) {
            const keys = turn.map(String);
            const fresh = new Set(keys.filter((key) => !loaded.has(key)));
            fewest += Math.ceil(fresh.size / maxBatchSize);
            expect(await loadAll(load, keys)).toEqual(keys.map((key) => `v${key}`));
            for (const key of keys) loaded.add(key);
          }
          expect(batches).toHaveLength(fewest);
          // Each key is loaded once, in batches no bigger than maxBatchSize.
          expect(batches.flat().sort()).toEqual([...loaded].sort());
          for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(maxBatchSize);
          const { batches: metrics } = engine.metrics();
          const sizes = batches.map((batch) => batch.length);
          const total = sizes.reduce((a, b) => a + b, 0);
          expect(metrics.count).toBe(batches.length);
          expect(metrics.meanSize).toBeCloseTo(total / batches.length, 10);
          expect(metrics.meanFill).toBeCloseTo(total / maxBatchSize / batches.length, 10);
        },
      ),
      { numRuns: 150 },
    );
  });
});
