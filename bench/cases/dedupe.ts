/**
 * Case 2, deduplication: requests over a small key space, issued in waves (one wave per
 * macrotask) while each underlying call takes 1 to 3 macrotask turns, so a key's requests
 * overlap its call in flight and then hit its cached result. Every contender must make
 * exactly one underlying call per distinct key.
 */
import DataLoader from 'dataloader';
import { LRUCache } from 'lru-cache';
import { createEngine } from '../../src/index.js';
import {
  type BenchCase,
  type Contender,
  compare,
  fastestPeer,
  row,
  throughputTable,
  times,
} from '../harness.js';
import type { Profile } from '../profiles.js';
import { hop, prng } from '../util.js';

type Done = (value: number) => void;
type Fail = (error: unknown) => void;
type Request = (key: string, done: Done, fail: Fail) => void;

/** The requested keys: `k<index>`, uniform over `keys`, the same sequence for everyone. */
export function requestTrace(requests: number, keys: number, seed = 42): string[] {
  const random = prng(seed);
  return Array.from({ length: requests }, () => `k${Math.floor(random() * keys)}`);
}

/** The underlying call: counts itself, answers the key's index after 1-3 macrotask turns. */
export class Backend {
  calls = 0;
  call = (key: string): Promise<number> => {
    this.calls++;
    const value = Number(key.slice(1));
    return hop(value, 1 + (value % 3));
  };
}

/** Issues `trace` in waves of `wave` requests per macrotask; resolves with the sum of values. */
export function drive(trace: readonly string[], wave: number, request: Request): Promise<number> {
  return new Promise((resolve, reject) => {
    const n = trace.length;
    let sum = 0;
    let done = 0;
    let i = 0;
    const onValue = (value: number) => {
      sum += value;
      if (++done === n) resolve(sum);
    };
    const issue = () => {
      const end = Math.min(i + wave, n);
      for (; i < end; i++) request(trace[i] as string, onValue, reject);
      if (i < n) setImmediate(issue);
    };
    if (n === 0) resolve(0);
    else issue();
  });
}

/** Runs one contender on a fresh backend; the answer is `sum/calls`. */
async function measure(
  trace: readonly string[],
  wave: number,
  make: (backend: Backend) => Request,
): Promise<string> {
  const backend = new Backend();
  const sum = await drive(trace, wave, make(backend));
  return `${sum}/${backend.calls}`;
}

export const dedupeCase: BenchCase<Profile> = {
  id: 'dedupe',
  title: '2. Deduplication',
  async run(profile) {
    const { requests, keys, wave } = profile.dedupe;
    const trace = requestTrace(requests, keys);
    const distinct = new Set(trace).size;

    const engineRun =
      (metrics: boolean) =>
      (backend: Backend): Request => {
        // Unbounded in-flight like the peers (DataLoader and lru-cache cap nothing).
        const engine = createEngine({
          executor: { concurrency: Number.POSITIVE_INFINITY },
          metrics,
        });
        return (key, done, fail) => {
          engine.run(key, () => backend.call(key)).subscribe({ next: done, error: fail });
        };
      };
    const contenders: Contender<string>[] = [
      { name: 'eed engine.run', role: 'eed', run: () => measure(trace, wave, engineRun(true)) },
      {
        name: 'eed engine.run (metrics: false)',
        role: 'eed',
        run: () => measure(trace, wave, engineRun(false)),
      },
      {
        name: 'DataLoader (cache)',
        role: 'peer',
        run: () =>
          measure(trace, wave, (backend) => {
            const loader = new DataLoader<string, number>((batch) =>
              Promise.all(batch.map(backend.call)),
            );
            return (key, done, fail) => {
              loader.load(key).then(done, fail);
            };
          }),
      },
      {
        name: 'lru-cache fetch',
        role: 'peer',
        run: () =>
          measure(trace, wave, (backend) => {
            const cache = new LRUCache<string, number>({
              max: keys * 2,
              fetchMethod: (key) => backend.call(key),
            });
            return (key, done, fail) => {
              cache.fetch(key).then((value) => done(value as number), fail);
            };
          }),
      },
      {
        name: 'floor (Map of promises)',
        role: 'floor',
        run: () =>
          measure(trace, wave, (backend) => {
            const memo = new Map<string, Promise<number>>();
            return (key, done, fail) => {
              let promise = memo.get(key);
              if (promise === undefined) {
                promise = backend.call(key);
                memo.set(key, promise);
              }
              promise.then(done, fail);
            };
          }),
      },
    ];
    const result = await compare('dedupe', requests, contenders, profile.effort);
    const checks = [
      ...result.checks,
      ...contenders.map((c) => {
        const calls = Number(result.answers.get(c.name)?.split('/')[1]);
        return {
          description: `dedupe: ${c.name} makes one underlying call per distinct key (${distinct})`,
          ok: calls === distinct,
          detail: `${calls} calls`,
        };
      }),
    ];
    const eed = row(result, 'eed engine.run');
    const peer = fastestPeer(result);
    return {
      id: this.id,
      title: this.title,
      tables: [
        throughputTable(
          `${requests.toLocaleString('en-US')} requests over ${keys.toLocaleString('en-US')} keys, ${wave} per macrotask, calls of 1-3 macrotasks (ops = requests)`,
          result,
          [
            `Underlying calls per contender (sum/calls): ${contenders.map((c) => `${c.name} ${result.answers.get(c.name)}`).join('; ')}.`,
            'eed engines use an unbounded executor (concurrency Infinity), as the peers cap nothing.',
          ],
        ),
      ],
      targets: [
        {
          description:
            'case 2: engine.run at least as fast as DataLoader and lru-cache fetch, with the same calls',
          met: eed.msPerRun <= peer.msPerRun && checks.every((c) => c.ok),
          measured: `engine.run ${eed.usPerOp.toFixed(3)} us/request, fastest peer ${peer.name} ${peer.usPerOp.toFixed(3)}: ${times(eed.vsPeer ?? Number.NaN)} its time`,
        },
      ],
      checks,
    };
  },
};
