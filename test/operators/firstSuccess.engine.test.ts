import { createEngine } from 'eed';
import { firstSuccess } from 'eed/operators';
import { from, lastValueFrom, Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';

describe('short-circuit savings reach the engine metrics', () => {
  it('counts aborted and skipped work reported through engine.reports', async () => {
    const engine = createEngine({ executor: { concurrency: 2 } });
    const winner = await lastValueFrom(
      from([0, 1, 2, 3]).pipe(
        firstSuccess(
          (i: number) => (i === 0 ? Promise.resolve('first') : new Observable<string>(() => {})),
          { concurrency: 2, events: engine.reports },
        ),
      ),
    );
    expect(winner).toBe('first');
    const { aborted, skipped } = engine.metrics().shortCircuit;
    expect(aborted + skipped).toBeGreaterThanOrEqual(1);
  });
});
