import {
  AbortError,
  AllFailedError,
  createExecutor,
  LatencyRegistry,
  type ShortCircuitEvent,
} from 'eed';
import { hedge } from 'eed/operators';
import fc from 'fast-check';
import {
  firstValueFrom,
  mergeMap,
  type Observable,
  of,
  Subject,
  take,
  throwError,
  timer,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';

const testScheduler = () =>
  new TestScheduler((actual, expected) => {
    expect(actual).toEqual(expected);
  });

/** A work function that returns the next of `copies` on each call, recording signals. */
function copiesOf<T>(copies: Observable<T>[]) {
  const signals: AbortSignal[] = [];
  const work = (signal: AbortSignal): Observable<T> => {
    signals.push(signal);
    const copy = copies[signals.length - 1];
    if (copy === undefined) throw new Error(`copy ${signals.length} was not expected`);
    return copy;
  };
  return { work, signals };
}

describe('hedge: marbles', () => {
  it('starts a backup after `after` ms; the first to emit wins and the other is unsubscribed', () => {
    const latencies = new LatencyRegistry();
    let signals: AbortSignal[] = [];
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const first = cold('------x|');
      const second = cold('--y-z|');
      const copies = copiesOf([first, second]);
      signals = copies.signals;
      const result = hedge(copies.work, { after: 2, label: 'marble', latencies });
      expectObservable(result).toBe('----y-z|');
      expectSubscriptions(first.subscriptions).toBe('^---!');
      expectSubscriptions(second.subscriptions).toBe('--^----!');
    });
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[0]?.reason).toBeInstanceOf(AbortError);
    expect(signals[1]?.aborted).toBe(false);
    // The winner's latency (start to first value, in virtual ms) was learned.
    expect(latencies.quantile('marble', 0.5)).toBe(2);
  });

  it('a copy that answers in time needs no backup', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const first = cold('-x|');
      const copies = copiesOf([first]);
      expectObservable(hedge(copies.work, { after: 5 })).toBe('-x|');
      expectSubscriptions(first.subscriptions).toBe('^-!');
    });
  });

  it('a failure starts the next copy at once, and does not fail the whole', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const first = cold('-#');
      const second = cold('--y|');
      const copies = copiesOf([first, second]);
      expectObservable(hedge(copies.work, { after: 10 })).toBe('---y|');
      expectSubscriptions(second.subscriptions).toBe('-^--!');
    });
  });

  it('a failure while another copy runs waits for that copy', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const copies = copiesOf([cold('-----x|'), cold('-#')]);
      expectObservable(hedge(copies.work, { after: 2 })).toBe('-----x|');
    });
  });

  it('errors with an AggregateError of every cause, in copy order, when all copies failed', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const copies = copiesOf([cold('----#', {}, 'A'), cold('-#', {}, 'B')]);
      expectObservable(hedge(copies.work, { after: 2 })).toBe(
        '----#',
        undefined,
        new AllFailedError('hedge', ['A', 'B'], 'hedge: all 2 copies failed'),
      );
    });
  });

  it('starts at most `max` copies, `after` apart', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const copies = [cold('----------a|'), cold('---------b|'), cold('--c|')];
      const { work } = copiesOf(copies);
      expectObservable(hedge(work, { after: 3, max: 3 })).toBe('--------c|');
      expectSubscriptions(copies[0]?.subscriptions ?? []).toBe('^-------!');
      expectSubscriptions(copies[1]?.subscriptions ?? []).toBe('---^----!');
      expectSubscriptions(copies[2]?.subscriptions ?? []).toBe('------^--!');
    });
  });

  it('forwards the winner’s error after its first value', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const copies = copiesOf([cold('-x#', { x: 1 }, 'late')]);
      expectObservable(hedge(copies.work, { after: 5 })).toBe('-x#', { x: 1 }, 'late');
    });
  });

  it('an empty completion wins too', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const first = cold('-----x|');
      const copies = copiesOf([first, cold('-|')]);
      expectObservable(hedge(copies.work, { after: 1 })).toBe('--|');
      expectSubscriptions(first.subscriptions).toBe('^-!');
    });
  });

  it('unsubscribing cancels every copy and the pending backup', () => {
    let calls = 0;
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const first = cold('-------x|');
      const copies = copiesOf([first, cold('x|')]);
      const work = (signal: AbortSignal) => {
        calls++;
        return copies.work(signal);
      };
      expectObservable(hedge(work, { after: 4 }), '^--!').toBe('');
      expectSubscriptions(first.subscriptions).toBe('^--!');
    });
    expect(calls).toBe(1);
  });

  it("after: 'p95' waits the label's p95 once enough samples are known, the fallback before", () => {
    const latencies = new LatencyRegistry();
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const before = [cold('----------x|'), cold('y|')];
      expectObservable(
        hedge(copiesOf(before).work, {
          after: 'p95',
          label: 'api',
          latencies,
          afterFallbackMs: 3,
        }),
      ).toBe('---y|');
      expectSubscriptions(before[1]?.subscriptions ?? []).toBe('---^!');
    });
    // That win taught 'api' one latency (0); twenty more make the p95 trustworthy.
    for (let ms = 1; ms <= 20; ms++) latencies.record('api', ms);
    const p95 = latencies.quantile('api', 0.95, 20) as number;
    expect(Math.abs(p95 - 19)).toBeLessThanOrEqual(19 * 0.02);
    const scheduler = new TestScheduler(() => undefined);
    const starts: number[] = [];
    const values: string[] = [];
    scheduler.run(({ cold }) => {
      const after = [cold('-'.repeat(30) + 'x|'), cold('y|')];
      const work = () => {
        starts.push(scheduler.now());
        return after[starts.length - 1] as Observable<string>;
      };
      hedge(work, { after: 'p95', label: 'api', latencies, afterFallbackMs: 3 }).subscribe((v) =>
        values.push(v),
      );
    });
    expect(starts).toEqual([0, p95]);
    expect(values).toEqual(['y']);
  });

  it('on a shared executor, copies queue in its lanes; the win skips the queued ones', () => {
    const events: ShortCircuitEvent[] = [];
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const executor = createExecutor({ concurrency: 2 });
      const blocker = cold('------|');
      executor.schedule(() => blocker).subscribe();
      const copies = [cold('---x|'), cold('-y|'), cold('z|')];
      const result = hedge(copiesOf(copies).work, {
        after: 1,
        max: 3,
        executor,
        label: 'shared',
        events: { next: (e) => events.push(e) },
      });
      // Copy 1 runs at once; copy 2 (queued at 1) and copy 3 (at 2) wait for a slot.
      expectObservable(result).toBe('---x|');
      expectSubscriptions(copies[1]?.subscriptions ?? []).toBe([]);
    });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'short-circuit',
        operator: 'hedge',
        label: 'shared',
        aborted: 0,
        skipped: 2,
      }),
    ]);
  });

  it('cancelling a running loser frees a slot that no queued copy takes', () => {
    let calls = 0;
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const executor = createExecutor({ concurrency: 2 });
      const copies = [cold('-----x|'), cold('--y|'), cold('z|')];
      const { work } = copiesOf(copies);
      const counted = (signal: AbortSignal) => {
        calls++;
        return work(signal);
      };
      // Copies 1 and 2 run; copy 3 (launched at 2) waits for a slot; copy 2 wins at 3.
      expectObservable(hedge(counted, { after: 1, max: 3, executor })).toBe('---y|');
      expectSubscriptions(copies[0]?.subscriptions ?? []).toBe('^--!');
      expectSubscriptions(copies[2]?.subscriptions ?? []).toBe([]);
    });
    expect(calls).toBe(2);
  });

  it('reports the running losers it aborted', () => {
    const events: ShortCircuitEvent[] = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const copies = copiesOf([cold('--------x|'), cold('-------y|'), cold('-z|')]);
      expectObservable(
        hedge(copies.work, { after: 1, max: 3, events: { next: (e) => events.push(e) } }),
      ).toBe('---z|');
    });
    expect(events).toEqual([expect.objectContaining({ aborted: 2, skipped: 0 })]);
  });
});

