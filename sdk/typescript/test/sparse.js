// A test-only sparse Merkle tree (PROTOCOL.md 5) to recompute index roots from entries.
import { fromHex, toHex } from '../src/bytes.js';
import { H } from '../src/hash.js';

const bit = (k, d) => (k[d >> 3] >> (7 - (d & 7))) & 1;

/** Root over `[[keyHex, valueHashHex], ...]`. */
export function indexRoot(entries) {
  const items = entries.map(([k, v]) => [fromHex(k, 32), fromHex(v, 32)]);
  const node = (list, depth) => {
    if (list.length === 0) return new Uint8Array(32);
    if (list.length === 1) return H(Uint8Array.of(2), list[0][0], list[0][1]);
    const l = node(list.filter(([k]) => bit(k, depth) === 0), depth + 1);
    const r = node(list.filter(([k]) => bit(k, depth) === 1), depth + 1);
    return H(Uint8Array.of(3), l, r);
  };
  return toHex(node(items, 0));
}
