import { createExecutor } from 'eed';
import { parallelMap } from 'eed/operators';
import { firstValueFrom, lastValueFrom, range, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';

describe('work that declares no signal parameter', () => {
  it('gets no AbortController of its own, and still runs and cancels correctly', async () => {
    const Original = globalThis.AbortController;
    let created = 0;
    globalThis.AbortController = class extends Original {
      constructor() {
        super();
        created++;
      }
    };
    try {
      const executor = createExecutor({ concurrency: 2 });
      expect(await firstValueFrom(executor.schedule(async () => 1))).toBe(1);
      const out = await lastValueFrom(
        range(0, 5).pipe(
          parallelMap(async (x: number) => x * 2),
          toArray(),
        ),
      );
      expect(out.sort((a, b) => a - b)).toEqual([0, 2, 4, 6, 8]);
      expect(created).toBe(0);
      // A work that takes the signal gets a real one, aborted on unsubscribe.
      let seen: AbortSignal | undefined;
      const subscription = executor
        .schedule((signal) => {
          seen = signal;
          return new Promise<never>(() => {});
        })
        .subscribe();
      subscription.unsubscribe();
      expect(seen?.aborted).toBe(true);
      expect(executor.stats().running).toBe(0);
    } finally {
      globalThis.AbortController = Original;
    }
  });
});
