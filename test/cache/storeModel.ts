/**
 * A model of the `CacheStore` contract (src/cache/types.ts) and of what each store documents
 * beyond it, with fast-check commands that drive a real store and the model side by side
 * (`fc.commands` + `fc.asyncModelRun`). Shared by test/cache/storeModel.property.test.ts
 * (MemoryStore) and test/node/storeModel.property.test.ts (FileSystemStore, RedisStore).
 *
 * It imports nothing from `node:*`, so a browser test (IndexedDbStore) can reuse it.
 *
 * The model is a Map from key to the entry the store holds, with its expiry:
 *
 * - an entry is valid while `now < expiresAt` (`Infinity` never expires), and `get`,
 *   `getSync` and (for stores that document it) `keys` never return an expired one;
 * - a `set` whose `expiresAt` is already past stores nothing and removes the key's older
 *   entry ("an entry already expired is not stored (and any older entry under the key is
 *   removed)");
 * - `delete` resolves `true` only if a valid entry was there; `clear` leaves nothing.
 *
 * The model also keeps what the contract does not show but the stores document and what
 * decides which entries survive a bound: expired entries a store has not noticed yet are
 * still held (they count towards `maxEntries`/`maxBytes`, and the LRU policy may pick one);
 * the LRU order (a hit and an overwrite are uses); for FileSystemStore, which entries the
 * instance's index knows (after a restart, none until it scans the directory).
 *
 * What each store documents, and the model follows (quotes from their TSDoc/README):
 *
 * - `memory` (MemoryStore): "Entries are kept by reference, not copied" (`get` returns the
 *   very object given to `set`) unless it was measured: "When `entry.size` is not a
 *   positive number, the entry is measured with `sizeOf` and stored as a copy carrying the
 *   measured size" (same `values` array). Expired entries "are removed when read (lazily),
 *   by prune" and by `keys()` ("expired entries found on the way are removed"), so `keys()`
 *   lists exactly the valid keys, "in the order they were stored (overwriting a key keeps
 *   its place, unless the new entry only fits by evicting others: then it is stored anew,
 *   last)". `maxEntries`/`maxBytes` evict the least recently used entry (`'lru'`); an
 *   entry bigger than `maxBytes` on its own is not stored and removes the older one. `size`
 *   counts "expired entries not yet noticed included", `bytes` their total `size`.
 * - `filesystem` (FileSystemStore): values are serialized (`node:v8`), so `get` returns a
 *   deep copy, never the object given to `set`; files survive a restart ("entries survive
 *   the process"); expired entries "are removed when read, listed or pruned"; `keys()`
 *   lists the valid entries "in the directory"; `maxBytes` (bytes of the entry files)
 *   evicts by the same policy, over the entries "the instance knows", its index "built by
 *   scanning the directory on the first write that needs it, on keys() and on prune()"
 *   (after a restart the scan indexes the files oldest `storedAt` first: "LRU order follows
 *   the write order across restarts").
 * - `redis` (RedisStore): deep copies too; each entry keeps "the shorter of [`ttl`] and its
 *   own lifetime" (counted from `storedAt`); `get` "compares `expiresAt` with `clock`" but
 *   leaves the entry to Redis' own expiry, so `keys()` may list an entry the clock says
 *   expired ("Entries past their `expiresAt` by `clock` but not yet expired by Redis may be
 *   listed"): every valid key, no key that was never stored or was removed, each once.
 *
 * The commands (each checks every answer against the model, then the harness' own
 * `verify`: files on disk, `size`/`bytes`, Redis TTLs):
 *
 * - `get`/`set`/`delete` on a small pool of keys ('', unicode, lone surrogates, '/', '..',
 *   NUL, glob characters, prototype names, keys of 1,000 to 40,000 characters), with
 *   MemoryStore's `getSync`/`setSync`/`deleteSync` half of the time; values are JSON-ish
 *   (plus `undefined`, NaN, -0, ±Infinity, strings of up to 40 KiB), sometimes deep-frozen
 *   as the engine freezes them; `expiresAt` already past (0, -1, -Infinity), `Infinity`,
 *   or a multiple of the time scale ± 1 ms; `size` 0 (measured), -1 or NaN, or given. A hit
 *   is deep-equal to what was set, with the same `storedAt`, `expiresAt`, `cost`, `size`
 *   (Object.is), and follows the store's copying rule; on a copying store, a second read
 *   after changing the first copy still sees the stored value, in a new copy.
 * - `clear`, `keys` (each key once; exact set, or Redis' bounds; MemoryStore's order only
 *   where asked, see `keysInOrder`).
 * - `advance(ms)` and `advanceTo(expiresAt of a held entry -1 / 0 / +1 ms)`.
 * - `reopen()`: a new instance on the same directory or Redis prefix.
 * - bursts: 2 to 4 ops called without waiting ("operations on one key run in the order
 *   they were called"), on one key, or on several where order cannot matter; optionally a
 *   `clear()` among them, after all of them (it must let them land first) or, with
 *   `clearInBursts: 'anywhere'`, between them (the ops called after it must land after it).
 *
 * None of the stores has the contract's optional `peekSync` (only `TieredCache` does), nor
 * any `has`/`peek`: the commands do not call them.
 *
 * Time is a {@link ManualClock} the store reads; commands move it in steps and to an
 * entry's `expiresAt` exactly (one ms before, at, one ms after).
 */
