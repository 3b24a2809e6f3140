import { createExecutor } from 'eed';
import type { PredicateMapOptions } from 'eed/operators';
import fc from 'fast-check';
import { concatMap, type ObservableInput, type OperatorFunction, range, tap } from 'rxjs';
import { expect } from 'vitest';

type Answer = 'true' | 'false' | 'error';

/** A boolean short-circuiting operator under test: `someMap` or `everyMap`. */
export interface BooleanShortCircuit {
  readonly operator: (
    predicate: (value: number, index: number, signal: AbortSignal) => ObservableInput<boolean>,
    options?: PredicateMapOptions,
  ) => OperatorFunction<number, boolean>;
  /** The answer that ends the run early: `true` for someMap, `false` for everyMap. */
  readonly decisive: boolean;
}

/**
 * The shared law of someMap and everyMap, checked over random answers, caps, sources
 * (synchronous or arriving one by one) and shared executors smaller than the cap: the
 * answer is Array#some / Array#every (any error wins over it only if it came first);
 * at most `concurrency` predicates run at once; nothing starts after the answer; every
 * predicate still running when it arrives has been aborted; the source is not read past
 * its end.
 */
export async function checkBooleanShortCircuitLaw({
  operator,
  decisive,
}: BooleanShortCircuit): Promise<void> {
  const other = decisive ? 'false' : 'true';
  const answerArb = fc.constantFrom<Answer>(decisive ? 'true' : 'false', other, other, 'error');
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(answerArb, { maxLength: 12 }),
      fc.integer({ min: 1, max: 4 }),
      fc.boolean(),
      fc.option(fc.integer({ min: 1, max: 3 })),
      async (s, answers, concurrency, asyncSource, shared) => {
        // A shared executor smaller than the cap queues predicates in its lanes.
        const executor = shared === null ? undefined : createExecutor({ concurrency: shared });
        const calls: { signal: AbortSignal; settled: boolean }[] = [];
        const log: string[] = [];
        let active = 0;
        let maxActive = 0;
        let received = 0;
        let unsettledAbortedAtEnd = true;
        const predicate = (x: number, index: number, signal: AbortSignal) => {
          log.push(`start ${index}`);
          const call = { signal, settled: false };
          calls.push(call);
          active++;
          maxActive = Math.max(maxActive, active);
          return s.schedule(Promise.resolve(), `predicate ${index}`).then(() => {
            call.settled = true;
            active--;
            if (answers[x] === 'error') throw new Error(`predicate ${x}`);
            return answers[x] === 'true';
          });
        };
        const source = (
          asyncSource
            ? range(0, answers.length).pipe(
                concatMap((i) => s.schedule(Promise.resolve(i), `source ${i}`)),
              )
            : range(0, answers.length)
        ).pipe(tap(() => received++));
        const check = () => {
          log.push('end');
          unsettledAbortedAtEnd = calls.filter((c) => !c.settled).every((c) => c.signal.aborted);
        };
        const ended = new Promise<{ value?: boolean; error?: unknown }>((resolve) => {
          let value: boolean | undefined;
          source.pipe(operator(predicate, { concurrency, executor })).subscribe({
            next: (v) => {
              value = v;
              check();
            },
            error: (error: unknown) => {
              check();
              resolve({ error });
            },
            complete: () => resolve({ value }),
          });
        });
        const outcome = await s.waitFor(ended);
        await s.waitIdle();
        const decisiveAnswer = decisive ? 'true' : 'false';
        expect(maxActive).toBeLessThanOrEqual(concurrency);
        expect(log.indexOf('end')).toBe(log.length - 1);
        expect(unsettledAbortedAtEnd).toBe(true);
        expect(received).toBeLessThanOrEqual(answers.length);
        if (outcome.error !== undefined) {
          expect(answers).toContain('error');
        } else if (outcome.value === decisive) {
          expect(answers).toContain(decisiveAnswer);
        } else {
          expect(outcome.value).toBe(!decisive);
          expect(answers.every((a) => a === other)).toBe(true);
          expect(calls).toHaveLength(answers.length);
        }
        if (!answers.includes('error')) {
          expect(outcome.value).toBe(answers.includes(decisiveAnswer) === decisive);
        }
      },
    ),
    { numRuns: 200 },
  );
}
