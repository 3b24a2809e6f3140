import { createHash, randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs/promises';
import { join, resolve } from 'node:path';
// The error classes come from 'eed' by name, so that `instanceof` works across the two
// entries once the Node build keeps 'eed' external (see createNodeCache.ts).
import { CorruptEntryError } from 'eed';
import { type Observable, Subject } from 'rxjs';
import {
  checkRecordLength,
  decodeKey,
  decodeRecord,
  decodeRecordHeader,
  encodeKey,
  RECORD_HEADER_BYTES,
  type RecordHeader,
} from '../cache/codec.js';
import {
  assertEvictionPolicyName,
  createEvictionPolicy,
  type EvictionPolicy,
  type EvictionPolicyName,
  NO_SLOT,
} from '../cache/eviction/index.js';
import type { CacheEntry, CacheStore, CacheStoreEvent } from '../cache/types.js';
import type { Clock } from '../executor/types.js';
import { assertFunction, describe } from '../executor/validate.js';
import {
  checksum,
  decodeValues,
  describeError,
  encodeEntry,
  isCorrupt,
  serializeValues,
} from './entryCodec.js';
import { OperationQueue } from './OperationQueue.js';

const INFINITY = Number.POSITIVE_INFINITY;

/**
 * An open file, as {@link FileSystemStoreFs.open} returns it: the few methods of
 * `FileHandle` the store uses.
 *
 * @example
 * ```ts
 * const handle: FileSystemStoreFileHandle = await fs.open(path, 'r');
 * ```
 */
export interface FileSystemStoreFileHandle {
  /** The open file's inode and size (`FileHandle.stat`). */
  stat(): Promise<{ readonly ino: number; readonly size: number }>;
  /** Reads `length` bytes at `position` into `buffer` at `offset` (`FileHandle.read`). */
  read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ readonly bytesRead: number }>;
  /** The whole file (`FileHandle.readFile`). */
  readFile(): Promise<Uint8Array>;
  /** Closes the handle (`FileHandle.close`). */
  close(): Promise<void>;
}

/**
 * The file-system functions a {@link FileSystemStore} calls, with the signatures of
 * `node:fs/promises` (which is the default). Inject your own to simulate failures in tests
 * (a full disk, a read-only directory) or to count I/O.
 *
 * @example
 * ```ts
 * import * as fs from 'node:fs/promises';
 *
 * const diskFull: FileSystemStoreFs = {
 *   ...fs,
 *   writeFile: async () => { throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }); },
 * };
 * new FileSystemStore({ dir, fs: diskFull });
 * ```
 */
export interface FileSystemStoreFs {
  /** Creates a directory and its parents (`fs.mkdir`). */
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  /** The names in a directory (`fs.readdir`). */
  readdir(path: string): Promise<string[]>;
  /** Opens a file for reading (`fs.open`). */
  open(path: string, flags: 'r'): Promise<FileSystemStoreFileHandle>;
  /** Writes a new file, failing if it exists (`fs.writeFile` with flag `wx`). */
  writeFile(path: string, data: Uint8Array, options: { flag: 'wx' }): Promise<void>;
  /** Moves a file into place atomically (`fs.rename`). */
  rename(oldPath: string, newPath: string): Promise<void>;
  /** Removes a file (`fs.unlink`). */
  unlink(path: string): Promise<void>;
  /** A file's inode and modification time (`fs.stat`). */
  stat(path: string): Promise<{ readonly ino: number; readonly mtimeMs: number }>;
}

/**
 * Options of {@link FileSystemStore}.
 *
 * @example
 * ```ts
 * const options: FileSystemStoreOptions = {
 *   dir: 'node_modules/.cache/my-tool',
 *   maxBytes: 256 * 1024 * 1024,
 *   policy: 'cost-aware',
 *   compressThreshold: 16 * 1024,
 * };
 * ```
 */
