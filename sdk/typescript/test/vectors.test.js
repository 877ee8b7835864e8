// Every PROTOCOL.md section 11 vector, recomputed from its inputs with the SDK, plus the
// reference's BLAKE3, key-vetting and JCS cross-checks (sdk/fixtures/vectors.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KeyPair, buildBody, signEvent, Event, commitDetail, leafHash, rootOf, emptyRoot, verifyInclusion,
  verifyConsistency, subjectKey, entryOver, valueHash, verifyIndexProof, parseValidatorSet,
  Genesis, headBytes, headHash, precommitMessage, verifyCertificate, approvalMessage, approve,
  membershipBody, toHex, H, parsePublicKey, utf8Bytes, canonicalize, parseJson, fromHex, D, ProofError,
  verifySignature, verifyZip215, signBytes, parseHead, parseCertificate, parseMembershipProof, verifyMembershipProof,
  retractsSource, checkRetractions, mraTermsMessage, countersign, approvalVerifies, firstUnassessedOutcome, ADVANCE_FIELDS,
} from '../index.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { fixture } from './fixtures.js';
import { indexRoot } from './sparse.js';

const V = fixture('vectors.json');
const want = V.values;
const checked = new Set();
const eq = (name, got) => {
  assert.equal(got, want[name], name);
  checked.add(name);
};
const list = (name) => want[name].split(',');

const key1 = new KeyPair(V.inputs.seed_1);
const { name: dName, value: dValue, salt: dSalt } = V.inputs.detail;
const commitment = commitDetail(dName, dValue, dSalt);
const event = signEvent(JSON.parse(V.inputs.event_body_json.replace('COMMITMENT', commitment)), key1);
const leaves = Array.from({ length: V.inputs.merkle_leaves }, (_, i) => leafHash(Uint8Array.of(i)));

test('key and detail commitment', () => {
  eq('public_key', key1.publicKey);
  eq('detail_commitment', commitment);
});

test('event: canonical body, signing bytes, id, signature, leaf, wire form', () => {
  eq('event_canonical_body', event.canonicalBody);
  eq('event_signing_bytes_prefix', toHex(event.message.subarray(0, 18)));
  eq('event_id', event.id);
  eq('event_signature', event.sig);
  eq('event_leaf_hash', leafHash(event.leafData()));
  eq('event_wire_json', event.wire);
  const parsed = Event.fromJson(want.event_wire_json);
  parsed.verifySignature();
  assert.equal(parsed.id, event.id);
});

test('sourced event: the section 11 body with source {dcsa, 84db923d-...} (8e), source between refs and time', () => {
  const body = JSON.parse(V.inputs.event_body_json.replace('COMMITMENT', commitment));
  const sourced = signEvent({ ...body, source: { standard: 'dcsa', id: '84db923d-2a19-4eb0-beb5-446c1ec57d34' } }, key1);
  eq('event_sourced_canonical_body', sourced.canonicalBody);
  eq('event_sourced_id', sourced.id);
  assert.equal(Event.fromJson(sourced.wire).id, sourced.id);
});

test('offset event: the section 11 body with offset +01:00 (3.2), offset between location and refs', () => {
  const body = JSON.parse(V.inputs.event_body_json.replace('COMMITMENT', commitment));
  const withOffset = signEvent({ ...body, offset: '+01:00' }, key1);
  eq('event_offset_canonical_body', withOffset.canonicalBody);
  eq('event_offset_id', withOffset.id);
  assert.ok(withOffset.canonicalBody.includes('"location":"NLRTM","offset":"+01:00","refs":[]'));
  const parsed = Event.fromJson(withOffset.wire);
  parsed.verifySignature();
  assert.equal(parsed.id, withOffset.id);
  assert.equal(parsed.body.offset, '+01:00');
});

