import { type Engine, type ProgressSnapshot, progress$ } from 'eed';
import type { Subscription } from 'rxjs';
import { formatCount, formatSeconds } from './format.js';

const WIDTH = 24;

/**
 * Shows the progress of `total` engine runs (cache hits and joins count as they end):
 * on a TTY one line redrawn in place, ten times a second at most; otherwise (a pipe, a CI
 * log) a plain line each time another 10% is done. Subscribe before the runs start.
 */
export function showProgress(
  engine: Engine,
  total: number,
  out: NodeJS.WriteStream = process.stdout,
): Subscription {
  const tty = out.isTTY === true;
  let decile = 0;
  return progress$(engine.events$, { total, count: 'requests', intervalMs: 100 }).subscribe({
    next: (snapshot) => {
      if (tty) {
        // Cut to the terminal's width: a wrapped line would not be redrawn in place.
        out.write(`\r\x1b[2K${line(snapshot, engine).slice(0, (out.columns || 80) - 1)}`);
        return;
      }
      const reached = Math.floor(snapshot.percent / 10);
      if (reached > decile) {
        decile = reached;
        out.write(`${line(snapshot, engine)}\n`);
      }
    },
    complete: () => {
      if (tty) out.write('\n');
    },
  });
}

function line(p: ProgressSnapshot, engine: Engine): string {
  const filled = Math.round((p.percent / 100) * WIDTH);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}]`;
  const { running, queued } = engine.executor.stats();
  const finished = p.done + p.failed;
  const eta = p.etaMs === undefined ? '' : `  ETA ${formatSeconds(p.etaMs)}`;
  return (
    `  ${bar} ${p.percent.toFixed(0).padStart(3)}%  ` +
    `${formatCount(finished)} / ${formatCount(p.total)} runs  ` +
    `${running} hashing, ${queued} queued  ${formatSeconds(p.elapsedMs)}${eta}`
  );
}
