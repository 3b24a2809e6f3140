import { freeze } from 'immer';
import {
  auditTime,
  defer,
  from,
  map,
  merge,
  NEVER,
  Observable,
  type ObservableInput,
  type Observer,
  of,
  Subject,
  type Subscriber,
  type Subscription,
  type TeardownLogic,
} from 'rxjs';
import { Batcher, type BatchSink, resolveBatchOptions } from '../batching/Batcher.js';
import { MemoryStore } from '../cache/MemoryStore.js';
import { TierUnavailableError } from '../cache/TieredCache.js';
import type { Cache, CacheEntry, CacheStoreEvent, SyncCacheStore } from '../cache/types.js';
import { isSyncCacheStore } from '../cache/types.js';
import { AbortError } from '../errors.js';
import { createExecutor } from '../executor/createExecutor.js';
import type { ExecutorOptions } from '../executor/PriorityExecutor.js';
import {
  type Clock,
  type Executor,
  type Priority,
  rank,
  TaskControl,
  type Work,
} from '../executor/types.js';
import {
  assertBoolean,
  assertClock,
  assertDuration,
  assertExecutor,
  assertFunction,
  assertObject,
  assertPositiveDuration,
  assertPriority,
  assertScheduler,
  assertTimerMs,
  describe,
} from '../executor/validate.js';
import { type Alert, AlertMonitor } from '../metrics/AlertMonitor.js';
import type {
  CoordinationEvent,
  EngineEvent,
  ExecutionEvent,
  ExecutorEvent,
  ShortCircuitEvent,
} from '../metrics/events.js';
import { EMPTY_METRICS, MetricsAggregator } from '../metrics/MetricsAggregator.js';
import type { MetricsSnapshot } from '../metrics/types.js';
import type { FlightObserver, FlightSource, SharedFlight } from '../sharing/Flight.js';
import { SingleFlight } from '../sharing/SingleFlight.js';
import { callAfterCheck } from '../util/callAfterCheck.js';
import { completeTo, nextTo } from '../util/DirectObservable.js';
import { PerformanceClock } from '../util/PerformanceClock.js';
import { TurnClock } from '../util/TurnClock.js';
import type { AcquireOptions, Coordinator, CoordinatorLease } from './coordinator.js';
import { EngineMeter } from './EngineMeter.js';
import { KeyObservable, type KeyRequests } from './KeyObservable.js';
import { type BatchToken, type LoaderBatcher, type LoaderHost, LoaderKey } from './LoaderKey.js';
import {
  type ExecutionHost,
  type ExecutionSettings,
  type FlightMeta,
  freezeValue,
  LocalExecution,
} from './LocalExecution.js';
import type { EngineOptions, LoaderOptions, PrefetchOptions, RunOptions } from './options.js';
import { RunObservable, type RunRequests } from './RunObservable.js';
import { type RequestHost, RunRequest } from './RunRequest.js';

/**
 * How many times a run asks the coordinator again after another process announced a
 * result the shared cache did not have, before executing locally regardless.
 */
const MAX_REMOTE_MISSES = 2;

const AFTER_MISS: AcquireOptions = { afterMiss: true };

/** The most prefetched-but-unused keys remembered; older ones count as wasted. */
const MAX_UNUSED_PREFETCHES = 10_000;

/** Length (ms) of the sliding window alerts look at, unless `alerts.windowMs` says otherwise. */
const DEFAULT_WINDOW_MS = 60_000;

/** Wall-clock time for cache expiry, which must survive restarts (persistent tiers). */
const wallClock: Clock = { now: () => Date.now() };

const deepFreeze = <T>(value: T): T => freeze(value, true);

/**
 * Executor + keyed sharing + cache + metrics. `run(key, work)` serves a valid cached
 * result, else joins the execution of `key` in flight, else schedules `work` and caches
 * its result: the same work is never done twice.
 *
 * @example
 * ```ts
 * const engine = createEngine({ executor: { concurrency: 8 }, ttl: 60_000 });
 * engine.run('user:1', (signal) => fetch('/api/users/1', { signal }).then((r) => r.json()))
 *   .subscribe((user) => render(user));
 * ```
 */
