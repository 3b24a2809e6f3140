import { basename, dirname, join } from 'node:path';
import type { DependencyKind, Manifest } from './manifest.js';

/** A dependency Node would not find. */
export interface Unresolved {
  from: Manifest;
  name: string;
  kind: DependencyKind;
}

/** The installed packages (one per real path) and who depends on whom. */
export interface PackageGraph {
  packages: Manifest[];
  /** Real path -> the packages it depends on (resolved, once each, never itself). */
  dependencies: Map<string, Manifest[]>;
  /** Dependencies not installed; only `required` ones make the install broken. */
  unresolved: Unresolved[];
  /** How many dependency edges resolved. */
  edges: number;
}

/**
 * Resolves every dependency the way Node does: from the directory of the dependent's real
 * path, look in `./node_modules/<name>`, then in each parent directory's `node_modules`
 * (skipping directories that are themselves named `node_modules`), and take the first
 * package found. A package reached through a symlink (a workspace) that finds nothing
 * from its real path is resolved from where it was found instead, as with
 * `--preserve-symlinks`. Only packages of `manifests` count as installed.
 */
export function buildGraph(manifests: Manifest[]): PackageGraph {
  // One package per real path, shown by its shortest location (`x`, not `.pnpm/x@1/node_modules/x`).
  const shortestFirst = [...manifests].sort(
    (a, b) => a.rel.length - b.rel.length || (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0),
  );
  const byPath = new Map<string, Manifest>();
  const packages: Manifest[] = [];
  for (const manifest of shortestFirst) {
    if (!byPath.has(manifest.realpath)) {
      packages.push(manifest);
      byPath.set(manifest.realpath, manifest);
    }
  }
  for (const manifest of shortestFirst) {
    byPath.set(manifest.location, byPath.get(manifest.realpath) ?? manifest);
  }
  const dependencies = new Map<string, Manifest[]>();
  const unresolved: Unresolved[] = [];
  let edges = 0;
  for (const pkg of packages) {
    const found = new Set<Manifest>();
    for (const { name, kind } of pkg.dependencies) {
      const target =
        resolveFrom(byPath, pkg.realpath, name) ??
        (pkg.location === pkg.realpath ? undefined : resolveFrom(byPath, pkg.location, name));
      if (target === undefined) unresolved.push({ from: pkg, name, kind });
      else if (target !== pkg) found.add(target);
    }
    dependencies.set(pkg.realpath, [...found]);
    edges += found.size;
  }
  return { packages, dependencies, unresolved, edges };
}

/** The package `name` resolves to from the package directory `from`, if installed. */
export function resolveFrom(
  installed: ReadonlyMap<string, Manifest>,
  from: string,
  name: string,
): Manifest | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (basename(dir) !== 'node_modules') {
      const hit = installed.get(join(dir, 'node_modules', name));
      if (hit !== undefined) return hit;
    }
    if (dirname(dir) === dir) return undefined;
  }
}