import { type CacheEntry, type CacheStore, sizeOf } from 'eed';
import fc from 'fast-check';
import { expect } from 'vitest';
import { ManualClock } from './conformance.js';

export { ManualClock };

/** Where the clock of every run starts: a fixed wall-clock time. */
export const T0 = Date.UTC(2030, 0, 1);

const INFINITY = Number.POSITIVE_INFINITY;

// ---------------------------------------------------------------------------------------
// The model

/** Which store's documented semantics the model follows (see the module comment). */
export type StoreSemantics = 'memory' | 'filesystem' | 'redis';

/**
 * What the model needs to know about the store under test.
 *
 * @example
 * ```ts
 * const options: StoreModelOptions = { semantics: 'memory', maxEntries: 3, eviction: 'lru' };
 * ```
 */
export interface StoreModelOptions {
  readonly semantics: StoreSemantics;
  /** MemoryStore's `maxEntries` (default `Infinity` here: pass the store's). */
  readonly maxEntries?: number;
  /** MemoryStore's or FileSystemStore's `maxBytes` (default `Infinity`). */
  readonly maxBytes?: number;
  /**
   * `'lru'`: the model evicts the least recently used entry as the store does. `'none'`:
   * the configuration keeps within its bounds, and the model fails the run (a broken test
   * setup, not a store bug) if a write would need an eviction.
   */
  readonly eviction: 'lru' | 'none';
  /**
   * The bytes an entry counts towards `maxBytes`: for FileSystemStore the entry file's
   * length (the node test computes it). Default: MemoryStore's, the entry's `size` when it
   * is a positive finite number, else the default `sizeOf` of its values.
   */
  readonly bytesOf?: (key: string, entry: CacheEntry) => number;
  /** RedisStore's `ttl`: an entry lives at most this long after its `storedAt`. */
  readonly ttlCap?: number;
  /** Whether `keys()` must list keys in the documented order (MemoryStore), not just the set. */
  readonly keysInOrder?: boolean;
  /** Whether the harness can restart the store on the same data ({@link StoreHarness.reopen}). */
  readonly reopenable?: boolean;
}

/** One entry the store holds, as the model knows it. */
export interface HeldEntry {
  readonly key: string;
  /** The object given to `set`. */
  readonly written: CacheEntry;
  /** What `get` must return (deep-equal; for `'same'`, that very object). */
  readonly expected: CacheEntry;
  /**
   * What `get` returns: `'same'`, the object given to `set` (MemoryStore); `'sized'`, a copy
   * of it carrying the measured size, with the same `values` array (MemoryStore, measured);
   * `'clone'`, a deep copy, a new one on every read (serializing stores).
   */
  readonly returns: 'same' | 'sized' | 'clone';
  /** What it counts towards `maxBytes`. */
  readonly bytes: number;
}

/** MemoryStore measures an entry whose `size` is not a positive finite number. */
const isMeasured = (entry: CacheEntry): boolean => !(entry.size > 0 && entry.size < INFINITY);

/**
 * The model: the entries a store holds (valid or expired but not yet noticed), the clock,
 * and the eviction bookkeeping. Each operation returns what the store must answer.
 */
export class StoreModel {
  /** The time the store's clock shows. */
  now = T0;
  /** How many entries were written so far (gives each a distinct `storedAt`). */
  writes = 0;
  /** Every entry the store holds, expired ones it has not noticed included. */
  readonly held = new Map<string, HeldEntry>();
  /**
   * MemoryStore's documented `keys()` order: first stored first; an overwrite keeps its
   * place, unless it has to evict others to fit (then it is stored anew, last).
   */
  order: string[] = [];
  /** The entries the store's index knows, least recently used first. */
  lru: string[] = [];
  /** The total bytes of the entries in `lru`. */
  knownBytes = 0;
  /** FileSystemStore after a restart: entry files the new instance has not indexed yet. */
  readonly unknown = new Set<string>();
  /** FileSystemStore: the first write that needs the index has scanned the directory. */
  indexedOnce = false;

  readonly maxEntries: number;
  readonly maxBytes: number;

  constructor(
    readonly options: StoreModelOptions,
    /** The keys the commands' key indexes name. */
    readonly pool: readonly string[],
  ) {
    this.maxEntries = options.maxEntries ?? INFINITY;
    this.maxBytes = options.maxBytes ?? INFINITY;
  }

  get semantics(): StoreSemantics {
    return this.options.semantics;
  }

  /** The key a command's index names. */
  keyAt(index: number): string {
    return this.pool[index % this.pool.length] as string;
  }

  /** Whether `held` is valid now. */
  isValid(held: HeldEntry): boolean {
    return held.expected.expiresAt > this.now;
  }

  /** The keys of the valid entries, in the documented `keys()` order (MemoryStore's). */
  validKeys(): string[] {
    const keys = this.semantics === 'memory' ? this.order : [...this.held.keys()];
    return keys.filter((key) => this.isValid(this.held.get(key) as HeldEntry));
  }

