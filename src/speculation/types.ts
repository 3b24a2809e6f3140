import type { Work } from '../executor/types.js';

/**
 * A key worth computing before anyone asks for it.
 *
 * @example
 * ```ts
 * const candidate: PrefetchCandidate = { key: 'page:2', work: (signal) => loadPage(2, signal), probability: 0.7 };
 * ```
 */
export interface PrefetchCandidate {
  readonly key: string;
  readonly work: Work<unknown>;
  /** How likely the key is to be asked for; candidates under `minProbability` are ignored. Default 1. */
  readonly probability?: number;
  /** How long (ms) the prefetched result stays valid. Default: the engine's `ttl`. */
  readonly ttl?: number;
}

/**
 * Predicts, for a value flowing through, the keys likely to be asked for next.
 *
 * @example
 * ```ts
 * const predict: Predict<number> = (page) => [{ key: `page:${page + 1}`, work: (s) => loadPage(page + 1, s) }];
 * ```
 */
export type Predict<T> = (
  value: T,
  context: { readonly depth: number; readonly minProbability: number },
) => Iterable<PrefetchCandidate>;
