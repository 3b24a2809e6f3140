import { produce } from 'immer';
import type { EngineEvent } from '../metrics/events.js';
import { LatencySketch } from '../metrics/LatencySketch.js';
import {
  SlidingCounters,
  WINDOW_FIELD,
  type WindowCounts,
  type WindowField,
} from '../metrics/SlidingCounters.js';
import type { MetricsSnapshot, QuantileSummary } from '../metrics/types.js';

const ratio = (part: number, whole: number): number => (whole === 0 ? 0 : part / whole);

/**
 * The engine's own metrics (requests, cache, sharing, executions, latency, prefetch,
 * batches) counted with plain counters, so a request costs no event object unless
 * someone listens to `events$`. The definitions are those of `MetricsAggregator`
 * (DESIGN.md), which still counts the executor's tasks; {@link snapshot} lays these
 * counts over its snapshot.
 *
 * @example
 * ```ts
 * const meter = new EngineMeter(60_000);
 * meter.request();
 * meter.hit(0, clock.now());
 * meter.snapshot(aggregator.snapshot()).cacheHitRate; // 1
 * ```
 */
export class EngineMeter {
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
  readonly #tierHits: number[] = [];
  readonly #firstValue = new LatencySketch();
  readonly #completion = new LatencySketch();
  readonly #window: SlidingCounters;
  #lastTime = 0;
  /**
   * Hits served at once from tier 0 at `#servedAt` (see {@link servedFromCache}) not yet
   * added to the counts above: while the turn's time stays the same, each costs one
   * increment. They are added, at the time they happened, before anything else is counted
   * in the window and before anything reads the counts, so nothing tells them apart from
   * hits counted one by one.
   */
  #served = 0;
  /** How many of `#served` had values (each had its first value then). */
  #servedWithValues = 0;
  #servedAt = 0;
  /** Bumped on every change, so an unchanged snapshot is returned as is. */
  #version = 0;
  #snapshotVersion = -1;
  #snapshotBase: MetricsSnapshot | undefined;
  #snapshot: MetricsSnapshot | undefined;

  /** @param windowMs Length (ms) of the sliding window behind {@link window}. */
  constructor(windowMs: number) {
    this.#window = new SlidingCounters(windowMs);
  }

  /** A run was subscribed. */
  request(): void {
    this.#requests++;
    this.#version++;
  }

  /** A request received its first value `ms` after it was made. */
  firstValue(ms: number): void {
    this.#firstValue.record(ms);
    this.#version++;
  }

  /** A request completed `ms` after it was made. */
  completed(ms: number): void {
    this.#completion.record(ms);
    this.#version++;
  }

  /**
   * A request served synchronously from cache tier `tier` at `time`: the request, the
   * hit, its first value (when `withValues`) and its completion, all at `time`. Counts
   * the same as `request()`, `hit(tier, time)`, `firstValue(0)` and `completed(0)`; hits
   * from tier 0 in one turn (one `time`) are added up first and counted together.
   */
  servedFromCache(tier: number, time: number, withValues: boolean): void {
    if (tier !== 0) {
      this.#countServed(tier, time, 1, withValues ? 1 : 0);
      return;
    }
    if (time !== this.#servedAt) {
      this.#settleServed();
      this.#servedAt = time;
    }
    this.#served++;
    if (withValues) this.#servedWithValues++;
  }

  /** A run was served from cache tier `tier` at `time`. */
  hit(tier: number, time: number): void {
    this.#countHits(tier, time, 1);
  }

  /** A run missed the cache at `time`. */
  miss(time: number): void {
    this.#misses++;
    this.#add(WINDOW_FIELD.misses, time);
  }

  /** A run joined an execution in flight. */
  join(): void {
    this.#joins++;
    this.#version++;
  }

  /**
   * The work of a key was called at `time`; `cached` says whether the key had a valid
   * cached entry then, which makes the execution redundant. (An execution of a key
   * already in flight, the other half of the definition, cannot happen here: the
   * engine's single-flight registry holds a key until its execution ended.)
   */
  executed(time: number, cached: boolean): void {
    this.#executions++;
    this.#add(WINDOW_FIELD.executions, time);
    if (!cached) return;
    this.#redundant++;
    this.#add(WINDOW_FIELD.redundant, time);
  }

