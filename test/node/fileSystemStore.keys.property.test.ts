import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FileSystemStore } from 'eed/node';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { entryOf, tempDirs } from './helpers.js';

const temp = tempDirs();
afterAll(temp.removeAll);

/** Keys as a hostile caller might make them: paths, separators, NUL, any UTF-16 unit. */
const key = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom('.', '/', '\\', '\0', ':', 'a', '\uD800', '\uDC00'),
    maxLength: 12,
  }),
  fc.constantFrom('', '.', '..', '../..', '/', 'CON', 'nul', 'a/../../b'),
);

describe('FileSystemStore keys (fast-check)', () => {
  it('stores every key as one hashed file inside its directory, distinct, and reads it back after a restart', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(key, { minLength: 1, maxLength: 12 }), async (keys) => {
        const root = temp.make();
        const dir = join(root, 'cache');
        const store = new FileSystemStore({ dir });
        for (const [index, k] of keys.entries()) await store.set(k, entryOf([index]));
        // Nothing escapes the directory, and every key has a file of its own.
        expect(readdirSync(root)).toEqual(['cache']);
        const names = readdirSync(dir);
        expect(names).toHaveLength(keys.length);
        for (const name of names) expect(name).toMatch(/^[0-9a-f]{64}$/);
        const reopened = new FileSystemStore({ dir });
        for (const [index, k] of keys.entries()) {
          expect((await store.get(k))?.values).toEqual([index]);
          expect((await reopened.get(k))?.values).toEqual([index]);
        }
        expect((await reopened.keys()).sort()).toEqual([...keys].sort());
      }),
      { numRuns: 40 },
    );
  });
});
