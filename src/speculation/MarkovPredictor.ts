import { assertCount, assertFiniteCount, assertRatio } from '../executor/validate.js';

/**
 * A key predicted to be asked for next, with the estimated chance that it will be.
 *
 * @example
 * ```ts
 * const guess: Prediction = { key: 'page:2', probability: 0.8 };
 * ```
 */
export interface Prediction {
  readonly key: string;
  /** Estimated probability in (0, 1]; for `depth > 1`, the product along the chain. */
  readonly probability: number;
}

/**
 * Options of {@link MarkovPredictor}.
 *
 * @example
 * ```ts
 * new MarkovPredictor({ maxTransitionsPerKey: 8, maxKeys: 5_000 });
 * ```
 */
export interface MarkovPredictorOptions {
  /**
   * The most successors remembered per key (an integer >= 1, or `Infinity` for no bound);
   * the least seen one is forgotten first. Default 16.
   */
  maxTransitionsPerKey?: number;
  /**
   * The most keys with remembered successors (an integer >= 1, or `Infinity` for no bound:
   * memory then grows with every distinct key seen); the least recently seen key is
   * forgotten first. Default 10,000.
   */
  maxKeys?: number;
}

/**
 * A first-order Markov model of an access sequence: it learns how often key B follows
 * key A, and predicts the most probable next keys, chaining `depth` steps. Memory is
 * bounded: at most `maxKeys` keys with at most `maxTransitionsPerKey` successors each.
 *
 * @example
 * ```ts
 * const model = new MarkovPredictor();
 * for (const page of ['home', 'list', 'item', 'home', 'list']) model.observe(page);
 * model.predict('list', { depth: 1, minProbability: 0.5 }); // [{ key: 'item', probability: 1 }]
 * ```
 */
export class MarkovPredictor {
  readonly #maxTransitions: number;
  readonly #maxKeys: number;
  /** key -> (next key -> count), in least-recently-observed-first order. */
  readonly #transitions = new Map<string, Map<string, number>>();
  readonly #totals = new Map<string, number>();
  #previous: string | undefined;

  constructor(options: MarkovPredictorOptions = {}) {
    this.#maxTransitions = options.maxTransitionsPerKey ?? 16;
    assertCount('maxTransitionsPerKey', this.#maxTransitions, 1);
    this.#maxKeys = options.maxKeys ?? 10_000;
    assertCount('maxKeys', this.#maxKeys, 1);
  }

  /** How many keys have remembered successors. */
  get size(): number {
    return this.#transitions.size;
  }

  /** Records that `key` was accessed, learning the transition from the previous key. */
  observe(key: string): void {
    const previous = this.#previous;
    this.#previous = key;
    const transitions = this.#transitions;
    if (previous !== undefined) {
      let next = transitions.get(previous);
      if (next === undefined) {
        next = new Map();
        if (transitions.size >= this.#maxKeys) this.#forgetOldestKey(key);
      } else {
        transitions.delete(previous); // re-insert: most recently observed last
      }
      transitions.set(previous, next);
      next.set(key, (next.get(key) ?? 0) + 1);
      this.#totals.set(previous, (this.#totals.get(previous) ?? 0) + 1);
      if (next.size > this.#maxTransitions) this.#forgetRarest(previous, next);
    }
    // `key` was seen last of all (and is what callers predict from next): moved last.
    const own = transitions.get(key);
    if (own !== undefined && key !== previous) {
      transitions.delete(key);
      transitions.set(key, own);
    }
  }

  /**
   * The keys most likely to follow `key`, up to `depth` steps ahead (a finite integer
   * >= 1, default 1), whose probability (the product along the chain, the most probable
   * chain's for a key several chains reach) is at least `minProbability`; most probable
   * first. `key` itself is never predicted. Takes at most one step per key with
   * successors, whatever `depth`.
   *
   * @example
   * ```ts
   * // After 'home', 'list', 'item', 'home', 'list' (each key always follows the one before):
   * model.predict('list', { depth: 2 }); // [{ key: 'item', probability: 1 }, { key: 'home', probability: 1 }]
   * ```
   * @throws RangeError when `depth` is not a finite integer >= 1, or `minProbability` not a
   *   number from 0 to 1.
   */
  predict(key: string, options: { depth?: number; minProbability?: number } = {}): Prediction[] {
    const depth = options.depth === undefined ? 1 : options.depth;
    assertFiniteCount('depth', depth, 1);
    const minProbability = options.minProbability ?? 0;
    assertRatio('minProbability', minProbability);
    const best = new Map<string, number>();
    let frontier = new Map<string, number>([[key, 1]]);
    // A key reached no more likely than before is not followed again: what follows it was
    // already reached, as likely, in no more steps. So a most probable chain never visits
    // a key twice and has at most one step per key with successors: with that bound, a
    // cycle (`a -> b -> a`, each certain) ends however large `depth` is.
    const steps = Math.min(depth, this.#transitions.size);
    for (let step = 0; step < steps && frontier.size > 0; step++) {
      const next = new Map<string, number>();
      for (const [from, chance] of frontier) {
        const successors = this.#transitions.get(from);
        const total = this.#totals.get(from);
        if (successors === undefined || total === undefined) continue;
        for (const [to, count] of successors) {
          const probability = (chance * count) / total;
          if (probability < minProbability || probability <= 0 || to === key) continue;
          if (probability <= (best.get(to) ?? 0)) continue;
          best.set(to, probability);
          next.set(to, probability);
        }
      }
      frontier = next;
    }
    return [...best]
      .map(([to, probability]) => ({ key: to, probability }))
      .sort((a, b) => b.probability - a.probability);
  }

  /** Forgets the least recently seen key other than `seen` (the key seen just now). */
  #forgetOldestKey(seen: string): void {
    for (const oldest of this.#transitions.keys()) {
      if (oldest === seen && this.#transitions.size > 1) continue;
      this.#transitions.delete(oldest);
      this.#totals.delete(oldest);
      return;
    }
  }

  #forgetRarest(from: string, next: Map<string, number>): void {
    let rarest: string | undefined;
    let fewest = Number.POSITIVE_INFINITY;
    for (const [to, count] of next) {
      if (count < fewest) {
        fewest = count;
        rarest = to;
      }
    }
    if (rarest === undefined) return;
    next.delete(rarest);
    this.#totals.set(from, (this.#totals.get(from) ?? fewest) - fewest);
  }
}
