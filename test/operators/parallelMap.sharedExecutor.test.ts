import { createExecutor } from 'eed';
import { parallelMap } from 'eed/operators';
import { lastValueFrom, Observable, range, take } from 'rxjs';
import { describe, expect, it } from 'vitest';

describe('parallelMap on a shared executor, cut short by take(1)', () => {
  it('starts no project call after the answer, even when cancelling frees a slot', async () => {
    const executor = createExecutor({ concurrency: 2 });
    const calls: number[] = [];
    const signals: AbortSignal[] = [];
    const first = await lastValueFrom(
      range(0, 10).pipe(
        parallelMap(
          (i: number, _index, signal) => {
            calls.push(i);
            signals.push(signal);
            return i === 0 ? Promise.resolve(i) : new Observable<number>(() => {});
          },
          { executor, concurrency: 3 },
        ),
        take(1),
      ),
    );
    expect(first).toBe(0);
    expect(calls).toEqual([0, 1]);
    expect(signals[1]!.aborted).toBe(true);
    expect(executor.stats()).toMatchObject({ running: 0, queued: 0 });
  });
});
