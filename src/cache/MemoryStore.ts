import type { Clock } from '../executor/types.js';
import { assertCount, assertFunction, assertTimerMs, describe } from '../executor/validate.js';
import {
  assertEvictionPolicyName,
  createEvictionPolicy,
  type EvictionPolicy,
  type EvictionPolicyName,
  NO_SLOT,
} from './eviction/index.js';
import { grown } from './eviction/SlotPolicy.js';
import { sizeOf as defaultSizeOf } from './sizeOf.js';
import type { CacheEntry, SyncCacheStore } from './types.js';

const INFINITY = Number.POSITIVE_INFINITY;

/** A promise every successful write shares (a settled promise cannot be changed). */
const DONE: Promise<void> = Promise.resolve();

/**
 * Why {@link MemoryStoreOptions.onEvict} was called:
 * - `'evicted'`: the store was full (`maxEntries` or `maxBytes`) and its policy chose this entry;
 * - `'expired'`: the entry's `expiresAt` passed and the store noticed (on a read, `keys()`,
 *   `prune()`, the sweep, or when it was about to be evicted anyway).
 *
 * Deleting, clearing and overwriting are the caller's doing and are not reported.
 *
 * @example
 * ```ts
 * const onEvict = (key: string, entry: CacheEntry, reason: MemoryStoreEvictionReason) =>
 *   console.log(`${key} ${reason} after ${Date.now() - entry.storedAt} ms`);
 * ```
 */
export type MemoryStoreEvictionReason = 'evicted' | 'expired';

/**
 * Options of {@link MemoryStore}. Every option is optional.
 *
 * @example
 * ```ts
 * const options: MemoryStoreOptions = {
 *   maxEntries: 10_000,
 *   maxBytes: 64 * 1024 * 1024,
 *   policy: 'cost-aware',
 *   sweepIntervalMs: 60_000,
 *   onEvict: (key, _entry, reason) => console.debug('cache', reason, key),
 * };
 * const store = new MemoryStore(options);
 * ```
 */
export interface MemoryStoreOptions {
  /**
   * The most entries the store holds; storing one more evicts one (see `policy`).
   * An integer >= 1, or `Infinity` for no bound on the count (then bound it with
   * `maxBytes`, a TTL, or both).
   *
   * @default 10_000
   */
  maxEntries?: number;
  /**
   * The most bytes the entries may add up to, by their `size` (measured with `sizeOf` when
   * an entry comes without one). Storing more evicts entries until the new one fits; an
   * entry bigger than `maxBytes` on its own is not stored at all (and any older entry under
   * its key is removed, since it is stale). A number > 0, or `Infinity`.
   *
   * @default Infinity
   */
  maxBytes?: number;
  /**
   * Measures an entry that arrives with `size` 0 (the engine writes entries so): receives
   * the entry's `values` and key, returns bytes (a finite number >= 0). Entries that
   * already carry a positive `size` are trusted and not measured. The measured size is
   * written into the stored entry, so `get` returns it.
   *
   * @default sizeOf — a cheap structural estimate (see {@link sizeOf})
   */
  sizeOf?: (values: readonly unknown[], key: string) => number;
  /**
   * Which entry goes when the store is full: `'lru'`, the least recently used, or
   * `'cost-aware'`, GreedyDual-Size-Frequency: the entry cheapest to recompute per byte
   * and least often used (by each entry's `cost`, `size` and hits), aged so that stale
   * favourites eventually go.
   *
   * @default 'lru'
   */
  policy?: EvictionPolicyName;
  /**
   * Wall-clock source compared with entries' `expiresAt` (which are wall-clock ms, so
   * they mean the same in every tier and across restarts). Inject one in tests.
   *
   * @default { now: Date.now }
   */
  clock?: Clock;
  /**
   * When set, every `sweepIntervalMs` the store removes all expired entries (an O(n) scan,
   * see {@link MemoryStore.prune}), so memory held by entries nobody reads again is given
   * back. The timer is `unref`'d in Node (it never keeps a process alive), holds the store
   * only weakly, and stops on {@link MemoryStore.dispose} (or `[Symbol.dispose]`). Without
   * it, expired entries are dropped lazily, when read or listed, or when the policy evicts
   * them. A number of ms > 0 and at most 2^31 - 1 (the longest timer delay; `Infinity` is
   * rejected: leave it unset for no timer).
   *
   * @default undefined — no timer
   */
  sweepIntervalMs?: number;
  /**
   * Called after an entry left the store because it was evicted or expired (not when it
   * was deleted, cleared or overwritten). The engine uses it to count prefetches that were
   * never used. Called once the store is consistent again; an exception thrown by it is
   * re-thrown asynchronously (it does not fail the store operation).
   *
   * @default undefined
   */
  onEvict?: (key: string, entry: CacheEntry, reason: MemoryStoreEvictionReason) => void;
}

