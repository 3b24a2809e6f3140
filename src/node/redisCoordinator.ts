import { randomUUID } from 'node:crypto';
import {
  type AcquireOptions,
  type Coordinator,
  type CoordinatorClaim,
  type CoordinatorLease,
  RemoteExecutionError,
} from 'eed';
import { Subject } from 'rxjs';
import { CircuitBreaker } from '../cache/CircuitBreaker.js';
import {
  assertCount,
  assertDuration,
  assertMethods,
  describe,
  MAX_TIMER_MS,
} from '../executor/validate.js';
import {
  RedisCoordinatorClosedError,
  RedisTimeoutError,
  RedisUnavailableError,
} from './redisErrors.js';

/**
 * What a {@link redisCoordinator} needs of a Redis connection, as an `ioredis` `Redis`
 * instance has it. Any `new Redis(...)` is one; the type is spelled out so that
 * `eed/node`'s declarations do not require `ioredis` to be installed.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 *
 * const client: RedisCoordinatorClient = new Redis(6379, '127.0.0.1');
 * ```
 */
export interface RedisCoordinatorClient {
  /** The connection state (`'wait'` before a lazy client's first connect, `'ready'`, ...). */
  readonly status: string;
  /** Connects a client created with `lazyConnect`. */
  connect(): Promise<void>;
  /** `EVAL script numkeys key [key ...] arg [arg ...]`: leases are taken, renewed and ended by scripts. */
  eval(script: string, numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  /** A new connection with the same options (pub/sub needs a connection of its own). */
  duplicate(): RedisCoordinatorClient;
  /** `SUBSCRIBE channel`. */
  subscribe(channel: string): Promise<unknown>;
  /** `UNSUBSCRIBE channel`. */
  unsubscribe(channel: string): Promise<unknown>;
  /** Adds a listener: `'message'` (channel, message), `'ready'`, `'error'`, `'close'`, `'end'`. */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Removes a listener added with `on`. */
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Closes the connection at once. */
  disconnect(): void;
}

/**
 * Options of {@link redisCoordinator}.
 *
 * @example
 * ```ts
 * const options: RedisCoordinatorOptions = { client, prefix: 'reports:', leaseMs: 30_000 };
 * ```
 */
export interface RedisCoordinatorOptions {
  /**
   * The connection commands go through (leases, renewals, releases, publishing). Create
   * it with `enableOfflineQueue: false` so commands fail at once while Redis is down,
   * instead of waiting out `timeoutMs`. The coordinator never closes it. Without a
   * `subscriber`, it must have `duplicate()` (checked at construction).
   */
  client: RedisCoordinatorClient;
  /**
   * The connection waiters listen on (Redis needs a connection of its own for pub/sub).
   * Default: `client.duplicate()`, created on the first wait and closed by `close()`.
   */
  subscriber?: RedisCoordinatorClient;
  /**
   * Prefix of the lease keys (`<prefix>lease:<key>`) and of the channel (`<prefix>flights`):
   * a non-empty string, like `RedisStore`'s. Default `'eed:'`.
   */
  prefix?: string;
  /**
   * How long (ms) a lease lives unless renewed. The holder renews it every `leaseMs / 3`
   * while its work runs, so only a holder that died (or cannot reach Redis, or stalls
   * longer than `2/3 leaseMs`) loses it; then one waiter takes over. An integer from `30`
   * to `2_147_483_647` (the longest timer delay). Default `10_000`.
   */
  leaseMs?: number;
  /**
   * The longest (ms) one Redis command may take before coordination counts as unavailable.
   * An integer from `1` to `2_147_483_647`. Default `1_000`.
   */
  timeoutMs?: number;
  /**
   * First interval (ms) between a waiter's checks of the lease; it doubles up to
   * `min(1_000, leaseMs / 4)`. The checks only notice a lease that expired with its
   * holder: completions arrive by pub/sub at once. An integer from `1` to `2_147_483_647`.
   * Default `50`.
   */
  pollMs?: number;
  /**
   * How long (ms) to skip Redis after a failure, answering `unavailable` at once: any number
   * >= 0 (fractions allowed; `0` never skips, `Infinity` skips Redis for good after the first
   * failure). Default `5_000`.
   */
  coolDownMs?: number;
}

/**
 * What a {@link RedisCoordinator} reports about itself:
 * - `'unavailable'`: a command failed or timed out; runs execute locally meanwhile;
 * - `'lease-lost'`: a renewal found the lease gone or taken (the holder stalled or was cut
 *   off from Redis past `leaseMs`): another process may now execute the same key;
 * - `'release-failed'`: ending a lease failed; waiters take over when it expires.
 *
 * @example
 * ```ts
 * coordinator.events$.subscribe((e) => console.warn(e.type, e.key, e.error));
 * ```
 */
export interface RedisCoordinatorEvent {
  /** What happened. */
  readonly type: 'unavailable' | 'lease-lost' | 'release-failed';
  /** The key concerned. */
  readonly key: string;
  /** The underlying error, if any. */
  readonly error: unknown;
}

/**
 * A {@link Coordinator} on Redis, made by {@link redisCoordinator}.
 *
 * @example
 * ```ts
 * const coordinator = redisCoordinator({ client });
 * // ... on shutdown:
 * await coordinator.close();
 * ```
 */
export interface RedisCoordinator extends Coordinator {
  /** Failures, lost leases; costs nothing while nobody subscribes. */
  readonly events$: import('rxjs').Observable<RedisCoordinatorEvent>;
  /** How many acquisitions are waiting for another process right now (0 at quiescence). */
  readonly waiting: number;
  /** How many leases this process holds right now (0 at quiescence). */
  readonly held: number;
  /**
   * Stops waiting (waiters execute locally), stops renewals, closes the subscriber it
   * created. An acquisition still in flight answers `unavailable` (a lease Redis granted it
   * meanwhile is given back), and commands waiting for the client to be ready let go of it.
   */
  close(): Promise<void>;
  /** Same as {@link RedisCoordinator.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The message a holder publishes when its lease ends. */
interface FlightMessage {
  readonly key: string;
  /** The token of the lease that ended. */
  readonly token: string;
  readonly outcome: 'done' | 'failed' | 'released';
  readonly error?: { readonly name: string; readonly message: string };
}

/** What one attempt to take the lease found. */
type Attempt =
  | { readonly state: 'leased' }
  | { readonly state: 'held'; readonly holder: string }
  | { readonly state: 'ended'; readonly message: FlightMessage }
  | { readonly state: 'done' };

/**
 * Takes the lease if it is free, atomically. A waiter passes the token of the holder it
 * waited on (ARGV[3]): if that holder ended with a result or an error in the meantime, its
 * end record is returned instead, so a waiter whose pub/sub message is still on its way
 * cannot mistake a finished key for a free one and execute it again.
 */
const ACQUIRE_SCRIPT = `
local holder = redis.call('get', KEYS[1])
if holder then return {'held', holder} end
if ARGV[3] ~= '' then
  local ended = redis.call('get', ARGV[4] .. ARGV[3])
  if ended then return {'ended', ended} end
end
if ARGV[5] ~= '' and redis.call('exists', ARGV[5]) == 1 then return {'done', ''} end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {'leased', ARGV[1]}`;

/**
 * Deletes the lease if this token holds it, records how it ended for the waiters of this
 * token (ARGV[4], briefly: it is not a cache of the error), marks a success as recent for
 * the key (ARGV[6]), and publishes the end, atomically.
 */
const END_SCRIPT = `
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end
if ARGV[4] ~= '' then redis.call('set', ARGV[4], ARGV[3], 'PX', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('set', ARGV[6], '1', 'PX', ARGV[5]) end
redis.call('publish', ARGV[2], ARGV[3])
return 1`;

/** Extends the lease if this token still holds it: 1, else 0. */
const RENEW_SCRIPT = `
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0`;

/**
 * Cross-process single flight on Redis (issue 10). Before an engine executes key K, it
 * takes a lease: `SET <prefix>lease:K <token> NX PX leaseMs`. The holder renews it while
 * the work runs and ends it with a compare-and-delete script that also publishes the
 * outcome on `<prefix>flights`. Other processes wait: a published `done` makes them read
 * the result from the shared cache tier, `failed` hands them the error (never cached),
 * `released` (the holder was cancelled) makes one of them take over. They also poll the
 * lease with backoff, because a holder that dies publishes nothing: its lease expires and
 * the first waiter to find it free executes. A success also leaves a mark on the key for
 * `leaseMs` (`<prefix>done:K`), so a process whose cache lookup ran just before the result
 * landed reads it instead of taking a fresh lease.
 *
 * Why pub/sub and polling together: pub/sub wakes waiters the moment a result exists (no
 * added latency on the common path), but it is fire-and-forget (a message sent while a
 * subscriber reconnects is lost) and Redis says nothing when a lease expires unless
 * keyspace notifications are enabled, a server setting many managed Redis services do not
 * let users change. Polling covers both, and backs off so idle waiters cost little.
 *
 * **The guarantee.** With every process on one Redis primary, the key is executed at most
 * once per lease: while a lease on K is held, no other coordinated process starts K.
 * It rests on (1) Redis' own clock timing the lease (`PX`), (2) no holder pausing (GC, a
 * blocked event loop, a suspended VM) or being cut off from Redis for more than
 * `2/3 leaseMs`, since it could then keep working after its lease expired and a waiter took
 * over, and (3) no failover to a replica that had not received the lease (replication is
 * asynchronous). Coordination failures never fail a run: when Redis is unreachable or slow
 * (`timeoutMs`), the process executes locally and reports it, so during an outage each
 * process deduplicates only its own runs.
 *
 * **Under a network partition**, a holder cut off from Redis keeps working and serves its
 * own subscribers, but cannot renew: after `leaseMs` a waiter on Redis' side takes over,
 * and the key runs twice (once on each side). Processes on the far side of the partition
 * cannot reach Redis at all and execute locally. Nothing is lost; work is duplicated.
 *
 * @param options - the connection and timings; see {@link RedisCoordinatorOptions}.
 * @throws TypeError or RangeError, when called, for an invalid option (named in the
 *   message with the value received): a `client` without `eval()` (or without
 *   `duplicate()` when no `subscriber` is given), an empty `prefix`, a `leaseMs`,
 *   `timeoutMs` or `pollMs` that is not an integer in range, a negative `coolDownMs`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { createEngine, MemoryStore, TieredCache } from 'eed';
 * import { RedisStore, redisCoordinator } from 'eed/node';
 *
 * const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { enableOfflineQueue: false });
 * const coordinator = redisCoordinator({ client });
 * const engine = createEngine({
 *   cache: new TieredCache({ tiers: [{ store: new MemoryStore() }, { store: new RedisStore({ client }) }] }),
 *   coordinator,
 *   ttl: 60_000,
 * });
 * // At shutdown (close() also closes the subscriber connection it made):
 * await engine.flush();
 * await coordinator.close();
 * client.disconnect();
 * ```
 */
export function redisCoordinator(options: RedisCoordinatorOptions): RedisCoordinator {
  return new RedisLeaseCoordinator(options);
}

const ignore = (): void => {};

/**
 * Resolves once `redis` can take commands: at once when ready, after `connect()` for a
 * lazy client that never connected, else at its next `ready` (rejecting at its next
 * `error` or `end`, or when `gaveUp` resolves: its listeners never outlive the command
 * that waits). With `enableOfflineQueue: false`, commands sent before then fail.
 */
function whenReady(redis: RedisCoordinatorClient, gaveUp: Promise<void>): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  if (redis.status === 'wait') return redis.connect();
  return new Promise<void>((resolve, reject) => {
    const settle = (error?: unknown) => {
      redis.off('ready', onReady);
      redis.off('error', onError);
      redis.off('end', onEnd);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onReady = () => settle();
    const onError = (error: unknown) => settle(error);
    const onEnd = () => settle(new RedisUnavailableError('connection-closed'));
    redis.on('ready', onReady);
    redis.on('error', onError);
    redis.on('end', onEnd);
    void gaveUp.then(() => settle(new RedisCoordinatorClosedError('a wait for Redis to be ready')));
  });
}

/** The claim a waiter makes of a holder's `done` or `failed` end. */
function claimOf(message: FlightMessage): CoordinatorClaim {
  if (message.outcome === 'done') return { kind: 'done' };
  const error = message.error ?? { name: 'Error', message: 'remote execution failed' };
  return { kind: 'failed', error: new RemoteExecutionError(error.message, error.name) };
}

/** One acquisition waiting for another process's outcome. */
interface Waiter {
  /** The latest message for the key that arrived while nobody was waiting on `wake`. */
  pending: FlightMessage | undefined;
  /** Wakes the current wait with a message, or `undefined` to check the lease now. */
  wake: ((message: FlightMessage | undefined) => void) | undefined;
}

class RedisLeaseCoordinator implements RedisCoordinator {
  readonly #client: RedisCoordinatorClient;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #endedPrefix: string;
  readonly #leaseMs: number;
  readonly #timeoutMs: number;
  readonly #pollMs: number;
  readonly #maxPollMs: number;
  readonly #breaker: CircuitBreaker;
  readonly #events = new Subject<RedisCoordinatorEvent>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #leases = new Set<RedisLease>();
  /** Gives up each command in flight (see {@link #command}). */
  readonly #inFlight = new Set<() => void>();
  readonly #ownsSubscriber: boolean;
  #subscriber: RedisCoordinatorClient | undefined;
  #subscribed: Promise<void> | undefined;
  #listening = false;
  #waiting = 0;
  #closed = false;
  #closing: Promise<void> | undefined = undefined;

