// Building, canonicalizing and signing events; the structural rules of PROTOCOL.md 3.2 with
// the Rust error variants; strict JSON; size limits; detail disclosures; ZIP-215 signatures and
// key vetting.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import {
  KeyPair, buildBody, signEvent, Event, commitDetails, verifyDisclosure, parseJson, canonicalize,
  verifySignature, toHex, fromHex, membershipBody, approve, parsePublicKey, MAX_EVENT_JSON_BYTES, signingBytes,
} from '../index.js';
import { fixture } from './fixtures.js';
import { refused } from './helpers.js';

const V = fixture('vectors.json');
const key = new KeyPair(V.inputs.seed_1);
const base = () => ({
  chain: 'tradelog-vectors', kind: 'arrived', time: 1767225600000, ucr: '6NL123456789-AB', location: 'NLRTM',
  issuer: { org: 'blue-anchor-lines', key: key.publicKey },
});
const fieldError = (d, field) => {
  const e = refused(() => buildBody(d), 'EventError', 'Field');
  assert.equal(e.field, field, e.message);
};

describe('building and signing', () => {
  test('member order and absent optionals do not change the canonical body', () => {
    const a = signEvent({ ...base(), container: 'CSQU3054383', transport: { voyage: '042W', means: 'IMO9321483', mode: 'sea' } }, key);
    const b = signEvent({ transport: { mode: 'sea', means: 'IMO9321483', voyage: '042W' }, container: 'CSQU3054383', ...base(), refs: undefined }, key);
    assert.equal(a.wire, b.wire);
    assert.equal(a.id, b.id);
    assert.ok(!('refs' in JSON.parse(a.canonicalBody)) === false);
    assert.equal(Event.fromJson(a.wire).id, a.id);
  });
  test('the id does not depend on the signature; a wrong signing key is refused', () => {
    const other = KeyPair.generate();
    refused(() => signEvent(base(), other), 'EventError', 'Field');
  });
  test('a tampered event fails its signature check', () => {
    const e = signEvent(base(), key);
    const w = JSON.parse(e.wire);
    w.body.location = 'BEANR';
    refused(() => Event.fromObject(w).verifySignature(), 'EventError', 'Signature');
    Event.fromJson(e.wire).verifySignature();
  });
  test('salted detail commitments and disclosures', () => {
    const { details, disclosures } = commitDetails({ hs_code: '850760', gross_kg: '12000' });
    const e = signEvent({ ...base(), details }, key);
    verifyDisclosure(e, disclosures.hs_code);
    verifyDisclosure(e.body, disclosures.gross_kg);
    refused(() => verifyDisclosure(e, { ...disclosures.hs_code, value: '850761' }), 'DisclosureError', 'Mismatch');
    refused(() => verifyDisclosure(e, { ...disclosures.hs_code, name: 'origin' }), 'DisclosureError', 'NoSuchField');
    refused(() => verifyDisclosure(e, { ...disclosures.hs_code, salt: 'AB'.repeat(16) }), 'DisclosureError', 'Salt');
    // A fresh salt per commitment: the same value commits differently each time.
    assert.notEqual(commitDetails({ hs_code: '850760' }).details.hs_code, details.hs_code);
    const fixed = commitDetails({ hs_code: '850760' }, { hs_code: '00'.repeat(16) });
    assert.equal(fixed.details.hs_code, V.values.detail_commitment);
  });
  test('a set_validators change is canonical in any order (same id, same approvals)', () => {
    const keys = [V.inputs.seed_1, V.inputs.seed_2, V.inputs.seed_3].map((s) => new KeyPair(s));
    const validators = keys.map((k, i) => ({ org: 'blue-anchor-lines', key: k.publicKey, power: i + 1 }));
    const change = { type: 'set_validators', validators };
    const rev = { type: 'set_validators', validators: [...validators].reverse() };
    assert.equal(approve('c', 3, change, key).sig, approve('c', 3, rev, key).sig);
    const ev = (c) => signEvent({ chain: 'tradelog-vectors', kind: 'membership', time: 5, issuer: { org: 'blue-anchor-lines', key: key.publicKey }, membership: membershipBody(3, c, [approve('tradelog-vectors', 3, c, key)]) }, key);
    assert.equal(ev(change).id, ev(rev).id);
  });
});

