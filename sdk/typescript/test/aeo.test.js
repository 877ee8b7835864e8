// AEO status and mutual recognition (PROTOCOL.md 3.2 `aeo`, `mra`; 3.4; 8h), advance data and
// risk outcomes (3.2 `reason`; 8i; 9 step 6): the members' rules, who may issue them, the
// holder, the partner and its countersignature under the membership, organisation subjects
// (5, 9 step 3) and the outcome rule in consignment bundles, on ledgers forged here from a
// genesis of two customs administrations, a carrier (the one validator), a platform and an
// auditor.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  Genesis, Membership, buildBody, signEvent, mayIssue, verifyBundle, requiresLocation, countersign, mraTermsMessage, commitDetail,
  subjectKey, subjectName, parseSubject, firstUnassessedOutcome, EVENT_KINDS, ADVANCE_FIELDS, RISK_OUTCOME_KINDS, toHex, D, utf8Bytes,
} from '../index.js';
import { devKey, refused } from './helpers.js';
import { forgeLog } from './forge.js';

const CARRIER = 'blue-anchor-lines';
const PLATFORM = 'shopfast';
const NL = 'nl-customs';
const DE = 'de-customs';
const AUDITOR = 'audit-office';
const UCR = '6NL123456789-AB';
const CHAIN = 'tradelog-aeo';
const CS = 'customs_simplifications';
const SS = 'security_safety';
const ROLES = { [CARRIER]: 'carrier', [PLATFORM]: 'platform', [NL]: 'customs', [DE]: 'customs', [AUDITOR]: 'auditor' };
const KEYS = Object.fromEntries(Object.keys(ROLES).map((o) => [o, devKey(`aeo/${o}`)]));
const T = 1767225600000;
const GENESIS = new Genesis({
  chain: CHAIN, time: T - 600000,
  organisations: Object.entries(ROLES).map(([id, role]) => ({ id, name: id, role, keys: [KEYS[id].publicKey] })),
  validators: [{ org: CARRIER, key: KEYS[CARRIER].publicKey, power: 1 }],
  rules: 2,
});

function body(kind, org, members = {}, time = T) {
  return { v: 1, chain: CHAIN, kind, time, refs: [], documents: [], details: {}, issuer: { org, key: KEYS[org].publicKey }, ...members };
}
const grant = (holder = PLATFORM, extra = {}) => ({ holder, programme: 'nl_aeo', authorisation: 'NLAEOF0001', status: 'granted', types: [CS, SS], from: T, ...extra });
/** A record of `status` (no types, no until) for the grant's authorisation. */
function record(status, extra = {}) {
  const { types, ...r } = grant();
  assert.ok(types);
  return { ...r, status, ...extra };
}
const aeo = (issuer, rec) => body('aeo_status', issuer, { aeo: rec });
/** An arrangement of `issuer` with `partner` in force from T, countersigned by `signer` (the partner's key unless told). */
function inForce(issuer, partner, { types = [SS], signer = KEYS[partner], termsTypes = types, chain = CHAIN } = {}) {
  return body('mra', issuer, { mra: { partner, status: 'in_force', from: T, types, approval: countersign(chain, issuer, partner, T, termsTypes, signer) } });
}
const terminated = (issuer, partner) => body('mra', issuer, { mra: { partner, status: 'terminated', from: T } });
const details = () => Object.fromEntries(ADVANCE_FIELDS.map((n) => [n, commitDetail(n, '1', '00'.repeat(16))]));
const advance = (ucr = UCR, org = PLATFORM, time = T) => body('advance_data', org, { ucr, details: details() }, time);
const outcome = (refs, ucr = UCR, kind = 'risk_referred', time = T + 1000) => body(kind, NL, { ucr, refs, reason: 'r12_undervaluation' }, time);
const idOf = (b) => signEvent(b, KEYS[b.issuer.org]).id;
const forge = (bodies) => forgeLog(GENESIS, KEYS[CARRIER], bodies.map((b) => [b, KEYS[b.issuer.org]]));
const fieldRefused = (b, field, re) => {
  const e = refused(() => buildBody(b), 'EventError', 'Field');
  assert.equal(e.field, field, e.message);
  if (re) assert.match(e.message, re);
};
const authRefused = (b, variant, message) => {
  const e = refused(() => GENESIS.membership().authorize(signEvent(b, KEYS[b.issuer.org]).body), 'AuthError', variant);
  if (message !== undefined) assert.equal(e.message, message);
};

