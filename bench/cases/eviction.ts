/**
 * Issue 4's eviction benchmark: a skewed trace (Zipf keys, log-normal compute costs per
 * key) replayed through MemoryStore with `policy: 'lru'` and `'cost-aware'` at the same
 * capacity. A hit saves the key's compute cost; a miss stores the key with its cost.
 * lru-cache replays it too, as a check that MemoryStore's LRU makes the same choices.
 * Also: what gzip / deflate-raw (CompressionStream, as the persistent tiers use) saves and
 * costs on typical JSON-like values.
 */
import { serialize } from 'node:v8';
import { LRUCache } from 'lru-cache';
import { type CacheEntry, MemoryStore } from '../../src/index.js';
import {
  type BenchCase,
  type Check,
  type Contender,
  compare,
  row,
  type Table,
} from '../harness.js';
import type { Profile } from '../profiles.js';
import { logNormal, prng, zipfSampler } from '../util.js';

/** Zipf exponent of key popularity. */
const ZIPF_S = 0.9;
/** Log-normal compute cost per key: median e^MU ms, spread SIGMA. */
const COST_MU = Math.log(20);
const COST_SIGMA = 1.5;
/** Every entry the same size: the capacity is a count. */
const SIZE = 1_000;

/** The trace: key per request, and each key's compute cost (ms). */
export interface EvictionTrace {
  readonly keys: readonly string[];
  readonly requests: Int32Array;
  readonly costs: Float64Array;
}

export function evictionTrace(keys: number, requests: number, seed = 4): EvictionTrace {
  const random = prng(seed);
  const costs = new Float64Array(keys);
  for (let k = 0; k < keys; k++) costs[k] = logNormal(random, COST_MU, COST_SIGMA);
  // Popularity rank is a random permutation of keys, so cost and popularity are independent.
  const permutation = Array.from({ length: keys }, (_, i) => i);
  for (let i = keys - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [permutation[i], permutation[j]] = [permutation[j] as number, permutation[i] as number];
  }
  const zipf = zipfSampler(keys, ZIPF_S, random);
  const list = new Int32Array(requests);
  for (let i = 0; i < requests; i++) list[i] = permutation[zipf()] as number;
  return { keys: Array.from({ length: keys }, (_, k) => `key:${k}`), requests: list, costs };
}

/** The outcome of one replay. */
export interface ReplayStats {
  hits: number;
  requests: number;
  /** Sum of the compute cost of every hit (ms). */
  saved: number;
  /** Sum of the compute cost of every request (ms): what no cache would spend. */
  total: number;
}

interface Store {
  has(key: string): boolean;
  add(key: string, index: number, cost: number): void;
}

export function replayEviction(store: Store, trace: EvictionTrace): ReplayStats {
  const { keys, requests, costs } = trace;
  let hits = 0;
  let saved = 0;
  let total = 0;
  for (let i = 0; i < requests.length; i++) {
    const index = requests[i] as number;
    const key = keys[index] as string;
    const cost = costs[index] as number;
    total += cost;
    if (store.has(key)) {
      hits++;
      saved += cost;
    } else {
      store.add(key, index, cost);
    }
  }
  return { hits, requests: requests.length, saved, total };
}

export function memoryStore(policy: 'lru' | 'cost-aware', capacity: number): Store {
  const store = new MemoryStore({ maxEntries: capacity, policy });
  return {
    has: (key) => store.getSync(key) !== undefined,
    add: (key, index, cost) => {
      const entry: CacheEntry<number> = {
        values: [index],
        storedAt: 0,
        expiresAt: Number.POSITIVE_INFINITY,
        cost,
        size: SIZE,
      };
      store.setSync(key, entry);
    },
  };
}

export function lruCache(capacity: number): Store {
  const cache = new LRUCache<string, number>({ max: capacity });
  return {
    has: (key) => cache.get(key) !== undefined,
    add: (key, index) => void cache.set(key, index),
  };
}

/** Typical JSON-like values of about `bytes` serialized bytes: an array of records. */
function jsonLike(bytes: number, random: () => number): unknown {
  const records: unknown[] = [];
  let approx = 0;
  for (let id = 0; approx < bytes; id++) {
    const record = {
      id,
      name: `user-${Math.floor(random() * 100_000)}`,
      email: `user${id}@example.com`,
      active: random() < 0.8,
      score: Math.round(random() * 10_000) / 100,
      tags: ['alpha', 'beta', 'gamma', 'delta'].filter(() => random() < 0.5),
      createdAt: new Date(1_700_000_000_000 + Math.floor(random() * 1e10)).toISOString(),
    };
    records.push(record);
    approx += JSON.stringify(record).length;
  }
  return { page: 1, total: records.length, records };
}

