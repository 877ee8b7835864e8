// Corrections (PROTOCOL.md 3.2 `retracts`, 3.4 kind `retracted`, 8g, 9 step 6): the member's
// rules, who may retract, and rule 8g in bundles and routes forged here from a genesis of five
// organisations (one of each role and a second carrier; the first carrier is the one validator).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  Event, Genesis, buildBody, signEvent, canonicalBody, mayIssue, verifyBundle, verifyRoute, timelineJson, checkRetractions,
  retractsEvent, retractsSource, requiresLocation, EVENT_KINDS,
} from '../index.js';
import { clone, devKey, refused } from './helpers.js';
import { forgeLog } from './forge.js';

const CARRIER = 'blue-anchor-lines';
const OTHER_CARRIER = 'north-star-shipping';
const PLATFORM = 'shopfast';
const CUSTOMS = 'nl-customs';
const AUDITOR = 'audit-office';
const UCR = '6NL123456789-AB';
const BOX = 'CSQU3054383';
const OTHER_BOX = 'MSCU1234566';
const BL = 'bl:blue-anchor-lines:BALRTM0001';
const SRC = { standard: 'dcsa', id: '84db923d-2a19-4eb0-beb5-446c1ec57d34' };
const ROLES = { [CARRIER]: 'carrier', [OTHER_CARRIER]: 'carrier', [PLATFORM]: 'platform', [CUSTOMS]: 'customs', [AUDITOR]: 'auditor' };
const KEYS = Object.fromEntries(Object.keys(ROLES).map((o) => [o, devKey(`links/${o}`)]));
const T = 1767225600000;

function genesisOf(rules) {
  return new Genesis({
    chain: 'tradelog-links', time: T - 600000,
    organisations: Object.entries(ROLES).map(([id, role]) => ({ id, name: id, role, keys: [KEYS[id].publicKey] })),
    validators: [{ org: CARRIER, key: KEYS[CARRIER].publicKey, power: 1 }],
    ...(rules === null ? {} : { rules }),
  });
}
const GENESIS = genesisOf(2);

function body(kind, time, org, members = {}) {
  return { v: 1, chain: 'tradelog-links', kind, time, refs: [], documents: [], details: {}, issuer: { org, key: KEYS[org].publicKey }, ...members };
}
/** A `retracted` event of `org` about UCR and BOX unless `subjects` say otherwise (`undefined`: absent). */
function retraction(time, retracts, org = CARRIER, subjects = {}) {
  const b = body('retracted', time, org, { ucr: UCR, container: BOX, ...subjects, retracts });
  for (const [k, v] of Object.entries(subjects)) if (v === undefined) delete b[k];
  return b;
}
const idOf = (b) => signEvent(b, KEYS[b.issuer.org]).id;
const forge = (bodies, genesis = GENESIS) => forgeLog(genesis, KEYS[CARRIER], bodies.map((b) => [b, KEYS[b.issuer.org]]));

/**
 * A platform's consignment, two carrier movements of BOX (the first imported with a source), the
 * carrier retracting the first by its source and the second by its id, a later movement.
 */
function bodies() {
  const departed = body('departed', T + 2000, CARRIER, { ucr: UCR, container: BOX, location: 'NLRTM' });
  return [
    body('booked', T, PLATFORM, { ucr: UCR, parties: [CARRIER] }), // 0
    body('loaded', T + 1000, CARRIER, { ucr: UCR, container: BOX, location: 'NLRTM', source: clone(SRC) }), // 1
    departed, // 2
    retraction(T + 3000, { source: clone(SRC) }), // 3
    retraction(T + 4000, { event: idOf(departed) }), // 4
    body('arrived', T + 5000, CARRIER, { ucr: UCR, container: BOX, location: 'DEHAM' }), // 5
  ];
}
const CONSIGNMENT = { type: 'consignment', id: UCR };
const CONTAINER = { type: 'container', id: BOX };

function bundleRefused(list, subject, message) {
  const b = forge(list).bundle(subject);
  const e = refused(() => verifyBundle(GENESIS, b), 'BundleError', 'Retraction');
  assert.equal(e.message, message);
  return e;
}

