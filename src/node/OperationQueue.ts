/**
 * The bookkeeping of a store's asynchronous operations: operations on one key run one
 * after another, in call order (so a `get` after a `set` sees what was set, and the last
 * `set` wins even when an earlier one takes longer to encode), and every operation is
 * tracked until it settles (for `clear`, which lets earlier writes land first, and
 * `flush`). Used by `FileSystemStore` and `RedisStore`.
 */
export class OperationQueue {
  /** Per key: the tail of the operations queued on it. */
  readonly #tails = new Map<string, Promise<void>>();
  /** Operations not yet settled. */
  readonly #pending = new Set<Promise<void>>();

  /** Runs `operation` after every operation queued on `key` before it; tracks it. */
  onKey<T>(key: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    const result = previous === undefined ? operation() : previous.then(operation);
    const tail = settledOf(result);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
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