/** `Symbol.dispose` where the runtime has it, else the well-known registry symbol polyfills use. */
const DISPOSE: typeof Symbol.dispose =
  (Symbol as { dispose?: typeof Symbol.dispose }).dispose ??
  (Symbol.for('Symbol.dispose') as typeof Symbol.dispose);

/** Re-throws outside the current call stack, like an unhandled error in an event handler. */
function reportError(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

/**
 * An in-memory {@link SyncCacheStore}: the default cache of an engine and the usual first
 * tier of a `TieredCache`.
 *
 * - A `Map` underneath, so any string is an ordinary key (`'__proto__'`, `'constructor'`,
 *   `''`), and `get`/`set`/`delete` are O(1) with `policy: 'lru'` (O(log n) with
 *   `'cost-aware'`). A hit allocates nothing.
 * - Bounded by entry count (`maxEntries`, default 10,000) and/or bytes (`maxBytes`);
 *   when full, the `policy` chooses what to evict.
 * - Per-entry lifetimes: an entry is valid while `clock.now() < entry.expiresAt`. Expired
 *   entries are never returned; they are removed when read (lazily), by {@link prune}, or
 *   by a sweep timer when `sweepIntervalMs` is set.
 * - Entries are kept by reference, not copied: the engine deep-freezes values before it
 *   stores them; if you write entries yourself, do not mutate them afterwards.
 *
 * The async `CacheStore` methods never throw synchronously and settle at once;
 * `getSync`, `setSync` and `deleteSync` are the same operations without the promise.
 *
 * @example
 * ```ts
 * import { createEngine, MemoryStore } from 'eed';
 *
 * const cache = new MemoryStore({ maxEntries: 5_000, maxBytes: 50 * 1024 * 1024, policy: 'cost-aware' });
 * const engine = createEngine({ cache, ttl: 60_000 });
 *
 * // Or on its own:
 * const now = Date.now();
 * cache.setSync('user:1', { values: [{ id: 1 }], storedAt: now, expiresAt: now + 60_000, cost: 40, size: 0 });
 * cache.getSync('user:1')?.values; // [{ id: 1 }]
 * cache.bytes;                      // the measured size of [{ id: 1 }]
 * ```
 */
export class MemoryStore implements SyncCacheStore {
  /** The bound on the number of entries (see {@link MemoryStoreOptions.maxEntries}). */
  readonly maxEntries: number;
  /** The bound on the total bytes of entries (see {@link MemoryStoreOptions.maxBytes}). */
  readonly maxBytes: number;
  /** The eviction policy's name (see {@link MemoryStoreOptions.policy}). */
  readonly policy: EvictionPolicyName;

  /**
   * Key → slot; the slot indexes the arrays below and names the entry to the policy. A
   * reserved key (see {@link reserve}) has a slot too, handed out by the policy but not
   * tracked by it, whose holder is in `#holders` and whose entry is `undefined`: one map
   * answers both "is it cached?" and "is it being computed?", and the result takes the
   * reserved slot with no second lookup ({@link fulfil}).
   */
  readonly #slots = new Map<string, number>();
  /** How many keys of `#slots` hold a reservation, not an entry. */
  #reserved = 0;
  /**
   * The key {@link entryOrReservation} last found absent, while `#slots` has not changed
   * since (every change goes through {@link #put} or {@link #remove}, which forget it):
   * reserving it then needs no second lookup.
   */
  #absent: string | undefined = undefined;
  /** By slot: the key (to delete it from `#slots` on eviction). */
  readonly #keys: string[] = [];
  /**
   * By slot: the entry; `undefined` for a reservation's slot, for an entry stored by
   * {@link fulfil} until it is first read (`#values`, `#stamps`), and once the slot is free,
   * so nothing is retained.
   */
  readonly #entries: (CacheEntry | undefined)[] = [];
  /**
   * By slot: the values of an entry {@link fulfil} stored as parts (its numbers in `#meta`
   * and `#stamps`), until a read builds its {@link CacheEntry} (then `undefined`). A loader
   * stores every key it loads, and many are never read back: an entry object (and the
   * boxes of its three doubles) would be held for nothing, about 110 bytes a key.
   */
  readonly #values: (readonly unknown[] | undefined)[] = [];
  /**
   * By slot, for entries stored as parts: `storedAt` at `2 * slot` and `cost` at
   * `2 * slot + 1`. Grown by doubling, only by {@link fulfil}.
   */
  #stamps = new Float64Array(0);
  /**
   * By slot: the holder of a reservation, else `undefined`. A slot of `#slots` is a
   * reservation's exactly when its holder is set.
   */
  readonly #holders: (object | undefined)[] = [];
  /**
   * By slot, side by side (one cache line): `expiresAt` at `2 * slot` (kept apart from the
   * entry so the hit path reads a dense array of doubles) and the size in bytes at
   * `2 * slot + 1`. Grown by doubling as the policy hands out higher slots.
   */
  #meta = new Float64Array(0);
  readonly #policy: EvictionPolicy;
  readonly #clock: Clock;
  readonly #sizeOf: (values: readonly unknown[], key: string) => number;
  readonly #onEvict: MemoryStoreOptions['onEvict'];
  #bytes = 0;
  /** How many held entries have a finite `expiresAt`; while 0, a hit skips the expiry check. */
  #expiring = 0;
  #timer: ReturnType<typeof setInterval> | undefined = undefined;

  /**
   * @param options - bounds, policy, clock and sweep; see {@link MemoryStoreOptions}.
   * @throws RangeError for a `maxEntries`, `maxBytes` or `sweepIntervalMs` out of range;
   *   TypeError for a `policy` that is not a known name or a `sizeOf`, `clock.now` or
   *   `onEvict` that is not a function. The message names the option and the value.
   */
  constructor(options: MemoryStoreOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`MemoryStore options must be an object; received ${describe(options)}`);
    }
    const {
      maxEntries = 10_000,
      maxBytes = INFINITY,
      sizeOf = defaultSizeOf,
      policy = 'lru',
      clock = { now: Date.now },
      sweepIntervalMs,
      onEvict,
    } = options;
    assertCount('maxEntries', maxEntries, 1);
    if (typeof maxBytes !== 'number' || Number.isNaN(maxBytes) || maxBytes <= 0) {
      throw new RangeError(
        `maxBytes must be a number > 0 (or Infinity); received ${describe(maxBytes)}`,
      );
    }
    assertFunction('sizeOf', sizeOf);
    assertEvictionPolicyName('policy', policy);
    if (clock === null || typeof clock !== 'object') {
      throw new TypeError(`clock must be an object with now(); received ${describe(clock)}`);
    }
    assertFunction('clock.now', clock.now);
    if (onEvict !== undefined) assertFunction('onEvict', onEvict);
    if (sweepIntervalMs !== undefined) {
      assertTimerMs('sweepIntervalMs', sweepIntervalMs, { positive: true });
    }

    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
    this.policy = policy;
    this.#policy = createEvictionPolicy(policy);
    this.#clock = clock;
    this.#sizeOf = sizeOf;
    this.#onEvict = onEvict;
    if (sweepIntervalMs !== undefined) {
      // The timer holds the store weakly: a store dropped without dispose() is still
      // collected, and its timer stops at the next tick.
      const store = new WeakRef<MemoryStore>(this);
      const timer = setInterval(() => {
        const self = store.deref();
        if (self === undefined) clearInterval(timer);
        else self.prune();
      }, sweepIntervalMs);
      (timer as { unref?: () => unknown }).unref?.();
      this.#timer = timer;
    }
  }

  /** How many entries the store holds (expired entries not yet noticed included; reservations not). */
  get size(): number {
    return this.#slots.size - this.#reserved;
  }

  /** How many keys are reserved (see {@link reserve}). */
  get reserved(): number {
    return this.#reserved;
  }

  /** The total `size` of the entries held, in bytes. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The size in bytes this store gives `values` under `key` (its `sizeOf`): an entry
   * written with that `size` is stored as is, not copied to carry the measured size.
   *
   * @throws TypeError when `sizeOf` returns something other than a finite number >= 0.
   *
   * @example
   * ```ts
   * const values = [{ id: 1 }];
   * const now = Date.now();
   * store.setSync('user:1', { values, storedAt: now, expiresAt: Infinity, cost: 3, size: store.measure(values, 'user:1') });
   * ```
   */
  measure(values: readonly unknown[], key: string): number {
    const size = this.#sizeOf(values, key);
    if (typeof size !== 'number' || !(size >= 0 && size < INFINITY)) {
      throw new TypeError(
        `sizeOf must return a finite number >= 0; returned ${describe(size)} for key ${describe(key)}`,
      );
    }
    return size;
  }

  /**
   * The valid entry for `key`, or `undefined`; a hit counts as a use for the policy.
   * An expired entry is removed (reported to `onEvict` as `'expired'`) and is a miss.
   *
   * @example
   * ```ts
   * const entry = store.getSync('user:1');
   * if (entry) render(entry.values[0]);
   * ```
   */
  getSync(key: string): CacheEntry | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    const entry = this.#entries[slot];
    if (entry !== undefined) return this.#hit(key, slot, entry);
    // An entry stored as parts, or a reservation (no entry).
    return this.#values[slot] === undefined ? undefined : this.#hit(key, slot, this.#built(slot));
  }

  /**
   * In one lookup, what `key` holds: its valid entry (a hit, as {@link getSync}), else the
   * holder of its reservation (see {@link reserve}), else `undefined`. Holders are the
   * caller's objects: tell them from entries by their class.
   *
   * @example
   * ```ts
   * const found = store.entryOrReservation('user:1');
   * if (found instanceof PendingLoad) found.join(subscriber);
   * else if (found !== undefined) render((found as CacheEntry).values[0]);
   * else store.reserve('user:1', new PendingLoad('user:1'));
   * ```
   */
  entryOrReservation(key: string): CacheEntry | object | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) {
      this.#absent = key;
      return undefined;
    }
    const entry = this.#entries[slot];
    if (entry !== undefined) return this.#hit(key, slot, entry);
    const holder = this.#holders[slot];
    return holder !== undefined ? holder : this.#hit(key, slot, this.#built(slot));
  }

  /**
   * The holder of `key`'s reservation, or `undefined` (see {@link reserve}).
   *
   * @example
   * ```ts
   * const pending = store.reservation('user:1'); // the object that reserved it, if any
   * ```
   */
  reservation(key: string): object | undefined {
    const slot = this.#slots.get(key);
    return slot === undefined ? undefined : this.#holders[slot];
  }

  /**
   * Reserves `key` for `holder`, an object of the caller's standing for the computation of
   * its value: the engine's loader keeps its keys in flight here, so that one lookup tells
   * a cached key, a key in flight and a new one apart (DataLoader keeps one map for both).
   * A reservation is no entry: `getSync`, `get`, `keys`, `size`, the bounds and the policy
   * ignore it, and `delete` and `clear` keep it. It ends when `key` is stored
   * ({@link fulfil} by the holder, or {@link setSync} by whoever writes: the store's entry
   * is then the answer) or {@link release}d. An entry `key` held is dropped (the caller
   * found it stale); a reservation `key` held passes to `holder`.
   *
   * The reservation holds a slot of the store, kept for the result: {@link fulfil} with
   * the returned ticket stores it there without looking `key` up again (DataLoader's cache
   * hit costs one map lookup, and so does a loader's key here, its result included).
   *
   * @returns the reservation's ticket, for {@link fulfil}.
   *
   * @example
   * ```ts
   * const ticket = store.reserve('user:1', pending);
   * // ... later, with the result:
   * store.fulfil('user:1', ticket, pending, entry); // or, when it failed: store.release('user:1', pending)
   * ```
   */
  reserve(key: string, holder: object): number {
    // Right after a lookup missed `key` (the loader's case) it is known to be absent.
    const old = key === this.#absent ? undefined : this.#slots.get(key);
    if (old !== undefined) {
      if (this.#holders[old] !== undefined) {
        // Reserved already: the reservation (and its slot) passes to `holder`.
        this.#holders[old] = holder;
        return old;
      }
      this.#drop(key, old);
    }
    const slot = this.#policy.allocate();
    this.#claim(slot, key, holder);
    this.#put(key, slot);
    this.#reserved++;
    return slot;
  }

  /**
   * Stores `entry` as the result of `key`'s reservation by `holder`, in the slot the
   * reservation kept (see {@link reserve}): no lookup of `key`. If `holder` no longer
   * holds that reservation (someone stored or reserved `key` meanwhile, or the store was
   * cleared), or `entry.size` still has to be measured, it is stored as {@link setSync}
   * stores it.
   *
   * The store keeps the entry's parts, not the object: its `values` array and its numbers.
   * The first read of the key builds an equal {@link CacheEntry} (kept from then on), so a
   * loaded key nobody reads back holds no entry object.
   *
   * @returns as {@link setSync}: `false` if the entry was already expired or is bigger than
   *   `maxBytes` on its own (the reservation ends either way).
   * @throws TypeError when `sizeOf` returns something other than a finite number >= 0.
   *
   * @example
   * ```ts
   * const ticket = store.reserve('user:1', pending);
   * store.fulfil('user:1', ticket, pending, { values: [user], storedAt: now, expiresAt: Infinity, cost: 12, size: store.measure([user], 'user:1') });
   * ```
   */
  fulfil(key: string, ticket: number, holder: object, entry: CacheEntry): boolean {
    const size = entry.size;
    if (
      this.#holders[ticket] !== holder ||
      this.#keys[ticket] !== key ||
      !(size > 0 && size < INFINITY)
    ) {
      return this.setSync(key, entry);
    }
    const expiresAt = entry.expiresAt;
    if ((expiresAt !== INFINITY && !(expiresAt > this.#clock.now())) || size > this.maxBytes) {
      this.#unreserve(key, ticket);
      return false;
    }
    // The parts go in first: `onEvict`, called as the insert ends, may read the key.
    if (2 * ticket >= this.#stamps.length) {
      this.#stamps = grown(this.#stamps, Math.max(32, 4 * ticket));
    }
    const stamps = this.#stamps;
    const cost = entry.cost;
    stamps[2 * ticket] = entry.storedAt;
    stamps[2 * ticket + 1] = cost;
    this.#values[ticket] = entry.values;
    return this.#insert(key, undefined, cost, expiresAt, size, ticket);
  }

  /**
   * Ends `key`'s reservation if `holder` still holds it (a failed or abandoned computation:
   * nothing is stored).
   *
   * @returns whether `holder` held it.
   *
   * @example
   * ```ts
   * store.release('user:1', pending);
   * ```
   */
  release(key: string, holder: object): boolean {
    const slot = this.#slots.get(key);
    if (slot === undefined || this.#holders[slot] !== holder) return false;
    this.#unreserve(key, slot);
    return true;
  }

  /** Builds the entry of `slot`, stored as parts (see {@link fulfil}), and keeps it. */
  #built(slot: number): CacheEntry {
    const entry = this.#parts(slot);
    this.#entries[slot] = entry;
    this.#values[slot] = undefined;
    return entry;
  }

  /** The entry of `slot`, stored as parts, as a new object. */
  #parts(slot: number): CacheEntry {
    const meta = this.#meta;
    const stamps = this.#stamps;
    return {
      values: this.#values[slot] as readonly unknown[],
      storedAt: stamps[2 * slot] as number,
      expiresAt: meta[2 * slot] as number,
      cost: stamps[2 * slot + 1] as number,
      size: meta[2 * slot + 1] as number,
    };
  }

  /** A hit on `key`'s `entry`, held in `slot`, unless it expired (then removed and reported). */
  #hit(key: string, slot: number, entry: CacheEntry): CacheEntry | undefined {
    if (this.#expiring !== 0) {
      const expiresAt = this.#meta[2 * slot] as number;
      if (expiresAt !== INFINITY && expiresAt <= this.#clock.now()) {
        this.#notify(key, this.#drop(key, slot), 'expired');
        return undefined;
      }
    }
    this.#policy.touch(slot);
    return entry;
  }

  /**
   * Stores `entry` under `key`, replacing any previous entry, and evicts what the bounds
   * require. When `entry.size` is not a positive number, the entry is measured with
   * `sizeOf` and stored as a copy carrying the measured size.
   *
   * @returns `true` if stored; `false` if the entry was already expired or is bigger than
   *   `maxBytes` on its own (any previous entry under `key` is removed either way).
   * @throws TypeError when `sizeOf` returns something other than a finite number >= 0.
   *
   * @example
   * ```ts
   * const now = Date.now();
   * store.setSync('k', { values: [1, 2, 3], storedAt: now, expiresAt: Infinity, cost: 12, size: 0 });
   * ```
   */
  setSync(key: string, entry: CacheEntry): boolean {
    const slots = this.#slots;
    // The slot of `key`'s entry, or of its reservation, which ends here: in place when the
    // entry is stored, else removed.
    let found = slots.get(key);
    const expiresAt = entry.expiresAt;
    if (expiresAt !== INFINITY && !(expiresAt > this.#clock.now())) {
      if (found !== undefined) this.#forget(key, found);
      return false;
    }

    let size = entry.size;
    let stored = entry;
    if (!(size > 0 && size < INFINITY)) {
      try {
        size = this.#measure(entry, key);
      } catch (error) {
        // The entry `key` held is stale whatever the new one measures.
        const stale = slots.get(key);
        if (stale !== undefined) this.#forget(key, stale);
        throw error;
      }
      // sizeOf is user code: it may have changed the store.
      found = slots.get(key);
      stored = { ...entry, size };
    }
    if (size > this.maxBytes) {
      if (found !== undefined) this.#forget(key, found);
      return false;
    }

    const old = found !== undefined && this.#holders[found] === undefined ? found : undefined;
    if (old !== undefined) {
      const meta = this.#meta;
      const oldSize = meta[2 * old + 1] as number;
      if (this.#bytes - oldSize + size <= this.maxBytes) {
        // Fits without evicting anything: overwrite in place (the policy counts a use and
        // makes it the most recent, as a remove and a fresh add would).
        this.#policy.replace(old, entry.cost, size);
        this.#bytes += size - oldSize;
        this.#expiring +=
          (expiresAt !== INFINITY ? 1 : 0) - ((meta[2 * old] as number) !== INFINITY ? 1 : 0);
        this.#entries[old] = stored;
        this.#values[old] = undefined;
        meta[2 * old] = expiresAt;
        meta[2 * old + 1] = size;
        return true;
      }
    }
    return this.#insert(key, stored, stored.cost, expiresAt, size, found);
  }

  /**
   * Removes `key`.
   *
   * @returns `true` if a valid entry was there (an expired one is removed too, reported
   *   to `onEvict` as `'expired'`, and counts as absent).
   *
   * @example
   * ```ts
   * store.deleteSync('user:1'); // true
   * ```
   */
  deleteSync(key: string): boolean {
    const slot = this.#slots.get(key);
    // Absent, or a reservation (which delete keeps).
    if (slot === undefined || this.#holders[slot] !== undefined) return false;
    const expiresAt = this.#meta[2 * slot] as number;
    const entry = this.#drop(key, slot);
    if (expiresAt !== INFINITY && expiresAt <= this.#clock.now()) {
      this.#notify(key, entry, 'expired');
      return false;
    }
    return true;
  }

  /**
   * The valid entry for `key`, or `undefined`. Never rejects.
   *
   * @example
   * ```ts
   * const entry = await store.get('user:1');
   * ```
   */
  get(key: string): Promise<CacheEntry | undefined> {
    return Promise.resolve(this.getSync(key));
  }

  /**
   * Stores `entry` under `key` (see {@link setSync}); resolves once stored, or at once if
   * the entry was too big or already expired. Rejects only when a custom `sizeOf` fails.
   *
   * @example
   * ```ts
   * await store.set('k', { values: ['v'], storedAt: Date.now(), expiresAt: Infinity, cost: 0, size: 0 });
   * ```
   */
  set(key: string, entry: CacheEntry): Promise<void> {
    try {
      this.setSync(key, entry);
      return DONE;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Removes `key`; resolves `true` if a valid entry was there.
   *
   * @example
   * ```ts
   * await store.delete('user:1');
   * ```
   */
  delete(key: string): Promise<boolean> {
    return Promise.resolve(this.deleteSync(key));
  }

  /**
   * Removes every entry (not reported to `onEvict`).
   *
   * @example
   * ```ts
   * await store.clear();
   * store.size; // 0
   * ```
   */
  clear(): Promise<void> {
    const holders = this.#holders;
    const reservations =
      this.#reserved === 0
        ? undefined
        : [...this.#slots].flatMap(([key, slot]) => {
            const holder = holders[slot];
            return holder === undefined ? [] : [[key, holder] as const];
          });
    this.#slots.clear();
    this.#absent = undefined;
    this.#policy.clear();
    this.#keys.length = 0;
    this.#entries.length = 0;
    this.#values.length = 0;
    holders.length = 0;
    this.#meta = new Float64Array(0);
    this.#stamps = new Float64Array(0);
    this.#bytes = 0;
    this.#expiring = 0;
    this.#reserved = 0;
    // Reservations are no entries: computations in flight stay findable (in new slots:
    // their tickets no longer match, so their results are stored as by setSync).
    if (reservations !== undefined)
      for (const [key, holder] of reservations) this.reserve(key, holder);
    return DONE;
  }

  /**
   * The keys of the valid entries, in the order they were stored (overwriting a key keeps
   * its place, unless the new entry only fits by evicting others: then it is stored anew,
   * last); expired entries found on the way are removed.
   *
   * @example
   * ```ts
   * for (const key of await store.keys()) console.log(key);
   * ```
   */
  keys(): Promise<string[]> {
    this.prune();
    if (this.#reserved === 0) return Promise.resolve([...this.#slots.keys()]);
    const keys: string[] = [];
    const holders = this.#holders;
    for (const [key, slot] of this.#slots) if (holders[slot] === undefined) keys.push(key);
    return Promise.resolve(keys);
  }

  /**
   * Removes every expired entry now (O(n)), reporting each to `onEvict` as `'expired'`.
   * The sweep timer calls this; call it yourself to reclaim memory at a moment you choose.
   *
   * @returns how many entries were removed.
   *
   * @example
   * ```ts
   * const removed = store.prune();
   * ```
   */
  prune(): number {
    if (this.#expiring === 0) return 0;
    const now = this.#clock.now();
    const meta = this.#meta;
    const holders = this.#holders;
    const expired: [string, number][] = [];
    for (const [key, slot] of this.#slots) {
      if (holders[slot] === undefined && (meta[2 * slot] as number) <= now)
        expired.push([key, slot]);
    }
    if (expired.length === 0) return 0;
    const dropped = expired.map(([key, slot]) => [key, this.#drop(key, slot)] as const);
    for (const [key, entry] of dropped) this.#notify(key, entry, 'expired');
    return dropped.length;
  }

  /**
   * Stops the sweep timer, if any. The entries stay usable; call it when the store is no
   * longer needed (or declare the store with `using`).
   *
   * @example
   * ```ts
   * const store = new MemoryStore({ sweepIntervalMs: 30_000 });
   * // ...
   * store.dispose();
   * ```
   */
  dispose(): void {
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /**
   * Same as {@link dispose}, for `using store = new MemoryStore(...)`.
   *
   * @example
   * ```ts
   * {
   *   using store = new MemoryStore({ sweepIntervalMs: 1_000 });
   * } // timer stopped here
   * ```
   */
  [DISPOSE](): void {
    this.dispose();
  }

  /**
   * Stores `stored` under `key`, evicting what the bounds require. `found` is the slot
   * `key` holds, or `undefined`: an entry's slot is dropped first (its use count carried
   * over) and the entry goes to a new slot; a reservation's slot takes the entry in place.
   * `stored` is `undefined` for an entry stored as parts, already written to the
   * reservation's slot (see {@link fulfil}).
   */
  #insert(
    key: string,
    stored: CacheEntry | undefined,
    cost: number,
    expiresAt: number,
    size: number,
    found: number | undefined,
  ): boolean {
    const slots = this.#slots;
    const policy = this.#policy;
    let uses = 0;
    let reserved: number | undefined;
    if (found !== undefined) {
      if (this.#holders[found] !== undefined) reserved = found;
      else {
        // Keep the use count across overwrites: a refreshed key is no less popular.
        uses = policy.uses(found);
        this.#drop(key, found);
      }
    }

    // Victims are reported once the store is consistent again. One victim (the usual
    // case, a full `maxEntries`) is held in locals; more (`maxBytes`) go to an array.
    let victimKey: string | undefined;
    let victimEntry: CacheEntry | undefined;
    let more: [string, CacheEntry | undefined][] | undefined;
    // Reservations count in `slots.size` (the one `key` holds too) but are no entries.
    while (slots.size - this.#reserved >= this.maxEntries || this.#bytes + size > this.maxBytes) {
      const victim = policy.evict();
      if (victim === NO_SLOT) break;
      const evictedKey = this.#keys[victim] as string;
      this.#remove(evictedKey);
      const evictedEntry = this.#release(victim);
      if (victimKey === undefined) {
        victimKey = evictedKey;
        victimEntry = evictedEntry;
      } else {
        more ??= [];
        more.push([evictedKey, evictedEntry]);
      }
    }

    let slot: number;
    if (reserved === undefined) {
      slot = policy.allocate();
      this.#put(key, slot);
      this.#claim(slot, key, undefined);
    } else {
      // The reservation's slot is not tracked by the policy, so it was no victim; it
      // holds `key` since `reserve`.
      slot = reserved;
      this.#holders[slot] = undefined;
      this.#reserved--;
    }
    policy.link(slot, cost, size, uses);
    this.#entries[slot] = stored;
    if (2 * slot >= this.#meta.length) this.#meta = grown(this.#meta, Math.max(32, 4 * slot));
    const meta = this.#meta;
    meta[2 * slot] = expiresAt;
    meta[2 * slot + 1] = size;
    this.#bytes += size;
    if (expiresAt !== INFINITY) this.#expiring++;

    if (victimKey !== undefined && this.#onEvict !== undefined) {
      const now = this.#clock.now();
      this.#evicted(victimKey, victimEntry, now);
      if (more !== undefined) for (const [k, e] of more) this.#evicted(k, e, now);
    }
    return true;
  }

  /**
   * Measures `entry` with `sizeOf`; throws a `TypeError` when the result is not a finite
   * number >= 0.
   */
  #measure(entry: CacheEntry, key: string): number {
    return this.measure(entry.values, key);
  }

  /** Reports an evicted entry, as expired if its lifetime had run out by `now`. */
  #evicted(key: string, entry: CacheEntry | undefined, now: number): void {
    if (entry === undefined) return;
    this.#notify(key, entry, entry.expiresAt <= now ? 'expired' : 'evicted');
  }

  /**
   * Gives `slot`, just handed out by the policy, to `key` (and to `holder`, for a
   * reservation). Every per-slot array is written here, so each is written in slot order
   * and stays dense: V8 turns an array written far past its end into a dictionary.
   */
  #claim(slot: number, key: string, holder: object | undefined): void {
    this.#keys[slot] = key;
    this.#holders[slot] = holder;
    this.#entries[slot] = undefined;
    this.#values[slot] = undefined;
  }

  /** Maps `key` to its slot (an entry's or a reservation's): every write of `#slots`. */
  #put(key: string, value: number): void {
    this.#slots.set(key, value);
    this.#absent = undefined;
  }

  /** Removes `key` from `#slots`: every removal (besides `clear`). */
  #remove(key: string): void {
    this.#slots.delete(key);
    this.#absent = undefined;
  }

  /** Removes `key`'s reservation, held in `slot`. */
  #unreserve(key: string, slot: number): void {
    this.#remove(key);
    this.#holders[slot] = undefined;
    this.#policy.free(slot);
    this.#reserved--;
  }

  /** Removes what `key` holds in `slot`: its entry, or its reservation. */
  #forget(key: string, slot: number): void {
    if (this.#holders[slot] !== undefined) this.#unreserve(key, slot);
    else this.#drop(key, slot);
  }

  /**
   * Removes `key` (held in `slot`) from the map and the policy; returns its entry, for
   * `onEvict` (`undefined` without one, if it was stored as parts).
   */
  #drop(key: string, slot: number): CacheEntry | undefined {
    this.#remove(key);
    this.#policy.remove(slot);
    return this.#release(slot);
  }

  /**
   * Clears the per-slot data of a slot the policy has let go; returns its entry (built
   * from its parts only for `onEvict`).
   */
  #release(slot: number): CacheEntry | undefined {
    let entry = this.#entries[slot];
    if (entry === undefined) {
      if (this.#onEvict !== undefined) entry = this.#parts(slot);
      this.#values[slot] = undefined;
    }
    this.#entries[slot] = undefined;
    const meta = this.#meta;
    this.#bytes -= meta[2 * slot + 1] as number;
    if ((meta[2 * slot] as number) !== INFINITY) this.#expiring--;
    return entry;
  }

  #notify(key: string, entry: CacheEntry | undefined, reason: MemoryStoreEvictionReason): void {
    const onEvict = this.#onEvict;
    if (onEvict === undefined || entry === undefined) return;
    try {
      onEvict(key, entry, reason);
    } catch (error) {
      reportError(error);
    }
  }
}
