/**
 * Case 3, the memory cache: get/set mixes on a store holding `entries` entries, keys
 * uniform over 1.25 x `entries` (so about 80% of gets hit and new keys evict), the same
 * trace for every contender. MemoryStore (getSync/setSync, LRU) against lru-cache and a
 * bare Map (the floor: no bound, no bookkeeping), all three holding the same entry
 * objects; lru-cache holding bare numbers is shown for reference.
 */
import { LRUCache } from 'lru-cache';
import { type CacheEntry, MemoryStore } from '../../src/index.js';
import {
  type BenchCase,
  type CaseResult,
  type Check,
  type Contender,
  compare,
  row,
  type Table,
  type Target,
  throughputTable,
  times,
} from '../harness.js';
import type { Profile } from '../profiles.js';
import { prng } from '../util.js';

/** A get/set trace: key indices, and which operations are sets. */
export interface CacheTrace {
  readonly keys: readonly string[];
  readonly ops: Int32Array;
  readonly isSet: Uint8Array;
}

export function cacheTrace(
  entries: number,
  ops: number,
  setShare: number,
  seed: number,
): CacheTrace {
  const random = prng(seed);
  const space = Math.ceil(entries * 1.25);
  const keys = Array.from({ length: space }, (_, i) => `key:${i}`);
  const indices = new Int32Array(ops);
  const isSet = new Uint8Array(ops);
  for (let i = 0; i < ops; i++) {
    indices[i] = Math.floor(random() * space);
    isSet[i] = random() < setShare ? 1 : 0;
  }
  return { keys, ops: indices, isSet };
}

/*
 * One replay loop per contender, each calling its store's API directly: a loop shared by
 * all of them would see three store types at its call sites, and whichever ran first
 * would pay for the others' deoptimisations (or profit from being the only one seen).
 */

const answer = (hits: number, sum: number) => `${hits}/${sum}`;

/** Replays `trace` on a MemoryStore; each set writes an entry (the store's unit). */
export function replayMemoryStore(store: MemoryStore, trace: CacheTrace): string {
  const { keys, ops, isSet } = trace;
  let hits = 0;
  let sum = 0;
  for (let i = 0; i < ops.length; i++) {
    const index = ops[i] as number;
    const key = keys[index] as string;
    if (isSet[i] === 1) {
      const entry: CacheEntry<number> = {
        values: [index],
        storedAt: 0,
        expiresAt: Number.POSITIVE_INFINITY,
        cost: 1,
        size: 1,
      };
      store.setSync(key, entry);
    } else {
      const entry = store.getSync(key);
      if (entry !== undefined) {
        hits++;
        sum += entry.values[0] as number;
      }
    }
  }
  return answer(hits, sum);
}

/** Replays `trace` on an lru-cache holding the same entries as the MemoryStore. */
export function replayLruCache(
  cache: LRUCache<string, CacheEntry<number>>,
  trace: CacheTrace,
): string {
  const { keys, ops, isSet } = trace;
  let hits = 0;
  let sum = 0;
  for (let i = 0; i < ops.length; i++) {
    const index = ops[i] as number;
    const key = keys[index] as string;
    if (isSet[i] === 1) {
      const entry: CacheEntry<number> = {
        values: [index],
        storedAt: 0,
        expiresAt: Number.POSITIVE_INFINITY,
        cost: 1,
        size: 1,
      };
      cache.set(key, entry);
    } else {
      const entry = cache.get(key);
      if (entry !== undefined) {
        hits++;
        sum += entry.values[0] as number;
      }
    }
  }
  return answer(hits, sum);
}

/**
 * Replays `trace` on an lru-cache holding bare numbers: less work than the others (no
 * entry allocated per set, no entry to read through per hit), shown as a reference.
 */
export function replayLruCacheNumbers(cache: LRUCache<string, number>, trace: CacheTrace): string {
  const { keys, ops, isSet } = trace;
  let hits = 0;
  let sum = 0;
  for (let i = 0; i < ops.length; i++) {
    const index = ops[i] as number;
    const key = keys[index] as string;
    if (isSet[i] === 1) {
      cache.set(key, index);
    } else {
      const value = cache.get(key);
      if (value !== undefined) {
        hits++;
        sum += value;
      }
    }
  }
  return answer(hits, sum);
}

