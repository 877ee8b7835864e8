// Admission rules 2 (PROTOCOL.md 8c) and route pages (9b), against the Rust reference's sample
// ledger: the genesis `rules` member, the body's `parties`, the consignment party rule over a
// consignment's history, an outsider's container event kept out of the route, and a route of
// 300 containers in two verified pages.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  Genesis, buildBody, parseBody, verifyBundle, verifyRoute, parseRoute, mergeTimeline, timelineJson, admitParty, foldParties,
  MAX_PARTIES, canonicalBody,
} from '../index.js';
import { fixture, fixtureText } from './fixtures.js';
import { clone, devKey, refused, resign } from './helpers.js';
import { pagesFixture } from './pages.js';

const GENESIS = fixture('sample/genesis.json');
const genesis = Genesis.fromJson(fixtureText('sample/genesis.json'));
const BUNDLE = fixture('sample/bundle.json');
const ROUTE = fixture('sample/route.json');
const OUTSIDER = 'blue-anchor-lines'; // a carrier that is no party of sample consignment 1
const key = devKey('org/shopfast');
const booking = (extra = {}) => ({ chain: genesis.chain, kind: 'booked', time: 1, ucr: '6NL1234', issuer: { org: 'shopfast', key: key.publicKey }, ...extra });

describe('genesis rules', () => {
  test('the sample genesis has rules 2, hashed; without the member it is a rules 1 genesis, under which the booking naming parties is refused', () => {
    assert.equal(genesis.rules, 2);
    assert.equal(genesis.membership().rules, 2);
    const { rules, ...old } = clone(GENESIS);
    assert.equal(rules, 2);
    const g1 = new Genesis(old);
    assert.equal(g1.rules, 1);
    assert.equal(g1.membership().rules, 1);
    assert.notEqual(g1.hash, genesis.hash);
    // The Rust reference hashes the member: its head of height 1 chains to this hash.
    assert.equal(fixture('sample/route-outsider.json').consignment.head.prev, genesis.hash);
    assert.equal(JSON.stringify(genesis.toJSON()).includes('"rules":2'), true);
    assert.equal('rules' in g1.toJSON(), false);
    const e = refused(() => verifyBundle(g1, clone(BUNDLE)), 'BundleError', 'Auth', 'PartiesUnsupported');
    assert.equal(e.pos, 0);
  });
  test('an explicit "rules": 1 is rules 1 and another hash than none', () => {
    const g = new Genesis({ ...clone(GENESIS), rules: 1 });
    assert.equal(g.rules, 1);
    const { rules: _, ...none } = clone(GENESIS);
    assert.notEqual(g.hash, new Genesis(none).hash);
  });
  test('rules 0 or 3: GenesisError Rules; not an integer, null: JsonError', () => {
    for (const r of [0, 3]) {
      const e = refused(() => new Genesis({ ...clone(GENESIS), rules: r }), 'GenesisError', 'Rules');
      assert.equal(e.message, `rules: ${r} is not a rules version of this implementation (omit it for 1, or 2)`);
    }
    for (const r of ['2', null, 2.5, -1]) refused(() => new Genesis({ ...clone(GENESIS), rules: r }), 'JsonError', 'Schema');
  });
});