export interface FileSystemStoreOptions {
  /**
   * The directory the entries live in, one file each (created on the first write, with its
   * parents). Relative paths are resolved against `process.cwd()` when the store is
   * constructed. Keep it to eed: `clear()` removes every entry file in it (files whose
   * names are not eed's are left alone).
   */
  dir: string;
  /**
   * The most bytes the entry files may add up to (as this store instance knows them).
   * Writing more evicts entries, chosen by `policy`, until the new one fits; an entry
   * bigger than `maxBytes` on its own is not stored (and any older entry under its key is
   * removed). A number > 0, or `Infinity`.
   *
   * @default Infinity
   */
  maxBytes?: number;
  /**
   * Which entries go when `maxBytes` is reached: `'lru'`, the least recently used, or
   * `'cost-aware'` (GreedyDual-Size-Frequency): those cheapest to recompute per byte and
   * least often used. The same policies `MemoryStore` uses.
   *
   * @default 'lru'
   */
  policy?: EvictionPolicyName;
  /**
   * Serialized entries bigger than this many bytes are gzip-compressed (when that makes
   * them smaller). `0` compresses every entry, `Infinity` none.
   *
   * @default 16_384 (16 KiB)
   */
  compressThreshold?: number;
  /**
   * Wall-clock source compared with entries' `expiresAt` (wall-clock ms, so they mean the
   * same across restarts). Inject one in tests.
   *
   * @default { now: Date.now }
   */
  clock?: Clock;
  /**
   * What `get` does when reading a file fails for a reason other than its absence (a
   * permission error, `EIO`, a `dir` under a regular file): `'miss'` resolves `undefined`
   * and reports the error on `events$`; `'reject'` rejects with it and reports nothing,
   * for a `TieredCache`, which then reports it as a failure of this tier and counts it
   * towards skipping the tier for a while (circuit breaker). An unusable entry file is a
   * miss and an event either way: a bad file is not a sick disk.
   *
   * @default 'miss' (`createNodeCache` uses `'reject'`)
   */
  readErrors?: 'miss' | 'reject';
  /**
   * The file-system functions the store calls; see {@link FileSystemStoreFs}.
   *
   * @default node:fs/promises
   */
  fs?: FileSystemStoreFs;
}

/** One entry this instance knows of, as far as eviction needs it. */
interface KnownEntry {
  readonly hash: string;
  readonly key: string;
  readonly fileBytes: number;
  readonly expiresAt: number;
}

/** What reading a header found. */
interface HeaderRead {
  readonly header: RecordHeader;
  readonly key: string;
  readonly fileBytes: number;
  readonly ino: number;
}

/** An entry file's name: the SHA-256 of its key, in hex. */
const ENTRY_NAME = /^[0-9a-f]{64}$/;
/** A temporary file's name: `<hash>.<pid>.<counter>.<random>.tmp`. */
const TEMP_NAME = /^[0-9a-f]{64}\.\d+\.\d+\.[0-9a-f]+\.tmp$/;
/** Temporary files older than this are left-overs of a crashed writer; `prune()` removes them. */
const STALE_TEMP_MS = 10 * 60_000;
/** The most file operations one store has in flight at once (keeps clear of EMFILE). */
const MAX_OPEN_FILES = 64;

/** The SHA-256 of a key's UTF-16 code units, in hex: the entry's file name. */
function hashKey(key: string): string {
  return createHash('sha256').update(encodeKey(key)).digest('hex');
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const isMissing = (error: unknown): boolean => errorCode(error) === 'ENOENT';

/** Caps how many async operations run at once; the rest wait their turn, in order. */
class Limiter {
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly max: number) {}

  async run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#active < this.max) this.#active++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await operation();
    } finally {
      // Hand the permit to the next waiter, or give it back.
      const next = this.#waiting.shift();
      if (next === undefined) this.#active--;
      else next();
    }
  }
}

