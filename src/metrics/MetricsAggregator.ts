import { produce } from 'immer';
import { assertCount, assertPositiveDuration } from '../executor/validate.js';
import { Float64Queue } from '../util/Float64Queue.js';
import { NumberSet } from '../util/NumberSet.js';
import type { ExecutionEvent } from './events.js';
import { LatencySketch } from './LatencySketch.js';
import { SlidingCounters, WINDOW_FIELD, type WindowCounts } from './SlidingCounters.js';
import type { MetricsSnapshot, QuantileSummary } from './types.js';

const ratio = (part: number, whole: number): number => (whole === 0 ? 0 : part / whole);

/** Indices in `MetricsAggregator#times`: the latest event's time (NaN before the first), then the integrals. */
const LAST = 0;
const BUSY_MS = 1;
const ACTIVE_MS = 2;
const CAPACITY_MS = 3;

const EMPTY_QUANTILES: QuantileSummary = { count: 0, p50: 0, p95: 0, p99: 0, max: 0 };

/** The snapshot of an engine that did nothing yet. */
export const EMPTY_METRICS: MetricsSnapshot = {
  requests: 0,
  cacheHits: 0,
  cacheMisses: 0,
  joins: 0,
  executions: 0,
  redundantExecutions: 0,
  failures: 0,
  cancellations: 0,
  cacheHitRate: 0,
  dedupeRate: 0,
  redundancyRate: 0,
  tasks: { started: 0, completed: 0, failed: 0, cancelled: 0, preempted: 0, overlapped: 0 },
  parallelizationRatio: 0,
  utilization: 0,
  speedup: 0,
  activeMs: 0,
  busyMs: 0,
  latency: { firstValue: EMPTY_QUANTILES, completion: EMPTY_QUANTILES },
  handoff: EMPTY_QUANTILES,
  tiers: [],
  prefetch: { issued: 0, used: 0, wasted: 0, precision: 0 },
  batches: { count: 0, meanSize: 0, meanFill: 0 },
  shortCircuit: { aborted: 0, skipped: 0 },
};

/**
 * Options of {@link MetricsAggregator}.
 *
 * @example
 * ```ts
 * new MetricsAggregator({ concurrency: executor.concurrency });
 * ```
 */
export interface MetricsAggregatorOptions {
  /**
   * The executor's slot count, for `utilization`: an integer >= 1, or `Infinity`. Default
   * `Infinity` (then: peak running).
   */
  concurrency?: number;
  /**
   * Length (ms) of the sliding window behind {@link MetricsAggregator.window}: a number
   * > 0, or `Infinity` (the whole session). Default 60,000.
   */
  windowMs?: number;
  /**
   * How many keys' cache validity (from `cache-stored` events) are remembered for the
   * redundancy count: an integer >= 1, or `Infinity`. The events tell nothing of
   * evictions, so without a bound a long session with a key space of millions would keep
   * one entry per key forever. Past the bound the key stored longest ago is forgotten, as
   * if its entry had been evicted: a later execution of it is not counted as redundant.
   * Default 100,000.
   */
  maxTrackedKeys?: number;
}

/**
 * Folds {@link ExecutionEvent}s into {@link MetricsSnapshot}s with the definitions of
 * DESIGN.md. `add` is O(1) amortised and keeps mutable counters (and bounded-memory
 * latency sketches); `snapshot` publishes them as an immutable object with immer
 * `produce`, which returns the previous snapshot when nothing changed.
 *
 * Events must arrive in time order (as an engine emits them). Redundancy: an execution
 * is redundant when its key already had an execution in flight, or a stored (and not
 * invalidated) cache entry whose TTL had not run out, on the events' own clock.
 *
 * @example
 * ```ts
 * const aggregator = new MetricsAggregator({ concurrency: 4 });
 * engine.events$.subscribe((e) => aggregator.add(e));
 * aggregator.snapshot().parallelizationRatio;
 * ```
 */
