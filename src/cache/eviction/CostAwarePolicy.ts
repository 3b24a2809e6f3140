import { grown, SlotPolicy } from './SlotPolicy.js';
import { NO_SLOT } from './types.js';

/**
 * Cost-aware eviction: GreedyDual-Size-Frequency (Cherkasova, 1998). Each entry has the
 * priority `H = L + frequency * cost / size`, where `cost` is what recomputing the value
 * takes (ms), `size` its bytes, `frequency` how often it was stored or hit, and `L` an
 * inflation value that starts at 0 and becomes the priority of each evicted entry. The
 * entry with the lowest `H` is evicted, so a store keeps entries that were expensive to
 * compute, are small and are used often; raising `L` ages entries that stop being used,
 * however valuable they once were (a hit recomputes `H` from the current `L`). Ties go to
 * the least recently used entry, so with equal costs and sizes it behaves like LRU.
 *
 * A binary min-heap of slots with each slot's heap position kept in a typed array:
 * `add`, `touch`, `remove` and `evict` are O(log n), `victim` O(1), and nothing is
 * allocated on a hit. A `cost` of 0 or less (or NaN) counts as free to recompute: such
 * entries go first, least recently used first. A `size` below 1 counts as 1.
 *
 * @example
 * ```ts
 * const gdsf = new CostAwarePolicy();
 * const slow = gdsf.add(900, 100); // H = 9
 * const fast = gdsf.add(5, 100);   // H = 0.05
 * gdsf.evict() === fast;           // true; L is now 0.05
 * ```
 */
export class CostAwarePolicy extends SlotPolicy {
  readonly name = 'cost-aware' as const;
  /** Heap position → slot. */
  #heap = new Int32Array(0);
  /** Slot → heap position. */
  #position = new Int32Array(0);
  #cost = new Float64Array(0);
  #bytes = new Float64Array(0);
  #frequency = new Float64Array(0);
  #priority = new Float64Array(0);
  /** When each slot was last used, in policy ticks (breaks priority ties). */
  #stamp = new Float64Array(0);
  /** L: the priority of the last evicted entry. */
  #inflation = 0;
  #ticks = 0;

  /** The current inflation value `L` (the priority of the last evicted entry; 0 at first). */
  get inflation(): number {
    return this.#inflation;
  }

  /** Tracks a new entry with `uses + 1` uses. */
  link(slot: number, cost: number, size: number, uses = 0): void {
    this.tracked();
    // `|| 0` / `|| 1` turn NaN into the floor, which Math.max alone would not.
    this.#cost[slot] = Math.max(cost || 0, 0);
    this.#bytes[slot] = Math.max(size || 1, 1);
    this.#frequency[slot] = uses + 1;
    this.#prioritise(slot);
    const index = this.size - 1;
    this.#heap[index] = slot;
    this.#position[slot] = index;
    this.#up(index);
  }

  /** Counts a use of `slot` and recomputes its priority from the current `L`. */
  touch(slot: number): void {
    this.#frequency[slot] = (this.#frequency[slot] as number) + 1;
    this.#prioritise(slot);
    // The priority can only have grown (L never falls): sift towards the leaves.
    this.#down(this.#position[slot] as number);
  }

  /** Takes the new `cost` and `size` of `slot`, counts a use and recomputes its priority. */
  replace(slot: number, cost: number, size: number): void {
    this.#cost[slot] = Math.max(cost || 0, 0);
    this.#bytes[slot] = Math.max(size || 1, 1);
    this.#frequency[slot] = (this.#frequency[slot] as number) + 1;
    this.#prioritise(slot);
    // A cheaper or bigger entry may now rank lower than before: sift either way.
    const index = this.#position[slot] as number;
    if (!this.#up(index)) this.#down(index);
  }

  /** Stops tracking `slot` and frees it; `L` is unchanged. */
  remove(slot: number): void {
    const heap = this.#heap;
    const index = this.#position[slot] as number;
    const lastIndex = this.size - 1;
    this.release(slot);
    if (index !== lastIndex) {
      const last = heap[lastIndex] as number;
      heap[index] = last;
      this.#position[last] = index;
      if (!this.#up(index)) this.#down(index);
    }
  }

  /** The slot with the lowest priority. */
  victim(): number {
    return this.size > 0 ? (this.#heap[0] as number) : NO_SLOT;
  }

  /** Removes the slot with the lowest priority and raises `L` to its priority. */
  evict(): number {
    if (this.size === 0) return NO_SLOT;
    const root = this.#heap[0] as number;
    const priority = this.#priority[root] as number;
    this.remove(root);
    if (priority < Number.POSITIVE_INFINITY) this.#inflation = priority;
    return root;
  }

  /** Uses counted for `slot`: its store, its hits, and any carried over on `add`. */
  uses(slot: number): number {
    return this.#frequency[slot] as number;
  }

  /** The current priority `H` of `slot`. */
  priorityOf(slot: number): number {
    return this.#priority[slot] as number;
  }

  /** Forgets every entry and resets `L` to 0. */
  clear(): void {
    this.#inflation = 0;
    this.releaseAll();
  }

  /** Lowest priority first. */
  order(): number[] {
    return Array.from(this.#heap.subarray(0, this.size)).sort((a, b) =>
      this.#before(a, b) ? -1 : this.#before(b, a) ? 1 : 0,
    );
  }

  protected grow(capacity: number): void {
    this.#heap = grown(this.#heap, capacity);
    this.#position = grown(this.#position, capacity);
    this.#cost = grown(this.#cost, capacity);
    this.#bytes = grown(this.#bytes, capacity);
    this.#frequency = grown(this.#frequency, capacity);
    this.#priority = grown(this.#priority, capacity);
    this.#stamp = grown(this.#stamp, capacity);
  }

  #prioritise(slot: number): void {
    this.#priority[slot] =
      this.#inflation +
      ((this.#frequency[slot] as number) * (this.#cost[slot] as number)) /
        (this.#bytes[slot] as number);
    this.#stamp[slot] = ++this.#ticks;
  }

  /** Whether slot `a` should be evicted before slot `b`: lower priority, then older use. */
  #before(a: number, b: number): boolean {
    const pa = this.#priority[a] as number;
    const pb = this.#priority[b] as number;
    return pa < pb || (pa === pb && (this.#stamp[a] as number) < (this.#stamp[b] as number));
  }

  /** Sifts the slot at heap `index` towards the root; whether it moved. */
  #up(index: number): boolean {
    const heap = this.#heap;
    const position = this.#position;
    const slot = heap[index] as number;
    let i = index;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex] as number;
      if (!this.#before(slot, parent)) break;
      heap[i] = parent;
      position[parent] = i;
      i = parentIndex;
    }
    heap[i] = slot;
    position[slot] = i;
    return i !== index;
  }

  /** Sifts the slot at heap `index` towards the leaves. */
  #down(index: number): void {
    const heap = this.#heap;
    const position = this.#position;
    const length = this.size;
    const slot = heap[index] as number;
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= length) break;
      let child = heap[left] as number;
      let childIndex = left;
      const right = left + 1;
      if (right < length) {
        const rightSlot = heap[right] as number;
        if (this.#before(rightSlot, child)) {
          child = rightSlot;
          childIndex = right;
        }
      }
      if (!this.#before(child, slot)) break;
      heap[i] = child;
      position[child] = i;
      i = childIndex;
    }
    heap[i] = slot;
    position[slot] = i;
  }
}