describe('body parties', () => {
  test('parties sit between membership and refs in the canonical body and are signed', () => {
    const b = buildBody(booking({ parties: ['north-star-shipping', 'rhine-barge'] }));
    assert.match(canonicalBody(b), /"kind":"booked","parties":\["north-star-shipping","rhine-barge"\],"refs":\[\]/);
    // The sample booking, rebuilt from its parts, has the Rust reference's canonical body.
    const ev = BUNDLE.events[0].event;
    assert.deepEqual(ev.body.parties, ['north-star-shipping', 'rhine-barge']);
    const re = clone(ev);
    resign(re, key);
    assert.equal(re.sig, ev.sig);
  });
  test('refused: without a ucr, empty, more than 16, out of order, repeated; not an org id is Malformed', () => {
    const field = (d, reason) => {
      const e = refused(() => buildBody(d), 'EventError', 'Field');
      assert.equal(e.field, 'parties');
      assert.equal(e.message, `body.parties: ${reason}`);
    };
    field({ ...booking({ parties: ['rhine-barge'] }), ucr: undefined, container: 'TLGU0000010' }, 'only allowed with a ucr');
    field(booking({ parties: [] }), '1 to 16 organisations');
    const many = Array.from({ length: MAX_PARTIES + 1 }, (_, i) => `org-${String(i).padStart(2, '0')}`);
    field(booking({ parties: many }), '1 to 16 organisations');
    buildBody(booking({ parties: many.slice(0, MAX_PARTIES) }));
    field(booking({ parties: ['rhine-barge', 'north-star-shipping'] }), 'organisations must be in ascending order, each once');
    field(booking({ parties: ['rhine-barge', 'rhine-barge'] }), 'organisations must be in ascending order, each once');
    refused(() => buildBody(booking({ parties: ['Not An Org'] })), 'EventError', 'Malformed');
    refused(() => buildBody(booking({ parties: 'rhine-barge' })), 'EventError', 'Malformed');
  });
  test('admission: parties name members, and only under rules 2', () => {
    const m = genesis.membership();
    m.authorize(parseBody(buildBody(booking({ parties: ['rhine-barge'] }))));
    const e = refused(() => m.authorize(parseBody(buildBody(booking({ parties: ['acme-nobody'] })))), 'AuthError', 'UnknownParty');
    assert.equal(e.message, 'body.parties: acme-nobody is not a member of this ledger');
    const { rules: _, ...old } = clone(GENESIS);
    const e1 = refused(() => new Genesis(old).membership().authorize(parseBody(buildBody(booking({ parties: ['rhine-barge'] })))), 'AuthError', 'PartiesUnsupported');
    assert.equal(e1.message, "body.parties: this ledger's rules (1) have no consignment parties");
  });
  test('in a bundle: a party that is no member is Auth UnknownParty at its event', () => {
    const b = clone(BUNDLE);
    b.events[0].event.body.parties = ['acme-nobody', 'rhine-barge'];
    resign(b.events[0].event, key);
    const e = refused(() => verifyBundle(genesis, b), 'BundleError', 'Auth', 'UnknownParty');
    assert.equal(e.pos, 0);
  });
});

describe('the consignment party rule', () => {
  const m = genesis.membership();
  const body = (org, parties) => ({ ucr: '6NL1234', issuer: { org }, ...(parties ? { parties } : {}) });
  test('the opener and the parties it names join; customs acts without joining; an outsider is refused', () => {
    const p = foldParties(m, [body('shopfast', ['rhine-barge']), body('nl-customs'), body('rhine-barge')]);
    assert.deepEqual([...p].sort(), ['rhine-barge', 'shopfast']);
    const e = refused(() => admitParty(m, p, body(OUTSIDER)), 'AuthError', 'NotAParty');
    assert.equal(e.message, `body.issuer.org: ${OUTSIDER} is not a party of consignment 6NL1234 (its parties: rhine-barge, shopfast); a party or customs must name it in \`parties\` first`);
    // Customs opening a consignment leaves it open to anyone; customs may name parties.
    assert.deepEqual([...foldParties(m, [body('nl-customs', ['rhine-barge'])])], ['rhine-barge']);
    assert.equal(admitParty(m, new Set(), body('nl-customs')), undefined);
    assert.deepEqual([...foldParties(m, [body('nl-customs'), body(OUTSIDER)])], [OUTSIDER]);
    // A party naming a newcomer lets it in.
    assert.deepEqual([...foldParties(m, [body('shopfast'), body('shopfast', [OUTSIDER]), body(OUTSIDER)])].sort(), [OUTSIDER, 'shopfast']);
    // Under rules 1 there is no rule (and no parties).
    const { rules: _, ...old } = clone(GENESIS);
    assert.equal(admitParty(new Genesis(old).membership(), new Set(['shopfast']), body(OUTSIDER)), undefined);
  });
  test("the sample consignment's parties and the customs at its head", () => {
    const p = verifyBundle(genesis, clone(BUNDLE));
    assert.equal(p.rules, 2);
    assert.deepEqual([...p.parties].sort(), ['north-star-shipping', 'rhine-barge', 'shopfast']);
    assert.deepEqual([...p.customs].sort(), ['de-customs', 'nl-customs']);
    const c = verifyRoute(genesis, clone(ROUTE)).containers[0];
    assert.deepEqual(c.parties, new Set());
    assert.deepEqual([...c.customs].sort(), ['de-customs', 'nl-customs']);
  });
  test('a consignment bundle with an outsider\'s event (committed by validators that ignored the rule): Consignment Auth NotAParty', () => {
    const e = refused(() => verifyRoute(genesis, fixtureText('sample/route-outsider.json')), 'RouteError', 'Consignment', 'Auth', 'NotAParty');
    assert.equal(e.err.pos, 2);
    assert.equal(e.err.err.org, OUTSIDER);
    assert.match(e.message, /is not a party of consignment 6CN913000003-SF000003/);
    refused(() => verifyBundle(genesis, fixture('sample/route-outsider.json').consignment), 'BundleError', 'Auth', 'NotAParty');
  });
  test("an outsider's container event inside the window stays out of the route (it is in under rules 1)", () => {
    const r = verifyRoute(genesis, clone(ROUTE));
    const outsider = r.containers[0].events.filter((e) => e.event.body.issuer.org === OUTSIDER);
    assert.equal(outsider.length, 1);
    assert.ok(!r.timeline.some((t) => t.index === outsider[0].index));
    assert.deepEqual(timelineJson(r.timeline), fixture('sample/route-timeline.json'));
    // The same bundles merged as if the ledger had no parties: the outsider's event is inside
    // the window, so only the rule keeps it out.
    const noRule = mergeTimeline({ ...r.consignment, rules: 1 }, r.containers, r.ucr);
    assert.ok(noRule.some((t) => t.index === outsider[0].index));
    assert.equal(noRule.length, r.timeline.length + 1);
  });
});