/** Replays `trace` on a bare Map holding the same entries (no bound, no bookkeeping). */
export function replayMap(map: Map<string, CacheEntry<number>>, trace: CacheTrace): string {
  const { keys, ops, isSet } = trace;
  let hits = 0;
  let sum = 0;
  for (let i = 0; i < ops.length; i++) {
    const index = ops[i] as number;
    const key = keys[index] as string;
    if (isSet[i] === 1) {
      const entry: CacheEntry<number> = {
        values: [index],
        storedAt: 0,
        expiresAt: Number.POSITIVE_INFINITY,
        cost: 1,
        size: 1,
      };
      map.set(key, entry);
    } else {
      const entry = map.get(key);
      if (entry !== undefined) {
        hits++;
        sum += entry.values[0] as number;
      }
    }
  }
  return answer(hits, sum);
}

function fillTrace(trace: CacheTrace, entries: number): CacheTrace {
  return {
    keys: trace.keys,
    ops: Int32Array.from({ length: entries }, (_, i) => i),
    isSet: new Uint8Array(entries).fill(1),
  };
}

export const cacheCase: BenchCase<Profile> = {
  id: 'cache',
  title: '3. Memory cache',
  async run(profile) {
    const tables: Table[] = [];
    const targets: Target[] = [];
    const checks: Check[] = [];
    const mixes = [
      { name: '90/10', setShare: 0.1 },
      { name: '50/50', setShare: 0.5 },
    ];
    for (const entries of profile.cache.entries) {
      for (const mix of mixes) {
        const trace = cacheTrace(entries, profile.cache.ops, mix.setShare, entries + 7);
        // Each contender's store persists across its runs; all replay the same trace the
        // same number of times, so all see the same operations.
        const fill = fillTrace(trace, entries);
        const memory = new MemoryStore({ maxEntries: entries });
        const lru = new LRUCache<string, CacheEntry<number>>({ max: entries });
        const lruNumbers = new LRUCache<string, number>({ max: entries });
        const map = new Map<string, CacheEntry<number>>();
        replayMemoryStore(memory, fill);
        replayLruCache(lru, fill);
        replayLruCacheNumbers(lruNumbers, fill);
        replayMap(map, fill);
        const contenders: Contender<string>[] = [
          { name: 'eed MemoryStore', role: 'eed', run: () => replayMemoryStore(memory, trace) },
          { name: 'lru-cache', role: 'peer', run: () => replayLruCache(lru, trace) },
          {
            name: 'lru-cache, bare numbers',
            role: 'reference',
            run: () => replayLruCacheNumbers(lruNumbers, trace),
          },
          {
            name: 'Map (unbounded)',
            role: 'floor',
            checkAnswer: false,
            run: () => replayMap(map, trace),
          },
        ];
        const title = `cache ${entries} ${mix.name}`;
        const result = await compare(title, profile.cache.ops, contenders, profile.effort);
        checks.push(...result.checks);
        tables.push(
          throughputTable(
            `${mix.name} get/set, ${entries.toLocaleString('en-US')} entries, ${profile.cache.ops.toLocaleString('en-US')} ops per run (ops = get or set)`,
            result,
            [
              `hits/sum of values hit: ${contenders.map((c) => `${c.name} ${result.answers.get(c.name)}`).join('; ')}`,
              'MemoryStore, lru-cache and the Map hold the same entry objects (`{ values: [i], storedAt, expiresAt, cost, size }`, made per set, read through per hit); "lru-cache, bare numbers" stores the number itself, which saves an allocation per set and a pointer chase per hit, and is shown for reference only.',
            ],
          ),
        );
        if (mix.setShare === 0.1) {
          const eed = row(result, 'eed MemoryStore');
          const peer = row(result, 'lru-cache');
          targets.push({
            description: `case 3: MemoryStore at least 0.9x lru-cache on a 90/10 mix at ${entries.toLocaleString('en-US')} entries`,
            met: peer.msPerRun / eed.msPerRun >= 0.9,
            measured: `${times(peer.msPerRun / eed.msPerRun)} lru-cache's speed (${eed.usPerOp.toFixed(3)} vs ${peer.usPerOp.toFixed(3)} us/op)`,
          });
        }
      }
    }
    const result: CaseResult = {
      id: this.id,
      title: this.title,
      tables,
      targets,
      checks,
    };
    return result;
  },
};
