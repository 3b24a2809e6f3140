import { type MonoTypeOperatorFunction, tap } from 'rxjs';
import type { Engine } from '../src/engine/Engine.js';
import {
  assertFiniteCount,
  assertFunction,
  assertMethods,
  assertRatio,
} from '../src/executor/validate.js';
import type { Predict } from '../src/speculation/types.js';

/**
 * Options of {@link prefetch}.
 *
 * @example
 * ```ts
 * const options: PrefetchOperatorOptions = { engine, depth: 2, minProbability: 0.25 };
 * ```
 */
export interface PrefetchOperatorOptions {
  /** The engine whose cache and background lane receive the prefetches. Required. */
  engine: Engine;
  /** How many steps ahead `predict` is asked to look: a finite integer >= 1. Default 1. */
  depth?: number;
  /** Candidates less likely than this (a number from 0 to 1) are not prefetched. Default 0 (all). */
  minProbability?: number;
}

/**
 * Speculative prefetch: for each value passing through, asks `predict(value)` for the
 * keys likely to be needed next and hands them to `engine.prefetch`, which runs them in
 * the background lane, preemptible, only if they are neither cached nor in flight. The
 * values pass through untouched. A later `engine.run` of a predicted key hits the cache
 * or joins (and promotes) the prefetch in flight.
 *
 * @example
 * ```ts
 * import { prefetch } from 'eed/operators';
 *
 * page$.pipe(
 *   prefetch((page: number) => [{ key: `page:${page + 1}`, work: (signal) => loadPage(page + 1, signal) }], { engine }),
 *   switchMap((page) => engine.run(`page:${page}`, (signal) => loadPage(page, signal))),
 * );
 * ```
 * @param predict Returns the likely next `{ key, work, probability? }` for a value.
 * @param options Engine (required), depth, minProbability; see {@link PrefetchOperatorOptions}.
 * @returns An operator that mirrors its source.
 */
export function prefetch<T>(
  predict: Predict<T>,
  options: PrefetchOperatorOptions,
): MonoTypeOperatorFunction<T> {
  assertFunction('prefetch: predict', predict);
  if (options === null || typeof options !== 'object' || options.engine === undefined) {
    throw new TypeError('prefetch: options.engine is required (see createEngine)');
  }
  const { engine } = options;
  assertMethods('prefetch: engine', engine, ['prefetch'], 'an Engine (see createEngine)');
  const depth = options.depth === undefined ? 1 : options.depth;
  assertFiniteCount('prefetch: depth', depth, 1);
  const minProbability = options.minProbability === undefined ? 0 : options.minProbability;
  assertRatio('prefetch: minProbability', minProbability);
  const context = { depth, minProbability };
  return tap((value: T) => {
    for (const candidate of predict(value, context)) {
      if ((candidate.probability ?? 1) < minProbability) continue;
      engine.prefetch(candidate.key, candidate.work, { ttl: candidate.ttl });
    }
  });
}
