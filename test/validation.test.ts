/**
 * The rule "bad options throw a TypeError/RangeError at construction naming the option and
 * value", over every exported constructor, factory and operator of "eed", "eed/operators"
 * and "eed/node" (and a few methods that take options): each bad value is rejected at the
 * call, synchronously, and each documented edge value is accepted.
 */
import {
  AlertMonitor,
  BrowserCache,
  compressBytes,
  createBrowserCache,
  createEngine,
  createExecutor,
  decompressBytes,
  defineGraph,
  IndexedDbStore,
  LatencyHistogram,
  LatencyRegistry,
  MarkovPredictor,
  MemoryStore,
  MetricsAggregator,
  markovPredictor,
  progress$,
  runGraph,
  TaskControl,
  TieredCache,
  toChromeTrace,
} from 'eed';
import { createNodeCache, FileSystemStore, RedisStore, redisCoordinator } from 'eed/node';
import {
  batchMap,
  cacheMap,
  dedupeMap,
  everyMap,
  firstSuccess,
  hedge,
  parallelMap,
  prefetch,
  someMap,
} from 'eed/operators';
import { EMPTY, of, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';

/** A value of the wrong type, smuggled past the compiler. */
const bad = (value: unknown): never => value as never;
const work = () => of(1);
const loadBatch = async (values: number[]) => values;
const memory = () => new MemoryStore();
const engine = createEngine({ metrics: false });
/** Never created: the constructors open nothing. */
const dir = '/tmp/eed-validation-test/never-written';
/** Enough of an ioredis client for the constructors (no command is sent). */
const redisClient = bad(
  Object.fromEntries(
    ['getBuffer', 'set', 'unlink', 'scanBuffer', 'callBuffer', 'quit'].map((n) => [n, () => {}]),
  ),
);
const coordinatorClient = bad({
  eval: async () => null,
  subscribe: async () => {},
  duplicate: () => null,
});

/**
 * `call` throws, synchronously, a TypeError or RangeError naming `option` as the caller
 * wrote it (not as a part of another path, like `tiers[1].ttl` for `ttl`) and `shown`.
 */
function expectRejected(call: () => unknown, option: string, shown: string): void {
  let thrown: unknown;
  try {
    call();
  } catch (error) {
    thrown = error;
  }
  expect(thrown instanceof TypeError || thrown instanceof RangeError, String(thrown)).toBe(true);
  const message = (thrown as Error).message;
  const escaped = option.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  expect(message).toMatch(new RegExp(`(?<![\\w.\\]])${escaped}(?![\\w[])`));
  expect(message).toContain(`received ${shown}`);
}

/** [what, call, option as named in the message, the bad value as shown in it]. */
type Row = readonly [string, () => unknown, string, string];

const rejected: Row[] = [
  // createExecutor
  ['createExecutor concurrency 0', () => createExecutor({ concurrency: 0 }), 'concurrency', '0'],
  [
    'createExecutor concurrency NaN',
    () => createExecutor({ concurrency: NaN }),
    'concurrency',
    'NaN',
  ],
  [
    'createExecutor concurrency 2.5',
    () => createExecutor({ concurrency: 2.5 }),
    'concurrency',
    '2.5',
  ],
  [
    'createExecutor concurrency "4"',
    () => createExecutor({ concurrency: bad('4') }),
    'concurrency',
    '"4"',
  ],
  [
    'createExecutor backgroundConcurrency > concurrency',
    () => createExecutor({ concurrency: 4, backgroundConcurrency: 5 }),
    'backgroundConcurrency',
    '5',
  ],
  [
    'createExecutor backgroundConcurrency -1',
    () => createExecutor({ backgroundConcurrency: -1 }),
    'backgroundConcurrency',
    '-1',
  ],
  ['createExecutor agingMs NaN', () => createExecutor({ agingMs: NaN }), 'agingMs', 'NaN'],
  ['createExecutor agingMs 0', () => createExecutor({ agingMs: 0 }), 'agingMs', '0'],
  // createEngine
  ['createEngine ttl -1', () => createEngine({ ttl: -1 }), 'ttl', '-1'],
  ['createEngine ttl NaN', () => createEngine({ ttl: NaN }), 'ttl', 'NaN'],
  ['createEngine cache 5', () => createEngine({ cache: bad(5) }), 'cache', '5'],
  [
    'createEngine executor options',
    () => createEngine({ executor: { concurrency: 0 } }),
    'concurrency',
    '0',
  ],
  [
    'createEngine metricsIntervalMs -1',
    () => createEngine({ metricsIntervalMs: -1 }),
    'metricsIntervalMs',
    '-1',
  ],
  [
    'createEngine executor without events$ and concurrency',
    () => createEngine({ executor: bad({ schedule: () => EMPTY, stats: () => ({}) }) }),
    'executor',
    'an object',
  ],
  [
    'parallelMap executor without events$',
    () =>
      parallelMap(work, {
        executor: bad({ schedule: () => EMPTY, stats: () => ({}), concurrency: 2 }),
      }),
    'executor',
    'an object',
  ],
  ['runGraph executor null', () => runGraph({}, { executor: bad(null) }), 'executor', 'null'],
  [
    'hedge executor without stats()',
    () => hedge(work, { after: 10, executor: bad({ schedule: () => EMPTY }) }),
    'executor',
    'an object',
  ],
  [
    'MarkovPredictor.predict minProbability NaN',
    () => new MarkovPredictor().predict('a', { minProbability: NaN }),
    'minProbability',
    'NaN',
  ],
  // Timer options: setTimeout and setInterval fire a longer delay after 1 ms.
  [
    'createEngine metricsIntervalMs 2^31',
    () => createEngine({ metricsIntervalMs: 2 ** 31 }),
    'metricsIntervalMs',
    '2147483648',
  ],
  [
    'MemoryStore sweepIntervalMs 2^31',
    () => new MemoryStore({ sweepIntervalMs: 2 ** 31 }),
    'sweepIntervalMs',
    '2147483648',
  ],
  [
    'TieredCache timeoutMs 2^31',
    () => new TieredCache({ tiers: [{ store: memory() }], timeoutMs: 2 ** 31 }),
    'timeoutMs',
    '2147483648',
  ],
  [
    'RedisStore timeoutMs 2^31',
    () => new RedisStore({ client: redisClient, timeoutMs: 2 ** 31 }),
    'timeoutMs',
    '2147483648',
  ],
  [
    'progress$ intervalMs 2^31',
    () => progress$(EMPTY, { total: 1, intervalMs: 2 ** 31 }),
    'intervalMs',
    '2147483648',
  ],
  [
    'batchMap maxWaitMs 2^31',
    () => batchMap(loadBatch, { maxWaitMs: 2 ** 31 }),
    'maxWaitMs',
    '2147483648',
  ],
  ['createEngine coordinator 5', () => createEngine({ coordinator: bad(5) }), 'coordinator', '5'],
  [
    'createEngine alerts.minSamples 0',
    () => createEngine({ alerts: { minSamples: 0 } }),
    'alerts.minSamples',
    '0',
  ],
  [
    'createEngine alerts.maxRedundancy 2',
    () => createEngine({ alerts: { maxRedundancy: 2 } }),
    'alerts.maxRedundancy',
    '2',
  ],
  // caches
  ['MemoryStore options 5', () => new MemoryStore(bad(5)), 'options', '5'],
  ['MemoryStore maxEntries 0', () => new MemoryStore({ maxEntries: 0 }), 'maxEntries', '0'],
  ['MemoryStore maxBytes 0', () => new MemoryStore({ maxBytes: 0 }), 'maxBytes', '0'],
  ['MemoryStore sizeOf 5', () => new MemoryStore({ sizeOf: bad(5) }), 'sizeOf', '5'],
  ['MemoryStore policy "x"', () => new MemoryStore({ policy: bad('x') }), 'policy', '"x"'],
  ['MemoryStore clock 5', () => new MemoryStore({ clock: bad(5) }), 'clock', '5'],
  [
    'MemoryStore sweepIntervalMs 0',
    () => new MemoryStore({ sweepIntervalMs: 0 }),
    'sweepIntervalMs',
    '0',
  ],
  ['MemoryStore onEvict 5', () => new MemoryStore({ onEvict: bad(5) }), 'onEvict', '5'],
  ['IndexedDbStore dbName ""', () => new IndexedDbStore({ dbName: '' }), 'dbName', '""'],
  ['IndexedDbStore storeName 5', () => new IndexedDbStore({ storeName: bad(5) }), 'storeName', '5'],
  [
    'IndexedDbStore maxEntries 1.5',
    () => new IndexedDbStore({ maxEntries: 1.5 }),
    'maxEntries',
    '1.5',
  ],
  [
    'IndexedDbStore compressThreshold -1',
    () => new IndexedDbStore({ compressThreshold: -1 }),
    'compressThreshold',
    '-1',
  ],
  ['IndexedDbStore useStore 5', () => new IndexedDbStore({ useStore: bad(5) }), 'useStore', '5'],
  ['TieredCache tiers []', () => new TieredCache({ tiers: [] }), 'tiers', '0'],
  [
    'TieredCache tiers[0].store 5',
    () => new TieredCache({ tiers: [{ store: bad(5) }] }),
    'tiers[0].store',
    '5',
  ],
  [
    'TieredCache tiers[0].ttl NaN',
    () => new TieredCache({ tiers: [{ store: memory(), ttl: NaN }] }),
    'tiers[0].ttl',
    'NaN',
  ],
  [
    'TieredCache timeoutMs -1',
    () => new TieredCache({ tiers: [{ store: memory() }], timeoutMs: -1 }),
    'timeoutMs',
    '-1',
  ],
  [
    'TieredCache failureThreshold 0',
    () => new TieredCache({ tiers: [{ store: memory() }], failureThreshold: 0 }),
    'failureThreshold',
    '0',
  ],
  [
    'TieredCache coolDownMs NaN',
    () => new TieredCache({ tiers: [{ store: memory() }], coolDownMs: NaN }),
    'coolDownMs',
    'NaN',
  ],
  [
    'BrowserCache memory 5',
    () => new BrowserCache(bad(5), new IndexedDbStore()),
    'tiers[0].store',
    '5',
  ],
  ['createBrowserCache options 5', () => createBrowserCache(bad(5)), 'options', '5'],
  [
    'createBrowserCache memory.maxEntries 0',
    () => createBrowserCache({ memory: { maxEntries: 0 } }),
    'maxEntries',
    '0',
  ],
  [
    'createBrowserCache timeoutMs -1',
    () => createBrowserCache({ timeoutMs: -1 }),
    'timeoutMs',
    '-1',
  ],
  ['createBrowserCache clock 5', () => createBrowserCache({ clock: bad(5) }), 'clock', '5'],
  // metrics, speculation, graphs
  [
    'MetricsAggregator maxTrackedKeys 0',
    () => new MetricsAggregator({ maxTrackedKeys: 0 }),
    'maxTrackedKeys',
    '0',
  ],
  [
    'AlertMonitor slowFactor NaN',
    () => new AlertMonitor({ slowFactor: NaN }, () => {}),
    'alerts.slowFactor',
    'NaN',
  ],
  [
    'AlertMonitor minCacheHitRate -0.1',
    () => new AlertMonitor({ minCacheHitRate: -0.1 }, () => {}),
    'alerts.minCacheHitRate',
    '-0.1',
  ],
  ['LatencyHistogram window 0', () => new LatencyHistogram({ window: 0 }), 'window', '0'],
  ['LatencyRegistry maxLabels 0', () => new LatencyRegistry({ maxLabels: 0 }), 'maxLabels', '0'],
  ['LatencyRegistry window 1.5', () => new LatencyRegistry({ window: 1.5 }), 'window', '1.5'],
  ['MarkovPredictor maxKeys 0', () => new MarkovPredictor({ maxKeys: 0 }), 'maxKeys', '0'],
  [
    'markovPredictor keyOf 5',
    () => markovPredictor({ keyOf: bad(5), workFor: () => work }),
    'keyOf',
    '5',
  ],
  [
    'markovPredictor workFor 5',
    () => markovPredictor({ keyOf: String, workFor: bad(5) }),
    'workFor',
    '5',
  ],
  ['progress$ total 1.5', () => progress$(EMPTY, { total: 1.5 }), 'total', '1.5'],
  ['progress$ total Infinity', () => progress$(EMPTY, { total: Infinity }), 'total', 'Infinity'],
  ['progress$ count "x"', () => progress$(EMPTY, { total: 1, count: bad('x') }), 'count', '"x"'],
  [
    'progress$ intervalMs NaN',
    () => progress$(EMPTY, { total: 1, intervalMs: NaN }),
    'intervalMs',
    'NaN',
  ],
  ['progress$ windowMs 0', () => progress$(EMPTY, { total: 1, windowMs: 0 }), 'windowMs', '0'],
  ['runGraph options 5', () => runGraph({}, bad(5)), 'options', '5'],
  ['runGraph engine {}', () => runGraph({}, { engine: bad({}) }), 'engine', 'an object'],
  ['runGraph executor 5', () => runGraph({}, { executor: bad(5) }), 'executor', '5'],
  ['runGraph failFast 1', () => runGraph({}, { failFast: bad(1) }), 'failFast', '1'],
  ['runGraph concurrency 0', () => runGraph({}, { concurrency: 0 }), 'concurrency', '0'],
  ['runGraph order "x"', () => runGraph({}, { order: bad('x') }), 'order', '"x"'],
  ['runGraph clock 5', () => runGraph({}, { clock: bad(5) }), 'clock', '5'],
  ['runGraph task run 5', () => runGraph({ a: { run: bad(5) } }), 'run', '5'],
  [
    'runGraph task cost Infinity',
    () => runGraph({ a: { run: work, cost: Infinity } }),
    'cost',
    'Infinity',
  ],
  [
    'runGraph task priority "x"',
    () => runGraph({ a: { run: work, priority: bad('x') } }),
    'priority',
    '"x"',
  ],
  ['runGraph task ttl -1', () => runGraph({ a: { run: work, ttl: -1 } }), 'ttl', '-1'],
  // operators
  ['parallelMap project 5', () => parallelMap(bad(5)), 'project', '5'],
  ['parallelMap concurrency 0', () => parallelMap(work, { concurrency: 0 }), 'concurrency', '0'],
  ['parallelMap priority "x"', () => parallelMap(work, { priority: bad('x') }), 'priority', '"x"'],
  ['dedupeMap keyOf 5', () => dedupeMap(bad(5), work), 'keyOf', '5'],
  [
    'dedupeMap concurrency NaN',
    () => dedupeMap(String, work, { concurrency: NaN }),
    'concurrency',
    'NaN',
  ],
  [
    'dedupeMap priority "x"',
    () => dedupeMap(String, work, { priority: bad('x') }),
    'priority',
    '"x"',
  ],
  ['cacheMap cache 5', () => cacheMap(String, work, { cache: bad(5) }), 'cache', '5'],
  ['cacheMap ttl -1', () => cacheMap(String, work, { cache: memory(), ttl: -1 }), 'ttl', '-1'],
  [
    'cacheMap concurrency 2.5',
    () => cacheMap(String, work, { cache: memory(), concurrency: 2.5 }),
    'concurrency',
    '2.5',
  ],
  ['cacheMap project 5', () => cacheMap(String, bad(5), { cache: memory() }), 'project', '5'],
  ['batchMap loadBatch 5', () => batchMap(bad(5)), 'loadBatch', '5'],
  ['batchMap maxBatchSize 0', () => batchMap(loadBatch, { maxBatchSize: 0 }), 'maxBatchSize', '0'],
  ['batchMap maxWaitMs NaN', () => batchMap(loadBatch, { maxWaitMs: NaN }), 'maxWaitMs', 'NaN'],
  ['batchMap concurrency -1', () => batchMap(loadBatch, { concurrency: -1 }), 'concurrency', '-1'],
  ['batchMap keyOf 5', () => batchMap(loadBatch, { keyOf: bad(5) }), 'keyOf', '5'],
  [
    'batchMap onItemError 5',
    () => batchMap(loadBatch, { onItemError: bad(5) }),
    'onItemError',
    '5',
  ],
  ['batchMap priority "x"', () => batchMap(loadBatch, { priority: bad('x') }), 'priority', '"x"'],
  ['prefetch predict 5', () => prefetch(bad(5), { engine }), 'predict', '5'],
  ['prefetch depth 0', () => prefetch(() => [], { engine, depth: 0 }), 'depth', '0'],
  [
    'prefetch minProbability NaN',
    () => prefetch(() => [], { engine, minProbability: NaN }),
    'minProbability',
    'NaN',
  ],
  ...(['firstSuccess', 'someMap', 'everyMap'] as const).flatMap((name): Row[] => {
    const op = { firstSuccess, someMap, everyMap }[name] as (p: unknown, o?: object) => unknown;
    return [
      [`${name} callback 5`, () => op(5), name, '5'],
      [`${name} concurrency 0`, () => op(work, { concurrency: 0 }), 'concurrency', '0'],
      [`${name} priority "x"`, () => op(work, { priority: 'x' }), 'priority', '"x"'],
      [`${name} events 5`, () => op(work, { events: 5 }), 'events', '5'],
      [`${name} clock 5`, () => op(work, { clock: 5 }), 'clock', '5'],
    ];
  }),
  ['hedge work 5', () => hedge(bad(5), { after: 1 }), 'work', '5'],
  ['hedge options undefined', () => hedge(work, bad(undefined)), 'options', 'undefined'],
  ['hedge after -1', () => hedge(work, { after: -1 }), 'after', '-1'],
  ['hedge after "p99"', () => hedge(work, { after: bad('p99') }), 'after', '"p99"'],
  ['hedge max Infinity', () => hedge(work, { after: 1, max: Infinity }), 'max', 'Infinity'],
  ['hedge max 1.5', () => hedge(work, { after: 1, max: 1.5 }), 'max', '1.5'],
  [
    'hedge after p95 without label',
    () => hedge(work, { after: 'p95' }),
    'label',
    'label undefined',
  ],
  ['hedge label 5', () => hedge(work, { after: 1, label: bad(5) }), 'label', '5'],
  [
    'hedge afterFallbackMs NaN',
    () => hedge(work, { after: 1, afterFallbackMs: NaN }),
    'afterFallbackMs',
    'NaN',
  ],
  ['hedge minSamples 0', () => hedge(work, { after: 1, minSamples: 0 }), 'minSamples', '0'],
  ['hedge executor 5', () => hedge(work, { after: 1, executor: bad(5) }), 'executor', '5'],
  ['hedge latencies 5', () => hedge(work, { after: 1, latencies: bad(5) }), 'latencies', '5'],
  ['hedge scheduler 5', () => hedge(work, { after: 1, scheduler: bad(5) }), 'scheduler', '5'],
  ['hedge events 5', () => hedge(work, { after: 1, events: bad(5) }), 'events', '5'],
  ['hedge priority "x"', () => hedge(work, { after: 1, priority: bad('x') }), 'priority', '"x"'],
  // eed/node
  ['createNodeCache options 5', () => createNodeCache(bad(5)), 'options', '5'],
  ['createNodeCache dir ""', () => createNodeCache({ dir: '' }), 'dir', '""'],
  ['createNodeCache maxBytes 0', () => createNodeCache({ dir, maxBytes: 0 }), 'maxBytes', '0'],
  ['createNodeCache policy "x"', () => createNodeCache({ dir, policy: bad('x') }), 'policy', '"x"'],
  [
    'createNodeCache compressThreshold -1',
    () => createNodeCache({ dir, compressThreshold: -1 }),
    'compressThreshold',
    '-1',
  ],
  ['createNodeCache clock 5', () => createNodeCache({ dir, clock: bad(5) }), 'clock', '5'],
  ['createNodeCache fs 5', () => createNodeCache({ dir, fs: bad(5) }), 'fs', '5'],
  [
    'FileSystemStore options undefined',
    () => new FileSystemStore(bad(undefined)),
    'options',
    'undefined',
  ],
  [
    'FileSystemStore dir with NUL',
    () => new FileSystemStore({ dir: 'a\0b' }),
    'dir',
    '"a\\u0000b"',
  ],
  [
    'FileSystemStore maxBytes NaN',
    () => new FileSystemStore({ dir, maxBytes: NaN }),
    'maxBytes',
    'NaN',
  ],
  [
    'FileSystemStore readErrors "x"',
    () => new FileSystemStore({ dir, readErrors: bad('x') }),
    'readErrors',
    '"x"',
  ],
  [
    'FileSystemStore clock {}',
    () => new FileSystemStore({ dir, clock: bad({}) }),
    'clock.now',
    'undefined',
  ],
  [
    'FileSystemStore fs {}',
    () => new FileSystemStore({ dir, fs: bad({}) }),
    'fs.mkdir',
    'undefined',
  ],
  ['RedisStore neither client nor url', () => new RedisStore({}), 'client', 'client undefined'],
  [
    'RedisStore url http',
    () => new RedisStore({ url: 'http://u:pw@x' }),
    'url',
    '"http://u:***@x/"',
  ],
  ['RedisStore client {}', () => new RedisStore({ client: bad({}) }), 'client', 'an object'],
  [
    'RedisStore prefix ""',
    () => new RedisStore({ client: redisClient, prefix: '' }),
    'prefix',
    '""',
  ],
  ['RedisStore ttl 0', () => new RedisStore({ client: redisClient, ttl: 0 }), 'ttl', '0'],
  [
    'RedisStore timeoutMs NaN',
    () => new RedisStore({ client: redisClient, timeoutMs: NaN }),
    'timeoutMs',
    'NaN',
  ],
  [
    'RedisStore compressThreshold -1',
    () => new RedisStore({ client: redisClient, compressThreshold: -1 }),
    'compressThreshold',
    '-1',
  ],
  [
    'RedisStore scanCount 1.5',
    () => new RedisStore({ client: redisClient, scanCount: 1.5 }),
    'scanCount',
    '1.5',
  ],
  [
    'RedisStore clock 5',
    () => new RedisStore({ client: redisClient, clock: bad(5) }),
    'clock',
    '5',
  ],
  [
    'RedisStore timers {}',
    () => new RedisStore({ client: redisClient, timers: bad({}) }),
    'timers.setTimeout',
    'undefined',
  ],
  [
    'redisCoordinator options undefined',
    () => redisCoordinator(bad(undefined)),
    'options',
    'undefined',
  ],
  [
    'redisCoordinator client {}',
    () => redisCoordinator({ client: bad({}) }),
    'client',
    'an object',
  ],
  [
    'redisCoordinator subscriber 5',
    () => redisCoordinator({ client: coordinatorClient, subscriber: bad(5) }),
    'subscriber',
    '5',
  ],
  [
    'redisCoordinator prefix 5',
    () => redisCoordinator({ client: coordinatorClient, prefix: bad(5) }),
    'prefix',
    '5',
  ],
  [
    'redisCoordinator leaseMs 29',
    () => redisCoordinator({ client: coordinatorClient, leaseMs: 29 }),
    'leaseMs',
    '29',
  ],
  [
    'redisCoordinator timeoutMs 0',
    () => redisCoordinator({ client: coordinatorClient, timeoutMs: 0 }),
    'timeoutMs',
    '0',
  ],
  [
    'redisCoordinator pollMs NaN',
    () => redisCoordinator({ client: coordinatorClient, pollMs: NaN }),
    'pollMs',
    'NaN',
  ],
  [
    'redisCoordinator coolDownMs -1',
    () => redisCoordinator({ client: coordinatorClient, coolDownMs: -1 }),
    'coolDownMs',
    '-1',
  ],
  // methods and options found unchecked by an audit (2026-11-29)
  ['createExecutor clock 5', () => createExecutor({ clock: bad(5) }), 'clock', '5'],
  ['createEngine executor 5', () => createEngine({ executor: bad(5) }), 'executor', '5'],
  ['createEngine executor null', () => createEngine({ executor: bad(null) }), 'executor', 'null'],
  ['createEngine clock 5', () => createEngine({ clock: bad(5) }), 'clock', '5'],
  ['createEngine wallClock 5', () => createEngine({ wallClock: bad(5) }), 'wallClock', '5'],
  [
    'createEngine wallClock 5 (own cache)',
    () => createEngine({ cache: memory(), wallClock: bad(5) }),
    'wallClock',
    '5',
  ],
  ['createEngine metrics "no"', () => createEngine({ metrics: bad('no') }), 'metrics', '"no"'],
  [
    'createEngine alerts.windowMs -1',
    () => createEngine({ alerts: { windowMs: -1 } }),
    'alerts.windowMs',
    '-1',
  ],
  [
    'createEngine alerts.windowMs NaN',
    () => createEngine({ alerts: { windowMs: NaN } }),
    'alerts.windowMs',
    'NaN',
  ],
  ['createEngine alerts 5', () => createEngine({ alerts: bad(5) }), 'alerts', '5'],
  [
    'AlertMonitor minParallelization "0.5"',
    () => new AlertMonitor({ minParallelization: bad('0.5') }, () => {}),
    'alerts.minParallelization',
    '"0.5"',
  ],
  ['AlertMonitor emit 5', () => new AlertMonitor({}, bad(5)), 'emit', '5'],
  [
    'MetricsAggregator concurrency 0',
    () => new MetricsAggregator({ concurrency: 0 }),
    'concurrency',
    '0',
  ],
  [
    'MetricsAggregator concurrency NaN',
    () => new MetricsAggregator({ concurrency: NaN }),
    'concurrency',
    'NaN',
  ],
  [
    'MetricsAggregator windowMs -1',
    () => new MetricsAggregator({ windowMs: -1 }),
    'windowMs',
    '-1',
  ],
  ['MetricsAggregator windowMs 0', () => new MetricsAggregator({ windowMs: 0 }), 'windowMs', '0'],
  [
    'TieredCache clock 5',
    () => new TieredCache({ tiers: [{ store: memory() }], clock: bad(5) }),
    'clock',
    '5',
  ],
  [
    'TieredCache timers 5',
    () => new TieredCache({ tiers: [{ store: memory() }], timers: bad(5) }),
    'timers',
    '5',
  ],
  [
    'TieredCache store without set',
    () => new TieredCache({ tiers: [{ store: bad({ get: () => undefined }) }] }),
    'tiers[0].store',
    'an object',
  ],
  [
    'createBrowserCache ttl.memory -1',
    () => createBrowserCache({ ttl: { memory: -1 } }),
    'ttl.memory',
    '-1',
  ],
  [
    'createBrowserCache ttl.indexedDb NaN',
    () => createBrowserCache({ ttl: { indexedDb: NaN } }),
    'ttl.indexedDb',
    'NaN',
  ],
  ['createBrowserCache ttl 5', () => createBrowserCache({ ttl: bad(5) }), 'ttl', '5'],
  ['createBrowserCache ttl null', () => createBrowserCache({ ttl: bad(null) }), 'ttl', 'null'],
  ['createBrowserCache memory 5', () => createBrowserCache({ memory: bad(5) }), 'memory', '5'],
  [
    'progress$ preempted "x"',
    () => progress$(EMPTY, { total: 1, preempted: bad('x') }),
    'preempted',
    '"x"',
  ],
  ['progress$ clock 5', () => progress$(EMPTY, { total: 1, clock: bad(5) }), 'clock', '5'],
  [
    'progress$ scheduler 5',
    () => progress$(EMPTY, { total: 1, scheduler: bad(5) }),
    'scheduler',
    '5',
  ],
  ['progress$ events$ 5', () => progress$(bad(5), { total: 1 }), 'events$', '5'],
  [
    'toChromeTrace processName 5',
    () => toChromeTrace([], { processName: bad(5) }),
    'processName',
    '5',
  ],
  ['runGraph engine null', () => runGraph({}, { engine: bad(null) }), 'engine', 'null'],
  [
    'defineGraph task deps 5',
    () => defineGraph().task('a', { run: work, deps: bad(5) }),
    'deps',
    '5',
  ],
  ['parallelMap executor 5', () => parallelMap(work, { executor: bad(5) }), 'executor', '5'],
  [
    'parallelMap executor null',
    () => parallelMap(work, { executor: bad(null) }),
    'executor',
    'null',
  ],
  ['firstSuccess executor 5', () => firstSuccess(work, { executor: bad(5) }), 'executor', '5'],
  ['parallelMap label 5', () => parallelMap(work, { label: bad(5) }), 'label', '5'],
  ['someMap label 5', () => someMap(() => of(true), { label: bad(5) }), 'label', '5'],
  ['dedupeMap label 5', () => dedupeMap(String, work, { label: bad(5) }), 'label', '5'],
  [
    'cacheMap label 5',
    () => cacheMap(String, work, { cache: memory(), label: bad(5) }),
    'label',
    '5',
  ],
  ['batchMap label 5', () => batchMap(loadBatch, { label: bad(5) }), 'label', '5'],
  [
    'parallelMap ordered "yes"',
    () => parallelMap(work, { ordered: bad('yes') }),
    'ordered',
    '"yes"',
  ],
  [
    'dedupeMap ordered "yes"',
    () => dedupeMap(String, work, { ordered: bad('yes') }),
    'ordered',
    '"yes"',
  ],
  [
    'dedupeMap engine {}',
    () => dedupeMap(String, work, { engine: bad({}) }),
    'engine',
    'an object',
  ],
  ['cacheMap cache null', () => cacheMap(String, work, { cache: bad(null) }), 'cache', 'null'],
  [
    'cacheMap executor 5',
    () => cacheMap(String, work, { cache: memory(), executor: bad(5) }),
    'executor',
    '5',
  ],
  ['batchMap executor 5', () => batchMap(loadBatch, { executor: bad(5) }), 'executor', '5'],
  ['batchMap scheduler 5', () => batchMap(loadBatch, { scheduler: bad(5) }), 'scheduler', '5'],
  ['prefetch engine {}', () => prefetch(() => [], { engine: bad({}) }), 'engine', 'an object'],
  [
    'prefetch minProbability "0.5"',
    () => prefetch(() => [], { engine, minProbability: bad('0.5') }),
    'minProbability',
    '"0.5"',
  ],
  [
    'prefetch minProbability null',
    () => prefetch(() => [], { engine, minProbability: bad(null) }),
    'minProbability',
    'null',
  ],
  [
    'prefetch depth Infinity',
    () => prefetch(() => [], { engine, depth: Infinity }),
    'depth',
    'Infinity',
  ],
  ['createNodeCache ttl -1', () => createNodeCache({ dir, ttl: -1 }), 'ttl', '-1'],
  [
    'createNodeCache timeoutMs NaN',
    () => createNodeCache({ dir, timeoutMs: NaN }),
    'timeoutMs',
    'NaN',
  ],
  ['createNodeCache memory 5', () => createNodeCache({ dir, memory: bad(5) }), 'memory', '5'],
  [
    'redisCoordinator client without duplicate',
    () => redisCoordinator({ client: bad({ eval: async () => null }) }),
    'client',
    'an object',
  ],
  ['executor.schedule work 5', () => createExecutor().schedule(bad(5)), 'work', '5'],
  ['TaskControl.raise "x"', () => new TaskControl().raise(bad('x')), 'priority', '"x"'],
  [
    'engine.loader scheduler 5',
    () => engine.loader(async (keys: string[]) => keys, { scheduler: bad(5) }),
    'scheduler',
    '5',
  ],
];

/** Documented-valid edge values: accepted without a throw. */
const accepted: readonly (readonly [string, () => unknown])[] = [
  [
    'timer options at 2^31 - 1 ms, or Infinity where it means no timer',
    () => [
      createEngine({ metricsIntervalMs: 2 ** 31 - 1 }),
      createEngine({ metricsIntervalMs: Infinity }),
      new MemoryStore({ sweepIntervalMs: 2 ** 31 - 1 }).dispose(),
      new TieredCache({ tiers: [{ store: memory() }], timeoutMs: 2 ** 31 - 1 }),
      new RedisStore({ client: redisClient, timeoutMs: 2 ** 31 - 1 }),
      progress$(EMPTY, { total: 1, intervalMs: 2 ** 31 - 1 }),
      batchMap(loadBatch, { maxWaitMs: Infinity }),
      engine.loader(async (keys: string[]) => keys, { maxWaitMs: Infinity, maxBatchSize: 10 }),
    ],
  ],
  ['createExecutor concurrency Infinity', () => createExecutor({ concurrency: Infinity })],
  [
    'createExecutor backgroundConcurrency 0 and = concurrency',
    () => [
      createExecutor({ backgroundConcurrency: 0 }),
      createExecutor({ concurrency: 3, backgroundConcurrency: 3 }),
    ],
  ],
  ['createExecutor agingMs Infinity', () => createExecutor({ agingMs: Infinity })],
  [
    'createEngine ttl 0 and Infinity',
    () => [createEngine({ ttl: 0 }), createEngine({ ttl: Infinity })],
  ],
  ['createEngine executor as an Executor', () => createEngine({ executor: createExecutor() })],
  [
    'MemoryStore maxEntries/maxBytes Infinity, cost-aware',
    () => new MemoryStore({ maxEntries: Infinity, maxBytes: Infinity, policy: 'cost-aware' }),
  ],
  [
    'IndexedDbStore maxEntries Infinity, compressThreshold 0/Infinity',
    () => [
      new IndexedDbStore({ maxEntries: Infinity, compressThreshold: 0 }),
      new IndexedDbStore({ compressThreshold: Infinity }),
    ],
  ],
  [
    'TieredCache tier ttl 0/Infinity, timeoutMs Infinity',
    () =>
      new TieredCache({
        tiers: [
          { store: memory(), ttl: Infinity },
          { store: memory(), ttl: 0, timeoutMs: Infinity },
        ],
      }),
  ],
  [
    'createBrowserCache ttl Infinity/0',
    () => createBrowserCache({ ttl: { memory: Infinity, indexedDb: 0 } }),
  ],
  [
    'MetricsAggregator maxTrackedKeys Infinity',
    () => new MetricsAggregator({ maxTrackedKeys: Infinity }),
  ],
  [
    'AlertMonitor ratios 0 and 1',
    () =>
      new AlertMonitor({ minParallelization: 0, maxRedundancy: 1, minCacheHitRate: 1 }, () => {}),
  ],
  [
    'MarkovPredictor Infinity bounds',
    () => new MarkovPredictor({ maxKeys: Infinity, maxTransitionsPerKey: Infinity }),
  ],
  [
    'progress$ total 0, intervalMs Infinity',
    () => progress$(EMPTY, { total: 0, intervalMs: Infinity }),
  ],
  [
    'runGraph concurrency Infinity, failFast false, fifo',
    () =>
      runGraph(
        { a: { run: work, cost: 0 } },
        { concurrency: Infinity, failFast: false, order: 'fifo' },
      ),
  ],
  [
    'batchMap maxBatchSize/concurrency Infinity, maxWaitMs 0',
    () => batchMap(loadBatch, { maxBatchSize: Infinity, concurrency: Infinity, maxWaitMs: 0 }),
  ],
  [
    'prefetch minProbability 0 and 1',
    () => [
      prefetch(() => [], { engine, minProbability: 0 }),
      prefetch(() => [], { engine, minProbability: 1 }),
    ],
  ],
  [
    'hedge after 0, after Infinity, max 1',
    () => [hedge(work, { after: 0 }), hedge(work, { after: Infinity, max: 1 })],
  ],
  [
    'hedge after p95 with a label',
    () => hedge(work, { after: 'p95', label: 'search', events: new Subject() }),
  ],
  [
    'createNodeCache ttl 0/Infinity, maxBytes Infinity',
    () => [
      createNodeCache({ dir, ttl: 0 }),
      createNodeCache({ dir, ttl: Infinity, maxBytes: Infinity }),
    ],
  ],
  [
    'FileSystemStore compressThreshold 0/Infinity',
    () => [
      new FileSystemStore({ dir, compressThreshold: 0 }),
      new FileSystemStore({ dir, compressThreshold: Infinity }),
    ],
  ],
  [
    'RedisStore ttl/timeoutMs Infinity, compressThreshold 0',
    () =>
      new RedisStore({
        client: redisClient,
        ttl: Infinity,
        timeoutMs: Infinity,
        compressThreshold: 0,
      }),
  ],
  ['RedisStore url with rediss://', () => new RedisStore({ url: 'rediss://localhost:6380/1' })],
  [
    'redisCoordinator coolDownMs 0',
    () => redisCoordinator({ client: coordinatorClient, coolDownMs: 0 }),
  ],
];

describe('option validation', () => {
  it.each(rejected)('rejects %s at the call', (_what, call, option, shown) => {
    expectRejected(call, option, shown);
  });

  it.each(accepted)('accepts %s', (_what, call) => {
    expect(call).not.toThrow();
  });

  it('decompressBytes rejects maxBytes NaN', async () => {
    const packed = await compressBytes(new Uint8Array(1000));
    await expect(decompressBytes(packed, NaN)).rejects.toThrow(/maxBytes.*NaN/);
  });

  it('decompressBytes accepts maxBytes Infinity (the default)', async () => {
    const packed = await compressBytes(new Uint8Array(1000));
    expect((await decompressBytes(packed, Infinity)).length).toBe(1000);
  });
});
