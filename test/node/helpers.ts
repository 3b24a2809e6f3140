import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CacheEntry } from 'eed';

/**
 * A fresh temporary directory per call, and a function removing all of them.
 *
 * @example
 * ```ts
 * const temp = tempDirs();
 * afterAll(temp.removeAll);
 * const dir = temp.make();
 * ```
 */
export function tempDirs(): { make(): string; removeAll(): void } {
  const made: string[] = [];
  return {
    make() {
      const dir = mkdtempSync(join(tmpdir(), 'eed-fs-'));
      made.push(dir);
      return dir;
    },
    removeAll() {
      for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * An entry written at `now`, valid for `ttl` ms.
 *
 * @example
 * ```ts
 * await store.set('k', entryOf(['v'], { now: clock.now(), ttl: 1_000 }));
 * ```
 */
export function entryOf(
  values: readonly unknown[],
  options: { now?: number; ttl?: number; cost?: number; size?: number } = {},
): CacheEntry {
  const storedAt = options.now ?? Date.now();
  return {
    values,
    storedAt,
    expiresAt: storedAt + (options.ttl ?? Number.POSITIVE_INFINITY),
    cost: options.cost ?? 10,
    size: options.size ?? 0,
  };
}
