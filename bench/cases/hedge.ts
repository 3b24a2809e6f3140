/**
 * Issue 5's hedge benchmark, with real timers at small scale: requests whose latency has a
 * long tail (most take a few ms, a few percent take 20x longer), run with and without
 * `hedge(work, { after, max: 2 })`. Reports p50/p99 latency and the extra work the backup
 * copies cost. Included only when `operators/` exports `hedge`.
 */
import type { Observable } from 'rxjs';
import * as operators from '../../operators/index.js';
import type { Work } from '../../src/index.js';
import type { BenchCase, Check } from '../harness.js';
import type { Profile } from '../profiles.js';
import { prng, quantile } from '../util.js';

/** `hedge` as DESIGN.md declares it. */
type Hedge = <T>(work: Work<T>, options: { after: number | 'p95'; max?: number }) => Observable<T>;

/** The `hedge` operator if `eed/operators` exports one yet. */
export function findHedge(): Hedge | undefined {
  const candidate = (operators as unknown as Record<string, unknown>).hedge;
  return typeof candidate === 'function' ? (candidate as Hedge) : undefined;
}

const FAST_MIN_MS = 2;
const FAST_SPREAD_MS = 4;
const TAIL_SHARE = 0.05;
const TAIL_MS = 120;
const AFTER_MS = 15;
/** Requests in flight at once. */
const PARALLEL = 20;

/** One hedged or plain replay. */
interface HedgeRun {
  readonly latencies: number[];
  readonly copies: number;
  readonly busyMs: number;
  readonly values: number;
}

async function replay(requests: number, hedge: Hedge | undefined, seed: number): Promise<HedgeRun> {
  const random = prng(seed);
  const draw = () =>
    random() < TAIL_SHARE ? TAIL_MS + random() * TAIL_MS : FAST_MIN_MS + random() * FAST_SPREAD_MS;
  let copies = 0;
  let busyMs = 0;
  let values = 0;
  const latencies: number[] = [];
  const workFor =
    (i: number): Work<number> =>
    (signal) =>
      new Promise<number>((resolve) => {
        copies++;
        const started = performance.now();
        const timeout = setTimeout(() => {
          busyMs += performance.now() - started;
          resolve(i);
        }, draw());
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timeout);
            busyMs += performance.now() - started;
          },
          { once: true },
        );
      });
  let next = 0;
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const asked = performance.now();
      const work = workFor(i);
      const source: Observable<number> | Promise<number> =
        hedge === undefined
          ? (work(new AbortController().signal) as Promise<number>)
          : hedge(work, { after: AFTER_MS, max: 2 });
      const done = (value: number) => {
        latencies.push(performance.now() - asked);
        if (value === i) values++;
        resolve();
      };
      if (source instanceof Promise) source.then(done, reject);
      else source.subscribe({ next: done, error: reject });
    });
  const lane = async () => {
    while (next < requests) await one(next++);
  };
  await Promise.all(Array.from({ length: PARALLEL }, lane));
  return { latencies, copies, busyMs, values };
}

export const hedgeCase: BenchCase<Profile> = {
  id: 'hedge',
  title: '9. Hedged requests on a long-tail latency (issue 5)',
  async run(profile) {
    const hedge = findHedge();
    if (hedge === undefined) {
      return {
        id: this.id,
        title: this.title,
        tables: [],
        targets: [],
        checks: [],
        text: 'skipped: eed/operators does not export hedge yet',
      };
    }
    const { requests } = profile.hedge;
    const plain = await replay(requests, undefined, 9);
    const hedged = await replay(requests, hedge, 9);
    const line = (name: string, run: HedgeRun) => ({
      name,
      p50: quantile(run.latencies, 0.5),
      p95: quantile(run.latencies, 0.95),
      p99: quantile(run.latencies, 0.99),
      copies: run.copies,
      extra: run.copies / requests - 1,
      busyMs: run.busyMs,
    });
    const checks: Check[] = [
      {
        description: 'hedge: every request gets its own value, with and without hedging',
        ok: plain.values === requests && hedged.values === requests,
        detail: `${plain.values} and ${hedged.values} of ${requests}`,
      },
    ];
    const p99Plain = quantile(plain.latencies, 0.99);
    const p99Hedged = quantile(hedged.latencies, 0.99);
    return {
      id: this.id,
      title: this.title,
      tables: [
        {
          title: `${requests} requests, ${PARALLEL} at a time; latency ${FAST_MIN_MS}-${FAST_MIN_MS + FAST_SPREAD_MS} ms, ${TAIL_SHARE * 100}% take ${TAIL_MS}-${2 * TAIL_MS} ms; hedge after ${AFTER_MS} ms, max 2 copies; real timers`,
          columns: [
            { key: 'name', label: 'run', format: 'text' },
            { key: 'p50', label: 'p50 ms', format: 'ms' },
            { key: 'p95', label: 'p95 ms', format: 'ms' },
            { key: 'p99', label: 'p99 ms', format: 'ms' },
            { key: 'copies', label: 'copies started', format: 'int' },
            { key: 'extra', label: 'extra copies', format: 'pct' },
            { key: 'busyMs', label: 'work time (ms)', format: 'ms' },
          ],
          rows: [line('plain work', plain), line('hedge(work, { after, max: 2 })', hedged)],
        },
      ],
      targets: [
        {
          description: 'issue 5: hedging lowers p99 (expected, not a hard target)',
          met: p99Hedged < p99Plain,
          measured: `p99 ${p99Plain.toFixed(1)} -> ${p99Hedged.toFixed(1)} ms with ${(100 * (hedged.copies / requests - 1)).toFixed(1)}% extra copies`,
        },
      ],
      checks,
    };
  },
};
