import {
  assertCount,
  assertFunction,
  assertObject,
  assertRatio,
  describe,
} from '../executor/validate.js';
import type { ExecutionEvent } from './events.js';
import { LatencySketch } from './LatencySketch.js';
import type { WindowCounts } from './SlidingCounters.js';

/**
 * The kinds of alert, after the seed's "performance alerts".
 *
 * @example
 * ```ts
 * const kind: AlertKind = 'high-redundancy';
 * ```
 */
export type AlertKind =
  | 'slow-execution'
  | 'low-parallelization'
  | 'high-redundancy'
  | 'low-cache-hit-rate';

/**
 * A threshold crossed (`firing`) or crossed back (`resolved`).
 *
 * @example
 * ```ts
 * engine.alerts$.subscribe((a) => console.warn(`${a.kind} ${a.state}: ${a.message}`));
 * ```
 */
export interface Alert {
  readonly kind: AlertKind;
  readonly state: 'firing' | 'resolved';
  /** The measured value: a ratio in [0, 1], or a duration in ms for `slow-execution`. */
  readonly value: number;
  /** The threshold it was compared with. */
  readonly threshold: number;
  /** The task label, for `slow-execution`. */
  readonly label: string | undefined;
  readonly time: number;
  readonly message: string;
}

/**
 * Alert thresholds; defaults from the seed.
 *
 * @example
 * ```ts
 * createEngine({ alerts: { minParallelization: 0.6, windowMs: 30_000 } });
 * ```
 */
export interface AlertThresholds {
  /**
   * Window (ms) over which ratios are judged: a number > 0, or `Infinity` (the whole
   * session). Default 60,000. Read by the engine, which sizes its metrics window with it;
   * an `AlertMonitor` used on its own judges the window it is given.
   */
  windowMs?: number;
  /**
   * Ratios are judged only once the window holds this many samples (tasks ended, executions,
   * cache lookups); until then an alert keeps its state, firing or not. Default 20.
   */
  minSamples?: number;
  /** `low-parallelization` below this ratio (seed: 50%). Default 0.5. */
  minParallelization?: number;
  /** `high-redundancy` above this ratio (seed: 10%). Default 0.1. */
  maxRedundancy?: number;
  /** `low-cache-hit-rate` below this ratio (seed target: 70%). Default 0.7. */
  minCacheHitRate?: number;
  /**
   * `slow-execution` when a task takes longer than its `expectedMs`, or, without one, than
   * this multiple of its label's observed p95 (once the label has `minSamples` runs): a
   * number > 0, or `Infinity` to judge only tasks that have an `expectedMs`. Default 3.
   * Only completed tasks are judged and learned from; each label (unlabelled tasks being
   * one more) fires and resolves on its own.
   */
  slowFactor?: number;
}

interface Resolved {
  readonly minSamples: number;
  readonly minParallelization: number;
  readonly maxRedundancy: number;
  readonly minCacheHitRate: number;
  readonly slowFactor: number;
}

/** The most labels whose durations are remembered for `slow-execution`. */
const MAX_LABELS = 1_000;

/**
 * Watches events and the aggregator's sliding window and reports alerts when a
 * threshold is crossed, and again when it recovers. Stateless between kinds: each kind
 * (and each label, for slow execution) fires once, then resolves once.
 *
 * @example
 * ```ts
 * const monitor = new AlertMonitor({ minParallelization: 0.5 }, (alert) => console.warn(alert.message));
 * engine.events$.subscribe((e) => monitor.observe(e, aggregator.window()));
 * ```
 */
export class AlertMonitor {
  readonly #settings: Resolved;
  readonly #emit: (alert: Alert) => void;
  /** Ratio alerts firing, by kind. */
  readonly #firing = new Set<AlertKind>();
  /** Labels whose slow-execution alert fires (`undefined` for unlabelled tasks). */
  readonly #slowLabels = new Set<string | undefined>();
  readonly #started = new Map<
    number,
    { time: number; label: string | undefined; expectedMs: number | undefined }
  >();
  /** Durations of completed tasks per label (`undefined`: unlabelled, apart from `''`). */
  readonly #durations = new Map<string | undefined, LatencySketch>();

  constructor(thresholds: AlertThresholds, emit: (alert: Alert) => void) {
    assertObject('thresholds', thresholds);
    assertFunction('emit', emit);
    const minSamples = thresholds.minSamples ?? 20;
    assertCount('alerts.minSamples', minSamples, 1);
    const slowFactor = thresholds.slowFactor ?? 3;
    if (typeof slowFactor !== 'number' || !(slowFactor > 0)) {
      throw new RangeError(
        `alerts.slowFactor must be a multiplier > 0 (or Infinity); received ${describe(slowFactor)}`,
      );
    }
    const settings = {
      minSamples,
      minParallelization: thresholds.minParallelization ?? 0.5,
      maxRedundancy: thresholds.maxRedundancy ?? 0.1,
      minCacheHitRate: thresholds.minCacheHitRate ?? 0.7,
      slowFactor,
    };
    for (const name of ['minParallelization', 'maxRedundancy', 'minCacheHitRate'] as const) {
      assertRatio(`alerts.${name}`, settings[name]);
    }
    this.#settings = settings;
    this.#emit = emit;
  }

