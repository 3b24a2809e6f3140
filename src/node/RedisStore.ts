// The error classes come from 'eed' by name, so that `instanceof` works across the two
// entries once the Node build keeps 'eed' external (see createNodeCache.ts).
import { CorruptEntryError } from 'eed';
import { type Observable, Subject } from 'rxjs';
import { decodeRecord, decodeRecordHeader, RECORD_HEADER_BYTES } from '../cache/codec.js';
import type { CacheEntry, CacheStore, CacheStoreEvent } from '../cache/types.js';
import type { Clock } from '../executor/types.js';
import {
  assertFunction,
  assertPositiveDuration,
  assertTimerMs,
  describe,
} from '../executor/validate.js';
import {
  checksum,
  decodeValues,
  describeError,
  encodeEntry,
  isCorrupt,
  serializeValues,
} from './entryCodec.js';
import { OperationQueue } from './OperationQueue.js';
import { RedisStoreClosedError, RedisTimeoutError } from './redisErrors.js';
import { decodeKeyBytes, encodeKeyBytes, escapeGlob } from './redisKeys.js';

/**
 * The commands a {@link RedisStore} sends, as an `ioredis` `Redis` instance has them. Any
 * `new Redis(...)` is one; the type is spelled out here so that `eed/node`'s declarations
 * do not require `ioredis` to be installed (FileSystemStore users need not have it).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 *
 * const client: RedisStoreClient = new Redis(6379, '127.0.0.1');
 * ```
 */
export interface RedisStoreClient {
  /** The connection state (`'wait'` before a lazy client's first connect, `'ready'`, ...). */
  readonly status: string;
  /** Connects a client created with `lazyConnect` (the store calls it while `status` is `'wait'`). */
  connect(): Promise<void>;
  /** `GET key`, the value as bytes. */
  getBuffer(key: Buffer): Promise<Buffer | null>;
  /** `SET key value` (no expiry). */
  set(key: Buffer, value: Buffer): Promise<unknown>;
  /** `SET key value PX milliseconds`. */
  set(key: Buffer, value: Buffer, unit: 'PX', milliseconds: number): Promise<unknown>;
  /** `UNLINK key [key ...]`: removes keys, freeing their memory in the background. */
  unlink(...keys: Buffer[]): Promise<number>;
  /** `SCAN cursor MATCH pattern COUNT count`, keys as bytes. */
  scanBuffer(
    cursor: string,
    matchToken: 'MATCH',
    pattern: string,
    countToken: 'COUNT',
    count: number,
  ): Promise<[cursor: Buffer, keys: Buffer[]]>;
  /** Any command, replies as bytes (the store runs one `EVAL` script through it). */
  callBuffer(command: string, ...args: (string | Buffer | number)[]): Promise<unknown>;
  /** `QUIT`: closes the connection after the replies still due. */
  quit(): Promise<unknown>;
  /** Closes the connection at once. */
  disconnect(): void;
}

/**
 * Options of {@link RedisStore}: exactly one of `client` and `url`.
 *
 * @example
 * ```ts
 * const options: RedisStoreOptions = { url: 'redis://127.0.0.1:6379/0', prefix: 'my-app:eed:', timeoutMs: 500 };
 * ```
 */
