/**
 * `npm run demo`: hashes every file of an installed `node_modules` (SHA-256, streamed)
 * on one shared eed executor, then prints the ten heaviest packages and what the
 * executor did. Run with `--help` for the flags.
 */
import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { tap } from 'rxjs';
import { parallelMap } from '../../operators/index.js';
import { createExecutor } from '../../src/index.js';
import { type FileHash, hashFile, hashPackage } from './hash.js';
import {
  formatBytes,
  formatCount,
  formatSeconds,
  meterExecutor,
  type PackageRow,
  Progress,
  printPackages,
  printSummary,
} from './report.js';
import { describeError, type FoundFile, type Problem, walk } from './walk.js';

const HELP = `Usage: npm run demo -- [--dir PATH] [--concurrency N]

Hashes every file of a node_modules directory (SHA-256, streamed) with eed's
parallelMap on one shared executor, then prints the ten heaviest packages and
what the executor did.

  --dir PATH         node_modules to analyse, or a project that contains one
                     (default: this package's own node_modules)
  --concurrency N    most tasks running at once, 1 to 1024 (default 16)
  --help             show this help

Exit code: 0 on success; 1 if the directory is missing or some file in it
could not be read (the rest is still analysed); 2 for bad arguments.`;

/** Parses the command line; exits with code 2 and a message on bad input. */
function parseCommandLine(): { dir: string; concurrency: number } {
  const usageError = (message: string): never => {
    console.error(`error: ${message}\nRun with --help for usage.`);
    process.exit(2);
  };
  let values: { dir?: string; concurrency?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        dir: { type: 'string' },
        concurrency: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    return usageError((error as Error).message);
  }
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const raw = values.concurrency ?? '16';
  const concurrency = Number(raw);
  if (!/^\d+$/.test(raw) || concurrency < 1 || concurrency > 1024) {
    usageError(`--concurrency must be an integer from 1 to 1024; received "${raw}"`);
  }
  const dir = values.dir ?? fileURLToPath(new URL('../../node_modules', import.meta.url));
  return { dir: resolve(dir), concurrency };
}

/** The node_modules to walk: `dir` itself, or `dir/node_modules` for a project directory. */
async function findRoot(dir: string): Promise<string | undefined> {
  const isDirectory = (path: string) =>
    stat(path).then(
      (info) => info.isDirectory(),
      () => false,
    );
  if (!(await isDirectory(dir))) return undefined;
  const nested = join(dir, 'node_modules');
  return basename(dir) !== 'node_modules' && (await isDirectory(nested)) ? nested : dir;
}

type Outcome = { file: FoundFile; hash: FileHash } | { file: FoundFile; error: unknown };

async function main(): Promise<void> {
  const { dir, concurrency } = parseCommandLine();
  const root = await findRoot(dir);
  if (root === undefined) {
    console.error(`error: ${dir} is not a directory (or cannot be reached)`);
    process.exit(1);
  }
  console.log(`Hashing ${root} with concurrency ${concurrency}`);

  // One executor for all the I/O: directory reads (critical) and file hashing (normal)
  // share its `concurrency` slots. Meter it before any work starts.
  const executor = createExecutor({ concurrency });
  const meter = meterExecutor(executor);
  const progress = new Progress();
  const problems: Problem[] = [];
  const packages = new Map<string, { files: { rel: string; sha256: string }[]; bytes: number }>();
  const started = performance.now();

  const outcomes$ = walk(root, executor, (problem) => problems.push(problem)).pipe(
    tap({
      next: () => progress.found++,
      complete: () => {
        progress.listing = false;
      },
    }),
    parallelMap(
      // A file that cannot be read becomes an outcome, not an error: an error would tear
      // the whole pipeline down. An abort (Ctrl-C) still rejects, and ends the run.
      (file, _index, signal): Promise<Outcome> =>
        hashFile(file.path, signal).then(
          (hash) => ({ file, hash }),
          (error: unknown) => {
            if (signal.aborted) throw error;
            return { file, error };
          },
        ),
      { executor, priority: 'normal', label: 'hash' },
    ),
  );

  await new Promise<void>((done, fail) => {
    const subscription = outcomes$.subscribe({
      next: (outcome) => {
        progress.done++;
        if ('error' in outcome) {
          problems.push({ path: outcome.file.path, message: describeError(outcome.error) });
        } else {
          const pkg = packages.get(outcome.file.pkg) ?? { files: [], bytes: 0 };
          pkg.files.push({ rel: outcome.file.rel, sha256: outcome.hash.sha256 });
          pkg.bytes += outcome.hash.size;
          packages.set(outcome.file.pkg, pkg);
          progress.bytes += outcome.hash.size;
        }
        progress.update();
      },
      error: fail,
      complete: done,
    });
    // Ctrl-C: unsubscribing aborts every running task's signal, which destroys its stream.
    process.once('SIGINT', () => {
      subscription.unsubscribe();
      console.error('\ninterrupted: running reads aborted');
      process.exit(130);
    });
  });
  const wallMs = performance.now() - started;
  progress.update(true);
  meter.stop();

  const rows: PackageRow[] = [...packages]
    .map(([name, pkg]) => ({
      name,
      files: pkg.files.length,
      bytes: pkg.bytes,
      sha256: hashPackage(pkg.files),
    }))
    .sort((a, b) => b.bytes - a.bytes || (a.name < b.name ? -1 : 1));
  printPackages(rows.slice(0, 10), rows.length);

  if (problems.length > 0) {
    console.log(`\n${problems.length} could not be read (the rest was analysed):`);
    for (const problem of problems) console.log(`  ${problem.path}: ${problem.message}`);
  }

  const hashed = rows.reduce((sum, row) => sum + row.files, 0);
  const tasks = [...meter.tasks].map(([label, n]) => `${formatCount(n)} ${label}`).join(' + ');
  const fingerprint = hashPackage(rows.map((row) => ({ rel: row.name, sha256: row.sha256 })));
  printSummary([
    ['files', `${formatCount(hashed)} in ${formatCount(rows.length)} packages`],
    ['bytes', formatBytes(progress.bytes)],
    ['wall time', `${formatSeconds(wallMs)} (${formatBytes((progress.bytes / wallMs) * 1000)}/s)`],
    ['tasks', `${tasks} on one executor, concurrency ${concurrency}`],
    ['peak running', formatCount(meter.peakRunning)],
    ['speedup', `${(meter.busyMs / wallMs).toFixed(1)}x (sum of task durations / wall time)`],
    ['fingerprint', `${fingerprint.slice(0, 16)} (sha256 over all packages)`],
    ['problems', formatCount(problems.length)],
  ]);
  process.exitCode = problems.length > 0 ? 1 : 0;
}

// Output piped into `head` and closed early: stop quietly instead of crashing on EPIPE.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main().catch((error: unknown) => {
  console.error('error:', error);
  process.exit(1);
});
