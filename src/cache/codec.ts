/**
 * Bytes helpers shared by the persistent cache stores, in both runtimes: gzip through the
 * standard `CompressionStream`/`DecompressionStream` (Node >= 18 and every current
 * browser), a CRC-32, and the versioned binary record an entry is stored as. Nothing here
 * imports `node:*`.
 *
 * @module
 */
import { CorruptEntryError } from '../errors.js';
import { assertCount } from '../executor/validate.js';

/** A streaming transform from bytes to bytes (`CompressionStream`, `DecompressionStream`). */
interface ByteTransform {
  readonly writable: WritableStream<BufferSource>;
  readonly readable: ReadableStream<Uint8Array>;
}

/** Joins byte chunks into one array. */
function concatBytes(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Feeds `bytes` through `transform` and collects what comes out (at most `limit` bytes). */
async function pipeBytes(
  bytes: Uint8Array,
  transform: ByteTransform,
  limit: number,
): Promise<Uint8Array> {
  const writer = transform.writable.getWriter();
  const reader = transform.readable.getReader();
  // Write and read at once: a transform only takes more input once its output is read.
  const written = writer.write(bytes as Uint8Array<ArrayBuffer>).then(() => writer.close());
  // A failure shows on both sides; it is reported from the reading side.
  written.catch(() => {});
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        throw new RangeError(`the output exceeds the limit of ${limit} bytes`);
      }
      chunks.push(value);
    }
  } catch (error) {
    reader.cancel(error).catch(() => {});
    writer.abort(error).catch(() => {});
    throw error;
  }
  await written;
  return concatBytes(chunks, total);
}

/**
 * Compresses `bytes` with gzip, using the standard `CompressionStream` (so the same code
 * runs in Node 20 and browsers). The result is an ordinary gzip member: `gunzip` and
 * {@link decompressBytes} read it.
 *
 * @param bytes - the bytes to compress (not modified).
 * @returns the gzip-compressed bytes.
 *
 * @example
 * ```ts
 * import { compressBytes, decompressBytes } from 'eed';
 *
 * const text = new TextEncoder().encode(JSON.stringify(rows));
 * const packed = await compressBytes(text);
 * const same = await decompressBytes(packed); // equal to `text`
 * ```
 */
export function compressBytes(bytes: Uint8Array): Promise<Uint8Array> {
  return pipeBytes(bytes, new CompressionStream('gzip'), Number.POSITIVE_INFINITY);
}

/**
 * Decompresses gzip `bytes` (as written by {@link compressBytes} or any gzip tool) with the
 * standard `DecompressionStream`.
 *
 * @param bytes - gzip-compressed bytes.
 * @param maxBytes - the most bytes the output may have, an integer >= 0 or `Infinity`;
 *   more rejects with a `RangeError` (a guard against decompression bombs). Default
 *   `Infinity`.
 * @returns the decompressed bytes.
 * @throws (rejects) `TypeError` for bytes that are not valid gzip, or a truncated stream;
 *   `RangeError` when the output would exceed `maxBytes`, and, before reading anything,
 *   for a `maxBytes` that is not an integer >= 0 or `Infinity` (`NaN`, negative, a
 *   fraction, not a number), naming it and the value received.
 *
 * @example
 * ```ts
 * import { decompressBytes } from 'eed';
 *
 * const bytes = await decompressBytes(packed, 64 * 1024 * 1024);
 * const rows = JSON.parse(new TextDecoder().decode(bytes));
 * ```
 */
export function decompressBytes(
  bytes: Uint8Array,
  maxBytes: number = Number.POSITIVE_INFINITY,
): Promise<Uint8Array> {
  try {
    // NaN would never compare greater than the output's size: no guard at all.
    assertCount('maxBytes', maxBytes, 0);
  } catch (error) {
    return Promise.reject(error);
  }
  return pipeBytes(bytes, new DecompressionStream('gzip'), maxBytes);
}

/** The CRC-32 (IEEE 802.3) lookup table, built on first use. */
let crcTable: Uint32Array | undefined;

function makeCrcTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/**
 * The CRC-32 (IEEE, as in gzip and zip) of `bytes`, continuing from `crc` (the CRC of the
 * bytes before them; default 0), in plain JavaScript. Same results as Node's `zlib.crc32`.
 *
 * @example
 * ```ts
 * crc32(new TextEncoder().encode('hello')); // 0x3610a686
 * crc32(tail, crc32(head)) === crc32(whole); // true
 * ```
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  crcTable ??= makeCrcTable();
  const table = crcTable;
  let c = ~crc;
  for (let i = 0; i < bytes.length; i++) {
    c = (table[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  }
  return ~c >>> 0;
}

/**
 * A CRC-32 function: `(bytes, previous) => crc`, like {@link crc32} or Node's `zlib.crc32`.
 *
 * @example
 * ```ts
 * const checksum: Checksum = crc32;
 * ```
 */
export type Checksum = (bytes: Uint8Array, previous?: number) => number;

/**
 * The key as UTF-16 code units, little-endian. Unlike UTF-8 this keeps lone surrogates, so
 * two different strings never encode alike.
 *
 * @example
 * ```ts
 * encodeKey('ab'); // Uint8Array [0x61, 0, 0x62, 0]
 * ```
 */
export function encodeKey(key: string): Uint8Array {
  const bytes = new Uint8Array(key.length * 2);
  for (let i = 0; i < key.length; i++) {
    const unit = key.charCodeAt(i);
    bytes[2 * i] = unit & 0xff;
    bytes[2 * i + 1] = unit >>> 8;
  }
  return bytes;
}

/**
 * The inverse of {@link encodeKey}.
 *
 * @throws CorruptEntryError (`'garbage'`) for an odd number of bytes.
 *
 * @example
 * ```ts
 * decodeKey(encodeKey('k\0ey')) === 'k\0ey'; // true
 * ```
 */
export function decodeKey(bytes: Uint8Array): string {
  if (bytes.length % 2 !== 0) {
    throw new CorruptEntryError('garbage', `a key of ${bytes.length} bytes (odd, not UTF-16)`);
  }
  const units = bytes.length / 2;
  let key = '';
  const chunk = 4096;
  for (let start = 0; start < units; start += chunk) {
    const end = Math.min(units, start + chunk);
    const codes = new Array<number>(end - start);
    for (let i = start; i < end; i++) {
      codes[i - start] = (bytes[2 * i] as number) | ((bytes[2 * i + 1] as number) << 8);
    }
    key += String.fromCharCode(...codes);
  }
  return key;
}

/** The four bytes every record starts with: `EEDC` ("eed cache"). */
export const RECORD_MAGIC: readonly number[] = [0x45, 0x45, 0x44, 0x43];
/** The version of the record layout this code writes and reads. */
export const RECORD_FORMAT_VERSION = 1;
/** Bytes of a record's fixed header (the key and the payload follow it). */
export const RECORD_HEADER_BYTES = 56;
/** Header flag: the payload is gzip-compressed. */
export const RECORD_FLAG_GZIP = 1;

/** Byte offsets of the header fields (all little-endian). */
const AT = {
  version: 4, // u16
  flags: 6, // u16
  storedAt: 8, // f64
  expiresAt: 16, // f64
  cost: 24, // f64
  size: 32, // f64
  keyBytes: 40, // u32
  rawLength: 44, // u32: payload bytes before compression
  payloadLength: 48, // u32: payload bytes as stored
  checksum: 52, // u32: CRC-32 of every byte but these four
} as const;

/**
 * What a record's header says about its entry.
 *
 * @example
 * ```ts
 * const header: RecordHeader = decodeRecordHeader(firstBytes);
 * const fileLength = recordLength(header);
 * ```
 */
export interface RecordHeader {
  /** The layout version ({@link RECORD_FORMAT_VERSION}). */
  readonly version: number;
  /** Whether the payload is gzip-compressed. */
  readonly compressed: boolean;
  /** The entry's `storedAt` (wall-clock ms). */
  readonly storedAt: number;
  /** The entry's `expiresAt` (wall-clock ms; `Infinity` never expires). */
  readonly expiresAt: number;
  /** The entry's `cost` (ms of work). */
  readonly cost: number;
  /** The entry's `size` as the writer gave it (its in-memory estimate; 0 when unmeasured). */
  readonly size: number;
  /** Bytes of the key (UTF-16LE) after the header. */
  readonly keyBytes: number;
  /** Bytes of the serialized values before compression. */
  readonly rawLength: number;
  /** Bytes of the payload as stored (after the key). */
  readonly payloadLength: number;
  /** CRC-32 of the whole record except the checksum field. */
  readonly checksum: number;
}

