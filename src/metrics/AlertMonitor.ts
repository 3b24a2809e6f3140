import { assertCount, assertDuration } from '../executor/validate.js';
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
  /** Window (ms) over which ratios are judged. Default 60,000. */
  windowMs?: number;
  /** Ratios are judged only once the window holds this many samples. Default 20. */
  minSamples?: number;
  /** `low-parallelization` below this ratio (seed: 50%). Default 0.5. */
  minParallelization?: number;
  /** `high-redundancy` above this ratio (seed: 10%). Default 0.1. */
  maxRedundancy?: number;
  /** `low-cache-hit-rate` below this ratio (seed target: 70%). Default 0.7. */
  minCacheHitRate?: number;
  /**
   * `slow-execution` when a task takes longer than its `expectedMs`, or, without one, than
   * this multiple of its label's observed p95 (once the label has `minSamples` runs). Default 3.
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
  readonly #firing = new Set<string>();
  readonly #started = new Map<
    number,
    { time: number; label: string | undefined; expectedMs: number | undefined }
  >();
  readonly #durations = new Map<string, LatencySketch>();

  constructor(thresholds: AlertThresholds, emit: (alert: Alert) => void) {
    const minSamples = thresholds.minSamples ?? 20;
    assertCount('alerts.minSamples', minSamples, 1);
    const slowFactor = thresholds.slowFactor ?? 3;
    assertDuration('alerts.slowFactor', slowFactor);
    const settings = {
      minSamples,
      minParallelization: thresholds.minParallelization ?? 0.5,
      maxRedundancy: thresholds.maxRedundancy ?? 0.1,
      minCacheHitRate: thresholds.minCacheHitRate ?? 0.7,
      slowFactor,
    };
    for (const name of ['minParallelization', 'maxRedundancy', 'minCacheHitRate'] as const) {
      const value = settings[name];
      if (!(value >= 0 && value <= 1)) {
        throw new RangeError(`alerts.${name} must be a ratio between 0 and 1; received ${value}`);
      }
    }
    this.#settings = settings;
    this.#emit = emit;
  }

  /** Checks the alerts that `event` may change; `window` is the aggregator's window after it. */
  observe(event: ExecutionEvent, window: WindowCounts): void {
    switch (event.type) {
      case 'started':
        this.#started.set(event.taskId, {
          time: event.time,
          label: event.label,
          expectedMs: event.expectedMs,
        });
        break;
      case 'completed': {
        this.#slow(event.taskId, event.time);
        this.#ratio(
          'low-parallelization',
          window.overlapped,
          window.ended,
          'below',
          this.#settings.minParallelization,
          event.time,
        );
        break;
      }
      case 'failed':
      case 'cancelled':
      case 'preempted':
        this.#started.delete(event.taskId);
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

  #slow(taskId: number, time: number): void {
    const task = this.#started.get(taskId);
    if (task === undefined) return;
    this.#started.delete(taskId);
    const duration = time - task.time;
    const label = task.label ?? '';
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
    const name = task.label ?? 'unlabelled';
    this.#transition(`slow-execution:${label}`, duration > threshold, {
      kind: 'slow-execution',
      value: duration,
      threshold,
      label: task.label,
      time,
      message:
        duration > threshold
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
    const percent = (x: number) => `${(x * 100).toFixed(1)}%`;
    this.#transition(kind, breached, {
      kind,
      value,
      threshold,
      label: undefined,
      time,
      message: `${kind.replaceAll('-', ' ')}: ${percent(value)} (threshold ${percent(threshold)}) over the last ${whole} samples`,
    });
  }

  #transition(id: string, breached: boolean, alert: Omit<Alert, 'state'>): void {
    const firing = this.#firing.has(id);
    if (breached === firing) return;
    if (breached) this.#firing.add(id);
    else this.#firing.delete(id);
    this.#emit({ ...alert, state: breached ? 'firing' : 'resolved' });
  }
}