export interface RedisStoreOptions {
  /**
   * A client of your own (`new Redis(...)` from `ioredis`). The store never closes it:
   * `close()` leaves it connected. Give it `enableOfflineQueue: false` (or a
   * `commandTimeout`) if commands should fail at once while Redis is down; the store's
   * `timeoutMs` bounds them either way.
   */
  client?: RedisStoreClient;
  /**
   * A Redis URL (`redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS).
   * The store loads `ioredis` (an optional peer dependency) on its first operation and
   * creates a client that never queues a command while disconnected (it fails at once,
   * so a cache tier fails fast during an outage; `ioredis` reconnects in the background)
   * and retries a command at most once. `close()` quits that client.
   */
  url?: string;
  /**
   * Prepended to every key in Redis: the store's namespace. `keys()` and `clear()` see
   * only the keys under it, so several stores (or apps) can share one database. A
   * non-empty, well-formed string; glob characters in it are fine (they are escaped in
   * `SCAN`'s `MATCH`).
   *
   * @default 'eed:'
   */
  prefix?: string;
  /**
   * The longest an entry lives in Redis (ms), counted from its `storedAt`: each entry
   * keeps the shorter of this and its own lifetime. Bounds what `expiresAt: Infinity`
   * entries cost in Redis memory. A number > 0, or `Infinity`.
   *
   * @default Infinity (entries keep their own lifetime)
   */
  ttl?: number;
  /**
   * The longest one round trip to Redis may take (ms); an operation that waits longer
   * rejects with a {@link RedisTimeoutError}. `get`, `set` and `delete` are one round
   * trip (plus connecting, on the first); `keys` and `clear` are one per `SCAN` page.
   * It catches a hung, paused or unreachable server, not a slow answer: the time counts
   * the process' own event-loop lag, and a burst of 1,000 concurrent writes on a busy
   * two-core machine saw round trips of up to ~200 ms, so the default leaves room.
   * Latency on the read path is `TieredCache`'s business: it abandons a tier's read
   * after its own `timeoutMs` (250 ms by default). A number > 0 and at most 2^31 - 1 (the
   * longest timer delay), or `Infinity` (no timeout).
   *
   * @default 1_000
   */
  timeoutMs?: number;
  /**
   * Serialized entries bigger than this many bytes are gzip-compressed (when that makes
   * them smaller), as in `FileSystemStore`. `0` compresses every entry, `Infinity` none.
   *
   * @default 16_384 (16 KiB)
   */
  compressThreshold?: number;
  /**
   * The `COUNT` hint of each `SCAN` in `keys()` and `clear()`: how many keys Redis looks
   * at per round trip (and how many `clear` unlinks per batch). An integer >= 1.
   *
   * @default 1_000
   */
  scanCount?: number;
  /**
   * Wall-clock source compared with entries' `expiresAt`, and from which each entry's
   * Redis TTL (`PX`) is computed. Inject one in tests; Redis itself expires entries by
   * its own clock.
   *
   * @default { now: Date.now }
   */
  clock?: Clock;
  /** Timer functions for `timeoutMs`; inject fakes in tests. Default: the global ones. */
  timers?: {
    /** Calls `callback` after `ms`; returns a handle for `clearTimeout`. */
    setTimeout(callback: () => void, ms: number): unknown;
    /** Cancels a timer made by `setTimeout`. */
    clearTimeout(handle: unknown): void;
  };
}

/** Above this (ms) an entry is written without `PX`: Redis rejects PX near 2^63. */
const MAX_PX = Number.MAX_SAFE_INTEGER;

/**
 * `delete` in one round trip: the record header (to tell a valid entry from an expired
 * one) and the removal. `pcall`: a key of another type under the prefix is removed too.
 */
const DELETE_SCRIPT = `local head = redis.pcall('GETRANGE', KEYS[1], 0, ${RECORD_HEADER_BYTES - 1})
redis.call('UNLINK', KEYS[1])
if type(head) == 'string' then return head end
return ''`;