async function compress(
  bytes: Uint8Array<ArrayBuffer>,
  format: 'gzip' | 'deflate-raw',
): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function decompress(
  bytes: Uint8Array<ArrayBuffer>,
  format: 'gzip' | 'deflate-raw',
): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function compressionTable(quick: boolean): Promise<{ table: Table; checks: Check[] }> {
  const random = prng(16);
  const sizes = quick ? [4_096, 65_536] : [4_096, 16_384, 65_536, 262_144, 1_048_576];
  const repeats = quick ? 3 : 20;
  const rows: Record<string, number | string>[] = [];
  const checks: Check[] = [];
  for (const size of sizes) {
    const raw = new Uint8Array(serialize(jsonLike(size, random)));
    for (const format of ['gzip', 'deflate-raw'] as const) {
      let packed = await compress(raw, format);
      const unpacked = await decompress(packed, format);
      checks.push({
        description: `compression: ${format} round-trips ${raw.length} bytes`,
        ok: unpacked.length === raw.length && unpacked.every((b, i) => b === raw[i]),
        detail: `${unpacked.length} bytes back`,
      });
      const t0 = performance.now();
      for (let r = 0; r < repeats; r++) packed = await compress(raw, format);
      const t1 = performance.now();
      for (let r = 0; r < repeats; r++) await decompress(packed, format);
      const t2 = performance.now();
      rows.push({
        size: raw.length,
        format,
        compressed: packed.length,
        saved: 1 - packed.length / raw.length,
        compressMs: (t1 - t0) / repeats,
        decompressMs: (t2 - t1) / repeats,
        mbPerSec: raw.length / 1024 / 1024 / ((t1 - t0) / repeats / 1000),
      });
    }
  }
  return {
    table: {
      title:
        'Compression of JSON-like values (v8.serialize of an array of records), CompressionStream',
      columns: [
        { key: 'size', label: 'serialized bytes', format: 'int' },
        { key: 'format', label: 'format', format: 'text' },
        { key: 'compressed', label: 'compressed bytes', format: 'int' },
        { key: 'saved', label: 'disk saved', format: 'pct' },
        { key: 'compressMs', label: 'compress ms', format: 'ms' },
        { key: 'decompressMs', label: 'decompress ms', format: 'ms' },
        { key: 'mbPerSec', label: 'compress MB/s', format: 'mb' },
      ],
      rows,
      notes: ['The persistent tiers compress entries above 16 KiB by default.'],
    },
    checks,
  };
}

export const evictionCase: BenchCase<Profile> = {
  id: 'eviction',
  title: '7. Cost-aware vs LRU eviction (issue 4)',
  async run(profile) {
    const { keys, requests, capacity } = profile.eviction;
    const trace = evictionTrace(keys, requests);
    const stats = {
      lru: replayEviction(memoryStore('lru', capacity), trace),
      costAware: replayEviction(memoryStore('cost-aware', capacity), trace),
      lruCache: replayEviction(lruCache(capacity), trace),
    };
    const contenders: Contender<string>[] = [
      {
        name: "eed MemoryStore 'cost-aware'",
        role: 'eed',
        run: () => replayEviction(memoryStore('cost-aware', capacity), trace).hits.toString(),
      },
      {
        name: "eed MemoryStore 'lru'",
        role: 'eed',
        checkAnswer: false,
        run: () => replayEviction(memoryStore('lru', capacity), trace).hits.toString(),
      },
      {
        name: 'lru-cache',
        role: 'peer',
        checkAnswer: false,
        run: () => replayEviction(lruCache(capacity), trace).hits.toString(),
      },
    ];
    const speed = await compare('eviction', requests, contenders, profile.heavyEffort);
    const line = (name: string, s: ReplayStats) => ({
      name,
      hitRate: s.hits / s.requests,
      savedS: s.saved / 1000,
      savedShare: s.saved / s.total,
      opsPerSec: row(speed, name).opsPerSec,
    });
    const rows = [
      line("eed MemoryStore 'cost-aware'", stats.costAware),
      line("eed MemoryStore 'lru'", stats.lru),
      line('lru-cache', stats.lruCache),
    ];
    const compression = await compressionTable(profile.name !== 'full');
    const gain = stats.costAware.saved / stats.lru.saved;
    return {
      id: this.id,
      title: this.title,
      tables: [
        {
          title: `${requests.toLocaleString('en-US')} requests, Zipf(${ZIPF_S}) over ${keys.toLocaleString('en-US')} keys, log-normal costs (median ${Math.exp(COST_MU).toFixed(0)} ms, sigma ${COST_SIGMA}), capacity ${capacity.toLocaleString('en-US')} entries`,
          columns: [
            { key: 'name', label: 'store', format: 'text' },
            { key: 'hitRate', label: 'hit rate', format: 'pct' },
            { key: 'savedS', label: 'compute saved (s)', format: 'mb' },
            { key: 'savedShare', label: 'share of all compute', format: 'pct' },
            { key: 'opsPerSec', label: 'requests/s', format: 'ops' },
          ],
          rows,
          notes: [
            `Compute time of all requests without a cache: ${(stats.lru.total / 1000).toFixed(1)} s.`,
          ],
        },
        compression.table,
      ],
      targets: [
        {
          description:
            'issue 4: cost-aware saves clearly more compute than LRU (expected, not a hard target)',
          met: gain > 1.1,
          measured: `${gain.toFixed(2)}x the compute time LRU saves; hit rate ${(100 * rows[0]!.hitRate).toFixed(1)}% vs ${(100 * rows[1]!.hitRate).toFixed(1)}%`,
        },
      ],
      checks: [
        {
          description: "eviction: MemoryStore 'lru' hits exactly what lru-cache hits",
          ok: stats.lru.hits === stats.lruCache.hits,
          detail: `${stats.lru.hits} vs ${stats.lruCache.hits}`,
        },
        ...compression.checks,
      ],
    };
  },
};