describe('the aeo and mra members (3.2, 8h)', () => {
  test('kinds, no location, and the canonical member order', () => {
    for (const k of ['aeo_status', 'mra', 'advance_data', ...RISK_OUTCOME_KINDS]) {
      assert.ok(EVENT_KINDS.includes(k), k);
      assert.equal(requiresLocation(k), false, k);
    }
    assert.ok(signEvent(aeo(NL, grant()), KEYS[NL]).canonicalBody.startsWith('{"aeo":{"authorisation":"NLAEOF0001","from":'));
    assert.ok(signEvent(inForce(NL, DE), KEYS[NL]).canonicalBody.includes('"kind":"mra","mra":{"approval":'));
  });

  test('aeo: types exactly when granted, until after from, the members\' shapes', () => {
    buildBody(aeo(NL, grant(PLATFORM, { until: T + 1 })));
    buildBody(aeo(NL, record('suspended')));
    fieldRefused(body('aeo_status', NL), 'aeo', /required for kind aeo_status/);
    const { types, ...untyped } = grant();
    assert.ok(types);
    fieldRefused(aeo(NL, untyped), 'aeo.types', /required when granted/);
    fieldRefused(aeo(NL, { ...untyped, status: 'revoked', types: [SS] }), 'aeo.types', /only when granted/);
    fieldRefused(aeo(NL, { ...untyped, status: 'revoked', until: T + 1 }), 'aeo.until', /only when granted/);
    for (const t of [[SS, CS], [SS, SS], []]) fieldRefused(aeo(NL, grant(PLATFORM, { types: t })), 'aeo.types', /ascending, each once/);
    for (const u of [T, T - 1, 2 ** 53]) fieldRefused(aeo(NL, grant(PLATFORM, { until: u })), 'aeo.until');
    fieldRefused(aeo(NL, grant(PLATFORM, { programme: 'NL_AEO' })), 'aeo.programme');
    fieldRefused(aeo(NL, grant(PLATFORM, { authorisation: 'nl aeo' })), 'aeo.authorisation');
    fieldRefused(aeo(NL, grant(PLATFORM, { authorisation: 'A'.repeat(36) })), 'aeo.authorisation');
    for (const bad of [{ types: ['security'] }, { status: 'withdrawn' }, { holder: 'Shopfast' }, { extra: 1 }, { until: null }]) {
      refused(() => buildBody(aeo(NL, grant(PLATFORM, bad))), 'EventError', 'Malformed');
    }
    fieldRefused(body('held', NL, { ucr: UCR, aeo: grant() }), 'aeo', /only allowed for kind aeo_status/);
  });

  test('mra: an arrangement in force needs the partner\'s countersignature; a termination has none', () => {
    buildBody(inForce(NL, DE));
    buildBody(terminated(NL, DE));
    const { approval, ...unsigned } = inForce(NL, DE).mra;
    assert.ok(approval);
    fieldRefused(body('mra', NL, { mra: unsigned }), 'mra.approval', /countersignature/);
    const { types, ...untyped } = unsigned;
    assert.ok(types);
    fieldRefused(body('mra', NL, { mra: { ...untyped, approval } }), 'mra.types', /required when in force/);
    fieldRefused(body('mra', NL, { mra: { ...terminated(NL, DE).mra, types: [SS] } }), 'mra.types', /only when in force/);
    fieldRefused(body('mra', NL, { mra: { ...terminated(NL, DE).mra, approval } }), 'mra.approval', /no countersignature/);
    refused(() => buildBody(body('mra', NL, { mra: { ...inForce(NL, DE).mra, approval: { ...approval, key: '00'.repeat(32) } } })), 'EventError', 'Malformed');
    fieldRefused(body('mra', NL), 'mra', /required for kind mra/);
  });

  test('an aeo_status or mra event names no goods', () => {
    for (const rec of [aeo(NL, grant()), inForce(NL, DE)]) {
      for (const [member, value, field] of [['ucr', UCR, 'ucr'], ['container', 'CSQU3054383', 'ucr'], ['ids', ['sscc:106141412345678908'], 'ucr'],
        ['location', 'NLRTM', 'location'], ['offset', '+01:00', 'location'], ['transport', { mode: 'sea', means: 'IMO9321483' }, 'location'],
        ['parties', [PLATFORM], 'parties'], ['source', { standard: 'dcsa', id: 'x' }, 'parties']]) {
        fieldRefused({ ...rec, [member]: value }, field, new RegExp(`a ${rec.kind} event`));
      }
      fieldRefused({ ...rec, reason: 'r01' }, 'reason', /only allowed for the risk outcome kinds/);
    }
  });
});

