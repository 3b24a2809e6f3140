/**
 * Node-only parts of eed: the filesystem cache store, the default Node cache (memory
 * over the filesystem) and the Redis cache store. Import from `eed/node`; a browser bundle gets a stub whose every
 * export throws (see `browser.ts`).
 *
 * @example
 * ```ts
 * import { createEngine } from 'eed';
 * import { createNodeCache } from 'eed/node';
 *
 * const engine = createEngine({ cache: createNodeCache() });
 * ```
 * @module
 */
export type { NodeCacheOptions } from './createNodeCache.js';
export { createNodeCache, NodeCache } from './createNodeCache.js';
export type {
  FileSystemStoreFileHandle,
  FileSystemStoreFs,
  FileSystemStoreOptions,
} from './FileSystemStore.js';
export { FileSystemStore } from './FileSystemStore.js';
export type { RedisStoreClient, RedisStoreOptions } from './RedisStore.js';
export { RedisStore } from './RedisStore.js';
export type {
  RedisCoordinator,
  RedisCoordinatorClient,
  RedisCoordinatorEvent,
  RedisCoordinatorOptions,
} from './redisCoordinator.js';
export { redisCoordinator } from './redisCoordinator.js';
export {
  RedisCoordinatorClosedError,
  RedisStoreClosedError,
  RedisTimeoutError,
  RedisUnavailableError,
} from './redisErrors.js';
