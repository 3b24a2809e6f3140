/**
 * Case 1 (scheduler overhead), its three-lane variant, per-task flatness, and case 6 (the
 * cost of observability). The work is `async (i) => i` for every contender; the answer is
 * the sum of the results.
 */

import pLimit from 'p-limit';
import pMap from 'p-map';
import PQueue from 'p-queue';
import { mergeMap, type Observable, range } from 'rxjs';
import { parallelMap } from '../../operators/index.js';
import {
  createExecutor,
  type ExecutionEvent,
  type Executor,
  MetricsAggregator,
  type Priority,
} from '../../src/index.js';
import {
  type BenchCase,
  type Comparison,
  type Contender,
  compare,
  fastestPeer,
  row,
  type Table,
  throughputTable,
  times,
} from '../harness.js';
import type { Profile } from '../profiles.js';
import { triangular } from '../util.js';

/** The trivial async work every contender runs. */
const task = async (i: number): Promise<number> => i;

/** Sums what an Observable emits. */
export function sumOf(source: Observable<number>): Promise<number> {
  return new Promise((resolve, reject) => {
    let sum = 0;
    source.subscribe({
      next: (value) => {
        sum += value;
      },
      error: reject,
      complete: () => resolve(sum),
    });
  });
}

const sumArray = (values: readonly number[]): number => {
  let sum = 0;
  for (const value of values) sum += value;
  return sum;
};

/** `parallelMap` over `range(0, n)`. */
export const viaParallelMap = (n: number, concurrency: number, executor?: Executor) =>
  sumOf(range(0, n).pipe(parallelMap((i: number) => task(i), { concurrency, executor })));

/** One `executor.schedule(...).subscribe()` per task, all submitted at once (like p-limit). */
export function viaSchedule(
  n: number,
  executor: Executor,
  priorityOf?: (i: number) => Priority,
): Promise<number> {
  return new Promise((resolve, reject) => {
    if (n === 0) {
      resolve(0);
      return;
    }
    let sum = 0;
    let done = 0;
    const observer = {
      next: (value: number) => {
        sum += value;
      },
      error: reject,
      complete: () => {
        if (++done === n) resolve(sum);
      },
    };
    if (priorityOf === undefined) {
      for (let i = 0; i < n; i++) executor.schedule(() => task(i)).subscribe(observer);
    } else {
      for (let i = 0; i < n; i++) {
        executor.schedule(() => task(i), { priority: priorityOf(i) }).subscribe(observer);
      }
    }
  });
}

const viaMergeMap = (n: number, concurrency: number) =>
  sumOf(range(0, n).pipe(mergeMap((i: number) => task(i), concurrency)));

async function viaPLimit(n: number, concurrency: number): Promise<number> {
  const limit = pLimit(concurrency);
  const pending = new Array<Promise<number>>(n);
  for (let i = 0; i < n; i++) pending[i] = limit(() => task(i));
  return sumArray(await Promise.all(pending));
}

async function viaPQueue(
  n: number,
  concurrency: number,
  priorityOf?: (i: number) => number,
): Promise<number> {
  const queue = new PQueue({ concurrency });
  const pending = new Array<Promise<number>>(n);
  if (priorityOf === undefined) {
    for (let i = 0; i < n; i++) pending[i] = queue.add(() => task(i));
  } else {
    for (let i = 0; i < n; i++) pending[i] = queue.add(() => task(i), { priority: priorityOf(i) });
  }
  return sumArray(await Promise.all(pending));
}

const indicesCache = new Map<number, number[]>();
const indices = (n: number): number[] => {
  let list = indicesCache.get(n);
  if (list === undefined) {
    list = Array.from({ length: n }, (_, i) => i);
    indicesCache.set(n, list);
  }
  return list;
};

async function viaPMap(n: number, concurrency: number): Promise<number> {
  return sumArray(await pMap(indices(n), (i: number) => task(i), { concurrency }));
}

/** The floor: a hand-written loop keeping `concurrency` promises in flight. */
export async function floorLoop(n: number, concurrency: number): Promise<number> {
  let next = 0;
  let sum = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const value = await task(i);
      sum += value;
    }
  };
  const workers: Promise<void>[] = [];
  for (let w = 0; w < concurrency; w++) workers.push(worker());
  await Promise.all(workers);
  return sum;
}

