import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import {
  createTestClient,
  describeWithRedis,
  requireRedisPort,
  spawnRedisServer,
  uniquePrefix,
} from './redis.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const workerPath = fileURLToPath(new URL('./fixtures/coordinatedWorker.ts', import.meta.url));

interface WorkerReport {
  results: Record<string, string>;
  errors: Record<string, string>;
  executed: string[];
  outcomes: Record<string, number>;
}

interface Worker {
  readonly child: ChildProcess;
  /** Resolves when the worker printed `line`. */
  printed(line: string): Promise<void>;
  /** Resolves with the worker's report when it exits with 0; rejects otherwise. */
  readonly report: Promise<WorkerReport>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function startWorker(options: {
  port: number;
  prefix: string;
  keys: string[];
  workMs: number;
  leaseMs: number;
  fleet: number;
  hold?: string;
}): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', workerPath, JSON.stringify(options)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  const listeners: (() => void)[] = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (const listener of listeners) listener();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const report = new Promise<WorkerReport>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) reject(new Error(`worker exited with ${code ?? signal}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as WorkerReport);
    });
  });
  report.catch(() => {});
  return {
    child,
    report,
    printed: (line) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (out.split('\n').includes(line)) resolve();
        };
        listeners.push(check);
        check();
      }),
  };
}

const keysOf = (n: number) => Array.from({ length: n }, (_, i) => `key-${i}`);

describeWithRedis('engines in several processes sharing one Redis', () => {
  it('run each key once across all of them, and every process gets every result', async () => {
    const port = requireRedisPort();
    const prefix = uniquePrefix('fleet');
    const keys = keysOf(20);
    const workers = Array.from({ length: 4 }, () =>
      startWorker({ port, prefix, keys, workMs: 40, leaseMs: 5_000, fleet: 4 }),
    );
    const reports = await Promise.all(workers.map((w) => w.report));
    const expected = Object.fromEntries(keys.map((key) => [key, `value:${key}`]));
    for (const report of reports) {
      expect(report.errors).toEqual({});
      expect(report.results).toEqual(expected);
    }
    const client = createTestClient();
    try {
      const counts = await client.mget(keys.map((key) => `${prefix}count:${key}`));
      expect(counts).toEqual(keys.map(() => '1'));
    } finally {
      client.disconnect();
    }
    const executions = reports.reduce((sum, report) => sum + report.executed.length, 0);
    expect(executions).toBe(keys.length);
    // Every other run of a key was served by the process that ran it: by a lease's end,
    // or from the Redis tier once the result was there.
    const remote = reports.reduce((sum, report) => sum + (report.outcomes['remote-done'] ?? 0), 0);
    expect(remote).toBeGreaterThan(0);
  });

  it('hand a key to another process when its lease holder is killed', async () => {
    const port = requireRedisPort();
    const prefix = uniquePrefix('takeover');
    const holder = startWorker({
      port,
      prefix,
      keys: ['k'],
      workMs: 10,
      leaseMs: 400,
      fleet: 1,
      hold: 'k',
    });
    await holder.printed('holding k');
    const waiter = startWorker({ port, prefix, keys: ['k'], workMs: 10, leaseMs: 400, fleet: 1 });
    await waiter.printed('running');
    holder.child.kill('SIGKILL');
    const report = await waiter.report;
    expect(report.results).toEqual({ k: 'value:k' });
    expect(report.executed).toEqual(['k']);
    expect(report.outcomes).toEqual({ 'took-over': 1 });
    const client = createTestClient();
    try {
      // Once by the killed holder, once by the process that took over.
      expect(await client.get(`${prefix}count:k`)).toBe('2');
    } finally {
      client.disconnect();
    }
  });

  it('degrade to local execution when Redis stops mid-run: no crash, no lost result', async () => {
    const redis = await spawnRedisServer();
    try {
      const prefix = uniquePrefix('outage');
      const keys = keysOf(40);
      const workers = Array.from({ length: 3 }, () =>
        startWorker({ port: redis.port, prefix, keys, workMs: 60, leaseMs: 5_000, fleet: 3 }),
      );
      // Stop Redis once some keys have run, while others are still running or waiting.
      const client = createTestClient({ port: redis.port });
      try {
        const counters = keys.map((key) => `${prefix}count:${key}`);
        for (let i = 0; i < 1_000; i++) {
          const counts = await client.mget(counters);
          if (counts.filter((count) => count !== null).length >= 3) break;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      } finally {
        client.disconnect();
      }
      await redis.stop();
      const reports = await Promise.all(workers.map((w) => w.report));
      const expected = Object.fromEntries(keys.map((key) => [key, `value:${key}`]));
      for (const report of reports) {
        expect(report.errors).toEqual({});
        expect(report.results).toEqual(expected);
      }
      // Runs that were waiting on another process when Redis went away executed locally.
      const local = reports.reduce((sum, report) => sum + (report.outcomes.unavailable ?? 0), 0);
      expect(local).toBeGreaterThan(0);
    } finally {
      await redis.stop();
    }
  });
});
