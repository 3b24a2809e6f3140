#!/usr/bin/env node
// Package checks for the built `eed` (run by `npm run test:package`, after `npm run build`).
//
// They test what a user installs, not the source:
//   1. publint --strict                      the package.json and files are publishable
//   2. attw --pack                           types resolve for node10, node16 (ESM + CJS), bundler
//   3. a scratch consumer                    installs the tarball from `npm pack` and imports
//                                            every entry by name, with `import` and `require`
//   4. the browser stub of 'eed/node'        same export names as the Node entry, all throw
//   5. types under the "browser" condition   'eed/node' types come from the stub
//   6. esbuild, platform 'browser'           'eed' + 'eed/operators' and 'eed/node' bundle
//                                            with no `node:` specifier
// Each check prints one PASS or FAIL line (details indented below a FAIL); the script exits
// non-zero if any failed. Nothing touches the network: the consumer gets its
// dependencies as symlinks into this repository's node_modules.
//
// Set EED_KEEP_SCRATCH=1 to keep the scratch directory (it is always kept on failure), and
// EED_DEBUG=1 to print stacks with failures.

import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// The names each entry must export, from DESIGN.md's public API. They grow as the API
// lands: add a name here in the change that exports it. The check is "every expected name
// is exported", so exporting more never breaks it.
const EXPECTED_EXPORTS = {
  eed: [
    'createExecutor',
    'AbortError',
    'PreemptedError',
    'TaskControl',
    'PRIORITIES',
    'isSyncCacheStore',
    'createEngine',
    'MemoryStore',
    'TieredCache',
    'IndexedDbStore',
    'createBrowserCache',
    'MarkovPredictor',
    'markovPredictor',
    'MetricsAggregator',
    'BatchItemError',
    'BatchLengthError',
    'RemoteExecutionError',
  ],
  'eed/operators': ['parallelMap', 'dedupeMap', 'cacheMap', 'batchMap', 'prefetch'],
  'eed/node': [
    'FileSystemStore',
    'NodeCache',
    'createNodeCache',
    'RedisStore',
    'RedisTimeoutError',
    'RedisStoreClosedError',
    'redisCoordinator',
  ],
};

// Where each entry must resolve from a consumer, per condition (paths inside the package).
const RESOLVES_TO = {
  import: {
    eed: 'dist/index.js',
    'eed/operators': 'dist/operators/index.js',
    'eed/node': 'dist/node/index.js',
  },
  require: {
    eed: 'dist/index.cjs',
    'eed/operators': 'dist/operators/index.cjs',
    'eed/node': 'dist/node/index.cjs',
  },
  browserImport: { 'eed/node': 'dist/node/browser.js' },
  browserRequire: { 'eed/node': 'dist/node/browser.cjs' },
};

