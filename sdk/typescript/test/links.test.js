// Trade identifiers (PROTOCOL.md 2), the body member `ids` (3.2), the kind `linked` and who may
// link (3.4, 8f), identifier subjects (5, 9), the source key with ids (8e), and routes of groups
// (9b version 3), on ledgers forged here: a genesis of five organisations, one of each role and
// a second carrier, whose first carrier is the one validator.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  Event, Genesis, LightClient, NodeClient, buildBody, signEvent, canonicalBody, parseTradeId, checkTradeId, isTradeId, gs1CheckDigit, transportDocument, booking, sscc,
  subjectKey, parseSubject, subjectName, sourceKey, mayIssue, verifyBundle, verifyRoute, timelineJson, linkedSubjects, D, toHex, utf8Bytes,
  EVENT_KINDS, MAX_IDS, requiresLocation,
} from '../index.js';
import { clone, devKey, refused } from './helpers.js';
import { forgeLog } from './forge.js';

const BL = 'bl:blue-anchor-lines:BALRTM0001';
const BKG = 'bkg:blue-anchor-lines:BK12345';
const SSCC = 'sscc:106141412345678908';
const CARRIER = 'blue-anchor-lines';
const OTHER_CARRIER = 'north-star-shipping';
const PLATFORM = 'shopfast';
const CUSTOMS = 'nl-customs';
const AUDITOR = 'audit-office';
const OTHER_BL = `bl:${OTHER_CARRIER}:NSS0042`;
const UCR = '6NL123456789-AB';
const BOX = 'CSQU3054383';
const OTHER_BOX = 'MSCU1234566';
const ROLES = { [CARRIER]: 'carrier', [OTHER_CARRIER]: 'carrier', [PLATFORM]: 'platform', [CUSTOMS]: 'customs', [AUDITOR]: 'auditor' };
const KEYS = Object.fromEntries(Object.keys(ROLES).map((o) => [o, devKey(`links/${o}`)]));
const T = 1767225600000;

/** The genesis; `rules` null: none (rules 1). */
function genesisOf(rules) {
  return new Genesis({
    chain: 'tradelog-links', time: T - 600000,
    organisations: Object.entries(ROLES).map(([id, role]) => ({ id, name: id, role, keys: [KEYS[id].publicKey] })),
    validators: [{ org: CARRIER, key: KEYS[CARRIER].publicKey, power: 1 }],
    ...(rules === null ? {} : { rules }),
  });
}
const GENESIS = genesisOf(2);

/** A body of the forged ledger, issued by `org`. */
function body(kind, time, org, members = {}) {
  return { v: 1, chain: 'tradelog-links', kind, time, refs: [], documents: [], details: {}, issuer: { org, key: KEYS[org].publicKey }, ...members };
}
const forge = (bodies, genesis = GENESIS) => forgeLog(genesis, KEYS[CARRIER], bodies.map((b) => [b, KEYS[b.issuer.org]]));
const fieldRefused = (b, field, message) => {
  const e = refused(() => buildBody(b), 'EventError', 'Field');
  assert.equal(e.field, field, e.message);
  if (message !== undefined) assert.equal(e.message, message);
  return e;
};