describe('hedge: promises', () => {
  it('works with real timers and promise-returning work', async () => {
    const signals: AbortSignal[] = [];
    const value = await firstValueFrom(
      hedge(
        (signal) => {
          signals.push(signal);
          const delay = signals.length === 1 ? 200 : 5;
          return new Promise<number>((resolve) =>
            setTimeout(() => resolve(signals.length === 1 ? 1 : 2), delay),
          );
        },
        { after: 10 },
      ),
    );
    expect(value).toBe(2);
    expect(signals.map((s) => s.aborted)).toEqual([true, false]);
  });

  it('a synchronous winner stops everything at once', () => {
    const values: number[] = [];
    let calls = 0;
    hedge(
      () => {
        calls++;
        return of(1, 2);
      },
      { after: 0, max: 3 },
    )
      .pipe(take(1))
      .subscribe((v) => values.push(v));
    expect(values).toEqual([1]);
    expect(calls).toBe(1);
  });

  it('synchronous failures use up the copies at once', async () => {
    let calls = 0;
    const error = await firstValueFrom(
      hedge(
        () => {
          calls++;
          throw new Error(`copy ${calls}`);
        },
        { after: 1000, max: 3 },
      ),
    ).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect((error as AggregateError).errors.map((e: Error) => e.message)).toEqual([
      'copy 1',
      'copy 2',
      'copy 3',
    ]);
  });

  it('does not start a copy after the subscriber left', async () => {
    const source = new Subject<number>();
    let calls = 0;
    const subscription = hedge(
      () => {
        calls++;
        return source;
      },
      { after: 1 },
    ).subscribe();
    subscription.unsubscribe();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toBe(1);
  });
});

