// Every PROTOCOL.md section 11 vector, recomputed from its inputs with the SDK, plus the
// reference's BLAKE3, key-vetting and JCS cross-checks (sdk/fixtures/vectors.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KeyPair, buildBody, signEvent, Event, commitDetail, leafHash, rootOf, emptyRoot, verifyInclusion,
  verifyConsistency, subjectKey, entryOver, valueHash, verifyIndexProof, parseValidatorSet,
  Genesis, headBytes, headHash, precommitMessage, verifyCertificate, approvalMessage, approve,
  membershipBody, toHex, H, parsePublicKey, canonicalize, parseJson, fromHex, D, ProofError,
} from '../index.js';
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
