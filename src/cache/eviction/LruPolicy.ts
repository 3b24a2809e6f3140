import { grown, SlotPolicy } from './SlotPolicy.js';
import { NO_SLOT } from './types.js';

/** Offsets in {@link LruPolicy}'s links: a slot's `prev` is at `2 * slot`, its `next` after it. */
const PREV = 0;
const NEXT = 1;

/**
 * Least-recently-used eviction in O(1): a doubly linked list through one typed array
 * (`prev` and `next` of a slot side by side, so reading both is one cache line), least
 * recently used at the head. A hit moves the slot to the tail with a handful of array
 * writes and no allocation.
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
  #links = new Int32Array(0);
  #head = NO_SLOT;
  #tail = NO_SLOT;

  /** Tracks a new entry as the most recently used; `cost`, `size` and `uses` are ignored. */
  link(slot: number, _cost: number, _size: number, _uses?: number): void {
    this.tracked();
    const links = this.#links;
    const tail = this.#tail;
    links[2 * slot + PREV] = tail;
    links[2 * slot + NEXT] = NO_SLOT;
    if (tail === NO_SLOT) this.#head = slot;
    else links[2 * tail + NEXT] = slot;
    this.#tail = slot;
  }

  /** Makes `slot` the most recently used. */
  touch(slot: number): void {
    const tail = this.#tail;
    if (slot === tail) return;
    const links = this.#links;
    // `slot` is not the tail, so it has a next.
    const before = links[2 * slot + PREV] as number;
    const after = links[2 * slot + NEXT] as number;
    if (before === NO_SLOT) this.#head = after;
    else links[2 * before + NEXT] = after;
    links[2 * after + PREV] = before;
    links[2 * slot + PREV] = tail;
    links[2 * slot + NEXT] = NO_SLOT;
    links[2 * tail + NEXT] = slot;
    this.#tail = slot;
  }

  /** An overwrite is a use: makes `slot` the most recently used; `cost` and `size` are ignored. */
  replace(slot: number, _cost: number, _size: number): void {
    this.touch(slot);
  }

  /** Unlinks and frees `slot`. */
  remove(slot: number): void {
    const links = this.#links;
    const before = links[2 * slot + PREV] as number;
    const after = links[2 * slot + NEXT] as number;
    if (before === NO_SLOT) this.#head = after;
    else links[2 * before + NEXT] = after;
    if (after === NO_SLOT) this.#tail = before;
    else links[2 * after + PREV] = before;
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
    for (let slot = this.#head; slot !== NO_SLOT; slot = this.#links[2 * slot + NEXT] as number)
      slots.push(slot);
    return slots;
  }

  protected grow(capacity: number): void {
    this.#links = grown(this.#links, 2 * capacity);
  }
}