describe('the retracts member and the kind retracted (3.2, 3.4)', () => {
  const field = (b, f, message) => {
    const e = refused(() => buildBody(b), 'EventError', 'Field');
    assert.equal(e.field, f, e.message);
    if (message !== undefined) assert.equal(e.message, message);
  };
  test('both forms parse; retracts sorts between refs and time; no location needed', () => {
    assert.ok(EVENT_KINDS.includes('retracted'));
    assert.equal(requiresLocation('retracted'), false);
    const bySource = buildBody(retraction(T, retractsSource(SRC.standard, SRC.id)));
    assert.deepEqual(bySource.retracts, { source: SRC });
    assert.match(canonicalBody(bySource), /"refs":\[\],"retracts":\{"source":\{"id":"84db923d-2a19-4eb0-beb5-446c1ec57d34","standard":"dcsa"\}\},"time":/);
    const byEvent = buildBody(retraction(T, retractsEvent('ab'.repeat(32))));
    assert.deepEqual(byEvent.retracts, { event: 'ab'.repeat(32) });
    // ids alone name a subject too
    buildBody(retraction(T, retractsEvent('ab'.repeat(32)), CARRIER, { ucr: undefined, container: undefined, ids: [BL] }));
    field(retraction(T, retractsEvent('ab'.repeat(32)), CARRIER, { ucr: undefined, container: undefined }), 'ucr');
    // through the wire form
    const ev = signEvent(retraction(T, { source: SRC }), KEYS[CARRIER]);
    assert.deepEqual(Event.fromJson(ev.wire).body.retracts, { source: SRC });
  });
  test('present exactly when kind is retracted', () => {
    field(body('booked', T, CARRIER, { ucr: UCR, retracts: retractsEvent('ab'.repeat(32)) }), 'retracts', 'body.retracts: only allowed for kind retracted, not booked');
    const none = retraction(T, undefined);
    delete none.retracts;
    field(none, 'retracts', 'body.retracts: required for kind retracted');
    const m = JSON.parse(signEvent(retraction(T, { event: 'ab'.repeat(32) }), KEYS[CARRIER]).wire);
    m.body.kind = 'booked';
    refused(() => Event.fromObject(m), 'EventError', 'Field');
  });
  test('exactly one member, event or source, each with its rules', () => {
    const wire = JSON.parse(signEvent(retraction(T, { event: 'ab'.repeat(32) }), KEYS[CARRIER]).wire);
    for (const r of [{}, { event: 'ab'.repeat(32), source: SRC }, { id: 'x' }, { event: 'ab'.repeat(32), extra: 1 }, null, 'ab'.repeat(32), [],
      { event: 'AB'.repeat(32) }, { event: 'ab'.repeat(31) }, { event: null }, { source: { standard: 'dcsa' } }, { source: { standard: 'dcsa', id: 'x', extra: 1 } }, { source: null }]) {
      const w = clone(wire);
      w.body.retracts = r;
      refused(() => Event.fromJson(JSON.stringify(w)), 'EventError', 'Malformed');
    }
    field(retraction(T, retractsSource('DCSA', 'x')), 'retracts.source.standard', `body.retracts.source.standard: "DCSA" must be 1-32 characters of a-z, 0-9, '_'`);
    field(retraction(T, retractsSource('dcsa', 'has space')), 'retracts.source.id', "body.retracts.source.id: must be 1-256 characters of printable ASCII ('!' to '~')");
    field(retraction(T, retractsSource('dcsa', 'x'.repeat(257))), 'retracts.source.id');
  });
  test('roles customs, carrier and platform may issue it, not auditor', () => {
    assert.deepEqual(['customs', 'carrier', 'platform', 'auditor'].map((r) => mayIssue(r, 'retracted')), [true, true, true, false]);
    const m = GENESIS.membership();
    for (const org of [CARRIER, PLATFORM, CUSTOMS]) m.authorize(buildBody(retraction(T, { event: 'ab'.repeat(32) }, org)));
    const e = refused(() => m.authorize(buildBody(retraction(T, { event: 'ab'.repeat(32) }, AUDITOR))), 'AuthError', 'Forbidden');
    assert.match(e.message, /may not issue retracted events/);
  });
});

