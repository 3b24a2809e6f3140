import {
  AbortError,
  type Clock,
  createExecutor,
  type ExecutionEvent,
  type ExecutorStats,
  PreemptedError,
  type Priority,
  type ScheduleOptions,
  TaskControl,
  type Work,
} from 'eed';
import {
  firstValueFrom,
  from,
  lastValueFrom,
  Observable,
  of,
  Subject,
  type Subscription,
  take,
  throwError,
  toArray,
} from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deferred, harness, shuffle } from './helpers.js';

const zeroStats: ExecutorStats = {
  running: 0,
  queued: 0,
  runningByPriority: { critical: 0, normal: 0, background: 0 },
  queuedByPriority: { critical: 0, normal: 0, background: 0 },
};

/** A clock the test moves by hand. */
const manualClock = () => {
  const clock = { t: 0, now: vi.fn(() => clock.t) };
  return clock;
};

afterEach(() => {
  vi.useRealTimers();
});

describe('createExecutor: options', () => {
  it('defaults to concurrency 10 and backgroundConcurrency ceil(concurrency / 2)', () => {
    expect(createExecutor().concurrency).toBe(10);
    expect(createExecutor().backgroundConcurrency).toBe(5);
    expect(createExecutor({ concurrency: 5 }).backgroundConcurrency).toBe(3);
    expect(createExecutor({ concurrency: 1 }).backgroundConcurrency).toBe(1);
    const unbounded = createExecutor({ concurrency: Number.POSITIVE_INFINITY });
    expect(unbounded.concurrency).toBe(Number.POSITIVE_INFINITY);
    expect(unbounded.backgroundConcurrency).toBe(Number.POSITIVE_INFINITY);
  });

  it.each([
    [0, 'received 0'],
    [-1, 'received -1'],
    [1.5, 'received 1.5'],
    [Number.NaN, 'received NaN'],
    [Number.NEGATIVE_INFINITY, 'received -Infinity'],
    ['2', 'received "2"'],
  ])(
    'rejects concurrency %s with a RangeError naming the option and the value',
    (value, received) => {
      const build = () => createExecutor({ concurrency: value as number });
      expect(build).toThrow(RangeError);
      expect(build).toThrow(/^concurrency must be an integer >= 1/);
      expect(build).toThrow(received);
    },
  );

  it('accepts any integer concurrency >= 1 and Infinity', () => {
    for (const concurrency of [1, 2, 64, Number.POSITIVE_INFINITY]) {
      expect(createExecutor({ concurrency }).concurrency).toBe(concurrency);
    }
  });

  it.each([
    [4, -1, 'received -1'],
    [4, 5, 'received 5'],
    [4, 1.5, 'received 1.5'],
    [4, Number.POSITIVE_INFINITY, 'received Infinity'],
    [4, Number.NaN, 'received NaN'],
    [1, 2, 'received 2'],
  ])(
    'with concurrency %s rejects backgroundConcurrency %s',
    (concurrency, backgroundConcurrency, received) => {
      const build = () => createExecutor({ concurrency, backgroundConcurrency });
      expect(build).toThrow(RangeError);
      expect(build).toThrow(/^backgroundConcurrency must be an integer between 0 and/);
      expect(build).toThrow(received);
    },
  );

  it('accepts backgroundConcurrency from 0 to concurrency', () => {
    expect(createExecutor({ concurrency: 4, backgroundConcurrency: 0 }).backgroundConcurrency).toBe(
      0,
    );
    expect(createExecutor({ concurrency: 4, backgroundConcurrency: 4 }).backgroundConcurrency).toBe(
      4,
    );
    const inf = Number.POSITIVE_INFINITY;
    expect(
      createExecutor({ concurrency: inf, backgroundConcurrency: 3 }).backgroundConcurrency,
    ).toBe(3);
    expect(
      createExecutor({ concurrency: inf, backgroundConcurrency: inf }).backgroundConcurrency,
    ).toBe(inf);
  });

  it.each([0, -5, Number.NaN])('rejects agingMs %s', (agingMs) => {
    expect(() => createExecutor({ agingMs })).toThrow(RangeError);
    expect(() => createExecutor({ agingMs })).toThrow(/agingMs/);
  });

  it('rejects agingMs 0 as documented, and accepts any number > 0 and Infinity', () => {
    expect(() => createExecutor({ agingMs: 0 })).toThrow(
      new RangeError('agingMs must be > 0; received 0'),
    );
    for (const agingMs of [0.5, 1, 5_000, Number.POSITIVE_INFINITY]) {
      expect(() => createExecutor({ agingMs })).not.toThrow();
    }
  });

  it.each([
    [5, '5'],
    [null, 'null'],
    [{}, 'an object'],
    [{ now: 5 }, 'an object'],
    [() => 0, 'a function'],
  ])('rejects clock %s with a TypeError naming the option and the value', (clock, shown) => {
    expect(() => createExecutor({ clock: clock as never })).toThrow(
      new TypeError(`clock must be a clock (an object with now()); received ${shown}`),
    );
  });

  it('accepts a clock with now() and reads event times from it', () => {
    const clock = manualClock();
    clock.t = 42;
    const executor = createExecutor({ clock });
    const times: number[] = [];
    executor.events$.subscribe((e) => times.push(e.time));
    executor.schedule(() => [1]).subscribe();
    expect(times.length).toBeGreaterThan(0);
    expect(new Set(times)).toEqual(new Set([42]));
  });

  it.each([
    [5, '5'],
    [undefined, 'undefined'],
    ['work', '"work"'],
    [of(1), 'an object'],
  ])('throws a TypeError from schedule() itself when work is %s', (work, shown) => {
    const executor = createExecutor();
    const schedule = () => executor.schedule(work as never);
    expect(schedule).toThrow(new TypeError(`work must be a function; received ${shown}`));
    expect(executor.stats()).toEqual(zeroStats);
  });

  it('throws a TypeError from schedule() itself for an unknown priority', () => {
    const executor = createExecutor();
    const work = vi.fn(async () => 1);
    const schedule = () => executor.schedule(work, { priority: 'urgent' as Priority });
    expect(schedule).toThrow(TypeError);
    expect(schedule).toThrow(/priority must be one of 'critical', 'normal', 'background'/);
    expect(schedule).toThrow('received "urgent"');
    expect(work).not.toHaveBeenCalled();
    expect(executor.stats()).toEqual(zeroStats);
  });
});