test('retracted event (8g): the section 11 body as a retraction of the sourced event, by its source; canonical body, id, wire form', () => {
  const { location, transport, ...rest } = JSON.parse(V.inputs.event_body_json.replace('COMMITMENT', commitment));
  assert.ok(location && transport);
  const source = { standard: 'dcsa', id: '84db923d-2a19-4eb0-beb5-446c1ec57d34' };
  const retraction = signEvent({ ...rest, kind: 'retracted', time: 1767225660000, documents: [], details: {}, retracts: retractsSource(source.standard, source.id) }, key1);
  eq('event_retracted_canonical_body', retraction.canonicalBody);
  eq('event_retracted_id', retraction.id);
  eq('event_retracted_wire_json', retraction.wire);
  assert.match(retraction.canonicalBody, /"refs":\[\],"retracts":\{"source":\{"id":"84db923d-2a19-4eb0-beb5-446c1ec57d34","standard":"dcsa"\}\},"time":/);
  const parsed = Event.fromJson(want.event_retracted_wire_json);
  parsed.verifySignature();
  Genesis.fromJson(want.genesis_json).membership().authorize(parsed.body);
  // its target: the sourced event before it
  const sourced = signEvent({ ...JSON.parse(V.inputs.event_body_json.replace('COMMITMENT', commitment)), source }, key1);
  const r = checkRetractions([event, sourced, parsed]);
  assert.equal(r.error, undefined);
  assert.deepEqual([...r.retracted], [[1, 2]]);
});

test('AEO status, arrangement, advance data, risk outcome (8h, 8i): canonical bodies, ids and wire forms; the terms and the partner\'s countersignature; the organisation index key', () => {
  // Structural vectors: the section 11 body reduced (no ucr, container, location, transport,
  // documents, details), signed with the key whatever the issuer's role.
  const { ucr, container, location, transport, ...base } = JSON.parse(V.inputs.event_body_json.replace('COMMITMENT', commitment));
  assert.ok(ucr && container && location && transport);
  const reduced = { ...base, documents: [], details: {} };
  const aeo = signEvent({
    ...reduced, kind: 'aeo_status',
    aeo: { holder: 'shopfast', programme: 'nl_aeo', authorisation: 'NLAEOF0000001234', status: 'granted', types: ['customs_simplifications', 'security_safety'], from: 1767225600000, until: 1861833600000 },
  }, key1);
  eq('event_aeo_canonical_body', aeo.canonicalBody);
  eq('event_aeo_id', aeo.id);
  eq('event_aeo_wire_json', aeo.wire);
  assert.ok(aeo.canonicalBody.startsWith('{"aeo":{"authorisation":"NLAEOF0000001234",'));
  // The terms, countersigned by the partner's key (RFC 8032 test 2); the published signature verifies under it.
  const key2 = new KeyPair(V.inputs.seed_2);
  const terms = mraTermsMessage('tradelog-vectors', 'blue-anchor-lines', 'de-customs', 1767225600000, ['security_safety']);
  eq('mra_terms_message', toHex(terms));
  const approval = countersign('tradelog-vectors', 'blue-anchor-lines', 'de-customs', 1767225600000, ['security_safety'], key2);
  eq('mra_approval_signature', approval.sig);
  assert.equal(verifySignature(key2.publicKey, terms, want.mra_approval_signature), true);
  assert.equal(verifySignature(key1.publicKey, terms, want.mra_approval_signature), false);
  const mra = signEvent({ ...reduced, kind: 'mra', mra: { partner: 'de-customs', status: 'in_force', from: 1767225600000, types: ['security_safety'], approval } }, key1);
  eq('event_mra_canonical_body', mra.canonicalBody);
  eq('event_mra_id', mra.id);
  eq('event_mra_wire_json', mra.wire);
  assert.match(mra.canonicalBody, /"kind":"mra","mra":\{"approval":\{"key":"[0-9a-f]{64}","sig":"[0-9a-f]{128}"\},"from":1767225600000,"partner":"de-customs","status":"in_force","types":\["security_safety"\]\},"refs":\[\]/);
  const published = Event.fromJson(want.event_mra_wire_json);
  published.verifySignature();
  assert.equal(approvalVerifies(published.body.chain, published.body.issuer.org, published.body.mra), true);
  assert.equal(approvalVerifies(published.body.chain, published.body.issuer.org, { ...published.body.mra, types: ['customs_simplifications', 'security_safety'] }), false);
  const values = { hs_code: '850760', declared_value: '12500.00', currency: 'USD', consignor_country: 'CN', consignee_country: 'NL', item_count: '240', gross_weight_kg: '3120' };
  assert.deepEqual(Object.keys(values), ADVANCE_FIELDS);
  const details = Object.fromEntries(ADVANCE_FIELDS.map((n) => [n, commitDetail(n, values[n], '00'.repeat(16))]));
  const advance = signEvent({ ...reduced, kind: 'advance_data', ucr, details }, key1);
  eq('event_advance_canonical_body', advance.canonicalBody);
  eq('event_advance_id', advance.id);
  eq('event_advance_wire_json', advance.wire);
  const risk = signEvent({ ...reduced, kind: 'risk_referred', ucr, time: 1767229200000, refs: [advance.id], reason: 'r12_undervaluation' }, key1);
  eq('event_risk_canonical_body', risk.canonicalBody);
  eq('event_risk_id', risk.id);
  eq('event_risk_wire_json', risk.wire);
  assert.ok(risk.canonicalBody.includes('"kind":"risk_referred","reason":"r12_undervaluation","refs":["' + advance.id + '"]'));
  for (const name of ['event_aeo_wire_json', 'event_advance_wire_json', 'event_risk_wire_json']) Event.fromJson(want[name]).verifySignature();
  // The outcome assesses the advance data before it (8i), not without it.
  assert.equal(firstUnassessedOutcome([advance, risk]), undefined);
  assert.equal(firstUnassessedOutcome([risk]), 0);
  eq('index_key_organisation', subjectKey({ type: 'organisation', id: 'shopfast' }));
  assert.equal(subjectKey({ type: 'organisation', id: 'shopfast' }), toHex(D('tradelog/index-key/v1', utf8Bytes('\u0005shopfast'))));
});

