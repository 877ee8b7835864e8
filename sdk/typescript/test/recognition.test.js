// Reading the AEO records (PROTOCOL.md 8h "Reading the records") and organisation answers (9e):
// the Register on parsed events (grants, suspensions, corrections, validity ends, arrangements
// in force and terminated, the types they cover), and answers of forged ledgers verified from
// the genesis alone, the node's own recognition not trusted.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Genesis, Register, countersign, signEvent, verifyOrganisationAnswer, verifyOrganisationBundles } from '../index.js';
import { devKey, refused } from './helpers.js';
import { forgeLog } from './forge.js';

const CARRIER = 'blue-anchor-lines';
const PLATFORM = 'shopfast';
const NL = 'nl-customs';
const DE = 'de-customs';
const FR = 'fr-customs';
const CHAIN = 'tradelog-recognition';
const CS = 'customs_simplifications';
const SS = 'security_safety';
const DAY = 86400000;
const ROLES = { [CARRIER]: 'carrier', [PLATFORM]: 'platform', [NL]: 'customs', [DE]: 'customs', [FR]: 'customs' };
const KEYS = Object.fromEntries(Object.keys(ROLES).map((o) => [o, devKey(`recognition/${o}`)]));
const T = 1767225600000;
const GENESIS = new Genesis({
  chain: CHAIN, time: T - 600000,
  organisations: Object.entries(ROLES).map(([id, role]) => ({ id, name: id, role, keys: [KEYS[id].publicKey] })),
  validators: [{ org: CARRIER, key: KEYS[CARRIER].publicKey, power: 1 }],
  rules: 2,
});

let clock = 0;
function body(kind, org, members) {
  return { v: 1, chain: CHAIN, kind, time: T + clock++, refs: [], documents: [], details: {}, issuer: { org, key: KEYS[org].publicKey }, ...members };
}
const programme = (admin) => `${admin.split('-')[0]}_aeo`;
/** `admin` grants `holder` authorisation `number` of `types` from `from` (ms after T), optionally until. */
const grant = (admin, holder, number, types, from, until) =>
  body('aeo_status', admin, { aeo: { holder, programme: programme(admin), authorisation: number, status: 'granted', types, from: T + from, ...(until !== undefined ? { until: T + until } : {}) } });
const status = (admin, holder, number, s, from) => body('aeo_status', admin, { aeo: { holder, programme: programme(admin), authorisation: number, status: s, from: T + from } });
const inForce = (admin, partner, types, from) =>
  body('mra', admin, { mra: { partner, status: 'in_force', from: T + from, types, approval: countersign(CHAIN, admin, partner, T + from, types, KEYS[partner]) } });
const terminated = (admin, partner, from) => body('mra', admin, { mra: { partner, status: 'terminated', from: T + from } });
const sign = (b) => signEvent(b, KEYS[b.issuer.org]);
/** A register over `bodies` signed in order at log positions 0, 1, ...; also the events. */
function registerOf(bodies) {
  const events = bodies.map(sign);
  const r = new Register();
  events.forEach((e, i) => r.add(i, e));
  return { r, events };
}
const at = (days) => T + days * DAY;

