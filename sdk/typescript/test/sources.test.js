// The body member `source` (PROTOCOL.md 3.2) and rule 8e, a source event recorded once per
// consignment and container: the event_sourced_* vectors, the member's rules (as the Rust
// `Source::check`), the source key, and bundles forged here from the vectors' genesis (its one
// organisation is its one validator, the RFC 8032 test key) whose subject's history holds a key
// twice, which the verifier refuses (9 step 6) as the Rust `BundleError::SameSource`.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  KeyPair, Genesis, buildBody, signEvent, Event, canonicalBody, commitDetail, verifyBundle, leafHash, rootOf,
  subjectKey, entryOver, valueHash, headHash, precommitMessage, toHex, fromHex, H, sourceKey, firstSourceRepeat, MAX_SOURCE_ID,
} from '../index.js';
import { fixture } from './fixtures.js';
import { clone, refused } from './helpers.js';
import { indexRoot } from './sparse.js';

const V = fixture('vectors.json');
const want = V.values;
const key = new KeyPair(V.inputs.seed_1);
const genesis = Genesis.fromJson(want.genesis_json);
const commitment = commitDetail(V.inputs.detail.name, V.inputs.detail.value, V.inputs.detail.salt);
const BODY = JSON.parse(V.inputs.event_body_json.replace('COMMITMENT', commitment));
const SOURCE = { standard: 'dcsa', id: '84db923d-2a19-4eb0-beb5-446c1ec57d34' };
const OTHER_CONTAINER = 'MSCU1234566';

/** The vectors' event `minute` minutes later (a re-delivery serialised differently is another event), with `source` (`null`: none). */
function body(minute, source = SOURCE, changes = {}) {
  const b = { ...clone(BODY), time: BODY.time + minute * 60000, ...changes };
  if (source !== null) b.source = clone(source);
  for (const [k, v] of Object.entries(changes)) if (v === undefined) delete b[k];
  return b;
}

describe('the event_sourced_* vectors', () => {
  test('the section 11 event with source: canonical body (source between refs and time) and id', () => {
    const ev = signEvent(body(0), key);
    assert.equal(ev.canonicalBody, want.event_sourced_canonical_body);
    assert.equal(ev.id, want.event_sourced_id);
    assert.match(ev.canonicalBody, /"refs":\[\],"source":\{"id":"84db923d-2a19-4eb0-beb5-446c1ec57d34","standard":"dcsa"\},"time":/);
    const parsed = Event.fromJson(ev.wire);
    parsed.verifySignature();
    assert.equal(parsed.id, want.event_sourced_id);
    assert.deepEqual(parsed.body.source, SOURCE);
    // Built from a description too; members in another order give the same body.
    const b = buildBody({ ...body(0, null), issuer: { org: BODY.issuer.org, keyPair: key }, source: { id: SOURCE.id, standard: SOURCE.standard } });
    assert.equal(canonicalBody(b), want.event_sourced_canonical_body);
    // Without source: the plain vector.
    assert.equal(signEvent(body(0, null), key).id, want.event_id);
  });
});

describe('the source member', () => {
  const field = (src, f) => {
    const e = refused(() => buildBody(body(0, src)), 'EventError', 'Field');
    assert.equal(e.field, f);
    assert.ok(e.message.startsWith(`body.${f}: `), e.message);
  };
  test('standard 1-32 of a-z 0-9 _, id 1-256 of printable ASCII; Field errors name body.source.standard / body.source.id', () => {
    buildBody(body(0, { standard: 'a_9'.repeat(10) + 'zz', id: '!' + '~'.repeat(MAX_SOURCE_ID - 1) }));
    buildBody(body(0, { standard: 'epcis', id: `ni:///sha-256;${'0'.repeat(64)}` }));
    assert.equal(MAX_SOURCE_ID, 256);
    for (const s of ['DCSA', '', 'a'.repeat(33), 'dc-sa']) field({ standard: s, id: 'x' }, 'source.standard');
    for (const id of ['', 'has space', 'é', 'tab\t', 'x'.repeat(257)]) field({ standard: 'dcsa', id }, 'source.id');
    const e = refused(() => buildBody(body(0, { standard: 'DCSA', id: 'x' })), 'EventError', 'Field');
    assert.equal(e.message, `body.source.standard: "DCSA" must be 1-32 characters of a-z, 0-9, '_'`);
    const e2 = refused(() => buildBody(body(0, { standard: 'dcsa', id: '' })), 'EventError', 'Field');
    assert.equal(e2.message, "body.source.id: must be 1-256 characters of printable ASCII ('!' to '~')");
  });
  test('null, unknown and missing members, other types: Malformed', () => {
    const wire = JSON.parse(signEvent(body(0), key).wire);
    for (const src of [null, 'dcsa', [], {}, { standard: 'dcsa' }, { id: 'x' }, { standard: 'dcsa', id: 'x', extra: 1 }, { standard: 7, id: 'x' }, { standard: 'dcsa', id: 1 }]) {
      const w = clone(wire);
      w.body.source = src;
      refused(() => Event.fromJson(JSON.stringify(w)), 'EventError', 'Malformed');
    }
  });
  test('not in a membership event: Field body.source', () => {
    const m = JSON.parse(want.membership_event_json);
    Event.fromObject(m);
    m.body.source = SOURCE;
    const e = refused(() => Event.fromObject(m), 'EventError', 'Field');
    assert.equal(e.message, 'body.source: a membership event has no source');
  });
});

