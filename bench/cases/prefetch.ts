/**
 * Issue 5's prefetch benchmark, in virtual time (RxJS VirtualTimeScheduler): a user walks a
 * synthetic Markov chain of pages with think time between requests; loading a page takes
 * a page-specific latency; results live `TTL` ms. The same trace runs through an engine
 * without prefetch and with `prefetch(markovPredictor(...))`, which learns the chain
 * online. Reports request latency (request to value) and the work spent.
 */
import { map, Subject, timer, VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { prefetch } from '../../operators/index.js';
import { createEngine, createExecutor, markovPredictor } from '../../src/index.js';
import type { BenchCase, Check, Table } from '../harness.js';
import type { Profile } from '../profiles.js';
import { logNormal, prng, quantile } from '../util.js';

const THINK_MEAN_MS = 250;
const LATENCY_MEDIAN_MS = 120;
const LATENCY_SIGMA = 0.4;
const TTL_MS = 3_000;
/** Probability of each page's three favourite successors; the rest is uniform. */
const FAVOURITES = [0.6, 0.25, 0.1] as const;
const MIN_PROBABILITY = 0.2;

/** A walk: the page of each request, its virtual time, and each page's load latency. */
export interface Walk {
  readonly pages: Int32Array;
  readonly times: Float64Array;
  readonly latency: Float64Array;
}

export function markovWalk(requests: number, pageCount: number, seed = 5): Walk {
  const random = prng(seed);
  const favourites = Array.from({ length: pageCount }, () =>
    FAVOURITES.map(() => Math.floor(random() * pageCount)),
  );
  const latency = new Float64Array(pageCount);
  for (let p = 0; p < pageCount; p++) {
    latency[p] = Math.round(logNormal(random, Math.log(LATENCY_MEDIAN_MS), LATENCY_SIGMA));
  }
  const pages = new Int32Array(requests);
  const times = new Float64Array(requests);
  let page = 0;
  let time = 0;
  for (let i = 0; i < requests; i++) {
    pages[i] = page;
    times[i] = Math.round(time);
    time += -Math.log(1 - random()) * THINK_MEAN_MS;
    const u = random();
    let next = -1;
    let acc = 0;
    for (let f = 0; f < FAVOURITES.length; f++) {
      acc += FAVOURITES[f] as number;
      if (u < acc) {
        next = favourites[page]?.[f] as number;
        break;
      }
    }
    page = next >= 0 ? next : Math.floor(random() * pageCount);
  }
  return { pages, times, latency };
}

/** What one replay of the walk measured. */
export interface PrefetchRun {
  readonly latencies: number[];
  readonly workCalls: number;
  readonly prefetchCalls: number;
  readonly issued: number;
  readonly used: number;
  readonly values: number;
}

/** Replays `walk` in virtual time, with or without speculative prefetch. */
export function replayWalk(walk: Walk, withPrefetch: boolean): PrefetchRun {
  const scheduler = new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY);
  const clock = { now: () => scheduler.now() };
  const engine = createEngine({
    executor: createExecutor({ concurrency: 10, clock }),
    clock,
    wallClock: clock,
    ttl: TTL_MS,
  });
  let workCalls = 0;
  let prefetchCalls = 0;
  const work = (page: number, speculative: boolean) => () => {
    workCalls++;
    if (speculative) prefetchCalls++;
    return timer(walk.latency[page] as number, scheduler).pipe(map(() => page));
  };
  const requests = new Subject<number>();
  const latencies: number[] = [];
  let values = 0;
  const predictor = markovPredictor<number>({
    keyOf: (page) => `page:${page}`,
    workFor: (key) => work(Number(key.slice(5)), true),
  });
  const source = withPrefetch
    ? requests.pipe(prefetch(predictor, { engine, minProbability: MIN_PROBABILITY }))
    : requests;
  source.subscribe((page) => {
    const asked = scheduler.now();
    engine.run(`page:${page}`, work(page, false)).subscribe((value) => {
      latencies.push(scheduler.now() - asked);
      values += value === page ? 1 : 0;
    });
  });
  for (let i = 0; i < walk.pages.length; i++) {
    const page = walk.pages[i] as number;
    scheduler.schedule(() => requests.next(page), walk.times[i] as number);
  }
  scheduler.flush();
  const metrics = engine.metrics().prefetch;
  return {
    latencies,
    workCalls,
    prefetchCalls,
    issued: metrics.issued,
    used: metrics.used,
    values,
  };
}

