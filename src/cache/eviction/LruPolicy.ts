import { grown, SlotPolicy } from './SlotPolicy.js';
import { NO_SLOT } from './types.js';

/**
 * Least-recently-used eviction in O(1): a doubly linked list through typed arrays
 * (`prev`/`next` by slot), least recently used at the head. A hit moves the slot to the
 * tail with a handful of array writes and no allocation.
 *
 * @example
 * ```ts
 * const lru = new LruPolicy();
 * const a = lru.add(0, 1);
 * const b = lru.add(0, 1);
 * lru.touch(a);
 * lru.evict() === b; // true: a was used more recently
 * ```
 */
export class LruPolicy extends SlotPolicy {
  readonly name = 'lru' as const;
  #prev = new Int32Array(0);
  #next = new Int32Array(0);
  #head = NO_SLOT;
  #tail = NO_SLOT;

  /** Tracks a new entry as the most recently used; `cost`, `size` and `uses` are ignored. */
  add(_cost: number, _size: number, _uses?: number): number {
    const slot = this.allocate();
    const tail = this.#tail;
    this.#prev[slot] = tail;
    this.#next[slot] = NO_SLOT;
    if (tail === NO_SLOT) this.#head = slot;
    else this.#next[tail] = slot;
    this.#tail = slot;
    return slot;
  }

  /** Makes `slot` the most recently used. */
  touch(slot: number): void {
    const tail = this.#tail;
    if (slot === tail) return;
    const prev = this.#prev;
    const next = this.#next;
    // `slot` is not the tail, so it has a next.
    const before = prev[slot] as number;
    const after = next[slot] as number;
    if (before === NO_SLOT) this.#head = after;
    else next[before] = after;
    prev[after] = before;
    prev[slot] = tail;
    next[slot] = NO_SLOT;
    next[tail] = slot;
    this.#tail = slot;
  }

  /** Unlinks and frees `slot`. */
  remove(slot: number): void {
    const prev = this.#prev;
    const next = this.#next;
    const before = prev[slot] as number;
    const after = next[slot] as number;
    if (before === NO_SLOT) this.#head = after;
    else next[before] = after;
    if (after === NO_SLOT) this.#tail = before;
    else prev[after] = before;
    this.release(slot);
  }

  /** The least recently used slot. */
  victim(): number {
    return this.#head;
  }

  /** Removes and returns the least recently used slot. */
  evict(): number {
    const head = this.#head;
    if (head !== NO_SLOT) this.remove(head);
    return head;
  }

  /** LRU does not count uses: always 0. */
  uses(_slot: number): number {
    return 0;
  }

  /** Forgets every entry. */
  clear(): void {
    this.#head = this.#tail = NO_SLOT;
    this.releaseAll();
  }

  /** Least recently used first. */
  order(): number[] {
    const slots: number[] = [];
    for (let slot = this.#head; slot !== NO_SLOT; slot = this.#next[slot] as number)
      slots.push(slot);
    return slots;
  }

  protected grow(capacity: number): void {
    this.#prev = grown(this.#prev, capacity);
    this.#next = grown(this.#next, capacity);
  }
}
