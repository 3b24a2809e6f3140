/**
 * What `eed/node` resolves to in a browser bundle (the `browser` export condition): every
 * export throws, so no `node:*` module is ever pulled into a browser build.
 * @module
 */
export const NODE_ONLY = true;
