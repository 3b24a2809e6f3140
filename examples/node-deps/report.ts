import type { Executor } from '../../src/index.js';

const count = new Intl.NumberFormat('en-US');

/** `1234567` -> `1.2 MB` (decimal units). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

export const formatCount = (n: number): string => count.format(n);
export const formatSeconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/**
 * A progress line on stdout: on a TTY one line redrawn in place (at most every 100 ms);
 * otherwise a line each time another 10% of the files is done.
 */
export class Progress {
  done = 0;
  bytes = 0;
  found = 0;
  listing = true;
  readonly #started = performance.now();
  readonly #tty = process.stdout.isTTY === true;
  #lastDraw = 0;
  #lastDecile = 0;

  update(final = false): void {
    const elapsed = performance.now() - this.#started;
    if (this.#tty) {
      if (!final && elapsed - this.#lastDraw < 100) return;
      this.#lastDraw = elapsed;
      process.stdout.write(`\r\x1b[2K${this.#line(elapsed)}${final ? '\n' : ''}`);
      return;
    }
    if (this.listing || this.found === 0) return;
    const decile = Math.floor((this.done / this.found) * 10);
    if (decile > this.#lastDecile) {
      this.#lastDecile = decile;
      process.stdout.write(`${this.#line(elapsed)}\n`);
    }
  }

  #line(elapsed: number): string {
    const files = `${formatCount(this.done)} / ${formatCount(this.found)}${this.listing ? '+' : ''} files`;
    const percent = this.listing
      ? ' ...'
      : `${Math.floor((this.done / Math.max(this.found, 1)) * 100)}%`;
    return `  ${percent.padStart(4)}  ${files}  ${formatBytes(this.bytes)}  ${formatSeconds(elapsed)}`;
  }
}

/** What the executor did, measured from its `events$`. */
export interface ExecutorMeter {
  /** Tasks that ran, per label. */
  readonly tasks: Map<string, number>;
  /** Sum of the durations of every task that ran, in ms. */
  busyMs: number;
  /** Most tasks running at once. */
  peakRunning: number;
  stop(): void;
}

/** Subscribes to `executor.events$` (subscribe before the work starts to see all of it). */
export function meterExecutor(executor: Executor): ExecutorMeter {
  const startedAt = new Map<number, number>();
  const meter: ExecutorMeter = {
    tasks: new Map(),
    busyMs: 0,
    peakRunning: 0,
    stop: () => subscription.unsubscribe(),
  };
  const subscription = executor.events$.subscribe((event) => {
    switch (event.type) {
      case 'started': {
        startedAt.set(event.taskId, event.time);
        meter.peakRunning = Math.max(meter.peakRunning, executor.stats().running);
        const label = event.label ?? '(none)';
        meter.tasks.set(label, (meter.tasks.get(label) ?? 0) + 1);
        break;
      }
      case 'completed':
      case 'failed':
      case 'cancelled':
      case 'preempted': {
        const start = startedAt.get(event.taskId);
        if (start !== undefined) meter.busyMs += event.time - start;
        startedAt.delete(event.taskId);
        break;
      }
    }
  });
  return meter;
}

/** One row of the heaviest-packages table. */
export interface PackageRow {
  name: string;
  files: number;
  bytes: number;
  sha256: string;
}

export function printPackages(rows: PackageRow[], total: number): void {
  const width = Math.max(7, ...rows.map((row) => row.name.length));
  console.log(`\nHeaviest packages (${rows.length} of ${formatCount(total)}):`);
  console.log(
    `  ${'package'.padEnd(width)}  ${'files'.padStart(6)}  ${'size'.padStart(9)}  sha256`,
  );
  for (const row of rows) {
    console.log(
      `  ${row.name.padEnd(width)}  ${formatCount(row.files).padStart(6)}  ${formatBytes(row.bytes).padStart(9)}  ${row.sha256.slice(0, 16)}`,
    );
  }
}

export function printSummary(lines: [string, string][]): void {
  console.log('\nSummary:');
  for (const [name, value] of lines) console.log(`  ${name.padEnd(13)}${value}`);
}