  /** Whether concurrent operations on different keys give the same result in any order. */
  get keysCommute(): boolean {
    // A bounded FileSystemStore picks its victims when each write runs, in whatever order
    // the writes of different keys get there.
    return this.semantics !== 'filesystem' || this.maxBytes === INFINITY;
  }

  // ---- the operations --------------------------------------------------------------------

  /** `get(key)`: the entry the store must return, or `undefined`. */
  get(key: string): HeldEntry | undefined {
    const held = this.held.get(key);
    if (held === undefined) return undefined;
    if (!this.isValid(held)) {
      // MemoryStore and FileSystemStore remove an expired entry when read; Redis leaves it
      // to its own expiry.
      if (this.semantics !== 'redis') this.#remove(key);
      return undefined;
    }
    this.#touch(key);
    return held;
  }

  /** `set(key, entry)`: whether the entry is stored (what MemoryStore's `setSync` returns). */
  set(key: string, entry: CacheEntry): boolean {
    this.writes++;
    const held = this.#held(key, entry);
    if (!(held.expected.expiresAt > this.now) || held.bytes > this.maxBytes) {
      // Already expired, or bigger than maxBytes on its own: not stored, and the older
      // entry under the key is stale.
      this.#remove(key);
      return false;
    }
    switch (this.semantics) {
      case 'memory': {
        const old = this.held.get(key);
        if (old !== undefined && this.knownBytes - old.bytes + held.bytes <= this.maxBytes) {
          // Overwritten in place: a use (most recently used), same place in keys().
          this.held.set(key, held);
          this.knownBytes += held.bytes - old.bytes;
          this.#touch(key);
          return true;
        }
        // An overwrite that has to make room: stored anew, last in keys().
        if (old !== undefined) this.#remove(key);
        while (
          this.lru.length > 0 &&
          (this.#count() >= this.maxEntries || this.knownBytes + held.bytes > this.maxBytes)
        ) {
          this.#evict();
        }
        this.held.set(key, held);
        if (!this.order.includes(key)) this.order.push(key);
        this.#index(key, held);
        return true;
      }
      case 'filesystem': {
        if (this.maxBytes !== INFINITY && !this.indexedOnce) {
          this.scan();
          this.indexedOnce = true;
        }
        this.#unindex(key);
        this.unknown.delete(key);
        while (this.lru.length > 0 && this.knownBytes + held.bytes > this.maxBytes) this.#evict();
        this.held.set(key, held);
        this.#index(key, held);
        return true;
      }
      case 'redis':
        this.held.set(key, held);
        return true;
    }
  }

  /** `delete(key)`: whether a valid entry was there (an expired one is removed too). */
  delete(key: string): boolean {
    const held = this.held.get(key);
    if (held === undefined) return false;
    this.#remove(key);
    return this.isValid(held);
  }

  /** `clear()`. */
  clear(): void {
    this.held.clear();
    this.order = [];
    this.lru = [];
    this.knownBytes = 0;
    this.unknown.clear();
  }

  /**
   * `keys()`: the keys it must list (`exact`), or, for Redis, the bounds of what it may list.
   */
  keys(): { readonly exact: string[] } | { readonly atLeast: string[]; readonly atMost: string[] } {
    switch (this.semantics) {
      case 'memory':
        // prune(): every expired entry goes.
        for (const [key, held] of [...this.held]) if (!this.isValid(held)) this.#remove(key);
        return { exact: [...this.order] };
      case 'filesystem':
        this.scan();
        return { exact: this.validKeys() };
      case 'redis':
        return { atLeast: this.validKeys(), atMost: [...this.held.keys()] };
    }
  }

  /**
   * FileSystemStore's scan of its directory: expired files are removed, files the index did
   * not know are indexed (oldest `storedAt` first), and the index is evicted down to
   * `maxBytes`.
   */
  scan(): void {
    for (const [key, held] of [...this.held]) if (!this.isValid(held)) this.#remove(key);
    const found = [...this.unknown]
      .map((key) => this.held.get(key) as HeldEntry)
      .sort((a, b) => a.written.storedAt - b.written.storedAt);
    this.unknown.clear();
    for (const held of found) this.#index(held.key, held);
    while (this.lru.length > 0 && this.knownBytes > this.maxBytes) this.#evict();
  }

  /** The store restarts on the same data (a new process; Redis: a new store on the prefix). */
  reopen(): void {
    if (this.semantics !== 'filesystem') return;
    this.lru = [];
    this.knownBytes = 0;
    this.unknown.clear();
    for (const key of this.held.keys()) this.unknown.add(key);
    this.indexedOnce = false;
  }

  // ---- bookkeeping -----------------------------------------------------------------------

  #held(key: string, entry: CacheEntry): HeldEntry {
    switch (this.semantics) {
      case 'memory': {
        const measured = isMeasured(entry);
        const size = measured ? sizeOf(entry.values) : entry.size;
        return {
          key,
          written: entry,
          expected: measured ? { ...entry, size } : entry,
          returns: measured ? 'sized' : 'same',
          bytes: this.options.bytesOf?.(key, entry) ?? size,
        };
      }
      case 'filesystem':
      case 'redis': {
        const cap = this.options.ttlCap ?? INFINITY;
        const expiresAt = Math.min(entry.expiresAt, entry.storedAt + cap);
        return {
          key,
          written: entry,
          expected: {
            values: entry.values,
            storedAt: entry.storedAt,
            expiresAt,
            cost: entry.cost,
            size: entry.size,
          },
          returns: 'clone',
          bytes: this.options.bytesOf?.(key, entry) ?? 0,
        };
      }
    }
  }