/** The three-lane floor: workers take from the highest non-empty lane (plain arrays). */
async function floorLanes(n: number, concurrency: number, laneOf: (i: number) => number) {
  const lanes: number[][] = [[], [], []];
  for (let i = 0; i < n; i++) lanes[laneOf(i)]?.push(i);
  const heads = [0, 0, 0];
  let sum = 0;
  const take = (): number | undefined => {
    for (let lane = 0; lane < 3; lane++) {
      const queue = lanes[lane] as number[];
      const head = heads[lane] as number;
      if (head < queue.length) {
        heads[lane] = head + 1;
        return queue[head];
      }
    }
    return undefined;
  };
  const worker = async () => {
    for (let i = take(); i !== undefined; i = take()) {
      const value = await task(i);
      sum += value;
    }
  };
  const workers: Promise<void>[] = [];
  for (let w = 0; w < concurrency; w++) workers.push(worker());
  await Promise.all(workers);
  return sum;
}

/** Streams of the small size per flatness sample. */
const FLAT_STREAMS = 10;

const LANES: readonly Priority[] = ['critical', 'normal', 'background'];
const laneOf = (i: number) => i % 3;
const eedPriority = (i: number): Priority => LANES[laneOf(i)] as Priority;
/** p-queue: a greater number runs first. */
const pQueuePriority = (i: number) => 2 - laneOf(i);

function targetsOfOverhead(comparison: Comparison) {
  const pm = row(comparison, 'eed parallelMap');
  const peer = fastestPeer(comparison);
  return [
    {
      description:
        'case 1: parallelMap at least 2x faster than the fastest of mergeMap, p-limit, p-queue, p-map',
      met: pm.msPerRun * 2 <= peer.msPerRun,
      measured: `parallelMap ${pm.usPerOp.toFixed(3)} us/task, fastest peer ${peer.name} ${peer.usPerOp.toFixed(3)} us/task: ${times(peer.msPerRun / pm.msPerRun)} faster`,
    },
    {
      description: 'case 1: parallelMap within 10x of the floor',
      met: (pm.vsFloor ?? Number.POSITIVE_INFINITY) <= 10,
      measured: `${times(pm.vsFloor ?? Number.NaN)} the floor's time`,
    },
  ];
}