/**
 * A {@link CacheStore} in Redis, through `ioredis`: a cache shared by every process (and
 * machine) that reaches the server, as a tier below memory (and the filesystem) in a
 * `TieredCache`.
 *
 * - **Entries** are the same bytes `FileSystemStore` writes to a file (`node:v8`
 *   serialization of the values behind a versioned, checksummed header with `storedAt`,
 *   `expiresAt`, `cost` and the key; gzip above `compressThreshold`), stored as a Redis
 *   string under `prefix` + the key. The key is not hashed or escaped: it is written as
 *   UTF-8 (a lone surrogate as its three-byte WTF-8 form, so distinct keys never
 *   collide), and `eed:user:1` reads as such in `redis-cli`.
 * - **Expiry** is Redis' own: an entry is written with `SET ... PX` its remaining
 *   lifetime (no `PX` for `expiresAt: Infinity`), so Redis frees it when it expires; an
 *   entry already expired is not written (and any older one under the key is removed).
 *   `get` also compares `expiresAt` with `clock`, so an entry never outlives it.
 * - **Listing and clearing** walk the prefix with `SCAN ... MATCH prefix* COUNT n` (never
 *   `KEYS`, which blocks the server), `clear()` unlinking each page (`UNLINK`): keys
 *   outside the prefix are never touched.
 * - **Never hangs**: every round trip is bounded by `timeoutMs` and rejects with a
 *   {@link RedisTimeoutError}; while the connection is down, a client created from `url`
 *   fails commands at once. Failures reject (so a `TieredCache` reports them as
 *   `tier-error` events, serves a miss from this tier, and skips it while its circuit
 *   breaker is open); an unusable entry (garbled, other format version) is a miss, is
 *   removed and is reported on {@link events$}.
 *
 * Operations on one key run in the order they were called. Nothing connects before the
 * first operation.
 *
 * @example
 * ```ts
 * import { createEngine, MemoryStore, TieredCache } from 'eed';
 * import { RedisStore } from 'eed/node';
 *
 * const redis = new RedisStore({ url: 'redis://127.0.0.1:6379', prefix: 'reports:' });
 * const cache = new TieredCache({ tiers: [{ store: new MemoryStore() }, { store: redis, ttl: 24 * 3_600_000 }] });
 * const engine = createEngine({ cache });
 * // ... at shutdown:
 * await redis.close();
 * ```
 */
export class RedisStore implements CacheStore, AsyncDisposable {
  /** The namespace of this store's keys in Redis. */
  readonly prefix: string;
  /** The longest an entry lives in Redis (ms). */
  readonly ttl: number;
  /** The bound on each round trip (ms). */
  readonly timeoutMs: number;
  /** Serialized entries above this many bytes are compressed. */
  readonly compressThreshold: number;
  /** The `COUNT` hint of each `SCAN`. */
  readonly scanCount: number;

  readonly #prefixBytes: Buffer;
  /** `SCAN`'s `MATCH` pattern: the escaped prefix, then `*`. */
  readonly #pattern: string;
  readonly #clock: Clock;
  readonly #timers: NonNullable<RedisStoreOptions['timers']>;
  readonly #url: string | undefined;
  /** The client: given, or created from `url` on first use. */
  #client: Promise<RedisStoreClient> | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined = undefined;
  readonly #ops = new OperationQueue();
  readonly #events = new Subject<CacheStoreEvent>();

  /**
   * Unusable entries found by `get` (`'tier-error'` events with a {@link CorruptEntryError}
   * saying why; the entry is removed). Failures to reach Redis reject instead.
   */
  readonly events$: Observable<CacheStoreEvent> = this.#events.asObservable();