test('trade identifiers (8f): identifier index keys; the linked event\'s canonical body, id and wire form', () => {
  eq('index_key_identifier_bl', subjectKey({ type: 'identifier', id: 'bl:blue-anchor-lines:BALRTM0001' }));
  eq('index_key_identifier_sscc', subjectKey({ type: 'identifier', id: 'sscc:106141412345678908' }));
  // The section 11 body with kind linked; container, location, transport removed; no documents
  // or details; ids given out of order (buildBody sorts them into the signed order).
  const { container, location, transport, ...rest } = JSON.parse(V.inputs.event_body_json.replace('COMMITMENT', commitment));
  assert.ok(container && location && transport);
  const linked = signEvent({
    ...rest, kind: 'linked', documents: [], details: {},
    ids: ['sscc:106141412345678908', 'bl:blue-anchor-lines:BALRTM0001', 'bkg:blue-anchor-lines:BK12345'],
  }, key1);
  eq('event_linked_canonical_body', linked.canonicalBody);
  eq('event_linked_id', linked.id);
  eq('event_linked_wire_json', linked.wire);
  const parsed = Event.fromJson(want.event_linked_wire_json);
  parsed.verifySignature();
  // admitted under the vectors' genesis: its carrier links its own B/L and booking
  Genesis.fromJson(want.genesis_json).membership().authorize(parsed.body);
});

test('merkle roots, inclusion and consistency', () => {
  eq('merkle_empty_root', emptyRoot());
  eq('merkle_leaf_0', leaves[0]);
  for (const n of [1, 2, 3, 5, 7]) eq(`merkle_root_${n}`, rootOf(leaves.slice(0, n)));
  const root7 = rootOf(leaves);
  verifyInclusion({ index: 2, size: 7, path: list('merkle_inclusion_2_of_7') }, leaves[2], root7);
  checked.add('merkle_inclusion_2_of_7');
  assert.throws(() => verifyInclusion({ index: 3, size: 7, path: list('merkle_inclusion_2_of_7') }, leaves[2], root7), { name: 'ProofError', variant: 'Mismatch' });
  verifyConsistency({ first: 3, second: 7, path: list('merkle_consistency_3_to_7') }, rootOf(leaves.slice(0, 3)), root7);
  checked.add('merkle_consistency_3_to_7');
  verifyConsistency({ first: 4, second: 7, path: list('merkle_consistency_4_to_7') }, rootOf(leaves.slice(0, 4)), root7);
  checked.add('merkle_consistency_4_to_7');
  assert.throws(() => verifyConsistency({ first: 4, second: 7, path: list('merkle_consistency_4_to_7') }, rootOf(leaves.slice(0, 3)), root7), ProofError);
});

