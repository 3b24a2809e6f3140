/**
 * The comparison harness: every contender of a case runs the identical work in the same
 * process, alternating round by round, after a warm-up.
 *
 * Why tinybench (and not mitata): each measured unit here is one *whole run* of an async
 * workload (100,000 tasks through a scheduler, say), not a nanosecond-scale function.
 * tinybench is a small, dependency-free library API that awaits async task functions
 * correctly, lets a round run an exact number of iterations (`time: 0`), runs hooks outside
 * the timed window (we force a GC and warm the contender up there, so one contender's
 * garbage is not billed to the next), and hands back the raw samples, so the harness can pool samples over several
 * rounds in rotating order (tinybench alone runs task after task, which would let CPU
 * frequency or a noisy neighbour favour whichever contender ran in a quiet moment).
 * mitata's strengths (CPU counters, nanosecond loops, its own console renderer) are not
 * what these cases need, and its async support is the less documented path. It is also
 * the library vitest's `bench` is built on, so the numbers can be reproduced there.
 */
import { Bench } from 'tinybench';
import { collectGarbage, median } from './util.js';

/**
 * What a contender is in a comparison. A `reference` is shown for context but does other
 * work than the rest (a peer storing bare numbers where the others store entries), so no
 * ratio is taken against it.
 */
export type Role = 'eed' | 'peer' | 'floor' | 'reference';

/** One way of doing a case's work. `run` does the whole workload once and returns its answer. */
export interface Contender<A> {
  readonly name: string;
  readonly role: Role;
  run(): Promise<A> | A;
  /**
   * Whether this contender's answer must equal the first eed contender's. Default true;
   * false where the contender legitimately differs (a bare `Map` never evicts).
   */
  readonly checkAnswer?: boolean;
}

/** How long a comparison runs. */
export interface Effort {
  /** Measured rounds; each runs every contender `iterations` times, order rotated per round. */
  readonly rounds: number;
  readonly iterations: number;
  /**
   * Unmeasured runs of a contender right before its measured ones in every round, after
   * the forced GC. The first of them is reported as the cold time (see {@link compare}).
   */
  readonly warmup: number;
}

/** A table cell. */
export type Cell = string | number | boolean | null;

/** How a numeric column is printed. */
export type Format = 'int' | 'ops' | 'us' | 'ratio' | 'pct' | 'mb' | 'ms' | 'text' | 'fixed2';

/** A column of a result table. */
export interface Column {
  readonly key: string;
  readonly label: string;
  readonly format: Format;
}

/** A result table: what gets printed as Markdown and written as JSON. */
export interface Table {
  readonly title: string;
  readonly columns: readonly Column[];
  readonly rows: readonly Record<string, Cell>[];
  readonly notes?: readonly string[];
}

/** A target of issue 9 (or 4/5), with whether this run met it. */
export interface Target {
  readonly description: string;
  readonly met: boolean;
  readonly measured: string;
}

