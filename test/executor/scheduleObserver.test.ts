import { createExecutor, type ExecutorStats } from 'eed';
import { config, map, Subscription, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DirectSubscriber } from '../../src/util/DirectObservable.js';
import { deferred } from './helpers.js';

const idle: ExecutorStats = {
  running: 0,
  queued: 0,
  runningByPriority: { critical: 0, normal: 0, background: 0 },
  queuedByPriority: { critical: 0, normal: 0, background: 0 },
};

/** What RxJS reports as unhandled (observer throws, errors nobody handles). */
let unhandled: unknown[] = [];

beforeEach(() => {
  vi.useFakeTimers();
  unhandled = [];
  config.onUnhandledError = (error) => unhandled.push(error);
});

afterEach(() => {
  config.onUnhandledError = null;
  vi.useRealTimers();
});

describe('executor.schedule subscribed with a plain observer', () => {
  it('queues the task through one subscriber that holds it (no RxJS wrappers while it waits)', async () => {
    const executor = createExecutor({ concurrency: 1 });
    const blocker = deferred<string>();
    const values: string[] = [];
    executor.schedule(() => blocker.promise).subscribe({ next: (v) => values.push(v) });
    const queued = executor.schedule(async () => 'second').subscribe((v) => values.push(v));
    expect(queued).toBeInstanceOf(DirectSubscriber);
    expect(queued).toBeInstanceOf(Subscription);
    expect(executor.stats()).toMatchObject({ running: 1, queued: 1 });
    blocker.resolve('first');
    await vi.runAllTimersAsync();
    expect(values).toEqual(['first', 'second']);
    expect(queued.closed).toBe(true);
    expect(executor.stats()).toEqual(idle);
  });

  it('never calls the work of a task unsubscribed while queued, and frees its place', async () => {
    const executor = createExecutor({ concurrency: 1 });
    const blocker = deferred<string>();
    executor.schedule(() => blocker.promise).subscribe(() => {});
    const work = vi.fn(async () => 'never');
    const subscription = executor.schedule(work).subscribe({ next: () => {} });
    subscription.unsubscribe();
    expect(executor.stats()).toMatchObject({ running: 1, queued: 0 });
    blocker.resolve('done');
    await vi.runAllTimersAsync();
    expect(work).not.toHaveBeenCalled();
    expect(executor.stats()).toEqual(idle);
  });

  it('aborts the signal of a running task it unsubscribes, and hands its slot on at once', async () => {
    const executor = createExecutor({ concurrency: 1 });
    let signal: AbortSignal | undefined;
    const subscription = executor
      .schedule((s: AbortSignal) => {
        signal = s;
        return new Promise<string>(() => {});
      })
      .subscribe({ next: () => {} });
    const next = vi.fn(async () => 'next');
    executor.schedule(next).subscribe(() => {});
    expect(signal?.aborted).toBe(false);
    subscription.unsubscribe();
    expect(signal?.aborted).toBe(true);
    expect(next).toHaveBeenCalledTimes(1);
    await vi.runAllTimersAsync();
    expect(executor.stats()).toEqual(idle);
  });

  it('reports a throwing observer as unhandled; the task still ends and the next one runs', async () => {
    const executor = createExecutor({ concurrency: 1 });
    const thrown = new Error('observer bug');
    const completed = vi.fn();
    executor
      .schedule(async () => 1)
      .subscribe({
        next: () => {
          throw thrown;
        },
        complete: completed,
      });
    const after: number[] = [];
    executor.schedule(async () => 2).subscribe((v) => after.push(v));
    await vi.runAllTimersAsync();
    expect(unhandled).toEqual([thrown]);
    expect(completed).toHaveBeenCalledTimes(1);
    expect(after).toEqual([2]);
    expect(executor.stats()).toEqual(idle);
  });

  it('gives an error to the observer, or reports it when the observer has no error callback', async () => {
    const executor = createExecutor();
    const failure = new Error('work failed');
    const errors: unknown[] = [];
    executor
      .schedule(() => Promise.reject(failure))
      .subscribe({ error: (error) => errors.push(error) });
    executor.schedule(() => Promise.reject(failure)).subscribe(() => {});
    await vi.runAllTimersAsync();
    expect(errors).toEqual([failure]);
    expect(unhandled).toEqual([failure]);
    expect(executor.stats()).toEqual(idle);
  });

  it('ends a task whose work completes synchronously before subscribe returns', () => {
    const executor = createExecutor();
    const values: number[] = [];
    const subscription = executor.schedule(() => [1, 2, 3]).subscribe((v) => values.push(v));
    expect(values).toEqual([1, 2, 3]);
    expect(subscription.closed).toBe(true);
    expect(executor.stats()).toEqual(idle);
  });

  it('keeps the RxJS path for operators: a piped schedule delivers and tears down as before', async () => {
    const executor = createExecutor();
    const results: number[][] = [];
    executor
      .schedule(() => [1, 2])
      .pipe(
        map((v) => v * 10),
        toArray(),
      )
      .subscribe((all) => results.push(all));
    await vi.runAllTimersAsync();
    expect(results).toEqual([[10, 20]]);
  });
});
