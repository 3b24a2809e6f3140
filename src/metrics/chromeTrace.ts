import type { Priority } from '../executor/types.js';
import { assertString } from '../executor/validate.js';
import type { ExecutionEvent } from './events.js';

/**
 * A JSON-safe value of a trace event's `args`.
 *
 * @example
 * ```ts
 * const outcome: TraceArg | undefined = slice.args.outcome; // 'completed' | 'failed' | ...
 * ```
 */
export type TraceArg = string | number | boolean | null;

/** Fields every event of a {@link ChromeTrace} has (the format's required fields). */
interface TraceEventBase {
  /** What the viewer shows on the slice, marker or track. */
  readonly name: string;
  /** Microseconds since the first event of the trace. */
  readonly ts: number;
  /** Process: the executor (`executorId`), or the engine's own process. */
  readonly pid: number;
  /** Thread: an executor slot (`slot + 1`), or the engine track. */
  readonly tid: number;
}

/**
 * A task run: a slice from `ts` to `ts + dur` on its slot's track.
 *
 * @example
 * ```ts
 * const runs = trace.traceEvents.filter((e): e is TraceCompleteEvent => e.ph === 'X');
 * const failed = runs.filter((e) => e.args.outcome === 'failed');
 * ```
 */
export interface TraceCompleteEvent extends TraceEventBase {
  readonly ph: 'X';
  /** Microseconds, >= 0. */
  readonly dur: number;
  /** The task's priority, plus `,preemptible` for a preemptible task. */
  readonly cat: string;
  /** A color name of the format's palette (honoured by chrome://tracing). */
  readonly cname?: string;
  readonly args: Readonly<Record<string, TraceArg>>;
}

/**
 * A point in time on the engine track (a cache hit, a join, a prefetch, a batch).
 *
 * @example
 * ```ts
 * const hits = trace.traceEvents.filter(
 *   (e): e is TraceInstantEvent => e.ph === 'i' && e.name === 'cache-hit',
 * );
 * hits.map((e) => e.args.key);
 * ```
 */
export interface TraceInstantEvent extends TraceEventBase {
  readonly ph: 'i';
  /** Scope: `'t'`, a marker on its track only. */
  readonly s: 't';
  readonly cat: string;
  readonly cname?: string;
  readonly args: Readonly<Record<string, TraceArg>>;
}

/**
 * A sample of an executor's counters (a `tasks` track with `running` and `queued`).
 *
 * @example
 * ```ts
 * const samples = trace.traceEvents.filter((e): e is TraceCounterEvent => e.ph === 'C');
 * const deepestQueue = Math.max(0, ...samples.map((e) => e.args.queued ?? 0));
 * ```
 */
export interface TraceCounterEvent extends TraceEventBase {
  readonly ph: 'C';
  readonly args: Readonly<Record<string, number>>;
}

/**
 * Names and orders processes and threads (`process_name`, `thread_sort_index`, ...).
 *
 * @example
 * ```ts
 * const tracks = trace.traceEvents
 *   .filter((e): e is TraceMetadataEvent => e.ph === 'M' && e.name === 'thread_name')
 *   .map((e) => ('name' in e.args ? e.args.name : '')); // ['engine', 'slot 0', 'slot 1', ...] ('engine' with engine events)
 * ```
 */
export interface TraceMetadataEvent extends TraceEventBase {
  readonly ph: 'M';
  readonly name: 'process_name' | 'process_sort_index' | 'thread_name' | 'thread_sort_index';
  readonly args: { readonly name: string } | { readonly sort_index: number };
}

/**
 * One event of a {@link ChromeTrace}, discriminated by `ph`: `'X'` task runs, `'i'`
 * engine markers, `'C'` counters, `'M'` names.
 *
 * @example
 * ```ts
 * for (const e of trace.traceEvents) {
 *   if (e.ph === 'X') console.log(e.name, e.dur / 1000, 'ms', e.args.outcome);
 * }
 * ```
 */
export type ChromeTraceEvent =
  | TraceCompleteEvent
  | TraceInstantEvent
  | TraceCounterEvent
  | TraceMetadataEvent;

/**
 * A trace in the Trace Event Format's JSON object form, as {@link toChromeTrace}
 * returns it: write it with `JSON.stringify` and open it in https://ui.perfetto.dev or
 * chrome://tracing.
 *
 * @example
 * ```ts
 * const trace: ChromeTrace = toChromeTrace(events);
 * trace.traceEvents.filter((e) => e.ph === 'X').length; // task runs
 * ```
 */
export interface ChromeTrace {
  readonly traceEvents: readonly ChromeTraceEvent[];
  readonly displayTimeUnit: 'ms';
  readonly otherData?: Readonly<Record<string, TraceArg>>;
}

