import {
  type ChromeTrace,
  createEngine,
  createExecutor,
  type ExecutionEvent,
  type Priority,
  type TraceCompleteEvent,
  type TraceInstantEvent,
  toChromeTrace,
  type Work,
} from 'eed';
import fc from 'fast-check';
import { firstValueFrom, NEVER, Subject, type Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';

/**
 * Checks a trace against the Trace Event Format's documented requirements (JSON Object
 * Format: `traceEvents` array; every event has `name`, `ph`, `ts`, `pid`, `tid`; complete
 * events `dur`; instant events a scope `s`; metadata events their `args`) plus what eed
 * promises on top: ts >= 0, slices of one track never overlap, every track is named.
 */
function expectValidTrace(trace: ChromeTrace): void {
  const json = JSON.parse(JSON.stringify(trace)) as ChromeTrace;
  expect(json).toEqual(trace); // JSON-safe: nothing lost or turned into null
  expect(Array.isArray(json.traceEvents)).toBe(true);
  expect(json.displayTimeUnit).toBe('ms');
  const processNames = new Set<number>();
  const threadNames = new Set<string>();
  for (const event of json.traceEvents) {
    expect(typeof event.name).toBe('string');
    expect(['X', 'i', 'M', 'C']).toContain(event.ph);
    expect(typeof event.ts).toBe('number');
    expect(Number.isFinite(event.ts)).toBe(true);
    expect(event.ts).toBeGreaterThanOrEqual(0);
    expect(Number.isInteger(event.pid)).toBe(true);
    expect(Number.isInteger(event.tid)).toBe(true);
    switch (event.ph) {
      case 'X':
        expect(typeof event.dur).toBe('number');
        expect(event.dur).toBeGreaterThanOrEqual(0);
        expect(typeof event.cat).toBe('string');
        expect(event.args.outcome).toMatch(/^(completed|failed|cancelled|preempted|unfinished)$/);
        break;
      case 'i':
        expect(['g', 'p', 't']).toContain(event.s);
        break;
      case 'C':
        for (const value of Object.values(event.args)) expect(typeof value).toBe('number');
        break;
      case 'M':
        if (event.name === 'process_name' || event.name === 'thread_name') {
          expect(typeof (event.args as { name?: unknown }).name).toBe('string');
        } else {
          expect(typeof (event.args as { sort_index?: unknown }).sort_index).toBe('number');
        }
        if (event.name === 'process_name') processNames.add(event.pid);
        if (event.name === 'thread_name') threadNames.add(`${event.pid}:${event.tid}`);
        break;
    }
  }
  const byTrack = new Map<string, TraceCompleteEvent[]>();
  for (const event of json.traceEvents) {
    if (event.ph === 'M') continue;
    expect(processNames).toContain(event.pid);
    if (event.ph === 'C') continue;
    expect(threadNames).toContain(`${event.pid}:${event.tid}`);
    if (event.ph !== 'X') continue;
    const key = `${event.pid}:${event.tid}`;
    byTrack.set(key, [...(byTrack.get(key) ?? []), event]);
  }
  for (const slices of byTrack.values()) {
    slices.sort((a, b) => a.ts - b.ts);
    for (let i = 1; i < slices.length; i++) {
      const previous = slices[i - 1]!;
      // One slot runs one task at a time (1 ns of slack for float rounding).
      expect(slices[i]!.ts).toBeGreaterThanOrEqual(previous.ts + previous.dur - 1e-3);
    }
  }
}

const slices = (trace: ChromeTrace) =>
  trace.traceEvents.filter((e): e is TraceCompleteEvent => e.ph === 'X');
const instants = (trace: ChromeTrace) =>
  trace.traceEvents.filter((e): e is TraceInstantEvent => e.ph === 'i');
const meta = (trace: ChromeTrace) => trace.traceEvents.filter((e) => e.ph === 'M');

/** Executor events by hand: `task(id, ...)` gives the fields every task event needs. */
const task = (taskId: number, priority: Priority = 'normal', label?: string) =>
  ({ taskId, label, priority, executorId: 3 }) as const;

describe('toChromeTrace', () => {
  it('draws task runs as slices on one track per slot, in µs from the first event', () => {
    const events: ExecutionEvent[] = [
      { type: 'queued', time: 1000, ...task(1, 'normal', 'fetch user'), preemptible: false },
      { type: 'queued', time: 1000.5, ...task(2, 'background'), preemptible: true },
      {
        type: 'started',
        time: 1001,
        ...task(1, 'normal', 'fetch user'),
        slot: 0,
        preemptible: false,
        expectedMs: undefined,
      },
      {
        type: 'started',
        time: 1002,
        ...task(2, 'background'),
        slot: 1,
        preemptible: true,
        expectedMs: undefined,
      },
      { type: 'completed', time: 1011, ...task(1, 'normal', 'fetch user'), slot: 0 },
      { type: 'preempted', time: 1012.25, ...task(2, 'background'), slot: 1 },
    ];
    const trace = toChromeTrace(events);
    expectValidTrace(trace);
    expect(slices(trace)).toEqual([
      {
        name: 'fetch user',
        ph: 'X',
        ts: 1000,
        dur: 10_000,
        pid: 3,
        tid: 1,
        cat: 'normal',
        args: {
          taskId: 1,
          priority: 'normal',
          preemptible: false,
          outcome: 'completed',
          label: 'fetch user',
          waitedMs: 1,
        },
      },
      {
        name: 'task 2',
        ph: 'X',
        ts: 2000,
        dur: 10_250,
        pid: 3,
        tid: 2,
        cat: 'background,preemptible',
        cname: 'bad',
        args: {
          taskId: 2,
          priority: 'background',
          preemptible: true,
          outcome: 'preempted',
          waitedMs: 1.5,
        },
      },
    ]);
    expect(meta(trace)).toEqual([
      { name: 'process_name', ph: 'M', ts: 0, pid: 3, tid: 1, args: { name: 'eed executor 3' } },
      { name: 'process_sort_index', ph: 'M', ts: 0, pid: 3, tid: 1, args: { sort_index: 3 } },
      { name: 'thread_name', ph: 'M', ts: 0, pid: 3, tid: 1, args: { name: 'slot 0' } },
      { name: 'thread_sort_index', ph: 'M', ts: 0, pid: 3, tid: 1, args: { sort_index: 0 } },
      { name: 'thread_name', ph: 'M', ts: 0, pid: 3, tid: 2, args: { name: 'slot 1' } },
      { name: 'thread_sort_index', ph: 'M', ts: 0, pid: 3, tid: 2, args: { sort_index: 1 } },
    ]);
    // The queue-depth counter follows every change.
    expect(trace.traceEvents.filter((e) => e.ph === 'C').map((e) => [e.ts, e.args])).toEqual([
      [0, { running: 0, queued: 1 }],
      [500, { running: 0, queued: 2 }],
      [1000, { running: 1, queued: 1 }],
      [2000, { running: 2, queued: 0 }],
      [11_000, { running: 1, queued: 0 }],
      [12_250, { running: 0, queued: 0 }],
    ]);
    expect(trace.otherData).toEqual({ source: 'eed', events: 6 });
  });

  it('marks background work grey, failures terrible, cancellations yellow', () => {
    const run = (id: number, priority: Priority, end: 'completed' | 'failed' | 'cancelled') => {
      const fields = task(id, priority);
      const started = {
        type: 'started',
        time: id * 10,
        ...fields,
        slot: 0,
        preemptible: false,
        expectedMs: undefined,
      } as const;
      const ended: ExecutionEvent =
        end === 'failed'
          ? { type: 'failed', time: id * 10 + 5, ...fields, slot: 0, error: new Error('x') }
          : { type: end, time: id * 10 + 5, ...fields, slot: 0 };
      return [started, ended];
    };
    const trace = toChromeTrace([
      ...run(1, 'background', 'completed'),
      ...run(2, 'background', 'failed'),
      ...run(3, 'critical', 'cancelled'),
      ...run(4, 'critical', 'completed'),
    ]);
    expectValidTrace(trace);
    expect(slices(trace).map((s) => [s.name, s.cat, s.cname, s.args.outcome])).toEqual([
      ['task 1', 'background', 'grey', 'completed'],
      ['task 2', 'background', 'terrible', 'failed'],
      ['task 3', 'critical', 'yellow', 'cancelled'],
      ['task 4', 'critical', undefined, 'completed'],
    ]);
    // No waitedMs without a queued event.
    expect(slices(trace)[0]!.args).not.toHaveProperty('waitedMs');
  });

  it('closes tasks still running at the last timestamp as unfinished', () => {
    const trace = toChromeTrace([
      {
        type: 'started',
        time: 5,
        ...task(1),
        slot: 0,
        preemptible: false,
        expectedMs: undefined,
      },
      { type: 'cache-hit', time: 9, key: 'k', label: undefined, tier: 0 },
    ]);
    expectValidTrace(trace);
    expect(slices(trace)).toMatchObject([{ ts: 0, dur: 4000, args: { outcome: 'unfinished' } }]);
  });

  it('puts cache hits, joins, prefetches, batches and unknown events on the engine track', () => {
    const events = [
      { type: 'request', time: 0, key: 'a', label: undefined, requestId: 1, priority: 'normal' },
      { type: 'cache-hit', time: 1, key: 'a', label: 'user', tier: 1 },
      { type: 'cache-miss', time: 2, key: 'b', label: undefined },
      { type: 'joined', time: 3, key: 'b', label: undefined },
      { type: 'prefetch-issued', time: 4, key: 'c', label: undefined },
      { type: 'prefetch-used', time: 5, key: 'c', label: undefined },
      { type: 'prefetch-wasted', time: 6, key: 'd', label: undefined },
      { type: 'batch-dispatched', time: 7, label: 'users', size: 3, capacity: Infinity },
      {
        type: 'cache-error',
        time: 8,
        key: 'e',
        label: undefined,
        operation: 'set',
        tier: 1,
        error: new TypeError('quota'),
      },
      {
        type: 'short-circuit',
        time: 9,
        label: undefined,
        operator: 'someMap',
        aborted: 2,
        skipped: 1,
      },
      { type: 'from-the-future', time: 10, key: 'f', detail: { nested: true }, count: 1 },
    ] as unknown as ExecutionEvent[];
    const trace = toChromeTrace(events, { processName: 'demo' });
    expectValidTrace(trace);
    const marks = instants(trace);
    expect(marks.map((m) => [m.name, m.ts, m.cat, m.cname ?? null])).toEqual([
      ['cache-hit', 1000, 'engine', 'good'],
      ['joined', 3000, 'engine', 'good'],
      ['prefetch-issued', 4000, 'engine', 'grey'],
      ['prefetch-used', 5000, 'engine', 'good'],
      ['prefetch-wasted', 6000, 'engine', 'bad'],
      ['batch-dispatched', 7000, 'engine', null],
      ['cache-error', 8000, 'engine', 'terrible'],
      ['short-circuit', 9000, 'engine', 'olive'],
      ['from-the-future', 10_000, 'engine,other', null],
    ]);
    for (const mark of marks) {
      expect(mark).toMatchObject({ s: 't', pid: 1, tid: 1 });
    }
    expect(marks[0]!.args).toEqual({ key: 'a', label: 'user', tier: 1 });
    expect(marks[5]!.args).toEqual({ label: 'users', size: 3, capacity: null });
    expect(marks[6]!.args).toEqual({
      key: 'e',
      operation: 'set',
      tier: 1,
      error: 'TypeError: quota',
    });
    expect(marks[8]!.args).toEqual({ key: 'f', count: 1 });
    expect(meta(trace)).toEqual([
      { name: 'process_name', ph: 'M', ts: 0, pid: 1, tid: 1, args: { name: 'demo engine' } },
      { name: 'process_sort_index', ph: 'M', ts: 0, pid: 1, tid: 1, args: { sort_index: 0 } },
      { name: 'thread_name', ph: 'M', ts: 0, pid: 1, tid: 1, args: { name: 'engine' } },
      { name: 'thread_sort_index', ph: 'M', ts: 0, pid: 1, tid: 1, args: { sort_index: 0 } },
    ]);
  });

  it('rejects a processName that is not a string, and prefixes process names with one', () => {
    for (const [processName, shown] of [
      [5, '5'],
      [null, 'null'],
    ] as const) {
      expect(() => toChromeTrace([], { processName: processName as never })).toThrow(
        new TypeError(`processName must be a string; received ${shown}`),
      );
    }
    const trace = toChromeTrace([{ type: 'joined', time: 1, key: 'k', label: undefined }], {
      processName: 'demo',
    });
    const names = trace.traceEvents.filter((e) => e.name === 'process_name');
    expect(names.map((e) => (e.args as { name?: string }).name)).toEqual(['demo engine']);
  });

  it('accepts any iterable, skips events without a time, and returns an empty trace for none', () => {
    expect(toChromeTrace([])).toEqual({
      traceEvents: [],
      displayTimeUnit: 'ms',
      otherData: { source: 'eed', events: 0 },
    });
    function* generate(): Generator<ExecutionEvent> {
      yield { type: 'joined', time: Number.NaN, key: 'x', label: undefined };
      yield { type: 'joined', time: 2, key: 'y', label: undefined };
    }
    const trace = toChromeTrace(generate());
    expectValidTrace(trace);
    expect(instants(trace).map((m) => [m.args.key, m.ts])).toEqual([['y', 0]]);
  });

  it('records promotions and never overlaps slices when events were lost', () => {
    const trace = toChromeTrace([
      { type: 'queued', time: 0, ...task(1, 'background'), preemptible: false },
      { type: 'promoted', time: 1, ...task(1, 'normal'), from: 'background' },
      {
        type: 'started',
        time: 2,
        ...task(1, 'normal'),
        slot: 0,
        preemptible: false,
        expectedMs: undefined,
      },
      // Task 1's end was lost: task 2 takes slot 0.
      {
        type: 'started',
        time: 3,
        ...task(2),
        slot: 0,
        preemptible: false,
        expectedMs: undefined,
      },
      { type: 'completed', time: 4, ...task(2), slot: 0 },
      // An end whose start is not in the events draws nothing.
      { type: 'completed', time: 5, ...task(7), slot: 1 },
    ]);
    expectValidTrace(trace);
    expect(slices(trace).map((s) => [s.args.taskId, s.ts, s.dur, s.args.outcome])).toEqual([
      [1, 2000, 1000, 'unfinished'],
      [2, 3000, 1000, 'completed'],
    ]);
    expect(slices(trace)[0]!.args.promotedFrom).toBe('background');
  });

  it('shows a task promoted while running in its final lane, from the lane it was queued in', () => {
    const trace = toChromeTrace([
      { type: 'queued', time: 0, ...task(1, 'background'), preemptible: true },
      {
        type: 'started',
        time: 1,
        ...task(1, 'background'),
        slot: 0,
        preemptible: true,
        expectedMs: undefined,
      },
      { type: 'promoted', time: 2, ...task(1, 'normal'), from: 'background' },
      { type: 'promoted', time: 3, ...task(1, 'critical'), from: 'normal' },
      { type: 'completed', time: 4, ...task(1, 'critical'), slot: 0 },
    ]);
    expectValidTrace(trace);
    const [slice] = slices(trace);
    expect(slice).toMatchObject({
      ts: 1000,
      dur: 3000,
      cat: 'critical',
      args: { priority: 'critical', preemptible: false, promotedFrom: 'background' },
    });
  });

  it('traces a real engine: joins, cache hits and prefetches with their keys', async () => {
    const engine = createEngine({ executor: { concurrency: 2 } });
    const events: ExecutionEvent[] = [];
    const subscription = engine.events$.subscribe((e) => events.push(e));
    const gate = new Subject<number>();
    const work: Work<number> = () => firstValueFrom(gate);
    const first = firstValueFrom(engine.run('answer', work, { label: 'compute' }));
    const joined = firstValueFrom(engine.run('answer', work));
    engine.prefetch('next', () => Promise.resolve(2));
    gate.next(42);
    expect(await first).toBe(42);
    expect(await joined).toBe(42);
    expect(await firstValueFrom(engine.run('answer', work))).toBe(42);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await firstValueFrom(engine.run('next', () => Promise.resolve(0)))).toBe(2);
    subscription.unsubscribe();

    const trace = toChromeTrace(events);
    expectValidTrace(trace);
    const marks = instants(trace).map((m) => `${m.name} ${String(m.args.key)}`);
    expect(marks).toEqual(
      expect.arrayContaining([
        'joined answer',
        'cache-hit answer',
        'prefetch-issued next',
        'prefetch-used next',
      ]),
    );
    const runs = slices(trace);
    expect(runs.map((s) => [s.name, s.cat, s.args.outcome])).toEqual(
      expect.arrayContaining([
        ['compute', 'normal', 'completed'],
        [expect.any(String), expect.stringMatching(/^background/), 'completed'],
      ]),
    );
    expect(runs).toHaveLength(2);
    const engineProcess = trace.traceEvents.find(
      (e) =>
        e.ph === 'M' &&
        e.name === 'process_name' &&
        'name' in e.args &&
        e.args.name === 'eed engine',
    );
    expect(engineProcess?.pid).toBe(runs[0]!.pid + 1);
  });
});

