/**
 * Where the suite's sibling scripts are, whether it runs from the TypeScript sources
 * (`node --import tsx bench/main.ts`, vitest) or from the JavaScript build `bench/run.ts`
 * makes (every entry point bundled side by side into one folder).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);

/** Whether this is the bundled JavaScript build. */
export const built = !self.endsWith('.ts');

/** The folder of the entry scripts: `bench/` from source, the build folder when built. */
export const scriptDir = dirname(self);

/** The path of a sibling entry script (`memoryChild`, `criticalPath`). */
export const scriptPath = (name: string): string =>
  join(scriptDir, `${name}${built ? '.mjs' : '.ts'}`);

/** The path of `bench/criticalPath.ts`, the source whose presence decides its case. */
export const sourcePath = (name: string): string =>
  built ? join(process.cwd(), 'bench', `${name}.ts`) : join(scriptDir, `${name}.ts`);

/** Node flags a child needs to run a sibling script: tsx only from source. */
export const childNodeArgs: readonly string[] = built ? [] : ['--import', 'tsx'];

/** The working directory for children (the package root, where tsx resolves). */
export const childCwd: string = built ? process.cwd() : join(scriptDir, '..');

/** Where `--json` writes: `bench/results/` (gitignored). */
export const resultsDir: string = built
  ? join(process.cwd(), 'bench', 'results')
  : join(scriptDir, 'results');
