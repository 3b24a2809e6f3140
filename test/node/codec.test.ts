import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync, crc32 as zlibCrc32 } from 'node:zlib';
import { CorruptEntryError, compressBytes, decompressBytes } from 'eed';
import { describe, expect, it } from 'vitest';
import {
  crc32,
  decodeKey,
  decodeRecord,
  decodeRecordHeader,
  encodeKey,
  encodeRecord,
  RECORD_FORMAT_VERSION,
  RECORD_HEADER_BYTES,
} from '../../src/cache/codec.js';

const text = (s: string) => new TextEncoder().encode(s);

describe('codec', () => {
  it('compressBytes writes gzip that gunzip reads, and decompressBytes reads gzip', async () => {
    const input = text(JSON.stringify(Array.from({ length: 1_000 }, (_, i) => ({ i }))));
    const packed = await compressBytes(input);
    expect(packed.length).toBeLessThan(input.length / 4);
    expect(new Uint8Array(gunzipSync(packed))).toEqual(input);
    expect(await decompressBytes(packed)).toEqual(input);
    expect(await decompressBytes(new Uint8Array(gzipSync(input)))).toEqual(input);
    expect(await decompressBytes(await compressBytes(new Uint8Array(0)))).toEqual(
      new Uint8Array(0),
    );
  });

  it('decompressBytes rejects invalid or truncated gzip, and output above maxBytes', async () => {
    const packed = await compressBytes(randomBytes(100_000));
    await expect(decompressBytes(text('not gzip at all'))).rejects.toThrow();
    await expect(decompressBytes(packed.subarray(0, packed.length - 10))).rejects.toThrow();
    await expect(decompressBytes(packed, 50_000)).rejects.toThrow(RangeError);
    expect((await decompressBytes(packed, 100_000)).length).toBe(100_000);
  });

  it('decompressBytes rejects a maxBytes that is not an integer >= 0 or Infinity, before reading', async () => {
    const packed = await compressBytes(new Uint8Array(1_000));
    for (const [maxBytes, shown] of [
      [Number.NaN, 'NaN'],
      [-1, '-1'],
      [1.5, '1.5'],
      [Number.NEGATIVE_INFINITY, '-Infinity'],
      ['5', '"5"'],
      [null, 'null'],
    ] as const) {
      // Rejects (like every other failure of decompressBytes), never throws synchronously.
      let promise: Promise<Uint8Array> | undefined;
      expect(() => {
        promise = decompressBytes(packed, maxBytes as number);
      }).not.toThrow();
      await expect(promise, shown).rejects.toThrow(RangeError);
      await expect(promise, shown).rejects.toThrow(
        new RangeError(`maxBytes must be an integer >= 0 (or Infinity); received ${shown}`),
      );
    }
    expect((await decompressBytes(packed, Infinity)).length).toBe(1_000);
    expect((await decompressBytes(packed, 1_000)).length).toBe(1_000);
    expect((await decompressBytes(await compressBytes(new Uint8Array(0)), 0)).length).toBe(0);
    await expect(decompressBytes(packed, 0)).rejects.toThrow(/limit of 0 bytes/);
  });

  it('crc32 matches zlib, and continues from a previous value', () => {
    const bytes = randomBytes(10_000);
    expect(crc32(text('hello'))).toBe(0x3610a686);
    expect(crc32(bytes)).toBe(zlibCrc32(bytes));
    expect(crc32(bytes.subarray(5_000), crc32(bytes.subarray(0, 5_000)))).toBe(crc32(bytes));
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('encodes keys as UTF-16LE, losslessly', () => {
    for (const key of ['', 'a', '\0', '\uD800', '日本', '👩‍👩‍👧', 'k'.repeat(10_000)]) {
      expect(decodeKey(encodeKey(key))).toBe(key);
    }
    expect(encodeKey('\uD800')).not.toEqual(encodeKey('\uFFFD'));
    expect(() => decodeKey(new Uint8Array(3))).toThrow(CorruptEntryError);
  });

  it('frames a record: header fields, key and payload, checked by length and checksum', () => {
    const payload = randomBytes(300);
    const fields = {
      key: 'user:1',
      storedAt: 1_700_000_000_000,
      expiresAt: Number.POSITIVE_INFINITY,
      cost: 12.5,
      size: 640,
      rawLength: 900,
      compressed: true,
    };
    const bytes = encodeRecord(fields, payload);
    expect(bytes.length).toBe(RECORD_HEADER_BYTES + 12 + 300);
    expect(String.fromCharCode(...bytes.subarray(0, 4))).toBe('EEDC');
    const { header, key, payload: read } = decodeRecord(bytes);
    expect(key).toBe('user:1');
    expect(read).toEqual(new Uint8Array(payload));
    expect(header).toMatchObject({
      version: RECORD_FORMAT_VERSION,
      compressed: true,
      storedAt: fields.storedAt,
      expiresAt: Number.POSITIVE_INFINITY,
      cost: 12.5,
      size: 640,
      keyBytes: 12,
      rawLength: 900,
      payloadLength: 300,
    });
    expect(decodeRecordHeader(bytes.subarray(0, RECORD_HEADER_BYTES))).toEqual(header);
    // Any changed byte, header included, is caught.
    for (const at of [10, 30, RECORD_HEADER_BYTES + 1, bytes.length - 1]) {
      const copy = bytes.slice();
      copy[at] = (copy[at] as number) ^ 1;
      expect(() => decodeRecord(copy), `byte ${at}`).toThrow(CorruptEntryError);
    }
  });
});