/**
 * The entry fields a record stores besides its payload.
 *
 * @example
 * ```ts
 * const fields: RecordFields = { key: 'k', storedAt, expiresAt, cost: 40, size: 0, rawLength: 120, compressed: false };
 * ```
 */
export interface RecordFields {
  readonly key: string;
  readonly storedAt: number;
  readonly expiresAt: number;
  readonly cost: number;
  readonly size: number;
  /** Bytes of the serialized values before compression. */
  readonly rawLength: number;
  /** Whether `payload` is gzip-compressed. */
  readonly compressed: boolean;
}

const U32_MAX = 0xffff_ffff;

/**
 * One entry as bytes, ready to be written in one piece:
 *
 * ```
 * offset  bytes  field
 *      0      4  magic "EEDC"
 *      4      2  format version (1)
 *      6      2  flags (bit 0: payload gzip-compressed)
 *      8      8  storedAt   (f64)
 *     16      8  expiresAt  (f64; Infinity never expires)
 *     24      8  cost       (f64, ms)
 *     32      8  size       (f64, the writer's in-memory estimate)
 *     40      4  key bytes  (u32)
 *     44      4  raw length (u32, serialized values before compression)
 *     48      4  payload length (u32, as stored)
 *     52      4  CRC-32 of every other byte of the record
 *     56      …  key (UTF-16LE), then payload
 * ```
 *
 * All numbers are little-endian.
 *
 * @throws RangeError when the key or payload is 4 GiB or more.
 *
 * @example
 * ```ts
 * const bytes = encodeRecord({ key, storedAt, expiresAt, cost, size: 0, rawLength: raw.length, compressed: false }, raw);
 * ```
 */
