/**
 * Helpers of the tests that need a real Redis. The server is the one `.ci/run` starts (its
 * port in `EED_REDIS_PORT`), or a private `redis-server` a test spawns to stop and
 * restart at will ({@link spawnRedisServer}).
 *
 * Without `EED_REDIS_PORT` the Redis suites are skipped with a loud warning; on CI
 * (`CI` set) they fail instead, so they are never skipped silently where they must run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import { describe, it } from 'vitest';

/** The environment variable naming the port of the shared test Redis. */
export const REDIS_PORT_VARIABLE = 'EED_REDIS_PORT';

/**
 * The port of the shared test Redis on 127.0.0.1, from `EED_REDIS_PORT`; `undefined` when
 * the variable is unset or empty.
 *
 * @throws Error when the variable is set but is not a port number.
 */
export function redisPort(): number | undefined {
  const raw = process.env[REDIS_PORT_VARIABLE];
  if (raw === undefined || raw.trim() === '') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new Error(
      `${REDIS_PORT_VARIABLE} must be a TCP port number; it is ${JSON.stringify(raw)}`,
    );
  }
  return port;
}

/** The port of the shared test Redis; throws if there is none (call inside `describeWithRedis`). */
export function requireRedisPort(): number {
  const port = redisPort();
  if (port === undefined) throw new Error(`${REDIS_PORT_VARIABLE} is not set`);
  return port;
}

/** `redis://127.0.0.1:<port>` of the shared test Redis (or of `port`). */
export function redisUrl(port: number = requireRedisPort()): string {
  return `redis://127.0.0.1:${port}`;
}

/**
 * `describe(name, fn)` when a test Redis is configured. Otherwise: on CI (`CI` set) a
 * suite whose one test fails, naming the variable; elsewhere a skipped suite and a
 * `console.warn` saying why.
 */
export function describeWithRedis(name: string, fn: () => void): void {
  if (redisPort() !== undefined) {
    describe(name, fn);
    return;
  }
  const why = `${REDIS_PORT_VARIABLE} is not set: no Redis to test against (.ci/run starts one; locally: redis-server --port 6391 --save '' & export ${REDIS_PORT_VARIABLE}=6391)`;
  const ci = process.env.CI;
  if (ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false') {
    describe(name, () => {
      it('has a Redis to run against', () => {
        throw new Error(`${why}. On CI the Redis tests must run, not be skipped.`);
      });
    });
    return;
  }
  console.warn(`\n!!! SKIPPED "${name}": ${why}\n`);
  describe.skip(name, fn);
}

/**
 * A new client of the shared test Redis (or of `port`). It connects on first use; `quit()`
 * it in teardown.
 */
export function createTestClient(options: RedisOptions & { port?: number } = {}): Redis {
  const { port = requireRedisPort(), ...rest } = options;
  return new Redis({ host: '127.0.0.1', port, lazyConnect: true, ...rest });
}

/** A prefix no other test uses: `eed-test:<label>:<random>:`. */
export function uniquePrefix(label = 'test'): string {
  return `eed-test:${label}:${randomBytes(6).toString('hex')}:`;
}

/** A TCP port nothing listens on right now (asked of the OS, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** A private `redis-server` child process, see {@link spawnRedisServer}. */
export interface PrivateRedis {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Stops the server (SIGTERM, then SIGKILL) and resolves once the process has exited. */
  stop(): Promise<void>;
}

/**
 * Starts a private `redis-server` on 127.0.0.1 (on a free port, or on `port`, e.g. to
 * restart one that was stopped), with no persistence, and resolves once it answers
 * `PING`. Stop it in teardown.
 */
export async function spawnRedisServer(port?: number): Promise<PrivateRedis> {
  const chosen = port ?? (await freePort());
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(chosen),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  try {
    await waitUntilServing(chosen, child);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`redis-server on port ${chosen} did not start: ${String(error)} ${stderr}`);
  }
  return {
    port: chosen,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves once a server on `port` answers PING (up to 10 s), or rejects if `child` exits. */
async function waitUntilServing(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited with ${child.exitCode ?? child.signalCode}`);
    }
    const client = createTestClient({
      port,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    } finally {
      client.disconnect();
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
