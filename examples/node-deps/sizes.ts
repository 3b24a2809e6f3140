import type { Analysed } from './analyse.js';
import type { Manifest } from './manifest.js';
import type { PackageRow } from './report.js';

/**
 * Each package's transitive dependency count and installed size (its own bytes plus each
 * transitive dependency's, once), heaviest first. A package without a digest counts 0 bytes.
 */
export function packageRows(
  packages: Manifest[],
  transitive: ReadonlyMap<string, ReadonlySet<Manifest>>,
  digests: ReadonlyMap<string, Analysed>,
): PackageRow[] {
  const own = (pkg: Manifest) => digests.get(pkg.realpath)?.digest.bytes ?? 0;
  const rows = packages.map((pkg): PackageRow => {
    const deps = [...(transitive.get(pkg.realpath) ?? [])];
    const total = deps.reduce((sum, dep) => sum + own(dep), own(pkg));
    return { rel: pkg.rel, version: pkg.version, deps: deps.length, own: own(pkg), total };
  });
  return rows.sort((a, b) => b.total - a.total || b.deps - a.deps || (a.rel < b.rel ? -1 : 1));
}
