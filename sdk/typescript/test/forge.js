// Ledgers forged in the tests (no cargo needed): signed events made the whole log of block 1,
// whose head one validator certifies, and version-2 proof bundles of any subject against that
// head (so the bundles of one forged log make a route). PROTOCOL.md 4, 5, 6, 7, 9.
import { entryOver, fromHex, H, headHash, leafHash, precommitMessage, rootOf, signEvent, subjectKey, toHex, valueHash } from '../index.js';

const bit = (k, d) => (k[d >> 3] >> (7 - (d & 7))) & 1;

/** RFC 9162 PATH(m, D[n]) over leaf hashes (hex). */
export function auditPath(m, leaves) {
  if (leaves.length <= 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m < k ? [...auditPath(m, leaves.slice(0, k)), rootOf(leaves.slice(k))] : [...auditPath(m - k, leaves.slice(k)), rootOf(leaves.slice(0, k))];
}

function subRoot(list, depth) {
  if (list.length === 0) return '00'.repeat(32);
  if (list.length === 1) return toHex(H(Uint8Array.of(2), fromHex(list[0][0], 32), fromHex(list[0][1], 32)));
  const l = subRoot(list.filter(([x]) => bit(fromHex(x, 32), depth) === 0), depth + 1);
  const r = subRoot(list.filter(([x]) => bit(fromHex(x, 32), depth) === 1), depth + 1);
  return toHex(H(Uint8Array.of(3), fromHex(l, 32), fromHex(r, 32)));
}

/** The index proof of `keyHex` over `[[key, valueHash], ...]` (presence or absence). */
export function indexProof(entries, keyHex) {
  const k = fromHex(keyHex, 32);
  let list = entries;
  const siblings = [];
  for (let d = 0; list.length > 1; d++) {
    const b = bit(k, d);
    const other = list.filter(([x]) => bit(fromHex(x, 32), d) !== b);
    list = list.filter(([x]) => bit(fromHex(x, 32), d) === b);
    siblings.push(subRoot(other, d + 1));
  }
  const out = { siblings };
  if (list.length === 1) out.leaf = { key: list[0][0], value_hash: list[0][1] };
  return out;
}

/**
 * The subjects an event body is indexed under (PROTOCOL.md 5): consignment, container, then each
 * identifier; an `aeo_status` event under its holder's organisation, an `mra` event under its
 * issuer's then its partner's (8h).
 */
export function subjectsOf(body) {
  return [
    ...(body.ucr !== undefined ? [{ type: 'consignment', id: body.ucr }] : []),
    ...(body.container !== undefined ? [{ type: 'container', id: body.container }] : []),
    ...(body.ids ?? []).map((id) => ({ type: 'identifier', id })),
    ...(body.aeo !== undefined ? [{ type: 'organisation', id: body.aeo.holder }] : []),
    ...(body.mra !== undefined ? [{ type: 'organisation', id: body.issuer.org }, { type: 'organisation', id: body.mra.partner }] : []),
  ];
}

/**
 * Forges a log: `items` are `[body, keyPair]` pairs signed in order; `validator` (a KeyPair,
 * the genesis's one validator) certifies the head. Returns `{events, head, certificate,
 * bundle(subject)}`, `bundle` a fresh version-2 proof bundle JSON object of any subject.
 */
export function forgeLog(genesis, validator, items) {
  const events = items.map(([b, k]) => signEvent(b, k));
  const leaves = events.map((e) => leafHash(e.leafData()));
  const index = new Map();
  for (const e of events) {
    for (const s of subjectsOf(e.body)) {
      const k = subjectKey(s);
      index.set(k, [...(index.get(k) ?? []), e.id]);
    }
  }
  const entries = [...index].map(([k, ids]) => [k, valueHash(entryOver(ids))]);
  const head = {
    chain: genesis.chain, height: 1, time: Math.max(...events.map((e) => Number(e.body.time))), prev: genesis.hash,
    log_size: events.length, log_root: rootOf(leaves), index_root: subRoot(entries, 0), validators: genesis.validators.hash(),
  };
  const hh = headHash({ ...head, height: 1n, time: BigInt(head.time), log_size: BigInt(head.log_size) });
  const certificate = { height: 1, round: 0, head: hh, signatures: [{ validator: validator.publicKey, sig: toHex(validator.sign(precommitMessage(genesis.chain, 1n, 0, hh))) }] };
  const entry = (e) => ({ count: Number(e.count), acc: e.acc });
  const mk = subjectKey({ type: 'membership', id: 'membership' });
  const bundle = (subject) => {
    const sk = subjectKey(subject);
    const ids = index.get(sk) ?? [];
    return structuredClone({
      version: 2, subject, head, certificate,
      events: events.map((e, i) => ({ index: i, event: JSON.parse(e.wire), proof: auditPath(i, leaves) })).filter((_, i) => ids.includes(events[i].id)),
      index_entry: entry(entryOver(ids)), index_proof: indexProof(entries, sk),
      membership: { transitions: [], events: [], index_entry: { count: 0, acc: '00'.repeat(32) }, index_proof: indexProof(entries, mk) },
    });
  };
  return { events, head, certificate, bundle };
}
