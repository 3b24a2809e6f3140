import { UnknownDependencyError } from '../errors.js';
import { describe } from '../executor/validate.js';
import type { LooseTask } from './plan.js';
import type { GraphTask } from './types.js';

/**
 * A task graph built one task at a time by {@link defineGraph}: each task may only
 * depend on tasks defined before it, so its `deps` argument is fully typed at any depth
 * and the graph cannot have a cycle. Immutable: `task()` returns a new graph.
 *
 * @example
 * ```ts
 * const graph = defineGraph()
 *   .task('fetchUser', { run: (_, signal) => getUser(1, signal) })
 *   .task('fetchPosts', { deps: ['fetchUser'], run: ({ fetchUser }, signal) => getPosts(fetchUser.id, signal) });
 * runGraph(graph, { engine }).subscribe(console.log);
 * ```
 */
export class GraphBuilder<R = Record<never, never>> {
  /** The tasks so far, by name, in definition order (dependencies untyped). */
  readonly tasks: Readonly<Record<string, GraphTask>>;

  /** @internal Use {@link defineGraph}. */
  constructor(tasks: Readonly<Record<string, GraphTask>> = {}) {
    this.tasks = tasks;
  }

  /**
   * A new graph with one more task. `deps` may name only tasks defined before, and the
   * `deps` argument of `run` holds their results with their types.
   *
   * @example
   * ```ts
   * defineGraph()
   *   .task('a', { run: () => Promise.resolve(2) })
   *   .task('b', { deps: ['a'], run: ({ a }) => [a * 21] }); // a: number
   * ```
   * @throws TypeError when a task named `name` exists or `deps` is not an array of task
   *   names; {@link UnknownDependencyError} when `deps` names an undefined task.
   */
  task<N extends string, const D extends keyof R = never, T = unknown>(
    name: N & (N extends keyof R ? never : N),
    task: GraphTask<R, D, T>,
  ): GraphBuilder<{ [P in keyof R | N]: P extends keyof R ? R[P] : T }> {
    if (typeof name !== 'string') {
      throw new TypeError(`a task name must be a string; received ${typeof name}`);
    }
    if (Object.hasOwn(this.tasks, name)) {
      throw new TypeError(`task ${JSON.stringify(name)} is already defined`);
    }
    const deps: unknown = (task as LooseTask | undefined)?.deps;
    if (deps !== undefined && !isStringArray(deps)) {
      throw new TypeError(
        `task ${JSON.stringify(name)}: deps must be an array of task names; received ${describe(deps)}`,
      );
    }
    for (const dep of deps ?? []) {
      if (!Object.hasOwn(this.tasks, dep)) throw new UnknownDependencyError(name, String(dep));
    }
    return new GraphBuilder({ ...this.tasks, [name]: task as unknown as GraphTask });
  }
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/**
 * Starts an empty, fully typed task graph; add tasks with `.task(name, task)` and pass
 * the result to {@link runGraph}. Prefer it over a plain object when a task's result
 * feeds a task that feeds another: a plain object types `deps` only one level deep.
 *
 * @example
 * ```ts
 * import { createEngine, defineGraph, runGraph } from 'eed';
 *
 * const graph = defineGraph()
 *   .task('manifest', { key: 'manifest@1', run: (_, signal) => readManifest(signal) })
 *   .task('resolve', {
 *     deps: ['manifest'],
 *     key: (k) => `resolve:${k.manifest}`,
 *     run: ({ manifest }, signal) => resolveVersions(manifest.dependencies, signal),
 *   })
 *   .task('audit', { deps: ['resolve'], run: ({ resolve }, signal) => audit(resolve, signal) });
 * runGraph(graph, { engine: createEngine() }).subscribe((e) => console.log(e.type));
 * ```
 * @returns An empty {@link GraphBuilder}.
 */
export function defineGraph(): GraphBuilder {
  return new GraphBuilder();
}