describe('the register (8h, reading the records)', () => {
  test('a grant is recognised by its own administration, for all its types, from its from on', () => {
    const { r, events } = registerOf([grant(DE, PLATFORM, 'DE1', [CS, SS], 10 * DAY)]);
    assert.equal(r.recognised(PLATFORM, DE, at(9)).recognised, false);
    const y = r.recognised(PLATFORM, DE, at(10));
    assert.deepEqual(y, {
      holder: PLATFORM, recognised_by: DE, at: at(10), recognised: true,
      authorisation: { issuer: DE, programme: 'de_aeo', authorisation: 'DE1', types: [CS, SS], event: events[0].id },
      types: [CS, SS], held: [{ issuer: DE, programme: 'de_aeo', authorisation: 'DE1', types: [CS, SS], event: events[0].id }],
    });
    assert.deepEqual(Object.keys(y), ['holder', 'recognised_by', 'at', 'recognised', 'authorisation', 'types', 'held'], 'the member order of the Rust Recognition');
    // Held, but not recognised by another administration without an arrangement.
    const no = r.recognised(PLATFORM, NL, at(10));
    assert.equal(no.recognised, false);
    assert.deepEqual(no.types, []);
    assert.equal(no.authorisation, undefined);
    assert.equal(no.held.length, 1);
    assert.equal(r.recognised(CARRIER, DE, at(10)).held.length, 0, "another holder's records");
  });

  test("by a partner only with an arrangement in force, for the types both cover", () => {
    const { r, events } = registerOf([
      grant(DE, PLATFORM, 'DE1', [CS, SS], 0),
      inForce(NL, DE, [SS], 20 * DAY),
      terminated(DE, NL, 40 * DAY),
      inForce(DE, NL, [CS, SS], 60 * DAY),
    ]);
    assert.equal(r.recognised(PLATFORM, NL, at(19)).recognised, false, 'before the arrangement');
    const y = r.recognised(PLATFORM, NL, at(20));
    assert.equal(y.recognised, true);
    assert.deepEqual(y.types, [SS], 'narrowed to the arrangement');
    assert.deepEqual(y.authorisation.types, [CS, SS], "the authorisation's own types");
    assert.equal(y.arrangement, events[1].id);
    assert.deepEqual(Object.keys(y), ['holder', 'recognised_by', 'at', 'recognised', 'authorisation', 'types', 'arrangement', 'held']);
    assert.equal(r.recognised(PLATFORM, NL, at(45)).recognised, false, 'terminated by either side');
    const again = r.recognised(PLATFORM, NL, at(60));
    assert.deepEqual([again.recognised, again.types, again.arrangement], [true, [CS, SS], events[3].id]);
    assert.equal(r.recognised(PLATFORM, FR, at(60)).recognised, false, 'no arrangement with this administration');
    // The same arrangement covers both directions.
    assert.deepEqual(r.arrangement(DE, NL, at(20)), { event: events[1].id, types: [SS] });
    assert.equal(r.arrangement(NL, FR, at(20)), undefined);
  });

  test('an arrangement that covers none of the types recognises nothing', () => {
    const { r } = registerOf([grant(DE, PLATFORM, 'DE1', [CS], 0), inForce(NL, DE, [SS], 0)]);
    assert.equal(r.recognised(PLATFORM, NL, at(1)).recognised, false);
    assert.equal(r.recognised(PLATFORM, DE, at(1)).recognised, true);
  });

  test('a suspension holds until a grant recorded after it applies; a revocation ends it', () => {
    const { r, events } = registerOf([
      grant(DE, PLATFORM, 'DE1', [CS, SS], 0),
      inForce(NL, DE, [SS], 0),
      status(DE, PLATFORM, 'DE1', 'suspended', 30 * DAY),
      grant(DE, PLATFORM, 'DE1', [SS], 50 * DAY),
      status(DE, PLATFORM, 'DE1', 'revoked', 70 * DAY),
    ]);
    assert.equal(r.recognised(PLATFORM, DE, at(29)).recognised, true);
    for (const by of [DE, NL]) {
      const s = r.recognised(PLATFORM, by, at(30));
      assert.equal(s.recognised, false, `suspended, ${by}`);
      assert.deepEqual(s.held, [], 'a suspended authorisation is not held');
    }
    const back = r.recognised(PLATFORM, NL, at(55));
    assert.deepEqual([back.recognised, back.types, back.authorisation.event], [true, [SS], events[3].id], 'reinstated');
    assert.equal(r.recognised(PLATFORM, DE, at(70)).recognised, false, 'revoked');
    // The grant recorded later corrects the earlier records only for the times it covers.
    assert.equal(r.recognised(PLATFORM, DE, at(10)).authorisation.event, events[0].id);
  });

  test('a grant ends at its until; a grant recorded later corrects an earlier record (back-dated loading)', () => {
    const { r, events } = registerOf([
      status(NL, CARRIER, 'NL7', 'revoked', 0),
      grant(NL, CARRIER, 'NL7', [SS], 0, 10 * DAY),
    ]);
    assert.equal(r.recognised(CARRIER, NL, at(5)).authorisation.event, events[1].id);
    assert.equal(r.recognised(CARRIER, NL, at(10)).recognised, false, 'until is exclusive; the revocation applies again');
  });

  test("the administration's own authorisation is the basis before others; then issuer, number order", () => {
    const { r } = registerOf([
      grant(FR, PLATFORM, 'FR1', [SS], 0),
      grant(DE, PLATFORM, 'DE2', [SS], 0),
      grant(DE, PLATFORM, 'DE1', [SS], 0),
      grant(NL, PLATFORM, 'NL1', [CS], 0),
      inForce(NL, DE, [SS], 0),
      inForce(NL, FR, [SS], 0),
    ]);
    assert.deepEqual(r.held(PLATFORM, at(1)).map((a) => a.authorisation), ['DE1', 'DE2', 'FR1', 'NL1']);
    assert.equal(r.recognised(PLATFORM, NL, at(1)).authorisation.authorisation, 'NL1');
    assert.deepEqual(r.recognised(PLATFORM, NL, at(1)).types, [CS]);
    const { r: r2 } = registerOf([grant(FR, PLATFORM, 'FR1', [SS], 0), grant(DE, PLATFORM, 'DE1', [SS], 0), inForce(NL, DE, [SS], 0), inForce(NL, FR, [SS], 0)]);
    assert.equal(r2.recognised(PLATFORM, NL, at(1)).authorisation.issuer, DE);
  });

  test('an event added twice (from two histories) counts once; log order, not insertion order, decides', () => {
    const events = [grant(DE, PLATFORM, 'DE1', [SS], 0), status(DE, PLATFORM, 'DE1', 'suspended', 0)].map(sign);
    const r = new Register();
    r.add(5n, events[1]);
    r.add(2n, events[0]);
    r.add(5n, events[1]);
    assert.equal(r.aeo.values().next().value.records.length, 2);
    assert.equal(r.recognised(PLATFORM, DE, at(1)).recognised, false, 'the suspension is later in the log');
    r.add(1n, sign(body('booked', PLATFORM, { ucr: '6NL123456789-AB' })));
    assert.equal(r.aeo.size + r.mra.size, 1, 'other kinds are ignored');
  });
});

