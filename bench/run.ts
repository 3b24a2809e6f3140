/**
 * `npm run bench`: builds the suite to JavaScript, then runs it with `node --expose-gc`.
 *
 * Why a build: tsx transforms with esbuild's `keepNames`, which wraps every function
 * expression in a `__name(fn, "name")` call (an `Object.defineProperty` per closure
 * created). eed's operators create closures per task, so under tsx parallelMap measured
 * 2-4x slower (about 20 us/task instead of 5-6 at 100,000 tasks) than the same code
 * bundled without it, which is how users run it (tsup's output has no `__name` calls).
 * The build bundles eed's sources (like the published package) and keeps every peer
 * package external, loaded from node_modules as their users load them.
 *
 * Arguments are passed through to bench/main.ts (see `npm run bench -- --help`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const bench = dirname(fileURLToPath(import.meta.url));
const root = join(bench, '..');
const outdir = join(root, 'node_modules', '.cache', 'eed-bench');
const entries = ['main', 'memoryChild', 'criticalPath']
  .map((name) => join(bench, `${name}.ts`))
  .filter((file) => existsSync(file));

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: entries,
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  outExtension: { '.js': '.mjs' },
  keepNames: false,
  logLevel: 'warning',
});
const result = spawnSync(
  process.execPath,
  ['--expose-gc', join(outdir, 'main.mjs'), ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
);
process.exitCode = result.status ?? 1;
