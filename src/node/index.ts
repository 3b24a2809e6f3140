/**
 * Node-only parts of eed (filesystem cache, Node cache defaults). Import from `eed/node`.
 * @module
 */
export const NODE_ONLY = true;