describe('who records them, under the membership (3.4, 8h)', () => {
  test('the permission table', () => {
    for (const [kind, roles] of [['aeo_status', ['customs']], ['mra', ['customs']], ['advance_data', ['carrier', 'platform']], ...RISK_OUTCOME_KINDS.map((k) => [k, ['customs']])]) {
      for (const role of ['customs', 'carrier', 'platform', 'auditor']) assert.equal(mayIssue(role, kind), roles.includes(role), `${role} ${kind}`);
    }
    authRefused(aeo(PLATFORM, grant()), 'Forbidden');
    authRefused(advance(UCR, NL), 'Forbidden');
    authRefused(body('risk_cleared', CARRIER, { ucr: UCR, refs: ['ab'.repeat(32)], reason: 'r00' }), 'Forbidden');
  });

  test('the holder is a carrier or platform member', () => {
    GENESIS.membership().authorize(buildBody(aeo(NL, grant(CARRIER))));
    authRefused(aeo(NL, grant(DE)), 'AeoHolder', 'body.aeo.holder: de-customs: a customs organisation holds no AEO authorisation (carriers and platforms do)');
    authRefused(aeo(NL, grant(AUDITOR)), 'AeoHolder');
    authRefused(aeo(NL, grant('rhine-barge')), 'AeoHolder', 'body.aeo.holder: rhine-barge: not a member of this ledger');
  });

  test('the partner is another customs administration, whose current key countersigns the terms', () => {
    GENESIS.membership().authorize(buildBody(inForce(NL, DE)));
    GENESIS.membership().authorize(buildBody(terminated(DE, NL)));
    authRefused(terminated(NL, NL), 'MraPartner', "body.mra.partner: nl-customs: an administration's arrangement is with another one");
    authRefused(terminated(NL, PLATFORM), 'MraPartner', 'body.mra.partner: shopfast: a platform organisation is not a customs administration');
    authRefused(terminated(NL, 'fr-customs'), 'MraPartner', 'body.mra.partner: fr-customs: not a member of this ledger');
    const both = 'an arrangement is in force only when both administrations sign its terms';
    authRefused(inForce(NL, DE, { signer: KEYS[NL] }), 'MraApproval', `body.mra.approval: key ${KEYS[NL].publicKey} is not a current key of de-customs; ${both}`);
    authRefused(inForce(NL, DE, { types: [CS, SS], termsTypes: [SS] }), 'MraApproval', `body.mra.approval: the signature of de-customs does not verify over the terms; ${both}`);
    authRefused(inForce(NL, DE, { chain: 'tradelog-other' }), 'MraApproval');
    const moved = inForce(NL, DE);
    moved.mra.from = T + 1;
    authRefused(moved, 'MraApproval');
    // A revoked key countersigns nothing.
    const m = GENESIS.membership();
    const next = devKey('aeo/de-customs/2');
    m.addKey(DE, next.publicKey);
    m.revokeKey(DE, KEYS[DE].publicKey);
    assert.throws(() => m.authorize(buildBody(inForce(NL, DE))), (e) => e.variant === 'MraApproval');
    m.authorize(buildBody(inForce(NL, DE, { signer: next })));
    assert.ok(m instanceof Membership);
  });

  test('the terms message', () => {
    const msg = mraTermsMessage(CHAIN, NL, DE, T, [SS]);
    assert.equal(new TextDecoder().decode(msg), `tradelog/mra/v1\0{"chain":"${CHAIN}","from":${T},"issuer":"nl-customs","partner":"de-customs","types":["security_safety"]}`);
  });
});

