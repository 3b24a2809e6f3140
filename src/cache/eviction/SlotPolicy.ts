import type { EvictionPolicy, EvictionPolicyName } from './types.js';

/** Grows a typed array to `capacity`, keeping its contents. */
export function grown<A extends Int32Array | Float64Array>(array: A, capacity: number): A {
  const next = new (array.constructor as new (length: number) => A)(capacity);
  next.set(array);
  return next;
}

/**
 * Slot bookkeeping shared by the policies: hands out the lowest never-used slot or a
 * freed one, and grows the subclass's typed arrays by doubling when it runs out. A slot
 * is handed out ({@link allocate}) apart from being tracked ({@link link}), so a store
 * can hold one for a value in flight; `size` counts tracked slots only.
 */
export abstract class SlotPolicy implements EvictionPolicy {
  abstract readonly name: EvictionPolicyName;
  /** Length of the subclass's per-slot arrays. */
  protected capacity = 0;
  /** Freed slots, reused last-in first-out. */
  #free: number[] = [];
  /** Slots handed out at least once: 0 .. #high - 1. */
  #high = 0;
  #size = 0;

  /** How many entries the policy tracks. */
  get size(): number {
    return this.#size;
  }

  /** Tracks a newly stored entry in a free slot and returns the slot. */
  add(cost: number, size: number, uses?: number): number {
    const slot = this.allocate();
    this.link(slot, cost, size, uses);
    return slot;
  }

  abstract link(slot: number, cost: number, size: number, uses?: number): void;
  abstract touch(slot: number): void;
  abstract replace(slot: number, cost: number, size: number): void;
  abstract remove(slot: number): void;
  abstract victim(): number;
  abstract evict(): number;
  abstract uses(slot: number): number;
  abstract clear(): void;
  abstract order(): number[];

  /** Resizes every per-slot array to `capacity` (greater than the current one). */
  protected abstract grow(capacity: number): void;

  /** A free slot, growing the arrays when needed; not tracked until {@link link}ed. */
  allocate(): number {
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#high++;
      if (slot >= this.capacity) {
        this.capacity = Math.max(16, this.capacity * 2);
        this.grow(this.capacity);
      }
    }
    return slot;
  }

  /** Gives back a slot from {@link allocate} that holds no tracked entry. */
  free(slot: number): void {
    this.#free.push(slot);
  }

  /** Counts a slot that `link` starts tracking (call first: `size` includes it). */
  protected tracked(): void {
    this.#size++;
  }

  /** Stops counting `slot` and marks it free for a later `allocate`. */
  protected release(slot: number): void {
    this.#free.push(slot);
    this.#size--;
  }

  /** Frees every slot (the arrays keep their capacity). */
  protected releaseAll(): void {
    this.#free = [];
    this.#high = 0;
    this.#size = 0;
  }
}