describe('hedge: validation', () => {
  const work = () => of(1);
  it('names the option and the value', () => {
    expect(() => hedge('x' as never, { after: 1 })).toThrow(
      'hedge: work must be a function; received "x"',
    );
    expect(() => hedge(work, undefined as never)).toThrow(
      'hedge: options must be an object with an after; received undefined',
    );
    expect(() => hedge(work, { after: 'p99' as never })).toThrow(
      `hedge: after must be a number of milliseconds >= 0 or 'p95'; received "p99"`,
    );
    expect(() => hedge(work, { after: -1 })).toThrow(
      'hedge: after must be a number of milliseconds >= 0; received -1',
    );
    expect(() => hedge(work, { after: 1, max: 0 })).toThrow(
      'hedge: max must be a finite integer >= 1; received 0',
    );
    expect(() => hedge(work, { after: 1, max: 1.5 })).toThrow(
      'hedge: max must be a finite integer >= 1; received 1.5',
    );
    expect(() => hedge(work, { after: 1, max: '2' as never })).toThrow(
      'hedge: max must be a finite integer >= 1; received "2"',
    );
    expect(() => hedge(work, { after: 1, max: null as never })).toThrow(
      'hedge: max must be a finite integer >= 1; received null',
    );
    expect(() => hedge(work, { after: 1, max: Number.POSITIVE_INFINITY })).toThrow(
      'hedge: max must be a finite integer >= 1; received Infinity',
    );
    expect(() => hedge(work, { after: 'p95' })).toThrow(
      "hedge: after: 'p95' needs a label, naming the work whose latencies to learn; received label undefined",
    );
    expect(() => hedge(work, { after: 1, priority: 'high' as never })).toThrow(
      /hedge: priority must be one of .*received "high"/,
    );
    expect(() => hedge(work, { after: 1, afterFallbackMs: Number.NaN })).toThrow(
      'hedge: afterFallbackMs must be a number of milliseconds >= 0; received NaN',
    );
    expect(() => hedge(work, { after: 1, minSamples: 0 })).toThrow(/hedge: minSamples/);
    expect(() => hedge(work, { after: 1, executor: {} as never })).toThrow(
      'hedge: executor must be an Executor (see createExecutor); received an object',
    );
    expect(() => hedge(work, { after: 1, scheduler: 1 as never })).toThrow(
      'hedge: scheduler must be a SchedulerLike; received 1',
    );
    expect(() => hedge(work, { after: 1, latencies: {} as never })).toThrow(
      'hedge: latencies must be a LatencyRegistry; received an object',
    );
    expect(() => hedge(work, { after: 1, events: {} as never })).toThrow(/hedge: events/);
    expect(() => hedge(work, { after: 1, label: 5 as never })).toThrow(
      'hedge: label must be a string; received 5',
    );
  });
});

