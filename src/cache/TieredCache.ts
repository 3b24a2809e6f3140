import { type Observable, Subject } from 'rxjs';
import type { Clock } from '../executor/types.js';
import {
  assertClock,
  assertCount,
  assertDuration,
  assertMethods,
  assertTimerMs,
  describe,
} from '../executor/validate.js';
import { CircuitBreaker } from './CircuitBreaker.js';
import type { CacheEntry, CacheStore, CacheStoreEvent } from './types.js';

/**
 * One level of a {@link TieredCache}.
 *
 * @example
 * ```ts
 * const tier: Tier = { store: new IndexedDbStore(), ttl: 60 * 60_000, timeoutMs: 100 };
 * ```
 */
export interface Tier {
  /**
   * The store of this level: any {@link CacheStore} (`get`, `set`, `delete`, `clear` and
   * `keys`; the optional methods may be missing).
   */
  store: CacheStore;
  /**
   * The longest an entry lives in this tier (ms); an entry is written with the shorter of
   * its own lifetime and this. Defaults follow the seed: L1 the session (`Infinity`),
   * L2 1 hour, L3 and below 24 hours.
   */
  ttl?: number;
  /**
   * A read slower than this (ms) is abandoned and counts as a miss: at most 2^31 - 1 (the
   * longest timer delay), or `Infinity` (never abandoned). Default: the cache's `timeoutMs`.
   */
  timeoutMs?: number;
}

/**
 * Options of {@link TieredCache}.
 *
 * @example
 * ```ts
 * new TieredCache({ tiers: [{ store: new MemoryStore() }, { store: fsStore }], timeoutMs: 200 });
 * ```
 */
export interface TieredCacheOptions {
  /** The levels, fastest first. At least one. */
  tiers: Tier[];
  /**
   * Default read timeout (ms) of every tier but the first: at most 2^31 - 1, or `Infinity`.
   * Default 250. The first tier is never timed out.
   */
  timeoutMs?: number;
  /** Consecutive failures after which a tier is skipped. Default 3. */
  failureThreshold?: number;
  /** How long (ms) a failing tier is skipped before it is tried again. Default 30,000. */
  coolDownMs?: number;
  /** Source of time for expiry and cool-downs (an object with `now()`). Default `Date.now()`. */
  clock?: Clock;
  /**
   * Timer functions for read timeouts (an object with `setTimeout` and `clearTimeout`);
   * inject fakes in tests. Default: the global ones.
   */
  timers?: {
    /** Calls `callback` after `ms`; returns a handle for `clearTimeout`. */
    setTimeout(callback: () => void, ms: number): unknown;
    /** Cancels a timer made by `setTimeout`. */
    clearTimeout(handle: unknown): void;
  };
}

/** The seed's default lifetimes: L1 session, L2 1 hour, L3 24 hours. */
const DEFAULT_TIER_TTLS = [Number.POSITIVE_INFINITY, 60 * 60_000, 24 * 60 * 60_000];

/** The {@link CacheStore} methods a tier's store must have (the optional ones are not called). */
const STORE_METHODS = ['get', 'set', 'delete', 'clear', 'keys'] as const;

/** Resolved settings of one tier. */
interface TierState {
  readonly store: CacheStore;
  readonly ttl: number;
  readonly timeoutMs: number;
  readonly breaker: CircuitBreaker;
}

/**
 * Reported (as the `error` of a `tier-error` event) when a tier's read took longer than
 * its timeout; the read counts as a miss.
 *
 * @example
 * ```ts
 * cache.events$.subscribe((e) => {
 *   if (e.type === 'tier-error' && e.error instanceof TierTimeoutError) console.warn('slow tier', e.tier);
 * });
 * ```
 */
export class TierTimeoutError extends Error {
  override readonly name: string = 'TierTimeoutError';
  constructor(
    /** The index of the tier that was too slow (0 is the fastest). */
    readonly tier: number,
    /** The tier's read timeout (ms). */
    readonly timeoutMs: number,
  ) {
    super(`cache tier ${tier} did not answer within ${timeoutMs} ms`);
  }
}