/**
 * Options of {@link toChromeTrace}.
 *
 * @example
 * ```ts
 * toChromeTrace(events, { processName: 'deps demo' });
 * ```
 */
export interface ChromeTraceOptions {
  /**
   * Prefix of the process names: `"<processName> executor 1"`, `"<processName> engine"`.
   * A string (anything else throws a `TypeError`). Default `'eed'`.
   */
  processName?: string;
}

/** How a task's slice ended; `'unfinished'` when the events stop while it runs. */
type Outcome = 'completed' | 'failed' | 'cancelled' | 'preempted' | 'unfinished';

/** A task that started and has not ended yet. */
interface OpenTask {
  readonly taskId: number;
  readonly executorId: number;
  readonly slot: number;
  readonly label: string | undefined;
  /** Raised (with `preemptible` cleared) when the running task is promoted. */
  priority: Priority;
  preemptible: boolean;
  readonly start: number;
  readonly waitedMs: number | undefined;
  /** The lane the task was first queued in, if it was promoted since. */
  promotedFrom: Priority | undefined;
}

/** Per-executor bookkeeping. */
interface ExecutorTrack {
  readonly slots: Set<number>;
  readonly queued: Set<number>;
  running: number;
}

/** Engine and other non-task events drawn as instant markers, with their colors. */
const INSTANT_COLORS: Readonly<Record<string, string | undefined>> = {
  'cache-hit': 'good',
  joined: 'good',
  'prefetch-issued': 'grey',
  'prefetch-used': 'good',
  'prefetch-wasted': 'bad',
  'batch-dispatched': undefined,
  invalidated: undefined,
  'cache-error': 'terrible',
  'short-circuit': 'olive',
};

/**
 * Known event types left out of the trace: they are already drawn (`executed` and
 * `execution-ended` are the task slices), or would bury the markers that matter
 * (`request`, `first-value`, `request-ended`, `cache-miss`, `cache-stored`).
 */
const OMITTED = new Set<string>([
  'queued',
  'started',
  'completed',
  'failed',
  'cancelled',
  'preempted',
  'promoted',
  'request',
  'first-value',
  'request-ended',
  'cache-miss',
  'executed',
  'execution-ended',
  'cache-stored',
]);

/** Colors of task slices by outcome; `background` work is grey unless it failed or was preempted. */
const OUTCOME_COLORS: Readonly<Partial<Record<Outcome, string>>> = {
  failed: 'terrible',
  preempted: 'bad',
  cancelled: 'yellow',
};

const ENGINE_TID = 1;

/** Rounds to nanoseconds, so that equal times give equal `ts` and float noise stays out of the file. */
const round = (us: number): number => Math.round(us * 1000) / 1000;

const isTimed = (event: unknown): event is ExecutionEvent =>
  typeof event === 'object' &&
  event !== null &&
  typeof (event as { type?: unknown }).type === 'string' &&
  Number.isFinite((event as { time?: unknown }).time);

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** The JSON-safe fields of an event, for the args of an instant marker. */
function argsOf(event: ExecutionEvent): Record<string, TraceArg> {
  const args: Record<string, TraceArg> = {};
  for (const [name, value] of Object.entries(event)) {
    if (name === 'type' || name === 'time') continue;
    if (typeof value === 'string' || typeof value === 'boolean') args[name] = value;
    else if (typeof value === 'number') args[name] = Number.isFinite(value) ? value : null;
    else if (name === 'error' && value !== undefined) args[name] = describeError(value);
  }
  return args;
}