const ENTRIES = Object.keys(EXPECTED_EXPORTS);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const requireFromRoot = createRequire(join(root, 'package.json'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

// ---------------------------------------------------------------------------------------
// Reporting

const results = [];

function pass(name, note = '') {
  results.push(true);
  console.log(`PASS  ${name}${note ? `  (${note})` : ''}`);
}

function fail(name, details) {
  results.push(false);
  console.log(`FAIL  ${name}`);
  const text = Array.isArray(details) ? details.join('\n') : String(details);
  for (const line of text.trimEnd().split('\n')) console.log(`      ${line}`);
}

/** Runs `body`; a throw becomes a FAIL line instead of ending the script. */
async function check(name, body) {
  try {
    const outcome = await body();
    if (outcome === undefined || outcome === true) pass(name);
    else if (typeof outcome === 'string') pass(name, outcome);
    else fail(name, outcome.problems);
  } catch (error) {
    // A command's or esbuild's message says what went wrong; a stack would only say where
    // in this script. EED_DEBUG=1 shows it anyway.
    const stack = process.env.EED_DEBUG === '1' && error instanceof Error ? `\n${error.stack}` : '';
    fail(name, `${error instanceof Error ? error.message : String(error)}${stack}`);
  }
}

// ---------------------------------------------------------------------------------------
// Helpers

/** Runs a command without a shell; throws with its output when it exits non-zero. */
function run(command, args, options = {}) {
  const result = spawnSync(command, args, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    ...options,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
    throw new Error(`${[command, ...args].join(' ')} exited with ${result.status}\n${output}`);
  }
  return result.stdout;
}

/** The directory of an installed package, found the way Node looks up node_modules. */
function packageDir(name) {
  for (let dir = root; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', ...name.split('/'));
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`${name} is not installed (run npm ci)`);
  }
}

/** The path of a dev dependency's executable, run with this Node (no npx, no network). */
function binOf(packageName, binName) {
  const dir = packageDir(packageName);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin[binName];
  return join(dir, bin);
}

/** npm, as the running npm script found it (or from PATH when run directly). */
function npm(args, options) {
  const npmCli = process.env.npm_execpath;
  return npmCli && /npm-cli\.c?js$/.test(npmCli)
    ? run(process.execPath, [npmCli, ...args], options)
    : run('npm', args, options);
}

const difference = (a, b) => a.filter((name) => !b.includes(name));
const list = (names) => (names.length ? names.join(', ') : '(none)');

// ---------------------------------------------------------------------------------------
// 0. The build must exist

for (const conditionMap of Object.values(RESOLVES_TO)) {
  for (const file of Object.values(conditionMap)) {
    if (!existsSync(join(root, file))) {
      console.log(`FAIL  build output present: ${file} is missing; run \`npm run build\` first`);
      process.exit(1);
    }
  }
}

// ---------------------------------------------------------------------------------------
// 1, 2. publint and attw on the package as npm would pack it

await check('publint --strict', () => {
  run(process.execPath, [binOf('publint', 'publint'), '--strict']);
});

// No --ignore-rules: node10 resolution of the subpaths is served by "typesVersions".
await check('attw --pack', () => {
  run(process.execPath, [binOf('@arethetypeswrong/cli', 'attw'), '--pack', '.']);
});

// ---------------------------------------------------------------------------------------
// 3. A scratch consumer that installs the tarball

const scratch = mkdtempSync(join(tmpdir(), 'eed-package-'));
const consumer = join(scratch, 'consumer');
let installed = false;

await check('npm pack + install into a scratch consumer', () => {
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', scratch]));
  const tarball = join(scratch, packed[0].filename);

  // What `npm install <tarball>` does, minus the registry: unpack into node_modules/eed ...
  const target = join(consumer, 'node_modules', 'eed');
  mkdirSync(target, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
  // ... and link its dependencies and peers from this repository's node_modules.
  const manifest = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8'));
  const needed = [
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
  ];
  const optional = new Set(
    Object.entries(manifest.peerDependenciesMeta ?? {})
      .filter(([, meta]) => meta?.optional)
      .map(([name]) => name),
  );
  const missing = [];
  for (const name of needed) {
    let from;
    try {
      from = packageDir(name);
    } catch {
      if (!optional.has(name)) missing.push(name);
      continue;
    }
    const link = join(consumer, 'node_modules', ...name.split('/'));
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(from, link, 'junction');
  }
  if (missing.length) {
    return { problems: [`dependencies not installed in ${root}: ${list(missing)} (run npm ci)`] };
  }
  writeFileSync(
    join(consumer, 'package.json'),
    `${JSON.stringify({ name: 'eed-consumer', private: true, version: '0.0.0' }, null, 2)}\n`,
  );
  installed = true;
  return `${packed[0].filename}, ${packed[0].entryCount} files, ${(packed[0].size / 1024).toFixed(1)} kB`;
});

/**
 * A script that loads every entry in the consumer and prints, per entry, where it resolved,
 * its export names and, for the Node-only stub, what calling each export does.
 */
function probeSource(kind) {
  const load =
    kind === 'import'
      ? 'async (spec) => ({ file: fileURLToPath(import.meta.resolve(spec)), ns: await import(spec) })'
      : '(spec) => ({ file: require.resolve(spec), ns: require(spec) })';
  const header = kind === 'import' ? "import { fileURLToPath } from 'node:url';" : "'use strict';";
  return `${header}
const load = ${load};
const describe = (value) => {
  if (typeof value !== 'function') return { type: typeof value };
  const isClass = /^class\\b/.test(Function.prototype.toString.call(value));
  try {
    isClass ? new value() : value();
    return { type: 'function', isClass, threw: null };
  } catch (error) {
    return { type: 'function', isClass, threw: String(error && error.message) };
  }
};
(async () => {
  const report = {};
  for (const spec of ${JSON.stringify(ENTRIES)}) {
    const { file, ns } = await load(spec);
    const names = Object.keys(ns).filter((n) => n !== 'default' && n !== '__esModule').sort();
    const behaviour = process.env.EED_PROBE_CALL === spec
      ? Object.fromEntries(names.map((n) => [n, describe(ns[n])]))
      : undefined;
    report[spec] = { file, names, behaviour };
  }
  process.stdout.write(JSON.stringify(report));
})().catch((error) => { console.error(error); process.exit(1); });
`;
}

/** Runs the probe in the consumer with Node, under the given extra conditions. */
function probe(kind, { conditions = [], callExportsOf } = {}) {
  const file = join(consumer, kind === 'import' ? 'probe.mjs' : 'probe.cjs');
  writeFileSync(file, probeSource(kind));
  const args = [...conditions.map((c) => `--conditions=${c}`), file];
  const env = { ...process.env, EED_PROBE_CALL: callExportsOf ?? '' };
  return JSON.parse(run(process.execPath, args, { cwd: consumer, env }));
}

const inPackage = (file) =>
  relative(join(consumer, 'node_modules', 'eed'), file)
    .split(sep)
    .join('/');

const probes = {};

for (const kind of ['import', 'require']) {
  const label = kind === 'import' ? 'ESM import' : 'CJS require';
  await check(`${label} of ${ENTRIES.join(', ')} exposes the documented names`, () => {
    if (!installed) return { problems: ['skipped: the consumer was not installed'] };
    const report = probe(kind);
    probes[kind] = report;
    const problems = [];
    for (const spec of ENTRIES) {
      const { file, names } = report[spec];
      const want = RESOLVES_TO[kind][spec];
      if (inPackage(file) !== want) {
        problems.push(`${spec} resolved to ${inPackage(file)}, expected ${want}`);
      }
      const missing = difference(EXPECTED_EXPORTS[spec], names);
      if (missing.length) problems.push(`${spec} does not export: ${list(missing)}`);
    }
    if (problems.length) return { problems };
    return (
      'names exported: ' + ENTRIES.map((spec) => `${spec} ${report[spec].names.length}`).join(', ')
    );
  });
}

await check('ESM and CJS builds export the same names', () => {
  if (!probes.import || !probes.require) return { problems: ['skipped: an import probe failed'] };
  const problems = [];
  for (const spec of ENTRIES) {
    const esm = probes.import[spec].names;
    const cjs = probes.require[spec].names;
    const onlyEsm = difference(esm, cjs);
    const onlyCjs = difference(cjs, esm);
    if (onlyEsm.length) problems.push(`${spec}: only in ESM: ${list(onlyEsm)}`);
    if (onlyCjs.length) problems.push(`${spec}: only in CJS: ${list(onlyCjs)}`);
  }
  return problems.length ? { problems } : undefined;
});

// ---------------------------------------------------------------------------------------
// 4. The browser stub of 'eed/node', loaded through the exports map's "browser" condition

for (const kind of ['import', 'require']) {
  const label = kind === 'import' ? 'ESM' : 'CJS';
  await check(
    `'eed/node' under the browser condition (${label}) is the stub: same names, every export throws`,
    () => {
      if (!installed || !probes[kind]) return { problems: ['skipped: an earlier step failed'] };
      const stub = probe(kind, { conditions: ['browser'], callExportsOf: 'eed/node' })['eed/node'];
      const real = probes[kind]['eed/node'];
      const problems = [];
      const want = RESOLVES_TO[kind === 'import' ? 'browserImport' : 'browserRequire']['eed/node'];
      if (inPackage(stub.file) !== want) {
        problems.push(`resolved to ${inPackage(stub.file)}, expected ${want}`);
      }
      const missing = difference(real.names, stub.names);
      const extra = difference(stub.names, real.names);
      if (missing.length || extra.length) {
        problems.push(
          'src/node/browser.ts must export exactly the names src/node/index.ts exports',
          `  missing from the stub: ${list(missing)}`,
          `  only in the stub:      ${list(extra)}`,
        );
      }
      for (const [name, behaviour] of Object.entries(stub.behaviour)) {
        if (behaviour.type !== 'function') {
          problems.push(
            `${name} is a ${behaviour.type}; every stub export must be a function or class that throws`,
          );
        } else if (behaviour.threw === null || !/Node-only/.test(behaviour.threw)) {
          const how = behaviour.isClass ? `new ${name}()` : `${name}()`;
          problems.push(
            `${how} must throw an Error saying the module is Node-only; got: ${behaviour.threw ?? 'no throw'}`,
          );
        }
      }
      return problems.length ? { problems } : `names: ${list(stub.names)}`;
    },
  );
}

// ---------------------------------------------------------------------------------------
// 5. Types under the "browser" condition come from the stub's declarations

await check("types of 'eed/node' under the browser condition come from the stub", () => {
  if (!installed) return { problems: ['skipped: the consumer was not installed'] };
  writeFileSync(
    join(consumer, 'types-browser.ts'),
    "import * as eed from 'eed';\nimport * as operators from 'eed/operators';\nimport * as node from 'eed/node';\nexport const all = [eed, operators, node];\n",
  );
  // How a TypeScript user bundling for the browser resolves the package. attw checks the
  // declarations themselves; this only asks which files the imports land on.
  writeFileSync(
    join(consumer, 'tsconfig.browser.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'ESNext',
        moduleResolution: 'Bundler',
        customConditions: ['browser'],
        lib: ['ES2022', 'DOM'],
        types: [],
        noEmit: true,
      },
      files: ['types-browser.ts'],
    }),
  );
  const tsc = binOf('typescript', 'tsc');
  const files = run(process.execPath, [tsc, '-p', 'tsconfig.browser.json', '--listFilesOnly'], {
    cwd: consumer,
  })
    .split('\n')
    .map((line) => line.trim().split(sep).join('/'))
    .filter((line) => line.includes('node_modules/eed/'))
    .map((line) => line.replace(/^.*node_modules\/eed\//, ''));
  const problems = [];
  for (const want of ['dist/index.d.ts', 'dist/operators/index.d.ts', 'dist/node/browser.d.ts']) {
    if (!files.includes(want)) problems.push(`${want} not used; eed files: ${list(files)}`);
  }
  if (files.includes('dist/node/index.d.ts')) {
    problems.push('dist/node/index.d.ts used under the browser condition');
  }
  return problems.length ? { problems } : undefined;
});

// ---------------------------------------------------------------------------------------
// 6. Browser bundles with esbuild, resolved through the consumer's node_modules

const esbuild = requireFromRoot('esbuild');
const NODE_SPECIFIER = /["'`]node:[\w/]*/g;

/** Bundles `source` for the browser from the consumer; returns inputs and output text. */
async function bundleForBrowser(source) {
  const result = await esbuild.build({
    stdin: { contents: source, resolveDir: consumer, sourcefile: 'entry.mjs', loader: 'js' },
    absWorkingDir: consumer,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs).map((input) => input.split(sep).join('/'));
  const text = result.outputFiles.map((file) => file.text).join('\n');
  return { inputs, text, bytes: text.length };
}

const eedInputs = (inputs) =>
  inputs
    .filter((input) => input.includes('node_modules/eed/'))
    .map((input) => input.replace(/^.*node_modules\/eed\//, ''));

await check(
  "esbuild --platform=browser bundles 'eed' + 'eed/operators' with no node: specifier",
  async () => {
    if (!installed) return { problems: ['skipped: the consumer was not installed'] };
    // Namespaces kept alive, so tree shaking cannot hide an import.
    const { inputs, text, bytes } = await bundleForBrowser(
      "import * as eed from 'eed';\nimport * as operators from 'eed/operators';\nglobalThis.keep = [eed, operators];\n",
    );
    const problems = [];
    const fromEed = eedInputs(inputs);
    for (const file of [RESOLVES_TO.import.eed, RESOLVES_TO.import['eed/operators']]) {
      if (!fromEed.includes(file))
        problems.push(`${file} not in the bundle; eed inputs: ${list(fromEed)}`);
    }
    if (fromEed.some((file) => file.startsWith('dist/node/')))
      problems.push(`the bundle contains eed/node files: ${list(fromEed)}`);
    const found = [...new Set(text.match(NODE_SPECIFIER) ?? [])];
    if (found.length) problems.push(`node: specifiers in the bundle: ${list(found)}`);
    return problems.length
      ? { problems }
      : `${(bytes / 1024).toFixed(1)} kB, ${inputs.length} inputs`;
  },
);

await check(
  "esbuild --platform=browser resolves 'eed/node' to the stub, with no node: specifier",
  async () => {
    if (!installed) return { problems: ['skipped: the consumer was not installed'] };
    const { inputs, text } = await bundleForBrowser(
      "import * as node from 'eed/node';\nglobalThis.keep = node;\n",
    );
    const problems = [];
    const fromEed = eedInputs(inputs);
    if (!fromEed.includes(RESOLVES_TO.browserImport['eed/node'])) {
      problems.push(
        `not resolved to ${RESOLVES_TO.browserImport['eed/node']}; eed inputs: ${list(fromEed)}`,
      );
    }
    if (fromEed.includes(RESOLVES_TO.import['eed/node']))
      problems.push('the Node entry is in the browser bundle');
    const found = [...new Set(text.match(NODE_SPECIFIER) ?? [])];
    if (found.length) problems.push(`node: specifiers in the bundle: ${list(found)}`);
    return problems.length ? { problems } : undefined;
  },
);

// ---------------------------------------------------------------------------------------

const failed = results.filter((ok) => !ok).length;
if (failed === 0 && process.env.EED_KEEP_SCRATCH !== '1') {
  rmSync(scratch, { recursive: true, force: true });
} else {
  console.log(`      scratch consumer kept in ${scratch}`);
}
console.log(
  failed === 0
    ? `PASS  package checks: all ${results.length} passed (${pkg.name}@${pkg.version})`
    : `FAIL  package checks: ${failed} of ${results.length} failed`,
);
process.exit(failed === 0 ? 0 : 1);
