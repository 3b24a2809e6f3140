import { PRIORITIES, type Priority } from './types.js';

/** Throws a `RangeError` unless `value` is an integer >= `min` (or Infinity when allowed). */
export function assertCount(
  option: string,
  value: unknown,
  min: number,
  max = Number.POSITIVE_INFINITY,
): asserts value is number {
  const ok =
    typeof value === 'number' &&
    (Number.isInteger(value) || value === Number.POSITIVE_INFINITY) &&
    value >= min &&
    value <= max;
  if (!ok) {
    const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `between ${min} and ${max}`;
    throw new RangeError(
      `${option} must be an integer ${range}${max === Number.POSITIVE_INFINITY ? ' (or Infinity)' : ''}; received ${describe(value)}`,
    );
  }
}

/** Throws a `RangeError` unless `value` is a number >= 0 (Infinity allowed). */
export function assertDuration(option: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new RangeError(
      `${option} must be a number of milliseconds >= 0; received ${describe(value)}`,
    );
  }
}

/** Throws a `TypeError` unless `value` is one of the three priorities. */
export function assertPriority(option: string, value: unknown): asserts value is Priority {
  if (!PRIORITIES.includes(value as Priority)) {
    throw new TypeError(
      `${option} must be one of ${PRIORITIES.map((p) => `'${p}'`).join(', ')}; received ${describe(value)}`,
    );
  }
}

/** Throws a `TypeError` unless `value` is a function. */
export function assertFunction(option: string, value: unknown): void {
  if (typeof value !== 'function') {
    throw new TypeError(`${option} must be a function; received ${describe(value)}`);
  }
}

/** A short, safe rendering of a received option value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
