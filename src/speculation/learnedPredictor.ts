import type { Work } from '../executor/types.js';
import { assertFunction } from '../executor/validate.js';
import { MarkovPredictor, type MarkovPredictorOptions } from './MarkovPredictor.js';
import type { Predict, PrefetchCandidate } from './types.js';

/**
 * Options of {@link markovPredictor}.
 *
 * @example
 * ```ts
 * markovPredictor({ keyOf: (route: string) => route, workFor: (route) => (signal) => fetchPage(route, signal) });
 * ```
 */
export interface MarkovPredictorFnOptions<T> extends MarkovPredictorOptions {
  /** The key of a value flowing through. */
  keyOf: (value: T) => string;
  /** The work that computes a predicted key (what `engine.prefetch` will run). */
  workFor: (key: string) => Work<unknown>;
}

/**
 * A `predict` function for the `prefetch` operator that learns from what flows through:
 * each value's key is observed (learning the transition from the previous key), then
 * the most probable next keys are predicted with a {@link MarkovPredictor}.
 *
 * @example
 * ```ts
 * import { markovPredictor } from 'eed';
 * import { prefetch } from 'eed/operators';
 *
 * route$.pipe(
 *   prefetch(markovPredictor({ keyOf: (r: string) => r, workFor: (r) => (signal) => loadPage(r, signal) }),
 *     { engine, depth: 2, minProbability: 0.3 }),
 * );
 * ```
 * @returns A predict function, with the underlying model as `model`.
 */
export function markovPredictor<T>(
  options: MarkovPredictorFnOptions<T>,
): Predict<T> & { readonly model: MarkovPredictor } {
  assertFunction('keyOf', options.keyOf);
  assertFunction('workFor', options.workFor);
  const model = new MarkovPredictor(options);
  const predict = (value: T, context: { depth: number; minProbability: number }) => {
    const key = options.keyOf(value);
    model.observe(key);
    return model.predict(key, context).map(
      (prediction): PrefetchCandidate => ({
        key: prediction.key,
        probability: prediction.probability,
        work: options.workFor(prediction.key),
      }),
    );
  };
  return Object.assign(predict, { model });
}