/**
 * A {@link CacheStore} on the local file system: entries survive the process, and several
 * processes can share one directory. The persistent tier of `createNodeCache()`.
 *
 * - **One file per entry**, named by the SHA-256 of the key, so no key ever becomes a path
 *   (`'../../etc/passwd'` and `'\0'` are just keys). Values are serialized with
 *   `node:v8` (the structured-clone value set: Date, Map, Set, typed arrays, bigint,
 *   RegExp, cycles...; class instances come back as plain objects) behind a small
 *   versioned header (magic, format version, flags, `storedAt`, `expiresAt`, `cost`,
 *   `size`, the key, lengths, and a CRC-32 of the whole record), and gzip-compressed above
 *   `compressThreshold` with the standard `CompressionStream`.
 * - **Atomic writes**: each write goes to a unique temporary file in the same directory,
 *   then is renamed over the entry; a reader (in this process or another) sees the old
 *   entry or the new one, never a torn one.
 * - **Failures are misses**: a truncated, garbled or other-version file, or one whose
 *   checksum does not match, is removed and reported on `events$` (a `'tier-error'` with a
 *   {@link CorruptEntryError} saying why); an I/O error on a read (permissions, a path that
 *   is not a directory) is reported there too, and `get` resolves `undefined` (or, with
 *   `readErrors: 'reject'`, the right choice under a `TieredCache`, rejects). Writes
 *   reject instead (a full disk, a read-only directory, or an
 *   `UnserializableValueError` (from `eed`) naming the key for a value `node:v8` cannot
 *   serialize), so a `TieredCache` counts them as failures of this tier and a run is
 *   still served by the faster tiers.
 * - **Bounded**: with `maxBytes`, writes evict the least valuable entries first, by the
 *   same `'lru'` or `'cost-aware'` policy `MemoryStore` uses. The store keeps an index of
 *   the entries it knows (key, bytes, expiry, cost), built by scanning the directory on
 *   the first write that needs it, on `keys()` and on `prune()`; other processes' writes
 *   are picked up by those scans and by reads. Each process enforces the bound on what it
 *   knows, so several writers keep the directory near, not exactly under, `maxBytes`.
 * - **Expiry**: entries are written with their `expiresAt`; expired ones are removed when
 *   read, listed or pruned ({@link prune}).
 *
 * Operations on one key run in the order they were called, so a `get` after a `set`
 * sees what was set. Nothing touches the disk before the first operation.
 *
 * @example
 * ```ts
 * import { FileSystemStore } from 'eed/node';
 * import { createEngine } from 'eed';
 *
 * const store = new FileSystemStore({ dir: '.cache/eed', maxBytes: 512 * 1024 * 1024, policy: 'cost-aware' });
 * store.events$.subscribe((event) => console.warn('cache:', event));
 * const engine = createEngine({ cache: store, ttl: 24 * 60 * 60_000 });
 *
 * // Or on its own:
 * const now = Date.now();
 * await store.set('report:2024', { values: [report], storedAt: now, expiresAt: now + 3_600_000, cost: 1_200, size: 0 });
 * (await store.get('report:2024'))?.values; // [report], also in the next process
 * ```
 */
export class FileSystemStore implements CacheStore {
  /** The directory of the entry files (absolute). */
  readonly dir: string;
  /** The bound on the entry files' bytes (see {@link FileSystemStoreOptions.maxBytes}). */
  readonly maxBytes: number;
  /** The eviction policy's name (see {@link FileSystemStoreOptions.policy}). */
  readonly policy: EvictionPolicyName;
  /** Serialized entries above this many bytes are compressed. */
  readonly compressThreshold: number;

  readonly #clock: Clock;
  readonly #rejectReadErrors: boolean;
  readonly #fs: FileSystemStoreFs;
  readonly #events = new Subject<CacheStoreEvent>();
  readonly #io = new Limiter(MAX_OPEN_FILES);
  /** Operations per file in call order, and every operation until it settles (for {@link flush}). */
  readonly #ops = new OperationQueue();

  // The index: what this instance knows is on disk. Hash → slot; arrays by slot.
  readonly #policy: EvictionPolicy;
  readonly #slots = new Map<string, number>();
  readonly #known: (KnownEntry | undefined)[] = [];
  /** By slot: the index generation when the slot was last written (see `#sync`). */
  readonly #generation: number[] = [];
  #generations = 0;
  #bytes = 0;
  /** The first scan of the directory, once started. */
  #indexed: Promise<void> | undefined;
  #indexComplete = false;
  #dirReady: Promise<unknown> | undefined;
  #tempCounter = 0;
  readonly #tempTag = randomBytes(4).toString('hex');

  /**
   * The store's own failures, as `'tier-error'` events (`tier` 0: the store is its own
   * only tier; a `NodeCache` renumbers them): unusable entry files (`error` a
   * {@link CorruptEntryError} with the reason; the file is removed) and I/O errors of reads
   * and scans (`error` the file-system error). Failed writes reject instead. An engine
   * given this store as its cache reports these as `cache-error` events.
   */
  readonly events$: Observable<CacheStoreEvent> = this.#events.asObservable();