test('subject index: keys, entry, root, presence and absence proofs', () => {
  const cons = { type: 'consignment', id: event.body.ucr };
  const ctr = { type: 'container', id: event.body.container };
  eq('index_key_consignment', subjectKey(cons));
  eq('index_key_container', subjectKey(ctr));
  eq('index_key_membership', subjectKey({ type: 'membership' }));
  const entry = entryOver([event.id]);
  eq('index_entry_acc', entry.acc);
  eq('index_entry_value_hash', valueHash(entry));
  const root = indexRoot([[subjectKey(cons), valueHash(entry)], [subjectKey(ctr), valueHash(entry)]]);
  eq('index_root', root);
  const [k, vh] = want.index_proof_consignment_leaf.replace('key=', '').split(',value_hash=');
  assert.equal(k, subjectKey(cons));
  assert.equal(vh, valueHash(entry));
  checked.add('index_proof_consignment_leaf');
  assert.equal(verifyIndexProof({ siblings: list('index_proof_consignment_siblings'), leaf: { key: k, value_hash: vh } }, root, subjectKey(cons)), valueHash(entry));
  checked.add('index_proof_consignment_siblings');
  const absent = subjectKey({ type: 'consignment', id: V.inputs.index_absent_ucr });
  eq('index_absent_key', absent);
  eq('index_proof_absent_leaf', 'none');
  assert.equal(verifyIndexProof({ siblings: list('index_proof_absent_siblings') }, root, absent), undefined);
  checked.add('index_proof_absent_siblings');
  // The same proof does not prove the absence of the present consignment.
  assert.throws(() => verifyIndexProof({ siblings: list('index_proof_absent_siblings') }, root, subjectKey(cons)), { name: 'IndexProofError' });
});

test('validator sets, genesis, head, precommit', () => {
  const one = parseValidatorSet([{ org: 'blue-anchor-lines', key: key1.publicKey, power: 1 }]);
  eq('validator_set_hash', one.hash());
  const three = parseValidatorSet([V.inputs.seed_1, V.inputs.seed_2, V.inputs.seed_3].map((s, i) => ({ org: 'blue-anchor-lines', key: new KeyPair(s).publicKey, power: i + 1 })));
  eq('validator_set_3_json', JSON.stringify(three));
  eq('validator_set_3_hash', three.hash());
  const genesis = Genesis.fromJson(want.genesis_json);
  checked.add('genesis_json');
  eq('genesis_hash', genesis.hash);
  const h = V.inputs.head;
  const head = {
    chain: h.chain, height: BigInt(h.height), time: BigInt(h.time), prev: genesis.hash, log_size: 7n,
    log_root: rootOf(leaves), index_root: want.index_root, validators: one.hash(),
  };
  eq('head_bytes', toHex(headBytes(head)));
  eq('head_hash', headHash(head));
  const msg = precommitMessage(head.chain, head.height, h.round, headHash(head));
  eq('precommit_message', toHex(msg));
  eq('precommit_signature', toHex(key1.sign(msg)));
  verifyCertificate({ height: 1n, round: 0n, head: headHash(head), signatures: [{ validator: key1.publicKey, sig: want.precommit_signature }] }, head, one);
  assert.throws(() => verifyCertificate({ height: 1n, round: 1n, head: headHash(head), signatures: [{ validator: key1.publicKey, sig: want.precommit_signature }] }, head, one), { name: 'CertificateError', variant: 'BadSignature' });
});

test('membership: approval message and signature, the membership event', () => {
  const change = { type: 'add_key', org: 'blue-anchor-lines', key: new KeyPair(V.inputs.seed_2).publicKey };
  const { seq, time } = V.inputs.membership;
  eq('membership_approval_message', toHex(approvalMessage('tradelog-vectors', seq, change)));
  const approval = approve('tradelog-vectors', seq, change, key1);
  eq('membership_approval_signature', approval.sig);
  const body = buildBody({ chain: 'tradelog-vectors', kind: 'membership', time, issuer: { org: 'blue-anchor-lines', key: key1.publicKey }, membership: membershipBody(seq, change, [approval]) });
  const ev = signEvent(body, key1);
  eq('membership_event_json', ev.wire);
  eq('membership_event_id', ev.id);
});

