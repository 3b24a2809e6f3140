import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

/** Every `.ts` file under `dir`, as paths relative to the repository root. */
function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

/** The module specifiers a file imports or re-exports (comments and examples left out). */
function importsOf(file: string): string[] {
  const code = readFileSync(join(root, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const specifiers: string[] = [];
  for (const match of code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gm)) {
    specifiers.push(match[1] as string);
  }
  for (const match of code.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) {
    specifiers.push(match[1] as string);
  }
  return specifiers;
}

describe('layout (DESIGN.md)', () => {
  it('finds the imports of a file, and none in its comments', () => {
    expect(importsOf('operators/someMap.ts')).toEqual([
      'rxjs',
      '../src/shortCircuit/shortCircuitInternals.js',
      '../src/shortCircuit/types.js',
    ]);
  });

  it('operators import only from src/ (and packages), never from each other or themselves', () => {
    const wrong = sources('operators')
      .filter((file) => file !== 'operators/index.ts')
      .flatMap((file) =>
        importsOf(file)
          .filter((specifier) => specifier.startsWith('.') && !specifier.startsWith('../src/'))
          .map((specifier) => `${file} -> ${specifier}`),
      );
    expect(wrong).toEqual([]);
  });

  it('the engine (src/) never imports an operator, nor (outside src/node/) its own package', () => {
    // src/node/ imports 'eed' by name on purpose: 'eed' stays external in the Node build, so
    // its error classes are the main entry's and `instanceof` works across the two.
    const wrong = sources('src').flatMap((file) =>
      importsOf(file)
        .filter(
          (specifier) =>
            /(^|\/)operators(\/|$)/.test(specifier) ||
            (specifier === 'eed' && !file.startsWith('src/node/')),
        )
        .map((specifier) => `${file} -> ${specifier}`),
    );
    expect(wrong).toEqual([]);
  });

  it('only src/node/ imports node: modules', () => {
    const wrong = [...sources('src'), ...sources('operators')]
      .filter((file) => !file.startsWith('src/node/'))
      .flatMap((file) =>
        importsOf(file)
          .filter((specifier) => specifier.startsWith('node:'))
          .map((specifier) => `${file} -> ${specifier}`),
      );
    expect(wrong).toEqual([]);
  });
});