/** A correctness check: a peer computed the same answer as eed. */
export interface Check {
  readonly description: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Everything one case produced. */
export interface CaseResult {
  readonly id: string;
  readonly title: string;
  readonly tables: readonly Table[];
  readonly targets: readonly Target[];
  readonly checks: readonly Check[];
  /** Free-form output, printed as a code block (a skip reason, a child's error). */
  readonly text?: string;
  /** Markdown printed as is (a benchmark that renders its own table). */
  readonly markdown?: string;
  /** Machine-readable data for the JSON report only. */
  readonly data?: unknown;
}

/** One contender's throughput in a comparison. */
export interface ThroughputRow {
  readonly name: string;
  readonly role: Role;
  /** Median wall time of one run of the workload (ms), warm. */
  readonly msPerRun: number;
  /**
   * Median time of the first run after a forced GC (us per unit), null without warm-up
   * runs: what a contender costs before V8 has (re)optimized its code.
   */
  readonly coldUsPerOp: number | null;
  /** Units of work per second (tasks, requests, operations...). */
  readonly opsPerSec: number;
  /** Microseconds per unit. */
  readonly usPerOp: number;
  /** Half-width of a 95% interval of the mean run time, in % of it. */
  readonly rme: number;
  readonly samples: number;
  /** This contender's time / the fastest peer's (0.5 = twice as fast); null without peers. */
  readonly vsPeer: number | null;
  /** This contender's time / the floor's (10 = ten times slower); null without a floor. */
  readonly vsFloor: number | null;
}

/** The outcome of {@link compare}. */
export interface Comparison {
  readonly rows: readonly ThroughputRow[];
  readonly checks: readonly Check[];
  /** Each contender's answer from the verification run. */
  readonly answers: ReadonlyMap<string, string>;
}

const describeAnswer = (answer: unknown): string =>
  typeof answer === 'string' ? answer : JSON.stringify(answer);

/**
 * Runs every contender once to verify its answer against the first eed contender's, then
 * measures them: `effort.rounds` rounds, each a tinybench run of every contender with the
 * contenders' order rotated from round to round. Before a contender's measured runs in a
 * round, the harness forces a GC (so the previous contender's garbage is not billed to it)
 * and then runs it `effort.warmup` times unmeasured. Its `effort.iterations` measured runs
 * follow with no forced GC in between: its own garbage is collected as it would be in use.
 *
 * Why the warm-up comes after the GC: a forced full GC collects the hidden classes (maps)
 * of objects of which no instance is left alive, and V8 then throws away every optimized
 * function that depended on them ("weak objects" in `--trace-deopt`). A fresh engine,
 * loader or queue per run leaves nothing alive, so the first run after a GC re-optimizes
 * the contender's code on the way; it is reported separately as the cold time. Samples
 * are pooled over rounds; the medians are reported.
 */
export async function compare<A>(
  title: string,
  units: number,
  contenders: readonly Contender<A>[],
  effort: Effort,
): Promise<Comparison> {
  const answers = new Map<string, string>();
  for (const contender of contenders) {
    collectGarbage();
    answers.set(contender.name, describeAnswer(await contender.run()));
  }
  const reference = contenders.find((c) => c.role === 'eed');
  const checks: Check[] = [];
  if (reference !== undefined) {
    const expected = answers.get(reference.name);
    for (const contender of contenders) {
      if (contender === reference || contender.checkAnswer === false) continue;
      const actual = answers.get(contender.name);
      checks.push({
        description: `${title}: ${contender.name} computes the same answer as ${reference.name}`,
        ok: actual === expected,
        detail: actual === expected ? `${actual}` : `expected ${expected}, got ${actual}`,
      });
    }
  }

  const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const coldSamples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const warmUp = async (contender: Contender<A>) => {
    collectGarbage();
    for (let i = 0; i < effort.warmup; i++) {
      const start = performance.now();
      await contender.run();
      if (i === 0) coldSamples.get(contender.name)?.push(performance.now() - start);
    }
  };
  for (let round = 0; round < effort.rounds; round++) {
    const bench = new Bench({
      iterations: effort.iterations,
      time: 0,
      warmup: false,
      retainSamples: true,
      throws: true,
    });
    const shift = round % contenders.length;
    const order = [...contenders.slice(shift), ...contenders.slice(0, shift)];
    for (const contender of order) {
      bench.add(contender.name, () => contender.run(), { beforeAll: () => warmUp(contender) });
    }
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result;
      if (result.state !== 'completed') {
        throw new Error(`${title}: ${task.name} did not complete (${result.state})`);
      }
      samples.get(task.name)?.push(...(result.latency.samples ?? []));
    }
  }

  const measured = contenders.map((contender) => {
    const times = samples.get(contender.name) ?? [];
    const msPerRun = median(times);
    const cold = coldSamples.get(contender.name) ?? [];
    const coldUsPerOp = cold.length > 0 ? (median(cold) * 1000) / units : null;
    return {
      contender,
      msPerRun,
      coldUsPerOp,
      rme: relativeMarginOfError(times),
      samples: times.length,
    };
  });
  const peerTimes = measured.filter((m) => m.contender.role === 'peer').map((m) => m.msPerRun);
  const fastestPeer = peerTimes.length > 0 ? Math.min(...peerTimes) : undefined;
  const floor = measured.find((m) => m.contender.role === 'floor')?.msPerRun;
  const rows = measured.map(
    ({ contender, msPerRun, coldUsPerOp, rme, samples: count }): ThroughputRow => ({
      name: contender.name,
      role: contender.role,
      msPerRun,
      coldUsPerOp,
      opsPerSec: (units * 1000) / msPerRun,
      usPerOp: (msPerRun * 1000) / units,
      rme,
      samples: count,
      vsPeer: fastestPeer === undefined ? null : msPerRun / fastestPeer,
      vsFloor: floor === undefined ? null : msPerRun / floor,
    }),
  );
  return { rows, checks, answers };
}

/** 95% margin of error of the mean of `times`, relative to it (normal approximation). */
function relativeMarginOfError(times: readonly number[]): number {
  if (times.length < 2) return Number.NaN;
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const variance = times.reduce((a, b) => a + (b - mean) ** 2, 0) / (times.length - 1);
  return (100 * 1.96 * Math.sqrt(variance / times.length)) / mean;
}

