import type { ObservableInput, OperatorFunction } from 'rxjs';
import { createEngine } from '../src/engine/createEngine.js';
import type { Engine } from '../src/engine/Engine.js';
import { type KeyedMapOptions, keyedMap } from '../src/engine/keyedInternals.js';
import { assertMethods } from '../src/executor/validate.js';

/**
 * Options of {@link dedupeMap}.
 *
 * @example
 * ```ts
 * const options: DedupeMapOptions = { engine, concurrency: 8 };
 * ```
 */
export interface DedupeMapOptions extends KeyedMapOptions {
  /**
   * Share executions and cache entries through this engine (with every other stream
   * using it). Default: a private engine per subscription, whose memory cache lives as
   * long as the subscription (like DataLoader's per-request cache) and whose executor
   * runs `concurrency` executions at once.
   */
  engine?: Engine;
}

/**
 * Like `parallelMap`, but values with equal keys share one execution: `project` runs
 * once per key while it is in flight or cached, and every value still gets its own
 * output (the shared result, deep-frozen).
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { dedupeMap } from 'eed/operators';
 *
 * from([{ id: 1 }, { id: 2 }, { id: 1 }])
 *   .pipe(dedupeMap((u) => `user:${u.id}`, (u, signal) => fetchUser(u.id, signal)))
 *   .subscribe(console.log); // three outputs, two fetches
 * ```
 * @param keyOf Names what a value computes: equal keys mean equal results.
 * @param project The work for a value; receives an AbortSignal.
 * @param options Engine, cap, priority, label, ordering; see {@link DedupeMapOptions}.
 * @returns An operator emitting one result per input value.
 */
export function dedupeMap<T, R>(
  keyOf: (value: T) => string,
  project: (value: T, signal: AbortSignal) => ObservableInput<R>,
  options: DedupeMapOptions = {},
): OperatorFunction<T, R> {
  const shared = options.engine;
  if (shared !== undefined) {
    assertMethods('dedupeMap: engine', shared, ['run'], 'an Engine (see createEngine)');
  }
  const concurrency = options.concurrency ?? 10;
  return keyedMap(
    'dedupeMap',
    keyOf,
    project,
    options,
    () => shared ?? createEngine({ executor: { concurrency }, metrics: false }),
  );
}