  #count(): number {
    return this.held.size;
  }

  #touch(key: string): void {
    const at = this.lru.indexOf(key);
    if (at < 0) return;
    this.lru.splice(at, 1);
    this.lru.push(key);
  }

  #index(key: string, held: HeldEntry): void {
    this.lru.push(key);
    this.knownBytes += held.bytes;
  }

  #unindex(key: string): void {
    const at = this.lru.indexOf(key);
    if (at < 0) return;
    this.lru.splice(at, 1);
    this.knownBytes -= (this.held.get(key) as HeldEntry).bytes;
  }

  /** Removes `key` from the store's index and data, but not from `order` (memory's overwrite). */
  #forget(key: string): void {
    this.#unindex(key);
    this.unknown.delete(key);
    this.held.delete(key);
  }

  #remove(key: string): void {
    this.#forget(key);
    const at = this.order.indexOf(key);
    if (at >= 0) this.order.splice(at, 1);
  }

  #evict(): void {
    if (this.options.eviction === 'none') {
      throw new Error(
        `test setup: a ${this.semantics} store configured to keep within its bounds ` +
          `(maxEntries ${this.maxEntries}, maxBytes ${this.maxBytes}) would have to evict`,
      );
    }
    this.#remove(this.lru[0] as string);
  }
}

// ---------------------------------------------------------------------------------------
// The store under test

/**
 * The store under test and what the commands need around it. `store` may be replaced by
 * {@link reopen}.
 *
 * @example
 * ```ts
 * const harness: StoreHarness = { store, clock, dispose: async () => {} };
 * ```
 */
export interface StoreHarness {
  store: CacheStore;
  readonly clock: ManualClock;
  /** Restarts the store on the same data (a new instance on the same directory or prefix). */
  reopen?(): Promise<void>;
  /** Store-specific checks after every command (files on disk, `size`, Redis TTLs...). */
  verify?(model: StoreModel): Promise<void> | void;
  /** Releases what the run used (timers, connections, directories). */
  dispose(): Promise<void>;
}

/** MemoryStore's synchronous methods, when the store has them. */
interface SyncMethods {
  getSync(key: string): CacheEntry | undefined;
  setSync(key: string, entry: CacheEntry): boolean;
  deleteSync(key: string): boolean;
}

function syncMethodsOf(store: CacheStore): SyncMethods | undefined {
  const candidate = store as Partial<SyncMethods>;
  return typeof candidate.getSync === 'function' &&
    typeof candidate.setSync === 'function' &&
    typeof candidate.deleteSync === 'function'
    ? (candidate as SyncMethods)
    : undefined;
}

// ---------------------------------------------------------------------------------------
// Operations and their checks

/** The parts of a `set` fast-check chooses; the entry is built when the command runs. */
export interface SetSpec {
  readonly values: readonly unknown[];
  /** `expiresAt` = now + ttl (0 and negative: already expired; Infinity: never). */
  readonly ttl: number;
  /** `storedAt` = now - backdate (minus a fraction of a ms, so no two writes tie). */
  readonly backdate: number;
  readonly cost: number;
  /** 0 or not a positive number: MemoryStore measures the entry. */
  readonly size: number;
  /** Deep-freeze the entry, as the engine does with the values it caches. */
  readonly freeze: boolean;
}

export type Op =
  | { readonly kind: 'set'; readonly key: number; readonly spec: SetSpec; readonly sync: boolean }
  | { readonly kind: 'get'; readonly key: number; readonly sync: boolean }
  | { readonly kind: 'delete'; readonly key: number; readonly sync: boolean };

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** The entry a `set` writes, built from `spec` at time `now`, as the store's `writes`-th. */
function entryOf(spec: SetSpec, now: number, writes: number): CacheEntry {
  // A copy per run: fast-check replays the same command objects while shrinking.
  const values = structuredClone(spec.values) as unknown[];
  const entry: CacheEntry = {
    values,
    // Distinct for every write (FileSystemStore re-indexes by storedAt after a restart).
    storedAt: now - spec.backdate - writes / 1024,
    expiresAt: now + spec.ttl,
    cost: spec.cost,
    size: spec.size,
  };
  return spec.freeze ? deepFreeze(entry) : entry;
}

/** Something no store returns on its own: pushed into a returned copy to check independence. */
const SENTINEL = Object.freeze({ sentinel: 'pushed into a returned values array' });