export class Engine {
  /** The executor every execution of this engine runs on. */
  readonly executor: Executor;
  readonly #cache: Cache;
  readonly #syncCache: SyncCacheStore | undefined;
  /** The cache when it is a `MemoryStore`: results are then written synchronously. */
  readonly #memory: MemoryStore | undefined;
  readonly #ttl: number;
  readonly #clock: Clock;
  readonly #wall: Clock;
  readonly #metricsIntervalMs: number;
  readonly #coordinator: Coordinator | undefined;
  readonly #flights: SingleFlight<unknown, FlightMeta>;
  /** Loader keys in flight as reservations of the `MemoryStore` (not in `#flights`). */
  #reservedKeys = 0;
  /** Entries written but whose `set` has not settled yet: served from here meanwhile. */
  readonly #landing = new Map<string, CacheEntry>();
  /** Cache writes and lease ends not settled yet (see `flush`). */
  #pending = 0;
  readonly #flushes: (() => void)[] = [];
  /** Keys whose cache entry came from a prefetch no run has used yet. */
  readonly #unusedPrefetches = new Set<string>();
  /** Counts the executor's tasks (fed by its events) when metrics are on. */
  readonly #aggregator: MetricsAggregator | undefined;
  /** Counts the engine's own metrics, with no event objects, when metrics are on. */
  readonly #meter: EngineMeter | undefined;
  readonly #alertMonitor: AlertMonitor | undefined;
  readonly #alerts = new Subject<Alert>();
  readonly #changes = new Subject<void>();
  readonly #executorEvents: Subscription | undefined;
  readonly #events = new Subject<EngineEvent>();
  /** Subscribers of `events$`, `alerts$` and `metrics$`: plain fields, read on every request. */
  readonly #listeners = new Listeners();
  #requestIds = 0;
  #executionIds = 0;
  /** The settings of a run given no options (built once). */
  readonly #defaults: ExecutionSettings;
  /** The clock read once per synchronous turn, for the window counts of synchronous hits. */
  readonly #turnClock: TurnClock;
  /** What requests report to (built once, shared by every request). */
  readonly #requestHost: RequestHost;
  /** Where every Observable of `run` subscribes (one object, no closure per run). */
  readonly #runs: RunRequests = {
    request: (run, subscriber) =>
      this.#request(run.key, run.work as Work<unknown>, run.settings, run.priority, subscriber),
    serve: (run, observer) => this.#serveRun(run.key, run.settings, observer),
  };
  /**
   * The key {@link #serveRun} or {@link #serveKey} just looked up and did not serve, and
   * what the lookup found (`undefined` for #serveRun: no valid entry). The subscription
   * made then, at once and with nothing in between, takes it instead of a second lookup.
   */
  #lookedUpKey: string | undefined = undefined;
  #lookedUp: CacheEntry | object | undefined = undefined;
  /** What local executions report to (built once, shared by every execution). */
  readonly #executionHost: ExecutionHost;

  /** Executor and engine events, as they happen. Costs nothing while nobody subscribes. */
  readonly events$: Observable<ExecutionEvent>;
  /** Metrics snapshots: the current one at once, then at most one per `metricsIntervalMs` while events flow. */
  readonly metrics$: Observable<MetricsSnapshot>;
  /**
   * Where operators outside the engine report work they saved, so the engine's metrics
   * count it (`shortCircuit`): pass it as the `events` option of `firstSuccess`,
   * `someMap`, `everyMap` or `hedge`.
   *
   * @example
   * ```ts
   * from(mirrors).pipe(firstSuccess(download, { executor: engine.executor, events: engine.reports }));
   * engine.metrics().shortCircuit; // { aborted, skipped }
   * ```
   */
  readonly reports: {
    /** Records one short-circuit event in this engine's metrics. */
    next(event: ShortCircuitEvent): void;
  } = {
    next: (event) => this.#record(event),
  };

  /** Alerts as thresholds are crossed and recovered (see {@link AlertThresholds}). */
  readonly alerts$: Observable<Alert> = counted(this.#alerts, this.#listeners, 'alerts', () =>
    // The monitor sees no events while no one listens: it keeps no task it saw start.
    this.#alertMonitor?.reset(),
  );

  constructor(options: EngineOptions = {}) {
    if (options.clock !== undefined) assertClock('clock', options.clock);
    if (options.wallClock !== undefined) assertClock('wallClock', options.wallClock);
    if (options.metrics !== undefined) assertBoolean('metrics', options.metrics);
    if (options.alerts !== undefined) assertObject('alerts', options.alerts);
    const alerts = options.alerts ?? {};
    if (alerts.windowMs !== undefined) assertPositiveDuration('alerts.windowMs', alerts.windowMs);
    this.executor = executorOf(options.executor);
    this.#wall = options.wallClock ?? wallClock;
    this.#cache =
      options.cache ??
      new MemoryStore({
        clock: this.#wall,
        // A prefetched entry that leaves before anyone used it was wasted work.
        onEvict: (key) => {
          if (this.#unusedPrefetches.delete(key)) {
            this.#record({
              type: 'prefetch-wasted',
              time: this.#clock.now(),
              key,
              label: undefined,
            });
          }
        },
      });
    if (typeof this.#cache.get !== 'function' || typeof this.#cache.set !== 'function') {
      throw new TypeError(`cache must be a CacheStore; received ${describe(this.#cache)}`);
    }
    this.#syncCache = isSyncCacheStore(this.#cache) ? this.#cache : undefined;
    this.#memory = this.#cache instanceof MemoryStore ? this.#cache : undefined;
    const memory = this.#memory;
    // The loader's keys in flight are reservations of the memory store: found here too.
    this.#flights = new SingleFlight<unknown, FlightMeta>(
      memory === undefined ? undefined : (key) => reservedKey(memory.reservation(key)),
    );
    this.#coordinator = options.coordinator;
    if (this.#coordinator !== undefined) {
      if (typeof this.#coordinator.acquire !== 'function') {
        throw new TypeError(
          `coordinator must be a Coordinator; received ${describe(this.#coordinator)}`,
        );
      }
      if (this.#syncCache !== undefined) {
        // Other processes could never read the results of a process-local store.
        throw new TypeError(
          `coordinator needs a cache the processes share (a TieredCache with a RedisStore tier); received ${describe(this.#cache)}`,
        );
      }
    }
    this.#ttl = options.ttl ?? Number.POSITIVE_INFINITY;
    assertDuration('ttl', this.#ttl);
    this.#clock = options.clock ?? new PerformanceClock();
    this.#turnClock = new TurnClock(this.#clock);
    this.#metricsIntervalMs = options.metricsIntervalMs ?? 1000;
    assertTimerMs('metricsIntervalMs', this.#metricsIntervalMs, { infinity: true });
    this.#defaults = this.#settings({});
    const cacheEvents = this.#cache.events$;
    this.events$ =
      cacheEvents === undefined
        ? merge(this.executor.events$, counted(this.#events, this.#listeners, 'events'))
        : merge(
            this.executor.events$,
            counted(this.#events, this.#listeners, 'events'),
            // The store stamps its events with its wall clock; the engine's are on `clock`.
            cacheEvents.pipe(map((event) => toEngineEvent(event, this.#clock.now()))),
          );
    if (options.metrics !== false) {
      const aggregator = new MetricsAggregator({
        concurrency: this.executor.concurrency,
        windowMs: alerts.windowMs,
      });
      this.#aggregator = aggregator;
      this.#meter = new EngineMeter(alerts.windowMs ?? DEFAULT_WINDOW_MS);
      this.#listeners.metered = true;
      this.#listeners.update();
      this.#alertMonitor = new AlertMonitor(alerts, (alert) => this.#alerts.next(alert));
      this.#executorEvents = this.executor.events$.subscribe((event) => this.#observe(event));
    }
    this.#requestHost = {
      firstValue: (request) =>
        this.#firstValue(request.key, request.label, request.requestId, request.startedAt, 0),
      ended: (request, outcome) =>
        this.#requestEnded(
          request.key,
          request.label,
          request.requestId,
          request.startedAt,
          outcome,
        ),
    };
    this.#executionHost = {
      executor: this.executor,
      started: (key, label, prefetch, time) =>
        // Redundant when a valid entry is there (a run with `cache: false`, say).
        this.#executionStarted(
          key,
          label,
          prefetch,
          time,
          this.#recording && this.#peek(key) !== undefined,
        ),
      ended: (key, label, executionId, outcome, startedAt) =>
        this.#executionEnded(key, label, executionId, outcome, startedAt, 0),
      completed: (key, values, cost, settings, meta, time) =>
        this.#storeLocal(key, values, cost, settings, meta, time),
      now: () => this.#clock.now(),
    };
    this.metrics$ = defer(() =>
      merge(
        of(this.metrics()),
        // No interval: the snapshot at subscription is the only one (no timer).
        this.#metricsIntervalMs === Number.POSITIVE_INFINITY
          ? NEVER
          : counted(this.#changes, this.#listeners, 'changes').pipe(
              auditTime(this.#metricsIntervalMs),
              map(() => this.metrics()),
            ),
      ),
    );
  }

  /**
   * Stops listening to the executor (which may outlive this engine when shared). Runs
   * still work afterwards; metrics and alerts stop counting executor events.
   */
  dispose(): void {
    this.#executorEvents?.unsubscribe();
  }

  /**
   * A cold Observable of `key`'s result. On subscription: (1) a valid cached entry is
   * replayed, synchronously when the store can answer synchronously, and no work runs;
   * (2) otherwise the run joins the execution of `key` in flight, receiving every value
   * so far and the rest; (3) otherwise `work` is scheduled at `priority` and, on success,
   * its values are cached for `ttl`. Errors and cancellations are never cached. Values
   * are deep-frozen (immer `freeze`): no consumer can change what another sees.
   *
   * A caller of higher priority joining a queued execution moves it to its lane; joining
   * a running preemptible one (a prefetch) makes it non-preemptible. Unsubscribing leaves
   * the execution; it is aborted when its last subscriber has left.
   */
  run<T>(key: string, work: Work<T>, options?: RunOptions): Observable<T> {
    assertKey(key);
    assertFunction('work', work);
    if (options === undefined) return this.#run(key, work, this.#defaults, 'normal');
    const priority = options.priority ?? 'normal';
    assertPriority('priority', priority);
    return this.#run(key, work, this.#settings(options), priority);
  }

  /**
   * A DataLoader for this engine: `load(key)` is served from the cache or joins the
   * execution of `key` in flight first, and only keys that missed every tier and are not
   * in flight are collected into batches, so each backend call asks for exactly the keys
   * nobody has. Each batch is one task of the engine's executor; each key is then cached
   * with `ttl` like any `run`. An `Error` in a result slot fails only that key.
   *
   * @example
   * ```ts
   * const loadUser = engine.loader((ids: string[], signal) => fetchUsers(ids, signal), { maxBatchSize: 100 });
   * loadUser('1').subscribe(render);
   * loadUser('2').subscribe(render); // same batch as '1'
   * ```
   * @param loadBatch Loads many keys at once; one result (or Error) per key, by position.
   * @param options Batch size and window, batch cap, priority, TTL; see {@link LoaderOptions}.
   * @returns `load(key)`, a cold Observable of the key's value.
   * @throws RangeError or TypeError for a bad option, naming it and the value (and
   *   RangeError for `maxWaitMs: Infinity` with no finite `maxBatchSize`).
   */
  loader<V>(
    loadBatch: (keys: string[], signal: AbortSignal) => ObservableInput<readonly (V | Error)[]>,
    options: LoaderOptions = {},
  ): (key: string) => Observable<V> {
    const { maxBatchSize, maxWaitMs, concurrency, priority } = resolveBatchOptions(
      '',
      loadBatch,
      options,
    );
    if (options.scheduler !== undefined) assertScheduler('scheduler', options.scheduler);
    if (maxWaitMs === Number.POSITIVE_INFINITY && maxBatchSize === Number.POSITIVE_INFINITY) {
      // A loader's keys have no end to flush them: such a batch would never be sent.
      throw new RangeError(
        'maxWaitMs: Infinity needs a finite maxBatchSize (a batch with no window is sent when full); received maxBatchSize Infinity',
      );
    }
    const settings = { ...this.#settings(options), direct: true };
    const label = settings.label;
    const sink: BatchSink<BatchToken, unknown> = {
      // One clock read stands for every key of a batch: they all end in this turn.
      settling: () => {
        host.time = this.#clock.now();
        host.wall = this.#wall.now();
      },
      next: (token, value) => token.resolve(value),
      error: (token, error) => token.reject(error),
    };
    const batcher: LoaderBatcher = new Batcher<string, unknown, BatchToken>({
      loadBatch,
      maxBatchSize,
      maxWaitMs,
      concurrency,
      keyOf: undefined,
      executor: this.executor,
      priority,
      label: options.label,
      scheduler: options.scheduler,
      sink,
      isAbandoned: (token) => token.abandoned,
      onDispatch: (size) => {
        if (!this.#recording) return;
        this.#record({
          type: 'batch-dispatched',
          time: this.#clock.now(),
          label: options.label,
          size,
          capacity: maxBatchSize,
        });
      },
    });
    // With a MemoryStore (and no coordinator), keys in flight are reservations of the
    // store: one lookup tells a cached key, a key in flight and a new one apart, and a
    // result replaces its reservation in place (DataLoader's one map, in the store).
    const memory = this.#memory;
    const store =
      memory !== undefined && settings.useCache && this.#isLocal(settings) ? memory : undefined;
    const host: LoaderHost = {
      batcher,
      settings,
      store,
      time: 0,
      wall: 0,
      firstValue: (slot, time) =>
        this.#firstValue(slot.key, label, slot.requestId, slot.startedAt, time),
      requestCancelled: (slot) =>
        this.#requestEnded(slot.key, label, slot.requestId, slot.startedAt, 'cancelled'),
      ended: (slot, outcome, values, time, requested) => {
        const key = slot.key;
        const startedAt = slot.startedAt;
        if (store === undefined) {
          this.#flights.remove(key);
        } else {
          this.#reservedKeys--;
          // A result to cache ends the reservation as it is stored (#storeLocal).
          if (values === undefined || !isCacheable(settings, slot)) store.release(key, slot);
        }
        this.#executionEnded(key, label, slot.executionId, outcome, startedAt, time);
        if (values !== undefined) {
          const cost = time - startedAt;
          this.#storeLocal(key, values, cost, settings, slot, time, host.wall, slot.ticket);
        }
        if (requested) this.#requestEnded(key, label, slot.requestId, startedAt, outcome, time);
      },
    };
    // One subscribe function and one object per loader: `load(key)` allocates no closure.
    const requests: KeyRequests =
      store === undefined
        ? {
            request: (key, subscriber) => this.#request(key, host, settings, priority, subscriber),
            serve: (key, observer) => this.#serveRun(key, settings, observer),
          }
        : {
            request: (key, subscriber) => this.#requestKey(key, host, store, priority, subscriber),
            serve: (key, observer) => this.#serveKey(key, store, settings.label, observer),
          };
    return (key: string) => {
      assertKey(key);
      return new KeyObservable<V>(key, requests);
    };
  }

  /**
   * One subscription of a loader's key when the cache is a `MemoryStore` holding the
   * loader's keys in flight (see {@link MemoryStore.reserve}): as {@link #request}, with one
   * store lookup for both the cache and the loader's flights.
   */
  #requestKey(
    key: string,
    host: LoaderHost,
    store: MemoryStore,
    priority: Priority,
    subscriber: Subscriber<unknown>,
  ): TeardownLogic {
    const requestId = ++this.#requestIds;
    const label = host.settings.label;
    const listening = this.#listening;
    // #serveKey looked `key` up just now, when it made this subscription.
    let found: CacheEntry | object | undefined;
    if (key === this.#lookedUpKey) found = this.#lookedUp;
    else found = this.#lookUp(key, store);
    this.#forgetLookup();
    let flight: SharedFlight<unknown, FlightMeta> | undefined;
    let hit: CacheEntry | undefined;
    if (found instanceof LoaderKey) {
      flight = found;
    } else if (found !== undefined) {
      const entry = found as CacheEntry;
      if (this.#valid(entry)) hit = entry;
    }
    // As #request: a hit nobody wants event objects of is counted in one call.
    if (hit !== undefined && !listening) {
      this.#serveCountedHit(key, label, hit, subscriber);
      return;
    }
    const startedAt = this.#countRequest(key, label, requestId, priority, listening);
    if (hit !== undefined) {
      this.#serveHit(key, label, requestId, startedAt, hit, subscriber);
      return;
    }
    // A run of the key in flight (runs register in the engine's own registry).
    flight ??= this.#flights.local(key);
    if (flight === undefined) {
      return this.#loadKey(key, host, priority, subscriber, requestId, startedAt);
    }
    const request = new RunRequest<unknown>(
      this.#requestHost,
      subscriber,
      key,
      label,
      requestId,
      startedAt,
    );
    this.#countJoin(key, label, flight.meta, priority);
    request.flight = flight;
    flight.subscribe(request);
    return request;
  }

  /**
   * Counts a request that was not a counted hit (see {@link #serveCountedHit}); returns its
   * start time (0 when nothing records).
   */
  #countRequest(
    key: string,
    label: string | undefined,
    requestId: number,
    priority: Priority,
    listening: boolean,
  ): number {
    if (!this.#recording) return 0;
    const startedAt = this.#clock.now();
    this.#meter?.request();
    if (!listening) this.#changed();
    else this.#publish({ type: 'request', time: startedAt, key, label, requestId, priority });
    return startedAt;
  }

  /** Counts a request joining the execution of `key` in flight, and applies its priority. */
  #countJoin(key: string, label: string | undefined, meta: FlightMeta, priority: Priority): void {
    if (this.#recording) {
      this.#meter?.join();
      if (!this.#listening) this.#changed();
      else this.#publish({ type: 'joined', time: this.#clock.now(), key, label });
    }
    this.#join(key, label, meta, priority);
  }

  #run<T>(
    key: string,
    work: Work<T>,
    settings: ExecutionSettings,
    priority: Priority,
  ): Observable<T> {
    return new RunObservable<T>(this.#runs, key, work, settings, priority);
  }

  /**
   * Serves a request from `hit` synchronously while someone listens to events. Its start
   * (`startedAt`) is also the time of the hit, of its first value and of its end: the
   * values are handed over in this turn (time the consumer then spends on them is not the
   * cache's).
   */
  #serveHit<T>(
    key: string,
    label: string | undefined,
    requestId: number,
    startedAt: number,
    hit: CacheEntry,
    subscriber: Subscriber<T>,
  ): void {
    const values = hit.values;
    this.#recordHit(key, label, hit.tier ?? 0, startedAt);
    for (let i = 0; i < values.length; i++) {
      if (subscriber.closed) break;
      if (i === 0) this.#firstValue(key, label, requestId, startedAt, startedAt);
      subscriber.next(freezeValue(values[i]) as T);
    }
    this.#requestEnded(key, label, requestId, startedAt, 'completed', startedAt);
    subscriber.complete();
  }

  /**
   * Serves a request from `hit` synchronously when nobody wants event objects: with
   * metrics on, one meter call counts the request, the hit, its first value and its end,
   * the same counts {@link #serveHit} records. No latency is measured (all of it is 0), so
   * the only time needed is the hit's for the sliding window: one reading per synchronous
   * turn is precise enough for a window that slides in tenths of its length.
   */
  #serveCountedHit<T>(
    key: string,
    label: string | undefined,
    hit: CacheEntry,
    subscriber: Subscriber<T>,
  ): void {
    const values = hit.values;
    this.#countServedHit(key, label, hit);
    for (let i = 0; i < values.length; i++) {
      if (subscriber.closed) break;
      subscriber.next(freezeValue(values[i]) as T);
    }
    subscriber.complete();
  }

  /** Counts a hit served at once with no event objects (see {@link #serveCountedHit}). */
  #countServedHit(key: string, label: string | undefined, hit: CacheEntry): void {
    const meter = this.#meter;
    if (meter !== undefined) {
      meter.servedFromCache(hit.tier ?? 0, this.#turnClock.now(), hit.values.length > 0);
      this.#changed();
    }
    if (this.#unusedPrefetches.size > 0) this.#prefetchUsed(key, label);
  }

  /**
   * A run (or a loader's key, over a cache other than a `MemoryStore`) subscribed with a
   * plain observer: a cache hit nobody wants event objects of is served to the observer at
   * once, as {@link #serveCountedHit} serves a subscriber, with no subscription made.
   * Returns `false` otherwise (nothing called, nothing counted).
   */
  #serveRun(
    key: string,
    settings: ExecutionSettings,
    observer: Partial<Observer<unknown>>,
  ): boolean {
    if (!settings.useCache || this.#listening) return false;
    const hit = this.#peek(key);
    if (hit === undefined) {
      this.#lookedUpKey = key;
      this.#lookedUp = undefined;
      return false;
    }
    this.#serveObserver(key, settings.label, hit, observer);
    return true;
  }

  /**
   * A loader's key subscribed with a plain observer, its keys in flight held by `store`
   * (see {@link #requestKey}): a valid entry nobody wants event objects of is served at
   * once, as {@link #serveRun} serves one.
   */
  #serveKey(
    key: string,
    store: MemoryStore,
    label: string | undefined,
    observer: Partial<Observer<unknown>>,
  ): boolean {
    if (this.#listening) return false;
    const found = this.#lookUp(key, store);
    if (found !== undefined && !(found instanceof LoaderKey) && this.#valid(found as CacheEntry)) {
      this.#serveObserver(key, label, found as CacheEntry, observer);
      return true;
    }
    this.#lookedUpKey = key;
    this.#lookedUp = found;
    return false;
  }

  /** Serves `hit` to a plain observer at once and counts it (see {@link #serveRun}). */
  #serveObserver(
    key: string,
    label: string | undefined,
    hit: CacheEntry,
    observer: Partial<Observer<unknown>>,
  ): void {
    ++this.#requestIds;
    const values = hit.values;
    this.#countServedHit(key, label, hit);
    for (let i = 0; i < values.length; i++) nextTo(observer, freezeValue(values[i]));
    completeTo(observer);
  }

  /** `store`'s entry or reservation for `key`; a failing store is a miss, reported. */
  #lookUp(key: string, store: MemoryStore): CacheEntry | object | undefined {
    try {
      return store.entryOrReservation(key);
    } catch (error) {
      this.#recordCacheError(key, 'get', error);
      return undefined;
    }
  }

  /** Ends what {@link #serveRun} or {@link #serveKey} remembered of their lookup. */
  #forgetLookup(): void {
    this.#lookedUpKey = undefined;
    this.#lookedUp = undefined;
  }

  /**
   * One subscription of a run (`work` is the work) or of a loader's key (`work` is the
   * loader, which loads `key` in batches): a cache hit, a join, or a new flight.
   */
  #request<T>(
    key: string,
    work: Work<unknown> | LoaderHost,
    settings: ExecutionSettings,
    priority: Priority,
    subscriber: Subscriber<T>,
  ): TeardownLogic {
    const requestId = ++this.#requestIds;
    const label = settings.label;
    const listening = this.#listening;
    // #serveRun found no entry for `key` just now, when it made this subscription.
    const missed = key === this.#lookedUpKey;
    this.#forgetLookup();
    if (settings.useCache && !listening && !missed) {
      const hit = this.#peek(key);
      if (hit !== undefined) {
        this.#serveCountedHit(key, label, hit, subscriber);
        return;
      }
    }
    const startedAt = this.#countRequest(key, label, requestId, priority, listening);
    if (settings.useCache && listening) {
      const hit = this.#peek(key);
      if (hit !== undefined) {
        this.#serveHit(key, label, requestId, startedAt, hit, subscriber);
        return;
      }
    }

    let flight = this.#flights.get(key);
    if (flight === undefined && typeof work !== 'function' && this.#isLocal(settings)) {
      return this.#loadKey(
        key,
        work,
        priority,
        subscriber as Subscriber<unknown>,
        requestId,
        startedAt,
      );
    }
    const request = new RunRequest<T>(
      this.#requestHost,
      subscriber,
      key,
      label,
      requestId,
      startedAt,
    );

    if (flight !== undefined) {
      this.#countJoin(key, label, flight.meta, priority);
    } else {
      if (settings.useCache && this.#syncCache !== undefined) {
        this.#recordMiss(key, label, startedAt);
      }
      flight = this.#startFlight(key, work, settings, priority, false);
    }
    const joined = flight as unknown as SharedFlight<T, FlightMeta>;
    request.flight = joined;
    joined.subscribe(request);
    return request;
  }

  /**
   * Starts `key` in the background if it is neither cached nor in flight: background
   * lane, preemptible, kept alive until it lands in the cache or fails. A later `run`
   * of `key` joins it (promoting it to the caller's priority) or hits its cache entry.
   */
  prefetch<T>(key: string, work: Work<T>, options: PrefetchOptions = {}): void {
    assertKey(key);
    assertFunction('work', work);
    const settings = this.#settings(options);
    if (this.#peek(key) !== undefined || this.#flights.get(key) !== undefined) return;
    this.#record({ type: 'prefetch-issued', time: this.#clock.now(), key, label: settings.label });
    this.#startFlight(key, work as Work<unknown>, settings, 'background', true);
    this.#flights.keepAlive(key);
  }

  /**
   * Cache warming (the seed's "common workflows"): prefetches every entry that is neither
   * cached nor in flight, in the background lane, and resolves when all of them have
   * landed in the cache or failed. Never rejects; a warm-up preempted by real work counts
   * as failed.
   *
   * @example
   * ```ts
   * await engine.warm(popularIds.map((id) => ({ key: `user:${id}`, work: (signal) => fetchUser(id, signal) })));
   * ```
   */
  async warm(
    entries: Iterable<{ key: string; work: Work<unknown>; ttl?: number; label?: string }>,
  ): Promise<{ warmed: number; skipped: number; failed: number }> {
    const result = { warmed: 0, skipped: 0, failed: 0 };
    const landings: Promise<void>[] = [];
    for (const { key, work, ttl, label } of entries) {
      if (this.#peek(key) !== undefined || this.#flights.get(key) !== undefined) {
        result.skipped++;
        continue;
      }
      this.prefetch(key, work, { ttl, label });
      const flight = this.#flights.get(key);
      if (flight === undefined) {
        result.skipped++;
        continue;
      }
      landings.push(
        new Promise<void>((resolve) => {
          flight.subscribe({
            next: () => {},
            error: () => {
              result.failed++;
              resolve();
            },
            complete: () => {
              result.warmed++;
              resolve();
            },
          });
        }),
      );
    }
    await Promise.all(landings);
    return result;
  }

  /**
   * Removes `key`'s cached entry. An execution of `key` whose work already began finishes
   * for its subscribers but its now-stale result is not cached; one still queued (its
   * work not called yet) will read fresh data, so its result is cached. Store failures are reported as
   * `cache-error` events, never thrown.
   */
  async invalidate(key: string): Promise<void> {
    assertKey(key);
    const flight = this.#flights.get(key);
    // Work not begun yet (queued, or looking up an asynchronous store) reads fresh data.
    if (flight?.meta.began) flight.meta.stale = true;
    this.#landing.delete(key);
    this.#unusedPrefetches.delete(key);
    this.#record({ type: 'invalidated', time: this.#clock.now(), key, label: undefined });
    try {
      await this.#cache.delete(key);
    } catch (error) {
      this.#recordCacheError(key, 'delete', error);
    }
  }

  /** The current metrics snapshot (immutable). */
  metrics(): MetricsSnapshot {
    const aggregator = this.#aggregator;
    const meter = this.#meter;
    if (aggregator === undefined || meter === undefined) return EMPTY_METRICS;
    return meter.snapshot(aggregator.snapshot());
  }

  /**
   * Resolves once every cache write started so far has settled, and every cross-process
   * lease has been ended (see `coordinator`). Results are delivered before they are
   * written, so await this before a process exits, or its last results never reach a
   * shared tier (and other processes wait for its leases to expire). Never rejects.
   *
   * @example
   * ```ts
   * await lastValueFrom(jobs$.pipe(mergeMap((job) => engine.run(job.id, job.work))));
   * await engine.flush();
   * process.exit(0);
   * ```
   */
  flush(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#flushes.push(resolve));
  }

  /** How many keys are in flight (0 at quiescence). */
  get inFlight(): number {
    return this.#flights.size + this.#reservedKeys;
  }

  #settings(options: RunOptions | PrefetchOptions): ExecutionSettings {
    const ttl = options.ttl ?? this.#ttl;
    assertDuration('ttl', ttl);
    const useCache = (options as RunOptions).cache !== false;
    const expectedMs = (options as RunOptions).expectedMs;
    if (expectedMs !== undefined) assertDuration('expectedMs', expectedMs);
    return {
      label: options.label,
      ttl,
      useCache,
      expectedMs,
      direct: (options as RunOptions).slot === false,
    };
  }

  /**
   * A valid entry for `key` available without waiting: one still landing, else a
   * synchronous store's answer, else a tiered cache's first-tier hit (`peekSync`).
   */
  #peek(key: string): CacheEntry | undefined {
    if (this.#landing.size > 0) {
      const landing = this.#landing.get(key);
      if (landing !== undefined) {
        if (this.#valid(landing)) return landing;
        this.#landing.delete(key);
      }
    }
    try {
      const entry =
        this.#syncCache !== undefined ? this.#syncCache.getSync(key) : this.#cache.peekSync?.(key);
      return entry !== undefined && this.#valid(entry) ? entry : undefined;
    } catch (error) {
      this.#recordCacheError(key, 'get', error);
      return undefined;
    }
  }

  /** Whether `entry` has not expired (an entry for the session never reads the clock). */
  #valid(entry: CacheEntry): boolean {
    const expiresAt = entry.expiresAt;
    return expiresAt === Number.POSITIVE_INFINITY || expiresAt > this.#wall.now();
  }

  #join(key: string, label: string | undefined, meta: FlightMeta, priority: Priority): void {
    if (rank(priority) < rank(meta.priority)) meta.priority = priority;
    meta.control?.raise(meta.priority);
    if (meta.prefetch && !meta.prefetchUsed) {
      meta.prefetchUsed = true;
      this.#record({ type: 'prefetch-used', time: this.#clock.now(), key, label });
    }
  }

  /**
   * A loader's key that is neither cached nor in flight, when nothing has to be waited
   * for before loading it (see {@link #isLocal}): one {@link LoaderKey} is its flight,
   * batch entry and request. Its work (joining a batch) begins now: `startedAt` is read
   * here unless the request read it already.
   */
  #loadKey(
    key: string,
    host: LoaderHost,
    priority: Priority,
    subscriber: Subscriber<unknown>,
    requestId: number,
    startedAt: number,
  ): TeardownLogic {
    const settings = host.settings;
    const label = settings.label;
    const time = startedAt === 0 ? this.#clock.now() : startedAt;
    // The store missed in this same turn (`#request` peeked): no second lookup.
    let cached = false;
    if (settings.useCache) this.#recordMiss(key, label, time);
    else cached = this.#recording && this.#peek(key) !== undefined;
    const executionId = this.#executionStarted(key, label, false, time, cached);
    const slot = new LoaderKey(host, key, subscriber, requestId, time, executionId, priority);
    const store = host.store;
    if (store === undefined) {
      this.#flights.add(key, slot);
    } else {
      slot.ticket = store.reserve(key, slot);
      this.#reservedKeys++;
    }
    host.batcher.enqueue(slot);
    return slot;
  }

  /** Nothing to wait for before the work: no coordinator, no asynchronous lookup. */
  #isLocal(settings: ExecutionSettings): boolean {
    return this.#coordinator === undefined && (!settings.useCache || this.#syncCache !== undefined);
  }

  #startFlight(
    key: string,
    work: Work<unknown> | LoaderHost,
    settings: ExecutionSettings,
    priority: Priority,
    prefetch: boolean,
  ): SharedFlight<unknown, FlightMeta> {
    const batched = typeof work !== 'function';
    // Only an executor task can be raised (a loader's batch is the task).
    const control = batched || settings.direct ? undefined : new TaskControl();
    let source: FlightSource<unknown>;
    let meta: FlightMeta;
    if (!batched && this.#isLocal(settings)) {
      // Nothing to wait for before the work (no coordinator, no asynchronous lookup): the
      // lean local execution, which is its own metadata.
      const execution = new LocalExecution(
        this.#executionHost,
        key,
        work,
        settings,
        priority,
        prefetch,
        control,
      );
      source = execution;
      meta = execution;
    } else {
      meta = { control, priority, prefetch, prefetchUsed: false, began: false, stale: false };
      source = this.#coordinated(key, work, settings, meta);
    }
    return this.#flights.join(
      key,
      source,
      meta,
      prefetch
        ? (outcome) => {
            if (!meta.prefetchUsed && outcome !== 'completed') {
              this.#record({
                type: 'prefetch-wasted',
                time: this.#clock.now(),
                key,
                label: settings.label,
              });
            }
          }
        : undefined,
    );
  }

  /**
   * The full execution flow as a flight source. Like an Observable's teardown, the
   * execution's teardown also runs after it completed or failed (it releases the
   * coordinator's wait and lease).
   */
  #coordinated(
    key: string,
    work: Work<unknown> | LoaderHost,
    settings: ExecutionSettings,
    meta: FlightMeta,
  ): FlightSource<unknown> {
    let teardown: (() => void) | undefined;
    let finished = false;
    const finish = () => {
      finished = true;
      const run = teardown;
      teardown = undefined;
      run?.();
    };
    return {
      start: (flight) => {
        const sink: ExecutionSink = {
          get wanted() {
            return flight.wanted;
          },
          next: (value) => flight.next(value),
          error: (error) => {
            flight.error(error);
            finish();
          },
          complete: () => {
            flight.complete();
            finish();
          },
        };
        // A loader's key is loaded in a batch, as long as the flight is wanted.
        const run = typeof work === 'function' ? work : loaderWork(work.batcher, key, flight);
        const stop = this.#execution(key, run, settings, meta, sink);
        if (finished) stop();
        else teardown = stop;
      },
      stop: finish,
    };
  }

  /** The shared execution of one generation of `key`: lookup (async stores), then work. */
  #execution(
    key: string,
    work: Work<unknown>,
    settings: ExecutionSettings,
    meta: FlightMeta,
    subscriber: ExecutionSink,
  ): () => void {
    let closed = false;
    let task: Subscription | undefined;
    let waiting: AbortController | undefined;
    let lease: CoordinatorLease | undefined;
    let executionId = 0;
    let startedAt = 0;
    let running = false;
    const label = settings.label;
    const host = this.#executionHost;
    const ended = (outcome: 'completed' | 'failed' | 'cancelled') => {
      if (!running) return;
      running = false;
      host.ended(key, label, executionId, outcome, startedAt);
    };
    const begin = () => {
      meta.began = true;
      startedAt = this.#clock.now();
      running = true;
      executionId = host.started(key, label, meta.prefetch, startedAt);
    };
    const execute: Work<unknown> = (signal) => {
      if (!subscriber.wanted) return callAfterCheck(begin, work, signal);
      begin();
      return work(signal);
    };
    const replay = (entry: CacheEntry) => {
      for (const value of entry.values) {
        if (closed) return;
        subscriber.next(deepFreeze(value));
      }
      subscriber.complete();
    };
    /** Ends the lease (if any) exactly once. */
    const endLease = (end: (held: CoordinatorLease) => Promise<void>) => {
      const held = lease;
      lease = undefined;
      if (held !== undefined) this.#background(end(held));
    };
    const runWork = (granted: CoordinatorLease | undefined) => {
      lease = granted;
      const values: unknown[] = [];
      const task$ = settings.direct
        ? runDirect(execute)
        : this.executor.schedule(execute, {
            priority: meta.priority,
            label,
            preemptible: meta.prefetch,
            expectedMs: settings.expectedMs,
            control: meta.control,
          });
      task = task$.subscribe({
        next: (value) => {
          const frozen = deepFreeze(value);
          values.push(frozen);
          subscriber.next(frozen);
        },
        error: (error: unknown) => {
          ended('failed');
          endLease((held) => held.fail(error));
          subscriber.error(error);
        },
        complete: () => {
          const cost = this.#clock.now() - startedAt;
          ended('completed');
          const stored = this.#store(key, values, cost, settings, meta, lease !== undefined);
          if (lease !== undefined) {
            // Waiters read the result from the shared cache: wake them once it is there.
            const held = lease;
            lease = undefined;
            this.#background(stored.then((shared) => (shared ? held.complete() : held.release())));
          }
          subscriber.complete();
        },
      });
    };
    /** Asks the coordinator who executes `key`, and acts on its answer. */
    const coordinate = (coordinator: Coordinator, remoteMisses: number) => {
      waiting = new AbortController();
      const asked =
        remoteMisses > 0
          ? coordinator.acquire(key, waiting.signal, AFTER_MISS)
          : coordinator.acquire(key, waiting.signal);
      asked.then(
        (claim) => {
          if (closed) {
            if (claim.kind === 'lease') void claim.lease.release();
            return;
          }
          switch (claim.kind) {
            case 'lease':
              if (!claim.waited) {
                this.#recordCoordination(key, label, 'leased', undefined);
                return runWork(claim.lease);
              }
              // The holder may have stored its result just before this process took over.
              return void this.#lookup(key, label, false).then((entry) => {
                if (closed || entry !== undefined) void claim.lease.release();
                if (closed) return;
                if (entry !== undefined) {
                  this.#recordCoordination(key, label, 'remote-done', undefined);
                  return replay(entry);
                }
                this.#recordCoordination(key, label, 'took-over', undefined);
                runWork(claim.lease);
              });
            case 'done':
              return void this.#lookup(key, label, false).then((entry) => {
                if (closed) return;
                if (entry !== undefined) {
                  this.#recordCoordination(key, label, 'remote-done', undefined);
                  return replay(entry);
                }
                this.#recordCoordination(key, label, 'remote-missing', undefined);
                if (remoteMisses < MAX_REMOTE_MISSES) coordinate(coordinator, remoteMisses + 1);
                else runWork(undefined);
              });
            case 'failed':
              this.#recordCoordination(key, label, 'remote-failed', claim.error);
              return subscriber.error(claim.error);
            case 'unavailable':
              this.#recordCoordination(key, label, 'unavailable', claim.error);
              return runWork(undefined);
          }
        },
        (error: unknown) => {
          // Only an abort rejects, and it comes from this execution's teardown.
          if (!closed) subscriber.error(error);
        },
      );
    };
    const proceed = () => {
      const coordinator = this.#coordinator;
      if (coordinator !== undefined && settings.useCache && settings.ttl > 0) {
        coordinate(coordinator, 0);
      } else {
        runWork(undefined);
      }
    };

    if (settings.useCache && this.#syncCache === undefined) {
      // An asynchronous store is read inside the shared execution, so concurrent runs of
      // a key share one lookup as well as one execution.
      this.#lookup(key, label, !meta.prefetch).then((entry) => {
        if (closed) return;
        if (entry === undefined) return proceed();
        replay(entry);
      });
    } else {
      proceed();
    }
    return () => {
      closed = true;
      waiting?.abort(new AbortError());
      task?.unsubscribe();
      ended('cancelled');
      endLease((held) => held.release());
    };
  }

  /**
   * Reads `key` from an asynchronous store: a failure is a miss and an event. `request`
   * says whether a run (not a prefetch) asked, which is what hit and miss counts count.
   */
  async #lookup(
    key: string,
    label: string | undefined,
    request: boolean,
  ): Promise<CacheEntry | undefined> {
    let entry: CacheEntry | undefined;
    try {
      entry = await this.#cache.get(key);
    } catch (error) {
      this.#recordCacheError(key, 'get', error);
    }
    const valid = entry !== undefined && this.#valid(entry) ? entry : undefined;
    if (request) {
      if (valid !== undefined) this.#recordHit(key, label, valid.tier ?? 0);
      else this.#recordMiss(key, label);
    }
    return valid;
  }

  /**
   * Caches the result of a local execution: synchronously in a `MemoryStore` (nothing to
   * wait for), else as {@link #store} does. `ticket` is the store reservation `meta` (a
   * loader's key) holds for the result, or -1.
   */
  #storeLocal(
    key: string,
    values: readonly unknown[],
    cost: number,
    settings: ExecutionSettings,
    meta: FlightMeta,
    time: number,
    storedAt = 0,
    ticket = -1,
  ): void {
    const memory = this.#memory;
    if (memory === undefined) {
      void this.#store(key, values, cost, settings, meta, false);
      return;
    }
    if (!isCacheable(settings, meta)) return;
    // Measured here, the entry is stored as is (the store copies an entry to size it).
    // A failing `sizeOf` leaves the size to `setSync`, which fails the same way, reported.
    let size = 0;
    try {
      size = memory.measure(values, key);
    } catch {}
    const entry = this.#entry(values, cost, settings, meta, size, storedAt) as CacheEntry;
    this.#stored(key, entry, settings, meta, time);
    try {
      if (ticket < 0) memory.setSync(key, entry);
      else memory.fulfil(key, ticket, meta, entry);
    } catch (error) {
      this.#recordCacheError(key, 'set', error);
    }
  }

  /**
   * The entry to cache for a completed execution, if it is to be cached. `storedAt` is
   * the wall clock's now, when the caller already read it (else 0).
   */
  #entry(
    values: readonly unknown[],
    cost: number,
    settings: ExecutionSettings,
    meta: FlightMeta,
    size = 0,
    storedAt = 0,
  ): CacheEntry | undefined {
    if (!isCacheable(settings, meta)) return undefined;
    if (storedAt === 0) storedAt = this.#wall.now();
    const entry: CacheEntry = {
      values,
      storedAt,
      expiresAt: storedAt + settings.ttl,
      cost,
      size,
    };
    return entry;
  }

  /**
   * Reports an entry about to be written (and remembers an unused prefetch). `time` is
   * now, when the caller already read the clock (else 0).
   */
  #stored(
    key: string,
    entry: CacheEntry,
    settings: ExecutionSettings,
    meta: FlightMeta,
    time = 0,
  ): void {
    if (meta.prefetch && !meta.prefetchUsed) this.#rememberUnusedPrefetch(key, settings.label);
    if (!this.#recording) return;
    if (!this.#listening) {
      this.#changed();
      return;
    }
    this.#publish({
      type: 'cache-stored',
      time: time === 0 ? this.#clock.now() : time,
      key,
      label: settings.label,
      ttl: settings.ttl,
      expiresAt: entry.expiresAt,
    });
  }

  #store(
    key: string,
    values: readonly unknown[],
    cost: number,
    settings: ExecutionSettings,
    meta: FlightMeta,
    shared: boolean,
  ): Promise<boolean> {
    const entry = this.#entry(values, cost, settings, meta);
    if (entry === undefined) return Promise.resolve(false);
    this.#landing.set(key, entry);
    this.#stored(key, entry, settings, meta);
    let write: Promise<unknown>;
    try {
      // Under a lease, waiting processes read the result as soon as it is announced: wait
      // for the tiers they read (a TieredCache writes its lower tiers behind otherwise).
      const cache = this.#cache;
      write =
        shared && cache.setThrough !== undefined
          ? cache.setThrough(key, entry)
          : cache.set(key, entry);
    } catch (error) {
      write = Promise.reject(error);
    }
    this.#pending++;
    return write.then(
      (written) => {
        this.#landed(key, entry);
        this.#settled();
        return written !== false;
      },
      (error: unknown) => {
        this.#recordCacheError(key, 'set', error);
        this.#landed(key, entry);
        this.#settled();
        return false;
      },
    );
  }

  /** Tracks `work` (which never rejects) until it settles, for {@link Engine.flush}. */
  #background(work: Promise<void>): void {
    this.#pending++;
    void work.then(() => this.#settled());
  }

  #settled(): void {
    if (--this.#pending > 0) return;
    for (const resolve of this.#flushes.splice(0)) resolve();
  }

  #landed(key: string, entry: CacheEntry): void {
    if (this.#landing.get(key) === entry) this.#landing.delete(key);
  }

  #rememberUnusedPrefetch(key: string, label: string | undefined): void {
    this.#unusedPrefetches.delete(key);
    this.#unusedPrefetches.add(key);
    if (this.#unusedPrefetches.size > MAX_UNUSED_PREFETCHES) {
      const oldest = this.#unusedPrefetches.values().next().value as string;
      this.#unusedPrefetches.delete(oldest);
      this.#record({ type: 'prefetch-wasted', time: this.#clock.now(), key: oldest, label });
    }
  }

  /** A cache hit; `time` is now, when the caller already read the clock (else 0). */
  #recordHit(key: string, label: string | undefined, tier: number, time = 0): void {
    if (this.#recording) {
      if (time === 0) time = this.#clock.now();
      this.#meter?.hit(tier, time);
      if (!this.#listening) this.#changed();
      else this.#publish({ type: 'cache-hit', time, key, label, tier });
    }
    if (this.#unusedPrefetches.size > 0) this.#prefetchUsed(key, label);
  }

  /** Counts a use of `key`'s entry if an unused prefetch put it there. */
  #prefetchUsed(key: string, label: string | undefined): void {
    if (this.#unusedPrefetches.delete(key)) {
      this.#record({ type: 'prefetch-used', time: this.#clock.now(), key, label });
    }
  }

  /** A cache miss; `time` is now, when the caller already read the clock (else 0). */
  #recordMiss(key: string, label: string | undefined, time = 0): void {
    if (this.#recording) {
      if (time === 0) time = this.#clock.now();
      this.#meter?.miss(time);
      if (!this.#listening) this.#changed();
      else this.#publish({ type: 'cache-miss', time, key, label });
    }
    if (this.#unusedPrefetches.size > 0 && this.#unusedPrefetches.delete(key)) {
      // The prefetched entry expired or was evicted before anyone asked for it.
      this.#record({ type: 'prefetch-wasted', time: this.#clock.now(), key, label });
    }
  }

  #recordCoordination(
    key: string,
    label: string | undefined,
    outcome: CoordinationEvent['outcome'],
    error: unknown,
  ): void {
    this.#record({ type: 'coordination', time: this.#clock.now(), key, label, outcome, error });
  }

  #recordCacheError(key: string, operation: 'get' | 'set' | 'delete', error: unknown): void {
    this.#record({
      type: 'cache-error',
      time: this.#clock.now(),
      key,
      label: undefined,
      operation,
      tier: undefined,
      error,
    });
  }

  /** An execution's work was called at `time`; `cached`: a valid entry was there (redundant). */
  #executionStarted(
    key: string,
    label: string | undefined,
    prefetch: boolean,
    time: number,
    cached: boolean,
  ): number {
    const executionId = ++this.#executionIds;
    if (!this.#recording) return executionId;
    this.#meter?.executed(time, cached);
    if (!this.#listening) this.#changed();
    else this.#publish({ type: 'executed', time, key, label, executionId, prefetch });
    return executionId;
  }

  /** An execution ended; `time` is now, when the caller already read the clock (else 0). */
  #executionEnded(
    key: string,
    label: string | undefined,
    executionId: number,
    outcome: 'completed' | 'failed' | 'cancelled',
    startedAt: number,
    time: number,
  ): void {
    if (!this.#recording) return;
    this.#meter?.executionEnded(outcome);
    if (!this.#listening) {
      this.#changed();
      return;
    }
    if (time === 0) time = this.#clock.now();
    this.#publish({
      type: 'execution-ended',
      time,
      key,
      label,
      executionId,
      outcome,
      durationMs: time - startedAt,
    });
  }

  /** A request's first value; `time` is now, when the caller already read the clock (else 0). */
  #firstValue(
    key: string,
    label: string | undefined,
    requestId: number,
    startedAt: number,
    time: number,
  ): void {
    if (!this.#recording) return;
    if (time === 0) time = this.#clock.now();
    this.#meter?.firstValue(time - startedAt);
    if (!this.#listening) this.#changed();
    else this.#publish({ type: 'first-value', time, key, label, requestId });
  }

  #requestEnded(
    key: string,
    label: string | undefined,
    requestId: number,
    startedAt: number,
    outcome: 'completed' | 'failed' | 'cancelled',
    time = 0,
  ): void {
    if (!this.#recording) return;
    if (time === 0) time = this.#clock.now();
    if (outcome === 'completed') this.#meter?.completed(time - startedAt);
    if (!this.#listening) this.#changed();
    else this.#publish({ type: 'request-ended', time, key, label, requestId, outcome });
  }

  /** Whether anything counts or listens to events: when not, nothing is recorded. */
  get #recording(): boolean {
    return this.#listeners.recording;
  }

  /** Whether anyone wants event objects: listeners of `events$`, or of `alerts$`. */
  get #listening(): boolean {
    return this.#listeners.listening;
  }

  /** Records an event of the colder paths (prefetch, batches, coordination, errors). */
  #record(event: EngineEvent): void {
    const meter = this.#meter;
    if (meter !== undefined && !meter.add(event)) this.#aggregator?.add(event);
    if (this.#listening) this.#publish(event);
    else if (meter !== undefined) this.#changed();
  }

  /** Hands an engine event to the alert monitor and `events$`. */
  #publish(event: EngineEvent): void {
    this.#alert(event);
    if (this.#meter !== undefined) this.#changed();
    if (this.#listeners.events > 0) this.#events.next(event);
  }

  /** Feeds one executor event to the metrics, and to the alerts while anyone listens to them. */
  #observe(event: ExecutorEvent): void {
    this.#aggregator?.add(event);
    this.#alert(event);
    this.#changed();
  }

  #alert(event: ExecutionEvent): void {
    const aggregator = this.#aggregator;
    const meter = this.#meter;
    if (aggregator === undefined || meter === undefined || this.#listeners.alerts === 0) return;
    this.#alertMonitor?.observe(event, meter.window(aggregator.window()));
  }

  /** Tells `metrics$` the metrics changed (throttled there). */
  #changed(): void {
    if (this.#listeners.changes > 0) this.#changes.next();
  }
}

