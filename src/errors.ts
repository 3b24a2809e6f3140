/**
 * Named error classes thrown or delivered by eed. Every class sets `name`, so logs, stack
 * traces and `error.name` show it (`structuredClone` keeps only the message: a clone's
 * `name` is `'Error'`).
 *
 * @example
 * ```ts
 * import { PreemptedError } from 'eed';
 * executor.schedule(work, { priority: 'background', preemptible: true }).subscribe({
 *   error: (e) => { if (e instanceof PreemptedError) retryLater(); },
 * });
 * ```
 * @module
 */

/**
 * The reason an eed `AbortSignal` carries when the result of a task is no longer
 * wanted (its subscriber left, or a short-circuit made it useless).
 *
 * @example
 * ```ts
 * const work = (signal: AbortSignal) => fetch(url, { signal });
 * // after unsubscribing: signal.reason instanceof AbortError === true
 * ```
 */
export class AbortError extends Error {
  override readonly name: string = 'AbortError';
  constructor(message = 'The task was aborted because its result is no longer wanted') {
    super(message);
  }
}

/**
 * Delivered to the subscriber of a preemptible task whose slot was taken by a waiting
 * task of higher priority. The task's signal is aborted with the same error.
 *
 * @example
 * ```ts
 * executor.schedule(work, { priority: 'background', preemptible: true })
 *   .pipe(retry({ delay: (e) => (e instanceof PreemptedError ? timer(100) : throwError(() => e)) }));
 * ```
 */
export class PreemptedError extends AbortError {
  override readonly name: string = 'PreemptedError';
  constructor(message = 'The task was preempted by a task of higher priority') {
    super(message);
  }
}

/**
 * Every item of a batch fails with this when `loadBatch` returned an array whose length
 * differs from the number of values it was given (or no array at all).
 *
 * @example
 * ```ts
 * // loadBatch(['a', 'b']) resolved to [1]:
 * // BatchLengthError: loadBatch returned 1 result for 2 values (expected 2)
 * ```
 */
export class BatchLengthError extends Error {
  override readonly name: string = 'BatchLengthError';
  constructor(
    readonly expected: number,
    received: unknown,
  ) {
    const got = Array.isArray(received)
      ? `${received.length} result${received.length === 1 ? '' : 's'}`
      : received === undefined
        ? 'nothing'
        : `a ${typeof received}, not an array`;
    super(`loadBatch returned ${got} for ${expected} values (expected ${expected})`);
  }
}

/**
 * An item of `batchMap` whose load failed (its result slot held an Error, or its whole
 * batch failed). Emitted in place of the item's result unless `onItemError` handles it.
 *
 * @example
 * ```ts
 * ids$.pipe(batchMap(loadUsers)).subscribe((user) => {
 *   if (user instanceof BatchItemError) console.warn('no user', user.value, user.cause);
 * });
 * ```
 */
