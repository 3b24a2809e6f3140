import type { GraphEvent, GraphTask } from 'eed';
import { type Observable, Subject, type Subscription } from 'rxjs';

/** Tasks whose work is a Subject the test completes or fails by hand. */
export class Gates {
  /** Names of the tasks whose work was called, in call order. */
  readonly started: string[] = [];
  readonly signals = new Map<string, AbortSignal>();
  readonly deps = new Map<string, unknown>();
  readonly #subjects = new Map<string, Subject<unknown>>();

  /** A task named `name` (the name is only used for the log). */
  task(name: string, extra: Omit<GraphTask, 'run'> = {}): GraphTask {
    return {
      ...extra,
      run: (deps, signal) => {
        this.started.push(name);
        this.signals.set(name, signal);
        this.deps.set(name, deps);
        const subject = new Subject<unknown>();
        this.#subjects.set(name, subject);
        return subject;
      },
    };
  }

  /** Completes `name`'s work with `value`. */
  finish(name: string, value: unknown = name): void {
    const subject = this.#get(name);
    subject.next(value);
    subject.complete();
  }

  /** Fails `name`'s work with `error`. */
  fail(name: string, error: unknown): void {
    this.#get(name).error(error);
  }

  #get(name: string): Subject<unknown> {
    const subject = this.#subjects.get(name);
    if (subject === undefined) throw new Error(`task ${name} has not started`);
    return subject;
  }
}

/** Everything a subscription of a graph stream received. */
export interface Recording<R> {
  readonly events: GraphEvent<R>[];
  error: unknown;
  errored: boolean;
  completed: boolean;
  readonly subscription: Subscription;
  /** `type:task` of every task event, `type` of the others. */
  trace(): string[];
}

/** Subscribes to `events$` and records what it receives. */
export function record<R>(events$: Observable<GraphEvent<R>>): Recording<R> {
  const events: GraphEvent<R>[] = [];
  const recording = {
    events,
    error: undefined as unknown,
    errored: false,
    completed: false,
    subscription: undefined as unknown as Subscription,
    trace: () => events.map((e) => ('task' in e ? `${e.type}:${e.task}` : e.type)),
  };
  recording.subscription = events$.subscribe({
    next: (event) => events.push(event),
    error: (error: unknown) => {
      recording.error = error;
      recording.errored = true;
    },
    complete: () => {
      recording.completed = true;
    },
  });
  return recording;
}

/** A clock the test moves by hand. */
export function manualClock(start = 0) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}