describe('schedule: a cold Observable', () => {
  it('calls nothing until subscribed, and runs the work again for each subscription', async () => {
    const executor = createExecutor();
    const work = vi.fn(async () => 'v');
    const task$ = executor.schedule(work);
    expect(work).not.toHaveBeenCalled();
    expect(executor.stats()).toEqual(zeroStats);
    expect(await firstValueFrom(task$)).toBe('v');
    expect(await firstValueFrom(task$)).toBe('v');
    expect(work).toHaveBeenCalledTimes(2);
  });

  it('defaults to the normal lane', () => {
    const h = harness({ concurrency: 1 });
    h.run('blocker');
    h.run('n');
    expect(h.executor.stats().queuedByPriority).toEqual({ critical: 0, normal: 1, background: 0 });
  });
});

describe('lanes', () => {
  it('starts critical before normal before background, FIFO within a lane', () => {
    const h = harness({ concurrency: 1 });
    h.run('blocker');
    h.run('b1', { priority: 'background' });
    h.run('n1');
    h.run('c1', { priority: 'critical' });
    h.run('n2', { priority: 'normal' });
    h.run('c2', { priority: 'critical' });
    h.run('b2', { priority: 'background' });
    expect(h.started()).toEqual(['blocker']);
    // Complete whatever runs, one at a time.
    for (let i = 0; i < 6; i++) h.get(h.started().at(-1) as string).subject.complete();
    expect(h.started()).toEqual(['blocker', 'c1', 'c2', 'n1', 'n2', 'b1', 'b2']);
    h.get('b2').subject.complete();
    expect(h.executor.stats()).toEqual(zeroStats);
  });

  it('never runs more than concurrency tasks at once', () => {
    const h = harness({ concurrency: 3 });
    for (let i = 0; i < 10; i++) h.run(`t${i}`);
    expect(h.started()).toEqual(['t0', 't1', 't2']);
    expect(h.executor.stats()).toMatchObject({ running: 3, queued: 7 });
    h.get('t1').subject.complete();
    expect(h.started()).toEqual(['t0', 't1', 't2', 't3']);
    expect(h.executor.stats()).toMatchObject({ running: 3, queued: 6 });
  });

  it('holds at most backgroundConcurrency slots with background work, leaving the rest free', () => {
    const h = harness({ concurrency: 4, backgroundConcurrency: 2 });
    for (const name of ['b1', 'b2', 'b3', 'b4']) h.run(name, { priority: 'background' });
    expect(h.started()).toEqual(['b1', 'b2']);
    expect(h.executor.stats()).toMatchObject({
      running: 2,
      runningByPriority: { background: 2 },
      queuedByPriority: { background: 2 },
    });
    // A normal task takes a free slot at once.
    h.run('n1');
    expect(h.started()).toEqual(['b1', 'b2', 'n1']);
    // A finished background task hands its slot to the next background task.
    h.get('b1').subject.complete();
    expect(h.started()).toEqual(['b1', 'b2', 'n1', 'b3']);
    expect(h.executor.stats().runningByPriority.background).toBe(2);
  });

  it('starts background work only when no critical or normal task is queued', () => {
    const h = harness({ concurrency: 2, backgroundConcurrency: 2 });
    h.run('n1');
    h.run('n2');
    h.run('b1', { priority: 'background' });
    h.run('n3');
    h.get('n1').subject.complete();
    expect(h.started()).toEqual(['n1', 'n2', 'n3']);
    h.get('n2').subject.complete();
    expect(h.started()).toEqual(['n1', 'n2', 'n3', 'b1']);
  });

  it('never starts background work with backgroundConcurrency 0', () => {
    const h = harness({ concurrency: 2, backgroundConcurrency: 0 });
    h.run('b1', { priority: 'background' });
    h.run('n1');
    expect(h.started()).toEqual(['n1']);
    h.get('n1').subject.complete();
    expect(h.started()).toEqual(['n1']);
    expect(h.executor.stats()).toMatchObject({ running: 0, queued: 1 });
  });
});

