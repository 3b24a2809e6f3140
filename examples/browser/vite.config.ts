import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { packageShards } from './packageShards.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * The browser example: a typeahead over the packages installed in this repository's
 * node_modules, served as static JSON shards (one per first letter) by the dev server.
 * `eed` resolves to the library's source, so the page runs what the tests test.
 */
export default defineConfig({
  root: here('.'),
  resolve: {
    alias: {
      'eed/operators': here('../../operators/index.ts'),
      eed: here('../../src/index.ts'),
    },
  },
  plugins: [packageShards({ nodeModules: here('../../node_modules'), latencyMs: 150 })],
  server: { host: '127.0.0.1' },
  logLevel: 'warn',
});