// ---------------------------------------------------------------------------------------
// Property: traces of real executor runs, under random interleavings, are valid.

type Kind = 'resolve' | 'reject' | 'throw' | 'values' | 'hang';

interface Spec {
  kind: Kind;
  priority: Priority;
  preemptible: boolean;
  unsubscribe: boolean;
}

const specArb: fc.Arbitrary<Spec> = fc.record({
  kind: fc.constantFrom<Kind>('resolve', 'reject', 'throw', 'values', 'hang'),
  priority: fc.constantFrom<Priority>('critical', 'normal', 'background'),
  preemptible: fc.boolean(),
  unsubscribe: fc.boolean(),
});

describe('toChromeTrace properties (real executor, fc.scheduler interleavings)', () => {
  it('every trace and every prefix of it is valid; one slice per started task', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 4 }),
        fc.array(specArb, { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (s, concurrency, specs, steps, cut) => {
          // A virtual clock the scheduler advances by random steps, so that events share
          // timestamps (zero-length and touching slices) as well as differ.
          let now = 0;
          let step = 0;
          const clock = { now: () => now };
          const executor = createExecutor({
            concurrency,
            backgroundConcurrency: Math.max(1, Math.floor(concurrency / 2)),
            clock,
          });
          const events: ExecutionEvent[] = [];
          const recording = executor.events$.subscribe((e) => events.push(e));
          const subscriptions: Subscription[] = [];
          const boom = new Error('boom');
          const tick = <T>(value: T, label: string) =>
            s.schedule(Promise.resolve(value), label).then((v) => {
              now += steps[step++ % steps.length]!;
              return v;
            });

          specs.forEach((spec, i) => {
            const work: Work<unknown> = () => {
              switch (spec.kind) {
                case 'resolve':
                  return tick(i, `resolve ${i}`);
                case 'reject':
                  return tick(i, `reject ${i}`).then(() => Promise.reject(boom));
                case 'throw':
                  throw boom;
                case 'values':
                  return tick(i, `values ${i}`).then(() => [i, i]);
                case 'hang':
                  return NEVER;
              }
            };
            const task$ = executor.schedule(work, {
              priority: spec.priority,
              preemptible: spec.preemptible,
              label: i % 3 === 0 ? undefined : `task-${i}`,
            });
            tick(undefined, `arrive ${i}`).then(() => {
              const subscription = task$.subscribe({ error: () => {} });
              subscriptions.push(subscription);
              if (spec.unsubscribe) {
                tick(undefined, `leave ${i}`).then(() => subscription.unsubscribe());
              }
            });
          });
          await s.waitAll();
          recording.unsubscribe();

          const full = toChromeTrace(events);
          expectValidTrace(full);
          const started = events.filter((e) => e.type === 'started');
          expect(slices(full)).toHaveLength(started.length);
          // Each slice's outcome is how its task ended, or 'unfinished' if it did not.
          const endOf = new Map<number, string>();
          for (const e of events) {
            if (
              'slot' in e &&
              e.slot !== undefined &&
              (e.type === 'completed' ||
                e.type === 'failed' ||
                e.type === 'cancelled' ||
                e.type === 'preempted')
            ) {
              endOf.set(e.taskId, e.type);
            }
          }
          for (const slice of slices(full)) {
            expect(slice.args.outcome).toBe(endOf.get(slice.args.taskId as number) ?? 'unfinished');
          }
          // A trace cut anywhere (tasks still running) is valid too.
          const prefix = toChromeTrace(events.slice(0, Math.floor(cut * events.length)));
          expectValidTrace(prefix);
          for (const subscription of subscriptions) subscription.unsubscribe();
        },
      ),
      { numRuns: 150 },
    );
  });
});