describe('preemption', () => {
  it('aborts the most recently started preemptible lower-lane task for a waiting critical task', () => {
    const h = harness({ concurrency: 2, backgroundConcurrency: 2 });
    const b1 = h.run('b1', { priority: 'background', preemptible: true });
    const b2 = h.run('b2', { priority: 'background', preemptible: true });
    const c1 = h.run('c1', { priority: 'critical' });
    // The slot went to c1 synchronously, inside subscribe.
    expect(h.log).toEqual(['b1', 'b2', 'b2:error', 'c1']);
    expect(b2.error).toBeInstanceOf(PreemptedError);
    expect(b2.error).toBeInstanceOf(AbortError);
    expect((b2.error as Error).name).toBe('PreemptedError');
    expect(b2.signal?.aborted).toBe(true);
    expect(b2.signal?.reason).toBe(b2.error);
    expect(b2.subject.observed).toBe(false);
    expect(b1.signal?.aborted).toBe(false);
    expect(c1.calls).toBe(1);
    expect(h.executor.stats()).toMatchObject({
      running: 2,
      queued: 0,
      runningByPriority: { critical: 1, normal: 0, background: 1 },
    });
  });

  it('lets a waiting normal task preempt a preemptible background task', () => {
    const h = harness({ concurrency: 1 });
    const b = h.run('b', { priority: 'background', preemptible: true });
    h.run('n');
    expect(b.error).toBeInstanceOf(PreemptedError);
    expect(h.started()).toEqual(['b', 'n']);
  });

  it('lets a waiting critical task preempt a preemptible normal task', () => {
    const h = harness({ concurrency: 1 });
    const n = h.run('n', { preemptible: true });
    h.run('c', { priority: 'critical' });
    expect(n.error).toBeInstanceOf(PreemptedError);
    expect(h.started()).toEqual(['n', 'c']);
  });

  it('preempts only tasks of a strictly lower lane (deliberate: no churn within a lane)', () => {
    const h = harness({ concurrency: 2 });
    const n = h.run('n', { preemptible: true });
    const c = h.run('c', { priority: 'critical', preemptible: true });
    h.run('n2');
    expect(n.errored).toBe(false);
    h.run('c2', { priority: 'critical' });
    // c2 may take n's slot (normal < critical), never c's.
    expect(n.error).toBeInstanceOf(PreemptedError);
    expect(c.errored).toBe(false);
    h.run('c3', { priority: 'critical' });
    expect(c.errored).toBe(false);
    expect(h.started()).toEqual(['n', 'c', 'c2']);
    expect(h.executor.stats().queuedByPriority).toEqual({ critical: 1, normal: 1, background: 0 });
  });

  it('takes victims from the lowest lane first, then the most recently started', () => {
    const h = harness({ concurrency: 4, backgroundConcurrency: 4 });
    const b1 = h.run('b1', { priority: 'background', preemptible: true });
    const b2 = h.run('b2', { priority: 'background', preemptible: true });
    const n1 = h.run('n1', { preemptible: true });
    const n2 = h.run('n2', { preemptible: true });
    h.run('c1', { priority: 'critical' });
    expect(b2.errored).toBe(true);
    expect([b1.errored, n1.errored, n2.errored]).toEqual([false, false, false]);
    h.run('c2', { priority: 'critical' });
    expect(b1.errored).toBe(true);
    h.run('c3', { priority: 'critical' });
    expect(n2.errored).toBe(true);
    expect(n1.errored).toBe(false);
    expect(h.log.filter((entry) => entry.endsWith(':error'))).toEqual([
      'b2:error',
      'b1:error',
      'n2:error',
    ]);
  });

  it('never preempts a task that is not preemptible', () => {
    const h = harness({ concurrency: 1 });
    const b = h.run('b', { priority: 'background' });
    h.run('c', { priority: 'critical' });
    expect(b.errored).toBe(false);
    expect(h.started()).toEqual(['b']);
    b.subject.complete();
    expect(h.started()).toEqual(['b', 'c']);
  });

  it('never preempts for a waiting background task', () => {
    const h = harness({ concurrency: 1 });
    const b = h.run('b', { priority: 'background', preemptible: true });
    h.run('b2', { priority: 'background' });
    expect(b.errored).toBe(false);
  });

  it('preempts once per waiting task', () => {
    const h = harness({ concurrency: 3, backgroundConcurrency: 3 });
    for (const name of ['b1', 'b2', 'b3'])
      h.run(name, { priority: 'background', preemptible: true });
    h.run('c1', { priority: 'critical' });
    h.run('n1');
    expect(h.log).toEqual(['b1', 'b2', 'b3', 'b3:error', 'c1', 'b2:error', 'n1']);
  });

  it('ignores what the preempted work emits afterwards', () => {
    const h = harness({ concurrency: 1 });
    const b = h.run('b', { priority: 'background', preemptible: true });
    h.run('c', { priority: 'critical' });
    b.subject.next('late');
    b.subject.complete();
    expect(b.values).toEqual([]);
    expect(b.completed).toBe(false);
    expect(h.executor.stats()).toMatchObject({ running: 1, runningByPriority: { critical: 1 } });
  });

  it('does not mistake a completed preemptible task for a victim', () => {
    const h = harness({ concurrency: 1 });
    const b = h.run('b', { priority: 'background', preemptible: true });
    b.subject.complete();
    h.run('n1');
    h.run('c1', { priority: 'critical' });
    expect(h.log).toEqual(['b', 'b:done', 'n1']);
  });
});

describe('what work may return', () => {
  const executor = createExecutor({ concurrency: 2 });
  const collect = <T>(work: Work<T>) => lastValueFrom(executor.schedule(work).pipe(toArray()));

  it('a Promise', async () => {
    expect(await collect(async () => 42)).toEqual([42]);
  });

  it('an Observable, with every value it emits', async () => {
    expect(await collect(() => of(1, 2, 3))).toEqual([1, 2, 3]);
  });

  it('an array', async () => {
    expect(await collect(() => ['a', 'b'])).toEqual(['a', 'b']);
  });

  it('an AsyncIterable', async () => {
    async function* gen() {
      yield 1;
      await Promise.resolve();
      yield 2;
    }
    expect(await collect(() => gen())).toEqual([1, 2]);
  });

  it('an iterable', async () => {
    function* gen() {
      yield 'x';
      yield 'y';
    }
    expect(await collect(() => gen())).toEqual(['x', 'y']);
    expect(await collect(() => new Set([1, 2]))).toEqual([1, 2]);
  });

  it('receives a live AbortSignal', async () => {
    let seen: AbortSignal | undefined;
    await collect((signal) => {
      seen = signal;
      return [1];
    });
    expect(seen).toBeInstanceOf(AbortSignal);
    expect(seen?.aborted).toBe(false);
  });

  it('leaves the executor empty after each kind', () => {
    expect(executor.stats()).toEqual(zeroStats);
  });
});