/** Checks `got`, what the store returned for `key`, against the model's `held`. */
function expectEntry(
  got: CacheEntry | undefined,
  held: HeldEntry | undefined,
  now: number,
  what: string,
): void {
  if (held === undefined) {
    expect(got, `${what}: a miss`).toBeUndefined();
    return;
  }
  expect(got, `${what}: a hit`).toBeDefined();
  const entry = got as CacheEntry;
  // Never expired, whatever the model says.
  expect(entry.expiresAt > now, `${what}: expiresAt ${entry.expiresAt} > now ${now}`).toBe(true);
  if (held.returns === 'same') {
    // "Entries are kept by reference, not copied."
    expect(entry, `${what}: the very entry given to set`).toBe(held.written);
    return;
  }
  expect(entry, `${what}: the entry`).toEqual(held.expected);
  for (const field of ['storedAt', 'expiresAt', 'cost', 'size'] as const) {
    expect(Object.is(entry[field], held.expected[field]), `${what}: ${field}`).toBe(true);
  }
  expect(entry, `${what}: has no tier (a single store)`).not.toHaveProperty('tier');
  if (held.returns === 'sized') {
    // MemoryStore, measured: a copy of the entry carrying the size, the same values array.
    expect(entry.values, `${what}: the values array given to set`).toBe(held.written.values);
  } else {
    // Serialized stores: a copy, never what was given to set.
    expect(entry, `${what}: a copy`).not.toBe(held.written);
    expect(entry.values, `${what}: copied values`).not.toBe(held.written.values);
  }
}

/** Starts `op` on the store (MemoryStore's sync methods when `op.sync`). */
function startOp(harness: StoreHarness, model: StoreModel, op: Op, entry?: CacheEntry) {
  const key = model.keyAt(op.key);
  const store = harness.store;
  const sync = op.sync ? syncMethodsOf(store) : undefined;
  switch (op.kind) {
    case 'get':
      return sync ? { sync: true as const, value: sync.getSync(key) } : { promise: store.get(key) };
    case 'set':
      return sync
        ? { sync: true as const, value: sync.setSync(key, entry as CacheEntry) }
        : { promise: store.set(key, entry as CacheEntry) };
    case 'delete':
      return sync
        ? { sync: true as const, value: sync.deleteSync(key) }
        : { promise: store.delete(key) };
  }
}

/** What a started op returned: `sync` values are MemoryStore's `*Sync` answers. */
type Started = ReturnType<typeof startOp>;

async function settle(started: Started): Promise<{ sync: boolean; value: unknown }> {
  if ('sync' in started) return { sync: true, value: started.value };
  return { sync: false, value: await started.promise };
}

/** Applies `op` to the model and checks the store's answer against it. */
function checkAnswer(
  model: StoreModel,
  op: Op,
  entry: CacheEntry | undefined,
  answer: { sync: boolean; value: unknown },
  what: string,
): HeldEntry | undefined {
  const key = model.keyAt(op.key);
  switch (op.kind) {
    case 'get': {
      const held = model.get(key);
      expectEntry(answer.value as CacheEntry | undefined, held, model.now, what);
      return held;
    }
    case 'set': {
      const stored = model.set(key, entry as CacheEntry);
      if (answer.sync) expect(answer.value, `${what}: setSync returns whether stored`).toBe(stored);
      else expect(answer.value, `${what}: set resolves undefined`).toBeUndefined();
      return undefined;
    }
    case 'delete': {
      const removed = model.delete(key);
      expect(answer.value, `${what}: whether a valid entry was there`).toBe(removed);
      return undefined;
    }
  }
}

const show = (value: unknown, max = 60): string => {
  const text = fc.stringify(value);
  return text.length > max ? `${text.slice(0, max)}…(${text.length})` : text;
};

function describeOp(op: Op): string {
  const via = op.sync ? 'Sync' : '';
  if (op.kind !== 'set') return `${op.kind}${via}(#${op.key})`;
  const { spec } = op;
  return (
    `set${via}(#${op.key}, ttl ${spec.ttl}, backdate ${spec.backdate}, cost ${spec.cost}, ` +
    `size ${spec.size}${spec.freeze ? ', frozen' : ''}, ${show(spec.values)})`
  );
}

async function verify(model: StoreModel, harness: StoreHarness): Promise<void> {
  await harness.verify?.(model);
}

// ---------------------------------------------------------------------------------------
// Commands

type Command = fc.AsyncCommand<StoreModel, StoreHarness>;

/** One get, set or delete, awaited; a hit on a copying store is also checked for independence. */
class OpCommand implements Command {
  constructor(readonly op: Op) {}

  check(): boolean {
    return true;
  }

  async run(model: StoreModel, harness: StoreHarness): Promise<void> {
    const { op } = this;
    const key = model.keyAt(op.key);
    const what = `${describeOp(op)} on ${show(key, 30)} at now=T0+${model.now - T0}`;
    const entry = op.kind === 'set' ? entryOf(op.spec, model.now, model.writes) : undefined;
    const answer = await settle(startOp(harness, model, op, entry));
    const held = checkAnswer(model, op, entry, answer, what);
    if (op.kind === 'get' && held?.returns === 'clone') {
      // A copying store: what one reader does to its copy, the next reader does not see.
      const first = answer.value as CacheEntry;
      (first.values as unknown[]).push(SENTINEL);
      const again = await harness.store.get(key);
      expect(model.get(key), `${what}: still held`).toBe(held);
      expectEntry(again, held, model.now, `${what} (read again after changing a copy)`);
      expect(again, `${what}: every read a new copy`).not.toBe(first);
    }
    await verify(model, harness);
  }