test('membership proof: the section 11 ledger, rebuilt and verified; its verdicts without transitions', () => {
  const doc = parseJson(want.membership_proof_json);
  checked.add('membership_proof_json');
  const genesis = Genesis.fromJson(want.genesis_json);
  const key2 = new KeyPair(V.inputs.seed_2);
  // The two membership events as section 11 describes them, signed with the key (deterministic).
  const setTo = (validators, seq, time) => {
    const change = { type: 'set_validators', validators: validators.map(([k, power]) => ({ org: 'blue-anchor-lines', key: k.publicKey, power })) };
    const approval = approve('tradelog-vectors', seq, change, key1);
    return signEvent(buildBody({ chain: 'tradelog-vectors', kind: 'membership', time, issuer: { org: 'blue-anchor-lines', key: key1.publicKey }, membership: membershipBody(seq, change, [approval]) }), key1);
  };
  const rebuilt = [setTo([[key1, 3], [key2, 1]], 1, 1767225600000), setTo([[key1, 1]], 2, 1767225601000)];
  assert.deepEqual(doc.membership.events.map((e) => Event.fromObject(e.event).wire), rebuilt.map((e) => e.wire));
  // Every certificate is the key's precommit at round 0 of its head.
  for (const { head, certificate } of [...doc.membership.transitions, doc]) {
    const h = parseHead(head);
    assert.equal(certificate.head, headHash(h));
    assert.equal(certificate.signatures[0].sig, toHex(key1.sign(precommitMessage(h.chain, h.height, 0, headHash(h)))));
  }
  assert.deepEqual(doc.membership.transitions.map((t) => t.head.height), [1, 2]);
  const verdict = (drop) => {
    const m = structuredClone(doc.membership);
    m.transitions = m.transitions.filter((_, i) => !drop.includes(i));
    try {
      verifyMembershipProof(parseMembershipProof(m, 'membership', Event), genesis, parseHead(doc.head), parseCertificate(doc.certificate));
      return '1';
    } catch (e) {
      assert.equal(e.name, 'MembershipError', e.message);
      return '0';
    }
  };
  eq('membership_proof_verdicts', `honest=${verdict([])} without_transitions=${verdict([0, 1])} without_first=${verdict([0])} without_second=${verdict([1])}`);
  // The honest proof's result: the genesis set certifies height 3.
  const history = verifyMembershipProof(parseMembershipProof(doc.membership, 'membership', Event), genesis, parseHead(doc.head), parseCertificate(doc.certificate));
  assert.equal(history.validators.hash(), want.validator_set_hash);
});

test('organisation names refuse control characters (PROTOCOL.md 8)', () => {
  const g = JSON.parse(want.genesis_json);
  Genesis.fromJson(JSON.stringify(g)); // the vector's name (U+2014, U+00FC, U+00D8, U+1F6A2) is fine
  for (const [name, code] of [['Blue\u001b[2K Anchor', 'U+001B'], ['Blue\nAnchor', 'U+000A'], ['Blue\u009bAnchor', 'U+009B'], ['Blue\u007f', 'U+007F'], ['Blue \u202egnp.exe', 'U+202E'], ['Blue \u2066x', 'U+2066']]) {
    g.organisations[0].name = name;
    assert.throws(() => Genesis.fromJson(JSON.stringify(g)), (e) => e.message.includes(`name: control character ${code} is not allowed`), name);
  }
});

test('membership proof: the section 6 header rules and the event-time window over its heads', () => {
  const doc = parseJson(want.membership_proof_json);
  // A genesis of time 0 (else the same): height 1 names its hash and is re-certified by the key.
  const g0 = JSON.parse(want.genesis_json);
  g0.time = 0;
  const genesis = Genesis.fromJson(JSON.stringify(g0));
  const recertify = (t) => {
    const h = parseHead(t.head);
    t.certificate.head = headHash(h);
    t.certificate.signatures[0].sig = toHex(key1.sign(precommitMessage(h.chain, h.height, 0, headHash(h))));
  };
  const run = (edit) => {
    const d = structuredClone(doc);
    d.membership.transitions[0].head.prev = genesis.hash;
    edit(d);
    recertify(d.membership.transitions[0]);
    verifyMembershipProof(parseMembershipProof(d.membership, 'membership', Event), genesis, parseHead(d.head), parseCertificate(d.certificate));
  };
  run(() => {}); // the re-certified proof verifies under the time-0 genesis
  const refused = (edit, variant, re) => assert.throws(() => run(edit), (e) => e.name === 'MembershipError' && e.variant === variant && re.test(e.message));
  // Event 0 (time 1767225600000) in a block whose head is more than 10 minutes earlier.
  refused((d) => { d.membership.transitions[0].head.time = 1767225600000 - 600001; }, 'FutureEvent', /^membership\.events\[0\]: time 1767225600000 is more than 600000 ms after/);
  refused((d) => { d.membership.transitions[0].head.prev = want.genesis_hash; }, 'Header', /^membership\.transitions\[0\]\.head: prev of the head at height 1 is not the genesis hash/);
  refused((d) => { d.membership.transitions[0].head.time = 1767225602001; }, 'Header', /^membership\.transitions\[1\]\.head: time 1767225602000 is before 1767225602001/);
});