export class MetricsAggregator {
  readonly #concurrency: number;
  /** Whether `#concurrency` is finite (checked once, not per event). */
  readonly #bounded: boolean;
  #last: MetricsSnapshot = EMPTY_METRICS;
  #requests = 0;
  #hits = 0;
  #misses = 0;
  #joins = 0;
  #executions = 0;
  #redundant = 0;
  #failures = 0;
  #cancellations = 0;
  #prefetchIssued = 0;
  #prefetchUsed = 0;
  #prefetchWasted = 0;
  #batches = 0;
  #batchedValues = 0;
  #boundedBatches = 0;
  #fillSum = 0;
  #aborted = 0;
  #skipped = 0;
  readonly #tierHits: number[] = [];
  /** Executions in flight per key. */
  readonly #inFlight = new Map<string, number>();
  /**
   * Per key, the event time until which its cached entry is valid, in the order the
   * entries were stored (a Map iterates in insertion order), at most `#maxTrackedKeys`.
   */
  readonly #validUntil = new Map<string, number>();
  readonly #maxTrackedKeys: number;

  // Executor timing: plain counters, so counting an event allocates nothing.
  #started = 0;
  #completed = 0;
  #failed = 0;
  #cancelled = 0;
  #preempted = 0;
  #overlapped = 0;
  /** Ids of the running tasks (a `NumberSet`: a `Set` reallocates as ids churn). */
  readonly #running = new NumberSet();
  /**
   * The running task that has not overlapped another task so far, or NaN. There is at
   * most one: as soon as two tasks run, both have overlapped. So a task ends having
   * overlapped another unless it is this one.
   */
  #alone = Number.NaN;
  #queued = 0;
  #peakRunning = 0;
  /**
   * The time integrals, at the indices below, in a typed array: a double in a field is a
   * boxed heap number, so updating four of them per event cost more than the rest of
   * `add`; here each update is one store.
   */
  readonly #times = new Float64Array([Number.NaN, 0, 0, 0]);
  /** Release times of slots freed while work was queued, waiting for the next start. */
  readonly #releases = new Float64Queue();
  readonly #handoff = new LatencySketch();

  // Request latency.
  readonly #requestStart = new Map<number, number>();
  readonly #firstValue = new LatencySketch();
  readonly #completion = new LatencySketch();

  readonly #window: SlidingCounters;

  constructor(options: MetricsAggregatorOptions = {}) {
    const concurrency = options.concurrency ?? Number.POSITIVE_INFINITY;
    assertCount('concurrency', concurrency, 1);
    const windowMs = options.windowMs ?? 60_000;
    assertPositiveDuration('windowMs', windowMs);
    this.#concurrency = concurrency;
    this.#bounded = Number.isFinite(concurrency);
    this.#window = new SlidingCounters(windowMs);
    const maxTrackedKeys = options.maxTrackedKeys ?? 100_000;
    assertCount('maxTrackedKeys', maxTrackedKeys, 1);
    this.#maxTrackedKeys = maxTrackedKeys;
  }

  /** Counts over the last `windowMs` (as of the latest event), for alerts. */
  window(): WindowCounts {
    const time = this.#times[LAST] as number;
    return this.#window.totals(Number.isNaN(time) ? 0 : time);
  }

  /**
   * Counts one event. The executor's events of every task (queued, started, completed)
   * are counted from their fields by small methods, so `add` stays small enough to be
   * inlined into a listener: then an event built only to be counted here never needs to
   * exist (V8 elides its allocation). Every other event goes to `#addOther`.
   */
  add(event: ExecutionEvent): void {
    const type = event.type;
    if (type === 'started') this.#taskStarted(event.taskId, event.time);
    else if (type === 'completed') this.#taskCompleted(event.taskId, event.time);
    else if (type === 'queued') this.#taskQueued(event.time);
    else this.#addOther(event);
  }

