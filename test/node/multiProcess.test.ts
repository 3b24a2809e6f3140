import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDirs } from './helpers.js';

const temp = tempDirs();
afterAll(temp.removeAll);

const root = fileURLToPath(new URL('../..', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/fsWorker.ts', import.meta.url));

interface WorkerReport {
  id: number;
  mode: string;
  hits: number;
  misses: number;
  writes: number;
  torn: number;
  corrupt: number;
  errors: number;
  problems: string[];
}

/** Runs one worker process to its end; resolves with its report. */
function runWorker(dir: string, id: number, iterations: number, mode: string) {
  return new Promise<WorkerReport>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', worker, dir, String(id), String(iterations), mode],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`worker ${id} exited with ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as WorkerReport);
    });
  });
}

describe('FileSystemStore shared by several processes', () => {
  it('4 processes writing and reading the same keys never see a torn entry', async () => {
    const dir = temp.make();
    const modes = ['plain', 'plain', 'plain', 'bounded'];
    const reports = await Promise.all(modes.map((mode, id) => runWorker(dir, id, 150, mode)));
    for (const report of reports) {
      expect(report, JSON.stringify(report)).toMatchObject({ torn: 0, corrupt: 0, errors: 0 });
      expect(report.writes).toBe(150);
    }
    // They did share: each process read entries, most of them written by the others.
    const hits = reports.reduce((sum, report) => sum + report.hits, 0);
    expect(hits).toBeGreaterThan(reports.length * 150 * 6 * 0.3);
    expect(readdirSync(dir).some((name) => name.endsWith('.tmp'))).toBe(false);
  });

  it('negative control: the same workload writing in place is caught (torn files are misses)', async () => {
    const dir = temp.make();
    const reports = await Promise.all(
      ['torn', 'torn', 'torn'].map((mode, id) => runWorker(dir, id, 60, mode)),
    );
    // Torn files show as unusable entries (removed, reported), never as wrong values.
    const corrupt = reports.reduce((sum, report) => sum + report.corrupt, 0);
    expect(corrupt).toBeGreaterThan(0);
    for (const report of reports) expect(report.torn).toBe(0);
  });
});