  /**
   * @param options - the connection (`client` or `url`) and the settings; see
   *   {@link RedisStoreOptions}.
   * @throws TypeError unless exactly one of `client` (with the commands of
   *   {@link RedisStoreClient}) and `url` (a `redis:` or `rediss:` URL) is given, for a
   *   `prefix` that is not a non-empty well-formed string, or a `clock`/`timers` that is
   *   not usable; RangeError for a `ttl`, `timeoutMs`, `compressThreshold` or `scanCount`
   *   out of range. The message names the option and the value (a URL's password is
   *   masked).
   */
  constructor(options: RedisStoreOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(
        `RedisStore options must be an object with a client or a url; received ${describe(options)}`,
      );
    }
    const {
      client,
      url,
      prefix = 'eed:',
      ttl = Number.POSITIVE_INFINITY,
      timeoutMs = 1_000,
      compressThreshold = 16 * 1024,
      scanCount = 1_000,
      clock = { now: Date.now },
      timers = {
        setTimeout: (callback: () => void, ms: number) => setTimeout(callback, ms),
        clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      },
    } = options;
    if ((client === undefined) === (url === undefined)) {
      throw new TypeError(
        `RedisStore needs exactly one of client and url; received client ${describe(client)} and url ${describeUrl(url)}`,
      );
    }
    if (client !== undefined) assertClient(client);
    if (url !== undefined && !isRedisUrl(url)) {
      throw new TypeError(`url must be a redis:// or rediss:// URL; received ${describeUrl(url)}`);
    }
    if (typeof prefix !== 'string' || prefix.length === 0 || /\p{Cs}/u.test(prefix)) {
      throw new TypeError(
        `prefix must be a non-empty string of valid Unicode; received ${describe(prefix)}`,
      );
    }
    assertPositiveDuration('ttl', ttl);
    assertTimerMs('timeoutMs', timeoutMs, { positive: true, infinity: true });
    if (
      typeof compressThreshold !== 'number' ||
      Number.isNaN(compressThreshold) ||
      compressThreshold < 0
    ) {
      throw new RangeError(
        `compressThreshold must be a number of bytes >= 0 (or Infinity); received ${describe(compressThreshold)}`,
      );
    }
    if (typeof scanCount !== 'number' || !Number.isSafeInteger(scanCount) || scanCount < 1) {
      throw new RangeError(`scanCount must be an integer >= 1; received ${describe(scanCount)}`);
    }
    if (clock === null || typeof clock !== 'object') {
      throw new TypeError(`clock must be an object with now(); received ${describe(clock)}`);
    }
    assertFunction('clock.now', clock.now);
    if (timers === null || typeof timers !== 'object') {
      throw new TypeError(
        `timers must be an object with setTimeout and clearTimeout; received ${describe(timers)}`,
      );
    }
    assertFunction('timers.setTimeout', timers.setTimeout);
    assertFunction('timers.clearTimeout', timers.clearTimeout);
    this.prefix = prefix;
    this.ttl = ttl;
    this.timeoutMs = timeoutMs;
    this.compressThreshold = compressThreshold;
    this.scanCount = scanCount;
    this.#prefixBytes = Buffer.from(prefix, 'utf8');
    this.#pattern = `${escapeGlob(prefix)}*`;
    this.#clock = clock;
    this.#timers = timers;
    this.#url = url;
    if (client !== undefined) this.#client = Promise.resolve(client);
  }

  /**
   * The valid entry for `key`, or `undefined`. An expired entry (by `clock`) is a miss;
   * an unusable one is a miss too, is removed, and is reported on {@link events$}.
   *
   * @throws (rejects) {@link RedisTimeoutError} when Redis does not answer within
   *   `timeoutMs`; the client's error when the connection is down;
   *   {@link RedisStoreClosedError} after `close()`.
   *
   * @example
   * ```ts
   * const entry = await store.get('report:2024');
   * if (entry) render(entry.values[0]);
   * ```
   */
  get(key: string): Promise<CacheEntry | undefined> {
    const invalid = this.#check('get', key);
    if (invalid) return invalid;
    return this.#ops.onKey(key, async () => {
      const name = this.#nameOf(key);
      const bytes = await this.#command('get', (client) => client.getBuffer(name));
      return bytes === null ? undefined : this.#decode(key, name, bytes);
    });
  }

  /**
   * Stores `entry` under `key` with `SET ... PX` its remaining lifetime (capped by
   * {@link ttl}; no `PX` when it never expires), replacing any previous entry. An entry
   * already expired is not stored, and the previous entry under `key` is removed.
   *
   * @throws (rejects) `UnserializableValueError` naming the key when the values cannot be
   *   serialized (nothing is sent then); {@link RedisTimeoutError} or the client's error
   *   when Redis cannot be reached; {@link RedisStoreClosedError} after `close()`.
   *
   * @example
   * ```ts
   * const now = Date.now();
   * await store.set('k', { values: [new Map([[1, 'one']])], storedAt: now, expiresAt: now + 60_000, cost: 12, size: 0 });
   * ```
   */
  set(key: string, entry: CacheEntry): Promise<void> {
    const invalid = this.#check('set', key);
    if (invalid) return invalid;
    if (entry === null || typeof entry !== 'object' || !Array.isArray(entry.values)) {
      return Promise.reject(
        new TypeError(
          `entry must be a CacheEntry with a values array; received ${describe(entry)}`,
        ),
      );
    }
    const expiresAt = Math.min(entry.expiresAt, entry.storedAt + this.ttl);
    const own = expiresAt === entry.expiresAt ? entry : { ...entry, expiresAt };
    const name = this.#nameOf(key);
    const remove = async (): Promise<void> => {
      await this.#command('set', (client) => client.unlink(name));
    };
    if (!(expiresAt > this.#clock.now())) return this.#ops.onKey(key, remove);
    let raw: Uint8Array;
    try {
      raw = serializeValues(key, own.values);
    } catch (error) {
      return Promise.reject(error);
    }
    // Compress now, in parallel with other keys' work; send in call order for this key.
    const encoded = encodeEntry(key, own, raw, this.compressThreshold);
    encoded.catch(() => {}); // awaited below; this only stops an early "unhandled" warning
    return this.#ops.onKey(key, async () => {
      const value = asBuffer(await encoded);
      // The lifetime left when the command is sent, not when `set` was called.
      const px = Math.ceil(expiresAt - this.#clock.now());
      if (!(px > 0)) return remove();
      await this.#command('set', (client) =>
        px > MAX_PX ? client.set(name, value) : client.set(name, value, 'PX', px),
      );
    });
  }

  /**
   * Removes `key`'s entry.
   *
   * @returns `true` if a valid entry was there (an expired or unusable one is removed
   *   too, and counts as absent).
   * @throws (rejects) {@link RedisTimeoutError} or the client's error when Redis cannot
   *   be reached; {@link RedisStoreClosedError} after `close()`.
   *
   * @example
   * ```ts
   * await store.delete('report:2024'); // true
   * ```
   */
  delete(key: string): Promise<boolean> {
    const invalid = this.#check('delete', key);
    if (invalid) return invalid;
    return this.#ops.onKey(key, async () => {
      const name = this.#nameOf(key);
      const head = await this.#command('delete', (client) =>
        client.callBuffer('EVAL', DELETE_SCRIPT, 1, name),
      );
      if (!(head instanceof Uint8Array) || head.length === 0) return false;
      try {
        return decodeRecordHeader(head).expiresAt > this.#clock.now();
      } catch {
        return false; // not an entry eed can read: removed, but it was not a valid one
      }
    });
  }

  /**
   * Removes every key under {@link prefix} (`SCAN` page by page, each page unlinked with
   * `UNLINK`); other keys in the database stay. Operations of this store called before
   * `clear` settle first, so nothing written before it survives it; those called after it
   * wait for it.
   *
   * @throws (rejects) {@link RedisTimeoutError} or the client's error when a round trip
   *   fails (the keys unlinked so far stay removed); {@link RedisStoreClosedError} after
   *   `close()`.
   *
   * @example
   * ```ts
   * await store.clear();
   * ```
   */
  clear(): Promise<void> {
    if (this.#closed) return Promise.reject(new RedisStoreClosedError('clear'));
    // Writes called before `clear` (a TieredCache's, in the background) land first;
    // operations called after it wait for it.
    return this.#ops.exclusive(() =>
      this.#scan('clear', async (names) => {
        if (names.length > 0) await this.#command('clear', (client) => client.unlink(...names));
      }),
    );
  }

  /**
   * The keys under {@link prefix}, with the prefix removed, including those other
   * processes wrote (`SCAN`, page by page; never `KEYS`). Entries past their `expiresAt`
   * by `clock` but not yet expired by Redis may be listed. Names under the prefix that
   * no eed key encodes to are left out.
   *
   * @throws (rejects) {@link RedisTimeoutError} or the client's error when a round trip
   *   fails; {@link RedisStoreClosedError} after `close()`.
   *
   * @example
   * ```ts
   * for (const key of await store.keys()) console.log(key);
   * ```
   */
  keys(): Promise<string[]> {
    if (this.#closed) return Promise.reject(new RedisStoreClosedError('keys'));
    return this.#ops.track(
      (async () => {
        const keys = new Set<string>(); // SCAN may return a key twice
        await this.#scan('keys', (names) => {
          for (const name of names) {
            const key = this.#keyOf(name);
            if (key !== undefined) keys.add(key);
          }
        });
        return [...keys];
      })(),
    );
  }

  /**
   * Closes the store: operations called afterwards reject with
   * {@link RedisStoreClosedError}; those already called settle first. A client the store
   * created from `url` is then quit (or disconnected, if Redis does not answer within
   * `timeoutMs`); a `client` you gave it stays open. Calling it again does nothing.
   *
   * @example
   * ```ts
   * const store = new RedisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
   * try {
   *   // ... use it
   * } finally {
   *   await store.close();
   * }
   * ```
   */
  close(): Promise<void> {
    // A second call, even while the first is still closing, waits for the same close.
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    await this.#ops.drained();
    if (this.#url === undefined || this.#client === undefined) return;
    const client = await this.#client.catch(() => undefined);
    if (client === undefined) return;
    if (client.status !== 'ready') {
      client.disconnect();
      return;
    }
    try {
      await this.#bounded('close', () => client.quit());
    } catch {
      client.disconnect();
    }
  }

  /**
   * `await using store = new RedisStore(...)` closes it at the end of the block; see
   * {@link close}.
   *
   * @example
   * ```ts
   * await using store = new RedisStore({ url: 'redis://127.0.0.1:6379' });
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- plumbing ------------------------------------------------------------------------

  /** A rejection for a bad key or a closed store, else `undefined`. */
  #check(operation: string, key: unknown): Promise<never> | undefined {
    if (typeof key !== 'string') {
      return Promise.reject(new TypeError(`key must be a string; received ${describe(key)}`));
    }
    if (this.#closed) return Promise.reject(new RedisStoreClosedError(operation));
    return undefined;
  }

  /** The Redis key of `key`: the prefix, then the key as WTF-8. */
  #nameOf(key: string): Buffer {
    return Buffer.concat([this.#prefixBytes, encodeKeyBytes(key)]);
  }

  /** The key a Redis key under the prefix names, or `undefined` if none does. */
  #keyOf(name: Buffer): string | undefined {
    if (!name.subarray(0, this.#prefixBytes.length).equals(this.#prefixBytes)) return undefined;
    return decodeKeyBytes(name.subarray(this.#prefixBytes.length));
  }

  /** The entry in `bytes`, or `undefined` when expired or unusable (then removed and reported). */
  async #decode(key: string, name: Buffer, bytes: Uint8Array): Promise<CacheEntry | undefined> {
    try {
      const { header, key: written, payload } = decodeRecord(bytes, checksum);
      if (written !== key) {
        throw new CorruptEntryError('garbage', 'the entry holds another key than its name');
      }
      if (!(header.expiresAt > this.#clock.now())) return undefined;
      return {
        values: await decodeValues(header, payload),
        storedAt: header.storedAt,
        expiresAt: header.expiresAt,
        cost: header.cost,
        size: header.size,
      };
    } catch (error) {
      const location = `redis key ${JSON.stringify(name.toString('utf8'))}`;
      const reported = isCorrupt(error)
        ? new CorruptEntryError(error.reason, error.detail, { key, location })
        : new CorruptEntryError('undecodable', describeError(error), {
            key,
            location,
            cause: error,
          });
      // Best effort: if it fails, Redis still expires the entry, and it stays a miss.
      await this.#command('get', (client) => client.unlink(name)).catch(() => {});
      this.#report(key, reported);
      return undefined;
    }
  }

  /** Walks the keys under the prefix, one `SCAN` page (one bounded round trip) at a time. */
  async #scan(
    operation: 'keys' | 'clear',
    page: (names: Buffer[]) => Promise<void> | void,
  ): Promise<void> {
    let cursor = '0';
    do {
      const [next, names] = await this.#command(operation, (client) =>
        client.scanBuffer(cursor, 'MATCH', this.#pattern, 'COUNT', this.scanCount),
      );
      cursor = next.toString();
      await page(names);
    } while (cursor !== '0');
  }

  /** One round trip (connecting first if needed), bounded by `timeoutMs`. */
  #command<T>(operation: string, send: (client: RedisStoreClient) => Promise<T>): Promise<T> {
    return this.#bounded(operation, async () => send(await this.#connected()));
  }

  /** The client, connected if it was waiting for its first connect (`lazyConnect`). */
  async #connected(): Promise<RedisStoreClient> {
    this.#client ??= createClient(this.#url as string);
    const client = await this.#client;
    if (client.status === 'wait' && this.#connecting === undefined) {
      this.#connecting = client.connect().finally(() => {
        this.#connecting = undefined;
      });
    }
    // Operations called while the first connect is under way wait for it too.
    if (this.#connecting !== undefined) await this.#connecting;
    return client;
  }

  /** `operation()`, rejected with a {@link RedisTimeoutError} after `timeoutMs`. */
  #bounded<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const result = Promise.resolve().then(run);
    if (this.timeoutMs === Number.POSITIVE_INFINITY) return result;
    return new Promise<T>((resolve, reject) => {
      const timer = this.#timers.setTimeout(
        () => reject(new RedisTimeoutError(operation, this.timeoutMs)),
        this.timeoutMs,
      );
      result.then(
        (value) => {
          this.#timers.clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          this.#timers.clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  #report(key: string, error: unknown): void {
    if (!this.#events.observed) return;
    this.#events.next({
      type: 'tier-error',
      tier: 0,
      key,
      operation: 'get',
      error,
      time: this.#clock.now(),
    });
  }
}

/**
 * A client for `url`: `ioredis` loaded on first use (so `eed/node` loads without it), with
 * settings that never leave a command waiting on a connection that is down.
 */
async function createClient(url: string): Promise<RedisStoreClient> {
  let ioredis: typeof import('ioredis');
  try {
    ioredis = await import('ioredis');
  } catch (error) {
    throw new Error(
      'RedisStore({ url }) needs the ioredis package, an optional peer dependency of eed: npm install ioredis',
      { cause: error },
    );
  }
  const client = new ioredis.Redis(url, {
    // Nothing connects before the first operation (which connects, bounded by timeoutMs).
    lazyConnect: true,
    // While disconnected, commands fail at once instead of queueing until Redis is back:
    // a cache tier that is down must answer "failed" now, not hold a run.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  });
  // Connection errors surface as the failures of the commands they affect (and ioredis
  // reconnects on its own); without a listener, ioredis would log each one to stderr.
  client.on('error', () => {});
  return client;
}

/** A `Uint8Array` as a `Buffer` over the same memory (no copy). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function isRedisUrl(url: unknown): boolean {
  if (typeof url !== 'string') return false;
  try {
    const { protocol } = new URL(url);
    return protocol === 'redis:' || protocol === 'rediss:';
  } catch {
    return false;
  }
}

/** A URL for an error message, its password masked. */
function describeUrl(url: unknown): string {
  if (typeof url !== 'string') return describe(url);
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return JSON.stringify(parsed.href);
  } catch {
    return describe(url.replace(/\/\/[^@/]*@/, '//***@'));
  }
}

function assertClient(client: unknown): void {
  if (client === null || typeof client !== 'object') {
    throw new TypeError(`client must be an ioredis Redis instance; received ${describe(client)}`);
  }
  for (const name of ['getBuffer', 'set', 'unlink', 'scanBuffer', 'callBuffer', 'quit'] as const) {
    if (typeof (client as Partial<RedisStoreClient>)[name] !== 'function') {
      throw new TypeError(
        `client must be an ioredis Redis instance; received an object without ${name}()`,
      );
    }
  }
}
