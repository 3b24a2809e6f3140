/**
 * The benchmark suite: every case in order, run with one profile. `bench/main.ts` is the
 * command line around it; `test/bench/quick.test.ts` runs it on tiny sizes.
 */
import { batchingCase } from './cases/batching.js';
import { cacheCase } from './cases/cache.js';
import { criticalPathCase } from './cases/criticalPath.js';
import { dedupeCase } from './cases/dedupe.js';
import { evictionCase } from './cases/eviction.js';
import { hedgeCase } from './cases/hedge.js';
import { memoryCase } from './cases/memory.js';
import { prefetchCase } from './cases/prefetch.js';
import { observabilityCase, schedulerCase } from './cases/scheduler.js';
import type { BenchCase, CaseResult } from './harness.js';
import type { Profile } from './profiles.js';

/** Every case, in the order issue 9 lists them, then issues 4 and 5, then the graph bench. */
export const CASES: readonly BenchCase<Profile>[] = [
  schedulerCase,
  dedupeCase,
  cacheCase,
  batchingCase,
  memoryCase,
  observabilityCase,
  evictionCase,
  prefetchCase,
  hedgeCase,
  criticalPathCase,
];

/** Options of {@link runSuite}. */
export interface SuiteOptions {
  readonly profile: Profile;
  /** Case ids to run; all when empty or absent. */
  readonly only?: readonly string[];
  /** Progress output (one line per case); default none. */
  readonly log?: (line: string) => void;
}

/** Runs the selected cases one after another and returns their results. */
export async function runSuite(options: SuiteOptions): Promise<CaseResult[]> {
  const only = options.only ?? [];
  const unknown = only.filter((id) => !CASES.some((c) => c.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `unknown case(s): ${unknown.join(', ')}; known: ${CASES.map((c) => c.id).join(', ')}`,
    );
  }
  const selected = only.length === 0 ? CASES : CASES.filter((c) => only.includes(c.id));
  const results: CaseResult[] = [];
  for (const benchCase of selected) {
    const started = performance.now();
    options.log?.(`# ${benchCase.title} ...`);
    const result = await benchCase.run(options.profile);
    options.log?.(`# ${benchCase.title}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    results.push(result);
  }
  return results;
}