/**
 * The `error` of an engine `cache-error` event when a tier's circuit breaker opened
 * (`reason: 'opened'`: it failed `failureThreshold` times in a row) or a read skipped the
 * tier while its breaker is open (`'skipped'`): a miss for that tier, until its cool-down
 * ends. A `TieredCache`'s own `events$` reports these as `tier-opened` and `tier-skipped`.
 *
 * @example
 * ```ts
 * engine.events$.subscribe((e) => {
 *   if (e.type === 'cache-error' && e.error instanceof TierUnavailableError) console.warn('tier down', e.tier);
 * });
 * ```
 */
export class TierUnavailableError extends Error {
  override readonly name: string = 'TierUnavailableError';
  constructor(
    /** The index of the tier (0 is the fastest). */
    readonly tier: number,
    /** `'opened'`: the breaker just opened; `'skipped'`: a read went past the open breaker. */
    readonly reason: 'opened' | 'skipped',
  ) {
    super(
      reason === 'opened'
        ? `cache tier-opened: tier ${tier} failed too often and is skipped until its cool-down ends`
        : `cache tier-skipped: tier ${tier} is skipped while its circuit breaker is open`,
    );
  }
}

/**
 * Several cache stores as one {@link CacheStore}, fastest first (the seed's L1/L2/L3).
 *
 * - Reads go top-down; a hit in a lower tier is promoted to the tiers above with its
 *   remaining lifetime (capped by each tier's `ttl`). The entry returned carries `tier`,
 *   the index of the tier that answered.
 * - Writes go to every tier with that tier's lifetime; the first tier is awaited, the
 *   others are fire-and-forget.
 * - A slow or broken tier never hurts a run: a read slower than `timeoutMs` is abandoned
 *   (a miss for that tier), every failure becomes a miss and an event on `events$`, and a
 *   tier that failed `failureThreshold` times in a row is skipped for `coolDownMs`
 *   (circuit breaker), then tried again.
 *
 * @example
 * ```ts
 * import { MemoryStore, IndexedDbStore, TieredCache, createEngine } from 'eed';
 *
 * const cache = new TieredCache({
 *   tiers: [{ store: new MemoryStore({ maxEntries: 1_000 }) }, { store: new IndexedDbStore(), ttl: 3_600_000 }],
 * });
 * const engine = createEngine({ cache });
 * ```
 */
export class TieredCache implements CacheStore {
  readonly #tiers: TierState[];
  readonly #clock: Clock;
  readonly #timers: NonNullable<TieredCacheOptions['timers']>;
  readonly #events = new Subject<CacheStoreEvent>();

  /** Tier failures, timeouts and skips, as they happen. */
  readonly events$: Observable<CacheStoreEvent> = this.#events.asObservable();

