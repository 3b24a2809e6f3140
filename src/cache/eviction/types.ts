/**
 * The names of the eviction policies a store can use:
 * - `'lru'`: evict the least recently used entry.
 * - `'cost-aware'`: GreedyDual-Size-Frequency; evict the entry that is cheapest to
 *   recompute per byte and least often used, aged so that entries nobody uses any more
 *   eventually go.
 *
 * @example
 * ```ts
 * const policy: EvictionPolicyName = 'cost-aware';
 * new MemoryStore({ maxBytes: 64 * 1024 * 1024, policy });
 * ```
 */
export type EvictionPolicyName = 'lru' | 'cost-aware';

/** Every policy name, the default first. @example `EVICTION_POLICIES.includes('lru') // true` */
export const EVICTION_POLICIES: readonly EvictionPolicyName[] = ['lru', 'cost-aware'];

/** The slot `victim()` and `evict()` return when the policy holds nothing. */
export const NO_SLOT = -1;

/**
 * Decides which entry a full store gives up. The policy names each entry it tracks by a
 * **slot**: a small integer it hands out in `add`, unique among the entries it tracks and
 * reused after the entry leaves. A store keeps its own `Map<key, slot>` and indexes its own
 * arrays (keys, values, expiry) by slot, and tells the policy what happens: `add` when an
 * entry is stored, `touch` on every hit, `remove` when it is deleted, replaced or expires,
 * and `evict` when it needs room. Bookkeeping lives in typed arrays indexed by slot, so a
 * hit costs the store's one map lookup plus a few array writes, and allocates nothing.
 * `MemoryStore` and the filesystem store share these policies, so both evict the same way.
 *
 * `touch` and `remove` expect a slot the policy currently tracks; they do not check, to
 * keep a hit lean.
 *
 * @example
 * ```ts
 * const policy = createEvictionPolicy('cost-aware');
 * const slots = new Map<string, number>();
 * const keys: string[] = [];
 *
 * function store(key: string, cost: number, size: number): void {
 *   while (slots.size >= limit) {
 *     const victim = policy.evict();
 *     if (victim === NO_SLOT) break;
 *     slots.delete(keys[victim]!); // read the victim's data before the slot is reused
 *   }
 *   const slot = policy.add(cost, size);
 *   keys[slot] = key;
 *   slots.set(key, slot);
 * }
 * function hit(key: string): void {
 *   const slot = slots.get(key);
 *   if (slot !== undefined) policy.touch(slot);
 * }
 * ```
 */
export interface EvictionPolicy {
  /** Which policy this is. */
  readonly name: EvictionPolicyName;
  /** How many entries the policy tracks. */
  readonly size: number;
  /**
   * Tracks a newly stored entry and returns its slot.
   *
   * @param cost - ms of work a miss would cost (0 when unknown or free); `'cost-aware'` only.
   * @param size - the entry's bytes; `'cost-aware'` only.
   * @param uses - uses to carry over from an entry this one replaces (see `uses`); default 0.
   */
  add(cost: number, size: number, uses?: number): number;
  /**
   * Hands out a free slot without tracking anything in it yet: a store holds it for a
   * value still being computed, then tracks the entry there with {@link link}, or gives
   * it back with {@link free}.
   */
  allocate(): number;
  /** Tracks a newly stored entry in `slot`, a slot from {@link allocate}: `add` with the slot chosen already. */
  link(slot: number, cost: number, size: number, uses?: number): void;
  /** Gives back a slot from {@link allocate} that holds no tracked entry. */
  free(slot: number): void;
  /** Records a use (a hit) of the entry in `slot`. */
  touch(slot: number): void;
  /**
   * The entry in `slot` was overwritten with one of the given `cost` and `size`: the same
   * as `remove(slot)` then `add(cost, size, uses(slot))` returning `slot` again (a use,
   * and the most recent), without freeing the slot.
   */
  replace(slot: number, cost: number, size: number): void;
  /** Stops tracking `slot` (deleted, replaced or expired) and frees it; not an eviction, so no aging. */
  remove(slot: number): void;
  /** The slot `evict` would remove next, left in place; {@link NO_SLOT} when empty. */
  victim(): number;
  /**
   * Removes the least valuable entry (aging the rest, for cost-aware) and returns its slot,
   * which is free from now on but not reused before the next `add`; {@link NO_SLOT} when empty.
   */
  evict(): number;
  /** Uses counted for `slot` so far (`'lru'` does not count: 0). */
  uses(slot: number): number;
  /** Forgets every entry; slots start again from 0. */
  clear(): void;
  /** Tracked slots from the next victim to the most valuable (O(n log n) for cost-aware; for tests and tools). */
  order(): number[];
}
