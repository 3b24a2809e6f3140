/** Bytes of a pointer-sized slot (an array element, a property value, a Map entry field). */
const SLOT = 8;
/** Bytes of an object header (map pointer, properties and elements pointers). */
const OBJECT_HEADER = 16;

/** Whether `value` is an object or function (counted once, by identity). */
function isReference(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/** Bytes a value takes in its own right, not counting what it references. */
function primitiveSize(value: unknown): number {
  switch (typeof value) {
    case 'string':
      // UTF-16 worst case plus a header; one-byte strings take half, which is fine for an estimate.
      return OBJECT_HEADER + 2 * (value as string).length;
    case 'number':
      return 8;
    case 'boolean':
      return 4;
    case 'bigint': {
      const bigint = value as bigint;
      const magnitude = bigint < 0n ? -bigint : bigint;
      // 8 bytes per 64-bit digit; `toString(16)` is only paid for bigints, which are rare.
      return OBJECT_HEADER + 8 * Math.ceil(Math.max(1, magnitude.toString(16).length) / 16);
    }
    case 'symbol':
      return OBJECT_HEADER;
    default:
      // undefined and null take no space of their own beyond the slot that holds them.
      return 0;
  }
}

/**
 * An approximate count of the bytes `value` keeps alive: the default `sizeOf` of
 * {@link MemoryStore} (applied to an entry's `values` array) and of the other stores.
 *
 * It walks the value once, iteratively (no stack overflow on deep nesting), counting every
 * object once however often it is referenced (so cycles and shared parts are fine). It
 * understands strings (2 bytes per UTF-16 unit), numbers, booleans, bigints, arrays, plain
 * objects and class instances (own enumerable properties), `Map`, `Set`, `Date`, `RegExp`,
 * `ArrayBuffer`, typed arrays and `DataView` (their buffer's `byteLength`), `Blob`
 * (`size`) and `Error` (message and stack). Functions count as a fixed 64 bytes and are not
 * walked. The result is an estimate of heap use, not an exact figure: use it to bound a
 * cache, not to account for memory to the byte.
 *
 * @param value - anything; usually an entry's `values` array.
 * @returns an integer >= 0.
 *
 * @example
 * ```ts
 * import { sizeOf } from 'eed';
 *
 * sizeOf('hello');                          // 26
 * sizeOf([1, 2, 3]);                        // 64
 * sizeOf(new Float64Array(1_000)) > 8_000;  // true
 * const a: { self?: unknown } = {};
 * a.self = a;
 * sizeOf(a);                                // finite: cycles are counted once
 * ```
 */
export function sizeOf(value: unknown): number {
  if (!isReference(value)) return primitiveSize(value);
  if (Array.isArray(value)) {
    // The common case (an entry's values are a few primitives) needs no walk and no Set.
    const flat = flatArraySize(value);
    if (flat >= 0) return flat;
  }
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  let total = 0;
  while (stack.length > 0) {
    const item = stack.pop();
    if (!isReference(item)) {
      total += primitiveSize(item);
      continue;
    }
    const object = item;
    if (seen.has(object)) continue;
    seen.add(object);
    total += objectSize(object, stack, seen);
  }
  return total;
}

/** Bytes of an array holding only primitives, as the walk counts them; -1 if it holds an object. */
function flatArraySize(array: readonly unknown[]): number {
  let size = OBJECT_HEADER + SLOT * array.length;
  for (let i = 0; i < array.length; i++) {
    const element: unknown = array[i];
    if (isReference(element)) return -1;
    size += primitiveSize(element);
  }
  return size;
}

/**
 * Bytes of `object` itself plus its primitive children; pushes its object children onto
 * `stack` (the caller counts each once).
 */
function objectSize(object: object, stack: unknown[], seen: Set<object>): number {
  if (typeof object === 'function') return 64;
  if (Array.isArray(object)) {
    let size = OBJECT_HEADER + SLOT * object.length;
    for (let i = 0; i < object.length; i++) {
      const element: unknown = object[i];
      if (isReference(element)) stack.push(element);
      else size += primitiveSize(element);
    }
    return size;
  }
  if (ArrayBuffer.isView(object)) {
    // Count the buffer once even if several views share it.
    const buffer = object.buffer;
    if (seen.has(buffer)) return 2 * OBJECT_HEADER;
    seen.add(buffer);
    return 2 * OBJECT_HEADER + buffer.byteLength;
  }
  if (object instanceof ArrayBuffer) return OBJECT_HEADER + object.byteLength;
  if (object instanceof Date) return OBJECT_HEADER + 8;
  if (object instanceof RegExp) return 2 * OBJECT_HEADER + primitiveSize(object.source);
  if (object instanceof Map) {
    for (const [key, entryValue] of object) stack.push(key, entryValue);
    return 2 * OBJECT_HEADER + 3 * SLOT * object.size;
  }
  if (object instanceof Set) {
    const size = 2 * OBJECT_HEADER + 2 * SLOT * object.size;
    for (const member of object) stack.push(member);
    return size;
  }
  if (typeof Blob !== 'undefined' && object instanceof Blob) return OBJECT_HEADER + object.size;
  let size = OBJECT_HEADER;
  if (object instanceof Error) {
    size += primitiveSize(object.message) + primitiveSize(object.stack);
  }
  const record = object as Record<string, unknown>;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    // Property names are usually interned and shared between objects: count them at half.
    size += SLOT + key.length;
    const property = record[key];
    if (isReference(property)) stack.push(property);
    else size += primitiveSize(property);
  }
  return size;
}