/**
 * Calls `work` at once, outside any executor slot, aborting its signal when unsubscribed
 * before it ended.
 */
function runDirect<T>(work: Work<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const controller = new AbortController();
    let ended = false;
    const subscription = from(work(controller.signal)).subscribe({
      next: (value) => subscriber.next(value),
      error: (error: unknown) => {
        ended = true;
        subscriber.error(error);
      },
      complete: () => {
        ended = true;
        subscriber.complete();
      },
    });
    return () => {
      subscription.unsubscribe();
      if (!ended) controller.abort(new AbortError());
    };
  });
}

/**
 * Subscribers of an engine's `events$`, `alerts$` and `metrics$`, and what they ask of
 * the engine, kept as plain fields (read on every request) and updated on every change.
 */
class Listeners {
  events = 0;
  alerts = 0;
  changes = 0;
  /** Whether the engine counts metrics (set once, when it makes its meter). */
  metered = false;
  /** Whether anything counts or listens to events: when not, nothing is recorded. */
  recording = false;
  /** Whether anyone wants event objects: listeners of `events$`, or of `alerts$` with metrics on. */
  listening = false;

  /** Recomputes `recording` and `listening` after a count or `metered` changed. */
  update(): void {
    this.recording = this.metered || this.events > 0;
    this.listening = this.events > 0 || (this.metered && this.alerts > 0);
  }
}

