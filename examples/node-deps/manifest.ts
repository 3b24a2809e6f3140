import { lstat, readFile, readlink, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { describeError, type Problem } from './problems.js';

/** How a package asks for a dependency; only `required` ones must be installed. */
export type DependencyKind = 'required' | 'optional' | 'peer' | 'optional peer';

export interface Dependency {
  name: string;
  kind: DependencyKind;
}

/** One installed package, as its `package.json` and directory describe it. */
export interface Manifest {
  /** Where it was found: `<root>/a/node_modules/b` (absolute). */
  location: string;
  /** Its real path, symlinks resolved: the package's identity and where Node resolves from. */
  realpath: string;
  /** `location` relative to the analysed `node_modules`: `a/node_modules/b`. */
  rel: string;
  name: string;
  version: string;
  dependencies: Dependency[];
  /**
   * A cheap content fingerprint: `package.json`'s mtime and size and the directory's mtime.
   * It changes when npm reinstalls the package; it does not see a file edited in place.
   */
  fingerprint: string;
  /** `package.json` could not be parsed: the package is still hashed, its dependencies are unknown. */
  malformed: boolean;
}

/**
 * Reads the package at `location` (an entry of a `node_modules` directory). Resolves to
 * `undefined` for entries that are not packages (no `package.json`, plain files) and for
 * ones that cannot be read, which are reported to `onProblem`: a dangling symlink, a
 * directory without permission. A malformed `package.json` is reported and still gives a
 * manifest, without dependencies.
 */
export async function readManifest(
  root: string,
  location: string,
  onProblem: (problem: Problem) => void,
): Promise<Manifest | undefined> {
  let real: string;
  try {
    if ((await lstat(location)).isSymbolicLink()) {
      real = await realpath(location).catch(async (error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        const target = await readlink(location).catch(() => '?');
        throw new Error(`dangling symlink to ${target}`);
      });
    } else {
      real = await realpath(location);
    }
    if (!(await stat(real)).isDirectory()) return undefined;
  } catch (error) {
    onProblem({ path: location, message: describeError(error) });
    return undefined;
  }
  const rel = relative(root, location).split(sep).join('/');
  const file = join(real, 'package.json');
  let text: string;
  let fingerprint: string;
  try {
    const [info, dir] = await Promise.all([stat(file), stat(real)]);
    text = await readFile(file, 'utf8');
    fingerprint = `${info.mtimeMs}:${info.size}:${dir.mtimeMs}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    onProblem({ path: file, message: describeError(error) });
    return undefined;
  }
  const base = { location, realpath: real, rel, fingerprint };
  let json: unknown;
  try {
    json = JSON.parse(text);
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw new Error('not a JSON object');
    }
  } catch (error) {
    onProblem({ path: file, message: `malformed package.json: ${describeError(error)}` });
    return { ...base, name: nameFromPath(rel), version: '?', dependencies: [], malformed: true };
  }
  const pkg = json as Record<string, unknown>;
  return {
    ...base,
    name: typeof pkg.name === 'string' ? pkg.name : nameFromPath(rel),
    version: typeof pkg.version === 'string' ? pkg.version : '?',
    dependencies: dependenciesOf(pkg),
    malformed: false,
  };
}

/** The names a package asks for, once each, with how it asks (regular wins over optional). */
export function dependenciesOf(pkg: Record<string, unknown>): Dependency[] {
  const names = (field: unknown): string[] =>
    field !== null && typeof field === 'object' ? Object.keys(field) : [];
  const peerMeta = (pkg.peerDependenciesMeta ?? {}) as Record<string, { optional?: unknown }>;
  const found = new Map<string, DependencyKind>();
  for (const name of names(pkg.peerDependencies)) {
    found.set(name, peerMeta[name]?.optional === true ? 'optional peer' : 'peer');
  }
  for (const name of names(pkg.optionalDependencies)) found.set(name, 'optional');
  for (const name of names(pkg.dependencies)) {
    // npm lists optional dependencies in `dependencies` too; the optional mark wins.
    if (found.get(name) !== 'optional') found.set(name, 'required');
  }
  return [...found].map(([name, kind]) => ({ name, kind }));
}

/** `a/node_modules/@s/b` -> `@s/b`. */
function nameFromPath(rel: string): string {
  const parts = rel.split('/');
  const last = parts.at(-1) ?? rel;
  const scope = parts.at(-2);
  return scope?.startsWith('@') ? `${scope}/${last}` : last;
}
