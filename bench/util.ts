/**
 * Small helpers shared by the benchmark cases: a seeded PRNG (every contender replays the
 * same trace), Zipf and log-normal samplers, quantiles and a macrotask hop.
 */

/** A seeded PRNG (mulberry32): the same seed gives the same sequence in every run. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A Zipf sampler over ranks `0..n-1` (rank 0 the most popular) with exponent `s`, by
 * inverse transform on the precomputed cumulative distribution (binary search).
 */
export function zipfSampler(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    total += 1 / (k + 1) ** s;
    cdf[k] = total;
  }
  for (let k = 0; k < n; k++) cdf[k] = (cdf[k] as number) / total;
  return () => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** A standard normal deviate (Box-Muller). */
export function normal(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A log-normal deviate: `exp(mu + sigma * N(0, 1))`. */
export function logNormal(random: () => number, mu: number, sigma: number): number {
  return Math.exp(mu + sigma * normal(random));
}

/** The `q` quantile (0..1) of `values`, by linear interpolation; NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lo = Math.floor(position);
  const hi = Math.ceil(position);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (position - lo);
}

/** The median of `values` (see {@link quantile}). */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Resolves after `hops` macrotask turns (`setImmediate`), 0 meaning a microtask. */
export function hop<T>(value: T, hops: number): Promise<T> {
  if (hops <= 0) return Promise.resolve(value);
  return new Promise((resolve) => {
    const step = (left: number) => {
      if (left === 0) resolve(value);
      else setImmediate(step, left - 1);
    };
    setImmediate(step, hops - 1);
  });
}

/** `global.gc` when node runs with `--expose-gc`, else a no-op. */
export const collectGarbage: () => void =
  typeof globalThis.gc === 'function' ? () => globalThis.gc?.() : () => {};

/** The sum `0 + 1 + ... + (n - 1)`, the answer of the scheduler cases. */
export function triangular(n: number): number {
  return (n * (n - 1)) / 2;
}
