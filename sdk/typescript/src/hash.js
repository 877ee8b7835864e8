// BLAKE3 (32-byte output) and the protocol's domain-separated hash
// D(tag, x) = H(tag || 0x00 || x) (PROTOCOL.md notation).
import { blake3 } from '@noble/hashes/blake3.js';
import { concat, utf8Bytes } from './bytes.js';

/** The 32 zero bytes, as hex: "none" (an empty index, a zero accumulator). */
export const ZERO_HEX = '0'.repeat(64);

/** H(parts...): BLAKE3 of the concatenation. */
export function H(...parts) {
  const h = blake3.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

/** D(tag, parts...) = H(tag || 0x00 || parts...). */
export function D(tag, ...parts) {
  return H(utf8Bytes(tag), Uint8Array.of(0), ...parts);
}

export { concat };
