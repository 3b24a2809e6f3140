import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisPort } from '../node/redis.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const main = join(repo, 'examples/node-deps/main.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the demo as `npm run demo` does (tsx, from the package directory), output piped. */
function demo(...args: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
      cwd: repo,
      env: { ...process.env, INIT_CWD: repo, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** Writes `files` (path -> content; objects as JSON) under `root`. */
function write(root: string, files: Record<string, unknown>): void {
  for (const [path, content] of Object.entries(files)) {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  }
}

/**
 * A small project: `a` depends on `c@2` (nested under `a`) and `@scope/b`; `@scope/b`
 * depends on the top-level `c@1` and `d`; the nested `c@2` depends on `d`, found by
 * walking up. `a` also has a missing optional and a missing optional peer dependency.
 * `broken` has a malformed package.json, `ghost` is a dangling symlink, `.bin` is skipped.
 */
function makeFixture(root: string): void {
  write(root, {
    'package.json': { name: 'fixture-app', dependencies: { a: '1' } },
    'node_modules/a/package.json': {
      name: 'a',
      version: '1.0.0',
      dependencies: { c: '^2', '@scope/b': '*' },
      optionalDependencies: { 'not-there': '*' },
      peerDependencies: { 'peer-missing': '*' },
      peerDependenciesMeta: { 'peer-missing': { optional: true } },
    },
    'node_modules/a/index.js': 'module.exports = 1;\n',
    'node_modules/a/node_modules/c/package.json': {
      name: 'c',
      version: '2.0.0',
      dependencies: { d: '1' },
    },
    'node_modules/c/package.json': { name: 'c', version: '1.0.0' },
    'node_modules/@scope/b/package.json': {
      name: '@scope/b',
      version: '1.0.0',
      dependencies: { c: '1', d: '1' },
    },
    'node_modules/@scope/b/lib/main.js': 'export {};\n',
    'node_modules/d/package.json': { name: 'd', version: '1.0.0' },
    'node_modules/broken/package.json': '{ "name": "broken", ',
    'node_modules/broken/index.js': '',
    'node_modules/.bin/a': '#!/bin/sh\n',
  });
  symlinkSync('../nowhere', join(root, 'node_modules/ghost'));
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/@]/g, '\\$&');

/** The heaviest-packages row of `rel`: its version and transitive dependency count. */
const row = (rel: string, version: string, deps: number) =>
  new RegExp(`^  ${escapeRegExp(rel)} +${escapeRegExp(version)} +${deps} `, 'm');

describe('the Node demo (examples/node-deps)', () => {
  let temp: string;
  let args: string[];
  let trace: string;

  beforeAll(() => {
    temp = mkdtempSync(join(tmpdir(), 'eed-demo-'));
    makeFixture(join(temp, 'project'));
    trace = join(temp, 'trace.json');
    args = ['--dir', join(temp, 'project'), '--cache-dir', join(temp, 'cache'), '--trace', trace];
  });
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it('analyses the fixture, then serves the second run from the filesystem cache', async () => {
    const first = await demo(...args);
    expect(first.stderr).toMatch(/broken\/package\.json: malformed package\.json/);
    expect(first.stderr).toMatch(/ghost: dangling symlink to \.\.\/nowhere/);
    expect(first.code).toBe(1);

    // Every package, with its transitive dependency count (Node's resolution).
    expect(first.stdout).toMatch(row('a', '1.0.0', 4));
    expect(first.stdout).toMatch(row('@scope/b', '1.0.0', 2));
    expect(first.stdout).toMatch(row('a/node_modules/c', '2.0.0', 1));
    expect(first.stdout).toMatch(row('c', '1.0.0', 0));
    expect(first.stdout).toMatch(row('d', '1.0.0', 0));
    expect(first.stdout).toMatch(row('broken', '?', 0));
    expect(first.stdout).toMatch(/Found 6 packages \(1 nested\), 5 dependency edges/);
    expect(first.stdout).toMatch(/2 optional or peer dependencies not installed/);
    // 11 runs (6 packages + 5 edges), each package executed once, the rest joined.
    expect(first.stdout).toMatch(/^ {2}runs +11 /m);
    expect(first.stdout).toMatch(/^ {2}executions +6 /m);
    expect(first.stdout).toMatch(/5 runs joined a digest already in flight/);
    expect(first.stdout).toMatch(/^ {2}redundancy rate +0\.0% /m);
    // Not a TTY: plain progress lines, no carriage returns.
    expect(first.stdout).toMatch(/100% +11 \/ 11 runs/);
    expect(first.stdout).not.toContain('\r');

    const parsed = JSON.parse(readFileSync(trace, 'utf8')) as {
      traceEvents: { ph: string; name: string }[];
    };
    expect(Array.isArray(parsed.traceEvents)).toBe(true);
    expect(parsed.traceEvents.filter((event) => event.ph === 'X').length).toBeGreaterThan(6);
    expect(first.stdout).toContain(`Trace: ${trace}`);
    expect(first.stdout).toContain('ui.perfetto.dev');

    const second = await demo(...args);
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(
      /Served from cache: 100\.0% hits \(6 from disk, 0 from memory\), 0 executions/,
    );
    expect(second.stdout).toMatch(/^ {2}executions +0 /m);
    expect(second.stdout).toMatch(row('a', '1.0.0', 4));
    expect(second.stdout).toMatch(row('a/node_modules/c', '2.0.0', 1));
    // The same digests, from the cache.
    const treeHash = (run: Run) => /tree sha256 ([0-9a-f]{16})/.exec(run.stdout)?.[1];
    expect(treeHash(second)).toBe(treeHash(first));
    expect(second.stderr).toMatch(/malformed package\.json/);
  }, 120_000);

  it('--fresh ignores the cache', async () => {
    const fresh = await demo(...args, '--fresh');
    expect(fresh.code).toBe(1);
    expect(fresh.stdout).toMatch(/^ {2}executions +6 /m);
    expect(fresh.stdout).toMatch(/--fresh/);
  }, 120_000);

  it('--redis: workers started together hash each package once between them', async () => {
    const port = redisPort();
    if (port === undefined) {
      // describeWithRedis's rule: loud locally, a failure on CI.
      if (process.env.CI)
        throw new Error('EED_REDIS_PORT is not set: the --redis demo must run on CI');
      console.warn('\n!!! SKIPPED the --redis demo test: EED_REDIS_PORT is not set\n');
      return;
    }
    const redis = ['--fresh', '--redis', `redis://127.0.0.1:${port}`];
    const runs = await Promise.all([demo(...args, ...redis), demo(...args, ...redis)]);
    const here = (run: Run) => Number(/(\d+) digests computed here/.exec(run.stdout)?.[1]);
    const treeHash = (run: Run) => /tree sha256 ([0-9a-f]{16})/.exec(run.stdout)?.[1];
    for (const run of runs) {
      expect(run.code).toBe(1); // the fixture's broken package
      expect(run.stdout).toMatch(/Redis redis:\/\/127\.0\.0\.1:\d+: \d+ digests computed here/);
    }
    expect(here(runs[0]!) + here(runs[1]!)).toBe(6);
    expect(treeHash(runs[0]!)).toBe(treeHash(runs[1]!));
    const bad = await demo('--redis', 'localhost:6379');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--redis must be a redis:\/\/ or rediss:\/\/ URL/);
  }, 120_000);

  it('exits 2 on bad arguments and 1 on a missing directory', async () => {
    const bad = await demo('--concurrency', 'zero');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--concurrency must be an integer/);
    const missing = await demo('--dir', join(temp, 'does-not-exist'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/is not a directory/);
  }, 120_000);
});
