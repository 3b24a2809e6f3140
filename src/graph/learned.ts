/** How many durations one registry remembers (the least recently updated are dropped). */
const MAX_ENTRIES = 1000;

/** The weight of a new measurement in the moving average. */
const ALPHA = 0.5;

/**
 * Durations measured in earlier graph runs, by key and by label, kept as an
 * exponentially weighted moving average. One registry per engine or executor.
 *
 * @example
 * ```ts
 * const learned = learnedDurationsOf(executor);
 * learned.record('user:1', 'fetchUser', 120);
 * learned.get(undefined, 'fetchUser'); // 120
 * ```
 */
export class LearnedDurations {
  readonly #durations = new Map<string, number>();

  /** The learned duration of a key or, failing that, of a label. */
  get(key: string | undefined, label: string): number | undefined {
    return (
      (key === undefined ? undefined : this.#durations.get(`k:${key}`)) ??
      this.#durations.get(`l:${label}`)
    );
  }

  /** Records that a task with this key (if any) and label took `ms`. */
  record(key: string | undefined, label: string, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    if (key !== undefined) this.#set(`k:${key}`, ms);
    this.#set(`l:${label}`, ms);
  }

  #set(name: string, ms: number): void {
    const old = this.#durations.get(name);
    this.#durations.delete(name);
    this.#durations.set(name, old === undefined ? ms : old + ALPHA * (ms - old));
    if (this.#durations.size > MAX_ENTRIES) {
      const oldest = this.#durations.keys().next().value as string;
      this.#durations.delete(oldest);
    }
  }
}

const registries = new WeakMap<object, LearnedDurations>();

/**
 * The learned durations of `owner` (an engine or executor).
 *
 * @example
 * ```ts
 * learnedDurationsOf(engine).get('user:1', 'fetchUser');
 * ```
 */
export function learnedDurationsOf(owner: object): LearnedDurations {
  let registry = registries.get(owner);
  if (registry === undefined) {
    registry = new LearnedDurations();
    registries.set(owner, registry);
  }
  return registry;
}
