/**
 * What `eed/node` resolves to in a browser bundle (the exports map's `browser`
 * condition). It mirrors the export names of `src/node/index.ts`, and every export throws
 * a {@link NodeOnlyError} (exported from `eed`) saying the module is Node-only, so a browser build links (no "missing export"
 * error) but never pulls in a `node:*` module. Nothing here runs at import time.
 *
 * Keep the names in step with `src/node/index.ts`: `npm run test:package` fails when
 * the two entries' export names differ.
 *
 * @example
 * ```ts
 * import { FileSystemStore } from 'eed/node'; // in a browser bundle
 * new FileSystemStore({ dir: '.cache' }); // throws: eed/node is Node-only ...
 * ```
 * @module
 */
import { NodeOnlyError } from '../errors.js';

// Types cost nothing at run time: an isomorphic library may name them in a browser build.
export type { NodeCacheOptions } from './createNodeCache.js';
export type {
  FileSystemStoreFileHandle,
  FileSystemStoreFs,
  FileSystemStoreOptions,
} from './FileSystemStore.js';
export type { RedisStoreClient, RedisStoreOptions } from './RedisStore.js';
export type {
  RedisCoordinator,
  RedisCoordinatorClient,
  RedisCoordinatorEvent,
  RedisCoordinatorOptions,
} from './redisCoordinator.js';

function nodeOnly(name: string): Error {
  return new NodeOnlyError(name);
}

/**
 * Browser stand-in for the Node entry's `FileSystemStore`.
 *
 * @example
 * ```ts
 * new FileSystemStore({ dir: '.cache' }); // throws: eed/node is Node-only
 * ```
 * @throws Always: `eed/node` is Node-only.
 */
export class FileSystemStore {
  constructor(..._args: unknown[]) {
    throw nodeOnly('FileSystemStore');
  }
}

/**
 * Browser stand-in for the Node entry's `NodeCache`.
 *
 * @example
 * ```ts
 * new NodeCache(); // throws: eed/node is Node-only
 * ```
 * @throws Always: `eed/node` is Node-only.
 */
export class NodeCache {
  constructor(..._args: unknown[]) {
    throw nodeOnly('NodeCache');
  }
}

/**
 * Browser stand-in for the Node entry's `createNodeCache`.
 *
 * @example
 * ```ts
 * createNodeCache(); // throws: eed/node is Node-only
 * ```
 * @throws Always: `eed/node` is Node-only.
 */
export function createNodeCache(..._args: unknown[]): never {
  throw nodeOnly('createNodeCache');
}

/**
 * Browser stand-in for the Node entry's `RedisStore`.
 *
 * @example
 * ```ts
 * new RedisStore({ url: 'redis://127.0.0.1:6379' }); // throws: eed/node is Node-only
 * ```
 * @throws Always: `eed/node` is Node-only.
 */
export class RedisStore {
  constructor(..._args: unknown[]) {
    throw nodeOnly('RedisStore');
  }
}

/**
 * Browser stand-in for the Node entry's `RedisTimeoutError`.
 *
 * @example
 * ```ts
 * new RedisTimeoutError('get', 250); // throws: eed/node is Node-only
 * ```
 * @throws Always: `eed/node` is Node-only.
 */
export class RedisTimeoutError {
  constructor(..._args: unknown[]) {
    throw nodeOnly('RedisTimeoutError');
  }
}

/**
 * Browser stand-in for the Node entry's `RedisStoreClosedError`.
 *
 * @example
 * ```ts
 * new RedisStoreClosedError('get'); // throws: eed/node is Node-only
 * ```
 * @throws Always: `eed/node` is Node-only.
 */
export class RedisStoreClosedError {
  constructor(..._args: unknown[]) {
    throw nodeOnly('RedisStoreClosedError');
  }
}

/**
 * Browser stand-in for the Node entry's `RedisCoordinatorClosedError`.
 *
 * @example
 * ```ts
 * new RedisCoordinatorClosedError('acquire'); // throws: eed/node is Node-only
 * ```
 * @throws Always: `eed/node` is Node-only.
 */
export class RedisCoordinatorClosedError {
  constructor(..._args: unknown[]) {
    throw nodeOnly('RedisCoordinatorClosedError');
  }
}

/**
 * Browser stand-in for the Node entry's `RedisUnavailableError`.
 *
 * @example
 * ```ts
 * new RedisUnavailableError('cool-down'); // throws: eed/node is Node-only
 * ```
 * @throws Always: `eed/node` is Node-only.
 */
export class RedisUnavailableError {
  constructor(..._args: unknown[]) {
    throw nodeOnly('RedisUnavailableError');
  }
}

/**
 * Browser stand-in for the Node entry's `redisCoordinator`.
 *
 * @example
 * ```ts
 * redisCoordinator({ client }); // throws: eed/node is Node-only
 * ```
 * @throws Always: `eed/node` is Node-only.
 */
export function redisCoordinator(..._args: unknown[]): never {
  throw nodeOnly('redisCoordinator');
}
