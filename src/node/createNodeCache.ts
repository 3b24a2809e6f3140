import {
  type CacheEntry,
  type CacheStore,
  type CacheStoreEvent,
  type Clock,
  type EvictionPolicyName,
  MemoryStore,
  type MemoryStoreOptions,
  TieredCache,
  UnserializableValueError,
} from 'eed';
import { map, merge, type Observable, Subject } from 'rxjs';
import { assertDuration, assertObject, assertTimerMs, describe } from '../executor/validate.js';
import { FileSystemStore, type FileSystemStoreFs } from './FileSystemStore.js';

// Classes users may test with `instanceof` (TieredCache, MemoryStore, the error classes)
// come from 'eed' by name, not by relative path: with 'eed' external in the Node build,
// `eed/node` then shares them with `eed` instead of carrying copies.

/**
 * Options of {@link createNodeCache}. Every option is optional.
 *
 * @example
 * ```ts
 * const options: NodeCacheOptions = {
 *   dir: '.cache/eed',
 *   memory: { maxEntries: 5_000 },
 *   maxBytes: 1024 * 1024 * 1024,
 *   ttl: 24 * 60 * 60_000,
 * };
 * ```
 */
export interface NodeCacheOptions {
  /**
   * The directory of the filesystem tier, resolved against `process.cwd()`; created on the
   * first write. Like other tools' caches, it lives under `node_modules/.cache`, so it
   * goes when `node_modules` does.
   *
   * @default 'node_modules/.cache/eed'
   */
  dir?: string;
  /**
   * Options of the memory tier (L1, the session). Its `clock` defaults to this `clock`.
   *
   * @default {} — a `MemoryStore` with its defaults (10,000 entries)
   */
  memory?: MemoryStoreOptions;
  /**
   * The most bytes of entry files the filesystem tier keeps (see
   * {@link FileSystemStore.maxBytes}). A number > 0, or `Infinity`.
   *
   * @default 268_435_456 (256 MiB)
   */
  maxBytes?: number;
  /**
   * The longest an entry lives in the filesystem tier (ms); each entry keeps the shorter
   * of this and its own lifetime. The memory tier keeps entries for the session. A number
   * of ms >= 0, or `Infinity`.
   *
   * @default 3_600_000 — `TieredCache`'s default for a second tier (the seed's L2, 1 hour)
   */
  ttl?: number;
  /**
   * The filesystem tier's eviction policy.
   *
   * @default 'lru'
   */
  policy?: EvictionPolicyName;
  /**
   * Serialized entries above this many bytes are gzip-compressed on disk.
   *
   * @default 16_384 (16 KiB)
   */
  compressThreshold?: number;
  /**
   * A read of the filesystem tier slower than this (ms) is abandoned and counts as a miss.
   * A number of ms >= 0, or `Infinity` (never abandoned).
   *
   * @default 250 — `TieredCache`'s default
   */
  timeoutMs?: number;
  /**
   * Wall-clock source for expiry in both tiers and the tiered cache. Inject one in tests.
   *
   * @default { now: Date.now }
   */
  clock?: Clock;
  /** File-system functions of the filesystem tier, for tests (see {@link FileSystemStoreFs}). */
  fs?: FileSystemStoreFs;
}

/** The filesystem tier's default bound. */
const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

/**
 * The default Node cache: a {@link TieredCache} of a `MemoryStore` (L1, the session) over a
 * {@link FileSystemStore} (L2, on disk, shared by runs and processes). Build one with
 * {@link createNodeCache}.
 *
 * Besides what `TieredCache` does, it:
 * - exposes its two stores (`memory`, `fileSystem`), e.g. to `prune()` the disk;
 * - reports the filesystem store's unusable entry files on `events$` too, as
 *   `'tier-error'` events of tier 1 (with a `CorruptEntryError`), so an engine using this
 *   cache sees them as `cache-error` events; I/O errors of the disk are failures of tier 1
 *   like any tier's (reported, counted by the circuit breaker);
 * - reports a value the disk cannot hold ({@link UnserializableValueError}, naming the key)
 *   as an event of tier 1 without counting it as a failure of the disk, so caching a
 *   function never makes the cache skip the disk for the other keys. The value stays in
 *   memory.
 *
 * @example
 * ```ts
 * import { createEngine } from 'eed';
 * import { createNodeCache } from 'eed/node';
 *
 * const cache = createNodeCache();
 * const engine = createEngine({ cache });
 * // ... the second run of the program is served from node_modules/.cache/eed
 * await cache.flush(); // before process.exit(): disk writes run in the background
 * ```
 */