  /**
   * @param options - the directory and the bounds; see {@link FileSystemStoreOptions}.
   * @throws TypeError for a `dir` that is not a non-empty string, an unknown `policy`, or a
   *   `clock`/`fs` that is not usable; RangeError for a `maxBytes` or `compressThreshold`
   *   out of range. The message names the option and the value.
   */
  constructor(options: FileSystemStoreOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(
        `FileSystemStore options must be an object with a dir; received ${describe(options)}`,
      );
    }
    const {
      dir,
      maxBytes = INFINITY,
      policy = 'lru',
      compressThreshold = 16 * 1024,
      clock = { now: Date.now },
      readErrors = 'miss',
      fs = nodeFs,
    } = options;
    if (typeof dir !== 'string' || dir.length === 0 || dir.includes('\0')) {
      throw new TypeError(
        `dir must be a non-empty path (a string without NUL); received ${describe(dir)}`,
      );
    }
    if (typeof maxBytes !== 'number' || Number.isNaN(maxBytes) || maxBytes <= 0) {
      throw new RangeError(
        `maxBytes must be a number > 0 (or Infinity); received ${describe(maxBytes)}`,
      );
    }
    if (
      typeof compressThreshold !== 'number' ||
      Number.isNaN(compressThreshold) ||
      compressThreshold < 0
    ) {
      throw new RangeError(
        `compressThreshold must be a number of bytes >= 0 (or Infinity); received ${describe(compressThreshold)}`,
      );
    }
    assertEvictionPolicyName('policy', policy);
    if (readErrors !== 'miss' && readErrors !== 'reject') {
      throw new TypeError(
        `readErrors must be 'miss' or 'reject'; received ${describe(readErrors)}`,
      );
    }
    if (clock === null || typeof clock !== 'object') {
      throw new TypeError(`clock must be an object with now(); received ${describe(clock)}`);
    }
    assertFunction('clock.now', clock.now);
    if (fs === null || typeof fs !== 'object') {
      throw new TypeError(
        `fs must be an object with the node:fs/promises functions; received ${describe(fs)}`,
      );
    }
    for (const name of [
      'mkdir',
      'readdir',
      'open',
      'writeFile',
      'rename',
      'unlink',
      'stat',
    ] as const) {
      assertFunction(`fs.${name}`, fs[name]);
    }
    this.dir = resolve(dir);
    this.maxBytes = maxBytes;
    this.policy = policy;
    this.compressThreshold = compressThreshold;
    this.#clock = clock;
    this.#rejectReadErrors = readErrors === 'reject';
    this.#fs = fs;
    this.#policy = createEvictionPolicy(policy);
  }

  /** How many entries this instance knows of (complete once the directory was scanned). */
  get size(): number {
    return this.#slots.size;
  }

  /** The bytes of the entry files this instance knows of. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The valid entry for `key`, or `undefined`. A missing, expired or unusable file is a
   * miss (an unusable or expired one is removed; an unusable one is reported on
   * {@link events$}). An I/O error is a miss reported on `events$` too, or, with
   * `readErrors: 'reject'`, a rejection with the error.
   *
   * @example
   * ```ts
   * const entry = await store.get('report:2024');
   * if (entry) render(entry.values[0]);
   * ```
   */
  get(key: string): Promise<CacheEntry | undefined> {
    if (typeof key !== 'string') {
      return Promise.reject(new TypeError(`key must be a string; received ${describe(key)}`));
    }
    const hash = hashKey(key);
    return this.#ops.onKey(hash, () => this.#read(key, hash));
  }

  /**
   * Stores `entry` under `key`, replacing any previous entry, and evicts what `maxBytes`
   * requires. Resolves once the entry file is in place (renamed over the old one). An
   * entry already expired, or bigger than `maxBytes` on its own, is not stored (and any
   * previous entry under `key` is removed).
   *
   * @throws (rejects) `UnserializableValueError` (from `eed`) naming the key when the values
   *   cannot be serialized (functions, symbols, sockets...); the file-system error when
   *   the file cannot be written (`ENOSPC`, `EACCES`, `ENOTDIR`...). Nothing is stored
   *   then, and the previous entry under `key`, if any, is left as it was.
   *
   * @example
   * ```ts
   * const now = Date.now();
   * await store.set('k', { values: [new Map([[1, 'one']])], storedAt: now, expiresAt: Infinity, cost: 12, size: 0 });
   * ```
   */
  set(key: string, entry: CacheEntry): Promise<void> {
    if (typeof key !== 'string') {
      return Promise.reject(new TypeError(`key must be a string; received ${describe(key)}`));
    }
    if (entry === null || typeof entry !== 'object' || !Array.isArray(entry.values)) {
      return Promise.reject(
        new TypeError(
          `entry must be a CacheEntry with a values array; received ${describe(entry)}`,
        ),
      );
    }
    const hash = hashKey(key);
    if (!(entry.expiresAt > this.#clock.now())) {
      return this.#ops.onKey(hash, () => this.#remove(hash).then(() => undefined));
    }
    let raw: Uint8Array;
    try {
      raw = serializeValues(key, entry.values);
    } catch (error) {
      return Promise.reject(error);
    }
    // Compress now, in parallel with other keys' work; write in call order for this key.
    const encoded = encodeEntry(key, entry, raw, this.compressThreshold);
    encoded.catch(() => {}); // awaited below; this only stops an early "unhandled" warning
    return this.#ops.onKey(hash, async () => this.#write(key, hash, await encoded, entry));
  }

  /**
   * Removes `key`'s entry file.
   *
   * @returns `true` if a valid entry was there (an expired one is removed too, and counts
   *   as absent).
   * @throws (rejects) the file-system error when the file exists but cannot be removed.
   *
   * @example
   * ```ts
   * await store.delete('report:2024'); // true
   * ```
   */
  delete(key: string): Promise<boolean> {
    if (typeof key !== 'string') {
      return Promise.reject(new TypeError(`key must be a string; received ${describe(key)}`));
    }
    const hash = hashKey(key);
    return this.#ops.onKey(hash, async () => {
      const known = this.#knownOf(hash);
      let expiresAt = known?.expiresAt;
      if (expiresAt === undefined) {
        try {
          const read = await this.#io.run(() => this.#readHeader(this.#path(hash)));
          expiresAt = read.key === key ? read.header.expiresAt : -INFINITY;
        } catch {
          // Missing or unusable: whatever is there goes, and it was not a valid entry.
          expiresAt = -INFINITY;
        }
      }
      const removed = await this.#remove(hash);
      return removed && expiresAt > this.#clock.now();
    });
  }

  /**
   * Removes every entry file of the directory (and left-over temporary files); files whose
   * names are not eed's stay. The directory itself stays. Operations of this instance
   * called before `clear` settle first, so nothing written before it survives it; those
   * called after it wait for it.
   *
   * @throws (rejects) the file-system error when the directory cannot be listed or a file
   *   cannot be removed.
   *
   * @example
   * ```ts
   * await store.clear();
   * ```
   */
  clear(): Promise<void> {
    // Writes called before `clear` (a TieredCache's run in the background) land first;
    // operations called after it wait for it.
    return this.#ops.exclusive(async () => {
      const names = await this.#list();
      this.#policy.clear();
      this.#slots.clear();
      this.#known.length = 0;
      this.#generation.length = 0;
      this.#bytes = 0;
      await Promise.all(
        names
          .filter((name) => ENTRY_NAME.test(name) || TEMP_NAME.test(name))
          .map((name) => this.#io.run(() => this.#unlink(join(this.dir, name)))),
      );
    });
  }

  /**
   * The keys of the valid entries in the directory, including those other processes
   * wrote. Scans the directory (reading the header of each file this instance does not
   * know yet); unusable and expired files found on the way are removed.
   *
   * @throws (rejects) the file-system error when the directory exists but cannot be read.
   *
   * @example
   * ```ts
   * for (const key of await store.keys()) console.log(key);
   * ```
   */
  keys(): Promise<string[]> {
    return this.#ops.track(
      this.#sync(false).then(() => {
        const now = this.#clock.now();
        const keys: string[] = [];
        for (const known of this.#known) {
          if (known !== undefined && known.expiresAt > now) keys.push(known.key);
        }
        return keys;
      }),
    );
  }

  /**
   * Brings the directory in order: re-reads every entry header, removes expired and
   * unusable entries and temporary files a crashed writer left behind (older than ten
   * minutes), evicts down to `maxBytes`, and rebuilds the index from what is on disk.
   * O(number of files); run it at start-up or now and then (the stores never run it on
   * their own).
   *
   * @returns how many entry files were removed.
   * @throws (rejects) the file-system error when the directory exists but cannot be read.
   *
   * @example
   * ```ts
   * const removed = await store.prune();
   * console.log(`pruned ${removed} entries; ${store.bytes} bytes in ${store.size} entries remain`);
   * ```
   */
  prune(): Promise<number> {
    return this.#ops.track(this.#sync(true));
  }

  /**
   * Resolves once every operation started so far has settled (failures included), so the
   * writes are on disk. Call it before `process.exit()`: a `TieredCache` writes to this
   * tier in the background.
   *
   * @example
   * ```ts
   * await store.flush();
   * process.exit(0);
   * ```
   */
  async flush(): Promise<void> {
    await this.#ops.drained();
  }

  // ---- reading -------------------------------------------------------------------------

  async #read(key: string, hash: string): Promise<CacheEntry | undefined> {
    const path = this.#path(hash);
    let bytes: Uint8Array;
    let ino: number;
    try {
      ({ bytes, ino } = await this.#io.run(() => this.#readWhole(path)));
    } catch (error) {
      if (isMissing(error)) {
        this.#forget(hash);
      } else if (this.#rejectReadErrors) {
        throw error;
      } else {
        this.#report('get', key, error);
      }
      return undefined;
    }
    let header: RecordHeader;
    let values: unknown[];
    try {
      const record = decodeRecord(bytes, checksum);
      // A different key under this hash: a SHA-256 collision. Not ours; leave it.
      if (record.key !== key) return undefined;
      header = record.header;
      if (!(header.expiresAt > this.#clock.now())) {
        await this.#discard(path, ino, hash);
        return undefined;
      }
      values = await decodeValues(header, record.payload);
    } catch (error) {
      await this.#corrupt('get', key, path, ino, hash, error);
      return undefined;
    }
    const slot = this.#slots.get(hash);
    if (slot !== undefined) {
      this.#policy.touch(slot);
    } else if (this.#indexComplete) {
      this.#index(key, hash, bytes.length, header);
    }
    return {
      values,
      storedAt: header.storedAt,
      expiresAt: header.expiresAt,
      cost: header.cost,
      size: header.size,
    };
  }

  /** The whole file and its inode (read from one open file, so from one version of it). */
  async #readWhole(path: string): Promise<{ bytes: Uint8Array; ino: number }> {
    const handle = await this.#fs.open(path, 'r');
    try {
      const { ino } = await handle.stat();
      return { bytes: await handle.readFile(), ino };
    } finally {
      await handle.close();
    }
  }

  /** The header and key of an entry file, checked against the file's length. */
  async #readHeader(path: string): Promise<HeaderRead> {
    const handle = await this.#fs.open(path, 'r');
    try {
      const { ino, size } = await handle.stat();
      const head = new Uint8Array(Math.min(size, RECORD_HEADER_BYTES));
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      const header = decodeRecordHeader(head.subarray(0, bytesRead));
      checkRecordLength(header, size);
      const keyBytes = new Uint8Array(header.keyBytes);
      const read = await handle.read(keyBytes, 0, keyBytes.length, RECORD_HEADER_BYTES);
      if (read.bytesRead !== keyBytes.length) {
        throw new CorruptEntryError('truncated', 'the file ended inside the key');
      }
      return { header, key: decodeKey(keyBytes), fileBytes: size, ino };
    } finally {
      await handle.close();
    }
  }

  // ---- writing -------------------------------------------------------------------------

  /** Makes room for one framed entry and writes it (queued on its file). */
  async #write(key: string, hash: string, bytes: Uint8Array, entry: CacheEntry): Promise<void> {
    if (bytes.length > this.maxBytes) {
      // Too big to keep: the older entry under the key is stale, so it goes too.
      await this.#remove(hash);
      return;
    }
    if (this.maxBytes !== INFINITY) await this.#ensureIndex();
    // Reserve the room before writing, so concurrent writes cannot overshoot together.
    const uses = this.#forget(hash);
    const victims = this.#evictFor(bytes.length);
    this.#index(key, hash, bytes.length, entry, uses);
    const evictions = victims.map((victim) =>
      this.#io
        .run(() => this.#unlink(this.#path(victim.hash)))
        .catch((error: unknown) => {
          this.#report('set', victim.key, error);
        }),
    );
    try {
      await this.#io.run(() => this.#writeAtomically(hash, bytes));
    } catch (error) {
      this.#forget(hash);
      throw error;
    } finally {
      await Promise.all(evictions);
    }
  }

  /** Writes a unique temporary file next to the entry and renames it over the entry. */
  async #writeAtomically(hash: string, bytes: Uint8Array): Promise<void> {
    const fs = this.#fs;
    const temp = join(
      this.dir,
      `${hash}.${process.pid}.${++this.#tempCounter}.${this.#tempTag}.tmp`,
    );
    await this.#ensureDir();
    try {
      try {
        await fs.writeFile(temp, bytes, { flag: 'wx' });
      } catch (error) {
        // The directory was removed under us (say, by `rm -rf node_modules/.cache`): once more.
        if (!isMissing(error)) throw error;
        this.#dirReady = undefined;
        await this.#ensureDir();
        await fs.writeFile(temp, bytes, { flag: 'wx' });
      }
      await renameWithRetry(fs, temp, this.#path(hash));
    } catch (error) {
      await fs.unlink(temp).catch(() => {});
      throw error;
    }
  }

  #ensureDir(): Promise<unknown> {
    this.#dirReady ??= this.#fs.mkdir(this.dir, { recursive: true }).catch((error: unknown) => {
      this.#dirReady = undefined;
      throw error;
    });
    return this.#dirReady;
  }

  // ---- the index -----------------------------------------------------------------------

  /** The first directory scan, shared by whoever needs the index first. */
  #ensureIndex(): Promise<void> {
    this.#indexed ??= this.#sync(false).then(
      () => undefined,
      (error: unknown) => {
        this.#indexed = undefined;
        throw error;
      },
    );
    return this.#indexed;
  }

  /**
   * Brings the index in line with the directory. Reads the header of every entry file it
   * does not know (or of every file, when `full`); removes expired and unusable files;
   * forgets entries whose files are gone. Returns how many files it removed.
   */
  async #sync(full: boolean): Promise<number> {
    // Index entries written after this point are newer than the listing: keep them.
    const generation = ++this.#generations;
    const names = await this.#list();
    const present = new Set<string>();
    const toRead: string[] = [];
    const staleTemps: string[] = [];
    const now = this.#clock.now();
    for (const name of names) {
      if (ENTRY_NAME.test(name)) {
        present.add(name);
        // Unknown files, and known ones that look expired (another process may have
        // rewritten them since): read their headers.
        const known = this.#knownOf(name);
        if (full || known === undefined || !(known.expiresAt > now)) toRead.push(name);
      } else if (full && TEMP_NAME.test(name)) {
        staleTemps.push(name);
      }
    }
    let removed = 0;
    const found: HeaderRead[] = [];
    await Promise.all(
      toRead.map(async (hash) => {
        const path = this.#path(hash);
        let read: HeaderRead;
        try {
          read = await this.#io.run(() => this.#readHeader(path));
        } catch (error) {
          if (isMissing(error)) return;
          if (isCorrupt(error)) {
            removed++;
            await this.#corrupt('keys', undefined, path, undefined, hash, error);
          } else {
            this.#report('keys', '', error);
          }
          return;
        }
        if (hashKey(read.key) !== hash) {
          removed++;
          await this.#corrupt(
            'keys',
            read.key,
            path,
            read.ino,
            hash,
            new CorruptEntryError('garbage', 'the file name is not the hash of the key it holds'),
          );
        } else if (!(read.header.expiresAt > now)) {
          removed++;
          await this.#discard(path, read.ino, hash);
        } else {
          found.push(read);
        }
      }),
    );
    // Oldest first, so that LRU order follows the write order across restarts.
    found.sort((a, b) => a.header.storedAt - b.header.storedAt);
    for (const read of found) {
      const hash = hashKey(read.key);
      const slot = this.#slots.get(hash);
      if (slot !== undefined && (this.#generation[slot] as number) > generation) continue;
      const uses = this.#forget(hash);
      this.#index(read.key, hash, read.fileBytes, read.header, uses);
    }
    for (const [hash, slot] of [...this.#slots]) {
      if (!present.has(hash) && (this.#generation[slot] as number) < generation) {
        this.#forget(hash);
      }
    }
    if (full) {
      removed += await this.#removeStaleTemps(staleTemps);
    }
    this.#indexComplete = true;
    const victims = this.#evictFor(0);
    await Promise.all(
      victims.map((victim) =>
        this.#io
          .run(() => this.#unlink(this.#path(victim.hash)))
          .catch((error: unknown) => {
            this.#report('keys', victim.key, error);
          }),
      ),
    );
    return removed + victims.length;
  }

  async #removeStaleTemps(names: readonly string[]): Promise<number> {
    const now = Date.now();
    let removed = 0;
    await Promise.all(
      names.map((name) =>
        this.#io.run(async () => {
          const path = join(this.dir, name);
          try {
            const { mtimeMs } = await this.#fs.stat(path);
            if (now - mtimeMs < STALE_TEMP_MS) return;
            await this.#fs.unlink(path);
            removed++;
          } catch {
            // Renamed or removed meanwhile: nothing to do.
          }
        }),
      ),
    );
    return removed;
  }

  /** The directory's file names; none while the directory does not exist. */
  async #list(): Promise<string[]> {
    try {
      return await this.#io.run(() => this.#fs.readdir(this.dir));
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  }

  /** Takes victims out of the index until `incoming` more bytes fit in `maxBytes`. */
  #evictFor(incoming: number): KnownEntry[] {
    const victims: KnownEntry[] = [];
    while (this.#bytes + incoming > this.maxBytes) {
      const slot = this.#policy.evict();
      if (slot === NO_SLOT) break;
      const known = this.#known[slot] as KnownEntry;
      this.#known[slot] = undefined;
      this.#slots.delete(known.hash);
      this.#bytes -= known.fileBytes;
      victims.push(known);
    }
    return victims;
  }

  #index(
    key: string,
    hash: string,
    fileBytes: number,
    meta: { readonly cost: number; readonly expiresAt: number },
    uses = 0,
  ): void {
    const slot = this.#policy.add(meta.cost, fileBytes, uses);
    this.#slots.set(hash, slot);
    this.#known[slot] = { hash, key, fileBytes, expiresAt: meta.expiresAt };
    this.#generation[slot] = ++this.#generations;
    this.#bytes += fileBytes;
  }

  /** Drops `hash` from the index; returns its use count (for an overwrite to carry over). */
  #forget(hash: string): number {
    const slot = this.#slots.get(hash);
    if (slot === undefined) return 0;
    const uses = this.#policy.uses(slot);
    this.#policy.remove(slot);
    this.#slots.delete(hash);
    this.#bytes -= (this.#known[slot] as KnownEntry).fileBytes;
    this.#known[slot] = undefined;
    return uses;
  }

  #knownOf(hash: string): KnownEntry | undefined {
    const slot = this.#slots.get(hash);
    return slot === undefined ? undefined : this.#known[slot];
  }

  // ---- removal and reporting -----------------------------------------------------------

  /** Removes the entry file of `hash`; whether there was one. */
  async #remove(hash: string): Promise<boolean> {
    this.#forget(hash);
    return this.#io.run(() => this.#unlink(this.#path(hash)));
  }

  /** Unlinks `path`; `false` if it was not there. */
  async #unlink(path: string): Promise<boolean> {
    try {
      await this.#fs.unlink(path);
      return true;
    } catch (error) {
      if (isMissing(error) || errorCode(error) === 'ENOTDIR') return false;
      throw error;
    }
  }

  /**
   * Removes the file at `path` if it is still the one that was read (inode `ino`), so a
   * fresh entry another process renamed into place meanwhile survives.
   */
  async #discard(path: string, ino: number | undefined, hash: string): Promise<void> {
    this.#forget(hash);
    try {
      await this.#io.run(async () => {
        if (ino !== undefined && (await this.#fs.stat(path)).ino !== ino) return;
        await this.#fs.unlink(path);
      });
    } catch (error) {
      if (!isMissing(error)) this.#report('delete', '', error);
    }
  }

  /** An unusable entry file: removed, and reported with why. */
  async #corrupt(
    operation: 'get' | 'keys',
    key: string | undefined,
    path: string,
    ino: number | undefined,
    hash: string,
    error: unknown,
  ): Promise<void> {
    await this.#discard(path, ino, hash);
    const reported = isCorrupt(error)
      ? new CorruptEntryError(error.reason, error.detail, {
          key: key ?? error.key,
          location: path,
        })
      : new CorruptEntryError('undecodable', describeError(error), {
          key,
          location: path,
          cause: error,
        });
    this.#report(operation, key ?? '', reported);
  }

  #report(
    operation: 'get' | 'set' | 'delete' | 'clear' | 'keys',
    key: string,
    error: unknown,
  ): void {
    if (!this.#events.observed) return;
    this.#events.next({
      type: 'tier-error',
      tier: 0,
      key,
      operation,
      error,
      time: this.#clock.now(),
    });
  }

  // ---- plumbing ------------------------------------------------------------------------

  #path(hash: string): string {
    return join(this.dir, hash);
  }
}

/**
 * `rename`, retried briefly on Windows, where a reader holding the target open makes it
 * fail with EPERM/EACCES/EBUSY for a moment.
 */
async function renameWithRetry(fs: FileSystemStoreFs, from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.rename(from, to);
      return;
    } catch (error) {
      const code = errorCode(error);
      const transient = code === 'EPERM' || code === 'EACCES' || code === 'EBUSY';
      if (process.platform !== 'win32' || !transient || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt));
    }
  }
}