describe('failures', () => {
  it('a synchronous throw fails only that subscriber and frees the slot', () => {
    const executor = createExecutor({ concurrency: 1 });
    const boom = new Error('boom');
    const blocker = new Subject<number>();
    const seen: string[] = [];
    executor.schedule(() => blocker).subscribe({ complete: () => seen.push('blocker done') });
    executor
      .schedule(() => {
        throw boom;
      })
      .subscribe({ error: (error) => seen.push(`thrower failed: ${(error as Error).message}`) });
    executor.schedule(() => [7]).subscribe({ next: (v) => seen.push(`next ${v}`) });
    blocker.complete();
    expect(seen).toEqual(['blocker done', 'thrower failed: boom', 'next 7']);
    expect(executor.stats()).toEqual(zeroStats);
  });

  it('a rejected promise fails only that subscriber and frees the slot', async () => {
    const executor = createExecutor({ concurrency: 1 });
    const boom = new Error('rejected');
    const failing = firstValueFrom(executor.schedule(() => Promise.reject(boom)));
    const next = firstValueFrom(executor.schedule(async () => 'after'));
    await expect(failing).rejects.toBe(boom);
    expect(await next).toBe('after');
    expect(executor.stats()).toEqual(zeroStats);
  });

  it('an erroring Observable fails only that subscriber and frees the slot', () => {
    const h = harness({ concurrency: 1 });
    const a = h.run('a');
    const b = h.run('b');
    a.subject.error(new Error('x'));
    expect(a.error).toEqual(new Error('x'));
    expect(b.calls).toBe(1);
    expect(b.errored).toBe(false);
  });

  it('a value from() cannot convert fails with a TypeError and frees the slot', async () => {
    const executor = createExecutor({ concurrency: 1 });
    const bad = firstValueFrom(executor.schedule(() => 42 as never));
    await expect(bad).rejects.toBeInstanceOf(TypeError);
    expect(await firstValueFrom(executor.schedule(() => of('ok')))).toBe('ok');
  });

  it('errors reach only the subscriber whose work failed, not other subscribers of the same task', async () => {
    const executor = createExecutor({ concurrency: 2 });
    let n = 0;
    const task$ = executor.schedule(() =>
      ++n === 1 ? throwError(() => new Error('first')) : of(n),
    );
    await expect(firstValueFrom(task$)).rejects.toThrow('first');
    expect(await firstValueFrom(task$)).toBe(2);
  });
});

describe('unsubscribing', () => {
  it('removes a queued task from its lane; its work is never called', () => {
    const h = harness({ concurrency: 1 });
    const blocker = h.run('blocker');
    const q = h.run('q', { priority: 'critical' });
    h.run('r');
    expect(h.executor.stats().queued).toBe(2);
    q.subscription.unsubscribe();
    expect(h.executor.stats()).toMatchObject({
      queued: 1,
      queuedByPriority: { critical: 0, normal: 1 },
    });
    blocker.subject.complete();
    expect(q.calls).toBe(0);
    expect(h.started()).toEqual(['blocker', 'r']);
  });

  it('aborts a running task with an AbortError and hands its slot on immediately', () => {
    const h = harness({ concurrency: 1 });
    const a = h.run('a');
    const b = h.run('b');
    a.subscription.unsubscribe();
    // Synchronously: a's signal is aborted, its inner subscription is gone, b runs.
    expect(a.signal?.aborted).toBe(true);
    expect(a.signal?.reason).toBeInstanceOf(AbortError);
    expect(a.signal?.reason).toHaveProperty('name', 'AbortError');
    expect(a.signal?.reason).not.toBeInstanceOf(PreemptedError);
    expect(a.subject.observed).toBe(false);
    expect(b.calls).toBe(1);
    expect(a.errored || a.completed).toBe(false);
    expect(h.executor.stats()).toMatchObject({ running: 1, queued: 0 });
  });

  it('aborts the signal before the next task starts', () => {
    const executor = createExecutor({ concurrency: 1 });
    const order: string[] = [];
    const sub = executor
      .schedule((signal) => {
        signal.addEventListener('abort', () => order.push('a aborted'));
        return new Subject();
      })
      .subscribe();
    executor
      .schedule(() => {
        order.push('b started');
        return new Subject();
      })
      .subscribe();
    sub.unsubscribe();
    expect(order).toEqual(['a aborted', 'b started']);
  });

  it('is a no-op after the task ended', () => {
    const h = harness({ concurrency: 1 });
    h.record();
    const a = h.run('a');
    a.subject.complete();
    a.subscription.unsubscribe();
    expect(h.events.map((e) => e.type)).toEqual(['queued', 'started', 'completed']);
  });

  it('stops work that emits synchronously forever once take() is satisfied', async () => {
    const executor = createExecutor({ concurrency: 1 });
    let aborted: unknown;
    function* naturals(signal: AbortSignal) {
      signal.addEventListener('abort', () => {
        aborted = signal.reason;
      });
      for (let i = 0; ; i++) yield i;
    }
    const values = await lastValueFrom(
      executor.schedule((signal) => naturals(signal)).pipe(take(3), toArray()),
    );
    expect(values).toEqual([0, 1, 2]);
    expect(aborted).toBeInstanceOf(AbortError);
    expect(executor.stats()).toEqual(zeroStats);
  });

  it('tears down an inner Observable that emitted synchronously before the consumer left', () => {
    const executor = createExecutor({ concurrency: 1 });
    let tornDown = false;
    const got: number[] = [];
    executor
      .schedule(
        () =>
          new Observable<number>((subscriber) => {
            subscriber.next(1);
            subscriber.next(2);
            return () => {
              tornDown = true;
            };
          }),
      )
      .pipe(take(1))
      .subscribe((v) => got.push(v));
    expect(got).toEqual([1]);
    expect(tornDown).toBe(true);
    expect(executor.stats()).toEqual(zeroStats);
  });
});

