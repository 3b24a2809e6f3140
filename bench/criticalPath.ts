/**
 * Critical-path vs FIFO ready order: `node --import tsx bench/criticalPath.ts`.
 *
 * Runs the real `runGraph` on random DAGs with random task durations, in virtual time
 * (an RxJS `VirtualTimeScheduler`: a task of cost c is `timer(c)`), on an executor with a
 * fixed cap, once with `order: 'critical-path'` and once with `order: 'fifo'`, and prints
 * the makespans and their ratio as a Markdown table. Virtual time makes every number
 * exact and reproducible (seeded generator): no wall clock is involved.
 *
 * Columns: FIFO and CP are mean makespans with costs declared (`cost`); "CP learned"
 * declares no cost and measures the second run on the same executor, after the first
 * run taught it every label's duration; the bound is max(longest path, total work / cap),
 * which no schedule can beat. Ratio = FIFO / CP (> 1: critical path is faster).
 *
 * Options: `--seeds N` (default 30), `--cap N` (default 4), `--tasks N` (default 120).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { map, timer, VirtualTimeScheduler } from 'rxjs';
import { createExecutor, type GraphOrder, type GraphTask, runGraph } from '../src/index.js';

interface Dag {
  /** deps[i] are indices < i. */
  readonly deps: number[][];
  readonly costs: number[];
}

/** mulberry32: a small seeded generator, so every run prints the same table. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (rnd: () => number, min: number, max: number) =>
  min + Math.floor(rnd() * (max - min + 1));

/** Random DAG: each task depends on up to 3 of the 10 tasks before it; costs 1..20. */
function layered(rnd: () => number, n: number): Dag {
  const deps: number[][] = [];
  const costs: number[] = [];
  for (let i = 0; i < n; i++) {
    const set = new Set<number>();
    const k = i === 0 ? 0 : int(rnd, 0, 3);
    for (let j = 0; j < k; j++) set.add(Math.max(0, i - 1 - int(rnd, 0, 9)));
    deps.push([...set]);
    costs.push(int(rnd, 1, 20));
  }
  return { deps, costs };
}

/**
 * Deep and unbalanced: a long spine of heavy tasks (each depending on the previous one),
 * with short side tasks hanging off random spine tasks, and independent short tasks.
 */
function deepUnbalanced(rnd: () => number, n: number): Dag {
  const spine = Math.max(2, Math.floor(n / 6));
  const deps: number[][] = [];
  const costs: number[] = [];
  for (let i = 0; i < spine; i++) {
    deps.push(i === 0 ? [] : [i - 1]);
    costs.push(int(rnd, 8, 16));
  }
  for (let i = spine; i < n; i++) {
    deps.push(rnd() < 0.5 ? [int(rnd, 0, spine - 1)] : []);
    costs.push(int(rnd, 1, 6));
  }
  return { deps, costs };
}

/** Fork-join: chains of very different lengths between a fork and a join. */
function forkJoin(rnd: () => number, n: number): Dag {
  const deps: number[][] = [[]];
  const costs: number[] = [1];
  const ends: number[] = [];
  while (deps.length < n - 1) {
    const length = Math.min(n - 1 - deps.length, rnd() < 0.2 ? int(rnd, 10, 25) : int(rnd, 1, 3));
    let previous = 0;
    for (let j = 0; j < length; j++) {
      deps.push([previous]);
      costs.push(int(rnd, 2, 12));
      previous = deps.length - 1;
    }
    ends.push(previous);
  }
  deps.push(ends);
  costs.push(1);
  return { deps, costs };
}

/** Shuffles the definition order, so that FIFO's tie-breaking by definition is not rigged. */
function shuffledNames(rnd: () => number, n: number): string[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order.map((i) => `t${i}`);
}

function lowerBound(dag: Dag, cap: number): number {
  const finish: number[] = [];
  dag.deps.forEach((deps, i) => {
    finish[i] = Math.max(0, ...deps.map((d) => finish[d] as number)) + (dag.costs[i] as number);
  });
  const work = dag.costs.reduce((a, b) => a + b, 0);
  return Math.max(Math.max(...finish), work / cap);
}

/** One run of `runGraph` in virtual time; returns its makespan. */
function makespan(
  dag: Dag,
  definition: string[],
  options: { cap: number; order: GraphOrder; declareCosts: boolean; runs: number },
): number {
  const scheduler = new VirtualTimeScheduler();
  scheduler.maxFrames = Number.POSITIVE_INFINITY;
  const clock = { now: () => scheduler.now() };
  const executor = createExecutor({ concurrency: options.cap, clock });
  let result = Number.NaN;
  for (let r = 0; r < options.runs; r++) {
    const tasks: Record<string, GraphTask> = {};
    for (const name of definition) {
      const i = Number(name.slice(1));
      tasks[name] = {
        deps: (dag.deps[i] as number[]).map((d) => `t${d}`),
        cost: options.declareCosts ? dag.costs[i] : undefined,
        run: () => timer(dag.costs[i] as number, scheduler).pipe(map(() => i)),
      };
    }
    runGraph(tasks, { executor, order: options.order, clock }).subscribe((event) => {
      if (event.type === 'graph-completed') result = event.durationMs;
    });
    scheduler.flush();
  }
  return result;
}

