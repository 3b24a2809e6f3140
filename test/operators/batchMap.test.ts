import { BatchItemError, BatchLengthError, createExecutor } from 'eed';
import { batchMap } from 'eed/operators';
import fc from 'fast-check';
import { from, lastValueFrom, Observable, Subject, take, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it, vi } from 'vitest';

const double = async (xs: number[]) => xs.map((x) => x * 2);

describe('batchMap', () => {
  it('loads values of one tick in one batch and maps results back by position', async () => {
    const load = vi.fn(double);
    const out = await lastValueFrom(from([1, 2, 3]).pipe(batchMap(load), toArray()));
    expect(out).toEqual([2, 4, 6]);
    expect(load).toHaveBeenCalledTimes(1);
    expect(load.mock.calls[0]![0]).toEqual([1, 2, 3]);
  });

  it('sends a batch early at maxBatchSize', async () => {
    const load = vi.fn(double);
    const out = await lastValueFrom(
      from([1, 2, 3, 4, 5]).pipe(batchMap(load, { maxBatchSize: 2 }), toArray()),
    );
    expect(out).toEqual([2, 4, 6, 8, 10]);
    expect(load.mock.calls.map((c) => c[0])).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('loads duplicate keys of a window once and fans the result out', async () => {
    const load = vi.fn(async (ids: string[]) => ids.map((id) => `user ${id}`));
    const out = await lastValueFrom(
      from(['a', 'b', 'a', 'a']).pipe(batchMap(load, { keyOf: (id) => id }), toArray()),
    );
    expect(out.sort()).toEqual(['user a', 'user a', 'user a', 'user b']);
    expect(load.mock.calls[0]![0]).toEqual(['a', 'b']);
  });

  it('an Error slot fails only its value; a rejected batch fails all of its values', async () => {
    const out = await lastValueFrom(
      from([1, 2, 3]).pipe(
        batchMap(async (xs: number[]) => xs.map((x) => (x === 2 ? new Error('no 2') : x))),
        toArray(),
      ),
    );
    expect(out[0]).toBe(1);
    expect(out[1]).toBeInstanceOf(BatchItemError);
    expect((out[1] as BatchItemError<number>).value).toBe(2);
    expect(out[2]).toBe(3);

    const failures: unknown[] = [];
    const rest = await lastValueFrom(
      from([1, 2]).pipe(
        batchMap(
          async () => {
            throw new Error('backend down');
          },
          { onItemError: (e) => failures.push(e.value) },
        ),
        toArray(),
      ),
    );
    expect(rest).toEqual([]);
    expect(failures).toEqual([1, 2]);
  });

  it('a result of the wrong length is a clear error naming both lengths', async () => {
    const errors: BatchItemError<number>[] = [];
    await lastValueFrom(
      from([1, 2]).pipe(
        batchMap(async () => [1], { onItemError: (e) => errors.push(e) }),
        toArray(),
      ),
    );
    expect(errors).toHaveLength(2);
    expect(errors[0]!.cause).toBeInstanceOf(BatchLengthError);
    expect(String(errors[0]!.cause)).toMatch(/returned 1 result for 2 values/);
  });

  it('caps batches in flight with concurrency', async () => {
    const gates: Subject<number[]>[] = [];
    let answered = 0;
    let peak = 0;
    const load = () =>
      new Observable<number[]>((subscriber) => {
        const gate = new Subject<number[]>();
        gates.push(gate);
        peak = Math.max(peak, gates.length - answered);
        gate.subscribe(subscriber);
      }).pipe(take(1));
    const seen: number[] = [];
    from([1, 2, 3, 4, 5, 6])
      .pipe(batchMap(load, { maxBatchSize: 1, concurrency: 2 }))
      .subscribe((v) => seen.push(v as number));
    expect(gates).toHaveLength(2);
    for (let i = 0; i < 6; i++) {
      answered++;
      gates[i]!.next([(i + 1) * 10]);
    }
    expect(seen).toEqual([10, 20, 30, 40, 50, 60]);
    expect(peak).toBe(2);
  });

  it('uses a maxWaitMs window on an injectable scheduler (marbles)', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(({ cold, expectObservable }) => {
      const calls: number[][] = [];
      const source = cold('a-b-------c|', { a: 1, b: 2, c: 3 });
      const result = source.pipe(
        batchMap(
          (xs: number[]) => {
            calls.push(xs);
            return [xs.map((x) => x * 10)];
          },
          { maxWaitMs: 5, scheduler },
        ),
      );
      expectObservable(result).toBe('-----(xy)--(z|)', { x: 10, y: 20, z: 30 });
      scheduler.flush();
      expect(calls).toEqual([[1, 2], [3]]);
    });
  });

  it('with maxWaitMs: Infinity, sends a batch when full or when the source completes, never on a timer (marbles)', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(({ cold, expectObservable }) => {
      const calls: number[][] = [];
      // 1 s of virtual time between values: no window closes the batch.
      const source = cold('a 999ms b 999ms c 999ms d 999ms e|', { a: 1, b: 2, c: 3, d: 4, e: 5 });
      const result = source.pipe(
        batchMap(
          (xs: number[]) => {
            calls.push(xs);
            return [xs];
          },
          { maxWaitMs: Number.POSITIVE_INFINITY, maxBatchSize: 2, scheduler },
        ),
      );
      expectObservable(result).toBe('1000ms (xy) 1996ms (zw) 997ms (v|)', {
        x: 1,
        y: 2,
        z: 3,
        w: 4,
        v: 5,
      });
      scheduler.flush();
      expect(calls).toEqual([[1, 2], [3, 4], [5]]);
    });
  });

  it('with maxWaitMs: Infinity, arms no timer (setInterval would fire Infinity after 1 ms)', async () => {
    vi.useFakeTimers();
    try {
      const calls: number[][] = [];
      const source = new Subject<number>();
      const results: number[] = [];
      source
        .pipe(
          batchMap(
            async (xs: number[]) => {
              calls.push(xs);
              return xs;
            },
            { maxWaitMs: Number.POSITIVE_INFINITY, maxBatchSize: 10 },
          ),
        )
        .subscribe((x) => results.push(x as number));
      source.next(1);
      expect(vi.getTimerCount()).toBe(0);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(calls).toEqual([]);
      source.complete();
      await vi.advanceTimersByTimeAsync(0);
      expect(calls).toEqual([[1]]);
      expect(results).toEqual([1]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects a maxWaitMs longer than a timer can wait (it would fire after 1 ms)', () => {
    expect(() => batchMap(double, { maxWaitMs: 2 ** 31 })).toThrow(RangeError);
    expect(() => batchMap(double, { maxWaitMs: 2 ** 31 })).toThrow(
      /batchMap: maxWaitMs must be a number of milliseconds >= 0 and at most 2147483647 .*, or Infinity; received 2147483648/,
    );
    expect(() => batchMap(double, { maxWaitMs: 2 ** 31 - 1 })).not.toThrow();
  });

  it('aborts batches in flight when unsubscribed', async () => {
    const signals: AbortSignal[] = [];
    const subscription = from([1, 2])
      .pipe(
        batchMap((_xs: number[], signal) => {
          signals.push(signal);
          return new Promise<number[]>(() => {});
        }),
      )
      .subscribe();
    await new Promise((r) => setTimeout(r, 5));
    expect(signals).toHaveLength(1);
    subscription.unsubscribe();
    expect(signals[0]!.aborted).toBe(true);
  });

  it('gives every input exactly one output, whatever the batch sizes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 3 }),
        async (xs, maxBatchSize, concurrency) => {
          let calls = 0;
          const out = await lastValueFrom(
            from(xs).pipe(
              batchMap(
                async (batch: number[]) => {
                  calls++;
                  expect(batch.length).toBeLessThanOrEqual(maxBatchSize);
                  return batch.map((x) => x + 1);
                },
                { maxBatchSize, concurrency },
              ),
              toArray(),
            ),
          );
          expect([...out].sort((a, b) => (a as number) - (b as number))).toEqual(
            xs.map((x) => x + 1).sort((a, b) => a - b),
          );
          expect(calls).toBe(Math.ceil(xs.length / maxBatchSize));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('validates options when built', () => {
    expect(() => batchMap(double, { maxBatchSize: 0 })).toThrow(/maxBatchSize.*0/);
    expect(() => batchMap(double, { concurrency: 1.5 })).toThrow(/concurrency.*1\.5/);
    expect(() => batchMap('x' as unknown as typeof double)).toThrow(/loadBatch/);
  });

  it('rejects a bad executor, scheduler or label when built, naming the option and the value', () => {
    const cases: [object, string][] = [
      [{ executor: 5 }, 'batchMap: executor must be an Executor (see createExecutor); received 5'],
      [
        { executor: null },
        'batchMap: executor must be an Executor (see createExecutor); received null',
      ],
      [
        { scheduler: 5 },
        'batchMap: scheduler must be an RxJS SchedulerLike (now() and schedule()); received 5',
      ],
      [{ label: 5 }, 'batchMap: label must be a string; received 5'],
    ];
    for (const [options, message] of cases) {
      const build = () => batchMap(double, options as never);
      expect(build).toThrow(TypeError);
      expect(build).toThrow(message);
    }
  });

  it('runs batches on the given executor, with a label', async () => {
    const executor = createExecutor();
    const labels: (string | undefined)[] = [];
    executor.events$.subscribe((event) => {
      if (event.type === 'started') labels.push(event.label);
    });
    const out = await lastValueFrom(
      from([1, 2]).pipe(batchMap(double, { executor, label: 'double' }), toArray()),
    );
    expect(out).toEqual([2, 4]);
    expect(labels).toEqual(['double']);
  });
});
