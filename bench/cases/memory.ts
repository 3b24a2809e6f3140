/**
 * Case 5, memory: `items` values through each contender at concurrency 10 with a slow
 * consumer, each in a child process of its own (`--expose-gc`), sampling the live heap
 * (after a forced GC) as values are consumed. Reports the peak above the baseline.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { BenchCase, Check } from '../harness.js';
import { childCwd, childNodeArgs, scriptPath } from '../paths.js';
import type { Profile } from '../profiles.js';
import { median, triangular } from '../util.js';

const run = promisify(execFile);

/** Runs per contender (alternating order); one keeps a full run within its time budget. */
const REPEATS = 1;

const CONTENDERS = [
  { name: 'parallelMap', role: 'eed' },
  { name: 'mergeMap', role: 'peer' },
  { name: 'p-map', role: 'peer' },
  { name: 'floor', role: 'floor' },
] as const;

interface ChildReport {
  readonly contender: string;
  readonly items: number;
  readonly sum: number;
  readonly peakMb: number;
  readonly baselineMb: number;
  readonly ms: number;
}

/** Runs one contender in a fresh `node --expose-gc` process. */
export async function runChild(name: string, items: number, samples: number): Promise<ChildReport> {
  const { stdout } = await run(
    process.execPath,
    [
      '--expose-gc',
      ...childNodeArgs,
      scriptPath('memoryChild'),
      name,
      String(items),
      String(samples),
    ],
    { cwd: childCwd, maxBuffer: 1 << 20 },
  );
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as ChildReport;
}

export const memoryCase: BenchCase<Profile> = {
  id: 'memory',
  title: '5. Memory',
  async run(profile) {
    const { items, samples } = profile.memory;
    const reports = new Map<string, ChildReport[]>(CONTENDERS.map((c) => [c.name, []]));
    for (let r = 0; r < REPEATS; r++) {
      for (const contender of r % 2 === 0 ? CONTENDERS : [...CONTENDERS].reverse()) {
        reports.get(contender.name)?.push(await runChild(contender.name, items, samples));
      }
    }
    const rows = CONTENDERS.map((contender) => {
      const list = reports.get(contender.name) ?? [];
      return {
        name: contender.name === 'parallelMap' ? 'eed parallelMap' : contender.name,
        role: contender.role,
        peakMb: median(list.map((report) => report.peakMb)),
        baselineMb: median(list.map((report) => report.baselineMb)),
        ms: median(list.map((report) => report.ms)),
        sum: list[0]?.sum ?? null,
      };
    });
    const pm = rows[0] as (typeof rows)[number];
    const mm = rows[1] as (typeof rows)[number];
    const checks: Check[] = rows.map((r) => ({
      description: `memory: ${r.name} consumes every value (sum ${triangular(items)})`,
      ok: r.sum === triangular(items),
      detail: `${r.sum}`,
    }));
    return {
      id: this.id,
      title: this.title,
      tables: [
        {
          title: `${items.toLocaleString('en-US')} items at concurrency 10 with a slow consumer: peak live heap above baseline`,
          columns: [
            { key: 'name', label: 'contender', format: 'text' },
            { key: 'role', label: 'role', format: 'text' },
            { key: 'peakMb', label: 'peak heap (MB)', format: 'mb' },
            { key: 'vsMergeMap', label: 'vs mergeMap', format: 'ratio' },
            { key: 'ms', label: 'wall ms (with forced GCs)', format: 'ms' },
          ],
          rows: rows.map((r) => ({
            name: r.name,
            role: r.role,
            peakMb: r.peakMb,
            vsMergeMap: r.peakMb / mm.peakMb,
            ms: r.ms,
          })),
          notes: [
            `Each contender in its own process; heap sampled ${samples} times after a forced GC; median of ${REPEATS} run(s). Sources: rxjs range for parallelMap/mergeMap (pushes every value at once), a generator pulled by p-map, a shared counter for the floor. p-limit, which gets all ${items.toLocaleString('en-US')} tasks up front as its users write it, is left out for time: at 1,000,000 items it needed 962 MB and 107 s in a trial run on this machine (\`node --expose-gc --import tsx bench/memoryChild.ts p-limit 1000000 100\` runs it).`,
          ],
        },
      ],
      targets: [
        {
          description: "case 5: parallelMap's peak heap within 2x of mergeMap's",
          met: pm.peakMb <= 2 * mm.peakMb,
          measured: `${pm.peakMb.toFixed(1)} MB vs ${mm.peakMb.toFixed(1)} MB`,
        },
      ],
      checks,
    };
  },
};
