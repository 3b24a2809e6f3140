import type { Manifest } from './manifest.js';
import type { PackageGraph } from './resolve.js';

/**
 * Every package's transitive dependencies (itself excluded, each once, cycles allowed),
 * by real path. A breadth-first search per package: fine for the few thousand packages
 * of a large install.
 */
export function transitiveDependencies(graph: PackageGraph): Map<string, Set<Manifest>> {
  const result = new Map<string, Set<Manifest>>();
  for (const pkg of graph.packages) {
    const seen = new Set<Manifest>();
    const queue: Manifest[] = [...(graph.dependencies.get(pkg.realpath) ?? [])];
    for (let i = 0; i < queue.length; i++) {
      const next = queue[i]!;
      if (next === pkg || seen.has(next)) continue;
      seen.add(next);
      queue.push(...(graph.dependencies.get(next.realpath) ?? []));
    }
    result.set(pkg.realpath, seen);
  }
  return result;
}
