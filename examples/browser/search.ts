import { createBrowserCache, createEngine, markovPredictor } from 'eed';
import { map, type Observable } from 'rxjs';
import type { PackageRow } from './packageShards.js';
import { shardOf } from './shard.js';

/** How many shard requests this page sent: the panel shows it and the e2e test reads it. */
export const network = { requests: 0 };

/** Fetches one shard: the work eed deduplicates, caches and prefetches. */
export const fetchShard = (shard: string) => async (signal: AbortSignal) => {
  network.requests++;
  const response = await fetch(`/data/shard-${shard}.json`, { signal });
  if (!response.ok) throw new Error(`shard ${shard}: HTTP ${response.status}`);
  return (await response.json()) as PackageRow[];
};

/** Memory (tier 0) in front of IndexedDB (tier 1), which survives a reload. */
export const cache = createBrowserCache({ indexedDb: { dbName: 'eed-example' } });

/** One engine for the page: 4 slots, the tiered cache, results valid 1 hour. */
export const engine = createEngine({
  executor: { concurrency: 4 },
  cache,
  ttl: 60 * 60_000,
  metricsIntervalMs: 100,
});

/** Learns which shard follows which as the user types, and prefetches the likely next one. */
export const predictNextShard = markovPredictor({
  keyOf: (query: string) => `shard:${shardOf(query)}`,
  workFor: (key) => fetchShard(key.slice('shard:'.length)),
});

/** The packages matching `query`: the shard comes from cache, a request in flight, or the network. */
export function search(query: string): Observable<PackageRow[]> {
  const shard = shardOf(query);
  return engine
    .run(`shard:${shard}`, fetchShard(shard), { priority: 'critical', label: `shard ${shard}` })
    .pipe(
      map((rows) =>
        rows
          .filter(
            (row) =>
              row.name.replace(/^@[^/]+\//, '').startsWith(query) || row.name.startsWith(query),
          )
          .slice(0, 20),
      ),
    );
}
