import {
  createExecutor,
  type ExecutionEvent,
  type Executor,
  type ExecutorOptions,
  type ScheduleOptions,
} from 'eed';
import { Subject, type Subscription } from 'rxjs';

/** One subscription of a task whose work is a Subject the test drives by hand. */
export interface Probe {
  readonly name: string;
  /** What the work returns: `next`, `error` and `complete` it to drive the task. */
  readonly subject: Subject<unknown>;
  /** How many times the work was called (0 or 1). */
  calls: number;
  /** The signal the work received. */
  signal: AbortSignal | undefined;
  values: unknown[];
  error: unknown;
  errored: boolean;
  completed: boolean;
  subscription: Subscription;
}

/**
 * An executor plus helpers: `run(name, options)` schedules and subscribes a task whose
 * work returns a Subject, and `log` records, in order, `name` when a work is called,
 * `name:error` and `name:done` when its subscriber is told.
 */
export function harness(options?: ExecutorOptions) {
  const executor: Executor = createExecutor(options);
  const log: string[] = [];
  const probes = new Map<string, Probe>();
  const events: ExecutionEvent[] = [];

  const run = (name: string, scheduleOptions?: ScheduleOptions): Probe => {
    const subject = new Subject<unknown>();
    const probe: Probe = {
      name,
      subject,
      calls: 0,
      signal: undefined,
      values: [],
      error: undefined,
      errored: false,
      completed: false,
      subscription: undefined as unknown as Subscription,
    };
    probes.set(name, probe);
    probe.subscription = executor
      .schedule((signal) => {
        probe.calls++;
        probe.signal = signal;
        log.push(name);
        return subject;
      }, scheduleOptions)
      .subscribe({
        next: (value) => probe.values.push(value),
        error: (error: unknown) => {
          probe.error = error;
          probe.errored = true;
          log.push(`${name}:error`);
        },
        complete: () => {
          probe.completed = true;
          log.push(`${name}:done`);
        },
      });
    return probe;
  };

  /** Names of the tasks whose work was called, in call order. */
  const started = () => log.filter((entry) => !entry.includes(':'));

  /** The probe with this name (throws if unknown). */
  const get = (name: string): Probe => {
    const probe = probes.get(name);
    if (probe === undefined) throw new Error(`no task ${name}`);
    return probe;
  };

  /** Starts recording `events$`. */
  const record = () => executor.events$.subscribe((event) => events.push(event));

  return { executor, run, log, started, get, events, record };
}

/** A promise with its resolve and reject functions. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A seeded pseudo-random generator (mulberry32), for reproducible shuffles. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Shuffles `items` in place with a seeded generator (Fisher-Yates). */
export function shuffle<T>(items: T[], seed: number): T[] {
  const random = seededRandom(seed);
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
