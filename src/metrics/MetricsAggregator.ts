import { produce } from 'immer';
import type { ExecutionEvent } from './events.js';
import type { MetricsSnapshot } from './types.js';

const ratio = (part: number, whole: number): number => (whole === 0 ? 0 : part / whole);

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
  prefetch: { issued: 0, used: 0, wasted: 0 },
  batches: { count: 0, meanSize: 0, meanFill: 0 },
};

/**
 * Folds {@link ExecutionEvent}s into {@link MetricsSnapshot}s. `add` is O(1) and keeps
 * mutable counters; `snapshot` publishes them as an immutable object with immer
 * `produce`, which returns the previous snapshot when nothing changed.
 *
 * Redundancy follows DESIGN.md: an execution is redundant when its key already had an
 * execution in flight, or a cache entry stored (and not invalidated) whose TTL had not
 * run out, judged on the events' own clock.
 *
 * @example
 * ```ts
 * const aggregator = new MetricsAggregator();
 * events.forEach((e) => aggregator.add(e));
 * aggregator.snapshot().redundancyRate; // 0
 * ```
 */
export class MetricsAggregator {
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
  /** Executions in flight per key. */
  readonly #inFlight = new Map<string, number>();
  /** Per key, the event time until which its cached entry is valid. */
  readonly #validUntil = new Map<string, number>();

  /** Counts one event. */
  add(event: ExecutionEvent): void {
    switch (event.type) {
      case 'request':
        this.#requests++;
        break;
      case 'cache-hit':
        this.#hits++;
        break;
      case 'cache-miss':
        this.#misses++;
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
        if (running > 0 || (validUntil !== undefined && validUntil > event.time)) this.#redundant++;
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
      case 'cache-stored':
        this.#validUntil.set(event.key, event.time + event.ttl);
        break;
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
        break;
    }
  }

  /** The current metrics as an immutable snapshot. */
  snapshot(): MetricsSnapshot {
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
      draft.prefetch.issued = this.#prefetchIssued;
      draft.prefetch.used = this.#prefetchUsed;
      draft.prefetch.wasted = this.#prefetchWasted;
      draft.batches.count = this.#batches;
      draft.batches.meanSize = ratio(this.#batchedValues, this.#batches);
      draft.batches.meanFill = ratio(this.#fillSum, this.#boundedBatches);
    });
    return this.#last;
  }
}