  /** Counts a task entering a lane. */
  #taskQueued(time: number): void {
    this.#advance(time);
    this.#queued++;
  }

  /** Counts a running task's completion. */
  #taskCompleted(taskId: number, time: number): void {
    this.#advance(time);
    this.#ended(taskId, time, 'completed');
  }

  /** Counts a task's start: running, overlap, peak and hand-off. */
  #taskStarted(taskId: number, time: number): void {
    this.#advance(time);
    this.#queued--;
    this.#started++;
    const running = this.#running;
    // Alone only if nothing else runs; otherwise it and every running task overlapped.
    this.#alone = running.size === 0 ? taskId : Number.NaN;
    running.add(taskId);
    if (running.size > this.#peakRunning) this.#peakRunning = running.size;
    const released = this.#releases.shift();
    if (released !== undefined) this.#handoff.record(time - released);
  }

  /** Counts the events `add` does not count itself. */
  #addOther(event: ExecutionEvent): void {
    this.#advance(event.time);
    switch (event.type) {
      case 'failed':
      case 'preempted':
        this.#ended(event.taskId, event.time, event.type);
        break;
      case 'cancelled':
        if (event.slot !== undefined) this.#ended(event.taskId, event.time, 'cancelled');
        else if (--this.#queued === 0) this.#releases.clear();
        break;
      case 'request':
        this.#requests++;
        this.#requestStart.set(event.requestId, event.time);
        break;
      case 'first-value': {
        const start = this.#requestStart.get(event.requestId);
        if (start !== undefined) this.#firstValue.record(event.time - start);
        break;
      }
      case 'request-ended': {
        const start = this.#requestStart.get(event.requestId);
        this.#requestStart.delete(event.requestId);
        if (start !== undefined && event.outcome === 'completed') {
          this.#completion.record(event.time - start);
        }
        break;
      }
      case 'cache-hit':
        this.#hits++;
        this.#window.add(WINDOW_FIELD.hits, event.time);
        this.#tierHits[event.tier] = (this.#tierHits[event.tier] ?? 0) + 1;
        break;
      case 'cache-miss':
        this.#misses++;
        this.#window.add(WINDOW_FIELD.misses, event.time);
        break;
      case 'joined':
        this.#joins++;
        break;
      case 'executed': {
        this.#executions++;
        const running = this.#inFlight.get(event.key) ?? 0;
        const validUntil = this.#validUntil.get(event.key);
        if (validUntil !== undefined && validUntil <= event.time)
          this.#validUntil.delete(event.key);
        this.#window.add(WINDOW_FIELD.executions, event.time);
        if (running > 0 || (validUntil !== undefined && validUntil > event.time)) {
          this.#redundant++;
          this.#window.add(WINDOW_FIELD.redundant, event.time);
        }
        this.#inFlight.set(event.key, running + 1);
        break;
      }
      case 'execution-ended': {
        const running = (this.#inFlight.get(event.key) ?? 1) - 1;
        if (running > 0) this.#inFlight.set(event.key, running);
        else this.#inFlight.delete(event.key);
        if (event.outcome === 'failed') this.#failures++;
        else if (event.outcome === 'cancelled') this.#cancellations++;
        break;
      }
      case 'cache-stored': {
        const validUntil = this.#validUntil;
        validUntil.delete(event.key); // stored again: now the newest
        validUntil.set(event.key, event.time + event.ttl);
        if (validUntil.size > this.#maxTrackedKeys) {
          validUntil.delete(validUntil.keys().next().value as string);
        }
        break;
      }
      case 'invalidated':
        this.#validUntil.delete(event.key);
        break;
      case 'prefetch-issued':
        this.#prefetchIssued++;
        break;
      case 'prefetch-used':
        this.#prefetchUsed++;
        break;
      case 'prefetch-wasted':
        this.#prefetchWasted++;
        break;
      case 'batch-dispatched':
        this.#batches++;
        this.#batchedValues += event.size;
        if (Number.isFinite(event.capacity)) {
          this.#boundedBatches++;
          this.#fillSum += event.size / event.capacity;
        }
        break;
      default:
        this.#other(event);
        break;
    }
  }

  /** The current metrics as an immutable snapshot. */
  snapshot(): MetricsSnapshot {
    const capacityMs = this.#bounded
      ? (this.#times[CAPACITY_MS] as number)
      : (this.#times[ACTIVE_MS] as number) * this.#peakRunning;
    const busyMs = this.#times[BUSY_MS] as number;
    const activeMs = this.#times[ACTIVE_MS] as number;
    this.#last = produce(this.#last, (draft) => {
      draft.requests = this.#requests;
      draft.cacheHits = this.#hits;
      draft.cacheMisses = this.#misses;
      draft.joins = this.#joins;
      draft.executions = this.#executions;
      draft.redundantExecutions = this.#redundant;
      draft.failures = this.#failures;
      draft.cancellations = this.#cancellations;
      draft.cacheHitRate = ratio(this.#hits, this.#hits + this.#misses);
      draft.dedupeRate = ratio(this.#joins, this.#requests);
      draft.redundancyRate = ratio(this.#redundant, this.#executions);
      Object.assign(draft.tasks, {
        started: this.#started,
        completed: this.#completed,
        failed: this.#failed,
        cancelled: this.#cancelled,
        preempted: this.#preempted,
        overlapped: this.#overlapped,
      });
      const ended = this.#completed + this.#failed + this.#cancelled + this.#preempted;
      draft.parallelizationRatio = ratio(this.#overlapped, ended);
      draft.utilization = ratio(busyMs, capacityMs);
      draft.speedup = ratio(busyMs, activeMs);
      draft.activeMs = activeMs;
      draft.busyMs = busyMs;
      assignQuantiles(draft.latency.firstValue, this.#firstValue);
      assignQuantiles(draft.latency.completion, this.#completion);
      assignQuantiles(draft.handoff, this.#handoff);
      const lookups = this.#hits + this.#misses;
      for (let tier = 0; tier < this.#tierHits.length; tier++) {
        const hits = this.#tierHits[tier] ?? 0;
        const current = draft.tiers[tier];
        const hitRate = ratio(hits, lookups);
        if (current === undefined) draft.tiers[tier] = { hits, hitRate };
        else if (current.hits !== hits || current.hitRate !== hitRate) {
          current.hits = hits;
          current.hitRate = hitRate;
        }
      }
      draft.prefetch.issued = this.#prefetchIssued;
      draft.prefetch.used = this.#prefetchUsed;
      draft.prefetch.wasted = this.#prefetchWasted;
      draft.prefetch.precision = ratio(this.#prefetchUsed, this.#prefetchIssued);
      draft.batches.count = this.#batches;
      draft.batches.meanSize = ratio(this.#batchedValues, this.#batches);
      draft.batches.meanFill = ratio(this.#fillSum, this.#boundedBatches);
      draft.shortCircuit.aborted = this.#aborted;
      draft.shortCircuit.skipped = this.#skipped;
    });
    return this.#last;
  }

  /** Events that other modules add to the union (short-circuit counts), read by shape. */
  #other(event: ExecutionEvent): void {
    const record = event as { type: string; aborted?: unknown; skipped?: unknown };
    if (record.type !== 'short-circuit') return;
    if (typeof record.aborted === 'number') this.#aborted += record.aborted;
    if (typeof record.skipped === 'number') this.#skipped += record.skipped;
  }

  #ended(
    taskId: number,
    time: number,
    outcome: 'completed' | 'failed' | 'cancelled' | 'preempted',
  ): void {
    if (!this.#running.delete(taskId)) return;
    if (outcome === 'completed') this.#completed++;
    else if (outcome === 'failed') this.#failed++;
    else if (outcome === 'cancelled') this.#cancelled++;
    else this.#preempted++;
    this.#window.add(WINDOW_FIELD.ended, time);
    if (taskId === this.#alone) this.#alone = Number.NaN;
    else {
      this.#overlapped++;
      this.#window.add(WINDOW_FIELD.overlapped, time);
    }
    if (this.#queued > 0) this.#releases.push(time);
  }

  /** Integrates busy and active time up to `time`. */
  #advance(time: number): void {
    const times = this.#times;
    const last = times[LAST] as number;
    times[LAST] = time;
    // Also false for the first event (last is NaN).
    if (!(time > last)) return;
    const dt = time - last;
    const running = this.#running.size;
    times[BUSY_MS] = (times[BUSY_MS] as number) + running * dt;
    if (running > 0 || this.#queued > 0) {
      times[ACTIVE_MS] = (times[ACTIVE_MS] as number) + dt;
      if (this.#bounded)
        times[CAPACITY_MS] = (times[CAPACITY_MS] as number) + this.#concurrency * dt;
    }
  }
}

function assignQuantiles(target: QuantileSummary, sketch: LatencySketch): void {
  if (target.count === sketch.count) return;
  const mutable = target as { -readonly [K in keyof QuantileSummary]: number };
  mutable.count = sketch.count;
  mutable.p50 = sketch.quantile(0.5);
  mutable.p95 = sketch.quantile(0.95);
  mutable.p99 = sketch.quantile(0.99);
  mutable.max = sketch.max;
}
