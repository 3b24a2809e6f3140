/**
 * How the Node stores turn a cache entry into bytes and back: the values serialized with
 * `node:v8` (the structured-clone value set), gzip-compressed above a threshold, framed in
 * the versioned, checksummed record of `../cache/codec.ts`. `FileSystemStore` writes these
 * records to files and `RedisStore` to Redis strings, so both hold byte-identical entries.
 *
 * @module
 */
import { deserialize, serialize } from 'node:v8';
import * as zlib from 'node:zlib';
// The error classes come from 'eed' by name, so that `instanceof` works across the two
// entries once the Node build keeps 'eed' external (see createNodeCache.ts).
import { CorruptEntryError, UnserializableValueError } from 'eed';
import {
  type Checksum,
  compressBytes,
  crc32,
  decompressBytes,
  encodeRecord,
  type RecordHeader,
} from '../cache/codec.js';
import type { CacheEntry } from '../cache/types.js';

/** Node's native CRC-32 (Node >= 20.15), else the portable one. */
export const checksum: Checksum =
  typeof (zlib as { crc32?: Checksum }).crc32 === 'function'
    ? (zlib as { crc32: Checksum }).crc32
    : crc32;

/**
 * The entry's values serialized with `node:v8`.
 *
 * @throws {@link UnserializableValueError} naming `key` for a value `node:v8` cannot
 *   serialize (a function, a symbol, a socket...).
 */
export function serializeValues(key: string, values: readonly unknown[]): Uint8Array {
  try {
    return serialize(values);
  } catch (error) {
    throw new UnserializableValueError(key, error);
  }
}

/**
 * One entry as a record: `raw` (from {@link serializeValues}) gzip-compressed when longer
 * than `compressThreshold` bytes and smaller compressed, behind the record header.
 */
export async function encodeEntry(
  key: string,
  entry: CacheEntry,
  raw: Uint8Array,
  compressThreshold: number,
): Promise<Uint8Array> {
  let payload = raw;
  let compressed = false;
  if (raw.length > compressThreshold) {
    const packed = await compressBytes(raw);
    if (packed.length < raw.length) {
      payload = packed;
      compressed = true;
    }
  }
  return encodeRecord(
    {
      key,
      storedAt: entry.storedAt,
      expiresAt: entry.expiresAt,
      cost: entry.cost,
      size: entry.size,
      rawLength: raw.length,
      compressed,
    },
    payload,
    checksum,
  );
}

/**
 * Decompresses (when flagged) and deserializes a record's payload.
 *
 * @throws {@link CorruptEntryError} (`'undecodable'`) when that fails or does not give an
 *   array of values.
 */
export async function decodeValues(header: RecordHeader, payload: Uint8Array): Promise<unknown[]> {
  let raw = payload;
  if (header.compressed) {
    try {
      raw = await decompressBytes(payload, header.rawLength);
    } catch (error) {
      throw new CorruptEntryError('undecodable', `gunzip failed: ${describeError(error)}`, {
        cause: error,
      });
    }
  }
  if (raw.length !== header.rawLength) {
    throw new CorruptEntryError(
      'undecodable',
      `${raw.length} bytes of values; the header announces ${header.rawLength}`,
    );
  }
  let values: unknown;
  try {
    values = deserialize(raw);
  } catch (error) {
    throw new CorruptEntryError('undecodable', `v8 deserialize failed: ${describeError(error)}`, {
      cause: error,
    });
  }
  if (!Array.isArray(values)) {
    throw new CorruptEntryError('undecodable', 'the payload is not an array of values');
  }
  return values;
}

/**
 * Whether `error` is a {@link CorruptEntryError}, by name: the codec may be bundled apart
 * from the class this module imports from 'eed'.
 */
export function isCorrupt(error: unknown): error is CorruptEntryError {
  return error instanceof Error && error.name === 'CorruptEntryError' && 'reason' in error;
}

/** An error's message, or the thrown value as a string. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