/**
 * `subject` as an Observable that counts its subscribers in `listeners[name]`, calling
 * `idle` when the last one leaves.
 */
function counted<T>(
  subject: Subject<T>,
  listeners: Listeners,
  name: 'events' | 'alerts' | 'changes',
  idle?: () => void,
): Observable<T> {
  return new Observable<T>((subscriber) => {
    listeners[name]++;
    listeners.update();
    const subscription = subject.subscribe(subscriber);
    return () => {
      subscription.unsubscribe();
      listeners[name]--;
      listeners.update();
      if (listeners[name] === 0) idle?.();
    };
  });
}

/** Where the full execution flow sends its output: the flight, and whether it is wanted. */
interface ExecutionSink extends FlightObserver<unknown> {
  readonly wanted: boolean;
}

/** A loader's key as work, for the full execution flow: adds the key to the batcher. */
function loaderWork(
  batcher: LoaderBatcher,
  key: string,
  flight: { readonly wanted: boolean },
): Work<unknown> {
  return () =>
    new Observable<unknown>((subscriber) => {
      const entry = batcher.add(key, {
        resolve: (value) => {
          subscriber.next(value);
          subscriber.complete();
        },
        reject: (error) => subscriber.error(error),
        get abandoned() {
          return !flight.wanted;
        },
      });
      return () => batcher.cancel(entry);
    });
}

