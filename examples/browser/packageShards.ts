import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plugin } from 'vite';
import { shardOf } from './shard.js';

/** One searchable package. */
export interface PackageRow {
  name: string;
  version: string;
  description: string;
}

/** Reads name, version and description of every package installed in `nodeModules`. */
export function readPackages(nodeModules: string): PackageRow[] {
  const rows: PackageRow[] = [];
  const read = (dir: string) => {
    try {
      const json = JSON.parse(
        readFileSync(join(dir, 'package.json'), 'utf8'),
      ) as Partial<PackageRow>;
      if (typeof json.name === 'string') {
        rows.push({
          name: json.name,
          version: String(json.version ?? ''),
          description: String(json.description ?? ''),
        });
      }
    } catch {
      // not a package (or an unreadable one): skip it
    }
  };
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dir = join(nodeModules, entry.name);
    if (entry.name.startsWith('@')) {
      for (const scoped of readdirSync(dir, { withFileTypes: true })) {
        if (scoped.isDirectory()) read(join(dir, scoped.name));
      }
    } else read(dir);
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * A Vite plugin serving `/data/shard-<letter>.json`: the installed packages whose name
 * starts with that letter, after `latencyMs` of simulated network latency, so that
 * deduplication, caching and prefetching are visible.
 */
export function packageShards(options: { nodeModules: string; latencyMs: number }): Plugin {
  let shards: Map<string, PackageRow[]> | undefined;
  const build = () => {
    const map = new Map<string, PackageRow[]>();
    for (const row of readPackages(options.nodeModules)) {
      const shard = shardOf(row.name);
      map.set(shard, [...(map.get(shard) ?? []), row]);
    }
    return map;
  };
  return {
    name: 'eed-package-shards',
    configureServer(server) {
      server.middlewares.use((request, response, next) => {
        const match = /^\/data\/shard-([a-z0-9_])\.json$/.exec(request.url ?? '');
        if (match === null) return next();
        shards ??= build();
        const body = JSON.stringify(shards.get(match[1] as string) ?? []);
        setTimeout(() => {
          response.setHeader('content-type', 'application/json');
          response.setHeader('cache-control', 'no-store');
          response.end(body);
        }, options.latencyMs);
      });
    },
  };
}