  toString(): string {
    return describeOp(this.op);
  }
}

/**
 * Several operations started together, without waiting, then awaited: "operations on one
 * key run in the order they were called". Ops on several keys only where their order does
 * not matter. A `clear()` among them (started after the ops before `clearAt`, before the
 * rest) must let every earlier operation land first ("nothing written before it survives
 * it") and, like any operation called before them, take effect before the later ones.
 */
class BurstCommand implements Command {
  constructor(
    readonly ops: readonly Op[],
    /** Where `clear()` is called among the ops (`ops.length`: last), or never. */
    readonly clearAt: number | undefined,
  ) {}

  check(model: StoreModel): boolean {
    const keys = new Set(this.ops.map((op) => model.keyAt(op.key)));
    return keys.size <= 1 || model.keysCommute;
  }

  async run(model: StoreModel, harness: StoreHarness): Promise<void> {
    // Every entry is built before the first op starts; the model counts writes as it
    // applies them, in the same order.
    let writes = model.writes;
    const entries = this.ops.map((op) =>
      op.kind === 'set' ? entryOf(op.spec, model.now, writes++) : undefined,
    );
    const started: Promise<{ sync: boolean; value: unknown }>[] = [];
    let cleared: Promise<void> | undefined;
    this.ops.forEach((op, i) => {
      if (i === this.clearAt) cleared = harness.store.clear();
      started.push(settle(startOp(harness, model, op, entries[i])));
    });
    if (this.clearAt === this.ops.length) cleared = harness.store.clear();
    const answers = await Promise.allSettled(started);
    const clearedAnswer = cleared === undefined ? undefined : await settle({ promise: cleared });
    this.ops.forEach((op, i) => {
      if (i === this.clearAt) {
        expect(clearedAnswer?.value, 'clear resolves').toBeUndefined();
        model.clear();
      }
      const what = `burst op ${i} ${describeOp(op)} on ${show(model.keyAt(op.key), 30)}`;
      const answer = answers[i] as PromiseSettledResult<{ sync: boolean; value: unknown }>;
      if (answer.status === 'rejected') {
        throw new Error(`${what} rejected: ${String(answer.reason)}`, { cause: answer.reason });
      }
      checkAnswer(model, op, entries[i], answer.value, what);
    });
    if (this.clearAt === this.ops.length) {
      expect(clearedAnswer?.value, 'clear resolves').toBeUndefined();
      model.clear();
    }
    await verify(model, harness);
  }

  toString(): string {
    const parts = this.ops.map(describeOp);
    if (this.clearAt !== undefined) parts.splice(this.clearAt, 0, 'clear');
    return `burst[${parts.join(', ')}]`;
  }
}

class ClearCommand implements Command {
  check(): boolean {
    return true;
  }

  async run(model: StoreModel, harness: StoreHarness): Promise<void> {
    await expect(harness.store.clear(), 'clear resolves').resolves.toBeUndefined();
    model.clear();
    await verify(model, harness);
  }

  toString(): string {
    return 'clear()';
  }
}

class KeysCommand implements Command {
  check(): boolean {
    return true;
  }

  async run(model: StoreModel, harness: StoreHarness): Promise<void> {
    const listed = await harness.store.keys();
    const expected = model.keys();
    const what = `keys() at now=T0+${model.now - T0}`;
    expect(new Set(listed).size, `${what}: each key once (${show(listed)})`).toBe(listed.length);
    const sorted = (keys: readonly string[]) => [...keys].sort();
    if ('exact' in expected) {
      if (model.options.keysInOrder) expect(listed, `${what}: in order`).toEqual(expected.exact);
      else expect(sorted(listed), what).toEqual(sorted(expected.exact));
    } else {
      const atMost = new Set(expected.atMost);
      for (const key of expected.atLeast)
        expect(listed, `${what}: lists a valid key`).toContain(key);
      for (const key of listed) {
        expect(atMost.has(key), `${what}: ${show(key)} was stored and not removed`).toBe(true);
      }
    }
    await verify(model, harness);
  }

  toString(): string {
    return 'keys()';
  }
}

class AdvanceCommand implements Command {
  constructor(readonly ms: number) {}

  check(): boolean {
    return true;
  }

  async run(model: StoreModel, harness: StoreHarness): Promise<void> {
    model.now += this.ms;
    harness.clock.advance(this.ms);
    expect(harness.clock.now()).toBe(model.now);
    await verify(model, harness);
  }

  toString(): string {
    return `advance(${this.ms})`;
  }
}

/**
 * Moves the clock to one ms before, exactly at, or one ms after the `expiresAt` of one of
 * the entries held (the `choice`-th, by `expiresAt`, of those it can move to).
 */
class AdvanceToExpiryCommand implements Command {
  constructor(
    readonly choice: number,
    readonly delta: -1 | 0 | 1,
  ) {}