describe('structural rules (EventError, as the Rust validate)', () => {
  test('table', () => {
    fieldError({ ...base(), location: undefined }, 'location');
    fieldError({ ...base(), ucr: undefined }, 'ucr');
    fieldError({ ...base(), kind: 'packed', location: 'CNSHA' }, 'container');
    fieldError({ ...base(), time: 0 }, 'time');
    fieldError({ ...base(), time: 2 ** 53 }, 'time');
    fieldError({ ...base(), chain: 'Tradelog' }, 'chain');
    fieldError({ ...base(), transport: { mode: 'sea', means: 'imo1' } }, 'transport.means');
    fieldError({ ...base(), refs: ['00'.repeat(32), '00'.repeat(32)] }, 'refs');
    fieldError({ ...base(), refs: Array.from({ length: 17 }, (_, i) => i.toString(16).padStart(64, '0')) }, 'refs');
    fieldError({ ...base(), kind: 'document_anchored' }, 'documents');
    fieldError({ ...base(), documents: [{ kind: 'Invoice', alg: 'sha256', digest: '00'.repeat(32) }] }, 'documents.kind');
    fieldError({ ...base(), details: { 'HS-code': '00'.repeat(32) } }, 'details');
    fieldError({ ...base(), membership: { seq: 1, change: { type: 'add_key', org: 'blue-anchor-lines', key: key.publicKey }, approvals: [] } }, 'membership');
    fieldError({ ...base(), kind: 'membership', location: undefined }, 'membership');
    refused(() => Event.from({ ...buildBody(base()), v: 2 }, '00'.repeat(64)), 'EventError', 'Version');
  });
  test('offset: +HH:MM or -HH:MM within 14:00, +00:00 for UTC; not in a membership event', () => {
    for (const o of ['+01:00', '-05:30', '+14:00', '-14:00', '+00:00']) assert.equal(buildBody({ ...base(), offset: o }).offset, o);
    for (const o of ['-00:00', '+14:01', '-14:01', '+15:00', '+1:00', '01:00', '+01:60', '+01-00', '+01:00\n', '']) {
      const e = refused(() => buildBody({ ...base(), offset: o }), 'EventError', 'Field');
      assert.equal(e.field, 'offset');
      assert.equal(e.message, `body.offset: ${JSON.stringify(o)} must be +HH:MM or -HH:MM within 14:00, +00:00 for UTC`);
    }
    refused(() => buildBody({ ...base(), offset: 60 }), 'EventError', 'Malformed');
    const membership = membershipBody(1, { type: 'add_key', org: 'blue-anchor-lines', key: KeyPair.generate().publicKey }, []);
    const m = { chain: 'tradelog-vectors', kind: 'membership', time: 5, issuer: { org: 'blue-anchor-lines', key: key.publicKey }, membership };
    buildBody(m);
    const e = refused(() => buildBody({ ...m, offset: '+01:00' }), 'EventError', 'Field');
    assert.equal(e.field, 'offset');
    assert.equal(e.message, 'body.offset: a membership event has no offset');
    const wire = signEvent(base(), key).wire;
    refused(() => Event.fromJson(wire.replace('"location":"NLRTM"', '"location":"NLRTM","offset":null')), 'EventError', 'Malformed');
  });
  test('identifiers, keys and types are malformed input', () => {
    for (const d of [
      { ...base(), ucr: '6nl123' },
      { ...base(), container: 'CSQU3054384' },
      { ...base(), location: 'NL RTM' },
      { ...base(), kind: 'teleported' },
      { ...base(), issuer: { org: 'Blue', key: key.publicKey } },
      { ...base(), issuer: { org: 'blue-anchor-lines', key: key.publicKey.toUpperCase() } },
      { ...base(), issuer: { org: 'blue-anchor-lines', key: '01' + '00'.repeat(31) } },
      { ...base(), time: '1767225600000' },
      { ...base(), details: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`f${i}`, '00'.repeat(32)])) },
    ]) refused(() => buildBody(d), 'EventError', 'Malformed');
  });
  test('unknown members, null, duplicates, fractions and exponents are refused', () => {
    const wire = signEvent(base(), key).wire;
    refused(() => Event.fromJson(wire.replace('"kind"', '"extra":1,"kind"')), 'EventError', 'Malformed');
    refused(() => Event.fromJson(wire.replace('"location":"NLRTM"', '"location":null')), 'EventError', 'Malformed');
    refused(() => Event.fromJson(wire.replace('"kind":"arrived"', '"kind":"arrived","kind":"arrived"')), 'EventError', 'Malformed');
    refused(() => Event.fromJson(wire.replace('"v":1', '"v":1.0')), 'EventError', 'Malformed');
    refused(() => Event.fromJson(wire.replace('"v":1', '"v":1e0')), 'EventError', 'Malformed');
    refused(() => Event.fromJson(wire.replace('"sig":"', '"other":"","sig":"')), 'EventError', 'Malformed');
    refused(() => Event.fromJson(`[${wire}]`), 'EventError', 'Malformed');
  });
  test('sizes are checked before parsing; the canonical body is at most 16384 bytes, 131072 for membership', () => {
    const wire = signEvent(base(), key).wire;
    assert.equal(MAX_EVENT_JSON_BYTES, 262144);
    refused(() => Event.fromJson(wire + ' '.repeat(MAX_EVENT_JSON_BYTES)), 'EventError', 'TooLarge');
    refused(() => Event.fromJson(new TextEncoder().encode(wire + ' '.repeat(MAX_EVENT_JSON_BYTES))), 'EventError', 'TooLarge');
    // Whitespace up to the JSON limit is still parsed: the limit is the text's, not the body's.
    assert.equal(Event.fromJson(wire + ' '.repeat(MAX_EVENT_JSON_BYTES - wire.length)).id, signEvent(base(), key).id);
    // A membership event with 80 approvals is over 16384 bytes and within its own 131072.
    const approvals = (n) => Array.from({ length: n }, () => ({ validator: KeyPair.generate().publicKey, sig: '00'.repeat(64) }));
    const change = { type: 'add_key', org: 'blue-anchor-lines', key: KeyPair.generate().publicKey };
    const membership = (n) => ({ chain: 'c', kind: 'membership', time: 1, issuer: base().issuer, membership: { seq: 1, change, approvals: approvals(n) } });
    assert.ok(signingBytes(buildBody(membership(80))).length > 16384 + 18);
    // The same event as any other kind would be refused at 16384 (the limit follows the kind).
    const e = refused(() => signingBytes({ ...buildBody(membership(80)), kind: 'arrived' }), 'EventError', 'TooLarge');
    assert.ok(e.size > 16384 && e.max === 16384, `${e.size} ${e.max}`);
  });
});

