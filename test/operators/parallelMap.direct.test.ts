import { AbortError } from 'eed';
import { parallelMap } from 'eed/operators';
import {
  lastValueFrom,
  Observable,
  type ObservableInput,
  range,
  Subject,
  type Subscription,
  toArray,
} from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// parallelMap without an executor runs its tasks itself (a private slot counter, no
// PriorityExecutor): these tests pin down that path's promises, signals and teardown.

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every settled promise's reactions run. */
const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

let controllersCreated = 0;
const OriginalAbortController = globalThis.AbortController;
beforeEach(() => {
  controllersCreated = 0;
  globalThis.AbortController = class extends OriginalAbortController {
    constructor() {
      super();
      controllersCreated++;
    }
  };
});
afterEach(() => {
  globalThis.AbortController = OriginalAbortController;
});

/** Subscribes and records everything the output does. */
function record<R>(source: Observable<R>) {
  const out = { values: [] as R[], error: undefined as unknown, completed: false };
  const subscription: Subscription = source.subscribe({
    next: (value) => out.values.push(value),
    error: (error: unknown) => {
      out.error = error;
    },
    complete: () => {
      out.completed = true;
    },
  });
  return { out, subscription };
}

describe('parallelMap without an executor: promises and signals', () => {
  it('creates no AbortController for a project without a signal parameter', async () => {
    const values = await lastValueFrom(
      range(0, 50).pipe(
        parallelMap(async (x: number) => x + 1, { concurrency: 3 }),
        toArray(),
      ),
    );
    expect(values.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(controllersCreated).toBe(0);
  });

  it('gives each call of a project that takes a signal its own, live signal', async () => {
    const signals: AbortSignal[] = [];
    const values = await lastValueFrom(
      range(0, 4).pipe(
        parallelMap(
          async (x: number, _i: number, signal: AbortSignal) => {
            signals.push(signal);
            return x;
          },
          { concurrency: 2 },
        ),
        toArray(),
      ),
    );
    expect(values.sort()).toEqual([0, 1, 2, 3]);
    expect(controllersCreated).toBe(4);
    expect(new Set(signals).size).toBe(4);
    // Work that finished is not aborted afterwards.
    expect(signals.every((signal) => !signal.aborted)).toBe(true);
  });

  it('on unsubscribe drops late results and starts nothing (no signal)', async () => {
    const pending = Array.from({ length: 5 }, () => deferred<number>());
    const calls: number[] = [];
    const { out, subscription } = record(
      range(0, 5).pipe(
        parallelMap(
          (x: number) => {
            calls.push(x);
            return (pending[x] as Deferred<number>).promise;
          },
          { concurrency: 2 },
        ),
      ),
    );
    expect(calls).toEqual([0, 1]);
    subscription.unsubscribe();
    for (const [i, d] of pending.entries()) d.resolve(i);
    await flush();
    expect(calls).toEqual([0, 1]);
    expect(out).toEqual({ values: [], error: undefined, completed: false });
  });

  it('on unsubscribe aborts every running signal with an AbortError', () => {
    const signals: AbortSignal[] = [];
    const { subscription } = record(
      range(0, 5).pipe(
        parallelMap(
          (_x: number, _i: number, signal: AbortSignal) => {
            signals.push(signal);
            return new Promise<never>(() => {});
          },
          { concurrency: 3 },
        ),
      ),
    );
    expect(signals).toHaveLength(3);
    subscription.unsubscribe();
    expect(signals.map((s) => s.aborted)).toEqual([true, true, true]);
    for (const signal of signals) expect(signal.reason).toBeInstanceOf(AbortError);
  });

  it('a rejection tears down first, then forwards; later results are dropped (no signal)', async () => {
    const pending = Array.from({ length: 6 }, () => deferred<number>());
    const calls: number[] = [];
    const { out } = record(
      range(0, 6).pipe(
        parallelMap(
          (x: number) => {
            calls.push(x);
            return (pending[x] as Deferred<number>).promise;
          },
          { concurrency: 3 },
        ),
      ),
    );
    const boom = new Error('boom');
    (pending[1] as Deferred<number>).reject(boom);
    await flush();
    expect(out.error).toBe(boom);
    for (const [i, d] of pending.entries()) d.resolve(i);
    await flush();
    expect(out.values).toEqual([]);
    expect(calls).toEqual([0, 1, 2]);
  });

  it('a rejection aborts the other running signals before it is forwarded', async () => {
    const pending = Array.from({ length: 3 }, () => deferred<number>());
    const signals: AbortSignal[] = [];
    let abortedAtError: boolean[] = [];
    range(0, 3)
      .pipe(
        parallelMap(
          (x: number, _i: number, signal: AbortSignal) => {
            signals.push(signal);
            return (pending[x] as Deferred<number>).promise;
          },
          { concurrency: 3 },
        ),
      )
      .subscribe({ error: () => (abortedAtError = signals.map((s) => s.aborted)) });
    (pending[2] as Deferred<number>).reject(new Error('boom'));
    await flush();
    expect(abortedAtError).toEqual([true, true, false]);
  });

  it('with ordered, emits promise results in input order whatever order they settle in', async () => {
    const pending = Array.from({ length: 5 }, () => deferred<string>());
    const { out } = record(
      range(0, 5).pipe(
        parallelMap((x: number) => (pending[x] as Deferred<string>).promise, {
          concurrency: 5,
          ordered: true,
        }),
      ),
    );
    for (const i of [3, 1, 4, 0, 2]) {
      (pending[i] as Deferred<string>).resolve(`r${i}`);
      await flush();
    }
    expect(out).toEqual({
      values: ['r0', 'r1', 'r2', 'r3', 'r4'],
      error: undefined,
      completed: true,
    });
  });

  it('counts a thenable that calls back twice only once', async () => {
    let active = 0;
    let maxActive = 0;
    const project = (x: number): ObservableInput<number> => {
      active++;
      maxActive = Math.max(maxActive, active);
      return {
        // biome-ignore lint/suspicious/noThenProperty: a misbehaving thenable is the point
        then(onFulfilled: (value: number) => void, onRejected: (error: unknown) => void) {
          queueMicrotask(() => {
            active--;
            onFulfilled(x);
            onFulfilled(x + 100);
            onRejected(new Error('late'));
          });
        },
      } as unknown as PromiseLike<number>;
    };
    const values = await lastValueFrom(
      range(0, 6).pipe(parallelMap(project, { concurrency: 2 }), toArray()),
    );
    expect(values.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(maxActive).toBe(2);
  });

  it('fails with a TypeError for a result from() cannot convert', async () => {
    const project = () => 42 as unknown as ObservableInput<number>;
    await expect(lastValueFrom(range(0, 3).pipe(parallelMap(project)))).rejects.toBeInstanceOf(
      TypeError,
    );
  });

  it("runs an inner Observable's finalizers before its slot goes to the next input", () => {
    const log: string[] = [];
    const inners = [new Subject<number>(), new Subject<number>()];
    range(0, 2)
      .pipe(
        parallelMap(
          (x: number) => {
            log.push(`start ${x}`);
            return new Observable<number>((subscriber) => {
              const subscription = (inners[x] as Subject<number>).subscribe(subscriber);
              return () => {
                log.push(`finalize ${x}`);
                subscription.unsubscribe();
              };
            });
          },
          { concurrency: 1 },
        ),
      )
      .subscribe();
    (inners[0] as Subject<number>).complete();
    expect(log).toEqual(['start 0', 'finalize 0', 'start 1']);
  });

  it('gives every subscription of the output its own cap and state', async () => {
    let calls = 0;
    const mapped = range(0, 20).pipe(
      parallelMap(
        async (x: number) => {
          calls++;
          return x;
        },
        { concurrency: 4 },
      ),
      toArray(),
    );
    const [a, b] = await Promise.all([lastValueFrom(mapped), lastValueFrom(mapped)]);
    expect(a.sort((x, y) => x - y)).toEqual(b.sort((x, y) => x - y));
    expect(a).toHaveLength(20);
    expect(calls).toBe(40);
  });

  it('starts every input at once with concurrency Infinity', () => {
    let started = 0;
    const { subscription } = record(
      range(0, 100).pipe(
        parallelMap(
          () => {
            started++;
            return new Promise<never>(() => {});
          },
          { concurrency: Number.POSITIVE_INFINITY },
        ),
      ),
    );
    expect(started).toBe(100);
    subscription.unsubscribe();
  });
});

describe('parallelMap without an executor: synchronous inner results', () => {
  it('runs a long chain of tasks that end synchronously without recursion', async () => {
    const n = 50_000;
    const values = await lastValueFrom(
      range(0, n).pipe(
        parallelMap((x: number) => [x], { concurrency: 1 }),
        toArray(),
      ),
    );
    expect(values).toHaveLength(n);
    expect(values[n - 1]).toBe(n - 1);
  });
});