  #target(model: StoreModel): number | undefined {
    const targets = [...model.held.values()]
      .map((held) => held.expected.expiresAt + this.delta)
      .filter((target) => Number.isFinite(target) && target > model.now)
      .sort((a, b) => a - b);
    return targets.length === 0 ? undefined : targets[this.choice % targets.length];
  }

  check(model: StoreModel): boolean {
    return this.#target(model) !== undefined;
  }

  async run(model: StoreModel, harness: StoreHarness): Promise<void> {
    const target = this.#target(model) as number;
    harness.clock.advance(target - model.now);
    model.now = target;
    expect(harness.clock.now()).toBe(model.now);
    await verify(model, harness);
  }

  toString(): string {
    const at = this.delta === 0 ? '' : this.delta > 0 ? ' + 1' : ' - 1';
    return `advanceTo(expiresAt of held entry ${this.choice}${at})`;
  }
}

/** Restarts the store on the same data; what the model holds must survive. */
class ReopenCommand implements Command {
  check(model: StoreModel): boolean {
    return model.options.reopenable === true;
  }

  async run(model: StoreModel, harness: StoreHarness): Promise<void> {
    await harness.reopen?.();
    model.reopen();
    await verify(model, harness);
  }

  toString(): string {
    return 'reopen()';
  }
}

// ---------------------------------------------------------------------------------------
// Arbitraries

/**
 * Keys as callers make them, hostile ones included: '', unicode (any code point, lone
 * surrogates), path-like ('/', '..', separators, NUL), glob characters, prototype names,
 * and very long keys.
 */
export const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  {
    weight: 2,
    arbitrary: fc.string({
      unit: fc.constantFrom(
        '.',
        '/',
        '\\',
        '\0',
        ':',
        '*',
        '?',
        '[',
        'a',
        '\uD800',
        '\uDC00',
        'é',
        '日',
      ),
      maxLength: 8,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      '/',
      '.',
      '..',
      '../..',
      '../x',
      '/etc/passwd',
      'a/../../b',
      '..\\..\\x',
      '__proto__',
      'constructor',
      'CON',
      'nul',
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('k', '日', '\uD800', '/..'), fc.integer({ min: 1_000, max: 40_000 }))
      .map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length))),
  },
);

/** A few distinct keys per run, so that commands meet on the same keys. */
export const keyPoolArb: fc.Arbitrary<string[]> = fc.uniqueArray(keyArb, {
  minLength: 1,
  maxLength: 5,
  size: 'max',
});

/** JSON-ish values, plus the numbers and `undefined` that JSON loses, and big strings. */
export const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(undefined, Number.NaN, -0, INFINITY, -INFINITY, '', 'ß\uD800'),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 40 }).map((kib) => 'x'.repeat(kib * 1024)),
  },
);

/**
 * The commands, for a store whose TTLs and clock steps are multiples of `timeScale` ms (a
 * Redis run needs lifetimes far longer than the run itself: Redis expires entries by its
 * own clock).
 */
export function storeCommandsArb(
  timeScale: number,
  maxCommands: number,
  /** Where a burst may call `clear()`: after all its ops, or anywhere among them. */
  clearInBursts: 'last' | 'anywhere' = 'last',
): fc.Arbitrary<Iterable<Command>> {
  const S = timeScale;
  const keyIndex = fc.noBias(fc.nat({ max: 4 }));
  const ttl = fc.oneof(
    { weight: 4, arbitrary: fc.constant(INFINITY) },
    // Already expired: now, in the past, long ago.
    { weight: 2, arbitrary: fc.constantFrom(0, -1, -S, -INFINITY) },
    {
      weight: 5,
      arbitrary: fc
        .tuple(fc.integer({ min: 1, max: 8 }), fc.constantFrom(-1, 0, 1))
        .map(([n, d]) => n * S + d),
    },
  );
  const spec: fc.Arbitrary<SetSpec> = fc.record({
    values: fc.array(valueArb, { maxLength: 3 }),
    ttl,
    backdate: fc.constantFrom(0, 0, S, 3 * S),
    cost: fc.oneof(fc.nat({ max: 10_000 }), fc.double({ min: 0, max: 1e6, noNaN: true })),
    // 0 (as the engine writes), or not a positive number: MemoryStore measures it.
    size: fc.oneof(
      { weight: 3, arbitrary: fc.constant(0) },
      { weight: 4, arbitrary: fc.noBias(fc.integer({ min: 1, max: 1_500 })) },
      { weight: 1, arbitrary: fc.constantFrom(-1, Number.NaN) },
    ),
    freeze: fc.boolean(),
  });
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('set' as const),
        key: keyIndex,
        spec,
        sync: fc.boolean(),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('get' as const),
        key: keyIndex,
        sync: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('delete' as const),
        key: keyIndex,
        sync: fc.boolean(),
      }),
    },
  );
  const step = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(0, 1, S - 1, S, S + 1) },
    { weight: 2, arbitrary: fc.integer({ min: 2, max: 6 }).map((n) => n * S) },
    { weight: 1, arbitrary: fc.constant(10 * 365 * 24 * 3_600_000) },
  );
  const command: fc.Arbitrary<Command> = fc.oneof(
    { weight: 30, arbitrary: op.map((o) => new OpCommand(o)) },
    { weight: 1, arbitrary: fc.constant(new ClearCommand()) },
    { weight: 5, arbitrary: fc.constant(new KeysCommand()) },
    { weight: 3, arbitrary: step.map((ms) => new AdvanceCommand(ms)) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(keyIndex, fc.constantFrom(-1 as const, 0 as const, 1 as const))
        .map(([key, delta]) => new AdvanceToExpiryCommand(key, delta)),
    },
    { weight: 2, arbitrary: fc.constant(new ReopenCommand()) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(
          fc.oneof(
            // One key: order matters and must be kept.
            fc
              .tuple(keyIndex, fc.array(op, { minLength: 2, maxLength: 4 }))
              .map(([key, ops]) => ops.map((o) => ({ ...o, key }))),
            // Several keys: only where their order does not matter (see BurstCommand.check).
            fc.array(op, { minLength: 2, maxLength: 4 }),
          ),
          fc.oneof(
            { weight: 3, arbitrary: fc.constant(false) },
            { weight: 1, arbitrary: fc.constant(true) },
          ),
          fc.nat({ max: 4 }),
        )
        .map(
          ([ops, withClear, at]) =>
            new BurstCommand(
              ops,
              !withClear
                ? undefined
                : clearInBursts === 'last'
                  ? ops.length
                  : at % (ops.length + 1),
            ),
        ),
    },
  );
  return fc.commands([command], { maxCommands, size: 'max' });
}

