import {
  defineGraph,
  type GraphEvent,
  type GraphState,
  type GraphTask,
  graphState$,
  runGraph,
} from 'eed';
import type { Observable } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';

interface User {
  id: number;
  name: string;
}

describe('runGraph typing', () => {
  it('types the deps argument from a defineGraph builder, at any depth', () => {
    const graph = defineGraph()
      .task('fetchUser', { run: (_deps, _signal) => Promise.resolve<User>({ id: 1, name: 'Ada' }) })
      .task('fetchPosts', {
        deps: ['fetchUser'],
        run: ({ fetchUser }, signal) => {
          expectTypeOf(fetchUser).toEqualTypeOf<User>();
          expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
          return Promise.resolve([`post of ${fetchUser.name}`]);
        },
        key: (depKeys, deps) => {
          expectTypeOf(depKeys).toEqualTypeOf<{ readonly fetchUser: string | undefined }>();
          expectTypeOf(deps.fetchUser).toEqualTypeOf<User>();
          return `posts:${depKeys.fetchUser}`;
        },
      })
      .task('summary', {
        deps: ['fetchPosts', 'fetchUser'],
        run: (deps) => {
          expectTypeOf(deps).toEqualTypeOf<{
            readonly fetchPosts: string[];
            readonly fetchUser: User;
          }>();
          return [deps.fetchPosts.length];
        },
      });
    const events$ = runGraph(graph);
    type R = { fetchUser: User; fetchPosts: string[]; summary: number };
    expectTypeOf(events$).toEqualTypeOf<Observable<GraphEvent<R>>>();
    events$.subscribe((event) => {
      if (event.type === 'task-succeeded' && event.task === 'fetchUser') {
        expectTypeOf(event.value).toEqualTypeOf<User>();
      }
      if (event.type === 'graph-completed') {
        expectTypeOf(event.results.summary).toEqualTypeOf<number | undefined>();
      }
    });
    graphState$(events$).subscribe((state) => {
      expectTypeOf(state).toEqualTypeOf<GraphState<R>>();
      expectTypeOf(state.tasks.fetchPosts.value).toEqualTypeOf<string[] | undefined>();
    });
  });

  it('the builder rejects unknown dependencies and duplicate names at compile time', () => {
    const graph = defineGraph().task('a', { run: () => [1] });
    // Type-level only: these would also throw at run time.
    const _compileOnly = () => {
      // @ts-expect-error 'zzz' is not a task defined before
      graph.task('b', { deps: ['zzz'], run: () => [1] });
      // @ts-expect-error 'a' is already defined
      graph.task('a', { run: () => [2] });
      // @ts-expect-error a dependency must be a task name
      graph.task('c', { deps: [1], run: () => [1] });
    };
    expectTypeOf(_compileOnly).toBeFunction();
  });

  it('types a plain object one level deep', () => {
    runGraph({
      fetchUser: { run: () => Promise.resolve<User>({ id: 1, name: 'Ada' }) },
      fetchPosts: {
        deps: ['fetchUser'],
        run: ({ fetchUser }) => {
          expectTypeOf(fetchUser).toEqualTypeOf<User>();
          return [fetchUser.name];
        },
      },
    });
  });

  it('accepts graphs built at run time', () => {
    const tasks: Record<string, GraphTask> = {};
    tasks.x = { run: () => [1] };
    tasks.y = { deps: ['x'], run: (deps) => [deps.x] };
    expectTypeOf(runGraph(tasks)).toEqualTypeOf<Observable<GraphEvent<Record<string, unknown>>>>();
  });
});
