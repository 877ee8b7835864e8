// Bytes, lowercase hex and big-endian integers.
import { HexError } from './errors.js';

const HEX = '0123456789abcdef';
const utf8 = new TextEncoder();

/** Lowercase hex of `bytes`. */
export function toHex(bytes) {
  let s = '';
  for (const b of bytes) s += HEX[b >> 4] + HEX[b & 15];
  return s;
}

/**
 * Decodes exactly `n` bytes from `2n` lowercase hex characters (uppercase is refused: the form is
 * canonical). Throws `HexError` (`Length` or `Char`), with the Rust messages.
 */
export function fromHex(s, n) {
  if (typeof s !== 'string') throw new HexError('Type', 'expected a hex string');
  if (n !== undefined && s.length !== 2 * n) {
    throw new HexError('Length', `expected ${2 * n} lowercase hex characters, got ${s.length}`, {
      expected: 2 * n,
      got: s.length,
    });
  }
  if (s.length % 2) throw new HexError('Length', `odd number of hex characters: ${s.length}`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (v < 0) {
      throw new HexError('Char', `invalid character at position ${i}: only lowercase hex 0-9a-f is allowed`, { pos: i });
    }
    out[i >> 1] = (out[i >> 1] << 4) | v;
  }
  return out;
}

/** True if `s` is exactly `2n` lowercase hex characters. */
export function isHex(s, n) {
  return typeof s === 'string' && s.length === 2 * n && /^[0-9a-f]*$/.test(s);
}

/** UTF-8 bytes of a string. */
export function utf8Bytes(s) {
  return utf8.encode(s);
}

/** Concatenates byte arrays. */
export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One byte. */
export function u8(n) {
  return Uint8Array.of(Number(n) & 0xff);
}

/** 4 bytes, big-endian. */
export function u32(n) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, Number(n));
  return out;
}

/** 8 bytes, big-endian (number or bigint). */
export function u64(n) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

/** Byte-wise equality. */
export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** Unsigned lexicographic comparison of byte arrays (-1, 0, 1). */
export function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
