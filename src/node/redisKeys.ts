/**
 * How eed names things in Redis: a prefix, then the caller's key, as bytes. Redis keys are
 * binary-safe, so nothing is escaped or hashed: `eed:user:1` reads as such in
 * `redis-cli`. A key is encoded as UTF-8, except that a lone surrogate (a JavaScript
 * string need not be valid Unicode) is encoded as its three-byte generalized UTF-8 form
 * (WTF-8), so distinct strings always give distinct Redis keys, and the bytes of a
 * well-formed key are exactly its UTF-8.
 */

/** A lone (unpaired) surrogate, which UTF-8 cannot represent. */
const LONE_SURROGATE = /\p{Cs}/u;

/** `key` as WTF-8 bytes (UTF-8 for a well-formed string). */
export function encodeKeyBytes(key: string): Buffer {
  if (!LONE_SURROGATE.test(key)) return Buffer.from(key, 'utf8');
  const bytes: number[] = [];
  // for...of walks code points: a pair is one code point, a lone surrogate stays alone.
  for (const char of key) {
    const code = char.codePointAt(0) as number;
    if (code < 0x80) bytes.push(code);
    else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 0x3f));
    else if (code < 0x10000) {
      bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
    } else {
      bytes.push(
        0xf0 | (code >> 18),
        0x80 | ((code >> 12) & 0x3f),
        0x80 | ((code >> 6) & 0x3f),
        0x80 | (code & 0x3f),
      );
    }
  }
  return Buffer.from(bytes);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The string {@link encodeKeyBytes} encoded as `bytes`, or `undefined` when the bytes are
 * not such an encoding (a name some other program wrote under the prefix).
 */
export function decodeKeyBytes(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return decodeWtf8(bytes);
  }
}

/** Generalized UTF-8 with lone surrogates (never a surrogate pair) as three bytes each. */
function decodeWtf8(bytes: Uint8Array): string | undefined {
  let out = '';
  let previousWasLead = false;
  for (let i = 0; i < bytes.length; ) {
    const first = bytes[i] as number;
    const length = first < 0x80 ? 1 : first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 0;
    if (length === 0 || first > 0xf4 || i + length > bytes.length) return undefined;
    let code = length === 1 ? first : first & (0xff >> (length + 1));
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k] as number;
      if ((next & 0xc0) !== 0x80) return undefined;
      code = (code << 6) | (next & 0x3f);
    }
    const shortest = [0, 0, 0x80, 0x800, 0x10000][length] as number;
    if (code < shortest || code > 0x10ffff) return undefined;
    const isLead = code >= 0xd800 && code <= 0xdbff;
    // A lead then a trail encoded apart is not what the encoder writes for a pair.
    if (previousWasLead && code >= 0xdc00 && code <= 0xdfff) return undefined;
    previousWasLead = isLead;
    out += String.fromCodePoint(code);
    i += length;
  }
  return out;
}

/** `text` with the glob characters of Redis' `MATCH` (`* ? [ ] \`) escaped. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