describe('strict JSON and JCS', () => {
  test('the parser refuses what JSON.parse would accept loosely', () => {
    const cases = [['{"a":1,"a":2}', 'Duplicate'], ['{"a":1.5}', 'Number'], ['[1e2]', 'Number'], ['"\\ud800"', 'Syntax'], ['{"a":01}', 'Syntax'], ['[1,]', 'Syntax'], ['{"a":1} x', 'Syntax'], ['"\u0001"', 'Syntax']];
    for (const [bad, variant] of cases) refused(() => parseJson(bad), 'JsonError', variant);
    refused(() => parseJson(Uint8Array.of(0x22, 0xff, 0x22)), 'JsonError', 'Utf8');
  });
  test('big integers stay exact; deep nesting is refused', () => {
    assert.equal(parseJson('18446744073709551615'), 18446744073709551615n);
    refused(() => parseJson('['.repeat(200) + ']'.repeat(200)), 'JsonError', 'Syntax');
  });
  test('JCS refuses null, fractions and unsafe integers', () => {
    refused(() => canonicalize({ a: [1, null] }), 'JcsError', 'Null');
    refused(() => canonicalize(1.5), 'JcsError', 'Number');
    refused(() => canonicalize(2 ** 53), 'JcsError', 'Number');
    assert.equal(canonicalize({ b: 'é', a: '\u2028' }), '{"a":"\u2028","b":"é"}');
  });
});

describe('signatures: ZIP-215 with vetted keys', () => {
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  const le = (b) => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
  const toLE = (n) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
  // The secret scalar of a seed (RFC 8032 5.1.5).
  const scalarOf = (seed) => {
    const h = sha512(seed).slice(0, 32);
    h[0] &= 248;
    h[31] &= 127;
    h[31] |= 64;
    return le(h) % L;
  };
  test('a signature valid only under the cofactored equation is accepted (strict rules refused it)', () => {
    // R' = rB + T with T of order 8: [S]B - [k]A = R' - T, so the cofactorless check fails and
    // the cofactored one ([8]([S]B - R' - [k]A) = 0) holds.
    const P = ed25519.Point;
    const T = P.fromBytes(fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', 32), true);
    assert.ok(T.isSmallOrder() && !T.is0());
    const seed = fromHex(V.inputs.seed_1, 32);
    const a = scalarOf(seed);
    const A = fromHex(key.publicKey, 32);
    const msg = new TextEncoder().encode('tradelog zip215');
    const r = 123456789n;
    const Rp = P.BASE.multiply(r).add(T).toBytes();
    const k = le(sha512(new Uint8Array([...Rp, ...A, ...msg]))) % L;
    const S = (r + k * a) % L;
    const sig = new Uint8Array([...Rp, ...toLE(S)]);
    const cofactorless = P.BASE.multiply(S).subtract(P.fromBytes(A).multiply(k)).toBytes();
    assert.notDeepEqual(cofactorless, Rp, 'the cofactorless equation of the strict rules fails');
    assert.equal(verifySignature(key.publicKey, msg, sig), true, 'ZIP-215 accepts it');
    // S >= L is refused in both.
    const sigBig = new Uint8Array([...Rp, ...toLE(S + L)]);
    assert.equal(verifySignature(key.publicKey, msg, sigBig), false);
  });
  test('a small-order key would accept a forgery for every message: it is refused where parsed', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const forged = new Uint8Array([...P_BASE_BYTES(), ...toLE(1n)]);
    assert.equal(ed25519.verify(forged, new Uint8Array([1, 2, 3]), identity, { zip215: true }), true, 'ZIP-215 alone accepts it');
    refused(() => verifySignature(identity, new Uint8Array([1, 2, 3]), forged), 'KeyError', 'Weak');
    refused(() => parsePublicKey(toHex(identity)), 'KeyError', 'Weak');
  });
  function P_BASE_BYTES() {
    return ed25519.Point.BASE.toBytes();
  }
});
