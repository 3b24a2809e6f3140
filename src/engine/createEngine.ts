import { Engine } from './Engine.js';
import type { EngineOptions } from './options.js';

/**
 * Creates an {@link Engine}: an executor, keyed single-flight sharing, a cache and
 * metrics behind one `run(key, work)`.
 *
 * @example
 * ```ts
 * import { createEngine } from 'eed';
 *
 * const engine = createEngine({ executor: { concurrency: 4 }, ttl: 60_000 });
 * const user$ = engine.run('user:1', (signal) => fetch('/api/users/1', { signal }).then((r) => r.json()));
 * user$.subscribe(console.log); // runs the work
 * user$.subscribe(console.log); // joins it, or hits the cache: the work runs once
 * ```
 * @param options Executor, cache, TTL and clocks; see {@link EngineOptions}.
 * @returns A new engine.
 * @throws RangeError or TypeError when an option is invalid, naming it and the value received.
 */
export function createEngine(options?: EngineOptions): Engine {
  return new Engine(options);
}
