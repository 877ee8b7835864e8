// The ledger log (PROTOCOL.md 4): an RFC 9162 Merkle tree over BLAKE3, with inclusion and
// consistency proof verification. Hashes are hex strings at the API, bytes inside.
import { equalBytes, fromHex, toHex } from './bytes.js';
import { ProofError } from './errors.js';
import { H } from './hash.js';

/** Most hashes in an inclusion or consistency proof. */
export const MAX_PROOF_HASHES = 128;

const b = (h) => (typeof h === 'string' ? fromHex(h, 32) : h);

/** leaf_hash(d) = H(0x00 || d), hex. */
export function leafHash(data) {
  return toHex(H(Uint8Array.of(0), data));
}

/** node_hash(l, r) = H(0x01 || l || r), hex. */
export function nodeHash(l, r) {
  return toHex(H(Uint8Array.of(1), b(l), b(r)));
}

/** The root of the empty tree, H(""), hex. */
export function emptyRoot() {
  return toHex(H());
}

/** MTH over leaf hashes (hex), for tests and small logs. */
export function rootOf(leafHashes) {
  const n = leafHashes.length;
  if (n === 0) return emptyRoot();
  if (n === 1) return leafHashes[0];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return nodeHash(rootOf(leafHashes.slice(0, k)), rootOf(leafHashes.slice(k)));
}

const mismatch = () => new ProofError('Mismatch', 'proof does not lead to the expected root');

/**
 * RFC 9162 2.1.3.2: does the leaf hash `leaf` sit at `proof.index` of the tree of `proof.size`
 * leaves with root `root`? `proof` is `{index, size, path}` (integers as number or bigint).
 * Throws `ProofError` (`TooLong`, `Range`, `Mismatch`).
 */
export function verifyInclusion(proof, leaf, root) {
  if (proof.path.length > MAX_PROOF_HASHES) throw new ProofError('TooLong', `proof has ${proof.path.length} hashes, more than the maximum ${MAX_PROOF_HASHES}`, { n: proof.path.length });
  const index = BigInt(proof.index);
  const size = BigInt(proof.size);
  if (index >= size) throw new ProofError('Range', `proof is for index/size out of range: index ${index} >= size ${size}`);
  let f = index;
  let s = size - 1n;
  let r = b(leaf);
  for (const ph of proof.path) {
    const p = b(ph);
    if (s === 0n) throw mismatch();
    if ((f & 1n) === 1n || f === s) {
      r = H(Uint8Array.of(1), p, r);
      while ((f & 1n) === 0n && f !== 0n) {
        f >>= 1n;
        s >>= 1n;
      }
    } else {
      r = H(Uint8Array.of(1), r, p);
    }
    f >>= 1n;
    s >>= 1n;
  }
  if (!(s === 0n && equalBytes(r, b(root)))) throw mismatch();
}

/**
 * RFC 9162 2.1.4.2: is the tree `(proof.first, firstRoot)` a prefix of
 * `(proof.second, secondRoot)`? `proof` is `{first, second, path}`. Throws `ProofError`.
 */
export function verifyConsistency(proof, firstRoot, secondRoot) {
  if (proof.path.length > MAX_PROOF_HASHES) throw new ProofError('TooLong', `proof has ${proof.path.length} hashes, more than the maximum ${MAX_PROOF_HASHES}`, { n: proof.path.length });
  const first = BigInt(proof.first);
  const second = BigInt(proof.second);
  const r1 = b(firstRoot);
  const r2 = b(secondRoot);
  if (first > second) throw new ProofError('Range', `proof is for index/size out of range: first ${first} > second ${second}`);
  if (first === second) {
    if (proof.path.length === 0 && equalBytes(r1, r2)) return;
    throw mismatch();
  }
  if (first === 0n) {
    if (proof.path.length === 0 && equalBytes(r1, H())) return;
    throw mismatch();
  }
  const path = proof.path.map(b);
  if ((first & (first - 1n)) === 0n) path.unshift(r1);
  if (path.length === 0) throw mismatch();
  let f = first - 1n;
  let s = second - 1n;
  while ((f & 1n) === 1n) {
    f >>= 1n;
    s >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (s === 0n) throw mismatch();
    if ((f & 1n) === 1n || f === s) {
      fr = H(Uint8Array.of(1), c, fr);
      sr = H(Uint8Array.of(1), c, sr);
      while ((f & 1n) === 0n && f !== 0n) {
        f >>= 1n;
        s >>= 1n;
      }
    } else {
      sr = H(Uint8Array.of(1), sr, c);
    }
    f >>= 1n;
    s >>= 1n;
  }
  if (!(equalBytes(fr, r1) && equalBytes(sr, r2) && s === 0n)) throw mismatch();
}
