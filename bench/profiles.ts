import type { Effort } from './harness.js';

/** Sizes and effort of one benchmark run. */
export interface Profile {
  readonly name: 'full' | 'quick' | 'tiny';
  /**
   * Effort of the scheduler-scale comparisons (one run = a whole workload). Every
   * contender also runs once before (to check its answer), which warms it up too.
   */
  readonly effort: Effort;
  /** Effort of the slowest comparisons (1M-task runs, priorities through p-queue). */
  readonly heavyEffort: Effort;
  readonly scheduler: {
    readonly tasks: number;
    readonly concurrency: number;
    /** Per-task cost is compared at these two sizes (flatness). */
    readonly flatSmall: number;
    readonly flatLarge: number;
  };
  readonly dedupe: { readonly requests: number; readonly keys: number; readonly wave: number };
  readonly cache: { readonly entries: readonly number[]; readonly ops: number };
  readonly batching: { readonly loads: number; readonly batchSize: number };
  readonly memory: { readonly items: number; readonly samples: number };
  readonly eviction: {
    readonly keys: number;
    readonly requests: number;
    readonly capacity: number;
  };
  readonly prefetch: { readonly requests: number; readonly pages: number };
  readonly hedge: { readonly requests: number };
}

const FULL: Profile = {
  name: 'full',
  effort: { rounds: 3, iterations: 2, warmup: 3 },
  heavyEffort: { rounds: 2, iterations: 2, warmup: 2 },
  scheduler: { tasks: 100_000, concurrency: 10, flatSmall: 10_000, flatLarge: 1_000_000 },
  dedupe: { requests: 100_000, keys: 1_000, wave: 1_000 },
  cache: { entries: [10_000, 1_000_000], ops: 300_000 },
  batching: { loads: 100_000, batchSize: 100 },
  memory: { items: 1_000_000, samples: 100 },
  eviction: { keys: 100_000, requests: 1_000_000, capacity: 5_000 },
  prefetch: { requests: 5_000, pages: 60 },
  hedge: { requests: 400 },
};

const QUICK: Profile = {
  name: 'quick',
  effort: { rounds: 2, iterations: 1, warmup: 0 },
  heavyEffort: { rounds: 1, iterations: 1, warmup: 0 },
  scheduler: { tasks: 10_000, concurrency: 10, flatSmall: 10_000, flatLarge: 50_000 },
  dedupe: { requests: 10_000, keys: 1_000, wave: 1_000 },
  cache: { entries: [10_000, 100_000], ops: 100_000 },
  batching: { loads: 10_000, batchSize: 100 },
  memory: { items: 50_000, samples: 20 },
  eviction: { keys: 20_000, requests: 100_000, capacity: 1_000 },
  prefetch: { requests: 1_000, pages: 60 },
  hedge: { requests: 100 },
};

/** Tiny sizes for the test: proves every case runs and every peer agrees, times nothing. */
const TINY: Profile = {
  name: 'tiny',
  effort: { rounds: 1, iterations: 1, warmup: 0 },
  heavyEffort: { rounds: 1, iterations: 1, warmup: 0 },
  scheduler: { tasks: 300, concurrency: 10, flatSmall: 100, flatLarge: 1_000 },
  dedupe: { requests: 2_000, keys: 100, wave: 100 },
  cache: { entries: [100, 1_000], ops: 2_000 },
  batching: { loads: 1_000, batchSize: 100 },
  memory: { items: 2_000, samples: 5 },
  eviction: { keys: 500, requests: 5_000, capacity: 50 },
  prefetch: { requests: 150, pages: 12 },
  hedge: { requests: 20 },
};

export const PROFILES = { full: FULL, quick: QUICK, tiny: TINY } as const;