describe('the source key (8e)', () => {
  test('(issuer.org, source, ucr, container): any of them different is another key', () => {
    assert.equal(sourceKey(body(0, null)), undefined);
    const k = sourceKey(body(0));
    assert.equal(sourceKey(body(1)), k);
    for (const b of [
      body(0, SOURCE, { container: OTHER_CONTAINER }), body(0, SOURCE, { container: undefined }), body(0, SOURCE, { ucr: undefined }),
      body(0, { ...SOURCE, standard: 'epcis' }), body(0, { ...SOURCE, id: 'y' }), body(0, SOURCE, { issuer: { org: 'other-org', key: BODY.issuer.key } }),
    ]) assert.notEqual(sourceKey(b), k);
  });
  test('firstSourceRepeat: the first pair, [earlier, later]; events without a source never repeat', () => {
    const a = body(0);
    const b = body(1);
    const plain = body(2, null);
    const other = body(3, { ...SOURCE, id: 'second' });
    assert.equal(firstSourceRepeat([]), undefined);
    assert.equal(firstSourceRepeat([a, plain, plain, other]), undefined);
    assert.deepEqual(firstSourceRepeat([a, plain, b]), [0, 2]);
    assert.deepEqual(firstSourceRepeat([plain, other, a, other, b]), [1, 3]);
    assert.equal(firstSourceRepeat([a, body(1, SOURCE, { container: OTHER_CONTAINER })]), undefined);
    assert.equal(firstSourceRepeat([a, body(1, SOURCE, { container: undefined })]), undefined);
  });
});

// ---- bundles forged here: the events are the whole log of block 1, certified by the one validator.

/** RFC 9162 PATH(m, D[n]) over leaf hashes (hex). */
function path(m, leaves) {
  if (leaves.length <= 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m < k ? [...path(m, leaves.slice(0, k)), rootOf(leaves.slice(k))] : [...path(m - k, leaves.slice(k)), rootOf(leaves.slice(0, k))];
}

const bit = (k, d) => (k[d >> 3] >> (7 - (d & 7))) & 1;

/** The index proof of `keyHex` over `[[key, valueHash], ...]` (presence or absence). */
function indexProof(entries, keyHex) {
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

function subRoot(list, depth) {
  if (list.length === 0) return '00'.repeat(32);
  if (list.length === 1) return toHex(H(Uint8Array.of(2), fromHex(list[0][0], 32), fromHex(list[0][1], 32)));
  const l = subRoot(list.filter(([x]) => bit(fromHex(x, 32), depth) === 0), depth + 1);
  const r = subRoot(list.filter(([x]) => bit(fromHex(x, 32), depth) === 1), depth + 1);
  return toHex(H(Uint8Array.of(3), fromHex(l, 32), fromHex(r, 32)));
}

/** A version-2 bundle about `subject` over the events of `bodies`, signed and certified with the vectors' key. */
function forge(bodies, subject) {
  const events = bodies.map((b) => signEvent(b, key));
  const leaves = events.map((e) => leafHash(e.leafData()));
  const index = new Map();
  const add = (s, id) => index.set(subjectKey(s), [...(index.get(subjectKey(s)) ?? []), id]);
  for (const e of events) {
    if (e.body.ucr !== undefined) add({ type: 'consignment', id: e.body.ucr }, e.id);
    if (e.body.container !== undefined) add({ type: 'container', id: e.body.container }, e.id);
  }
  const entries = [...index].map(([k, ids]) => [k, valueHash(entryOver(ids))]);
  assert.equal(subRoot(entries, 0), indexRoot(entries));
  const head = {
    chain: genesis.chain, height: 1, time: Math.max(...bodies.map((b) => b.time)), prev: genesis.hash,
    log_size: events.length, log_root: rootOf(leaves), index_root: indexRoot(entries), validators: genesis.validators.hash(),
  };
  const hh = headHash({ ...head, height: 1n, time: BigInt(head.time), log_size: BigInt(head.log_size) });
  const certificate = { height: 1, round: 0, head: hh, signatures: [{ validator: key.publicKey, sig: toHex(key.sign(precommitMessage(genesis.chain, 1n, 0, hh))) }] };
  const sk = subjectKey(subject);
  const ids = index.get(sk) ?? [];
  const entry = (e) => ({ count: Number(e.count), acc: e.acc });
  const mk = subjectKey({ type: 'membership', id: 'membership' });
  return {
    version: 2, subject, head, certificate,
    events: events.map((e, i) => ({ index: i, event: JSON.parse(e.wire), proof: path(i, leaves) })).filter((_, i) => ids.includes(events[i].id)),
    index_entry: entry(entryOver(ids)), index_proof: indexProof(entries, sk),
    membership: { transitions: [], events: [], index_entry: { count: 0, acc: '00'.repeat(32) }, index_proof: indexProof(entries, mk) },
  };
}

describe('a bundle with a repeated source key (9 step 6)', () => {
  const consignment = { type: 'consignment', id: BODY.ucr };
  const container = { type: 'container', id: BODY.container };
  test('forged without a repeat: verifies (the same source for another container, events without one)', () => {
    const bodies = [body(0), body(1, SOURCE, { container: OTHER_CONTAINER }), body(2, null), body(3, null)];
    assert.equal(verifyBundle(genesis, forge(bodies, consignment)).events.length, 4);
    assert.equal(verifyBundle(genesis, JSON.stringify(forge(bodies, container))).events.length, 3);
  });
  test('a re-delivery committed by validators that skipped 8e: SameSource at the later, naming the earlier (consignment and container subject)', () => {
    const bodies = [body(0, null), body(1), body(2, null), body(3)];
    for (const subject of [consignment, container]) {
      const b = forge(bodies, subject);
      const e = refused(() => verifyBundle(genesis, b), 'BundleError', 'SameSource');
      assert.equal(e.pos, 3);
      assert.equal(e.first, 1);
      assert.equal(e.message, 'events[3]: body.source: the issuer recorded this source event for the same consignment and container before, at events[1]');
    }
  });
});