// ZIP-215 (PROTOCOL.md section 1). The 14 small-order encodings are recomputed (points whose
// 8-multiple is the identity, then y + p and the x = 0 sign-bit variants), every verdict row
// from verifyZip215 (the rules alone) and from tradelog's rule (key vetting, then ZIP-215).
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;
const Point = ed25519.Point;
const le32 = (n) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
const fromLe = (b) => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
const zipMessage = fromHex(want.zip215_message, 5);
const tradelogVerdict = (a, msg, sig) => {
  try {
    parsePublicKey(a);
  } catch (e) {
    assert.equal(e.name, 'KeyError');
    return '0';
  }
  return verifySignature(a, msg, sig) ? '1' : '0';
};
const verdicts = (cases, msg) => `zip215=${cases.map(([a, sig]) => (verifyZip215(a, msg, sig) ? '1' : '0')).join('')} tradelog=${cases.map(([a, sig]) => tradelogVerdict(a, msg, sig)).join('')}`;
const orderOf = (pt) => {
  for (const n of [1, 2, 4, 8]) {
    if (pt.is0()) return n;
    pt = pt.double();
  }
  return undefined;
};

test('ZIP-215: the message and the 14 small-order encodings (order, canonical or not)', () => {
  eq('zip215_message', toHex(new TextEncoder().encode('Zcash')));
  // The torsion subgroup: [L]Q for a point Q with an order-8 component, and its multiples.
  let t8;
  for (let y = 2n; !t8; y++) {
    let q;
    try {
      q = Point.fromBytes(le32(y), true);
    } catch {
      continue;
    }
    const t = q.multiplyUnsafe(L - 1n).add(q);
    if (orderOf(t) === 8) t8 = t;
  }
  const torsion = [Point.ZERO];
  for (let i = 1; i < 8; i++) torsion.push(torsion[i - 1].add(t8));
  const byLe = (a, b) => (fromLe(a) < fromLe(b) ? -1 : 1);
  const canonical = torsion.map((p) => p.toBytes()).sort(byLe);
  const candidates = [0n, 1n].flatMap((y) => [P + y, P + y + (1n << 255n)]).map(le32);
  for (const c of canonical) candidates.push(Uint8Array.from(c, (x, i) => (i === 31 ? x ^ 0x80 : x)));
  const non = candidates.filter((c) => {
    try {
      const pt = Point.fromBytes(c, true);
      return orderOf(pt) !== undefined && toHex(pt.toBytes()) !== toHex(c);
    } catch {
      return false;
    }
  });
  const unique = [...new Map(non.map((c) => [toHex(c), c])).values()].sort(byLe);
  assert.equal(new Set(canonical.map(toHex)).size, 8);
  assert.equal(unique.length, 6);
  const encodings = [...canonical, ...unique];
  encodings.forEach((e, i) => {
    const pt = Point.fromBytes(e, true);
    eq(`zip215_small_order_${String(i).padStart(2, '0')}`, `${toHex(e)} order=${orderOf(pt)} ${toHex(pt.toBytes()) === toHex(e) ? 'canonical' : 'non-canonical'}`);
  });
});

const smallOrder = () => Array.from({ length: 14 }, (_, i) => fromHex(want[`zip215_small_order_${String(i).padStart(2, '0')}`].split(' ')[0], 32));

