/**
 * `npm run demo`: the dependency graph of an installed `node_modules`, analysed with eed.
 * A cheap first pass reads every `package.json` and resolves dependencies the way Node
 * does; then every package's files are hashed through one shared engine (keyed single
 * flight + memory/filesystem cache), the largest subtrees first. Run with `--help`.
 */
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createEngine } from 'eed';
import { createNodeCache, type NodeCache } from 'eed/node';
import { type Analysed, analyse } from './analyse.js';
import { type DemoOptions, HELP, parseCommandLine, UsageError } from './args.js';
import { transitiveDependencies } from './closure.js';
import { drain } from './drain.js';
import { formatBytes, formatCount, formatSeconds, plural } from './format.js';
import { hashOfHashes } from './hash.js';
import { planRequests } from './plan.js';
import { Problems } from './problems.js';
import { showProgress } from './progressBar.js';
import { connectRedis, describeOutcomes, type SharedRedis } from './redis.js';
import { printCacheVerdict, printHeaviest, printMetrics } from './report.js';
import { buildGraph } from './resolve.js';
import { scan } from './scan.js';
import { packageRows } from './sizes.js';
import { recordEvents, writeTrace } from './trace.js';

/** How long a package's digest stays valid on disk; its key changes when it is reinstalled. */
const CACHE_TTL_MS = 7 * 24 * 60 * 60_000;

async function main(): Promise<void> {
  const options = readOptions();
  if (options === undefined) return;
  const started = performance.now();
  const root = await findRoot(options.dir);
  if (root === undefined) {
    console.error(`error: ${options.dir} is not a directory (or cannot be reached)`);
    process.exitCode = 1;
    return;
  }
  const cacheDir = options.cacheDir ?? join(root, '.cache', 'eed-demo');
  const tracePath = options.trace ?? join(root, '.cache', 'eed-demo-trace.json');
  // --redis: memory -> (disk) -> Redis, and a coordinator so workers never hash a package twice.
  const shared: SharedRedis | undefined =
    options.redis === undefined
      ? undefined
      : await connectRedis(options.redis, {
          cacheDir: options.fresh ? undefined : cacheDir,
          ttl: CACHE_TTL_MS,
        });
  // A batch job waits for its disk cache rather than give up after the default 250 ms.
  const cache: NodeCache | undefined =
    options.fresh || shared !== undefined
      ? undefined
      : createNodeCache({ dir: cacheDir, ttl: CACHE_TTL_MS, timeoutMs: 10_000 });
  // --fresh: the engine's default in-memory cache, so the disk is neither read nor written.
  const engine = createEngine({
    executor: { concurrency: options.concurrency },
    cache: shared?.cache ?? cache,
    coordinator: shared?.coordinator,
  });
  shared?.count(engine);
  const recorder = recordEvents(engine);
  const problems = new Problems();
  const cacheNote =
    shared !== undefined
      ? `${options.fresh ? 'memory' : cacheDir} + Redis ${options.redis}`
      : cache === undefined
        ? 'off (--fresh)'
        : cacheDir;
  console.log(`Analysing ${root}\n  concurrency ${options.concurrency}, cache ${cacheNote}`);

  // 1. The cheap pass: manifests and the graph.
  const manifests = await drain(scan(root, engine.executor, (p) => problems.add(p)));
  const graph = buildGraph(manifests);
  const transitive = transitiveDependencies(graph);
  const plan = planRequests(graph, transitive);
  const scannedMs = performance.now() - started;
  const nested = graph.packages.filter((pkg) => pkg.rel.includes('/node_modules/')).length;
  console.log(
    `Found ${plural(graph.packages.length, 'package')} (${formatCount(nested)} nested), ` +
      `${plural(graph.edges, 'dependency edge')} in ${formatSeconds(scannedMs)}; hashing them, ` +
      `the largest subtrees first (${formatCount(plan.critical.size)} packages in the critical lane)`,
  );

  // 2. Hash every package: one engine.run per request, each package executed once.
  const progress = showProgress(engine, plan.requests.length);
  const digests = new Map<string, Analysed>();
  for (const answer of await drain(analyse(engine, plan.requests))) {
    if (digests.has(answer.pkg.realpath)) continue;
    digests.set(answer.pkg.realpath, answer);
    for (const problem of answer.problems) problems.add(problem);
  }
  progress.unsubscribe();
  const analysedMs = performance.now() - started - scannedMs;
  const metrics = engine.metrics();
  recorder.stop();

  // 3. Report.
  const rows = packageRows(graph.packages, transitive, digests);
  printHeaviest(rows.slice(0, 10), rows.length);

  const answers = [...digests.values()];
  const files = answers.reduce((sum, a) => sum + a.digest.files, 0);
  const bytes = answers.reduce((sum, a) => sum + a.digest.bytes, 0);
  const missing = graph.unresolved.filter((u) => u.kind === 'required');
  const tree = hashOfHashes(answers.map((a) => ({ rel: a.pkg.rel, sha256: a.digest.sha256 })));
  console.log(
    `\nHashed ${formatCount(files)} files, ${formatBytes(bytes)}; ` +
      `${formatCount(graph.unresolved.length - missing.length)} optional or peer dependencies ` +
      `not installed; tree sha256 ${tree.slice(0, 16)}`,
  );

  const tierNames =
    shared === undefined
      ? ['memory', 'disk']
      : ['memory', ...(options.fresh ? [] : ['disk']), 'Redis'];
  printMetrics(metrics, options.concurrency, tierNames);
  printCacheVerdict(metrics, cache === undefined && shared === undefined, analysedMs, tierNames);
  if (shared !== undefined && options.redis !== undefined) {
    console.log(describeOutcomes(shared.outcomes, options.redis));
  }
  console.log(
    `Wall time: ${formatSeconds(performance.now() - started)} ` +
      `(scan ${formatSeconds(scannedMs)}, hashing ${formatSeconds(analysedMs)}); ` +
      `${formatSeconds(process.uptime() * 1000)} since the process started (loading included)`,
  );

  try {
    const size = await writeTrace(tracePath, recorder.events);
    console.log(
      `\nTrace: ${tracePath} (${formatCount(recorder.events.length)} events, ${formatBytes(size)})` +
        '\n  open https://ui.perfetto.dev, click "Open trace file" and pick it (or chrome://tracing)',
    );
  } catch (error) {
    problems.add({
      path: tracePath,
      message: `could not write the trace: ${(error as Error).message}`,
    });
  }

  for (const { from, name } of missing) {
    problems.add({ path: from.location, message: `requires ${name}, which is not installed` });
  }
  if (problems.size > 0) {
    console.error(`\n${plural(problems.size, 'problem')}; the rest was analysed:`);
    for (const problem of problems.list()) console.error(`  ${problem.path}: ${problem.message}`);
  }
  await cache?.flush();
  await shared?.close(engine);
  process.exitCode = problems.size > 0 ? 1 : 0;
}

/** Options from the command line; prints the help (undefined) or exits 2 on bad input. */
function readOptions(): DemoOptions | undefined {
  try {
    const options = parseCommandLine(process.argv.slice(2), process.env.INIT_CWD ?? process.cwd());
    if (options === undefined) console.log(HELP);
    return options;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}\nRun with --help for usage.`);
    process.exit(2);
  }
}

/** The node_modules to analyse: `dir` itself, or `dir/node_modules` for a project directory. */
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

// Output piped into `head` and closed early: stop quietly instead of crashing on EPIPE.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main().catch((error: unknown) => {
  console.error('error:', error);
  process.exit(1);
});
