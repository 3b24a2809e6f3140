/**
 * One contender of case 5 in a process of its own (run with `--expose-gc`): pushes
 * `items` values through it at concurrency 10 with a slow consumer, and every
 * `items / samples` consumed values forces a GC and samples the live heap. Prints one JSON
 * line: `{ contender, items, sum, peakMb, baselineMb, ms }`.
 *
 * Usage: node --expose-gc --import tsx bench/memoryChild.ts CONTENDER ITEMS SAMPLES
 */
import pLimit from 'p-limit';
import pMap from 'p-map';
import { mergeMap, range } from 'rxjs';
import { parallelMap } from '../operators/index.js';

const CONCURRENCY = 10;
const MEMORY_CONTENDERS = ['parallelMap', 'mergeMap', 'p-limit', 'p-map', 'floor'] as const;
type MemoryContender = (typeof MEMORY_CONTENDERS)[number];

const task = async (i: number): Promise<number> => i;

async function main() {
  const [name, itemsArg, samplesArg] = process.argv.slice(2);
  const items = Number(itemsArg);
  const samples = Number(samplesArg);
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  if (!MEMORY_CONTENDERS.includes(name as MemoryContender)) {
    throw new Error(`unknown contender ${name}; one of ${MEMORY_CONTENDERS.join(', ')}`);
  }
  const every = Math.max(1, Math.floor(items / samples));
  gc();
  gc();
  const baseline = process.memoryUsage().heapUsed;
  let peak = baseline;
  let consumed = 0;
  let sum = 0;
  let sink = 0;
  /** The slow consumer: some synchronous work per value, and a heap sample now and then. */
  const consume = (value: number) => {
    for (let k = 0; k < 200; k++) sink = (sink + value * k) % 1_000_003;
    sum += value;
    if (++consumed % every === 0) {
      gc();
      const used = process.memoryUsage().heapUsed;
      if (used > peak) peak = used;
    }
  };

  const started = performance.now();
  switch (name as MemoryContender) {
    case 'parallelMap':
    case 'mergeMap':
      await new Promise<void>((resolve, reject) => {
        const source = range(0, items);
        const output =
          name === 'parallelMap'
            ? source.pipe(parallelMap((i: number) => task(i), { concurrency: CONCURRENCY }))
            : source.pipe(mergeMap((i: number) => task(i), CONCURRENCY));
        output.subscribe({ next: consume, error: reject, complete: resolve });
      });
      break;
    case 'p-limit': {
      const limit = pLimit(CONCURRENCY);
      const pending: Promise<void>[] = [];
      for (let i = 0; i < items; i++) pending.push(limit(() => task(i)).then(consume));
      await Promise.all(pending);
      break;
    }
    case 'p-map':
      await pMap(
        (function* () {
          for (let i = 0; i < items; i++) yield i;
        })(),
        async (i: number) => consume(await task(i)),
        { concurrency: CONCURRENCY },
      );
      break;
    case 'floor': {
      let next = 0;
      const worker = async () => {
        while (next < items) consume(await task(next++));
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      break;
    }
  }
  const ms = performance.now() - started;
  const mb = (bytes: number) => bytes / (1024 * 1024);
  process.stdout.write(
    `${JSON.stringify({ contender: name, items, sum, peakMb: mb(peak - baseline), baselineMb: mb(baseline), ms, sink })}\n`,
  );
}

await main();