describe('synchronous hand-off', () => {
  it('starts the next task inside the call that completes the previous one', () => {
    vi.useFakeTimers();
    const h = harness({ concurrency: 1 });
    const a = h.run('a');
    const b = h.run('b');
    a.subject.complete();
    expect(b.calls).toBe(1);
    expect(h.log).toEqual(['a', 'a:done', 'b']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('starts the next task once a resolved promise reaches the executor, with no timer', async () => {
    vi.useFakeTimers();
    const executor = createExecutor({ concurrency: 1 });
    const order: string[] = [];
    const gate = deferred<string>();
    const first = lastValueFrom(
      executor.schedule(() => {
        order.push('a started');
        return gate.promise;
      }),
    ).then((value) => order.push(`a -> ${value}`));
    executor
      .schedule(async () => {
        order.push('b started');
        return 'b';
      })
      .subscribe();
    expect(order).toEqual(['a started']);
    gate.resolve('A');
    await first;
    // Only microtasks ran: no timer was advanced or even created.
    expect(order).toEqual(['a started', 'b started', 'a -> A']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("runs the work's finalizers before its slot goes to the next task (as mergeMap does)", () => {
    const executor = createExecutor({ concurrency: 1 });
    const order: string[] = [];
    const gate = new Subject<void>();
    const work = (name: string) => () =>
      new Observable<never>((subscriber) => {
        order.push(`${name} open`);
        const sub = gate.subscribe({ complete: () => subscriber.complete() });
        return () => {
          sub.unsubscribe();
          order.push(`${name} close`);
        };
      });
    executor.schedule(work('a')).subscribe();
    executor.schedule(work('b')).subscribe();
    gate.complete();
    expect(order.slice(0, 3)).toEqual(['a open', 'a close', 'b open']);
  });

  it('hands a slot freed by failure or preemption on synchronously too', () => {
    const h = harness({ concurrency: 1 });
    const a = h.run('a');
    h.run('b');
    a.subject.error(new Error('x'));
    expect(h.started()).toEqual(['a', 'b']);
  });

  it('runs a long chain of synchronous tasks without recursion', () => {
    const executor = createExecutor({ concurrency: 1 });
    const blocker = new Subject<never>();
    executor.schedule(() => blocker).subscribe();
    const order: number[] = [];
    const n = 50_000;
    for (let i = 0; i < n; i++) executor.schedule(() => [i]).subscribe((v) => order.push(v));
    blocker.complete();
    expect(order.length).toBe(n);
    expect(order.every((v, i) => v === i)).toBe(true);
    expect(executor.stats()).toEqual(zeroStats);
  });
});

describe('aging', () => {
  it('moves a waiting task up one lane after agingMs, emitting promoted events', () => {
    const clock = manualClock();
    const h = harness({ concurrency: 1, agingMs: 100, clock });
    h.record();
    const blocker = h.run('blocker');
    h.run('bg', { priority: 'background' });
    clock.t = 10;
    h.run('n1');
    clock.t = 150;
    blocker.subject.complete();
    // At 150 n1 (waited 140) moved to critical and bg (waited 150) to normal.
    const promoted = h.events.filter((e) => e.type === 'promoted');
    expect(promoted).toEqual([
      expect.objectContaining({
        label: undefined,
        from: 'normal',
        priority: 'critical',
        time: 150,
      }),
      expect.objectContaining({ from: 'background', priority: 'normal', time: 150 }),
    ]);
    expect(h.started()).toEqual(['blocker', 'n1']);
    clock.t = 160;
    h.run('n2');
    h.get('n1').subject.complete();
    // bg joined the normal lane at 150, ahead of n2 (queued at 160).
    expect(h.started()).toEqual(['blocker', 'n1', 'bg']);
    const started = h.events.find((e) => e.type === 'started' && e.taskId === promoted[1]?.taskId);
    expect(started).toMatchObject({ priority: 'normal', time: 160 });
  });

  it('without agingMs the same schedule keeps strict lanes', () => {
    const clock = manualClock();
    const h = harness({ concurrency: 1, clock });
    const blocker = h.run('blocker');
    h.run('bg', { priority: 'background' });
    clock.t = 10;
    h.run('n1');
    clock.t = 150;
    blocker.subject.complete();
    clock.t = 160;
    h.run('n2');
    h.get('n1').subject.complete();
    expect(h.started()).toEqual(['blocker', 'n1', 'n2']);
  });

  const starve = (agingMs: number | undefined) => {
    const clock = manualClock();
    const h = harness({ concurrency: 1, clock, ...(agingMs ? { agingMs } : {}) });
    h.run('c0', { priority: 'critical' });
    h.run('bg', { priority: 'background' });
    // A steady critical load: every 10 ms a critical task arrives and the running one ends.
    for (let i = 1; i <= 100 && h.get('bg').calls === 0; i++) {
      clock.t += 10;
      h.run(`c${i}`, { priority: 'critical' });
      h.get(h.started().at(-1) as string).subject.complete();
    }
    return h.get('bg').calls;
  };

  it('keeps background work from starving under a steady critical load', () => {
    expect(starve(undefined)).toBe(0);
    expect(starve(100)).toBe(1);
  });

  it('does not read the clock when aging is off and nobody listens to events', () => {
    const clock = manualClock();
    const h = harness({ concurrency: 1, clock });
    h.run('a').subject.complete();
    expect(clock.now).not.toHaveBeenCalled();
  });
});

describe('stats()', () => {
  it('reports running and queued counts, overall and per priority', () => {
    const h = harness({ concurrency: 2, backgroundConcurrency: 1 });
    expect(h.executor.stats()).toEqual(zeroStats);
    h.run('c1', { priority: 'critical' });
    h.run('b1', { priority: 'background' });
    h.run('b2', { priority: 'background' });
    h.run('n1');
    h.run('c2', { priority: 'critical' });
    expect(h.executor.stats()).toEqual({
      running: 2,
      queued: 3,
      runningByPriority: { critical: 1, normal: 0, background: 1 },
      queuedByPriority: { critical: 1, normal: 1, background: 1 },
    });
    h.get('c1').subject.complete();
    h.get('b1').subject.error(new Error('x'));
    expect(h.executor.stats()).toEqual({
      running: 2,
      queued: 1,
      runningByPriority: { critical: 1, normal: 1, background: 0 },
      queuedByPriority: { critical: 0, normal: 0, background: 1 },
    });
    h.get('b2').subscription.unsubscribe();
    h.get('c2').subscription.unsubscribe();
    h.get('n1').subject.complete();
    expect(h.executor.stats()).toEqual(zeroStats);
  });

  it('returns a fresh snapshot each call', () => {
    const h = harness({ concurrency: 1 });
    const before = h.executor.stats();
    h.run('a');
    expect(before).toEqual(zeroStats);
    expect(h.executor.stats()).not.toBe(before);
  });
});

describe('events$', () => {
  it('reports a task from queued to completed with its fields and the clock time', () => {
    const clock = manualClock();
    clock.t = 5;
    const h = harness({ concurrency: 1, clock });
    h.record();
    const a = h.run('a', { label: 'fetch a', priority: 'critical', expectedMs: 50 });
    clock.t = 12;
    a.subject.next('v');
    a.subject.complete();
    const [queued, started, completed] = h.events as ExecutionEvent[];
    expect(h.events).toHaveLength(3);
    const base = { label: 'fetch a', priority: 'critical' };
    expect(queued).toEqual({
      type: 'queued',
      time: 5,
      taskId: expect.any(Number),
      executorId: expect.any(Number),
      preemptible: false,
      ...base,
    });
    const ids = { taskId: (queued as { taskId: number }).taskId };
    expect(started).toEqual({
      type: 'started',
      time: 5,
      executorId: expect.any(Number),
      slot: 0,
      preemptible: false,
      expectedMs: 50,
      ...ids,
      ...base,
    });
    expect(completed).toEqual({
      type: 'completed',
      time: 12,
      executorId: expect.any(Number),
      slot: 0,
      ...ids,
      ...base,
    });
  });

  it('reports failed (with the error), cancelled (queued and running) and preempted', () => {
    const h = harness({ concurrency: 1 });
    h.record();
    const boom = new Error('boom');
    h.run('f').subject.error(boom);
    const r = h.run('r', { label: 'r' });
    const q = h.run('q', { label: 'q' });
    q.subscription.unsubscribe();
    r.subscription.unsubscribe();
    h.run('p', { label: 'p', priority: 'background', preemptible: true });
    h.run('c', { label: 'c', priority: 'critical' });
    const summary = h.events.map((e) => {
      if (e.type === 'failed') return `${e.type}:${(e.error as Error).message}`;
      if (e.type === 'cancelled' || e.type === 'preempted') return `${e.type}:${e.label}:${e.slot}`;
      return e.type;
    });
    expect(summary).toEqual([
      'queued',
      'started',
      'failed:boom',
      'queued', // r
      'started',
      'queued', // q
      'cancelled:q:undefined',
      'cancelled:r:0',
      'queued', // p
      'started',
      'queued', // c
      'preempted:p:0',
      'started',
    ]);
    expect(h.events.find((e) => e.type === 'queued' && e.label === 'p')).toMatchObject({
      preemptible: true,
      priority: 'background',
    });
  });

  it('numbers tasks and executors, and reuses freed slots', () => {
    const h = harness({ concurrency: 2 });
    h.record();
    const other = createExecutor();
    const otherEvents: ExecutionEvent[] = [];
    other.events$.subscribe((e) => otherEvents.push(e));
    other.schedule(() => [1]).subscribe();
    const a = h.run('a');
    h.run('b');
    a.subject.complete();
    h.run('c');
    const started = h.events.filter((e) => e.type === 'started');
    expect(started.map((e) => e.slot)).toEqual([0, 1, 0]);
    const taskIds = started.map((e) => e.taskId);
    expect(new Set(taskIds).size).toBe(3);
    expect([...taskIds].sort((x, y) => x - y)).toEqual(taskIds);
    const executorId = (h.events[0] as { executorId: number }).executorId;
    expect(h.events.every((e) => 'executorId' in e && e.executorId === executorId)).toBe(true);
    expect((otherEvents[0] as { executorId: number }).executorId).not.toBe(executorId);
  });

  it('costs nothing without subscribers: the clock is never read', () => {
    const clock = manualClock();
    const h = harness({ concurrency: 1, clock });
    const a = h.run('a', { priority: 'background', preemptible: true });
    h.run('c', { priority: 'critical' }).subject.error(new Error('x'));
    h.run('q').subscription.unsubscribe();
    h.run('r').subscription.unsubscribe();
    h.run('s').subject.complete();
    expect(a.errored).toBe(true);
    expect(clock.now).not.toHaveBeenCalled();
    const sub = h.record();
    h.run('t');
    expect(clock.now).toHaveBeenCalled();
    sub.unsubscribe();
    clock.now.mockClear();
    h.get('t').subject.complete();
    expect(clock.now).not.toHaveBeenCalled();
  });

  it('reads the clock once for a task queued and started at once, and again once it waited', () => {
    const clock = manualClock();
    const h = harness({ concurrency: 1, clock });
    h.record();
    clock.t = 1;
    const a = h.run('a');
    expect(clock.now).toHaveBeenCalledTimes(1);
    clock.t = 2;
    h.run('b');
    clock.t = 3;
    a.subject.complete();
    const times = h.events.map((e) => `${e.type}:${(e as { taskId: number }).taskId}@${e.time}`);
    const [ida, idb] = [h.events[0], h.events[2]].map((e) => (e as { taskId: number }).taskId);
    expect(times).toEqual([
      `queued:${ida}@1`,
      `started:${ida}@1`,
      `queued:${idb}@2`,
      `completed:${ida}@3`,
      `started:${idb}@3`,
    ]);
  });

  /** A clock that moves 1 ms forward at every reading, so each reading is a distinct time. */
  const tickingClock = () => {
    const clock = { t: 0, now: vi.fn(() => ++clock.t) };
    return clock;
  };
  const timeline = (events: ExecutionEvent[]) =>
    events.map((e) => `${e.type}:${(e as { label?: string }).label}@${e.time}`);

  it('gives the events of one synchronous call one clock reading, until a work runs', () => {
    const clock = tickingClock();
    const h = harness({ concurrency: 1, clock });
    h.record();
    const a = h.run('a', { label: 'a' });
    h.run('b', { label: 'b' });
    // a's end, and the start of b that takes its slot in the same call: one reading.
    a.subject.complete();
    // A task whose work completes synchronously: its end is read after its work ran.
    h.executor.schedule(() => [1], { label: 's' }).subscribe();
    h.get('b').subject.complete();
    expect(timeline(h.events)).toEqual([
      'queued:a@1',
      'started:a@1',
      'queued:b@2',
      'completed:a@3',
      'started:b@3',
      'queued:s@4',
      'completed:b@5',
      'started:s@5',
      'completed:s@6',
    ]);
    expect(clock.now).toHaveBeenCalledTimes(6);
  });

  it('shares the reading with a task a consumer submits when one ends (the parallelMap pattern)', () => {
    const clock = tickingClock();
    const executor = createExecutor({ concurrency: 2, clock });
    const events: ExecutionEvent[] = [];
    executor.events$.subscribe((e) => events.push(e));
    const gates = [new Subject<number>(), new Subject<number>()];
    const submit = (i: number) =>
      executor
        .schedule(() => gates[i] as Subject<number>, { label: `t${i}` })
        .subscribe({
          complete: () => {
            if (i === 0) submit(1);
          },
        });
    submit(0);
    (gates[0] as Subject<number>).complete();
    (gates[1] as Subject<number>).complete();
    expect(timeline(events)).toEqual([
      'queued:t0@1',
      'started:t0@1',
      'completed:t0@2',
      'queued:t1@2',
      'started:t1@2',
      'completed:t1@3',
    ]);
  });

  it('reads the clock afresh for each call from outside, and for cancellations', () => {
    const clock = tickingClock();
    const h = harness({ concurrency: 1, clock });
    h.record();
    h.run('a', { label: 'a' });
    h.run('b', { label: 'b' });
    h.run('c', { label: 'c' });
    h.get('b').subscription.unsubscribe();
    // Cancelling the running a hands its slot to c in the same call.
    h.get('a').subscription.unsubscribe();
    expect(timeline(h.events)).toEqual([
      'queued:a@1',
      'started:a@1',
      'queued:b@2',
      'queued:c@3',
      'cancelled:b@4',
      'cancelled:a@5',
      'started:c@5',
    ]);
  });

  it('reads the clock again after a work that throws or emits synchronously', () => {
    const clock = tickingClock();
    const executor = createExecutor({ concurrency: 1, clock });
    const events: ExecutionEvent[] = [];
    executor.events$.subscribe((e) => events.push(e));
    executor
      .schedule(
        () => {
          throw new Error('x');
        },
        { label: 'f' },
      )
      .subscribe({ error: () => {} });
    executor.schedule(() => of(1, 2), { label: 'o' }).subscribe();
    expect(timeline(events)).toEqual([
      'queued:f@1',
      'started:f@1',
      'failed:f@2',
      'queued:o@3',
      'started:o@3',
      'completed:o@4',
    ]);
  });

  it('reads the options at subscription: changing the object later does not reach the task', () => {
    const h = harness({ concurrency: 1 });
    h.record();
    const options: ScheduleOptions = { label: 'first', expectedMs: 5 };
    const a = h.run('a', options);
    options.label = 'second';
    options.expectedMs = 9;
    a.subject.complete();
    expect(h.events.map((e) => (e as { label?: string }).label)).toEqual([
      'first',
      'first',
      'first',
    ]);
    expect(h.events.find((e) => e.type === 'started')).toMatchObject({ expectedMs: 5 });
  });

  it('is a hot stream: a late subscriber sees only later events', () => {
    const h = harness({ concurrency: 1 });
    h.run('a').subject.complete();
    h.record();
    expect(h.events).toEqual([]);
    h.run('b');
    expect(h.events.map((e) => e.type)).toEqual(['queued', 'started']);
  });
});

describe('TaskControl', () => {
  it.each([
    ['urgent', '"urgent"'],
    [undefined, 'undefined'],
    [0, '0'],
  ])('raise(%s) throws a TypeError and changes nothing', (priority, shown) => {
    const control = new TaskControl();
    expect(() => control.raise(priority as never)).toThrow(
      new TypeError(
        `priority must be one of 'critical', 'normal', 'background'; received ${shown}`,
      ),
    );
    expect(control.priority).toBeUndefined();
    expect(control.pinned).toBe(false);
    for (const valid of ['background', 'normal', 'critical'] as const) control.raise(valid);
    expect(control.priority).toBe('critical');
  });

  it('raise moves a queued task to the tail of the higher lane', () => {
    const h = harness({ concurrency: 1 });
    h.record();
    const control = new TaskControl();
    const blocker = h.run('blocker');
    h.run('b1', { priority: 'background', control });
    h.run('n1');
    h.run('c1', { priority: 'critical' });
    control.raise('critical');
    expect(control.priority).toBe('critical');
    expect(h.executor.stats().queuedByPriority).toEqual({ critical: 2, normal: 1, background: 0 });
    expect(h.events.filter((e) => e.type === 'promoted')).toEqual([
      expect.objectContaining({ from: 'background', priority: 'critical' }),
    ]);
    blocker.subject.complete();
    h.get('c1').subject.complete();
    h.get('b1').subject.complete();
    expect(h.started()).toEqual(['blocker', 'c1', 'b1', 'n1']);
  });

  it('raise never lowers a priority', () => {
    const control = new TaskControl();
    control.raise('normal');
    control.raise('background');
    expect(control.priority).toBe('normal');
    control.raise('critical');
    control.raise('normal');
    expect(control.priority).toBe('critical');
    expect(control.pinned).toBe(true);
  });

  it('applies a raise made before the task was subscribed', () => {
    const h = harness({ concurrency: 1 });
    const control = new TaskControl();
    control.raise('critical');
    h.run('blocker');
    h.run('b', { priority: 'background', control });
    expect(h.executor.stats().queuedByPriority.critical).toBe(1);
  });

  it('raise on a running preemptible task makes it non-preemptible', () => {
    const h = harness({ concurrency: 1 });
    const control = new TaskControl();
    const b = h.run('b', { priority: 'background', preemptible: true, control });
    control.raise('critical');
    h.run('c', { priority: 'critical' });
    expect(b.errored).toBe(false);
    expect(h.started()).toEqual(['b']);
    b.subject.complete();
    expect(h.started()).toEqual(['b', 'c']);
  });

  it('a running background task raised counts in its new lane and frees background capacity', () => {
    const h = harness({ concurrency: 3, backgroundConcurrency: 1 });
    h.record();
    const control = new TaskControl();
    const b1 = h.run('b1', { priority: 'background', preemptible: true, control });
    h.run('b2', { priority: 'background' });
    expect(h.started()).toEqual(['b1']);
    control.raise('normal');
    // b1 no longer holds the one background place: b2 starts in the free slot.
    expect(h.started()).toEqual(['b1', 'b2']);
    expect(h.executor.stats().runningByPriority).toEqual({
      critical: 0,
      normal: 1,
      background: 1,
    });
    expect(h.events.filter((e) => e.type === 'promoted')).toEqual([
      expect.objectContaining({ taskId: 1, from: 'background', priority: 'normal' }),
    ]);
    // Pinned: critical work waits for a free slot rather than preempting b1.
    h.run('c1', { priority: 'critical' });
    h.run('c2', { priority: 'critical' });
    expect(b1.errored).toBe(false);
    expect(h.started()).toEqual(['b1', 'b2', 'c1']);
    b1.subject.complete();
    expect(h.events.filter((e) => 'taskId' in e && e.taskId === 1).at(-1)).toMatchObject({
      type: 'completed',
      priority: 'normal',
    });
    expect(h.started()).toEqual(['b1', 'b2', 'c1', 'c2']);
    h.get('b2').subject.complete();
    h.get('c1').subject.complete();
    h.get('c2').subject.complete();
    expect(h.executor.stats()).toEqual(zeroStats);
  });

  it('a running task raised to its own or a lower lane is only pinned', () => {
    const h = harness({ concurrency: 2 });
    h.record();
    const control = new TaskControl();
    const n = h.run('n', { priority: 'normal', preemptible: true, control });
    control.raise('background');
    control.raise('normal');
    expect(h.events.some((e) => e.type === 'promoted')).toBe(false);
    expect(h.executor.stats().runningByPriority).toEqual({
      critical: 0,
      normal: 1,
      background: 0,
    });
    h.run('c1', { priority: 'critical' });
    h.run('c2', { priority: 'critical' });
    expect(n.errored).toBe(false);
    n.subject.complete();
    expect(h.started()).toEqual(['n', 'c1', 'c2']);
  });

  it('a queued task raised into a higher lane can preempt, and is itself pinned', () => {
    const h = harness({ concurrency: 1 });
    h.record();
    const control = new TaskControl();
    const b0 = h.run('b0', { priority: 'background', preemptible: true });
    const b1 = h.run('b1', { priority: 'background', preemptible: true, control });
    control.raise('normal');
    expect(b0.error).toBeInstanceOf(PreemptedError);
    expect(b1.calls).toBe(1);
    expect(h.events.at(-1)).toMatchObject({
      type: 'started',
      priority: 'normal',
      preemptible: false,
    });
    h.run('c', { priority: 'critical' });
    expect(b1.errored).toBe(false);
  });

  it('a raise to a lower or equal lane only pins the task', () => {
    const h = harness({ concurrency: 1 });
    const control = new TaskControl();
    h.run('blocker');
    h.run('n', { priority: 'normal', control });
    control.raise('background');
    expect(h.executor.stats().queuedByPriority).toEqual({ critical: 0, normal: 1, background: 0 });
  });

  it('is detached once the task ended', () => {
    const h = harness({ concurrency: 1 });
    h.record();
    const control = new TaskControl();
    h.run('a', { priority: 'background', control }).subject.complete();
    control.raise('critical');
    expect(h.events.some((e) => e.type === 'promoted')).toBe(false);
    expect(h.executor.stats()).toEqual(zeroStats);
  });
});

describe('queue operations are O(1)', () => {
  // No timing assertion: with O(n) removal these would take minutes and hit the timeout.
  const n = 200_000;

  it(`cancels ${n} queued tasks in random order`, () => {
    const executor = createExecutor({ concurrency: 1 });
    const blocker = new Subject<never>();
    executor.schedule(() => blocker).subscribe();
    const work = vi.fn(() => [1]);
    const priorities: Priority[] = ['critical', 'normal', 'background'];
    const subscriptions: Subscription[] = [];
    for (let i = 0; i < n; i++) {
      subscriptions.push(
        executor.schedule(work, { priority: priorities[i % 3] as Priority }).subscribe(),
      );
    }
    expect(executor.stats().queued).toBe(n);
    shuffle(subscriptions, 42);
    for (let i = 0; i < n; i++) {
      (subscriptions[i] as Subscription).unsubscribe();
    }
    expect(executor.stats()).toMatchObject({ running: 1, queued: 0 });
    blocker.complete();
    expect(work).not.toHaveBeenCalled();
    expect(executor.stats()).toEqual(zeroStats);
  });

  it(`runs ${n} queued tasks in FIFO order after cancelling a random half`, () => {
    const executor = createExecutor({ concurrency: 1 });
    const blocker = new Subject<never>();
    executor.schedule(() => blocker).subscribe();
    const ran: number[] = [];
    const subscriptions: Subscription[] = [];
    for (let i = 0; i < n; i++) {
      subscriptions.push(executor.schedule(() => from([i])).subscribe((v) => ran.push(v)));
    }
    const cancelled = new Set(shuffle([...Array(n).keys()], 7).slice(0, n / 2));
    for (const i of cancelled) (subscriptions[i] as Subscription).unsubscribe();
    blocker.complete();
    const expected = [...Array(n).keys()].filter((i) => !cancelled.has(i));
    expect(ran.length).toBe(expected.length);
    expect(ran.every((v, i) => v === expected[i])).toBe(true);
    expect(executor.stats()).toEqual(zeroStats);
  });
});

// The Clock type is public: keep a compile-time check that a plain object satisfies it.
const _clock: Clock = { now: () => 0 };
void _clock;
