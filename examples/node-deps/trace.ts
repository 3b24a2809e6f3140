import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Engine, type ExecutionEvent, toChromeTrace } from 'eed';
import type { Subscription } from 'rxjs';

/** Every event of `engine.events$` from now on; subscribe before the work starts. */
export function recordEvents(engine: Engine): { events: ExecutionEvent[]; stop(): void } {
  const events: ExecutionEvent[] = [];
  const subscription: Subscription = engine.events$.subscribe((event) => events.push(event));
  return { events, stop: () => subscription.unsubscribe() };
}

/** Writes the events as a Chrome trace (Trace Event Format JSON); resolves to its size. */
export async function writeTrace(path: string, events: ExecutionEvent[]): Promise<number> {
  const json = JSON.stringify(toChromeTrace(events, { processName: 'node-deps demo' }));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, json);
  return Buffer.byteLength(json);
}