describe('organisation subjects (5, 9 step 3)', () => {
  test('key 0x05, the subject JSON and its name', () => {
    assert.equal(subjectKey({ type: 'organisation', id: PLATFORM }), toHex(D('tradelog/index-key/v1', utf8Bytes(`\u0005${PLATFORM}`))));
    assert.deepEqual(parseSubject({ type: 'organisation', id: PLATFORM }), { type: 'organisation', id: PLATFORM });
    assert.equal(subjectName({ type: 'organisation', id: PLATFORM }), 'organisation shopfast');
    refused(() => parseSubject({ type: 'organisation', id: 'Shopfast' }), 'JsonError', 'Schema');
  });

  test('bundles of a holder\'s records and of both administrations\' arrangements verify; an event about another is refused', () => {
    const log = forge([aeo(DE, grant()), inForce(NL, DE), aeo(DE, record('suspended', { from: T + 5 })), body('booked', PLATFORM, { ucr: UCR })]);
    assert.deepEqual(verifyBundle(GENESIS, log.bundle({ type: 'organisation', id: PLATFORM })).events.map((e) => e.index), [0n, 2n]);
    assert.deepEqual(verifyBundle(GENESIS, log.bundle({ type: 'organisation', id: NL })).events.map((e) => e.index), [1n]);
    assert.deepEqual(verifyBundle(GENESIS, log.bundle({ type: 'organisation', id: DE })).events.map((e) => e.index), [1n]);
    assert.deepEqual(verifyBundle(GENESIS, log.bundle({ type: 'organisation', id: CARRIER })).events, []);
    const b = log.bundle({ type: 'organisation', id: PLATFORM });
    b.events.splice(1, 0, log.bundle({ type: 'organisation', id: NL }).events[0]);
    refused(() => verifyBundle(GENESIS, b), 'BundleError', 'Subject');
    const hidden = log.bundle({ type: 'organisation', id: PLATFORM });
    hidden.events.pop();
    refused(() => verifyBundle(GENESIS, hidden), 'BundleError', 'Incomplete');
  });

  test('a bundle refuses a forged arrangement its validators admitted', () => {
    const log = forge([inForce(NL, DE, { signer: KEYS[NL] })]);
    const e = refused(() => verifyBundle(GENESIS, log.bundle({ type: 'organisation', id: NL })), 'BundleError', 'Auth', 'MraApproval');
    assert.match(e.message, /^events\[0\]: body\.mra\.approval: key /);
  });
});

describe('advance data and risk outcomes (8i, 9 step 6)', () => {
  test('the members\' rules', () => {
    buildBody(advance());
    const d = details();
    delete d.currency;
    fieldRefused({ ...advance(), details: d }, 'details', /^body\.details: advance_data commits to hs_code, declared_value, currency, consignor_country, consignee_country, item_count, gross_weight_kg: "currency" is missing$/);
    const { ucr, ...noUcr } = advance();
    assert.ok(ucr);
    fieldRefused({ ...noUcr, container: 'CSQU3054383' }, 'ucr', /required for kind advance_data/);
    for (const kind of RISK_OUTCOME_KINDS) {
      const o = outcome(['ab'.repeat(32)], UCR, kind);
      assert.ok(buildBody(o) && signEvent(o, KEYS[NL]).canonicalBody.includes(`"kind":"${kind}","reason":"r12_undervaluation","refs":[`));
      const { reason, ...noReason } = o;
      assert.ok(reason);
      fieldRefused(noReason, 'reason', new RegExp(`required for kind ${kind}`));
      for (const bad of ['R12', '', 'r'.repeat(33), 'r-12']) fieldRefused({ ...o, reason: bad }, 'reason', /must be 1-32 characters/);
      fieldRefused({ ...o, refs: [] }, 'refs', /a risk outcome refers to the advance_data event it assesses/);
    }
    fieldRefused({ ...advance(), reason: 'r01' }, 'reason', /only allowed for the risk outcome kinds/);
  });

  test('each outcome of a consignment bundle assesses an earlier advance_data event of it', () => {
    const filed = advance();
    const ok = forge([filed, outcome([idOf(filed)]), outcome(['ab'.repeat(32), idOf(filed)], UCR, 'risk_do_not_load', T + 2000)]);
    assert.equal(verifyBundle(GENESIS, ok.bundle({ type: 'consignment', id: UCR })).events.length, 3);
    const outcomeRefused = (bodies, ucr, pos) => {
      const e = refused(() => verifyBundle(GENESIS, forge(bodies).bundle({ type: 'consignment', id: ucr })), 'BundleError', 'Outcome');
      assert.equal(e.pos, pos);
      assert.equal(e.message, `events[${pos}]: body.refs: a risk outcome refers to no earlier advance_data event of its consignment`);
    };
    const other = '6NL000000000-ZZ';
    outcomeRefused([filed, outcome([idOf(filed)], other)], other, 0);
    const later = advance(UCR, PLATFORM, T + 5000);
    outcomeRefused([outcome([idOf(later)]), later], UCR, 0);
    const booked = body('booked', PLATFORM, { ucr: UCR });
    outcomeRefused([booked, outcome([idOf(booked)])], UCR, 1);
    const events = [advance(other), outcome([idOf(advance(other))])].map((b) => signEvent(b, KEYS[b.issuer.org]));
    assert.equal(firstUnassessedOutcome(events), 1);
  });
});