test('ZIP-215: 196 small-order (A, R) pairs with S = 0, and the row with S = L', () => {
  const enc = smallOrder();
  enc.forEach((a, i) => {
    const row = verdicts(enc.map((r) => [a, Uint8Array.from([...r, ...new Uint8Array(32)])]), zipMessage);
    eq(`zip215_small_order_verdicts_a${String(i).padStart(2, '0')}`, row);
  });
  eq('zip215_s_equal_l_verdicts_a00', verdicts(enc.map((r) => [enc[0], Uint8Array.from([...r, ...le32(L)])]), zipMessage));
});

test('ZIP-215: a non-canonical S (S + L) is refused', () => {
  const good = key1.sign(new Uint8Array(0));
  const bad = Uint8Array.from([...good.subarray(0, 32), ...le32(fromLe(good.subarray(32)) + L)]);
  eq('zip215_non_canonical_s_signature', toHex(bad));
  eq('zip215_non_canonical_s_verdicts', verdicts([[key1.publicKey, good], [key1.publicKey, bad]], new Uint8Array(0)));
});

test('ZIP-215: torsion in R and in a vetted key is accepted (cofactored equation)', () => {
  const { scalar: a } = ed25519.utils.getExtendedPublicKey(fromHex(V.inputs.seed_1, 32));
  const T = Point.fromBytes(smallOrder()[2], true);
  const modL = (b) => fromLe(b) % L;
  const signWith = (keyBytes, text, torsion) => {
    const r = modL(sha512(new TextEncoder().encode(text)));
    const R = Point.BASE.multiply(r).add(torsion).toBytes();
    const k = modL(sha512(Uint8Array.from([...R, ...keyBytes, ...zipMessage])));
    return Uint8Array.from([...R, ...le32((r + k * a) % L)]);
  };
  const pk = fromHex(key1.publicKey, 32);
  const sigR = signWith(pk, 'tradelog zip215 mixed-order R', T);
  eq('zip215_mixed_order_r_signature', toHex(sigR));
  eq('zip215_mixed_order_r_verdict', verdicts([[key1.publicKey, sigR]], zipMessage));
  const mixed = Point.fromBytes(pk).add(T).toBytes();
  eq('zip215_mixed_order_a_key', toHex(mixed));
  const sigA = signWith(mixed, 'tradelog zip215 mixed-order A', Point.ZERO);
  eq('zip215_mixed_order_a_signature', toHex(sigA));
  eq('zip215_mixed_order_a_verdict', verdicts([[toHex(mixed), sigA]], zipMessage));
  // Neither is a cofactorless (RFC 8032 "[S]B = R + [k]A") signature: only the cofactor makes them valid.
  for (const [key, sig] of [[pk, sigR], [mixed, sigA]]) {
    const k = modL(sha512(Uint8Array.from([...sig.subarray(0, 32), ...key, ...zipMessage])));
    const lhs = Point.BASE.multiply(fromLe(sig.subarray(32)));
    const rhs = Point.fromBytes(sig.subarray(0, 32)).add(Point.fromBytes(key).multiply(k));
    assert.equal(lhs.equals(rhs), false);
  }
});

test('every published vector was checked', () => {
  assert.deepEqual([...Object.keys(want)].filter((k) => !checked.has(k)), []);
});

test('BLAKE3 across chunk boundaries matches the reference', () => {
  for (const { len, hash } of V.blake3) {
    const input = Uint8Array.from({ length: len }, (_, i) => i % 251);
    assert.equal(toHex(H(input)), hash, `len ${len}`);
  }
});

test('public-key vetting gives the reference verdicts (NotAPoint, Weak, NotCanonical)', () => {
  for (const { key, verdict } of V.keys) {
    let got = 'ok';
    try {
      parsePublicKey(key);
    } catch (e) {
      assert.equal(e.name, 'KeyError');
      got = e.variant;
    }
    assert.equal(got, verdict, key);
  }
});

test('JCS cases match the reference', () => {
  for (const { input, canonical } of V.jcs) assert.equal(canonicalize(parseJson(input)), canonical, input);
});

test('D is H(tag || 0x00 || x)', () => {
  assert.equal(toHex(D('t', Uint8Array.of(120))), toHex(H(new TextEncoder().encode('t\0x'))));
  assert.equal(fromHex('00ff', 2)[1], 255);
});