export class BatchItemError<T = unknown> extends Error {
  override readonly name: string = 'BatchItemError';
  constructor(
    /** The input value whose load failed. */
    readonly value: T,
    cause: unknown,
  ) {
    super(
      `loading ${String(value)} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
      },
    );
  }
}

/**
 * Why a persistent cache entry was found unusable (see {@link CorruptEntryError}):
 * - `'truncated'`: the file is shorter than its header says (or than a header);
 * - `'garbage'`: it does not start with the entry format's magic bytes, or is longer than
 *   its header says;
 * - `'other-version'`: it was written in another version of the entry format;
 * - `'checksum'`: its bytes do not match the checksum in its header;
 * - `'undecodable'`: its payload could not be decompressed or deserialized.
 *
 * @example
 * ```ts
 * const reason: CorruptEntryReason = 'truncated';
 * ```
 */
export type CorruptEntryReason =
  | 'truncated'
  | 'garbage'
  | 'other-version'
  | 'checksum'
  | 'undecodable';

/**
 * A persistent cache entry (a file of `FileSystemStore`, a key of `RedisStore`, a record of
 * `IndexedDbStore`) could not be read back. The store treats it as a miss, removes it, and reports this error on its
 * `events$` (as a `'tier-error'` event); it is never thrown at a caller.
 *
 * @example
 * ```ts
 * store.events$.subscribe((event) => {
 *   if (event.type === 'tier-error' && event.error instanceof CorruptEntryError) {
 *     console.warn(`dropped ${event.error.location}: ${event.error.reason}`);
 *   }
 * });
 * ```
 */
export class CorruptEntryError extends Error {
  override readonly name: string = 'CorruptEntryError';
  /** The key the entry was read for (or the key its header names); `undefined` when unknown. */
  readonly key: string | undefined;
  /**
   * Where the entry was (a file path, `redis key "..."`, or `indexedDB <db>/<store>`);
   * `undefined` when not known.
   */
  readonly location: string | undefined;

  constructor(
    /** What is wrong with it. */
    readonly reason: CorruptEntryReason,
    /** A short description of what was found. */
    readonly detail: string,
    options: { key?: string; location?: string; cause?: unknown } = {},
  ) {
    const where = options.location === undefined ? '' : ` at ${options.location}`;
    const which = options.key === undefined ? '' : ` for key ${shortKey(options.key)}`;
    super(`cache entry${which}${where} is unusable (${reason}): ${detail}`, {
      cause: options.cause,
    });
    this.key = options.key;
    this.location = options.location;
  }
}

/**
 * A cache entry's values could not be serialized for a persistent store (they hold a
 * function, a symbol, a socket or another host object). The message names the key; the
 * store keeps nothing for it, and entries in faster tiers are unaffected.
 *
 * @example
 * ```ts
 * try {
 *   await store.set('handler', { values: [() => 1], storedAt: 0, expiresAt: Infinity, cost: 0, size: 0 });
 * } catch (error) {
 *   if (error instanceof UnserializableValueError) console.warn(error.key, error.message);
 * }
 * ```
 */
export class UnserializableValueError extends Error {
  override readonly name: string = 'UnserializableValueError';
  constructor(
    /** The key whose values could not be serialized. */
    readonly key: string,
    cause: unknown,
  ) {
    // V8's DataCloneError quotes the offending value's source ("() => 1 could not be
    // cloned."), which for a method can be long: keep its start and its end.
    const reason = (cause instanceof Error ? cause.message : String(cause)).replace(/\s+/g, ' ');
    const brief = reason.length > 140 ? `${reason.slice(0, 70)} ... ${reason.slice(-60)}` : reason;
    super(
      `cannot store the value of key ${shortKey(key)}: it is not serializable (${brief}). ` +
        'Persistent caches keep structured-clone values only (no functions, symbols, sockets or other host objects).',
      { cause },
    );
  }
}

/** A key for a message: JSON-quoted, cut short when long. */
function shortKey(key: string): string {
  const quoted = JSON.stringify(key);
  return quoted.length > 200 ? `${quoted.slice(0, 197)}..."` : quoted;
}

/**
 * Thrown by `runGraph` (before anything runs), and by `defineGraph().task()`, when a task
 * names a dependency the graph does not define.
 *
 * @example
 * ```ts
 * runGraph({ b: { deps: ['a'], run: () => [1] } });
 * // UnknownDependencyError: task "b" depends on "a", which is not a task of the graph
 * ```
 */
export class UnknownDependencyError extends Error {
  override readonly name: string = 'UnknownDependencyError';
  constructor(
    /** The task that names the missing dependency. */
    readonly task: string,
    /** The name that is not a task of the graph. */
    readonly dependency: string,
  ) {
    super(
      `task ${JSON.stringify(task)} depends on ${JSON.stringify(dependency)}, which is not a task of the graph`,
    );
  }
}

/**
 * Thrown by `runGraph` (before anything runs) when the dependencies form a cycle. The
 * message lists one cycle in order, `a -> b` meaning "a depends on b".
 *
 * @example
 * ```ts
 * runGraph({ a: { deps: ['b'], run }, b: { deps: ['c'], run }, c: { deps: ['a'], run } });
 * // GraphCycleError: task graph has a cycle: a -> b -> c -> a
 * ```
 */
export class GraphCycleError extends Error {
  override readonly name: string = 'GraphCycleError';
  constructor(
    /** The tasks of the cycle in dependency order; the first depends on the second, the last on the first. */
    readonly cycle: readonly string[],
  ) {
    super(`task graph has a cycle: ${[...cycle, cycle[0]].join(' -> ')}`);
  }
}

/**
 * Delivered to the subscribers of a run whose key another process executed and failed
 * (see `Coordinator`): the error crossed a process boundary, so only its name and message
 * survive. It is not cached; the next run of the key executes again.
 *
 * @example
 * ```ts
 * engine.run('report:7', work).subscribe({
 *   error: (e) => { if (e instanceof RemoteExecutionError) console.warn(e.remoteName, e.message); },
 * });
 * ```
 */
export class RemoteExecutionError extends Error {
  override readonly name: string = 'RemoteExecutionError';
  constructor(
    message: string,
    /** The `name` of the error the other process saw (`'TypeError'`, ...). */
    readonly remoteName: string,
  ) {
    super(message);
  }
}

/**
 * Thrown by every export of `eed/node` in a browser bundle, which gets a stub of that
 * entry point: the filesystem and Redis need Node.
 *
 * @example
 * ```ts
 * try {
 *   createNodeCache();
 * } catch (error) {
 *   if (error instanceof NodeOnlyError) useBrowserCache(); // error.exportName === 'createNodeCache'
 * }
 * ```
 */
export class NodeOnlyError extends Error {
  override readonly name: string = 'NodeOnlyError';
  constructor(
    /** The `eed/node` export that was used. */
    readonly exportName: string,
  ) {
    super(
      `eed/node is Node-only: ${exportName} is not available in a browser. ` +
        "Use the browser cache from 'eed' instead (MemoryStore, IndexedDbStore, TieredCache).",
    );
  }
}

/**
 * Every alternative failed: the error of `firstSuccess` when every inner failed (or the
 * source had none) and of `hedge` when every copy failed. An `AggregateError` whose
 * `errors` are the causes in input order (copies in start order), with the operator's
 * name.
 *
 * @example
 * ```ts
 * mirrors$.pipe(firstSuccess(fetchFrom)).subscribe({
 *   error: (e) => {
 *     if (e instanceof AllFailedError) console.error(e.operator, e.errors); // 'firstSuccess', [...]
 *   },
 * });
 * ```
 */
export class AllFailedError extends AggregateError {
  override readonly name: string = 'AllFailedError';
  constructor(
    /** The operator that gave up: `'firstSuccess'` or `'hedge'`. */
    readonly operator: 'firstSuccess' | 'hedge',
    errors: readonly unknown[],
    message: string,
  ) {
    super(errors, message);
  }
}