  readonly events$ = this.#events.asObservable();

  constructor(options: RedisCoordinatorOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`options must be an object; received ${describe(options)}`);
    }
    const client = options.client;
    // Without a subscriber, the first wait subscribes on `client.duplicate()`.
    if (options.subscriber === undefined) {
      assertMethods(
        'client',
        client,
        ['eval', 'duplicate'],
        'an ioredis client (with eval(), and duplicate() when no subscriber is given)',
      );
    } else {
      assertMethods('client', client, ['eval'], 'an ioredis client (with eval())');
    }
    if (options.subscriber !== undefined && typeof options.subscriber?.subscribe !== 'function') {
      throw new TypeError(
        `subscriber must be an ioredis client; received ${describe(options.subscriber)}`,
      );
    }
    this.#client = client;
    this.#subscriber = options.subscriber;
    this.#ownsSubscriber = options.subscriber === undefined;
    this.#prefix = options.prefix ?? 'eed:';
    if (typeof this.#prefix !== 'string' || this.#prefix.length === 0) {
      throw new TypeError(`prefix must be a non-empty string; received ${describe(this.#prefix)}`);
    }
    this.#channel = `${this.#prefix}flights`;
    this.#endedPrefix = `${this.#prefix}ended:`;
    this.#leaseMs = options.leaseMs ?? 10_000;
    assertCount('leaseMs', this.#leaseMs, 30, MAX_TIMER_MS);
    this.#timeoutMs = options.timeoutMs ?? 1_000;
    assertCount('timeoutMs', this.#timeoutMs, 1, MAX_TIMER_MS);
    this.#pollMs = options.pollMs ?? 50;
    assertCount('pollMs', this.#pollMs, 1, MAX_TIMER_MS);
    this.#maxPollMs = Math.max(this.#pollMs, Math.min(1_000, this.#leaseMs / 4));
    const coolDownMs = options.coolDownMs ?? 5_000;
    assertDuration('coolDownMs', coolDownMs);
    this.#breaker = new CircuitBreaker(1, coolDownMs, { now: () => Date.now() });
  }

  get waiting(): number {
    return this.#waiting;
  }

  get held(): number {
    return this.#leases.size;
  }

  async acquire(
    key: string,
    signal: AbortSignal,
    options?: AcquireOptions,
  ): Promise<CoordinatorClaim> {
    signal.throwIfAborted();
    if (this.#closed) {
      return { kind: 'unavailable', error: new RedisCoordinatorClosedError('acquire') };
    }
    if (!this.#breaker.allows()) {
      return { kind: 'unavailable', error: new RedisUnavailableError('cool-down') };
    }
    const leaseKey = `${this.#prefix}lease:${key}`;
    const token = randomUUID();
    let waiter: Waiter | undefined;
    try {
      // A success of the last `leaseMs` means the shared cache has the result: the engine's
      // own lookup ran before it landed. Unless that lookup came after the announcement.
      const recent = options?.afterMiss === true ? '' : `${this.#prefix}done:${key}`;
      const first = await this.#attempt(leaseKey, token, '', recent);
      // Closed meanwhile: nothing may start (no subscription, no lease kept).
      if (this.#closed) return this.#closedWhileAcquiring(key, leaseKey, token, first);
      if (first.state === 'done') return { kind: 'done' };
      if (first.state === 'leased') return this.#granted(key, leaseKey, token, false, signal);
      let holder = first.state === 'held' ? first.holder : '';
      await this.#subscribe();
      waiter = this.#addWaiter(key);
      let delay = this.#pollMs;
      for (;;) {
        // Tried again once subscribed: the holder may have ended before the subscription.
        const attempt = await this.#attempt(leaseKey, token, holder, '');
        if (this.#closed) return this.#closedWhileAcquiring(key, leaseKey, token, attempt);
        if (attempt.state === 'leased') return this.#granted(key, leaseKey, token, true, signal);
        if (attempt.state === 'ended') return claimOf(attempt.message);
        if (attempt.state === 'done') return { kind: 'done' };
        holder = attempt.holder;
        const message = await this.#wait(waiter, delay, signal);
        // A failure counts only from the holder waited on; a result, from anyone.
        if (message?.outcome === 'done') return claimOf(message);
        if (message?.outcome === 'failed' && message.token === holder) return claimOf(message);
        if (this.#closed) throw new RedisCoordinatorClosedError('acquire');
        if (message === undefined) delay = Math.min(delay * 2, this.#maxPollMs);
      }
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      // A close is no failure of Redis: nothing to count or report.
      if (this.#closed)
        return { kind: 'unavailable', error: new RedisCoordinatorClosedError('acquire') };
      this.#breaker.failed();
      this.#report('unavailable', key, error);
      return { kind: 'unavailable', error };
    } finally {
      if (waiter !== undefined) this.#removeWaiter(key, waiter);
    }
  }

  /**
   * The answer to an acquisition that {@link close} overtook: `unavailable`, and a lease
   * Redis granted it meanwhile is given back at once (no renewal starts).
   */
  #closedWhileAcquiring(
    key: string,
    leaseKey: string,
    token: string,
    attempt: Attempt,
  ): CoordinatorClaim {
    if (attempt.state === 'leased') {
      this.#endInRedis(leaseKey, token, { key, token, outcome: 'released' }).catch(ignore);
    }
    return { kind: 'unavailable', error: new RedisCoordinatorClosedError('acquire') };
  }

  close(): Promise<void> {
    // A second call, even while the first is still closing, waits for the same close.
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    // Commands in flight let go of what they wait on (a client that is not ready).
    for (const giveUp of [...this.#inFlight]) giveUp();
    for (const waiters of this.#waiters.values()) {
      for (const waiter of waiters) waiter.wake?.(undefined);
    }
    for (const lease of this.#leases) lease.stopRenewing();
    this.#leases.clear();
    const subscriber = this.#subscriber;
    if (subscriber !== undefined) {
      subscriber.off('message', this.#onMessage);
      subscriber.off('close', this.#onDisconnect);
      if (this.#ownsSubscriber) {
        subscriber.disconnect();
      } else if (this.#subscribed !== undefined) {
        await this.#command('unsubscribe', () => subscriber.unsubscribe(this.#channel)).catch(
          ignore,
        );
      }
    }
    this.#events.complete();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Runs one Redis command, failing with a timeout error after `timeoutMs`. `run` gets a
   * promise that resolves once the command is given up (it ended, timed out, or the
   * coordinator closed), for what it waits on to let go.
   */
  #command<T>(operation: string, run: (gaveUp: Promise<void>) => Promise<T>): Promise<T> {
    let giveUp = ignore;
    const gaveUp = new Promise<void>((resolve) => {
      giveUp = resolve;
    });
    this.#inFlight.add(giveUp);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RedisTimeoutError(operation, this.#timeoutMs)),
        this.#timeoutMs,
      );
    });
    return Promise.race([run(gaveUp), timeout]).finally(() => {
      clearTimeout(timer);
      this.#inFlight.delete(giveUp);
      giveUp();
    });
  }

  /** Takes the lease if free (`SET NX PX` in a script), else says who holds it or how it ended. */
  async #attempt(
    leaseKey: string,
    token: string,
    waitedOn: string,
    recentSuccess: string,
  ): Promise<Attempt> {
    const client = this.#client;
    const reply = (await this.#command('acquire', (gaveUp) =>
      whenReady(client, gaveUp).then(() =>
        client.eval(
          ACQUIRE_SCRIPT,
          1,
          leaseKey,
          token,
          this.#leaseMs,
          waitedOn,
          this.#endedPrefix,
          recentSuccess,
        ),
      ),
    )) as [string, string];
    this.#breaker.succeeded();
    if (reply[0] === 'leased') return { state: 'leased' };
    if (reply[0] === 'done') return { state: 'done' };
    if (reply[0] === 'held') return { state: 'held', holder: reply[1] };
    return { state: 'ended', message: JSON.parse(reply[1]) as FlightMessage };
  }

  #granted(
    key: string,
    leaseKey: string,
    token: string,
    waited: boolean,
    signal: AbortSignal,
  ): CoordinatorClaim {
    const lease = new RedisLease(this, key, leaseKey, token);
    if (signal.aborted) {
      void lease.release();
      throw signal.reason;
    }
    return { kind: 'lease', lease, waited };
  }

  /** Subscribes to the flights channel once; later calls wait for the same subscription. */
  #subscribe(): Promise<void> {
    if (this.#closed) return Promise.reject(new RedisCoordinatorClosedError('subscribe'));
    if (this.#subscribed !== undefined) return this.#subscribed;
    let subscriber = this.#subscriber;
    if (subscriber === undefined) {
      subscriber = this.#client.duplicate();
      this.#subscriber = subscriber;
      // Errors surface through commands; without a listener ioredis would log each one.
      subscriber.on('error', ignore);
    }
    if (!this.#listening) {
      this.#listening = true;
      // A dropped connection may have lost messages: every waiter checks the lease at once.
      subscriber.on('close', this.#onDisconnect);
      subscriber.on('message', this.#onMessage);
    }
    const connected = subscriber;
    const subscribing = this.#command('subscribe', (gaveUp) =>
      whenReady(connected, gaveUp).then(() => connected.subscribe(this.#channel)),
    ).then(() => undefined);
    this.#subscribed = subscribing;
    subscribing.catch(() => {
      if (this.#subscribed === subscribing) this.#subscribed = undefined;
    });
    return subscribing;
  }

  readonly #onMessage = (channel: unknown, raw: unknown): void => {
    if (channel !== this.#channel || typeof raw !== 'string') return;
    let message: FlightMessage;
    try {
      message = JSON.parse(raw) as FlightMessage;
    } catch {
      return;
    }
    const waiters = this.#waiters.get(message.key);
    if (waiters === undefined) return;
    for (const waiter of waiters) {
      if (waiter.wake !== undefined) waiter.wake(message);
      else if (waiter.pending === undefined || waiter.pending.outcome === 'released') {
        waiter.pending = message;
      }
    }
  };

  readonly #onDisconnect = (): void => {
    for (const waiters of this.#waiters.values()) {
      for (const waiter of waiters) waiter.wake?.(undefined);
    }
  };

  #addWaiter(key: string): Waiter {
    const waiter: Waiter = { pending: undefined, wake: undefined };
    let waiters = this.#waiters.get(key);
    if (waiters === undefined) {
      waiters = new Set();
      this.#waiters.set(key, waiters);
    }
    waiters.add(waiter);
    this.#waiting++;
    return waiter;
  }

  #removeWaiter(key: string, waiter: Waiter): void {
    const waiters = this.#waiters.get(key);
    if (waiters?.delete(waiter) !== true) return;
    this.#waiting--;
    if (waiters.size === 0) this.#waiters.delete(key);
  }

  /**
   * Resolves with the next message for the waiter's key, or `undefined` after `delayMs`
   * (time to check the lease); rejects when `signal` is aborted. Leaves no timer or
   * listener behind.
   */
  #wait(waiter: Waiter, delayMs: number, signal: AbortSignal): Promise<FlightMessage | undefined> {
    const pending = waiter.pending;
    if (pending !== undefined) {
      waiter.pending = undefined;
      return Promise.resolve(pending);
    }
    return new Promise((resolve, reject) => {
      // Aborted while a command was in flight: an aborted signal never fires 'abort' again.
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const finish = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        waiter.wake = undefined;
      };
      const onAbort = () => {
        finish();
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        finish();
        resolve(undefined);
      }, delayMs);
      waiter.wake = (message) => {
        finish();
        resolve(message);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #report(type: RedisCoordinatorEvent['type'], key: string, error: unknown): void {
    if (this.#events.observed) this.#events.next({ type, key, error });
  }

  /** Called by a lease: starts renewing it. */
  track(lease: RedisLease): ReturnType<typeof setInterval> {
    this.#leases.add(lease);
    const timer = setInterval(() => {
      this.#command('renew', () =>
        this.#client.eval(RENEW_SCRIPT, 1, lease.leaseKey, lease.token, this.#leaseMs),
      ).then(
        (renewed) => {
          if (renewed === 0 && this.#leases.has(lease)) {
            lease.stopRenewing();
            this.#report('lease-lost', lease.key, undefined);
          }
        },
        (error: unknown) => this.#report('unavailable', lease.key, error),
      );
    }, this.#leaseMs / 3);
    timer.unref?.();
    return timer;
  }

  /** Called by a lease: stops renewing it, deletes it if still held, publishes how it ended. */
  async end(lease: RedisLease, message: FlightMessage): Promise<void> {
    this.#leases.delete(lease);
    if (this.#closed) return;
    try {
      await this.#endInRedis(lease.leaseKey, lease.token, message);
    } catch (error) {
      this.#report('release-failed', lease.key, error);
    }
  }

  /** Deletes a lease if `token` still holds it, and publishes how it ended. */
  #endInRedis(leaseKey: string, token: string, message: FlightMessage): Promise<unknown> {
    const record = message.outcome === 'released' ? '' : `${this.#endedPrefix}${token}`;
    return this.#command('release', () =>
      this.#client.eval(
        END_SCRIPT,
        1,
        leaseKey,
        token,
        this.#channel,
        JSON.stringify(message),
        record,
        this.#leaseMs,
        message.outcome === 'done' ? `${this.#prefix}done:${message.key}` : '',
      ),
    );
  }

  /** Called by a lease that stopped renewing. */
  forget(lease: RedisLease): void {
    this.#leases.delete(lease);
  }
}

/** A lease this process holds on one key, renewed until it ends. */
class RedisLease implements CoordinatorLease {
  readonly #timer: ReturnType<typeof setInterval>;
  #ended = false;

  constructor(
    readonly coordinator: RedisLeaseCoordinator,
    readonly key: string,
    readonly leaseKey: string,
    readonly token: string,
  ) {
    this.#timer = coordinator.track(this);
  }

  complete(): Promise<void> {
    return this.#end({ key: this.key, token: this.token, outcome: 'done' });
  }

  fail(error: unknown): Promise<void> {
    const { name, message } =
      error instanceof Error ? error : { name: 'Error', message: String(error) };
    return this.#end({
      key: this.key,
      token: this.token,
      outcome: 'failed',
      error: { name, message },
    });
  }

  release(): Promise<void> {
    return this.#end({ key: this.key, token: this.token, outcome: 'released' });
  }

  stopRenewing(): void {
    clearInterval(this.#timer);
    this.coordinator.forget(this);
  }

  #end(message: FlightMessage): Promise<void> {
    if (this.#ended) return Promise.resolve();
    this.#ended = true;
    clearInterval(this.#timer);
    return this.coordinator.end(this, message);
  }
}