export const schedulerCase: BenchCase<Profile> = {
  id: 'scheduler',
  title: '1. Scheduler overhead',
  async run(profile) {
    const { tasks: n, concurrency: c, flatSmall, flatLarge } = profile.scheduler;
    const expected = triangular(n);
    const contenders: Contender<number>[] = [
      { name: 'eed parallelMap', role: 'eed', run: () => viaParallelMap(n, c) },
      {
        name: 'eed executor.schedule',
        role: 'eed',
        run: () => viaSchedule(n, createExecutor({ concurrency: c, backgroundConcurrency: c })),
      },
      { name: 'rxjs mergeMap', role: 'peer', run: () => viaMergeMap(n, c) },
      { name: 'p-limit', role: 'peer', run: () => viaPLimit(n, c) },
      { name: 'p-queue', role: 'peer', run: () => viaPQueue(n, c) },
      { name: 'p-map', role: 'peer', run: () => viaPMap(n, c) },
      { name: 'floor (10 promises in flight)', role: 'floor', run: () => floorLoop(n, c) },
    ];
    const overhead = await compare('scheduler', n, contenders, profile.effort);

    const lanesContenders: Contender<number>[] = [
      {
        name: 'eed executor.schedule (3 lanes)',
        role: 'eed',
        run: () => viaSchedule(n, createExecutor({ concurrency: c }), eedPriority),
      },
      { name: 'p-queue (3 priorities)', role: 'peer', run: () => viaPQueue(n, c, pQueuePriority) },
      { name: 'floor (3 arrays)', role: 'floor', run: () => floorLanes(n, c, laneOf) },
    ];
    const lanes = await compare('priorities', n, lanesContenders, profile.heavyEffort);

    // The small size runs FLAT_STREAMS streams one after another per sample, so a sample
    // lasts long enough to be measured as steadily as the large one.
    const small = async (run: (n: number) => Promise<number>) => {
      let sum = 0;
      for (let s = 0; s < FLAT_STREAMS; s++) sum += await run(flatSmall);
      return sum / FLAT_STREAMS;
    };
    const flatContenders: Contender<number>[] = [
      {
        name: `eed parallelMap ${flatSmall}`,
        run: () => small((size) => viaParallelMap(size, c)),
      },
      { name: `eed parallelMap ${flatLarge}`, run: () => viaParallelMap(flatLarge, c) },
      { name: `floor ${flatSmall}`, run: () => small((size) => floorLoop(size, c)) },
      { name: `floor ${flatLarge}`, run: () => floorLoop(flatLarge, c) },
    ].map((contender) => ({ ...contender, role: 'eed' as const, checkAnswer: false }));
    const flat = await compare('flatness', 1, flatContenders, profile.heavyEffort);
    const perTask = (name: string, size: number) =>
      (row(flat, name).msPerRun * 1000) / (size === flatSmall ? size * FLAT_STREAMS : size);
    const flatRows = [
      ['eed parallelMap', `eed parallelMap ${flatSmall}`, `eed parallelMap ${flatLarge}`],
      ['floor', `floor ${flatSmall}`, `floor ${flatLarge}`],
    ].map(([name, smallName, largeName]) => {
      const a = perTask(smallName as string, flatSmall);
      const b = perTask(largeName as string, flatLarge);
      return { name: name as string, small: a, large: b, ratio: b / a };
    });
    const flatTable: Table = {
      title: `Per-task cost at ${flatSmall.toLocaleString('en-US')} vs ${flatLarge.toLocaleString('en-US')} tasks (concurrency ${c})`,
      columns: [
        { key: 'name', label: 'contender', format: 'text' },
        { key: 'small', label: `us/task at ${flatSmall.toLocaleString('en-US')}`, format: 'us' },
        { key: 'large', label: `us/task at ${flatLarge.toLocaleString('en-US')}`, format: 'us' },
        { key: 'ratio', label: 'large / small', format: 'ratio' },
      ],
      rows: flatRows,
      notes: [
        `Each sample at ${flatSmall.toLocaleString('en-US')} runs ${FLAT_STREAMS} streams of ${flatSmall.toLocaleString('en-US')} tasks one after another.`,
      ],
    };
    const pmFlat = flatRows[0] as (typeof flatRows)[number];

    const sched3 = row(lanes, 'eed executor.schedule (3 lanes)');
    const pq3 = row(lanes, 'p-queue (3 priorities)');
    const checks = [
      ...overhead.checks,
      ...lanes.checks,
      {
        description: 'scheduler: the sum of results is n(n-1)/2',
        ok: overhead.answers.get('eed parallelMap') === String(expected),
        detail: `${overhead.answers.get('eed parallelMap')} vs ${expected}`,
      },
      ...[flatSmall, flatLarge].map((size) => ({
        description: `flatness: parallelMap and the floor agree at ${size}`,
        ok:
          flat.answers.get(`eed parallelMap ${size}`) === String(triangular(size)) &&
          flat.answers.get(`floor ${size}`) === String(triangular(size)),
        detail: `${flat.answers.get(`eed parallelMap ${size}`)} vs ${triangular(size)}`,
      })),
    ];
    return {
      id: this.id,
      title: this.title,
      tables: [
        throughputTable(
          `${n.toLocaleString('en-US')} tasks of \`async i => i\` at concurrency ${c} (ops = tasks)`,
          overhead,
        ),
        throughputTable(
          `Three interleaved priority lanes, ${n.toLocaleString('en-US')} tasks at concurrency ${c}`,
          lanes,
          [
            'eed uses createExecutor defaults (background lane capped at ceil(c/2) slots); p-queue priorities 2/1/0.',
          ],
        ),
        flatTable,
      ],
      targets: [
        ...targetsOfOverhead(overhead),
        {
          description: 'case 1: parallelMap per-task cost flat (within 1.5x) from 10k to 1M tasks',
          met: pmFlat.ratio <= 1.5,
          measured: `${pmFlat.small.toFixed(3)} -> ${pmFlat.large.toFixed(3)} us/task (${times(pmFlat.ratio)}) at ${flatSmall} -> ${flatLarge}`,
        },
        {
          description:
            'case 1: executor.schedule with three lanes at least 5x faster than p-queue with priorities',
          met: sched3.msPerRun * 5 <= pq3.msPerRun,
          measured: `${sched3.usPerOp.toFixed(3)} vs ${pq3.usPerOp.toFixed(3)} us/task: ${times(pq3.msPerRun / sched3.msPerRun)} faster`,
        },
      ],
      checks,
    };
  },
};