describe('trade identifiers (PROTOCOL.md 2)', () => {
  test('the GS1 check digit: weights 3, 1, 3, ... from the right', () => {
    assert.equal(gs1CheckDigit('10614141234567890'), 8);
    assert.equal(gs1CheckDigit('00000000000000000'), 0);
    assert.equal(gs1CheckDigit('00000000000000001'), 7);
    assert.equal(gs1CheckDigit('00000000000000010'), 9);
  });
  test('valid: bl and bkg qualified by an organisation id, sscc with its check digit', () => {
    for (const t of [BL, BKG, SSCC, OTHER_BL, 'bl:ab:1', 'bkg:a-1:A.B/C-9', `bl:${'a'.repeat(64)}:${'Z'.repeat(35)}`, 'sscc:000000000000000017']) {
      assert.equal(checkTradeId(t), t);
      assert.ok(isTradeId(t), t);
    }
    assert.deepEqual(parseTradeId(BL), { scheme: 'bl', carrier: CARRIER, number: 'BALRTM0001' });
    assert.deepEqual(parseTradeId(SSCC), { scheme: 'sscc', carrier: undefined, number: '106141412345678908' });
  });
  test('invalid: IdError, never normalised', () => {
    const e = refused(() => checkTradeId('sscc:106141412345678907'), 'IdError', 'Invalid');
    assert.equal(e.message, 'invalid trade identifier "sscc:106141412345678907": GS1 check digit is 7, expected 8');
    const lower = refused(() => checkTradeId('bl:blue-anchor-lines:balrtm0001'), 'IdError', 'Invalid');
    assert.match(lower.message, /the number must be 1-35 characters of A-Z/);
    for (const t of ['sscc:10614141234567890', 'sscc:1061414123456789080', 'sscc:10614141234567890x', 'SSCC:106141412345678908', 'bl:Blue-Anchor:X',
      'bl:blue-anchor-lines:', `bl:blue-anchor-lines:${'A'.repeat(36)}`, 'bl:blue-anchor-lines:BAL RTM', 'bl:blue-anchor-lines:BAL:RTM', 'bl:b:X', 'bl::X',
      'bl:blue-anchor-lines', 'BL:blue-anchor-lines:X', 'awb:blue-anchor-lines:X', ' bl:blue-anchor-lines:X', 'bl:blue-anchor-lines:X\n', UCR, '', 7, null]) {
      assert.ok(!isTradeId(t), String(t));
    }
  });
  test('builders: transportDocument, booking, sscc (17 digits get their check digit)', () => {
    assert.equal(transportDocument(CARRIER, 'BALRTM0001'), BL);
    assert.equal(booking(CARRIER, 'BK12345'), BKG);
    assert.equal(sscc('10614141234567890'), SSCC);
    assert.equal(sscc('106141412345678908'), SSCC);
    for (const f of [() => sscc('106141412345678907'), () => sscc('1061414123'), () => booking(CARRIER, 'bk1'), () => transportDocument('X', '1')]) refused(f, 'IdError', 'Invalid');
  });
  test('identifier subjects: key D(index-key, 0x04 || id), parsed and named', () => {
    assert.equal(subjectKey({ type: 'identifier', id: BL }), toHex(D('tradelog/index-key/v1', Uint8Array.of(4), utf8Bytes(BL))));
    assert.notEqual(subjectKey({ type: 'identifier', id: UCR }), subjectKey({ type: 'consignment', id: UCR }));
    assert.deepEqual(parseSubject({ type: 'identifier', id: SSCC }), { type: 'identifier', id: SSCC });
    assert.equal(subjectName({ type: 'identifier', id: SSCC }), `identifier ${SSCC}`);
    refused(() => parseSubject({ type: 'identifier', id: 'sscc:106141412345678907' }), 'JsonError', 'Schema');
  });
});