describe('organisation answers (9e)', () => {
  const bodies = [
    grant(DE, PLATFORM, 'DE1', [CS, SS], 0),
    grant(NL, CARRIER, 'NL1', [SS], 0),
    inForce(NL, DE, [SS], 20 * DAY),
    body('booked', PLATFORM, { ucr: '6NL123456789-AB' }),
    status(DE, PLATFORM, 'DE1', 'suspended', 40 * DAY),
  ];
  const log = forgeLog(GENESIS, KEYS[CARRIER], bodies.map((b) => [b, KEYS[b.issuer.org]]));
  const org = (id) => ({ type: 'organisation', id });
  const answer = (holder, by, recognition = { lies: true }) => ({
    organisation: { id: holder, name: holder, role: ROLES[holder], keys: [KEYS[holder].publicKey] },
    bundles: [log.bundle(org(holder)), ...(by !== holder ? [log.bundle(org(by))] : [])],
    recognition,
  });

  test("recomputes the recognition from the bundles, not the node's", () => {
    const y = verifyOrganisationAnswer(GENESIS, answer(PLATFORM, NL), PLATFORM, NL, at(25));
    assert.deepEqual([y.recognised, y.types, y.arrangement, y.authorisation.event], [true, [SS], log.events[2].id, log.events[0].id]);
    assert.equal(verifyOrganisationAnswer(GENESIS, answer(PLATFORM, NL), PLATFORM, NL, at(10)).recognised, false);
    assert.equal(verifyOrganisationAnswer(GENESIS, JSON.stringify(answer(PLATFORM, NL)), PLATFORM, NL, at(45)).recognised, false, 'suspended');
    // Default time: the head's.
    assert.equal(verifyOrganisationAnswer(GENESIS, answer(PLATFORM, NL), PLATFORM, NL).at, log.head.time);
    // Without recognised_by: the holder's own records.
    const own = verifyOrganisationAnswer(GENESIS, answer(PLATFORM, PLATFORM), PLATFORM, PLATFORM, at(1));
    assert.deepEqual([own.recognised, own.held.map((a) => a.issuer)], [false, [DE]]);
    const { register, head, provenances } = verifyOrganisationBundles(GENESIS, answer(CARRIER, DE), CARRIER, DE);
    assert.equal(head.height, 1n);
    assert.deepEqual(provenances.map((p) => p.events.length), [1, 1]);
    assert.deepEqual(register.recognised(CARRIER, DE, at(25)).types, [SS], 'any time, from one verification');
    assert.equal(register.recognised(CARRIER, DE, at(5)).recognised, false);
  });

  test('refuses bundles of other subjects, a history with a record left out, and bundles at two heads', () => {
    const swapped = answer(PLATFORM, NL);
    swapped.bundles.reverse();
    const e = refused(() => verifyOrganisationAnswer(GENESIS, swapped, PLATFORM, NL), 'RecognitionError', 'Subjects');
    assert.equal(e.message, 'bundles: expected the organisation subjects of organisation shopfast, organisation nl-customs, got organisation nl-customs, organisation shopfast');
    refused(() => verifyOrganisationAnswer(GENESIS, answer(PLATFORM, PLATFORM), PLATFORM, NL), 'RecognitionError', 'Subjects');
    for (const bad of [{ bundles: [] }, '{"organisation":{},"bundles":[],"recognition":{},"recognition":{}}']) {
      assert.equal(refused(() => verifyOrganisationAnswer(GENESIS, bad, PLATFORM), 'RecognitionError', 'Malformed').err.name, 'JsonError');
    }
    const hidden = answer(PLATFORM, NL);
    hidden.bundles[0].events.pop(); // the suspension
    const h = refused(() => verifyOrganisationAnswer(GENESIS, hidden, PLATFORM, NL, at(45)), 'RecognitionError', 'Bundle', 'Incomplete');
    assert.equal(h.pos, 0);
    assert.match(h.message, /^bundles\[0\]: incomplete/);
    const noMra = answer(PLATFORM, NL);
    noMra.bundles[1].events = [];
    assert.equal(refused(() => verifyOrganisationAnswer(GENESIS, noMra, PLATFORM, NL), 'RecognitionError', 'Bundle', 'Incomplete').pos, 1);
    const other = forgeLog(GENESIS, KEYS[CARRIER], [grant(NL, CARRIER, 'NL9', [SS], 0)].map((b) => [b, KEYS[b.issuer.org]]));
    const mixed = answer(PLATFORM, NL);
    mixed.bundles[1] = other.bundle(org(NL));
    const m = refused(() => verifyOrganisationAnswer(GENESIS, mixed, PLATFORM, NL), 'RecognitionError', 'Heads');
    assert.match(m.message, /both must be at one head/);
  });
});
