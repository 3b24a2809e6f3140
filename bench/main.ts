/**
 * `npm run bench`: eed against its peers, side by side in one process. Prints Markdown
 * tables to stdout (progress goes to stderr); see `--help`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { type CaseResult, caseToMarkdown } from './harness.js';
import { resultsDir } from './paths.js';
import { PROFILES, type Profile } from './profiles.js';
import { CASES, runSuite } from './suite.js';

const HELP = `Usage: npm run bench -- [--quick] [--json] [--out FILE] [--only ID,ID...]

  --quick        short sizes and fewer rounds (under a minute)
  --json         also write machine-readable results to bench/results/<profile>-<time>.json
  --out FILE     write the JSON there instead (implies --json)
  --only IDS     run only these cases: ${CASES.map((c) => c.id).join(', ')}
  --profile P    full (default), quick or tiny

Run with node --expose-gc (npm run bench does) so a GC is forced between runs.`;

/** The machine, for the report. */
export function machine() {
  const list = cpus();
  return {
    cpu: list[0]?.model ?? 'unknown',
    cores: list.length,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    /** 1-minute load average when the run started and ended (other processes share the cores). */
    loadAverage: loadavg()[0] ?? 0,
    gcExposed: typeof globalThis.gc === 'function',
  };
}

/** The report as Markdown. */
export function toMarkdown(
  results: readonly CaseResult[],
  profile: Profile,
  command: string,
  loadAtStart: number,
) {
  const m = machine();
  const head = [
    `## eed benchmarks (${profile.name})`,
    '',
    `- machine: ${m.cores} cores, ${m.cpu}, ${m.memoryGb} GiB, ${m.platform}`,
    `- load average (1 min) at start / end: ${loadAtStart.toFixed(2)} / ${m.loadAverage.toFixed(2)}`,
    `- node ${m.node}${m.gcExposed ? ', --expose-gc' : ''}`,
    `- date: ${new Date().toISOString()}`,
    `- command: \`${command}\``,
    '',
    'Ratios are times: "time vs fastest peer" 0.50x means half the time of the fastest peer (twice as fast); "time vs floor" 3.00x means three times the floor\'s time.',
    '',
  ];
  const missed = results.flatMap((r) => r.targets.filter((t) => !t.met));
  const failed = results.flatMap((r) => r.checks.filter((c) => !c.ok));
  const summary = [
    '### Summary',
    '',
    `- targets met: ${results.reduce((n, r) => n + r.targets.filter((t) => t.met).length, 0)} of ${results.reduce((n, r) => n + r.targets.length, 0)}`,
    ...missed.map((t) => `- **missed**: ${t.description} (${t.measured})`),
    `- answer checks: ${failed.length === 0 ? 'all agree' : `${failed.length} disagree`}`,
    '',
  ];
  return [...head, ...results.map(caseToMarkdown), ...summary].join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      out: { type: 'string' },
      only: { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const name = values.profile ?? (values.quick ? 'quick' : 'full');
  if (!(name in PROFILES)) throw new Error(`unknown profile ${name}; use full, quick or tiny`);
  const profile = PROFILES[name as keyof typeof PROFILES];
  const only = values.only?.split(',').filter((id) => id !== '') ?? [];
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const started = performance.now();
  const loadAtStart = loadavg()[0] ?? 0;
  const results = await runSuite({
    profile,
    only,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${toMarkdown(results, profile, command, loadAtStart)}\nTotal time: ${seconds.toFixed(0)} s\n`,
  );

  if (values.json || values.out !== undefined) {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const file = values.out ?? join(resultsDir, `${profile.name}-${stamp}.json`);
    mkdirSync(dirname(file), { recursive: true });
    const report = {
      profile: profile.name,
      date: new Date().toISOString(),
      command,
      seconds,
      machine: { ...machine(), loadAverageAtStart: loadAtStart },
      cases: results,
    };
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    process.stderr.write(`# wrote ${relative(process.cwd(), file)}\n`);
  }
  const failed = results.flatMap((r) => r.checks.filter((c) => !c.ok));
  if (failed.length > 0) process.exitCode = 1;
}

await main();