  /**
   * Checks the alerts that `event` may change; `window` is the aggregator's window after it.
   * Low parallelization is judged at every end of a running task, whatever its outcome.
   */
  observe(event: ExecutionEvent, window: WindowCounts): void {
    switch (event.type) {
      case 'started':
        this.#started.set(event.taskId, {
          time: event.time,
          label: event.label,
          expectedMs: event.expectedMs,
        });
        break;
      case 'completed':
        this.#slow(event.taskId, event.time);
        this.#parallelization(window, event.time);
        break;
      case 'failed':
      case 'cancelled':
      case 'preempted':
        this.#started.delete(event.taskId);
        // A running task's end counts in the window's ended tasks, whatever the outcome.
        if (event.type !== 'cancelled' || event.slot !== undefined) {
          this.#parallelization(window, event.time);
        }
        break;
      case 'executed':
        this.#ratio(
          'high-redundancy',
          window.redundant,
          window.executions,
          'above',
          this.#settings.maxRedundancy,
          event.time,
        );
        break;
      case 'cache-hit':
      case 'cache-miss':
        this.#ratio(
          'low-cache-hit-rate',
          window.hits,
          window.hits + window.misses,
          'below',
          this.#settings.minCacheHitRate,
          event.time,
        );
        break;
      default:
        break;
    }
  }

  /**
   * Forgets the tasks seen starting and which alerts fire, keeping the labels' learned
   * durations: for when events stop reaching the monitor (the engine calls it when the
   * last `alerts$` subscriber leaves), so no task whose end it will not see is kept, and
   * a breach still in effect fires again once events flow.
   *
   * @example
   * ```ts
   * subscription.unsubscribe(); // no one hears alerts: stop feeding the monitor
   * monitor.reset();
   * ```
   */
  reset(): void {
    this.#started.clear();
    this.#firing.clear();
    this.#slowLabels.clear();
  }

  #parallelization(window: WindowCounts, time: number): void {
    this.#ratio(
      'low-parallelization',
      window.overlapped,
      window.ended,
      'below',
      this.#settings.minParallelization,
      time,
    );
  }

  #slow(taskId: number, time: number): void {
    const task = this.#started.get(taskId);
    if (task === undefined) return;
    this.#started.delete(taskId);
    const duration = time - task.time;
    const label = task.label;
    let sketch = this.#durations.get(label);
    let threshold = task.expectedMs;
    if (
      threshold === undefined &&
      sketch !== undefined &&
      sketch.count >= this.#settings.minSamples
    ) {
      threshold = sketch.quantile(0.95) * this.#settings.slowFactor;
    }
    if (sketch === undefined && this.#durations.size < MAX_LABELS) {
      sketch = new LatencySketch();
      this.#durations.set(label, sketch);
    }
    sketch?.record(duration);
    if (threshold === undefined) return;
    const name = label ?? 'unlabelled';
    const breached = duration > threshold;
    const labels = this.#slowLabels;
    if (breached === labels.has(label)) return;
    if (breached) labels.add(label);
    else labels.delete(label);
    this.#emit({
      kind: 'slow-execution',
      state: breached ? 'firing' : 'resolved',
      value: duration,
      threshold,
      label,
      time,
      message: breached
        ? `task "${name}" took ${duration.toFixed(1)} ms, expected at most ${threshold.toFixed(1)} ms`
        : `task "${name}" is back within ${threshold.toFixed(1)} ms (${duration.toFixed(1)} ms)`,
    });
  }

  #ratio(
    kind: AlertKind,
    part: number,
    whole: number,
    bad: 'below' | 'above',
    threshold: number,
    time: number,
  ): void {
    if (whole < this.#settings.minSamples) return;
    const value = part / whole;
    const breached = bad === 'below' ? value < threshold : value > threshold;
    const firing = this.#firing;
    if (breached === firing.has(kind)) return;
    if (breached) firing.add(kind);
    else firing.delete(kind);
    const percent = (x: number) => `${(x * 100).toFixed(1)}%`;
    this.#emit({
      kind,
      state: breached ? 'firing' : 'resolved',
      value,
      threshold,
      label: undefined,
      time,
      message: `${kind.replaceAll('-', ' ')}: ${percent(value)} (threshold ${percent(threshold)}) over the last ${whole} samples`,
    });
  }
}