const SHAPES = [
  { id: 'deep, unbalanced (spine + side tasks)', make: deepUnbalanced },
  { id: 'fork-join, chains of mixed length', make: forkJoin },
  { id: 'random layered DAG', make: layered },
] as const;

/** Options of {@link measureCriticalPath}. */
export interface CriticalPathOptions {
  /** DAGs per shape. Default 30. */
  readonly seeds?: number;
  /** The executor's cap. Default 4. */
  readonly cap?: number;
  /** Tasks per DAG. Default 120. */
  readonly tasks?: number;
}

/** One shape's results: mean makespans (virtual ms) and the FIFO / CP ratio. */
export interface CriticalPathRow {
  readonly shape: string;
  readonly tasks: number;
  readonly cap: number;
  readonly fifo: number;
  readonly criticalPath: number;
  readonly learned: number;
  readonly lowerBound: number;
  /** Geometric mean of FIFO / CP over the DAGs. */
  readonly ratio: number;
  readonly maxRatio: number;
  readonly wins: number;
  readonly losses: number;
  readonly ties: number;
}

/** Runs every shape on `seeds` seeded DAGs, in virtual time; deterministic. */
export function measureCriticalPath(options: CriticalPathOptions = {}): CriticalPathRow[] {
  const seeds = options.seeds ?? 30;
  const cap = options.cap ?? 4;
  const n = options.tasks ?? 120;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const geomean = (xs: number[]) => Math.exp(mean(xs.map(Math.log)));
  return SHAPES.map((shape) => {
    const fifo: number[] = [];
    const cp: number[] = [];
    const learned: number[] = [];
    const bound: number[] = [];
    const ratios: number[] = [];
    let wins = 0;
    let losses = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const rnd = random(seed * 7919 + shape.id.length);
      const dag = shape.make(rnd, n);
      const names = shuffledNames(rnd, dag.deps.length);
      const a = makespan(dag, names, { cap, order: 'fifo', declareCosts: true, runs: 1 });
      const b = makespan(dag, names, { cap, order: 'critical-path', declareCosts: true, runs: 1 });
      const c = makespan(dag, names, { cap, order: 'critical-path', declareCosts: false, runs: 2 });
      fifo.push(a);
      cp.push(b);
      learned.push(c);
      bound.push(lowerBound(dag, cap));
      ratios.push(a / b);
      if (b < a) wins++;
      if (b > a) losses++;
    }
    return {
      shape: shape.id,
      tasks: n,
      cap,
      fifo: mean(fifo),
      criticalPath: mean(cp),
      learned: mean(learned),
      lowerBound: mean(bound),
      ratio: geomean(ratios),
      maxRatio: Math.max(...ratios),
      wins,
      losses,
      ties: seeds - wins - losses,
    };
  });
}

/** The rows as a Markdown table. */
export function criticalPathMarkdown(rows: readonly CriticalPathRow[]): string {
  const f = (x: number) => x.toFixed(1);
  return [
    '| DAG shape | tasks | cap | FIFO makespan | CP makespan | CP learned (2nd run, no costs) | lower bound | FIFO / CP (geomean) | CP wins/losses/ties |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.shape} | ${r.tasks} | ${r.cap} | ${f(r.fifo)} | ${f(r.criticalPath)} | ${f(r.learned)} | ${f(r.lowerBound)} | **${r.ratio.toFixed(2)}x** (max ${r.maxRatio.toFixed(2)}x) | ${r.wins}/${r.losses}/${r.ties} |`,
    ),
  ].join('\n');
}

function main(): void {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '30' },
      cap: { type: 'string', default: '4' },
      tasks: { type: 'string', default: '120' },
    },
  });
  const options = {
    seeds: Number(values.seeds),
    cap: Number(values.cap),
    tasks: Number(values.tasks),
  };
  console.log(
    `Critical-path vs FIFO ready order: real runGraph in virtual time, ${options.seeds} seeded DAGs per shape, executor cap ${options.cap}.\n`,
  );
  console.log(criticalPathMarkdown(measureCriticalPath(options)));
}

// Run only when executed (`node --import tsx bench/criticalPath.ts`), not when imported.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main();
}