export class NodeCache extends TieredCache {
  /** Tier 0: the session's memory. */
  readonly memory: MemoryStore;
  /** Tier 1: the directory on disk. */
  readonly fileSystem: FileSystemStore;

  /**
   * @param options - see {@link NodeCacheOptions}.
   * @throws TypeError / RangeError naming an option that is out of range.
   */
  constructor(options: NodeCacheOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(
        `createNodeCache options must be an object; received ${describe(options)}`,
      );
    }
    // Checked here, not by TieredCache, so that the message names the option as written.
    if (options.memory !== undefined) assertObject('memory', options.memory);
    if (options.ttl !== undefined) assertDuration('ttl', options.ttl);
    if (options.timeoutMs !== undefined) {
      assertTimerMs('timeoutMs', options.timeoutMs, { infinity: true });
    }
    const clock = options.clock ?? { now: () => Date.now() };
    const memory = new MemoryStore({ clock, ...options.memory });
    const fileSystem = new FileSystemStore({
      dir: options.dir ?? 'node_modules/.cache/eed',
      maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES,
      policy: options.policy,
      compressThreshold: options.compressThreshold,
      clock,
      // Read failures reach the TieredCache, which reports them and counts them.
      readErrors: 'reject',
      fs: options.fs,
    });
    const unserializable = new Subject<CacheStoreEvent>();
    const disk: CacheStore = {
      get: (key) => fileSystem.get(key),
      set: (key: string, entry: CacheEntry) =>
        fileSystem.set(key, entry).catch((error: unknown) => {
          if (!(error instanceof UnserializableValueError)) throw error;
          // The disk is fine; this one value cannot go there. Report it, do not count it.
          unserializable.next({
            type: 'tier-error',
            tier: 1,
            key,
            operation: 'set',
            error,
            time: clock.now(),
          });
        }),
      delete: (key) => fileSystem.delete(key),
      clear: () => fileSystem.clear(),
      keys: () => fileSystem.keys(),
    };
    super({
      tiers: [{ store: memory }, { store: disk, ttl: options.ttl, timeoutMs: options.timeoutMs }],
      clock,
    });
    this.memory = memory;
    this.fileSystem = fileSystem;
    const tierEvents = this.events$;
    const events: Observable<CacheStoreEvent> = merge(
      tierEvents,
      fileSystem.events$.pipe(map((event) => ({ ...event, tier: 1 }))),
      unserializable,
    );
    // `events$` is TieredCache's own field; widen it with the stores' reports.
    Object.defineProperty(this, 'events$', { value: events, enumerable: true });
  }

  /**
   * Resolves once the filesystem tier has finished every write started so far (they run
   * in the background). Await it before `process.exit()`.
   *
   * @example
   * ```ts
   * await cache.flush();
   * process.exit(0);
   * ```
   */
  flush(): Promise<void> {
    return this.fileSystem.flush();
  }
}

/**
 * The default Node cache, with no configuration needed: memory (L1, the session) over the
 * filesystem (L2, `node_modules/.cache/eed`, 1 hour, 256 MiB), as a {@link NodeCache}
 * (a `TieredCache`). Reads from the disk that take longer than 250 ms count as misses; a
 * failing disk (full, read-only, removed) degrades to misses and events, never to a failed
 * run, and a disk that keeps failing is skipped for a while (circuit breaker).
 *
 * @param options - see {@link NodeCacheOptions}.
 * @throws TypeError or RangeError for an invalid option, named as written, with the value
 *   received.
 *
 * @example
 * ```ts
 * import { createEngine } from 'eed';
 * import { createNodeCache } from 'eed/node';
 *
 * const engine = createEngine({ cache: createNodeCache({ ttl: 24 * 60 * 60_000 }) });
 * engine.run('deps:lockfile-hash', () => resolveDependencies()).subscribe(print);
 * // Run the program again: the result comes from disk, resolveDependencies() is not called.
 * ```
 */
export function createNodeCache(options: NodeCacheOptions = {}): NodeCache {
  return new NodeCache(options);
}
