import {
  createExecutor,
  type GraphEvent,
  type GraphState,
  graphState$,
  initialGraphState,
  reduceGraphState,
  runGraph,
} from 'eed';
import { describe, expect, it } from 'vitest';
import { Gates, manualClock } from './helpers.js';

describe('graphState$', () => {
  it('folds events into immutable snapshots: status, timings, value or error, counts', () => {
    const clock = manualClock();
    const gates = new Gates();
    const states: GraphState[] = [];
    let error: unknown;
    graphState$(
      runGraph(
        { a: gates.task('a'), b: gates.task('b'), c: gates.task('c', { deps: ['a'] }) },
        { executor: createExecutor({ concurrency: 2 }), clock, failFast: false },
      ),
    ).subscribe({ next: (s) => states.push(s), error: (e: unknown) => (error = e) });

    const first = states[0] as GraphState;
    expect(first.status).toBe('running');
    expect(first.order).toEqual(['a', 'b', 'c']);
    expect(first.counts).toEqual({ pending: 3, running: 0, succeeded: 0, failed: 0, skipped: 0 });
    let state = states.at(-1) as GraphState;
    expect(state.counts).toMatchObject({ pending: 1, running: 2 });
    expect(state.tasks.a).toMatchObject({ status: 'running', startedAt: 0 });

    clock.advance(3);
    gates.finish('a', { answer: 42 });
    state = states.at(-1) as GraphState;
    expect(state.tasks.a).toMatchObject({
      status: 'succeeded',
      startedAt: 0,
      endedAt: 3,
      durationMs: 3,
      value: { answer: 42 },
      executed: true,
    });
    expect(state.tasks.c?.status).toBe('running');

    const boom = new Error('boom');
    clock.advance(1);
    gates.fail('b', boom);
    state = states.at(-1) as GraphState;
    expect(state.tasks.b).toMatchObject({ status: 'failed', error: boom, endedAt: 4 });
    gates.finish('c');
    state = states.at(-1) as GraphState;
    expect(state.status).toBe('failed');
    expect(state.endedAt).toBe(4);
    expect(state.counts).toEqual({ pending: 0, running: 0, succeeded: 2, failed: 1, skipped: 0 });
    expect(error).toBeUndefined();

    // Immutable, and what did not change keeps its identity (cheap UI diffing).
    expect(Object.isFrozen(state)).toBe(true);
    expect(Object.isFrozen(state.tasks.a)).toBe(true);
    const i = states.findIndex((s) => s.tasks.b?.status === 'failed');
    expect(states[i]?.tasks.a).toBe(states[i - 1]?.tasks.a);
    expect(states[i]?.tasks.b).not.toBe(states[i - 1]?.tasks.b);
  });

  it('records skipped tasks with their reason and cause', () => {
    const events: GraphEvent[] = [
      { type: 'graph-started', time: 0, tasks: ['x', 'y'] },
      { type: 'task-started', task: 'x', time: 1, key: undefined, label: 'x', priority: 'normal' },
      {
        type: 'task-failed',
        task: 'x',
        time: 2,
        startedAt: 1,
        durationMs: 1,
        key: undefined,
        error: 'e',
        executed: true,
      },
      { type: 'task-skipped', task: 'y', time: 2, reason: 'dependency-failed', cause: 'x' },
    ];
    const state = events.reduce(reduceGraphState, initialGraphState());
    expect(state.tasks.y).toMatchObject({
      status: 'skipped',
      skipReason: 'dependency-failed',
      cause: 'x',
    });
    expect(state.counts).toMatchObject({ failed: 1, skipped: 1, pending: 0 });
  });

  it('never changes the state it is given', () => {
    const initial = initialGraphState();
    const next = reduceGraphState(initial, { type: 'graph-started', time: 0, tasks: ['a'] });
    expect(initial.status).toBe('pending');
    expect(initial.order).toEqual([]);
    expect(next.status).toBe('running');
  });

  it('learns tasks from events when graph-started is missing', () => {
    const state = reduceGraphState(initialGraphState(), {
      type: 'task-started',
      task: 'late',
      time: 5,
      key: undefined,
      label: 'late',
      priority: 'normal',
    });
    expect(state.order).toEqual(['late']);
    expect(state.counts).toMatchObject({ running: 1, pending: 0 });
  });
});