describe('ids and the kind linked (3.2, 3.4, 8f)', () => {
  test('ids: sorted for the caller into ascending byte order, sorted between documents and issuer', () => {
    const b = buildBody(body('booked', T, CARRIER, { ids: [SSCC, BL, BKG] }));
    assert.deepEqual(b.ids, [BKG, BL, SSCC]);
    assert.match(canonicalBody(b), new RegExp(`"documents":\\[\\],"ids":\\["${BKG}","${BL}","${SSCC}"\\],"issuer":`));
    assert.equal(MAX_IDS, 16);
    // ids alone name the event's subject
    buildBody(body('booked', T, CARRIER, { ids: [SSCC] }));
    fieldRefused(body('booked', T, CARRIER), 'ucr');
  });
  test('ids received out of order or repeated are refused (the signed body is never re-sorted)', () => {
    const wire = JSON.parse(signEvent(body('booked', T, CARRIER, { ids: [BKG, BL] }), KEYS[CARRIER]).wire);
    Event.fromObject(wire);
    const swapped = clone(wire);
    swapped.body.ids.reverse();
    const e = refused(() => Event.fromObject(swapped), 'EventError', 'Field');
    assert.equal(e.message, 'body.ids: trade identifiers must be in ascending byte order, each once');
    fieldRefused(body('booked', T, CARRIER, { ids: [BL, BL] }), 'ids', 'body.ids: trade identifiers must be in ascending byte order, each once');
    fieldRefused(body('booked', T, CARRIER, { ids: [] }), 'ids', 'body.ids: 1 to 16 trade identifiers');
    const many = Array.from({ length: 17 }, (_, n) => sscc(String(n).padStart(17, '0')));
    buildBody(body('booked', T, CARRIER, { ids: many.slice(0, 16) }));
    fieldRefused(body('booked', T, CARRIER, { ids: many }), 'ids');
    for (const bad of [['sscc:106141412345678907'], ['bl:blue-anchor-lines:balrtm0001'], BL, [null]]) {
      refused(() => buildBody(body('booked', T, CARRIER, { ids: bad })), 'EventError', 'Malformed');
    }
    const w = clone(wire);
    w.body.ids = null;
    refused(() => Event.fromObject(w), 'EventError', 'Malformed');
  });
  test('a membership event has no ids', () => {
    const m = JSON.parse(signEvent(body('membership', T, CARRIER, { membership: { seq: 1, change: { type: 'add_key', org: CARRIER, key: KEYS[PLATFORM].publicKey }, approvals: [] } }), KEYS[CARRIER]).wire);
    m.body.ids = [BL];
    const e = refused(() => Event.fromObject(m), 'EventError', 'Field');
    assert.equal(e.field, 'ids');
  });
  test('packed names its consignment by ucr or ids, and a container', () => {
    buildBody(body('packed', T, CARRIER, { ids: [BKG], container: BOX, location: 'CNSHA' }));
    buildBody(body('packed', T, CARRIER, { ucr: UCR, container: BOX, location: 'CNSHA' }));
    fieldRefused(body('packed', T, CARRIER, { container: BOX, location: 'CNSHA' }), 'ucr', 'body.ucr: required for kind packed (or ids)');
    fieldRefused(body('packed', T, CARRIER, { ids: [BKG], location: 'CNSHA' }), 'container', 'body.container: required for kind packed');
  });
  test('linked: no location needed, at least two subjects among ucr and ids, no container', () => {
    assert.ok(EVENT_KINDS.includes('linked'));
    assert.equal(requiresLocation('linked'), false);
    buildBody(body('linked', T, CARRIER, { ucr: UCR, ids: [BL] }));
    buildBody(body('linked', T, CARRIER, { ids: [BKG, BL] }));
    const one = 'body.ids: a linked event names at least two subjects among ucr and ids';
    fieldRefused(body('linked', T, CARRIER, { ids: [BL] }), 'ids', one);
    fieldRefused(body('linked', T, CARRIER, { ucr: UCR }), 'ids', one);
    fieldRefused(body('linked', T, CARRIER, { ucr: UCR, ids: [BL], container: BOX }), 'container', 'body.container: a linked event names no container');
    assert.deepEqual(linkedSubjects({ ucr: UCR, ids: [BKG, BL] }), [{ type: 'consignment', id: UCR }, { type: 'identifier', id: BKG }, { type: 'identifier', id: BL }]);
  });
  test('who may link: carrier, platform, customs, not an auditor; a carrier only its own B/L and bookings', () => {
    for (const [role, may] of [['carrier', true], ['platform', true], ['customs', true], ['auditor', false]]) assert.equal(mayIssue(role, 'linked'), may, role);
    for (const rules of [2, null]) {
      const m = genesisOf(rules).membership();
      assert.equal(m.rules, rules ?? 1);
      m.authorize(buildBody(body('linked', T, CARRIER, { ucr: UCR, ids: [BKG, BL, SSCC] })));
      for (const org of [PLATFORM, CUSTOMS]) m.authorize(buildBody(body('linked', T, org, { ucr: UCR, ids: [BL, OTHER_BL] })));
      for (const org of [PLATFORM, CUSTOMS]) {
        const lone = refused(() => m.authorize(buildBody(body('linked', T, org, { ids: [BKG, BL] }))), 'AuthError', 'LinkWithoutUcr');
        assert.match(lone.message, /a link of identifiers alone is their carrier's$/);
      }
      const e = refused(() => m.authorize(buildBody(body('linked', T, CARRIER, { ids: [BL, OTHER_BL] }))), 'AuthError', 'ForeignDocument');
      assert.equal(e.message, `body.ids: ${OTHER_BL}: a carrier links only its own transport documents and bookings`);
      const e2 = refused(() => m.authorize(buildBody(body('linked', T, OTHER_CARRIER, { ucr: UCR, ids: [BKG] }))), 'AuthError', 'ForeignDocument');
      assert.equal(e2.message, `body.ids: ${BKG}: a carrier links only its own transport documents and bookings`);
      refused(() => m.authorize(buildBody(body('linked', T, AUDITOR, { ucr: UCR, ids: [BL] }))), 'AuthError', 'Forbidden');
      // naming another carrier's B/L in another kind links nothing and is not refused
      m.authorize(buildBody(body('booked', T, CARRIER, { ids: [OTHER_BL] })));
    }
  });
  test('the source key holds ids as the whole list (8e)', () => {
    const src = { standard: 'dcsa', id: 'feed-1' };
    const a = sourceKey(body('booked', T, CARRIER, { ids: [BKG], source: src }));
    assert.equal(sourceKey(body('booked', T + 1, CARRIER, { ids: [BKG], source: src })), a);
    assert.notEqual(sourceKey(body('booked', T, CARRIER, { ids: [BKG, BL], source: src })), a);
    assert.notEqual(sourceKey(body('booked', T, CARRIER, { ucr: UCR, source: src })), a);
    // without ids, the key it had before
    assert.equal(sourceKey(body('booked', T, CARRIER, { ucr: UCR, source: src })), JSON.stringify([CARRIER, 'dcsa', 'feed-1', UCR, null]));
  });
});

describe('identifier bundles (9)', () => {
  const bodies = [
    body('booked', T, CARRIER, { ids: [BKG] }),
    body('loaded', T + 1000, CARRIER, { container: BOX, location: 'NLRTM', ids: [BKG, BL] }),
    body('departed', T + 2000, CARRIER, { container: BOX, location: 'NLRTM' }),
    body('held', T + 3000, CUSTOMS, { ucr: UCR, ids: [BL] }),
  ];
  const log = forge(bodies);
  test('an identifier subject: the events naming it in ids', () => {
    for (const [id, want] of [[BKG, [0n, 1n]], [BL, [1n, 3n]], [SSCC, []]]) {
      const p = verifyBundle(GENESIS, log.bundle({ type: 'identifier', id }));
      assert.deepEqual(p.events.map((e) => e.index), want, id);
    }
  });
  test('an event not naming the identifier: Subject; an event dropped: Incomplete', () => {
    const b = log.bundle({ type: 'identifier', id: BL });
    b.events.splice(1, 0, log.bundle({ type: 'container', id: BOX }).events[1]);
    refused(() => verifyBundle(GENESIS, b), 'BundleError', 'Subject');
    const d = log.bundle({ type: 'identifier', id: BKG });
    d.events.shift();
    refused(() => verifyBundle(GENESIS, d), 'BundleError', 'Incomplete');
  });
  test('a repeated source key under an identifier: SameSource; other ids are another key', () => {
    const src = { standard: 'dcsa', id: 'feed-1' };
    const a = body('booked', T, CARRIER, { ids: [BKG], source: src });
    const other = body('booked', T + 1, CARRIER, { ids: [BKG, BL], source: src });
    const again = body('booked', T + 2, CARRIER, { ids: [BKG], source: src });
    assert.equal(verifyBundle(GENESIS, forge([a, other]).bundle({ type: 'identifier', id: BKG })).events.length, 2);
    const e = refused(() => verifyBundle(GENESIS, forge([a, other, again]).bundle({ type: 'identifier', id: BKG })), 'BundleError', 'SameSource');
    assert.deepEqual([e.first, e.pos], [0, 2]);
  });
  test('a linked event naming a ucr keeps the party rule (rules 2); the identifier alone has none', () => {
    const opened = body('booked', T, PLATFORM, { ucr: UCR });
    const link = body('linked', T + 1, CARRIER, { ucr: UCR, ids: [BL] });
    const l = forge([opened, link]);
    refused(() => verifyBundle(GENESIS, l.bundle({ type: 'consignment', id: UCR })), 'BundleError', 'Auth', 'NotAParty');
    assert.equal(verifyBundle(GENESIS, l.bundle({ type: 'identifier', id: BL })).events.length, 1);
    assert.equal(verifyBundle(GENESIS, forge([{ ...opened, parties: [CARRIER] }, link]).bundle({ type: 'consignment', id: UCR })).events.length, 2);
  });
});

/**
 * A platform's consignment naming the carrier a party; the carrier's booking and B/L, linked by
 * the carrier (its own documents) and by the platform (the UCR to the B/L); the container's own
 * movements by the carrier, an outsider carrier, and one naming another B/L; an unlinked SSCC.
 */
function groupBodies() {
  return [
    body('booked', T, PLATFORM, { ucr: UCR, parties: [CARRIER] }), // 0
    body('booked', T + 1000, CARRIER, { ids: [BKG] }), // 1
    body('loaded', T + 2000, CARRIER, { container: BOX, location: 'NLRTM', ids: [BL] }), // 2
    body('linked', T + 3000, CARRIER, { ids: [BKG, BL] }), // 3
    body('linked', T + 4000, PLATFORM, { ucr: UCR, ids: [BL] }), // 4
    body('departed', T + 5000, CARRIER, { container: BOX, location: 'NLRTM' }), // 5
    body('arrived', T + 6000, OTHER_CARRIER, { container: BOX, location: 'DEHAM' }), // 6
    body('discharged', T + 7000, OTHER_CARRIER, { container: BOX, location: 'DEHAM', ids: [OTHER_BL] }), // 7
    body('booked', T + 8000, PLATFORM, { ids: [SSCC] }), // 8
    body('gate_out', T + 9000, CARRIER, { container: OTHER_BOX, location: 'NLRTM' }), // 9
  ];
}
const byKey = (subjects) => [...subjects].sort((a, b) => (subjectKey(a) < subjectKey(b) ? -1 : 1));
const GROUP = byKey([{ type: 'consignment', id: UCR }, { type: 'identifier', id: BKG }, { type: 'identifier', id: BL }]);
const groupRoute = (log, subjects = GROUP, containers = [BOX]) => ({
  version: 3, subjects: subjects.map((s) => log.bundle(s)), containers: containers.map((c) => log.bundle({ type: 'container', id: c })),
});

describe('routes of groups (9b version 3)', () => {
  const log = forge(groupBodies());
  const routeRefused = (route, variant, ...inner) => refused(() => verifyRoute(GENESIS, route), 'RouteError', variant, ...inner);
  test('the honest route verifies; its timeline: the group events and the party carrier\'s container move', () => {
    const r = verifyRoute(GENESIS, groupRoute(log));
    assert.equal(r.version, 3);
    assert.deepEqual(r.group, GROUP);
    assert.equal(r.ucr, UCR);
    assert.equal(r.consignment.subject.id, UCR);
    assert.equal(r.head, r.subjects[0].head);
    assert.deepEqual(timelineJson(r.timeline), [0, 1, 2, 3, 4].map((i) => ({ index: i, id: log.events[i].id, source: 'consignment' })).concat([{ index: 5, id: log.events[5].id, source: { container: BOX } }]));
    // from JSON text too, and asked by any of its subjects
    for (const s of GROUP) verifyRoute(GENESIS, JSON.stringify(groupRoute(log)), s);
    refused(() => verifyRoute(GENESIS, groupRoute(log), { type: 'identifier', id: SSCC }), 'RouteError', 'WrongSubject');
  });
  test('rules 1: every container event in a window that names no ucr and no ids', () => {
    const bodies = groupBodies();
    delete bodies[0].parties;
    const g = genesisOf(null);
    assert.equal(g.rules, 1);
    const l = forgeLog(g, KEYS[CARRIER], bodies.map((b) => [b, KEYS[b.issuer.org]]));
    assert.deepEqual(verifyRoute(g, groupRoute(l)).timeline.map((e) => e.index), [0n, 1n, 2n, 3n, 4n, 5n, 6n]);
  });
  test('a group without a consignment: the issuers of the group events are its insiders', () => {
    const bodies = groupBodies();
    bodies.splice(4, 1);
    const l = forge(bodies);
    const pair = byKey([{ type: 'identifier', id: BKG }, { type: 'identifier', id: BL }]);
    const r = verifyRoute(GENESIS, groupRoute(l, pair));
    assert.equal(r.ucr, undefined);
    assert.deepEqual(r.timeline.map((e) => e.index), [1n, 2n, 3n, 4n]);
    routeRefused(groupRoute(l, byKey([...pair, { type: 'consignment', id: UCR }])), 'NotConnected');
  });
  test('with a consignment too, the issuers of the group events are insiders (rules 2)', () => {
    // the carrier is no party of the consignment (no parties, no event naming the ucr), yet it
    // issued group events (the B/L's): its container move 5 enters
    const bodies = groupBodies();
    delete bodies[0].parties;
    const l = forge(bodies);
    assert.ok(!verifyBundle(GENESIS, l.bundle({ type: 'consignment', id: UCR })).parties.has(CARRIER));
    assert.deepEqual(verifyRoute(GENESIS, groupRoute(l)).timeline.map((e) => e.index), [0n, 1n, 2n, 3n, 4n, 5n]);
  });
  test('one identifier is a group of one', () => {
    assert.deepEqual(verifyRoute(GENESIS, groupRoute(log, [{ type: 'identifier', id: SSCC }], [])).timeline.map((e) => e.index), [8n]);
  });
  test("a linked subject's bundle omitted: NotClosed", () => {
    for (const drop of GROUP) {
      const e = routeRefused(groupRoute(log, GROUP.filter((s) => s !== drop)), 'NotClosed');
      assert.match(e.message, new RegExp(`links ${subjectName(drop)}, which is not one of the route's subjects`));
    }
  });
  test('an unconnected subject added: NotConnected', () => {
    const e = routeRefused(groupRoute(log, byKey([...GROUP, { type: 'identifier', id: SSCC }])), 'NotConnected');
    assert.match(e.message, new RegExp(`identifier ${SSCC} is not reached from subjects\\[0\\]`));
  });
  test('subjects out of order or twice: Order; a container subject: NotGroupSubject; none or over 64', () => {
    routeRefused(groupRoute(log, [...GROUP].reverse()), 'Order');
    routeRefused(groupRoute(log, [...GROUP, GROUP[2]]), 'Order');
    const r = groupRoute(log);
    r.subjects.push(log.bundle({ type: 'container', id: BOX }));
    routeRefused(r, 'NotGroupSubject');
    routeRefused({ ...groupRoute(log), subjects: [] }, 'Subjects');
    routeRefused({ ...groupRoute(log), subjects: Array(65).fill(log.bundle({ type: 'identifier', id: BL })) }, 'Malformed');
  });
  test('containers exactly those the group events name: Containers; a tampered one: Container', () => {
    routeRefused(groupRoute(log, GROUP, []), 'Containers');
    routeRefused(groupRoute(log, GROUP, [BOX, OTHER_BOX]), 'Containers');
    const r = groupRoute(log);
    r.containers[0].events.pop();
    routeRefused(r, 'Container', 'Incomplete');
  });
  test('every bundle against subjects[0]\'s head: HeadMismatch; a tampered subject bundle: Subject', () => {
    const other = forge(groupBodies().slice(0, 5));
    const r = groupRoute(log);
    r.subjects[1] = other.bundle(GROUP[1]);
    routeRefused(r, 'HeadMismatch');
    const c = groupRoute(log);
    c.containers[0].certificate.round = 1;
    routeRefused(c, 'HeadMismatch');
    const t = groupRoute(log);
    t.subjects[2].events[0].event.body.time += 1;
    routeRefused(t, 'Subject', 'Event');
  });
  test('a group route is never paged; extra members: Malformed', () => {
    routeRefused([groupRoute(log), groupRoute(log)], 'Page');
    routeRefused({ ...groupRoute(log), consignment: {} }, 'Malformed');
  });
});

describe('consignment routes (9b version 1) and trade identifiers', () => {
  test('a container event naming ids does not enter the consignment timeline', () => {
    const l = forge([
      body('packed', T, PLATFORM, { ucr: UCR, container: BOX, location: 'NLRTM', parties: [CARRIER] }),
      body('loaded', T + 1000, CARRIER, { container: BOX, location: 'NLRTM' }),
      body('departed', T + 2000, CARRIER, { container: BOX, location: 'NLRTM', ids: [BL] }),
    ]);
    const r = verifyRoute(GENESIS, { version: 1, consignment: l.bundle({ type: 'consignment', id: UCR }), containers: [l.bundle({ type: 'container', id: BOX })] });
    assert.deepEqual(r.timeline.map((e) => e.index), [0n, 1n]);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.version, 1);
  });
  test('a linked consignment served as version 1 or 2 is refused: its route is its group\'s', () => {
    const l = forge(groupBodies());
    const bundle = l.bundle({ type: 'consignment', id: UCR });
    for (const route of [{ version: 1, consignment: bundle, containers: [] }, [{ version: 2, containers_from: 0, consignment: bundle, containers: [] }]]) {
      const err = refused(() => verifyRoute(GENESIS, route), 'RouteError', 'Consignment', 'Malformed');
      assert.equal(err.message, "consignment: events[1] is a linked event: the consignment is linked to trade identifiers, its route is its group's (version 3)");
      assert.equal(err.pos, 1);
    }
  });
});

