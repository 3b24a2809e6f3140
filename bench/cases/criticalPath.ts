/**
 * The task-graph benchmark, `bench/criticalPath.ts`, is written and owned elsewhere. The
 * suite imports it at run time (a computed path, so this file compiles and the suite runs
 * whether or not it exists yet) and calls its exported `measureCriticalPath` and
 * `criticalPathMarkdown`; without those exports it runs the script as a child process
 * and includes what it prints. Skipped while the file does not exist.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { BenchCase, Cell, Column, Table } from '../harness.js';
import { childCwd, childNodeArgs, scriptPath, sourcePath } from '../paths.js';
import type { Profile } from '../profiles.js';

const run = promisify(execFile);
const script = scriptPath('criticalPath');

type Row = Record<string, Cell>;
interface CriticalPathModule {
  measureCriticalPath(options: { seeds?: number; cap?: number; tasks?: number }): Row[];
  criticalPathMarkdown(rows: readonly Row[]): string;
}

const isModule = (value: unknown): value is CriticalPathModule =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Partial<CriticalPathModule>).measureCriticalPath === 'function' &&
  typeof (value as Partial<CriticalPathModule>).criticalPathMarkdown === 'function';

/** Sizes per profile: the script's defaults for a full run, fewer DAGs otherwise. */
const SIZES = {
  full: {},
  quick: { seeds: 10 },
  tiny: { seeds: 2, tasks: 30 },
} as const;

/** The script's rows as a table for the JSON report (columns from the first row's fields). */
function rowsToTable(rows: readonly Row[]): Table {
  const first = rows[0] ?? {};
  const columns: Column[] = Object.keys(first).map((key) => ({
    key,
    label: key,
    format: typeof first[key] === 'number' ? 'fixed2' : 'text',
  }));
  return { title: 'Critical path vs FIFO (rows of measureCriticalPath)', columns, rows };
}

export const criticalPathCase: BenchCase<Profile> = {
  id: 'criticalPath',
  title: '10. Task graph: critical-path order (bench/criticalPath.ts)',
  async run(profile) {
    const base = { id: this.id, title: this.title, targets: [] };
    if (!existsSync(sourcePath('criticalPath')) || !existsSync(script)) {
      return {
        ...base,
        tables: [],
        checks: [],
        text: 'skipped: bench/criticalPath.ts does not exist yet',
      };
    }
    const module: unknown = await import(pathToFileURL(script).href);
    const sizes = SIZES[profile.name];
    if (isModule(module)) {
      const rows = module.measureCriticalPath(sizes);
      return {
        ...base,
        tables: [],
        data: rowsToTable(rows),
        checks: [
          {
            description: 'criticalPath: measureCriticalPath returns rows',
            ok: rows.length > 0,
            detail: `${rows.length} rows`,
          },
        ],
        markdown: module.criticalPathMarkdown(rows),
      };
    }
    const args = [...childNodeArgs, script];
    for (const [name, value] of Object.entries(sizes)) args.push(`--${name}`, String(value));
    try {
      const { stdout } = await run(process.execPath, args, {
        cwd: childCwd,
        maxBuffer: 16 << 20,
        timeout: 5 * 60_000,
      });
      return {
        ...base,
        tables: [],
        checks: [{ description: 'criticalPath: the script exits 0', ok: true, detail: '' }],
        markdown: stdout,
      };
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      return {
        ...base,
        tables: [],
        checks: [{ description: 'criticalPath: the script exits 0', ok: false, detail }],
        text: detail,
      };
    }
  },
};
