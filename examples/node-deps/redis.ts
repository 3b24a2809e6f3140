/**
 * `--redis URL`: several demo processes (workers) share one Redis. Digests live in a
 * Redis tier below memory (and the disk, unless `--fresh`), and a redisCoordinator makes
 * sure each package is hashed by one worker only: the others wait for its lease and read
 * the digest from Redis.
 */
import { type CoordinationEvent, type Engine, MemoryStore, type Tier, TieredCache } from 'eed';
import { FileSystemStore, type RedisCoordinator, RedisStore, redisCoordinator } from 'eed/node';
import { Redis } from 'ioredis';

/** Keys of this demo in Redis: `eed-demo:<key>`, leases `eed-demo:lease:<key>`. */
const PREFIX = 'eed-demo:';

/** The cache and coordinator of a worker, and what the coordination did. */
export interface SharedRedis {
  readonly cache: TieredCache;
  readonly coordinator: RedisCoordinator;
  /** Counts coordination outcomes of `engine` until `close()`. */
  count(engine: Engine): void;
  /** How the coordinated runs were settled so far. */
  readonly outcomes: Readonly<Partial<Record<CoordinationEvent['outcome'], number>>>;
  /** Lets the last writes land, then disconnects. */
  close(engine: Engine): Promise<void>;
}

/**
 * Connects to Redis at `url` (failing fast if it cannot be reached, so a typo is an error
 * rather than a silent local run), and builds memory -> (disk) -> Redis.
 */
export async function connectRedis(
  url: string,
  options: { cacheDir: string | undefined; ttl: number },
): Promise<SharedRedis> {
  // Commands fail at once while Redis is down instead of queueing: the engine then
  // hashes locally and reports it, rather than waiting out timeouts.
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  });
  client.on('error', () => {});
  await client.connect();
  const tiers: Tier[] = [{ store: new MemoryStore() }];
  if (options.cacheDir !== undefined) {
    tiers.push({ store: new FileSystemStore({ dir: options.cacheDir }), ttl: options.ttl });
  }
  tiers.push({ store: new RedisStore({ client, prefix: PREFIX }), ttl: options.ttl });
  // A batch job waits for its tiers rather than give up after the default 250 ms.
  const cache = new TieredCache({ tiers, timeoutMs: 10_000 });
  const coordinator = redisCoordinator({ client, prefix: PREFIX, leaseMs: 30_000 });
  const outcomes: Partial<Record<CoordinationEvent['outcome'], number>> = {};
  let counting: { unsubscribe(): void } | undefined;
  return {
    cache,
    coordinator,
    outcomes,
    count(engine) {
      counting = engine.events$.subscribe((event) => {
        if (event.type === 'coordination') {
          outcomes[event.outcome] = (outcomes[event.outcome] ?? 0) + 1;
        }
      });
    },
    async close(engine) {
      await engine.flush();
      counting?.unsubscribe();
      await coordinator.close();
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/** One line on what the other workers saved this one. */
export function describeOutcomes(outcomes: SharedRedis['outcomes'], url: string): string {
  const n = (outcome: CoordinationEvent['outcome']) => outcomes[outcome] ?? 0;
  const here = n('leased') + n('took-over');
  return (
    `Redis ${url}: ${here} digests computed here, ${n('remote-done')} computed by other ` +
    `workers and read from Redis, ${n('remote-failed')} failed elsewhere, ` +
    `${n('took-over')} taken over, ${n('unavailable')} computed locally while Redis was unavailable`
  );
}
