import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Executor } from 'eed';
import { EMPTY, from, merge, mergeMap, Observable, of } from 'rxjs';
import { type Manifest, readManifest } from './manifest.js';
import { describeError, type Problem } from './problems.js';

/** A `node_modules` directory to list: the path to list it by, and its real path. */
interface ModulesDir {
  path: string;
  real: string;
}

/**
 * The cheap first pass: every package installed under `root` (a `node_modules`
 * directory), nested `node_modules` and scoped packages included. Each directory listing
 * and each `package.json` read is a `critical` task on the shared executor; this pass
 * feeds everything else. Dot-entries (`.bin`, `.cache`, lock files) are skipped, but the
 * `node_modules` that holds a package's real location is listed too, so the
 * dependencies of symlinked layouts (pnpm's `.pnpm/<name>@<version>/node_modules`) are
 * found. A `node_modules` reached twice through symlinks is listed once.
 */
export function scan(
  root: string,
  executor: Executor,
  onProblem: (problem: Problem) => void,
): Observable<Manifest> {
  const listed = new Set<string>();

  const list = (modules: string): Observable<Manifest> =>
    executor
      .schedule(() => listPackageDirs(modules, onProblem), {
        priority: 'critical',
        label: 'scan node_modules',
      })
      .pipe(
        mergeMap((locations) => from(locations)),
        mergeMap((location) =>
          executor.schedule(() => readPackage(location), {
            priority: 'critical',
            label: 'read package.json',
          }),
        ),
        mergeMap(({ manifest, dirs }) => {
          if (manifest === undefined) return EMPTY;
          const fresh = dirs.filter((dir) => !listed.has(dir.real));
          for (const dir of fresh) listed.add(dir.real);
          return merge(of(manifest), ...fresh.map((dir) => list(dir.path)));
        }),
      );

  /** The manifest at `location`, and the `node_modules` directories it leads to. */
  const readPackage = async (location: string) => {
    const manifest = await readManifest(root, location, onProblem);
    const dirs: ModulesDir[] = [];
    if (manifest === undefined) return { manifest, dirs };
    const own = await modulesDir(join(manifest.realpath, 'node_modules'));
    if (own !== undefined) dirs.push({ path: join(manifest.location, 'node_modules'), real: own });
    const parent = dirname(manifest.realpath);
    const home = basename(parent).startsWith('@') ? dirname(parent) : parent;
    const real = basename(home) === 'node_modules' ? await modulesDir(home) : undefined;
    if (real !== undefined) dirs.push({ path: home, real });
    return { manifest, dirs };
  };

  return new Observable<Manifest>((subscriber) => {
    realpath(root).then(
      (real) => {
        if (subscriber.closed) return;
        listed.add(real);
        subscriber.add(list(root).subscribe(subscriber));
      },
      (error: unknown) => {
        onProblem({ path: root, message: describeError(error) });
        subscriber.complete();
      },
    );
  });
}

/** The real path of `path` if it is a directory. */
async function modulesDir(path: string): Promise<string | undefined> {
  try {
    const real = await realpath(path);
    return (await stat(real)).isDirectory() ? real : undefined;
  } catch {
    return undefined;
  }
}

/** The package directories of one `node_modules`: `a`, `@scope/b`, ... (absolute paths). */
async function listPackageDirs(
  modules: string,
  onProblem: (problem: Problem) => void,
): Promise<string[]> {
  const entries = await readEntries(modules, onProblem);
  const locations: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(modules, entry.name);
    if (entry.name.startsWith('@') && entry.isDirectory()) {
      for (const scoped of await readEntries(path, onProblem)) {
        if (!scoped.name.startsWith('.')) locations.push(join(path, scoped.name));
      }
    } else if (entry.isDirectory() || entry.isSymbolicLink()) {
      locations.push(path);
    }
  }
  return locations;
}

async function readEntries(dir: string, onProblem: (problem: Problem) => void): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    onProblem({ path: dir, message: describeError(error) });
    return [];
  }
}
