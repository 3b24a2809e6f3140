import { type Executor, PRIORITIES, type Priority } from './types.js';

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

/** Throws a `RangeError` unless `value` is a finite integer >= `min`. */
export function assertFiniteCount(
  option: string,
  value: unknown,
  min: number,
): asserts value is number {
  if (!Number.isInteger(value) || (value as number) < min) {
    throw new RangeError(
      `${option} must be a finite integer >= ${min}; received ${describe(value)}`,
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

/** Throws a `RangeError` unless `value` is a number of milliseconds > 0 (Infinity allowed). */
export function assertPositiveDuration(option: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !(value > 0)) {
    throw new RangeError(
      `${option} must be a number of milliseconds > 0 (or Infinity); received ${describe(value)}`,
    );
  }
}

/**
 * The longest delay `setTimeout` and `setInterval` honour: 2^31 - 1 ms (about 24.8 days).
 * A longer one (`Infinity` included) fires after 1 ms, so timer options stop here.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Throws a `RangeError` unless `value` is a number of milliseconds a timer can wait: from
 * `0` (or above `0` when `positive`) to {@link MAX_TIMER_MS}, or `Infinity` (no timer at
 * all) when `infinity` allows it.
 */
export function assertTimerMs(
  option: string,
  value: unknown,
  { positive = false, infinity = false }: { positive?: boolean; infinity?: boolean } = {},
): asserts value is number {
  const ok =
    typeof value === 'number' &&
    (positive ? value > 0 : value >= 0) &&
    (value <= MAX_TIMER_MS || (infinity && value === Number.POSITIVE_INFINITY));
  if (!ok) {
    throw new RangeError(
      `${option} must be a number of milliseconds ${positive ? '> 0' : '>= 0'} and at most ${MAX_TIMER_MS} (the longest timer delay)${infinity ? ', or Infinity' : ''}; received ${describe(value)}`,
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

/** Throws a `TypeError` unless `value` is `true` or `false`. */
export function assertBoolean(option: string, value: unknown): asserts value is boolean {
  if (typeof value !== 'boolean') {
    throw new TypeError(`${option} must be true or false; received ${describe(value)}`);
  }
}

/** Throws a `TypeError` unless `value` is a string. */
export function assertString(option: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') {
    throw new TypeError(`${option} must be a string; received ${describe(value)}`);
  }
}

/** Throws a `TypeError` unless `value` is an object (not `null`, not an array). */
export function assertObject(option: string, value: unknown): asserts value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${option} must be an object; received ${describe(value)}`);
  }
}

/** Throws a `RangeError` unless `value` is a number from 0 to 1. */
export function assertRatio(option: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new RangeError(`${option} must be a number from 0 to 1; received ${describe(value)}`);
  }
}

/**
 * Throws a `TypeError` unless `value` is an object with every method of `methods`:
 * `what` says what it should be, as in "must be a Clock (an object with now())".
 */
export function assertMethods(
  option: string,
  value: unknown,
  methods: readonly string[],
  what: string,
): void {
  const ok =
    typeof value === 'object' &&
    value !== null &&
    methods.every((method) => typeof (value as Record<string, unknown>)[method] === 'function');
  if (!ok) throw new TypeError(`${option} must be ${what}; received ${describe(value)}`);
}

/** Throws a `TypeError` unless `value` is a clock: an object with `now()`. */
export function assertClock(option: string, value: unknown): void {
  assertMethods(option, value, ['now'], 'a clock (an object with now())');
}

/** Throws a `TypeError` unless `value` is an RxJS scheduler (`now()` and `schedule()`). */
export function assertScheduler(option: string, value: unknown): void {
  assertMethods(option, value, ['now', 'schedule'], 'an RxJS SchedulerLike (now() and schedule())');
}

/**
 * Throws a `TypeError` unless `value` is an {@link Executor}: `schedule()`, `stats()`, a
 * numeric `concurrency` and an `events$` stream.
 */
export function assertExecutor(option: string, value: unknown): asserts value is Executor {
  const executor = value as Partial<Executor> | null;
  const ok =
    typeof executor === 'object' &&
    executor !== null &&
    typeof executor.schedule === 'function' &&
    typeof executor.stats === 'function' &&
    typeof executor.concurrency === 'number' &&
    typeof executor.events$?.subscribe === 'function';
  if (!ok) {
    throw new TypeError(
      `${option} must be an Executor (see createExecutor); received ${describe(value)}`,
    );
  }
}

/** A short, safe rendering of a received option value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