/**
 * Turns {@link ExecutionEvent}s (from `engine.events$` or `executor.events$`) into a trace
 * in the Trace Event Format, which https://ui.perfetto.dev and chrome://tracing open.
 *
 * What the trace shows:
 * - **One process per executor** (`pid` = `executorId`, named `"eed executor 1"`) with
 *   **one track per slot** (`tid` = slot + 1, named `"slot 0"`, `"slot 1"`, ...). A slot
 *   runs one task at a time, so slices on a track never overlap.
 * - **Each task run is a slice** (`ph: 'X'`) from `started` to its end, named by its
 *   label (or `task <id>`), with category = its priority (`normal`, `critical`,
 *   `background`, plus `,preemptible`) and args `{ taskId, priority, preemptible,
 *   outcome, waitedMs, label?, promotedFrom? }`; `waitedMs` is the time from `queued` to
 *   `started`; a task promoted (while queued or running) shows its final priority, with
 *   `promotedFrom` the lane it was queued in. Colors (`cname`, honoured by
 *   chrome://tracing; Perfetto picks colors from slice names, so search there by category
 *   or args): background work `grey`, failed `terrible` (red), preempted `bad`,
 *   cancelled `yellow`. A task still running when the events stop ends at the last
 *   event's time with `outcome: 'unfinished'`.
 * - **A `tasks` counter per executor** (`ph: 'C'`) with `running` and `queued`.
 * - **An engine process** (`"eed engine"`, one `engine` track, `pid` one above the
 *   highest `executorId`) with **instant markers** (`ph: 'i'`, scope `t`, category
 *   `engine`) for `cache-hit`, `joined`, `prefetch-issued`, `prefetch-used`,
 *   `prefetch-wasted`, `batch-dispatched`, `invalidated`, `cache-error` and
 *   `short-circuit`, each with its `key` (and its other JSON-safe fields) in args. Event
 *   types this function does not know (added by later versions) become markers too, in
 *   category `engine,other`; requests, misses and stores are left out so the markers
 *   that matter stay visible.
 *
 * Times: events carry ms from a monotonic clock; the trace uses µs (`ts`, `dur`)
 * relative to the earliest event, so numbers stay small. Events must be in the order
 * they were emitted; events without a finite `time` are skipped, as are ends of tasks
 * whose `started` is not among the events.
 *
 * @example
 * ```ts
 * import { createEngine, type ExecutionEvent, toChromeTrace } from 'eed';
 * const { writeFileSync } = await import('node:fs'); // Node; in a browser, offer a download
 *
 * const engine = createEngine();
 * const events: ExecutionEvent[] = [];
 * engine.events$.subscribe((e) => events.push(e)); // before running work
 * // ... engine.run(...) ...
 * writeFileSync('trace.json', JSON.stringify(toChromeTrace(events)));
 * // Open https://ui.perfetto.dev, "Open trace file", pick trace.json.
 * ```
 */
