export type { BatchMapOptions } from './batchMap.js';
export { batchMap } from './batchMap.js';
export type { CacheMapOptions } from './cacheMap.js';
export { cacheMap } from './cacheMap.js';
export type { DedupeMapOptions } from './dedupeMap.js';
export { dedupeMap } from './dedupeMap.js';
export type { ParallelMapOptions } from './parallelMap.js';
export { parallelMap } from './parallelMap.js';