describe('LightClient and routes of groups', () => {
  const log = forge(groupBodies());
  const text = JSON.stringify(groupRoute(log));
  const serve = (seen) => new NodeClient('http://node.test', {
    fetch: async (url) => {
      seen.push(new URL(url).pathname);
      return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
    },
  });
  test('route(ucr) of a linked consignment: one version-3 bundle, verified, holding the ucr', async () => {
    const seen = [];
    const { route, pages } = await new LightClient(serve(seen), GENESIS).route(UCR);
    assert.equal(route.version, 3);
    assert.equal(pages.length, 1);
    assert.deepEqual(seen, [`/v1/consignments/${UCR}/route`]);
    await assert.rejects(new LightClient(serve([]), GENESIS).route('6NL000000000-ZZ'), (e) => e.name === 'NodeError' && e.variant === 'WrongSubject');
  });
  test('identifierRoute(id): GET /v1/identifiers/{id}/route, which must hold the identifier', async () => {
    const seen = [];
    const client = new LightClient(serve(seen), GENESIS);
    const { route } = await client.identifierRoute(BKG);
    assert.deepEqual(route.timeline.map((e) => e.index), [0n, 1n, 2n, 3n, 4n, 5n]);
    assert.deepEqual(seen, [`/v1/identifiers/${encodeURIComponent(BKG)}/route`]);
    assert.equal(client.known.head, route.head);
    await assert.rejects(new LightClient(serve([]), GENESIS).identifierRoute(SSCC), (e) => e.name === 'NodeError' && e.variant === 'WrongSubject');
  });
});