/** The columns of a throughput table. */
export const THROUGHPUT_COLUMNS: readonly Column[] = [
  { key: 'name', label: 'contender', format: 'text' },
  { key: 'role', label: 'role', format: 'text' },
  { key: 'opsPerSec', label: 'ops/s', format: 'ops' },
  { key: 'usPerOp', label: 'us/op', format: 'us' },
  { key: 'vsPeer', label: 'time vs fastest peer', format: 'ratio' },
  { key: 'vsFloor', label: 'time vs floor', format: 'ratio' },
  { key: 'rme', label: '±%', format: 'fixed2' },
  { key: 'samples', label: 'runs', format: 'int' },
  { key: 'coldUsPerOp', label: 'cold us/op', format: 'us' },
];

/** A throughput table from a comparison. */
export function throughputTable(
  title: string,
  comparison: Comparison,
  notes?: readonly string[],
): Table {
  return {
    title,
    columns: THROUGHPUT_COLUMNS,
    rows: comparison.rows.map((row) => ({
      name: row.name,
      role: row.role,
      opsPerSec: row.opsPerSec,
      usPerOp: row.usPerOp,
      vsPeer: row.vsPeer,
      vsFloor: row.vsFloor,
      rme: row.rme,
      samples: row.samples,
      coldUsPerOp: row.coldUsPerOp,
    })),
    notes,
  };
}

/** The row named `name`; throws when missing (a case wiring error). */
export function row(comparison: Comparison, name: string): ThroughputRow {
  const found = comparison.rows.find((r) => r.name === name);
  if (found === undefined) throw new Error(`no contender named ${name}`);
  return found;
}

/** The fastest peer row. */
export function fastestPeer(comparison: Comparison): ThroughputRow {
  const peers = comparison.rows.filter((r) => r.role === 'peer');
  const best = peers.reduce<ThroughputRow | undefined>(
    (a, b) => (a === undefined || b.msPerRun < a.msPerRun ? b : a),
    undefined,
  );
  if (best === undefined) throw new Error('no peer');
  return best;
}

/** Formats `x` as a ratio with two significant decimals, e.g. `0.42x`. */
export const times = (x: number): string => `${x.toFixed(x < 10 ? 2 : 1)}x`;

/** Formats one cell for Markdown. */
export function formatCell(value: Cell, format: Format): string {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return Number.isNaN(value) ? '–' : String(value);
  switch (format) {
    case 'int':
      return Math.round(value).toLocaleString('en-US');
    case 'ops':
      return Math.round(value).toLocaleString('en-US');
    case 'us':
      return value < 10 ? value.toFixed(3) : value.toFixed(1);
    case 'ratio':
      return times(value);
    case 'pct':
      return `${(value * 100).toFixed(1)}%`;
    case 'mb':
      return value.toFixed(1);
    case 'ms':
      return value < 10 ? value.toFixed(2) : value.toFixed(1);
    case 'fixed2':
      return value.toFixed(2);
    default:
      return String(value);
  }
}

/** A table as Markdown. */
export function tableToMarkdown(table: Table): string {
  const header = `| ${table.columns.map((c) => c.label).join(' | ')} |`;
  const rule = `| ${table.columns.map((c) => (c.format === 'text' ? '---' : '---:')).join(' | ')} |`;
  const body = table.rows.map(
    (r) => `| ${table.columns.map((c) => formatCell(r[c.key] ?? null, c.format)).join(' | ')} |`,
  );
  const notes = (table.notes ?? []).map((n) => `\n_${n}_`);
  return [`**${table.title}**`, '', header, rule, ...body, ...notes].join('\n');
}

/** A case's tables, targets and checks as Markdown. */
export function caseToMarkdown(result: CaseResult): string {
  const parts = [`### ${result.title}`, ''];
  for (const table of result.tables) parts.push(tableToMarkdown(table), '');
  if (result.markdown !== undefined) parts.push(result.markdown.trimEnd(), '');
  if (result.text !== undefined) parts.push('```', result.text.trimEnd(), '```', '');
  if (result.targets.length > 0) {
    parts.push('Targets:', '');
    for (const t of result.targets) {
      parts.push(`- ${t.met ? 'met' : '**missed**'}: ${t.description} (${t.measured})`);
    }
    parts.push('');
  }
  const failed = result.checks.filter((c) => !c.ok);
  if (result.checks.length > 0) {
    parts.push(
      failed.length === 0
        ? `Answers: all ${result.checks.length} checks agree with eed.`
        : `Answers: **${failed.length} of ${result.checks.length} checks disagree**: ${failed.map((c) => `${c.description} (${c.detail})`).join('; ')}`,
      '',
    );
  }
  return parts.join('\n');
}

/** A benchmark case of the suite. */
export interface BenchCase<P> {
  readonly id: string;
  readonly title: string;
  run(profile: P): Promise<CaseResult>;
}
