import { GraphCycleError, UnknownDependencyError } from '../errors.js';
import { type Priority, rank } from '../executor/types.js';
import { assertDuration, assertFunction, assertPriority, describe } from '../executor/validate.js';

/**
 * A task as the runtime sees it: results and dependencies untyped.
 *
 * @example
 * ```ts
 * const task: LooseTask = { deps: ['a'], run: () => [1] };
 * ```
 */
export interface LooseTask {
  readonly deps?: readonly string[];
  readonly run: (deps: never, signal: AbortSignal) => unknown;
  readonly key?: string | ((depKeys: never, deps: never) => string);
  readonly cost?: number;
  readonly locks?: readonly string[];
  readonly priority?: Priority;
  readonly label?: string;
  readonly ttl?: number;
}

/**
 * One task of a validated graph, with its edges as indices.
 *
 * @example
 * ```ts
 * const { deps, dependents, lane } = plan(tasks).nodes[0]!;
 * ```
 */
export interface PlanNode {
  readonly name: string;
  readonly index: number;
  readonly task: LooseTask;
  /** Indices of its dependencies (no duplicates). */
  readonly deps: readonly number[];
  /** Indices of the tasks that depend on it. */
  readonly dependents: number[];
  readonly locks: readonly string[];
  readonly priority: Priority;
  readonly lane: 0 | 1 | 2;
  readonly label: string;
}

/**
 * A validated graph: nodes in definition order, and a topological order (dependencies first).
 *
 * @example
 * ```ts
 * const { nodes, topo } = plan({ a: { run }, b: { deps: ['a'], run } }); // topo: [0, 1]
 * ```
 */
export interface Plan {
  readonly nodes: readonly PlanNode[];
  readonly topo: readonly number[];
}

/**
 * Validates a task map and resolves its edges. Throws `TypeError`/`RangeError` for a
 * malformed task, {@link UnknownDependencyError} for a missing dependency and
 * {@link GraphCycleError} for a cycle; runs nothing.
 *
 * @example
 * ```ts
 * plan({ a: { deps: ['b'], run }, b: { deps: ['a'], run } }); // throws GraphCycleError: a -> b -> a
 * ```
 */
export function plan(tasks: Readonly<Record<string, LooseTask>>): Plan {
  if (tasks === null || typeof tasks !== 'object' || Array.isArray(tasks)) {
    throw new TypeError(`tasks must be an object of tasks by name; received ${describe(tasks)}`);
  }
  const names = Object.keys(tasks);
  const indexOf = new Map<string, number>();
  names.forEach((name, index) => {
    indexOf.set(name, index);
  });
  const nodes: PlanNode[] = names.map((name, index) => {
    const task = tasks[name] as LooseTask;
    assertTask(name, task);
    const priority = task.priority ?? 'normal';
    return {
      name,
      index,
      task,
      deps: [],
      dependents: [],
      locks: [...new Set(task.locks ?? [])],
      priority,
      lane: rank(priority),
      label: task.label ?? name,
    };
  });
  for (const node of nodes) {
    const deps = node.deps as number[];
    for (const dep of node.task.deps ?? []) {
      const index = indexOf.get(dep);
      if (index === undefined) throw new UnknownDependencyError(node.name, dep);
      if (!deps.includes(index)) deps.push(index);
    }
  }
  const topo = topologicalOrder(nodes);
  for (const node of nodes) {
    for (const dep of node.deps) (nodes[dep] as PlanNode).dependents.push(node.index);
  }
  return { nodes, topo };
}

/**
 * Dependencies-first order by iterative depth-first search; throws a
 * {@link GraphCycleError} naming the first cycle met (tasks and deps in definition order).
 */
function topologicalOrder(nodes: readonly PlanNode[]): number[] {
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const color = new Uint8Array(nodes.length);
  const order: number[] = [];
  for (const root of nodes) {
    if (color[root.index] !== WHITE) continue;
    // The DFS path, with the next dependency to visit for each node on it.
    const path: number[] = [root.index];
    const next: number[] = [0];
    color[root.index] = GREY;
    while (path.length > 0) {
      const top = path.length - 1;
      const node = nodes[path[top] as number] as PlanNode;
      const i = next[top] as number;
      if (i < node.deps.length) {
        next[top] = i + 1;
        const dep = node.deps[i] as number;
        if (color[dep] === GREY) {
          const cycle = path.slice(path.indexOf(dep)).map((n) => (nodes[n] as PlanNode).name);
          throw new GraphCycleError(cycle);
        }
        if (color[dep] === WHITE) {
          color[dep] = GREY;
          path.push(dep);
          next.push(0);
        }
      } else {
        color[node.index] = BLACK;
        order.push(node.index);
        path.pop();
        next.pop();
      }
    }
  }
  return order;
}

function assertTask(name: string, task: unknown): asserts task is LooseTask {
  if (task === null || typeof task !== 'object') {
    throw new TypeError(
      `task ${JSON.stringify(name)} must be an object; received ${describe(task)}`,
    );
  }
  const t = task as Record<string, unknown>;
  const option = (field: string) => `task ${JSON.stringify(name)}: ${field}`;
  assertFunction(option('run'), t.run);
  if (t.deps !== undefined && !isStringArray(t.deps)) {
    throw new TypeError(
      `${option('deps')} must be an array of task names; received ${describe(t.deps)}`,
    );
  }
  if (t.locks !== undefined && !isStringArray(t.locks)) {
    throw new TypeError(
      `${option('locks')} must be an array of strings; received ${describe(t.locks)}`,
    );
  }
  if (t.key !== undefined && typeof t.key !== 'string' && typeof t.key !== 'function') {
    throw new TypeError(
      `${option('key')} must be a string or a function; received ${describe(t.key)}`,
    );
  }
  if (t.cost !== undefined) {
    assertDuration(option('cost'), t.cost);
    if (t.cost === Number.POSITIVE_INFINITY) {
      throw new RangeError(`${option('cost')} must be finite; received Infinity`);
    }
  }
  if (t.priority !== undefined) assertPriority(option('priority'), t.priority);
  if (t.label !== undefined && typeof t.label !== 'string') {
    throw new TypeError(`${option('label')} must be a string; received ${describe(t.label)}`);
  }
  if (t.ttl !== undefined) assertDuration(option('ttl'), t.ttl);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