  /** An execution ended. */
  executionEnded(outcome: 'completed' | 'failed' | 'cancelled'): void {
    if (outcome === 'failed') this.#failures++;
    else if (outcome === 'cancelled') this.#cancellations++;
    this.#version++;
  }

  /**
   * Counts an engine event that has no method of its own (invalidation, prefetch,
   * batches). Returns false for events this meter does not count.
   */
  add(event: EngineEvent): boolean {
    switch (event.type) {
      case 'invalidated':
        return true;
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
        return false;
    }
    this.#version++;
    return true;
  }

  /** `base`'s window (tasks) with this meter's counts (executions, hits), for alerts. */
  window(base: WindowCounts): WindowCounts {
    this.#settleServed();
    const own = this.#window.totals(this.#lastTime);
    return {
      ended: base.ended,
      overlapped: base.overlapped,
      executions: own.executions,
      redundant: own.redundant,
      hits: own.hits,
      misses: own.misses,
    };
  }

  /** `base` (the aggregator's snapshot) with this meter's counts; unchanged inputs give the same object. */
  snapshot(base: MetricsSnapshot): MetricsSnapshot {
    this.#settleServed();
    if (base === this.#snapshotBase && this.#version === this.#snapshotVersion) {
      return this.#snapshot as MetricsSnapshot;
    }
    const hits = this.#hits;
    const lookups = hits + this.#misses;
    const snapshot = produce(base, (draft) => {
      draft.requests = this.#requests;
      draft.cacheHits = hits;
      draft.cacheMisses = this.#misses;
      draft.joins = this.#joins;
      draft.executions = this.#executions;
      draft.redundantExecutions = this.#redundant;
      draft.failures = this.#failures;
      draft.cancellations = this.#cancellations;
      draft.cacheHitRate = ratio(hits, lookups);
      draft.dedupeRate = ratio(this.#joins, this.#requests);
      draft.redundancyRate = ratio(this.#redundant, this.#executions);
      assignQuantiles(draft.latency.firstValue, this.#firstValue);
      assignQuantiles(draft.latency.completion, this.#completion);
      draft.tiers = Array.from(this.#tierHits, (tierHits = 0) => ({
        hits: tierHits,
        hitRate: ratio(tierHits, lookups),
      }));
      draft.prefetch.issued = this.#prefetchIssued;
      draft.prefetch.used = this.#prefetchUsed;
      draft.prefetch.wasted = this.#prefetchWasted;
      draft.prefetch.precision = ratio(this.#prefetchUsed, this.#prefetchIssued);
      draft.batches.count = this.#batches;
      draft.batches.meanSize = ratio(this.#batchedValues, this.#batches);
      draft.batches.meanFill = ratio(this.#fillSum, this.#boundedBatches);
    });
    this.#snapshotBase = base;
    this.#snapshotVersion = this.#version;
    this.#snapshot = snapshot;
    return snapshot;
  }

  #add(field: WindowField, time: number, count = 1): void {
    if (this.#served > 0) this.#settleServed();
    if (time > this.#lastTime) this.#lastTime = time;
    this.#window.add(field, time, count);
    this.#version++;
  }

  /** Counts the hits served at once that {@link servedFromCache} held back. */
  #settleServed(): void {
    const served = this.#served;
    if (served === 0) return;
    const withValues = this.#servedWithValues;
    this.#served = 0;
    this.#servedWithValues = 0;
    this.#countServed(0, this.#servedAt, served, withValues);
  }

  /** `count` requests served from tier `tier` at `time`, `withValues` of them with values. */
  #countServed(tier: number, time: number, count: number, withValues: number): void {
    this.#requests += count;
    this.#firstValue.recordMany(0, withValues);
    this.#completion.recordMany(0, count);
    this.#countHits(tier, time, count);
  }

  /** `count` hits from tier `tier` at `time`. */
  #countHits(tier: number, time: number, count: number): void {
    this.#hits += count;
    this.#tierHits[tier] = (this.#tierHits[tier] ?? 0) + count;
    this.#add(WINDOW_FIELD.hits, time, count);
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
