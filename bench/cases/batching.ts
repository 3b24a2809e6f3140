/**
 * Case 4, batching: `loads` distinct keys loaded in batches of `batchSize` (all loads
 * issued in one tick), through `batchMap`, `engine.loader` and DataLoader. The batch
 * function is the same for all: it counts itself and answers each key's index.
 */
import DataLoader from 'dataloader';
import { from } from 'rxjs';
import { batchMap } from '../../operators/index.js';
import { createEngine, MemoryStore } from '../../src/index.js';
import {
  type BenchCase,
  type Contender,
  compare,
  row,
  throughputTable,
  times,
} from '../harness.js';
import type { Profile } from '../profiles.js';
import { sumOf } from './scheduler.js';

/** The backend: one call per batch. */
class BatchBackend {
  batches = 0;
  loadBatch = (keys: readonly string[]): Promise<number[]> => {
    this.batches++;
    return Promise.resolve(keys.map((key) => Number(key.slice(1))));
  };
}

const sumAll = (values: readonly (number | Error)[]): number => {
  let sum = 0;
  for (const value of values) sum += value as number;
  return sum;
};

/** Runs one contender on a fresh backend; the answer is `sum/batches`. */
async function measure(run: (backend: BatchBackend) => Promise<number>): Promise<string> {
  const backend = new BatchBackend();
  const sum = await run(backend);
  return `${sum}/${backend.batches}`;
}

export const batchingCase: BenchCase<Profile> = {
  id: 'batching',
  title: '4. Batching',
  async run(profile) {
    const { loads, batchSize } = profile.batching;
    const keys = Array.from({ length: loads }, (_, i) => `k${i}`);

    const viaLoader = (backend: BatchBackend) =>
      new Promise<number>((resolve, reject) => {
        // An unbounded cache and executor, as DataLoader's cache and dispatch are.
        const engine = createEngine({
          executor: { concurrency: Number.POSITIVE_INFINITY },
          cache: new MemoryStore({ maxEntries: Number.POSITIVE_INFINITY }),
        });
        const load = engine.loader<number>((batch) => backend.loadBatch(batch), {
          maxBatchSize: batchSize,
        });
        let sum = 0;
        let done = 0;
        const observer = {
          next: (value: number) => {
            sum += value;
          },
          error: reject,
          complete: () => {
            if (++done === keys.length) resolve(sum);
          },
        };
        for (const key of keys) load(key).subscribe(observer);
      });
    const viaDataLoader = async (backend: BatchBackend, cache: boolean) => {
      const loader = new DataLoader<string, number>((batch) => backend.loadBatch(batch), {
        maxBatchSize: batchSize,
        cache,
      });
      return sumAll(await Promise.all(keys.map((key) => loader.load(key))));
    };
    const floor = async (backend: BatchBackend) => {
      const batches: Promise<number[]>[] = [];
      for (let i = 0; i < keys.length; i += batchSize) {
        batches.push(backend.loadBatch(keys.slice(i, i + batchSize)));
      }
      return sumAll((await Promise.all(batches)).flat());
    };

    const contenders: Contender<string>[] = [
      {
        name: 'eed batchMap',
        role: 'eed',
        run: () =>
          measure((backend) =>
            sumOf(
              from(keys).pipe(
                batchMap((batch: string[]) => backend.loadBatch(batch), {
                  maxBatchSize: batchSize,
                  onItemError: (error) => {
                    throw error;
                  },
                }),
              ),
            ),
          ),
      },
      { name: 'eed engine.loader', role: 'eed', run: () => measure(viaLoader) },
      {
        name: 'DataLoader (cache)',
        role: 'peer',
        run: () => measure((backend) => viaDataLoader(backend, true)),
      },
      {
        name: 'DataLoader (no cache)',
        role: 'peer',
        run: () => measure((backend) => viaDataLoader(backend, false)),
      },
      { name: 'floor (slice + Promise.all)', role: 'floor', run: () => measure(floor) },
    ];
    const result = await compare('batching', loads, contenders, profile.effort);
    const expectedBatches = Math.ceil(loads / batchSize);
    const checks = [
      ...result.checks,
      {
        description: `batching: eed makes ${expectedBatches} batch calls`,
        ok: result.answers.get('eed batchMap')?.split('/')[1] === String(expectedBatches),
        detail: `${result.answers.get('eed batchMap')}`,
      },
    ];
    const dataLoader = row(result, 'DataLoader (cache)');
    const dataLoaderNoCache = row(result, 'DataLoader (no cache)');
    const loader = row(result, 'eed engine.loader');
    const batch = row(result, 'eed batchMap');
    return {
      id: this.id,
      title: this.title,
      tables: [
        throughputTable(
          `${loads.toLocaleString('en-US')} loads of distinct keys in batches of ${batchSize} (ops = loads)`,
          result,
          [
            `sum/batch calls: ${contenders.map((c) => `${c.name} ${result.answers.get(c.name)}`).join('; ')}.`,
            'engine.loader runs on an engine with an unbounded MemoryStore and executor (DataLoader caches every key and caps nothing); batchMap caches nothing, like DataLoader (no cache).',
          ],
        ),
      ],
      targets: [
        {
          description: 'case 4: engine.loader at least as fast as DataLoader (cache)',
          met: loader.msPerRun <= dataLoader.msPerRun,
          measured: `${loader.usPerOp.toFixed(3)} vs ${dataLoader.usPerOp.toFixed(3)} us/load: ${times(loader.msPerRun / dataLoader.msPerRun)} its time`,
        },
        {
          description: 'case 4: batchMap at least as fast as DataLoader (no cache)',
          met: batch.msPerRun <= dataLoaderNoCache.msPerRun,
          measured: `${batch.usPerOp.toFixed(3)} vs ${dataLoaderNoCache.usPerOp.toFixed(3)} us/load: ${times(batch.msPerRun / dataLoaderNoCache.msPerRun)} its time`,
        },
      ],
      checks,
    };
  },
};
