/**
 * A growable circular FIFO queue of numbers in a `Float64Array`: O(1) amortised `push` and
 * `shift`, and unlike a `RingBuffer<number>` (a generic array, where a double is a boxed
 * heap number) neither allocates once the queue has grown to its working size.
 *
 * @example
 * ```ts
 * const q = new Float64Queue();
 * q.push(1.5); q.push(2);
 * q.shift(); // 1.5
 * q.shift(); // 2
 * q.shift(); // undefined
 * ```
 */
export class Float64Queue {
  #items = new Float64Array(16);
  #head = 0;
  #size = 0;

  /** How many numbers are queued. */
  get size(): number {
    return this.#size;
  }

  /** Appends a number. */
  push(value: number): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) & (this.#items.length - 1)] = value;
    this.#size++;
  }

  /** Removes and returns the oldest number (undefined when empty). */
  shift(): number | undefined {
    if (this.#size === 0) return undefined;
    const value = this.#items[this.#head] as number;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#size--;
    return value;
  }

  /** Drops every number (the capacity is kept). */
  clear(): void {
    this.#head = 0;
    this.#size = 0;
  }

  #grow(): void {
    const old = this.#items;
    const items = new Float64Array(old.length * 2);
    for (let i = 0; i < this.#size; i++)
      items[i] = old[(this.#head + i) & (old.length - 1)] as number;
    this.#items = items;
    this.#head = 0;
  }
}
