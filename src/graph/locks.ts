/**
 * Named exclusive locks shared by every graph run on one executor. Locks are taken all
 * at once or not at all (no hold-and-wait, so no deadlock), and only by a task that is
 * about to start; every change is announced so that runs waiting for a lock re-check.
 *
 * @example
 * ```ts
 * const table = lockTableOf(executor);
 * if (table.tryAcquire(['db'], onChange)) table.release(['db'], onChange);
 * ```
 */
export class LockTable {
  readonly #held = new Set<string>();
  readonly #listeners = new Set<LockListener>();

  /** Whether none of `locks` is held. */
  free(locks: readonly string[]): boolean {
    for (const lock of locks) if (this.#held.has(lock)) return false;
    return true;
  }

  /** Takes every lock of `locks` if all are free; else takes none. */
  tryAcquire(locks: readonly string[], source: LockListener): boolean {
    if (locks.length === 0) return true;
    if (!this.free(locks)) return false;
    for (const lock of locks) this.#held.add(lock);
    this.#notify(locks, true, source);
    return true;
  }

  /** Releases `locks` (held by the caller) and tells every other listener. */
  release(locks: readonly string[], source: LockListener): void {
    if (locks.length === 0) return;
    for (const lock of locks) this.#held.delete(lock);
    this.#notify(locks, false, source);
  }

  /** Calls `listener` after another listener's acquire or release; returns the unlisten function. */
  listen(listener: LockListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** How many locks are held (0 at quiescence). */
  get size(): number {
    return this.#held.size;
  }

  #notify(locks: readonly string[], acquired: boolean, source: LockListener): void {
    if (this.#listeners.size === 0) return;
    for (const listener of [...this.#listeners]) {
      if (listener !== source && this.#listeners.has(listener)) listener(locks, acquired);
    }
  }
}

/**
 * Told which locks were just acquired (`acquired` true) or released.
 *
 * @example
 * ```ts
 * const listener: LockListener = (locks, acquired) => acquired || wakeWaiters(locks);
 * ```
 */
export type LockListener = (locks: readonly string[], acquired: boolean) => void;

const tables = new WeakMap<object, LockTable>();

/**
 * The lock table of `owner` (an executor): graphs on the same executor share locks.
 *
 * @example
 * ```ts
 * lockTableOf(executor) === lockTableOf(executor); // true
 * ```
 */
export function lockTableOf(owner: object): LockTable {
  let table = tables.get(owner);
  if (table === undefined) {
    table = new LockTable();
    tables.set(owner, table);
  }
  return table;
}
