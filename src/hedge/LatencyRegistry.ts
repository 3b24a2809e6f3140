import { assertCount } from '../executor/validate.js';
import {
  LatencyHistogram,
  type LatencyHistogramOptions,
  MAX_LATENCY_WINDOW,
} from '../metrics/LatencyHistogram.js';

/**
 * Options of {@link LatencyRegistry}.
 *
 * @example
 * ```ts
 * new LatencyRegistry({ maxLabels: 100, window: 256 });
 * ```
 */
export interface LatencyRegistryOptions extends LatencyHistogramOptions {
  /**
   * The most labels tracked; recording a new label beyond it forgets the least recently
   * used one. An integer >= 1; default 1024.
   */
  maxLabels?: number;
}

/**
 * Latency histograms by label, bounded in memory: at most `maxLabels` labels (least
 * recently used forgotten first), each a {@link LatencyHistogram} over a sliding window.
 * `hedge` records each winning copy's latency here under its label, and reads the p95
 * back for `after: 'p95'`.
 *
 * @example
 * ```ts
 * const latencies = new LatencyRegistry();
 * latencies.record('search', 120);
 * latencies.quantile('search', 0.95, 20); // undefined until 20 samples
 * hedge(work, { after: 'p95', label: 'search', latencies });
 * ```
 */
export class LatencyRegistry {
  readonly maxLabels: number;
  readonly #histogramOptions: LatencyHistogramOptions;
  readonly #byLabel = new Map<string, LatencyHistogram>();

  constructor(options: LatencyRegistryOptions = {}) {
    const maxLabels = options.maxLabels ?? 1024;
    assertCount('LatencyRegistry: maxLabels', maxLabels, 1);
    this.maxLabels = maxLabels;
    if (options.window !== undefined) {
      assertCount('LatencyRegistry: window', options.window, 1, MAX_LATENCY_WINDOW);
    }
    this.#histogramOptions = { window: options.window };
  }

  /** How many labels are tracked. */
  get size(): number {
    return this.#byLabel.size;
  }

  /** Records a duration (ms) for `label`. */
  record(label: string, ms: number): void {
    this.histogram(label).record(ms);
  }

  /**
   * The `q`-quantile of `label`'s recent durations, or `undefined` when fewer than
   * `minSamples` are in its window (default 1: any sample).
   */
  quantile(label: string, q: number, minSamples = 1): number | undefined {
    const histogram = this.#byLabel.get(label);
    if (histogram === undefined || histogram.count < minSamples) return undefined;
    this.#touch(label, histogram);
    return histogram.quantile(q);
  }

  /** The histogram of `label`, created when missing (the label becomes most recently used). */
  histogram(label: string): LatencyHistogram {
    let histogram = this.#byLabel.get(label);
    if (histogram === undefined) {
      histogram = new LatencyHistogram(this.#histogramOptions);
      if (this.#byLabel.size >= this.maxLabels) {
        const oldest = this.#byLabel.keys().next();
        if (oldest.done !== true) this.#byLabel.delete(oldest.value);
      }
      this.#byLabel.set(label, histogram);
    } else {
      this.#touch(label, histogram);
    }
    return histogram;
  }

  /** Forgets `label`, or every label. */
  clear(label?: string): void {
    if (label === undefined) this.#byLabel.clear();
    else this.#byLabel.delete(label);
  }

  #touch(label: string, histogram: LatencyHistogram): void {
    this.#byLabel.delete(label);
    this.#byLabel.set(label, histogram);
  }
}

let shared: LatencyRegistry | undefined;

/**
 * The process-wide registry `hedge` uses unless given its own `latencies`: created on
 * first use, so importing eed allocates nothing.
 *
 * @example
 * ```ts
 * sharedLatencyRegistry().quantile('search', 0.95); // p95 of recent 'search' hedges
 * ```
 */
export function sharedLatencyRegistry(): LatencyRegistry {
  shared ??= new LatencyRegistry();
  return shared;
}
