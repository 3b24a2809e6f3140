import { createExecutor, type ExecutionEvent, MetricsAggregator } from 'eed';
import fc from 'fast-check';
import { Subject, type Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';

/** What a step does to the tasks of a live executor, between clock moves. */
type Step =
  | { kind: 'schedule' }
  | { kind: 'complete' | 'fail' | 'leave'; index: number }
  | { kind: 'advance'; ms: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'schedule' as const }) },
  ...(['complete', 'fail', 'leave'] as const).map((kind) => ({
    weight: 2,
    arbitrary: fc.nat().map((index) => ({ kind, index })),
  })),
  {
    weight: 2,
    arbitrary: fc.integer({ min: 1, max: 50 }).map((ms) => ({ kind: 'advance' as const, ms })),
  },
);

interface LiveTask {
  readonly work: Subject<number>;
  subscription: Subscription;
  started: boolean;
  ended: boolean;
}

describe('handoff (DESIGN: slot release -> next task start), from a live executor', () => {
  it('is counted once per slot freed while work waited, and is 0: the executor hands a freed slot on at once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(stepArb, { maxLength: 60 }),
        (concurrency, steps) => {
          let now = 1_000;
          const executor = createExecutor({
            concurrency,
            backgroundConcurrency: concurrency,
            clock: { now: () => now },
          });
          const aggregator = new MetricsAggregator({ concurrency });
          executor.events$.subscribe((event: ExecutionEvent) => aggregator.add(event));
          const tasks: LiveTask[] = [];
          let handedOn = 0;
          for (const step of steps) {
            if (step.kind === 'advance') {
              now += step.ms;
              continue;
            }
            if (step.kind === 'schedule') {
              const work = new Subject<number>();
              const task: LiveTask = {
                work,
                started: false,
                ended: false,
                subscription: undefined as unknown as Subscription,
              };
              task.subscription = executor
                .schedule(() => {
                  task.started = true;
                  return work;
                })
                .subscribe({ error: () => {}, complete: () => {} });
              tasks.push(task);
              continue;
            }
            // Only a started task's work can complete or fail; any task can be left.
            const live = tasks.filter((t) => !t.ended && (step.kind === 'leave' || t.started));
            if (live.length === 0) continue;
            const task = live[step.index % live.length] as LiveTask;
            // A running task that ends while others wait frees a slot that one of them gets.
            if (task.started && executor.stats().queued > 0) handedOn++;
            task.ended = true;
            if (step.kind === 'leave') task.subscription.unsubscribe();
            else if (step.kind === 'fail') task.work.error(new Error('failed'));
            else task.work.complete();
          }
          const { handoff, tasks: counts } = aggregator.snapshot();
          expect(handoff.count).toBe(handedOn);
          expect(handoff.max).toBe(0);
          expect(counts.started).toBe(tasks.filter((t) => t.started).length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
