import type { MetricsSnapshot } from 'eed';
import { formatBytes, formatCount, formatPercent, formatSeconds, plural } from './format.js';

/** One row of the heaviest-packages table. */
export interface PackageRow {
  /** Where it is installed, relative to `node_modules`: `rxjs`, `tsup/node_modules/esbuild`. */
  rel: string;
  version: string;
  /** Transitive dependency count. */
  deps: number;
  /** Bytes of its own files. */
  own: number;
  /** Installed size: its own bytes plus each transitive dependency's, once. */
  total: number;
}

export function printHeaviest(rows: PackageRow[], packages: number): void {
  const width = Math.max(7, ...rows.map((row) => row.rel.length));
  const versionWidth = Math.max(7, ...rows.map((row) => row.version.length));
  console.log(
    `\nHeaviest packages (${rows.length} of ${formatCount(packages)}), by installed size: ` +
      'own files plus every transitive dependency once',
  );
  console.log(
    `  ${'package'.padEnd(width)}  ${'version'.padEnd(versionWidth)}  ${'deps'.padStart(5)}` +
      `  ${'own'.padStart(9)}  ${'installed'.padStart(9)}`,
  );
  for (const row of rows) {
    console.log(
      `  ${row.rel.padEnd(width)}  ${row.version.padEnd(versionWidth)}  ` +
        `${formatCount(row.deps).padStart(5)}  ${formatBytes(row.own).padStart(9)}  ` +
        `${formatBytes(row.total).padStart(9)}`,
    );
  }
}

/** The metrics table, each number with what it means. */
export function printMetrics(
  m: MetricsSnapshot,
  concurrency: number,
  tierNames: readonly string[] = ['memory', 'disk'],
): void {
  const lookups = m.cacheHits + m.cacheMisses;
  const tier = (index: number) => formatPercent(m.tiers[index]?.hitRate ?? 0);
  const rows: [string, string, string][] = [
    ['runs', formatCount(m.requests), 'engine.run calls: each package, and each dependency edge'],
    ['executions', formatCount(m.executions), 'package digests computed (work called)'],
    [
      'cache hit rate',
      formatPercent(m.cacheHitRate),
      `of ${formatCount(lookups)} lookups (${tierNames.map((name, i) => `${name} ${tier(i)}`).join(', ')})`,
    ],
    [
      'dedupe rate',
      formatPercent(m.dedupeRate),
      `${formatCount(m.joins)} runs joined a digest already in flight`,
    ],
    [
      'redundancy rate',
      formatPercent(m.redundancyRate),
      `${formatCount(m.redundantExecutions)} executions of a key in flight or cached`,
    ],
    [
      'parallelization',
      formatPercent(m.parallelizationRatio),
      `of ${formatCount(m.tasks.completed + m.tasks.failed)} tasks overlapped another task`,
    ],
    [
      'utilization',
      formatPercent(m.utilization),
      `busy slot time / (${concurrency} slots x ${formatSeconds(m.activeMs)} active)`,
    ],
    [
      'overlap',
      `${m.speedup.toFixed(1)}x`,
      'eed\'s "speedup": sum of task durations / active wall time',
    ],
    [
      'latency p50',
      formatSeconds(m.latency.completion.p50),
      `p95 ${formatSeconds(m.latency.completion.p95)}, from engine.run to its result`,
    ],
  ];
  console.log('\nMetrics (engine.metrics()):');
  for (const [name, value, meaning] of rows) {
    console.log(`  ${name.padEnd(16)}${value.padStart(9)}  ${meaning}`);
  }
  console.log(
    '  (overlap is how many tasks ran at once on average, not a speedup over a serial run:\n' +
      '   for that, compare the wall time with --fresh --concurrency 1)',
  );
}

/** Says whether the run was served from the cache, and how fast. */
export function printCacheVerdict(
  m: MetricsSnapshot,
  fresh: boolean,
  analysedMs: number,
  tierNames: readonly string[] = ['memory', 'disk'],
): void {
  const hits = (tier: number) => formatCount(m.tiers[tier]?.hits ?? 0);
  const time = formatSeconds(analysedMs);
  if (fresh) {
    console.log(
      `\nComputed without the disk cache (--fresh): ${plural(m.executions, 'execution')}, ${time}.`,
    );
  } else if (m.executions === 0 && m.cacheHits > 0) {
    console.log(
      `\nServed from cache: ${formatPercent(m.cacheHitRate)} hits (` +
        `${[...tierNames.slice(1).map((name, i) => `${hits(i + 1)} from ${name}`), `${hits(0)} from memory`].join(', ')}), 0 executions, ${time}.`,
    );
  } else {
    console.log(
      `\nCache: ${formatPercent(m.cacheHitRate)} hits, ${plural(m.executions, 'execution')}, ` +
        `${time}; what succeeded is stored ${tierNames
          .slice(1)
          .map((name) => (name === 'disk' ? 'on disk' : `in ${name}`))
          .join(' and ')} for the next run.`,
    );
  }
}