/** Where the plain events$ listener writes, so its work cannot be optimised away. */
export let lastEvent = '';

/** Case 6: the same parallelMap and executor.schedule runs with and without a listener. */
export const observabilityCase: BenchCase<Profile> = {
  id: 'observability',
  title: '6. Cost of observability',
  async run(profile) {
    const { tasks: n, concurrency: c } = profile.scheduler;
    const fresh = () => createExecutor({ concurrency: c, backgroundConcurrency: c });
    const withListener = async (
      run: (executor: Executor) => Promise<number>,
      listener: 'events' | 'metrics',
    ) => {
      const executor = fresh();
      const aggregator = new MetricsAggregator({ concurrency: c });
      const subscription = executor.events$.subscribe(
        listener === 'events'
          ? (event: ExecutionEvent) => {
              lastEvent = event.type;
            }
          : (event: ExecutionEvent) => aggregator.add(event),
      );
      try {
        return await run(executor);
      } finally {
        subscription.unsubscribe();
      }
    };
    const pm = (executor: Executor) => viaParallelMap(n, c, executor);
    const sch = (executor: Executor) => viaSchedule(n, executor);
    const pmContenders: Contender<number>[] = [
      { name: 'parallelMap, no listener', role: 'floor', run: () => pm(fresh()) },
      {
        name: 'parallelMap + events$ subscriber',
        role: 'eed',
        run: () => withListener(pm, 'events'),
      },
      {
        name: 'parallelMap + MetricsAggregator on events$',
        role: 'eed',
        run: () => withListener(pm, 'metrics'),
      },
    ];
    const schContenders: Contender<number>[] = [
      { name: 'executor.schedule, no listener', role: 'floor', run: () => sch(fresh()) },
      {
        name: 'executor.schedule + events$ subscriber',
        role: 'eed',
        run: () => withListener(sch, 'events'),
      },
      {
        name: 'executor.schedule + MetricsAggregator on events$',
        role: 'eed',
        run: () => withListener(sch, 'metrics'),
      },
    ];
    const pmResult = await compare('observability parallelMap', n, pmContenders, profile.effort);
    const schResult = await compare('observability schedule', n, schContenders, profile.effort);
    const note = '"time vs floor" here is the time relative to the same run with no listener.';
    const cost = (comparison: Comparison, name: string) => (row(comparison, name).vsFloor ?? 1) - 1;
    const targets = [
      ['parallelMap + events$ subscriber', pmResult],
      ['parallelMap + MetricsAggregator on events$', pmResult],
      ['executor.schedule + events$ subscriber', schResult],
      ['executor.schedule + MetricsAggregator on events$', schResult],
    ].map(([name, comparison]) => {
      const extra = cost(comparison as Comparison, name as string);
      return {
        description: `case 6: ${name as string} costs under 15%`,
        met: extra < 0.15,
        measured: `${(extra * 100).toFixed(1)}% more time`,
      };
    });
    return {
      id: this.id,
      title: this.title,
      tables: [
        throughputTable(
          `parallelMap, ${n.toLocaleString('en-US')} tasks at concurrency ${c}, on a shared executor`,
          pmResult,
          [note],
        ),
        throughputTable(
          `executor.schedule, ${n.toLocaleString('en-US')} tasks at concurrency ${c}`,
          schResult,
          [note],
        ),
      ],
      targets,
      checks: [...pmResult.checks, ...schResult.checks],
    };
  },
};
