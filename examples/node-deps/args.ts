import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const HELP = `Usage: npm run demo -- [--dir PATH] [--fresh] [--concurrency N]
                        [--cache-dir PATH] [--trace PATH] [--redis URL]

Analyses the dependency graph of an installed node_modules with eed: reads every
package.json, resolves each dependency the way Node does, hashes every package's
files (SHA-256, streamed), and prints the ten heaviest packages (own files plus
every transitive dependency once), what the engine did, and where it wrote a
Chrome trace of the run. Each package is one engine.run keyed by its real path
and a cheap fingerprint (package.json mtime and size, directory mtime), so a
package many others depend on is hashed once, and a second run is served from
the filesystem cache.

  --dir PATH         node_modules to analyse, or a project that contains one
                     (default: this package's own node_modules)
  --fresh            ignore the filesystem cache: recompute every package, and
                     neither read nor write the cache directory
  --concurrency N    most tasks running at once, 1 to 1024 (default 8); for a
                     real serial baseline, compare with --fresh --concurrency 1
  --cache-dir PATH   the filesystem cache
                     (default: <node_modules>/.cache/eed-demo)
  --trace PATH       where to write the trace
                     (default: <node_modules>/.cache/eed-demo-trace.json)
  --redis URL        share the work with other demo processes through Redis
                     (redis://host:port): digests are cached in Redis too, and
                     each package is hashed by one process only, the others
                     reading its digest from Redis. Start several at once.
  -h, --help         show this help

Exit code: 0 on success; 1 if the directory is missing, or something in it
could not be read (malformed package.json, dangling symlink, permissions: the
rest is still analysed); 2 for bad arguments; 130 on Ctrl-C.`;

export interface DemoOptions {
  /** As given (resolved against the caller's directory); may be a project or a node_modules. */
  dir: string;
  concurrency: number;
  fresh: boolean;
  cacheDir: string | undefined;
  trace: string | undefined;
  /** `--redis`: the Redis to share digests and leases through. */
  redis: string | undefined;
}

/** A bad command line: the message says what to fix. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Parses `argv`; `undefined` means `--help` was asked for. Relative paths are resolved
 * against `cwd` (npm runs scripts in the package directory; pass `INIT_CWD` to resolve
 * against the directory `npm run` was called from).
 */
export function parseCommandLine(argv: string[], cwd: string): DemoOptions | undefined {
  let values: {
    dir?: string;
    concurrency?: string;
    fresh?: boolean;
    'cache-dir'?: string;
    trace?: string;
    redis?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        dir: { type: 'string' },
        concurrency: { type: 'string' },
        fresh: { type: 'boolean' },
        'cache-dir': { type: 'string' },
        trace: { type: 'string' },
        redis: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return undefined;
  const raw = values.concurrency ?? '8';
  const concurrency = Number(raw);
  if (!/^\d+$/.test(raw) || concurrency < 1 || concurrency > 1024) {
    throw new UsageError(`--concurrency must be an integer from 1 to 1024; received "${raw}"`);
  }
  for (const flag of ['dir', 'cache-dir', 'trace'] as const) {
    if (values[flag] === '') throw new UsageError(`--${flag} needs a path`);
  }
  if (values.redis !== undefined && !/^rediss?:\/\/./.test(values.redis)) {
    throw new UsageError(`--redis must be a redis:// or rediss:// URL; received "${values.redis}"`);
  }
  const path = (value: string | undefined) =>
    value === undefined ? undefined : resolve(cwd, value);
  return {
    dir: path(values.dir) ?? fileURLToPath(new URL('../../node_modules', import.meta.url)),
    concurrency,
    fresh: values.fresh === true,
    cacheDir: path(values['cache-dir']),
    trace: path(values.trace),
    redis: values.redis,
  };
}
