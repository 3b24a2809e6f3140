import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Size and SHA-256 of one file. */
export interface FileHash {
  size: number;
  sha256: string;
}

/**
 * Streams a file through SHA-256. When `signal` aborts, the stream is destroyed and the
 * promise rejects with an `AbortError`.
 */
export async function hashFile(path: string, signal: AbortSignal): Promise<FileHash> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { signal }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest('hex') };
}

/** SHA-256 over named hashes (`rel` -> `sha256`), in name order: a fingerprint of a set. */
export function hashOfHashes(items: { rel: string; sha256: string }[]): string {
  const hash = createHash('sha256');
  for (const item of [...items].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0))) {
    hash.update(`${item.rel}\0${item.sha256}\n`);
  }
  return hash.digest('hex');
}