describe('route pages', () => {
  const fx = pagesFixture();
  const skip = fx.skip ?? false;
  const g = () => Genesis.fromJson(fx.genesisText);
  const pages = () => JSON.parse(fx.pagesText);
  const pageRefused = (route, pos, reason) => {
    const e = refused(() => verifyRoute(g(), route), 'RouteError', 'Page');
    assert.equal(e.pos, pos);
    assert.match(e.reason, reason);
    return e;
  };
  test('a route of 300 containers: two pages from 0 and 256 verify together (text or parsed)', { skip, timeout: 300000 }, () => {
    const p = pages();
    assert.deepEqual(p.map((x) => [x.version, x.containers_from, x.containers.length]), [[2, 0, 256], [2, 256, 44]]);
    const r = verifyRoute(g(), fx.pagesText);
    assert.equal(r.containers.length, 300);
    assert.equal(r.consignment.events.length, 301);
    assert.equal(r.timeline.filter((t) => t.source === 'consignment').length, 301);
    assert.equal(parseRoute(fx.pagesText).length, 2);
  });
  test('pages missing, reordered, alone or re-labelled as a whole route: Page', { skip }, () => {
    const p = pages();
    pageRefused([p[0]], 1, /the consignment names 300 containers: 2 pages, got 1/);
    pageRefused(p[0], 1, /2 pages, got 1/);
    pageRefused([p[1], p[0]], 0, /containers_from is Some\(256\), this page must start at 0/);
    const noFrom = pages();
    delete noFrom[1].containers_from;
    pageRefused(noFrom, 1, /containers_from is None, this page must start at 256/);
    const whole = pages()[0];
    whole.version = 1;
    delete whole.containers_from;
    pageRefused(whole, 0, /names 300 containers: more than one bundle holds, it must come in pages/);
    const three = pages();
    three.push({ ...clone(three[1]), containers_from: 512 });
    pageRefused(three, 2, /2 pages, got 3/);
    const v1 = pages();
    v1[1].version = 1;
    pageRefused(v1, 1, /a version 1 route bundle is a whole route/);
  });
  test("a page's consignment bundle from another head, a container moved between pages: Page, Containers", { skip }, () => {
    const p = pages();
    p[1].consignment.certificate.signatures.reverse();
    pageRefused(p, 1, /its consignment bundle differs from the first page's/);
    const q = pages();
    q[1].containers.unshift(q[0].containers.pop());
    q[1].containers_from = 255;
    pageRefused(q, 1, /containers_from is Some\(255\)/);
    const r = pages();
    r[1].containers.push(r[0].containers.pop());
    refused(() => verifyRoute(g(), r), 'RouteError', 'Containers');
  });
  test('more than 256 pages, none: Malformed before any verification', { skip }, () => {
    const p = pages();
    refused(() => verifyRoute(g(), Array(257).fill(p[1])), 'RouteError', 'Malformed');
    refused(() => verifyRoute(g(), []), 'RouteError', 'Malformed');
    refused(() => verifyRoute(g(), '[]'), 'RouteError', 'Malformed');
  });
});