  /**
   * @param options - the tiers and how to treat slow or failing ones; see {@link TieredCacheOptions}.
   * @throws TypeError or RangeError for an invalid option (named in the message, with the
   *   value received): e.g. no tiers, a tier's `store` without one of the `CacheStore`
   *   methods, a negative `ttl` or `timeoutMs`, a `clock` without `now()`.
   */
  constructor(options: TieredCacheOptions) {
    if (options === null || typeof options !== 'object' || !Array.isArray(options.tiers)) {
      throw new TypeError(
        `tiers must be an array of { store, ttl? }; received ${describe(options)}`,
      );
    }
    if (options.tiers.length === 0)
      throw new RangeError('tiers must hold at least one tier; received 0');
    const timeoutMs = options.timeoutMs ?? 250;
    assertTimerMs('timeoutMs', timeoutMs, { infinity: true });
    const failureThreshold = options.failureThreshold ?? 3;
    assertCount('failureThreshold', failureThreshold, 1);
    const coolDownMs = options.coolDownMs ?? 30_000;
    assertDuration('coolDownMs', coolDownMs);
    if (options.clock !== undefined) assertClock('clock', options.clock);
    this.#clock = options.clock ?? { now: () => Date.now() };
    if (options.timers !== undefined) {
      assertMethods(
        'timers',
        options.timers,
        ['setTimeout', 'clearTimeout'],
        'an object with setTimeout() and clearTimeout()',
      );
    }
    this.#timers = options.timers ?? {
      setTimeout: (callback, ms) => setTimeout(callback, ms),
      clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    };
    this.#tiers = options.tiers.map((tier, index) => {
      if (tier === null || typeof tier !== 'object') {
        throw new TypeError(`tiers[${index}] must be an object; received ${describe(tier)}`);
      }
      assertMethods(
        `tiers[${index}].store`,
        tier.store,
        STORE_METHODS,
        'a CacheStore (get(), set(), delete(), clear() and keys())',
      );
      const ttl = tier.ttl ?? DEFAULT_TIER_TTLS[Math.min(index, 2)]!;
      assertDuration(`tiers[${index}].ttl`, ttl);
      const tierTimeout = tier.timeoutMs ?? (index === 0 ? Number.POSITIVE_INFINITY : timeoutMs);
      assertTimerMs(`tiers[${index}].timeoutMs`, tierTimeout, { infinity: true });
      return {
        store: tier.store,
        ttl,
        timeoutMs: tierTimeout,
        breaker: new CircuitBreaker(failureThreshold, coolDownMs, this.#clock),
      };
    });
  }

  /** How many tiers this cache has. */
  get depth(): number {
    return this.#tiers.length;
  }

  /**
   * The first tier's entry for `key` if that tier answers synchronously: a hit is a hit,
   * a miss means "ask `get`". The engine uses it to serve memory hits synchronously.
   */
  peekSync(key: string): CacheEntry | undefined {
    const top = this.#tiers[0]!.store;
    const getSync = (top as Partial<{ getSync(key: string): CacheEntry | undefined }>).getSync;
    if (typeof getSync !== 'function') return undefined;
    try {
      const entry = getSync.call(top, key);
      return entry === undefined ? undefined : { ...entry, tier: 0 };
    } catch (error) {
      this.#failed(0, key, 'get', error);
      return undefined;
    }
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    for (let index = 0; index < this.#tiers.length; index++) {
      const tier = this.#tiers[index]!;
      if (!this.#available(index, key)) continue;
      let entry: CacheEntry | undefined;
      try {
        entry = await this.#read(tier, index, key);
        tier.breaker.succeeded();
      } catch (error) {
        this.#failed(index, key, 'get', error);
        continue;
      }
      if (entry === undefined || entry.expiresAt <= this.#clock.now()) continue;
      this.#promote(key, entry, index);
      return { ...entry, tier: index };
    }
    return undefined;
  }

  async set(key: string, entry: CacheEntry): Promise<void> {
    const { tier: _tier, ...plain } = entry;
    const writes = this.#tiers.map((_, index) => this.#write(index, key, plain));
    await writes[0];
  }

  /**
   * Writes `entry` to every tier, like {@link TieredCache.set}, but resolves only once
   * every tier's write has settled: `true` if all of them took it (a tier skipped by its
   * circuit breaker, or whose write failed, makes it `false`). The engine uses it when a
   * cross-process coordinator must know the result is visible to other processes.
   */
  async setThrough(key: string, entry: CacheEntry): Promise<boolean> {
    const { tier: _tier, ...plain } = entry;
    const written = await Promise.all(
      this.#tiers.map((_, index) => this.#write(index, key, plain)),
    );
    return written.every(Boolean);
  }

  async delete(key: string): Promise<boolean> {
    const results = await Promise.all(
      this.#tiers.map((tier, index) =>
        this.#available(index, key)
          ? attempt(() => tier.store.delete(key)).then(
              (deleted) => {
                tier.breaker.succeeded();
                return deleted;
              },
              (error: unknown) => {
                this.#failed(index, key, 'delete', error);
                return false;
              },
            )
          : false,
      ),
    );
    return results.some(Boolean);
  }

  async clear(): Promise<void> {
    await Promise.all(
      this.#tiers.map((tier, index) =>
        attempt(() => tier.store.clear()).catch((error: unknown) =>
          this.#failed(index, '', 'clear', error),
        ),
      ),
    );
  }

  async keys(): Promise<string[]> {
    const lists = await Promise.all(
      this.#tiers.map((tier, index) =>
        this.#available(index, '')
          ? attempt(() => tier.store.keys()).catch((error: unknown) => {
              this.#failed(index, '', 'keys', error);
              return [] as string[];
            })
          : ([] as string[]),
      ),
    );
    return [...new Set(lists.flat())];
  }

  /** Reads one tier, abandoning the read after the tier's timeout. */
  #read(tier: TierState, index: number, key: string): Promise<CacheEntry | undefined> {
    const read = tier.store.get(key);
    if (tier.timeoutMs === Number.POSITIVE_INFINITY) return read;
    return new Promise((resolve, reject) => {
      const timer = this.#timers.setTimeout(
        () => reject(new TierTimeoutError(index, tier.timeoutMs)),
        tier.timeoutMs,
      );
      read.then(
        (entry) => {
          this.#timers.clearTimeout(timer);
          resolve(entry);
        },
        (error: unknown) => {
          this.#timers.clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /**
   * Writes `entry` to tier `index` with that tier's lifetime; resolves whether the tier
   * took it (never rejects).
   */
  #write(index: number, key: string, entry: CacheEntry): Promise<boolean> {
    const tier = this.#tiers[index]!;
    if (!this.#available(index, key)) return Promise.resolve(false);
    const expiresAt = Math.min(entry.expiresAt, entry.storedAt + tier.ttl);
    if (expiresAt <= this.#clock.now()) return Promise.resolve(true);
    const own = expiresAt === entry.expiresAt ? entry : { ...entry, expiresAt };
    return attempt(() => tier.store.set(key, own)).then(
      () => {
        tier.breaker.succeeded();
        return true;
      },
      (error: unknown) => {
        this.#failed(index, key, 'set', error);
        return false;
      },
    );
  }

  /** Copies a lower tier's hit into the tiers above it, fire-and-forget. */
  #promote(key: string, entry: CacheEntry, found: number): void {
    const { tier: _tier, ...plain } = entry;
    for (let index = 0; index < found; index++) void this.#write(index, key, plain);
  }

  #available(index: number, key: string): boolean {
    const breaker = this.#tiers[index]!.breaker;
    if (breaker.allows()) return true;
    if (this.#events.observed) {
      this.#events.next({ type: 'tier-skipped', tier: index, key, time: this.#clock.now() });
    }
    return false;
  }

  #failed(
    index: number,
    key: string,
    operation: 'get' | 'set' | 'delete' | 'clear' | 'keys',
    error: unknown,
  ): void {
    // A value the store cannot serialize says nothing about the store's health: report
    // it, but do not count it towards opening the circuit.
    const opened = isValueError(error) ? false : this.#tiers[index]!.breaker.failed();
    if (!this.#events.observed) return;
    this.#events.next({
      type: 'tier-error',
      tier: index,
      key,
      operation,
      error,
      time: this.#clock.now(),
    });
    if (opened)
      this.#events.next({ type: 'tier-opened', tier: index, key, time: this.#clock.now() });
  }
}

/** Whether `error` is about the value written (not the store): `UnserializableValueError`, `DataCloneError`. */
function isValueError(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'UnserializableValueError' || name === 'DataCloneError';
}

/**
 * `operation()`'s promise, with a synchronous throw (a store that misbehaves) turned into
 * its rejection, so one tier's failure is reported like any other and never stops the
 * calls to the tiers after it.
 */
function attempt<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return operation();
  } catch (error) {
    return Promise.reject(error);
  }
}
