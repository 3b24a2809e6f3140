import type { Engine } from 'eed';
import { catchError, from, map, mergeMap, type Observable, of, throwError } from 'rxjs';
import { digestPackage, type PackageDigest, PartialDigestError } from './digest.js';
import type { Manifest } from './manifest.js';
import type { PackageRequest } from './plan.js';
import type { Problem } from './problems.js';

/** The answer to one request: the package's digest, and what could not be read. */
export interface Analysed {
  pkg: Manifest;
  digest: PackageDigest;
  problems: Problem[];
}

/**
 * The engine key of a package's digest: its real path and its cheap fingerprint, so a
 * reinstalled package gets a new key and an unchanged one is served from the cache.
 */
export const keyOf = (pkg: Manifest): string => `pkg:${pkg.realpath}:${pkg.fingerprint}`;

/**
 * Makes every request at once through `engine.run`: a key asked for while its digest is
 * being computed joins that execution, and one asked for later is served from the cache,
 * so each package is hashed once however many dependents ask for it. The executor runs
 * the critical lane first and caps how many packages are hashed at a time. A package
 * with unreadable files still answers (with what could be read, and its problems).
 */
export function analyse(engine: Engine, requests: PackageRequest[]): Observable<Analysed> {
  return from(requests).pipe(
    mergeMap(({ pkg, priority }) =>
      engine
        .run(keyOf(pkg), (signal) => digestPackage(pkg.realpath, signal), {
          priority,
          label: `${pkg.name}@${pkg.version}`,
        })
        .pipe(
          map((digest): Analysed => ({ pkg, digest, problems: [] })),
          catchError((error: unknown) =>
            error instanceof PartialDigestError
              ? of({ pkg, digest: error.digest, problems: error.problems })
              : throwError(() => error),
          ),
        ),
    ),
  );
}