export function toChromeTrace(
  events: Iterable<ExecutionEvent>,
  options: ChromeTraceOptions = {},
): ChromeTrace {
  if (options.processName !== undefined) assertString('processName', options.processName);
  const prefix = options.processName ?? 'eed';
  const list: ExecutionEvent[] = [];
  let origin = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  let maxExecutorId = 0;
  for (const event of events) {
    if (!isTimed(event)) continue;
    list.push(event);
    origin = Math.min(origin, event.time);
    last = Math.max(last, event.time);
    const executorId = (event as { executorId?: unknown }).executorId;
    if (typeof executorId === 'number' && Number.isInteger(executorId) && executorId > 0) {
      maxExecutorId = Math.max(maxExecutorId, executorId);
    }
  }
  const otherData = { source: 'eed', events: list.length };
  if (list.length === 0) return { traceEvents: [], displayTimeUnit: 'ms', otherData };

  const engineTrackPid = maxExecutorId + 1;
  const us = (time: number): number => round((time - origin) * 1000);
  const body: ChromeTraceEvent[] = [];
  const executors = new Map<number, ExecutorTrack>();
  const queuedAt = new Map<string, number>();
  const promotedFrom = new Map<string, Priority>();
  const open = new Map<string, OpenTask>();
  /** The task each track (`executorId:slot`) runs. */
  const bySlot = new Map<string, OpenTask>();
  /** Where the last slice of each track ended (µs), so slices never overlap even on odd input. */
  const trackEnd = new Map<string, number>();
  let engineUsed = false;

  const track = (executorId: number): ExecutorTrack => {
    let t = executors.get(executorId);
    if (t === undefined) {
      t = { slots: new Set(), queued: new Set(), running: 0 };
      executors.set(executorId, t);
    }
    return t;
  };

  const count = (executorId: number, time: number): void => {
    const t = track(executorId);
    body.push({
      name: 'tasks',
      ph: 'C',
      ts: us(time),
      pid: executorId,
      tid: ENGINE_TID,
      args: { running: t.running, queued: t.queued.size },
    });
  };

  const close = (task: OpenTask, time: number, outcome: Outcome): void => {
    const key = `${task.executorId}:${task.taskId}`;
    open.delete(key);
    const trackKey = `${task.executorId}:${task.slot}`;
    if (bySlot.get(trackKey) === task) bySlot.delete(trackKey);
    const ts = task.start;
    const end = Math.max(ts, us(time));
    trackEnd.set(trackKey, end);
    const args: Record<string, TraceArg> = {
      taskId: task.taskId,
      priority: task.priority,
      preemptible: task.preemptible,
      outcome,
    };
    if (task.label !== undefined) args.label = task.label;
    if (task.waitedMs !== undefined) args.waitedMs = task.waitedMs;
    if (task.promotedFrom !== undefined) args.promotedFrom = task.promotedFrom;
    const cname = OUTCOME_COLORS[outcome] ?? (task.priority === 'background' ? 'grey' : undefined);
    const slice: TraceCompleteEvent = {
      name: task.label ?? `task ${task.taskId}`,
      ph: 'X',
      ts,
      dur: round(end - ts),
      pid: task.executorId,
      tid: task.slot + 1,
      cat: task.preemptible ? `${task.priority},preemptible` : task.priority,
      ...(cname === undefined ? {} : { cname }),
      args,
    };
    body.push(slice);
  };

  for (const event of list) {
    switch (event.type) {
      case 'queued': {
        const key = `${event.executorId}:${event.taskId}`;
        queuedAt.set(key, event.time);
        track(event.executorId).queued.add(event.taskId);
        count(event.executorId, event.time);
        break;
      }
      case 'promoted': {
        const key = `${event.executorId}:${event.taskId}`;
        const running = open.get(key);
        if (running === undefined) {
          if (!promotedFrom.has(key)) promotedFrom.set(key, event.from);
        } else {
          // A running task now counts in the higher lane and can no longer be preempted.
          running.promotedFrom ??= event.from;
          running.priority = event.priority;
          running.preemptible = false;
        }
        break;
      }
      case 'started': {
        const key = `${event.executorId}:${event.taskId}`;
        const t = track(event.executorId);
        t.slots.add(event.slot);
        t.queued.delete(event.taskId);
        const trackKey = `${event.executorId}:${event.slot}`;
        // A slot that still holds a task means events were lost: end that task here.
        const holder = bySlot.get(trackKey);
        if (holder !== undefined) {
          close(holder, event.time, 'unfinished');
          t.running--;
        }
        const queuedTime = queuedAt.get(key);
        queuedAt.delete(key);
        const task: OpenTask = {
          taskId: event.taskId,
          executorId: event.executorId,
          slot: event.slot,
          label: event.label,
          priority: event.priority,
          preemptible: event.preemptible,
          start: Math.max(us(event.time), trackEnd.get(trackKey) ?? 0),
          waitedMs: queuedTime === undefined ? undefined : round(event.time - queuedTime),
          promotedFrom: promotedFrom.get(key),
        };
        open.set(key, task);
        bySlot.set(trackKey, task);
        promotedFrom.delete(key);
        t.running++;
        count(event.executorId, event.time);
        break;
      }
      case 'completed':
      case 'failed':
      case 'cancelled':
      case 'preempted': {
        const key = `${event.executorId}:${event.taskId}`;
        const t = track(event.executorId);
        const task = open.get(key);
        if (task !== undefined) {
          close(task, event.time, event.type);
          t.running--;
        } else {
          t.queued.delete(event.taskId);
          queuedAt.delete(key);
          promotedFrom.delete(key);
        }
        count(event.executorId, event.time);
        break;
      }
      default: {
        if (OMITTED.has(event.type)) break;
        engineUsed = true;
        const type: string = event.type;
        const cname = INSTANT_COLORS[type];
        body.push({
          name: type,
          ph: 'i',
          s: 't',
          ts: us(event.time),
          pid: engineTrackPid,
          tid: ENGINE_TID,
          cat: type in INSTANT_COLORS ? 'engine' : 'engine,other',
          ...(cname === undefined ? {} : { cname }),
          args: argsOf(event),
        });
      }
    }
  }
  for (const task of open.values()) {
    close(task, last, 'unfinished');
    track(task.executorId).running--;
  }

  const metadata: TraceMetadataEvent[] = [];
  const meta = (
    name: TraceMetadataEvent['name'],
    pid: number,
    tid: number,
    args: TraceMetadataEvent['args'],
  ) => metadata.push({ name, ph: 'M', ts: 0, pid, tid, args });
  if (engineUsed) {
    meta('process_name', engineTrackPid, ENGINE_TID, { name: `${prefix} engine` });
    meta('process_sort_index', engineTrackPid, ENGINE_TID, { sort_index: 0 });
    meta('thread_name', engineTrackPid, ENGINE_TID, { name: 'engine' });
    meta('thread_sort_index', engineTrackPid, ENGINE_TID, { sort_index: 0 });
  }
  for (const [executorId, t] of [...executors].sort(([a], [b]) => a - b)) {
    meta('process_name', executorId, ENGINE_TID, { name: `${prefix} executor ${executorId}` });
    meta('process_sort_index', executorId, ENGINE_TID, { sort_index: executorId });
    for (const slot of [...t.slots].sort((a, b) => a - b)) {
      meta('thread_name', executorId, slot + 1, { name: `slot ${slot}` });
      meta('thread_sort_index', executorId, slot + 1, { sort_index: slot });
    }
  }
  // Stable: events of equal `ts` keep the order they happened in.
  body.sort((a, b) => a.ts - b.ts);
  return { traceEvents: [...metadata, ...body], displayTimeUnit: 'ms', otherData };
}