describe('rule 8g in bundles (9 step 6)', () => {
  test('retractions by source and by event verify; the originals show as retracted (log index -> retraction\'s)', () => {
    const log = forge(bodies());
    for (const subject of [CONSIGNMENT, CONTAINER]) {
      const p = verifyBundle(GENESIS, log.bundle(subject));
      assert.deepEqual([...p.retracted], [[1n, 3n], [2n, 4n]]);
    }
    // under rules 1 as well
    const rules1 = bodies();
    delete rules1[0].parties;
    const g1 = genesisOf(null);
    assert.deepEqual([...verifyBundle(g1, forge(rules1, g1).bundle(CONSIGNMENT)).retracted], [[1n, 3n], [2n, 4n]]);
    // a history without retractions
    assert.equal(verifyBundle(GENESIS, forge(bodies().slice(0, 3)).bundle(CONSIGNMENT)).retracted.size, 0);
  });
  test('a target later than the retraction: no earlier event', () => {
    const later = body('loaded', T + 2000, CARRIER, { ucr: UCR, container: BOX, location: 'NLRTM', source: clone(SRC) });
    for (const [retracts, what] of [[{ event: idOf(later) }, idOf(later)], [{ source: clone(SRC) }, `dcsa "${SRC.id}"`]]) {
      const list = [body('booked', T, PLATFORM, { ucr: UCR, parties: [CARRIER] }), retraction(T + 1000, retracts), later];
      const e = bundleRefused(list, CONSIGNMENT, `events[1]: body.retracts: no earlier event ${what} of ${CARRIER} for this consignment and container`);
      assert.equal(e.pos, 1);
      assert.equal(e.target, undefined);
    }
    bundleRefused([...bodies().slice(0, 3), retraction(T + 3000, retractsSource('dcsa', 'other'))], CONTAINER,
      `events[2]: body.retracts: no earlier event dcsa "other" of ${CARRIER} for this consignment and container`);
  });
  test('another organisation\'s event', () => {
    const list = bodies().slice(0, 3);
    const target = idOf(list[0]); // the platform's booking
    const e = bundleRefused([...list, retraction(T + 3000, { event: target }, CARRIER, { container: undefined })], CONSIGNMENT,
      `events[3]: body.retracts: ${target} was issued by ${PLATFORM}: an organisation retracts only its own events`);
    assert.equal(e.target, 0);
    // by source another organisation's event is no candidate: the source key has the org
    bundleRefused([...bodies().slice(0, 3), retraction(T + 3000, { source: clone(SRC) }, PLATFORM)], CONSIGNMENT,
      `events[3]: body.retracts: no earlier event dcsa "${SRC.id}" of ${PLATFORM} for this consignment and container`);
  });
  test('other subjects: a different container, or ids', () => {
    const list = bodies().slice(0, 3);
    const target = idOf(list[2]);
    const other = [...list, retraction(T + 3000, { event: target }, CARRIER, { container: OTHER_BOX })];
    bundleRefused(other, CONSIGNMENT, `events[3]: body.retracts: ${target} names other subjects (ucr, container, ids must be equal)`);
    // the retraction's container history does not hold the target at all
    bundleRefused(other, { type: 'container', id: OTHER_BOX }, `events[0]: body.retracts: no earlier event ${target} of ${CARRIER} for this consignment and container`);
    bundleRefused([...list, retraction(T + 3000, { event: target }, CARRIER, { ids: [BL] })], CONTAINER,
      `events[2]: body.retracts: ${target} names other subjects (ucr, container, ids must be equal)`);
  });
  test('retracting a retraction', () => {
    const list = bodies();
    const first = idOf(list[3]);
    bundleRefused([...list, retraction(T + 6000, { event: first })], CONSIGNMENT, `events[6]: body.retracts: ${first} is a retracted event, which is not retracted`);
  });
  test('retracting twice names the second\'s position and the first\'s', () => {
    const list = bodies();
    const loaded = idOf(list[1]);
    const twice = [...list, retraction(T + 6000, { event: loaded })];
    const e = bundleRefused(twice, CONSIGNMENT, `events[6]: body.retracts: ${loaded} is already retracted by events[3]`);
    assert.deepEqual([e.pos, e.target, e.first], [6, 1, 3]);
    // positions are the bundle's: the container's history has no booking
    bundleRefused(twice, CONTAINER, `events[5]: body.retracts: ${loaded} is already retracted by events[2]`);
    bundleRefused([...list, retraction(T + 6000, { source: clone(SRC) })], CONSIGNMENT, `events[6]: body.retracts: dcsa "${SRC.id}" is already retracted by events[3]`);
  });
  test('checkRetractions: positions, first failure', () => {
    const events = forge(bodies()).events;
    const r = checkRetractions(events);
    assert.equal(r.error, undefined);
    assert.deepEqual([...r.retracted], [[1, 3], [2, 4]]);
    assert.equal(checkRetractions([events[0], events[2], events[3], events[1]]).error.pos, 2);
  });
});

describe('retracted events in routes (9b)', () => {
  test('timeline entries carry retractedBy; the route its retracted map; timelineJson unchanged', () => {
    const gate = body('gate_out', T + 6000, CARRIER, { container: BOX, location: 'DEHAM' });
    const log = forge([...bodies(), gate, retraction(T + 7000, { event: idOf(gate) }, CARRIER, { ucr: undefined })]);
    const r = verifyRoute(GENESIS, { version: 1, consignment: log.bundle(CONSIGNMENT), containers: [log.bundle(CONTAINER)] });
    assert.deepEqual(r.timeline.map((t) => t.index), [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    assert.deepEqual(r.timeline.map((t) => t.retractedBy), [null, 3n, 4n, null, null, null, 7n, null]);
    assert.deepEqual([...r.retracted].sort((a, b) => Number(a[0] - b[0])), [[1n, 3n], [2n, 4n], [6n, 7n]]);
    assert.deepEqual(Object.keys(timelineJson(r.timeline)[1]), ['index', 'id', 'source']);
  });
});