interface CopyPlan {
  delay: number;
  fails: boolean;
}

describe('hedge: properties', () => {
  it('at most `max` copies; exactly one winner, first to answer; every loser aborted', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ delay: fc.integer({ min: 0, max: 30 }), fails: fc.boolean() }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.integer({ min: 1, max: 6 }),
        fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(Number.POSITIVE_INFINITY)),
        (plans: CopyPlan[], maxWanted, after) => {
          const max = Math.min(maxWanted, plans.length);
          const scheduler = new TestScheduler(() => undefined);
          const copies: {
            startedAt: number;
            signal: AbortSignal;
            settledAt: number | undefined;
          }[] = [];
          const emitted: { value: number; at: number }[] = [];
          let failure: unknown;
          let completedAt: number | undefined;
          let atWin: { running: boolean; aborted: boolean }[] = [];
          scheduler.run(() => {
            const work = (signal: AbortSignal) => {
              const index = copies.length;
              const plan = plans[index] as CopyPlan;
              const copy = {
                startedAt: scheduler.now(),
                signal,
                settledAt: undefined as number | undefined,
              };
              copies.push(copy);
              return timer(plan.delay).pipe(
                mergeMap(() => {
                  copy.settledAt = scheduler.now();
                  return plan.fails ? throwError(() => new Error(`copy ${index}`)) : of(index);
                }),
              );
            };
            hedge(work, { after, max }).subscribe({
              next: (value) => {
                emitted.push({ value, at: scheduler.now() });
                // Which copies were still running, and were they aborted, as the win arrives?
                atWin = copies.map((c, i) => ({
                  running: i !== value && c.settledAt === undefined,
                  aborted: c.signal.aborted,
                }));
              },
              error: (error: unknown) => {
                failure = error;
              },
              complete: () => {
                completedAt = scheduler.now();
              },
            });
          });
          // At most `max` copies started.
          expect(copies.length).toBeLessThanOrEqual(max);
          expect(copies.length).toBeGreaterThanOrEqual(1);
          // Each copy started at a hedge moment: `after` past the previous one, or at a failure.
          for (let i = 1; i < copies.length; i++) {
            const previous = copies[i - 1] as (typeof copies)[number];
            const startedAt = (copies[i] as (typeof copies)[number]).startedAt;
            const failedThen = copies
              .slice(0, i)
              .some((c, j) => (plans[j] as CopyPlan).fails && c.settledAt === startedAt);
            expect(startedAt === previous.startedAt + after || failedThen).toBe(true);
          }
          const successes = copies
            .map((c, i) => ({ i, at: c.startedAt + (plans[i] as CopyPlan).delay }))
            .filter(({ i }) => !(plans[i] as CopyPlan).fails);
          if (emitted.length > 0) {
            // Exactly one winner, and no started copy could have answered earlier.
            expect(emitted).toHaveLength(1);
            const winner = (emitted[0] as { value: number }).value;
            const winAt = (emitted[0] as { at: number }).at;
            expect(completedAt).toBe(winAt);
            for (const success of successes) expect(success.at).toBeGreaterThanOrEqual(winAt);
            // Every other copy had failed or was aborted before the win was emitted...
            for (const copy of atWin) if (copy.running) expect(copy.aborted).toBe(true);
            // ...and never settled afterwards; the winner was not aborted.
            copies.forEach((copy, i) => {
              if (i === winner) expect(copy.signal.aborted).toBe(false);
              else if (copy.settledAt !== undefined)
                expect(copy.settledAt).toBeLessThanOrEqual(winAt);
            });
            // Nothing started after the win.
            for (const copy of copies) expect(copy.startedAt).toBeLessThanOrEqual(winAt);
          } else {
            // No success: every one of the `max` copies was started and failed, in order.
            expect(successes).toEqual([]);
            expect(copies).toHaveLength(max);
            expect(failure).toBeInstanceOf(AggregateError);
            expect((failure as AggregateError).errors.map((e: Error) => e.message)).toEqual(
              copies.map((_, i) => `copy ${i}`),
            );
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
