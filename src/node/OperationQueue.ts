/**
 * The bookkeeping of a store's asynchronous operations: operations on one key run one
 * after another, in call order (so a `get` after a `set` sees what was set, and the last
 * `set` wins even when an earlier one takes longer to encode); an exclusive operation
 * (`clear`) runs once every operation called before it settled, and operations on keys
 * called after it wait for it; every operation is tracked until it settles (for `flush`).
 * Used by `FileSystemStore` and `RedisStore`.
 *
 * @example
 * ```ts
 * const ops = new OperationQueue();
 * void ops.onKey('k', () => write('k', 1));
 * void ops.exclusive(() => removeAll()); // after the write
 * void ops.onKey('k', () => write('k', 2)); // after removeAll: it survives
 * ```
 */
export class OperationQueue {
  /** Per key: the tail of the operations queued on it. */
  readonly #tails = new Map<string, Promise<void>>();
  /** Operations not yet settled. */
  readonly #pending = new Set<Promise<void>>();
  /** The last exclusive operation, settled, until it has. */
  #barrier: Promise<void> | undefined = undefined;

  /**
   * Runs `operation` after every operation queued on `key` before it, and after the last
   * exclusive operation called before it; tracks it.
   */
  onKey<T>(key: string, operation: () => Promise<T>): Promise<T> {
    const tail = this.#tails.get(key);
    const barrier = this.#barrier;
    const previous =
      barrier === undefined ? tail : tail === undefined ? barrier : Promise.all([tail, barrier]);
    const result = previous === undefined ? operation() : previous.then(operation);
    const settled = settledOf(result);
    this.#tails.set(key, settled);
    void settled.then(() => {
      if (this.#tails.get(key) === settled) this.#tails.delete(key);
    });
    return this.track(result);
  }

  /**
   * Runs `operation` once every operation tracked so far has settled; operations on keys
   * called before it settles wait for it. Tracks it.
   */
  exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.settled().then(operation);
    const barrier = settledOf(result);
    this.#barrier = barrier;
    void barrier.then(() => {
      if (this.#barrier === barrier) this.#barrier = undefined;
    });
    return this.track(result);
  }

  /** Tracks `operation` until it settles; returns it. */
  track<T>(operation: Promise<T>): Promise<T> {
    const settled = settledOf(operation);
    this.#pending.add(settled);
    void settled.then(() => this.#pending.delete(settled));
    return operation;
  }

  /** Resolves once every operation tracked so far has settled (not those started later). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }

  /** Resolves once no operation is pending, including those started while waiting. */
  async drained(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}

/** `promise` settled, as a promise that never rejects. */
function settledOf(promise: Promise<unknown>): Promise<void> {
  return promise.then(
    () => {},
    () => {},
  );
}
