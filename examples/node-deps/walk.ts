import type { Dirent } from 'node:fs';
import { readdir, readlink, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { from, merge, mergeMap, type Observable } from 'rxjs';
import type { Executor } from '../../src/index.js';

/** A regular file under the root, and the installed package it belongs to. */
export interface FoundFile {
  /** Absolute path. */
  path: string;
  /** Path relative to the root, with `/` separators. */
  rel: string;
  /** The package: `rxjs`, `@types/node`, or `vitest/node_modules/tinyrainbow` when nested. */
  pkg: string;
}

/** Something that could not be read; the rest of the work goes on. */
export interface Problem {
  path: string;
  message: string;
}

/**
 * Emits every regular file under `root`, a `node_modules` directory. Each directory read
 * is a `critical` task on the shared `executor`, so finding work goes ahead of the
 * hashing it feeds. Dot-entries of a `node_modules` directory (`.bin`, lock files, tool
 * caches) are skipped; symlinks to files are followed, symlinks to directories are not.
 */
export function walk(
  root: string,
  executor: Executor,
  onProblem: (problem: Problem) => void,
): Observable<FoundFile> {
  const list = (dir: string): Observable<FoundFile> =>
    executor
      .schedule((signal) => listDir(root, dir, signal, onProblem), {
        priority: 'critical',
        label: 'readdir',
      })
      .pipe(mergeMap(({ files, dirs }) => merge(from(files), ...dirs.map(list))));
  return list(root);
}

async function listDir(
  root: string,
  dir: string,
  signal: AbortSignal,
  onProblem: (problem: Problem) => void,
): Promise<{ files: FoundFile[]; dirs: string[] }> {
  const files: FoundFile[] = [];
  const dirs: string[] = [];
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    onProblem({ path: dir, message: describeError(error) });
    return { files, dirs };
  }
  signal.throwIfAborted();
  const modulesDir = dir === root || basename(dir) === 'node_modules';
  for (const entry of entries) {
    if (modulesDir && entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) dirs.push(path);
    else if (entry.isFile()) files.push(found(root, path));
    else if (entry.isSymbolicLink()) {
      try {
        if ((await stat(path)).isFile()) files.push(found(root, path));
      } catch (error) {
        const target = await readlink(path).catch(() => '?');
        const dangling = (error as NodeJS.ErrnoException).code === 'ENOENT';
        onProblem({
          path,
          message: dangling ? `dangling symlink to ${target}` : describeError(error),
        });
      }
    }
  }
  return { files, dirs };
}

function found(root: string, path: string): FoundFile {
  const rel = relative(root, path).split(sep).join('/');
  return { path, rel, pkg: packageOf(rel) };
}

/** The package a path under `node_modules` belongs to, following nested `node_modules`. */
export function packageOf(rel: string): string {
  const parts = rel.split('/');
  let start = 0;
  for (;;) {
    const end = start + (parts[start]?.startsWith('@') ? 2 : 1);
    if (parts[end] !== 'node_modules' || end + 2 >= parts.length) {
      return parts.slice(0, end).join('/');
    }
    start = end + 1;
  }
}

/** A one-line reason for a filesystem error. */
export function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'not found (removed while running?)';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
}
