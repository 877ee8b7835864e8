// The subject index (PROTOCOL.md 5): subject keys, per-subject entries (count, accumulator) and
// sparse-Merkle index proofs of presence and absence.
import { equalBytes, fromHex, toHex, u64, utf8Bytes } from './bytes.js';
import { IndexProofError } from './errors.js';
import { D, H, ZERO_HEX } from './hash.js';
import { checkContainer, checkOrgId, checkTradeId, checkUcr } from './ids.js';
import * as S from './schema.js';

export const INDEX_KEY_DOMAIN = 'tradelog/index-key/v1';
export const INDEX_ACC_DOMAIN = 'tradelog/index-acc/v1';
export const INDEX_VALUE_DOMAIN = 'tradelog/index-value/v1';
/** Depth of the tree: one level per key bit. */
export const INDEX_DEPTH = 256;

/** Reads a subject `{"type": "consignment"|"container"|"identifier"|"membership"|"organisation", "id"}`. */
export function parseSubject(v, path = 'subject') {
  S.object(v, path, ['type', 'id']);
  const type = S.oneOf(v.type, `${path}.type`, ['consignment', 'container', 'identifier', 'membership', 'organisation']);
  if (type === 'consignment') return { type, id: S.id(v.id, `${path}.id`, checkUcr) };
  if (type === 'container') return { type, id: S.id(v.id, `${path}.id`, checkContainer) };
  if (type === 'identifier') return { type, id: S.id(v.id, `${path}.id`, checkTradeId) };
  if (type === 'organisation') return { type, id: S.id(v.id, `${path}.id`, checkOrgId) };
  if (v.id !== 'membership') S.fail(`${path}.id`, 'the membership subject\'s id is "membership"');
  return { type, id: 'membership' };
}

/** How the Rust reference names a subject in messages: `consignment X`, `container Y`, `identifier Z`, `organisation O`, `membership`. */
export function subjectName(s) {
  return s.type === 'membership' ? 'membership' : `${s.type} ${s.id}`;
}

/** The subject's index key (hex). */
export function subjectKey(s) {
  if (s.type === 'consignment') return toHex(D(INDEX_KEY_DOMAIN, Uint8Array.of(1), utf8Bytes(s.id)));
  if (s.type === 'container') return toHex(D(INDEX_KEY_DOMAIN, Uint8Array.of(2), utf8Bytes(s.id)));
  if (s.type === 'identifier') return toHex(D(INDEX_KEY_DOMAIN, Uint8Array.of(4), utf8Bytes(s.id)));
  if (s.type === 'organisation') return toHex(D(INDEX_KEY_DOMAIN, Uint8Array.of(5), utf8Bytes(s.id)));
  return toHex(D(INDEX_KEY_DOMAIN, Uint8Array.of(3)));
}

/** Reads an index entry `{count, acc}`. */
export function parseEntry(v, path) {
  S.object(v, path, ['count', 'acc']);
  return { count: S.u64(v.count, `${path}.count`), acc: S.hash(v.acc, `${path}.acc`) };
}

/** The entry of no events: `{count: 0, acc: 0...0}`. */
export const EMPTY_ENTRY = Object.freeze({ count: 0n, acc: ZERO_HEX });

/** The entry over a list of event ids (hex), in order. */
export function entryOver(ids) {
  let acc = new Uint8Array(32);
  for (const id of ids) acc = D(INDEX_ACC_DOMAIN, acc, fromHex(id, 32));
  return { count: BigInt(ids.length), acc: toHex(acc) };
}

/** True if two entries are equal. */
export function sameEntry(a, b) {
  return BigInt(a.count) === BigInt(b.count) && a.acc === b.acc;
}

/** value_hash(count, acc) = D("tradelog/index-value/v1", u64(count) || acc), hex. */
export function valueHash(e) {
  return toHex(D(INDEX_VALUE_DOMAIN, u64(e.count), fromHex(e.acc, 32)));
}

/** Reads an index proof `{siblings, leaf?: {key, value_hash}}`. */
export function parseIndexProof(v, path) {
  S.object(v, path, ['siblings'], ['leaf']);
  const out = { siblings: S.array(v.siblings, `${path}.siblings`).map((h, i) => S.hash(h, `${path}.siblings[${i}]`)) };
  if ('leaf' in v) {
    S.object(v.leaf, `${path}.leaf`, ['key', 'value_hash']);
    out.leaf = { key: S.hash(v.leaf.key, `${path}.leaf.key`), value_hash: S.hash(v.leaf.value_hash, `${path}.leaf.value_hash`) };
  }
  return out;
}

const bit = (k, d) => (k[d >> 3] >> (7 - (d & 7))) & 1;

/**
 * Verifies an index proof for `key` under `root` (hex). Returns the key's value hash (hex), or
 * `undefined` when the proof shows the key is absent. Throws `IndexProofError`
 * (`TooLong`, `OffPath`, `Mismatch`).
 */
export function verifyIndexProof(proof, root, key) {
  const depth = proof.siblings.length;
  if (depth > INDEX_DEPTH) throw new IndexProofError('TooLong', `index proof has ${depth} siblings, more than ${INDEX_DEPTH}`, { n: depth });
  const k = fromHex(key, 32);
  let cur;
  let found;
  if (!proof.leaf) cur = new Uint8Array(32);
  else {
    const lk = fromHex(proof.leaf.key, 32);
    for (let d = 0; d < depth; d++) if (bit(lk, d) !== bit(k, d)) throw new IndexProofError('OffPath', "index proof ends on a leaf off the key's path");
    if (proof.leaf.key === key) found = proof.leaf.value_hash;
    cur = H(Uint8Array.of(2), lk, fromHex(proof.leaf.value_hash, 32));
  }
  for (let d = depth - 1; d >= 0; d--) {
    const sib = fromHex(proof.siblings[d], 32);
    cur = bit(k, d) ? H(Uint8Array.of(3), sib, cur) : H(Uint8Array.of(3), cur, sib);
  }
  if (!equalBytes(cur, fromHex(root, 32))) throw new IndexProofError('Mismatch', 'index proof does not lead to the index root');
  return found;
}

/** True if `proof` proves exactly `entry` for `key` under `root` (absence proves the empty entry). */
export function provesEntry(proof, root, key, entry) {
  const found = verifyIndexProof(proof, root, key);
  return found === undefined ? sameEntry(entry, EMPTY_ENTRY) : found === valueHash(entry);
}