export function encodeRecord(
  fields: RecordFields,
  payload: Uint8Array,
  checksum: Checksum = crc32,
): Uint8Array {
  const key = encodeKey(fields.key);
  if (key.length > U32_MAX || payload.length > U32_MAX || fields.rawLength > U32_MAX) {
    throw new RangeError('a cache record holds at most 4 GiB of key and of payload');
  }
  const bytes = new Uint8Array(RECORD_HEADER_BYTES + key.length + payload.length);
  bytes.set(RECORD_MAGIC, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint16(AT.version, RECORD_FORMAT_VERSION, true);
  view.setUint16(AT.flags, fields.compressed ? RECORD_FLAG_GZIP : 0, true);
  view.setFloat64(AT.storedAt, fields.storedAt, true);
  view.setFloat64(AT.expiresAt, fields.expiresAt, true);
  view.setFloat64(AT.cost, fields.cost, true);
  view.setFloat64(AT.size, fields.size, true);
  view.setUint32(AT.keyBytes, key.length, true);
  view.setUint32(AT.rawLength, fields.rawLength, true);
  view.setUint32(AT.payloadLength, payload.length, true);
  bytes.set(key, RECORD_HEADER_BYTES);
  bytes.set(payload, RECORD_HEADER_BYTES + key.length);
  view.setUint32(AT.checksum, recordChecksum(bytes, checksum), true);
  return bytes;
}

/** The CRC-32 of a record's bytes, skipping the checksum field itself. */
function recordChecksum(bytes: Uint8Array, checksum: Checksum): number {
  const head = checksum(bytes.subarray(0, AT.checksum));
  return checksum(bytes.subarray(RECORD_HEADER_BYTES), head) >>> 0;
}

/**
 * Reads a record's fixed header from its first {@link RECORD_HEADER_BYTES} bytes (more may
 * follow; they are ignored).
 *
 * @throws CorruptEntryError: `'truncated'` for fewer bytes than a header, `'garbage'` for
 *   bytes that do not start with the magic, `'other-version'` for another format version.
 *
 * @example
 * ```ts
 * const header = decodeRecordHeader(first56Bytes);
 * if (header.expiresAt <= Date.now()) console.log('expired');
 * ```
 */
export function decodeRecordHeader(bytes: Uint8Array): RecordHeader {
  if (bytes.length < RECORD_HEADER_BYTES) {
    // Tell garbage apart from a cut-off record when the magic is already wrong.
    if (bytes.length === 0 || !hasMagic(bytes)) {
      throw new CorruptEntryError(
        bytes.length === 0 ? 'truncated' : 'garbage',
        bytes.length === 0 ? 'an empty file' : 'not an eed cache record (no magic bytes)',
      );
    }
    throw new CorruptEntryError(
      'truncated',
      `${bytes.length} bytes, fewer than the ${RECORD_HEADER_BYTES}-byte header`,
    );
  }
  if (!hasMagic(bytes)) {
    throw new CorruptEntryError('garbage', 'not an eed cache record (no magic bytes)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, RECORD_HEADER_BYTES);
  const version = view.getUint16(AT.version, true);
  if (version !== RECORD_FORMAT_VERSION) {
    throw new CorruptEntryError(
      'other-version',
      `format version ${version}; this version of eed reads version ${RECORD_FORMAT_VERSION}`,
    );
  }
  const flags = view.getUint16(AT.flags, true);
  return {
    version,
    compressed: (flags & RECORD_FLAG_GZIP) !== 0,
    storedAt: view.getFloat64(AT.storedAt, true),
    expiresAt: view.getFloat64(AT.expiresAt, true),
    cost: view.getFloat64(AT.cost, true),
    size: view.getFloat64(AT.size, true),
    keyBytes: view.getUint32(AT.keyBytes, true),
    rawLength: view.getUint32(AT.rawLength, true),
    payloadLength: view.getUint32(AT.payloadLength, true),
    checksum: view.getUint32(AT.checksum, true),
  };
}

/**
 * The total bytes of the record `header` describes (header + key + payload).
 *
 * @example
 * ```ts
 * if (fileSize < recordLength(header)) console.log('truncated');
 * ```
 */
export function recordLength(header: RecordHeader): number {
  return RECORD_HEADER_BYTES + header.keyBytes + header.payloadLength;
}

/**
 * Checks that a record of `actual` bytes is as long as its header says.
 *
 * @throws CorruptEntryError: `'truncated'` when shorter, `'garbage'` when longer.
 *
 * @example
 * ```ts
 * checkRecordLength(header, (await handle.stat()).size);
 * ```
 */
export function checkRecordLength(header: RecordHeader, actual: number): void {
  const expected = recordLength(header);
  if (actual < expected) {
    throw new CorruptEntryError('truncated', `${actual} bytes; the header announces ${expected}`);
  }
  if (actual > expected) {
    throw new CorruptEntryError(
      'garbage',
      `${actual} bytes; the header announces ${expected} (trailing bytes)`,
    );
  }
}

/**
 * A whole record, checked: header, length and checksum.
 *
 * @example
 * ```ts
 * const { header, key, payload } = decodeRecord(fileBytes);
 * ```
 */
export interface DecodedRecord {
  readonly header: RecordHeader;
  readonly key: string;
  /** The stored payload (still compressed when `header.compressed`); a view into the input. */
  readonly payload: Uint8Array;
}

/**
 * Reads and checks a whole record: its header, its length, and its checksum.
 *
 * @throws CorruptEntryError with the reason (`'truncated'`, `'garbage'`, `'other-version'`
 *   or `'checksum'`).
 *
 * @example
 * ```ts
 * const { header, key, payload } = decodeRecord(await handle.readFile());
 * const raw = header.compressed ? await decompressBytes(payload, header.rawLength) : payload;
 * ```
 */
export function decodeRecord(bytes: Uint8Array, checksum: Checksum = crc32): DecodedRecord {
  const header = decodeRecordHeader(bytes);
  checkRecordLength(header, bytes.length);
  const actual = recordChecksum(bytes, checksum);
  if (actual !== header.checksum) {
    throw new CorruptEntryError(
      'checksum',
      `checksum ${hex(actual)} does not match the header's ${hex(header.checksum)}`,
    );
  }
  const keyEnd = RECORD_HEADER_BYTES + header.keyBytes;
  return {
    header,
    key: decodeKey(bytes.subarray(RECORD_HEADER_BYTES, keyEnd)),
    payload: bytes.subarray(keyEnd),
  };
}

function hasMagic(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, RECORD_MAGIC.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== RECORD_MAGIC[i]) return false;
  return true;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
