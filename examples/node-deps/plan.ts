import type { Priority } from 'eed';
import type { Manifest } from './manifest.js';
import type { PackageGraph } from './resolve.js';

/** One `engine.run` the analysis makes: `pkg`'s digest, asked for at `priority`. */
export interface PackageRequest {
  pkg: Manifest;
  priority: Priority;
}

/** The order of the work, and which part of it is on the critical path. */
export interface Plan {
  /** Packages by subtree size (transitive dependency count), largest first. */
  order: Manifest[];
  /** The largest subtrees and everything they depend on: scheduled `critical`. */
  critical: Set<Manifest>;
  /** Every package asks for its own digest and for each direct dependency's, in `order`. */
  requests: PackageRequest[];
}

/**
 * Plans the hashing from the graph of the cheap first pass. Subtree size is the
 * transitive dependency count (bytes are not known before hashing). The largest subtrees
 * (with all their dependencies) go into the critical lane until it holds `criticalShare`
 * of the packages (the largest one always does); the rest run `normal`.
 *
 * Requests follow the graph's edges: each package asks for its own digest and for each
 * of its direct dependencies', so a package with twenty dependents is asked for
 * twenty-one times; the engine's keyed single flight and cache make that one execution.
 */
export function planRequests(
  graph: PackageGraph,
  transitive: ReadonlyMap<string, ReadonlySet<Manifest>>,
  criticalShare = 0.25,
): Plan {
  const size = (pkg: Manifest) => transitive.get(pkg.realpath)?.size ?? 0;
  const order = [...graph.packages].sort(
    (a, b) => size(b) - size(a) || (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0),
  );
  const critical = new Set<Manifest>();
  const limit = criticalShare * order.length;
  for (const pkg of order) {
    const subtree = [pkg, ...(transitive.get(pkg.realpath) ?? [])];
    const added = subtree.filter((member) => !critical.has(member)).length;
    if (critical.size > 0 && critical.size + added > limit) break;
    for (const member of subtree) critical.add(member);
  }
  const requests: PackageRequest[] = [];
  for (const pkg of order) {
    const priority: Priority = critical.has(pkg) ? 'critical' : 'normal';
    for (const target of [pkg, ...(graph.dependencies.get(pkg.realpath) ?? [])]) {
      requests.push({ pkg: target, priority });
    }
  }
  return { order, critical, requests };
}
