#!/usr/bin/env node
// `npm run lint`: Biome (biome.json) over the folders that hold code. Only the ones that
// exist are passed, because Biome fails on a missing path and examples/ and bench/ arrive
// with later issues. Extra arguments go to Biome: `npm run lint -- --write`.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const FOLDERS = ['src', 'operators', 'test', 'examples', 'bench', 'scripts'];

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const biome = join(
  dirname(createRequire(join(root, 'package.json')).resolve('@biomejs/biome/package.json')),
  'bin',
  'biome',
);
const folders = FOLDERS.filter((folder) => existsSync(join(root, folder)));
const result = spawnSync(process.execPath, [biome, 'check', ...folders, ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
if (result.error) throw result.error;
process.exit(result.status ?? 1);
