import type { Dirent } from 'node:fs';
import { readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile, hashOfHashes } from './hash.js';
import { describeError, type Problem } from './problems.js';

/** What hashing one package's files found: the value the engine caches per package. */
export interface PackageDigest {
  files: number;
  bytes: number;
  /** SHA-256 over the files' relative paths and SHA-256s. */
  sha256: string;
}

/**
 * Some files of a package could not be read. It carries the digest of the rest, so the
 * report can still count them; being an error, it is never cached, and the next run
 * tries again (and reports again).
 */
export class PartialDigestError extends Error {
  override readonly name = 'PartialDigestError';
  constructor(
    readonly digest: PackageDigest,
    readonly problems: Problem[],
  ) {
    super(`${problems.length} file(s) could not be read`);
  }
}

/**
 * Hashes every file of the package in `dir` (its own `node_modules` excluded: those are
 * other packages), one file after another: the package holds one executor slot, so the
 * executor's cap is the cap on open files. Symlinks to files are followed, symlinks to
 * directories are not. Rejects with {@link PartialDigestError} when some file could not
 * be read, and with an `AbortError` when `signal` aborts.
 */
export async function digestPackage(dir: string, signal: AbortSignal): Promise<PackageDigest> {
  const problems: Problem[] = [];
  const hashes: { rel: string; sha256: string }[] = [];
  let bytes = 0;
  const visit = async (path: string, rel: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch (error) {
      problems.push({ path, message: describeError(error) });
      return;
    }
    for (const entry of entries) {
      signal.throwIfAborted();
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const child = join(path, entry.name);
      if (entry.isDirectory()) {
        if (rel !== '' || entry.name !== 'node_modules') await visit(child, childRel);
        continue;
      }
      if (!entry.isFile() && !(entry.isSymbolicLink() && (await isFileLink(child, problems)))) {
        continue;
      }
      try {
        const { size, sha256 } = await hashFile(child, signal);
        bytes += size;
        hashes.push({ rel: childRel, sha256 });
      } catch (error) {
        signal.throwIfAborted();
        problems.push({ path: child, message: describeError(error) });
      }
    }
  };
  await visit(dir, '');
  const digest = { files: hashes.length, bytes, sha256: hashOfHashes(hashes) };
  if (problems.length > 0) throw new PartialDigestError(digest, problems);
  return digest;
}

/** Whether a symlink leads to a file; a dangling one is a problem. */
async function isFileLink(path: string, problems: Problem[]): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    const dangling = (error as NodeJS.ErrnoException).code === 'ENOENT';
    const target = dangling ? await readlink(path).catch(() => '?') : '';
    problems.push({
      path,
      message: dangling ? `dangling symlink to ${target}` : describeError(error),
    });
    return false;
  }
}
