/** Marks an empty cell: NaN equals no key, so a probe never mistakes it for one. */
const EMPTY = Number.NaN;

/** Fibonacci hashing multiplier (2^32 / golden ratio). */
const GOLDEN = 0x9e3779b1;

/**
 * A set of numbers (meant for integer ids) in an open-addressing hash table of a
 * `Float64Array`, with linear probing and backward-shift deletion (no tombstones). Unlike
 * a `Set<number>`, whose table V8 reallocates every few deletions when ids keep changing
 * (tasks that start and end), adding and deleting allocate nothing once the table has
 * grown to the largest size the set reached. `NaN` cannot be stored: adding it does
 * nothing.
 *
 * @example
 * ```ts
 * const running = new NumberSet();
 * running.add(7);
 * running.has(7); // true
 * running.delete(7); // true
 * running.size; // 0
 * ```
 */
export class NumberSet {
  #keys = new Float64Array(16).fill(EMPTY);
  /** `#keys.length - 1`; the length is a power of two. */
  #mask = 15;
  /** `32 - log2(#keys.length)`: the hash keeps the top bits of the product. */
  #shift = 28;
  #size = 0;

  /** How many numbers the set holds. */
  get size(): number {
    return this.#size;
  }

  /** Whether `key` is in the set. */
  has(key: number): boolean {
    const keys = this.#keys;
    for (let i = this.#home(key); ; i = (i + 1) & this.#mask) {
      const k = keys[i] as number;
      if (k === key) return true;
      if (Number.isNaN(k)) return false;
    }
  }

  /** Adds `key` (a no-op if present, or NaN). */
  add(key: number): void {
    if (Number.isNaN(key)) return;
    const keys = this.#keys;
    let i = this.#home(key);
    for (;;) {
      const k = keys[i] as number;
      if (k === key) return;
      if (Number.isNaN(k)) break;
      i = (i + 1) & this.#mask;
    }
    keys[i] = key;
    // Keep the table at most half full, so probes stay short.
    if (++this.#size * 2 > keys.length) this.#grow();
  }

  /** Removes `key`; returns whether it was there. */
  delete(key: number): boolean {
    const keys = this.#keys;
    const mask = this.#mask;
    let hole = this.#home(key);
    for (;;) {
      const k = keys[hole] as number;
      if (k === key) break;
      if (Number.isNaN(k)) return false;
      hole = (hole + 1) & mask;
    }
    // Shift later keys of the probe run back into the hole when their home does not lie
    // (cyclically) between the hole and their cell, so every key stays reachable.
    for (let i = (hole + 1) & mask; ; i = (i + 1) & mask) {
      const k = keys[i] as number;
      if (Number.isNaN(k)) break;
      const home = this.#home(k);
      const stays = hole <= i ? hole < home && home <= i : hole < home || home <= i;
      if (!stays) {
        keys[hole] = k;
        hole = i;
      }
    }
    keys[hole] = EMPTY;
    this.#size--;
    return true;
  }

  /** Removes every number (the capacity is kept). */
  clear(): void {
    this.#keys.fill(EMPTY);
    this.#size = 0;
  }

  /** The cell a key's probe starts at: integers by Fibonacci hashing, others by their bits. */
  #home(key: number): number {
    const bits = key === (key | 0) ? key : hashDouble(key);
    return Math.imul(bits, GOLDEN) >>> this.#shift;
  }

  #grow(): void {
    const old = this.#keys;
    this.#keys = new Float64Array(old.length * 2).fill(EMPTY);
    this.#mask = this.#keys.length - 1;
    this.#shift--;
    for (let j = 0; j < old.length; j++) {
      const key = old[j] as number;
      if (Number.isNaN(key)) continue;
      let i = this.#home(key);
      while (!Number.isNaN(this.#keys[i] as number)) i = (i + 1) & this.#mask;
      this.#keys[i] = key;
    }
  }
}

const scratch = new Float64Array(1);
const scratchWords = new Int32Array(scratch.buffer);

/** 32 bits of a double that is not a 32-bit integer (so neither 0 nor -0). */
function hashDouble(key: number): number {
  scratch[0] = key;
  return (scratchWords[0] as number) ^ (scratchWords[1] as number);
}