export const prefetchCase: BenchCase<Profile> = {
  id: 'prefetch',
  title: '8. Speculative prefetch on a Markov walk (issue 5)',
  async run(profile) {
    const { requests, pages } = profile.prefetch;
    const walk = markovWalk(requests, pages);
    const without = replayWalk(walk, false);
    const withIt = replayWalk(walk, true);
    const line = (name: string, run: PrefetchRun) => ({
      name,
      p50: quantile(run.latencies, 0.5),
      p95: quantile(run.latencies, 0.95),
      mean: run.latencies.reduce((a, b) => a + b, 0) / Math.max(1, run.latencies.length),
      hits: run.latencies.filter((l) => l === 0).length / Math.max(1, run.latencies.length),
      workCalls: run.workCalls,
      issued: run.issued,
      used: run.used,
      wasted: run.issued - run.used,
      precision: run.issued === 0 ? null : run.used / run.issued,
    });
    const table: Table = {
      title: `${requests.toLocaleString('en-US')} requests over ${pages} pages (favourite successors ${FAVOURITES.join('/')}), think time exp(mean ${THINK_MEAN_MS} ms), load latency log-normal (median ${LATENCY_MEDIAN_MS} ms), TTL ${TTL_MS} ms; virtual time`,
      columns: [
        { key: 'name', label: 'engine', format: 'text' },
        { key: 'p50', label: 'p50 ms', format: 'ms' },
        { key: 'p95', label: 'p95 ms', format: 'ms' },
        { key: 'mean', label: 'mean ms', format: 'ms' },
        { key: 'hits', label: 'served at once', format: 'pct' },
        { key: 'workCalls', label: 'work calls', format: 'int' },
        { key: 'issued', label: 'prefetches', format: 'int' },
        { key: 'used', label: 'used', format: 'int' },
        { key: 'wasted', label: 'wasted', format: 'int' },
        { key: 'precision', label: 'precision', format: 'pct' },
      ],
      rows: [line('engine.run', without), line('engine.run + prefetch(markovPredictor)', withIt)],
      notes: [
        `Predictor learns online (depth 1, minProbability ${MIN_PROBABILITY}). Extra work: ${withIt.workCalls - without.workCalls} calls (${(((withIt.workCalls - without.workCalls) / Math.max(1, without.workCalls)) * 100).toFixed(1)}% more than without prefetch).`,
      ],
    };
    const checks: Check[] = [
      {
        description: 'prefetch: every request gets its own page, with and without prefetch',
        ok: without.values === requests && withIt.values === requests,
        detail: `${without.values} and ${withIt.values} of ${requests}`,
      },
    ];
    const p95Without = quantile(without.latencies, 0.95);
    const p95With = quantile(withIt.latencies, 0.95);
    const p50Without = quantile(without.latencies, 0.5);
    const p50With = quantile(withIt.latencies, 0.5);
    return {
      id: this.id,
      title: this.title,
      tables: [table],
      targets: [
        {
          description:
            'issue 5: prefetch lowers request latency (p50 or p95) (expected, not a hard target)',
          met: p50With < p50Without || p95With < p95Without,
          measured: `p50 ${p50Without.toFixed(0)} -> ${p50With.toFixed(0)} ms, p95 ${p95Without.toFixed(0)} -> ${p95With.toFixed(0)} ms`,
        },
      ],
      checks,
    };
  },
};
