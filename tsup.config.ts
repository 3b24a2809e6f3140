import { defineConfig } from 'tsup';

// Two builds: the isomorphic entries ("eed", "eed/operators", and the browser stub of
// "eed/node") share chunks with each other; the Node entry is built on its own with
// platform 'node' so no chunk of it can ever be pulled into a browser bundle.
//
// tsup runs the two builds concurrently, so neither may `clean`: one build's clean (and
// its declaration clean, which runs late, just before the .d.ts rollup is written) would
// delete the other's output. The `build` script empties dist/ once, before tsup starts.
export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      'operators/index': 'operators/index.ts',
      'node/browser': 'src/node/browser.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    platform: 'neutral',
    target: 'es2022',
    splitting: true,
    sourcemap: true,
    clean: false,
    treeshake: true,
    external: ['rxjs', 'immer', 'idb-keyval'],
  },
  {
    entry: { 'node/index': 'src/node/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    platform: 'node',
    target: 'node20',
    splitting: false,
    sourcemap: true,
    clean: false,
    // 'eed' stays a package import, so eed/node shares the classes of the main entry
    // (instanceof TieredCache, error classes) instead of bundling copies of them.
    external: ['eed', 'rxjs', 'immer', 'idb-keyval', 'ioredis'],
  },
]);
