import { createEngine } from 'eed';
import { dedupeMap } from 'eed/operators';
import fc from 'fast-check';
import { from, lastValueFrom, Observable, Subject, take, toArray } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';

const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('dedupeMap', () => {
  it('runs the work once per key and still gives every input its own output', async () => {
    const project = vi.fn(async (v: { id: number }) => `user ${v.id}`);
    const out = await lastValueFrom(
      from([{ id: 1 }, { id: 2 }, { id: 1 }, { id: 1 }]).pipe(
        dedupeMap((v) => `u${v.id}`, project),
        toArray(),
      ),
    );
    expect(out.sort()).toEqual(['user 1', 'user 1', 'user 1', 'user 2']);
    expect(project).toHaveBeenCalledTimes(2);
  });

  it('matches mergeMap results for random inputs, calling project once per distinct key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 40 }), async (xs) => {
        const project = vi.fn(async (x: number) => x * 10);
        const out = await lastValueFrom(
          from(xs).pipe(
            dedupeMap((x) => String(x), project, { concurrency: 3 }),
            toArray(),
          ),
        );
        expect(out.sort((a, b) => a - b)).toEqual(xs.map((x) => x * 10).sort((a, b) => a - b));
        expect(project).toHaveBeenCalledTimes(new Set(xs).size);
      }),
    );
  });

  it('shares executions and cache entries across streams through a shared engine', async () => {
    const engine = createEngine();
    const project = vi.fn(async (x: number) => x + 1);
    const a = lastValueFrom(from([1, 2]).pipe(dedupeMap(String, project, { engine }), toArray()));
    const b = lastValueFrom(from([2, 1]).pipe(dedupeMap(String, project, { engine }), toArray()));
    expect((await a).sort()).toEqual([2, 3]);
    expect((await b).sort()).toEqual([2, 3]);
    expect(project).toHaveBeenCalledTimes(2);
    expect(engine.metrics().redundancyRate).toBe(0);
  });

  it('emits in input order with ordered: true', async () => {
    const gates = [new Subject<string>(), new Subject<string>()];
    const seen: string[] = [];
    from([0, 1])
      .pipe(dedupeMap(String, (i) => gates[i]!, { ordered: true }))
      .subscribe((v) => seen.push(v));
    await flush();
    gates[1]!.next('second');
    gates[1]!.complete();
    expect(seen).toEqual([]);
    gates[0]!.next('first');
    gates[0]!.complete();
    expect(seen).toEqual(['first', 'second']);
  });

  it('aborts running work when the output is unsubscribed early', async () => {
    const signals: AbortSignal[] = [];
    const project = (x: number, signal: AbortSignal) => {
      signals.push(signal);
      return x === 0 ? Promise.resolve(x) : new Observable<number>(() => {});
    };
    const out = await lastValueFrom(from([0, 1, 2]).pipe(dedupeMap(String, project), take(1)));
    expect(out).toBe(0);
    await flush();
    expect(signals.slice(1).every((s) => s.aborted)).toBe(true);
  });

  it('validates its arguments when built', () => {
    expect(() =>
      dedupeMap('x' as unknown as (v: number) => string, async (v: number) => v),
    ).toThrow(/dedupeMap: keyOf/);
    expect(() => dedupeMap(String, async (v: number) => v, { concurrency: 0 })).toThrow(
      /concurrency.*0/,
    );
  });

  it('rejects a bad engine, label or ordered when built, naming the option and the value', () => {
    const project = async (v: number) => v;
    const cases: [object, RegExp | string][] = [
      [
        { engine: {} },
        'dedupeMap: engine must be an Engine (see createEngine); received an object',
      ],
      [{ engine: null }, 'dedupeMap: engine must be an Engine (see createEngine); received null'],
      [{ label: 5 }, 'dedupeMap: label must be a string; received 5'],
      [{ ordered: 'yes' }, 'dedupeMap: ordered must be true or false; received "yes"'],
    ];
    for (const [options, message] of cases) {
      const build = () => dedupeMap(String, project, options as never);
      expect(build).toThrow(TypeError);
      expect(build).toThrow(message);
    }
  });

  it('accepts an engine, a label and ordered true or false', async () => {
    const engine = createEngine({ metrics: false });
    for (const ordered of [true, false]) {
      const out = await lastValueFrom(
        from([1, 2, 1]).pipe(
          dedupeMap(String, async (v: number) => v * 10, { engine, label: 'x', ordered }),
          toArray(),
        ),
      );
      expect(out.sort()).toEqual([10, 10, 20]);
    }
  });
});