/**
 * A step of a hand-written command sequence ({@link commandsOf}): an op, or another command.
 *
 * @example
 * ```ts
 * const steps: Step[] = [{ kind: 'get', key: 0, sync: false }, { kind: 'keys' }];
 * ```
 */
export type Step =
  | Op
  | { readonly kind: 'keys' | 'clear' | 'reopen' }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'burst'; readonly ops: readonly Op[]; readonly clearAt?: number };

/**
 * Commands from hand-written steps: a counterexample fast-check found, pinned with the
 * `examples` parameter of {@link checkStoreModel} so that it runs first on every run.
 *
 * @example
 * ```ts
 * const commands = commandsOf([{ kind: 'keys' }]);
 * ```
 */
export function commandsOf(steps: readonly Step[]): Command[] {
  return steps.map((step) => {
    switch (step.kind) {
      case 'keys':
        return new KeysCommand();
      case 'clear':
        return new ClearCommand();
      case 'reopen':
        return new ReopenCommand();
      case 'advance':
        return new AdvanceCommand(step.ms);
      case 'burst':
        return new BurstCommand(step.ops, step.clearAt);
      default:
        return new OpCommand(step);
    }
  });
}

/** The parts of an entry a hand-written `set` step gives; the rest default. */
export function setSpec(values: readonly unknown[], spec: Partial<SetSpec> = {}): SetSpec {
  return { values, ttl: INFINITY, backdate: 0, cost: 0, size: 0, freeze: false, ...spec };
}

// ---------------------------------------------------------------------------------------
// The property

/**
 * A store to run the model against: its harness and what the model must know about it.
 *
 * @example
 * ```ts
 * const open: OpenStore<{ maxEntries: number }> = async (config, clock) => {
 *   const store = new MemoryStore({ clock, maxEntries: config.maxEntries });
 *   return { harness: { store, clock, dispose: async () => {} }, model: { semantics: 'memory', maxEntries: config.maxEntries, eviction: 'lru' } };
 * };
 * ```
 */
export type OpenStore<Config> = (
  config: Config,
  clock: ManualClock,
) => Promise<{ harness: StoreHarness; model: StoreModelOptions }>;

/**
 * Runs fast-check: for each configuration, key pool and command sequence, a fresh store
 * (from `open`) and a fresh model, the commands run against both.
 *
 * @example
 * ```ts
 * await checkStoreModel(fc.constant({}), openMemoryStore, { numRuns: 100, timeScale: 1_000 });
 * ```
 */
export async function checkStoreModel<Config>(
  configArb: fc.Arbitrary<Config>,
  open: OpenStore<Config>,
  parameters: {
    numRuns: number;
    timeScale: number;
    maxCommands: number;
    /** Where a burst may call `clear()` (default `'last'`). */
    clearInBursts?: 'last' | 'anywhere';
    /** Runs first: a configuration, a key pool and steps (see {@link commandsOf}). */
    examples?: ReadonlyArray<readonly [Config, string[], readonly Step[]]>;
  },
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      configArb,
      keyPoolArb,
      storeCommandsArb(parameters.timeScale, parameters.maxCommands, parameters.clearInBursts),
      async (config, pool, commands) => {
        const clock = new ManualClock(T0);
        const { harness, model: options } = await open(config, clock);
        // A failed run reports its own failure, not what disposing the store then says.
        let failure: { error: unknown } | undefined;
        try {
          await fc.asyncModelRun(
            () => ({ model: new StoreModel(options, pool), real: harness }),
            commands,
          );
        } catch (error) {
          failure = { error };
        }
        try {
          await harness.dispose();
        } catch (error) {
          failure ??= { error };
        }
        if (failure !== undefined) throw failure.error;
      },
    ),
    {
      numRuns: parameters.numRuns,
      examples: (parameters.examples ?? []).map(
        ([config, pool, steps]) =>
          [config, pool, commandsOf(steps)] as [Config, string[], Command[]],
      ),
    },
  );
}
