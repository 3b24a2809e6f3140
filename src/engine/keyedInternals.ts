import { Observable, type ObservableInput, type OperatorFunction } from 'rxjs';
import { createExecutor } from '../executor/createExecutor.js';
import { parallelInternals } from '../executor/parallelInternals.js';
import type { Priority } from '../executor/types.js';
import {
  assertBoolean,
  assertCount,
  assertFunction,
  assertPriority,
  assertString,
} from '../executor/validate.js';
import type { Engine } from './Engine.js';

/**
 * Options shared by the keyed operators (`dedupeMap`, `cacheMap`).
 *
 * @example
 * ```ts
 * const options: KeyedMapOptions = { concurrency: 4, priority: 'critical', ordered: true };
 * ```
 */
export interface KeyedMapOptions {
  /** The most inputs this operator waits on at once (joined ones included). Default 10. */
  concurrency?: number;
  /** The lane executions wait in. Default `'normal'`. */
  priority?: Priority;
  /** A name for events, metrics and traces. */
  label?: string;
  /** Emit results in input order. Default `false`. */
  ordered?: boolean;
}

/**
 * Builds a keyed operator: each value runs as `engine.run(keyOf(value), ...)`, so values
 * with equal keys share one execution (and its cache entry), while each value still gets
 * its own output. `engineFor` returns the engine for one subscription of the output.
 *
 * @example
 * ```ts
 * return keyedMap('dedupeMap', keyOf, project, options, () => engine);
 * ```
 */
export function keyedMap<T, R>(
  operator: string,
  keyOf: (value: T) => string,
  project: (value: T, signal: AbortSignal) => ObservableInput<R>,
  options: KeyedMapOptions,
  engineFor: () => Engine,
): OperatorFunction<T, R> {
  assertFunction(`${operator}: keyOf`, keyOf);
  assertFunction(`${operator}: project`, project);
  const concurrency = options.concurrency ?? 10;
  assertCount(`${operator}: concurrency`, concurrency, 1);
  const priority = options.priority ?? 'normal';
  assertPriority(`${operator}: priority`, priority);
  if (options.label !== undefined) assertString(`${operator}: label`, options.label);
  if (options.ordered !== undefined) assertBoolean(`${operator}: ordered`, options.ordered);
  const ordered = options.ordered === true;
  const runOptions = { priority, label: options.label };
  return (source) =>
    new Observable<R>((subscriber) => {
      const engine = engineFor();
      // The engine's executor caps executions; this cap only bounds how many inputs
      // wait at once, so the private executor below never makes anything wait.
      const settings = {
        concurrency,
        executor: createExecutor({ concurrency, backgroundConcurrency: concurrency }),
        priority: 'normal' as const,
        label: options.label,
      };
      return parallelInternals(source, subscriber, settings, {
        ordered,
        project: (value) =>
          engine.run<R>(keyOf(value), (signal) => project(value, signal), runOptions),
      });
    });
}