/** A reservation of the engine's memory store, as a flight: the loader's keys in flight. */
function reservedKey(holder: object | undefined): LoaderKey | undefined {
  return holder instanceof LoaderKey ? holder : undefined;
}

/** Whether a completed execution's result is to be cached. */
function isCacheable(settings: ExecutionSettings, meta: FlightMeta): boolean {
  return settings.useCache && settings.ttl > 0 && !meta.stale;
}

/**
 * A store's own failure as the engine's `cache-error`, at `time` on the engine's clock. A
 * tier whose circuit breaker opens, or that is skipped while it is open, is a failed `get`
 * whose error is a {@link TierUnavailableError}.
 */
function toEngineEvent(event: CacheStoreEvent, time: number): ExecutionEvent {
  return {
    type: 'cache-error',
    time,
    key: event.key,
    label: undefined,
    operation: event.type === 'tier-error' ? event.operation : 'get',
    tier: event.tier,
    error:
      event.type === 'tier-error'
        ? event.error
        : new TierUnavailableError(event.tier, event.type === 'tier-opened' ? 'opened' : 'skipped'),
  };
}

function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') {
    throw new TypeError(`key must be a string; received ${describe(key)}`);
  }
}

/**
 * The `executor` option as an executor: the one given (an object with `schedule` or
 * `stats` must be a whole {@link Executor}), or a new one made with the options given.
 */
function executorOf(executor: Executor | ExecutorOptions | undefined): Executor {
  if (executor === undefined) return createExecutor();
  if (typeof executor !== 'object' || executor === null || Array.isArray(executor)) {
    throw new TypeError(
      `executor must be an Executor (see createExecutor) or options for one; received ${describe(executor)}`,
    );
  }
  if ('schedule' in executor || 'stats' in executor) {
    assertExecutor('executor', executor);
    return executor as Executor;
  }
  return createExecutor(executor);
}
