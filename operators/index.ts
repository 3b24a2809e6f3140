export type { ParallelMapOptions } from './parallelMap.js';
export { parallelMap } from './parallelMap.js';
