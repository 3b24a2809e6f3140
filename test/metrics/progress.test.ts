import {
  createEngine,
  createExecutor,
  type ExecutionEvent,
  type Priority,
  type ProgressSnapshot,
  progress$,
} from 'eed';
import { asyncScheduler, lastValueFrom, map, Subject, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const clock = { now: () => Date.now() };

/** Executor events by hand, for task `id` of executor 1. */
const fields = (taskId: number, priority: Priority = 'normal') => ({
  time: Date.now(),
  taskId,
  label: undefined,
  priority,
  executorId: 1,
});
const queued = (id: number): ExecutionEvent => ({
  type: 'queued',
  ...fields(id),
  preemptible: false,
});
const started = (id: number): ExecutionEvent => ({
  type: 'started',
  ...fields(id),
  slot: 0,
  preemptible: false,
  expectedMs: undefined,
});
const completed = (id: number): ExecutionEvent => ({ type: 'completed', ...fields(id), slot: 0 });
const failed = (id: number): ExecutionEvent => ({
  type: 'failed',
  ...fields(id),
  slot: 0,
  error: new Error('x'),
});
const preempted = (id: number): ExecutionEvent => ({ type: 'preempted', ...fields(id), slot: 0 });
const cancelled = (id: number, slot?: number): ExecutionEvent => ({
  type: 'cancelled',
  ...fields(id),
  slot,
});

/** Subscribes `progress$` to a Subject the test drives; `snapshots` collects what it emits. */
function watch(options: Omit<Parameters<typeof progress$>[1], 'clock'>) {
  const events = new Subject<ExecutionEvent>();
  const snapshots: ProgressSnapshot[] = [];
  let completed = false;
  let error: unknown;
  const subscription = progress$(events, { clock, ...options }).subscribe({
    next: (s) => snapshots.push(s),
    complete: () => {
      completed = true;
    },
    error: (e: unknown) => {
      error = e;
    },
  });
  return {
    events,
    snapshots,
    subscription,
    last: () => snapshots[snapshots.length - 1]!,
    get completed() {
      return completed;
    },
    get error() {
      return error;
    },
    send: (...list: ExecutionEvent[]) => {
      for (const e of list) events.next(e);
    },
  };
}

describe('progress$', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('emits a snapshot at once, then at most one per intervalMs, and a last one at the end', () => {
    const w = watch({ total: 3, intervalMs: 100 });
    expect(w.snapshots).toEqual([
      {
        total: 3,
        done: 0,
        failed: 0,
        cancelled: 0,
        preempted: 0,
        running: 0,
        queued: 0,
        percent: 0,
        ratePerSecond: 0,
        etaMs: undefined,
        elapsedMs: 0,
      },
    ]);
    w.send(queued(1), queued(2), queued(3), started(1));
    vi.advanceTimersByTime(50);
    w.send(started(2));
    expect(w.snapshots).toHaveLength(1); // throttled: the last one is younger than 100 ms
    vi.advanceTimersByTime(50);
    expect(w.snapshots).toHaveLength(2);
    expect(w.last()).toMatchObject({ queued: 1, running: 2, elapsedMs: 100 });
    vi.advanceTimersByTime(1000); // nothing happens: no snapshot while no events flow
    expect(w.snapshots).toHaveLength(2);
    w.send(completed(1)); // the last snapshot is old: shown at once
    expect(w.snapshots).toHaveLength(3);
    expect(w.last()).toMatchObject({ done: 1, running: 1, elapsedMs: 1100 });
    vi.advanceTimersByTime(10);
    w.send(started(3), failed(2));
    expect(w.snapshots).toHaveLength(3);
    vi.advanceTimersByTime(10);
    w.send(completed(3)); // done + failed reaches total: last snapshot now, then complete
    expect(w.snapshots).toHaveLength(4);
    expect(w.completed).toBe(true);
    expect(w.last()).toMatchObject({
      done: 2,
      failed: 1,
      running: 0,
      queued: 0,
      percent: 100,
      etaMs: 0,
      elapsedMs: 1120,
    });
    expect(w.events.observed).toBe(false); // it let go of the source
    vi.advanceTimersByTime(1000);
    expect(w.snapshots).toHaveLength(4); // no late throttled emission
  });

  it('computes rate over the sliding window and ETA = remaining / rate', () => {
    const w = watch({ total: 10, intervalMs: 0, windowMs: 5000 });
    expect(w.last().etaMs).toBeUndefined();
    vi.advanceTimersByTime(1000);
    w.send(started(1), started(2));
    expect(w.last()).toMatchObject({ running: 2, ratePerSecond: 0, etaMs: undefined });
    w.send(completed(1), completed(2));
    // 2 finished in the 1 s since subscribing: 2/s; 8 left: 4 s.
    expect(w.last()).toMatchObject({ done: 2, percent: 20, ratePerSecond: 2, etaMs: 4000 });
    vi.advanceTimersByTime(2000);
    w.send(started(3), started(4), completed(3), failed(4));
    // 4 finished in 3 s: 4/3 per s; 6 left: 4.5 s.
    expect(w.last().ratePerSecond).toBeCloseTo(4 / 3, 10);
    expect(w.last().etaMs).toBeCloseTo(4500, 6);
    expect(w.last().percent).toBe(40);
    vi.advanceTimersByTime(3000); // t = 6000: the finishes of t = 1000 left the window
    w.send(started(5));
    // 2 finished within (1000, 6000]: 2 / 5 s = 0.4/s; 6 left: 15 s.
    expect(w.last().ratePerSecond).toBeCloseTo(0.4, 10);
    expect(w.last().etaMs).toBeCloseTo(15_000, 6);
    vi.advanceTimersByTime(5000); // nothing finished within the window: rate unknown again
    w.send(queued(6));
    expect(w.last()).toMatchObject({ ratePerSecond: 0, etaMs: undefined, elapsedMs: 11_000 });
  });

  it('counts preempted tasks as not finished by default, or as failed on request', () => {
    const retried = watch({ total: 1, intervalMs: 0 });
    retried.send(queued(1), started(1), preempted(1));
    expect(retried.last()).toMatchObject({ preempted: 1, failed: 0, running: 0, percent: 0 });
    expect(retried.completed).toBe(false);
    retried.send(queued(2), started(2), completed(2)); // the retry is a new task
    expect(retried.last()).toMatchObject({ done: 1, preempted: 1, percent: 100 });
    expect(retried.completed).toBe(true);

    const failing = watch({ total: 1, intervalMs: 0, preempted: 'failed' });
    failing.send(queued(1), started(1), preempted(1));
    expect(failing.last()).toMatchObject({ preempted: 1, failed: 1, percent: 100 });
    expect(failing.completed).toBe(true);
  });

  it('counts cancellations of queued and running tasks as cancelled, not finished', () => {
    const w = watch({ total: 2, intervalMs: 0 });
    w.send(queued(1), queued(2), started(1), cancelled(2), cancelled(1, 0));
    expect(w.last()).toMatchObject({ cancelled: 2, queued: 0, running: 0, done: 0, percent: 0 });
    expect(w.completed).toBe(false);
  });

  it('counts only while subscribed, and ignores engine and unknown events', () => {
    const events = new Subject<ExecutionEvent>();
    const progress = progress$(events, { total: 5, clock, intervalMs: 0 });
    events.next(completed(1)); // nobody listens: not counted
    expect(events.observed).toBe(false);
    const snapshots: ProgressSnapshot[] = [];
    const subscription = progress.subscribe((s) => snapshots.push(s));
    events.next({ type: 'cache-hit', time: 0, key: 'k', label: undefined, tier: 0 });
    events.next({ type: 'short-circuit', time: 0, key: 'k' } as unknown as ExecutionEvent);
    expect(snapshots).toHaveLength(1);
    events.next(completed(2));
    expect(snapshots.at(-1)).toMatchObject({ done: 1 });
    subscription.unsubscribe();
    expect(events.observed).toBe(false);
  });

  it('publishes frozen snapshots', () => {
    const w = watch({ total: 2, intervalMs: 0 });
    w.send(queued(1));
    const snapshot = w.last();
    expect(Object.isFrozen(snapshot)).toBe(true);
    expect(() => {
      (snapshot as { done: number }).done = 99;
    }).toThrow(TypeError);
  });

  it('completes at once for total 0, and ends with the source', () => {
    const empty = watch({ total: 0 });
    expect(empty.snapshots).toEqual([expect.objectContaining({ percent: 100, etaMs: 0 })]);
    expect(empty.completed).toBe(true);

    const w = watch({ total: 10 });
    w.send(queued(1));
    vi.advanceTimersByTime(30);
    w.events.complete();
    expect(w.completed).toBe(true);
    expect(w.last()).toMatchObject({ queued: 1, elapsedMs: 30 });

    const broken = watch({ total: 10 });
    const boom = new Error('boom');
    broken.events.error(boom);
    expect(broken.error).toBe(boom);
  });

  it('counts engine requests with count: "requests"', () => {
    const w = watch({ total: 3, intervalMs: 0, count: 'requests' });
    const request = (requestId: number): ExecutionEvent => ({
      type: 'request',
      time: 0,
      key: 'k',
      label: undefined,
      requestId,
      priority: 'normal',
    });
    const ended = (
      requestId: number,
      outcome: 'completed' | 'failed' | 'cancelled',
    ): ExecutionEvent => ({
      type: 'request-ended',
      time: 0,
      key: 'k',
      label: undefined,
      requestId,
      outcome,
    });
    w.send(request(1), request(2), request(3), request(4), queued(9), completed(9));
    expect(w.last()).toMatchObject({ running: 4, done: 0, queued: 0 });
    w.send(ended(1, 'completed'), ended(2, 'cancelled'), ended(3, 'failed'));
    expect(w.last()).toMatchObject({ running: 1, done: 1, failed: 1, cancelled: 1 });
    w.send(ended(4, 'completed'));
    expect(w.completed).toBe(true);
  });

  it('rejects invalid options', () => {
    const events = new Subject<ExecutionEvent>();
    expect(() => progress$(events, { total: -1 })).toThrow(RangeError);
    expect(() => progress$(events, { total: 1.5 })).toThrow(RangeError);
    expect(() => progress$(events, { total: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => progress$(events, { total: 1, intervalMs: -1 })).toThrow(RangeError);
    expect(() => progress$(events, { total: 1, windowMs: 0 })).toThrow(RangeError);
    expect(() => progress$(events, { total: 1, count: 'items' as unknown as 'tasks' })).toThrow(
      TypeError,
    );
  });

  it('rejects total unless an integer >= 0: Infinity too, as documented', () => {
    const events = new Subject<ExecutionEvent>();
    for (const [total, shown] of [
      [-1, '-1'],
      [1.5, '1.5'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
      [Number.NaN, 'NaN'],
      ['3', '"3"'],
    ] as const) {
      expect(() => progress$(events, { total: total as never })).toThrow(
        new RangeError(`total must be a finite integer >= 0; received ${shown}`),
      );
    }
    expect(() => progress$(events, { total: 0 })).not.toThrow();
  });

  it('rejects an unknown preempted mode, a bad clock, scheduler or events$ at the call', () => {
    const events = new Subject<ExecutionEvent>();
    expect(() => progress$(events, { total: 1, preempted: 'x' as never })).toThrow(
      new TypeError(`preempted must be 'retried' or 'failed'; received "x"`),
    );
    expect(() => progress$(events, { total: 1, clock: 5 as never })).toThrow(
      new TypeError('clock must be a clock (an object with now()); received 5'),
    );
    expect(() => progress$(events, { total: 1, scheduler: { now: () => 0 } as never })).toThrow(
      new TypeError(
        'scheduler must be an RxJS SchedulerLike (now() and schedule()); received an object',
      ),
    );
    for (const [source, shown] of [
      [5, '5'],
      [null, 'null'],
      [[], 'an array'],
    ] as const) {
      expect(() => progress$(source as never, { total: 1 })).toThrow(
        new TypeError(
          `events$ must be an Observable (an object with subscribe()); received ${shown}`,
        ),
      );
    }
    for (const mode of ['retried', 'failed'] as const) {
      expect(() =>
        progress$(events, { total: 1, preempted: mode, clock, scheduler: asyncScheduler }),
      ).not.toThrow();
    }
  });

  it('follows a real executor run to the end', async () => {
    const executor = createExecutor({ concurrency: 2, clock });
    const snapshots = lastValueFrom(
      progress$(executor.events$, { total: 4, clock, intervalMs: 100 }).pipe(toArray()),
    );
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    for (let i = 0; i < 4; i++) executor.schedule(() => sleep(100)).subscribe();
    await vi.advanceTimersByTimeAsync(250);
    const all = await snapshots; // complete: the 4th task ended at t = 200
    expect(all.at(-1)).toMatchObject({
      total: 4,
      done: 4,
      running: 0,
      queued: 0,
      percent: 100,
      elapsedMs: 200,
      ratePerSecond: 20, // 4 in 0.2 s
    });
    // Snapshots before the last one came at least 100 ms apart.
    const times = all.slice(0, -1).map((s) => s.elapsedMs);
    for (let i = 1; i < times.length; i++) {
      expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(100);
    }
    expect(all[0]).toMatchObject({ done: 0, elapsedMs: 0 });
  });

  it('follows an engine run where cache hits never become tasks (count: "requests")', async () => {
    vi.useRealTimers();
    const engine = createEngine();
    const done = lastValueFrom(
      progress$(engine.events$, { total: 3, count: 'requests', intervalMs: 0 }),
    );
    await lastValueFrom(engine.run('a', () => Promise.resolve(1)));
    await lastValueFrom(engine.run('a', () => Promise.resolve(1))); // a cache hit
    await lastValueFrom(engine.run('b', () => Promise.resolve(2)));
    expect(await done).toMatchObject({ done: 3, percent: 100, running: 0 });
  });
});

describe('progress$ on virtual time (TestScheduler)', () => {
  it('throttles to intervalMs and reports ETA on the scheduler clock', () => {
    const testScheduler = new TestScheduler((actual, expected) => {
      expect(actual).toEqual(expected);
    });
    testScheduler.run(({ cold, expectObservable }) => {
      const at = (event: ExecutionEvent) => event;
      // One task finishes every 10 ms, 4 in all; snapshots at most every 25 ms.
      const source = cold<ExecutionEvent>('10ms a 9ms b 9ms c 9ms d', {
        a: at(completed(1)),
        b: at(completed(2)),
        c: at(completed(3)),
        d: at(completed(4)),
      });
      const progress = progress$(source, {
        total: 4,
        clock: { now: () => testScheduler.now() },
        intervalMs: 25,
        scheduler: testScheduler,
      });
      const pick = (s: ProgressSnapshot) => `${s.done}@${s.elapsedMs}:${s.etaMs}`;
      // t=0 first; t=10 (a) is younger than 25 ms: shown at t=25 (with b at 20);
      // t=30 (c) waits for t=50, but d at 40 ends the run first.
      expectObservable(progress.pipe(map(pick))).toBe('a 24ms b 14ms (c|)', {
        a: '0@0:undefined',
        b: '2@25:25', // 2 in 25 ms: 80/s; 2 left: 25 ms
        c: '4@40:0',
      });
    });
  });
});
