// Proof bundles and route bundles produced by the Rust reference (the sample ledger of
// `cargo run -p tradelog-protocol --example sample_bundle`: a carrier's key rotation and a
// validator-set change), verified from the genesis alone, and lies about them, each refused
// with the Rust verifier's error.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Genesis, verifyBundle, verifyRoute, timelineJson, parseBundle, precommitMessage, headHash, parseHead, toHex, approvalMessage } from '../index.js';
import { fixture, fixtureText } from './fixtures.js';
import { clone, devKey, refused, resign } from './helpers.js';

const genesis = Genesis.fromJson(fixtureText('sample/genesis.json'));
const BUNDLE = fixture('sample/bundle.json');
const ROUTE = fixture('sample/route.json');
const bundleRefused = (mutate, ...variants) => {
  const b = clone(BUNDLE);
  mutate(b);
  return refused(() => verifyBundle(genesis, b), 'BundleError', ...variants);
};
const routeRefused = (mutate, ...variants) => {
  const r = clone(ROUTE);
  mutate(r);
  return refused(() => verifyRoute(genesis, r), 'RouteError', ...variants);
};
const CARRIER = 'north-star-shipping';
const NEW_SET = ['nl-customs', 'de-customs', 'rhine-barge'].map((o) => devKey(`validator/${o}`));

function signCertificate(cert, headJson, keys) {
  const head = parseHead(headJson);
  const msg = precommitMessage(head.chain, head.height, cert.round, headHash(head));
  cert.signatures = keys.map((k) => ({ validator: k.publicKey, sig: toHex(k.sign(msg)) }));
}

describe('proof bundle', () => {
  test('the honest bundle verifies from the genesis (text or parsed JSON)', () => {
    const p = verifyBundle(genesis, fixtureText('sample/bundle.json'));
    assert.equal(p.events.length, BUNDLE.events.length);
    assert.equal(p.history.validators.hash(), BUNDLE.head.validators);
    verifyBundle(genesis, clone(BUNDLE));
  });
  test('an event dropped: Incomplete', () => {
    const e = bundleRefused((b) => b.events.splice(3, 1), 'Incomplete');
    assert.equal(e.got, 14);
  });
  test('two events swapped: Order at the second', () => {
    const e = bundleRefused((b) => ([b.events[2], b.events[3]] = [b.events[3], b.events[2]]), 'Order');
    assert.equal(e.pos, 3);
  });
  test('a location altered: the signature fails', () => {
    const e = bundleRefused((b) => (b.events[4].event.body.location = 'BEANR'), 'Event', 'Signature');
    assert.equal(e.pos, 4);
  });
  test('an inclusion proof byte flipped: Inclusion Mismatch', () => {
    const e = bundleRefused((b) => {
      const p = b.events[5].proof;
      p[0] = (parseInt(p[0].slice(0, 2), 16) ^ 1).toString(16).padStart(2, '0') + p[0].slice(2);
    }, 'Inclusion', 'Mismatch');
    assert.equal(e.pos, 5);
  });
  test('an event more than 10 minutes after the first head at or after its block: FutureEvent', () => {
    const e = bundleRefused((b) => {
      const bound = b.membership.transitions.find((t) => b.events[0].index < t.head.log_size).head.time;
      b.events[0].event.body.time = bound + 600001;
      resign(b.events[0].event, devKey(`org/${b.events[0].event.body.issuer.org}`));
    }, 'FutureEvent');
    assert.equal(e.pos, 0);
    // 600000 ms after is still inside the window (the event then fails only its inclusion proof).
    bundleRefused((b) => {
      b.events[0].event.body.time = b.membership.transitions[0].head.time + 600000;
      resign(b.events[0].event, devKey(`org/${b.events[0].event.body.issuer.org}`));
    }, 'Inclusion');
  });
  test("a membership-subject bundle's event that is not the membership proof's at its index: NotInMembershipProof", () => {
    const e = bundleRefused((b) => {
      b.subject = { type: 'membership', id: 'membership' };
      b.events = clone(b.membership.events);
      b.events[1].index += 1;
    }, 'NotInMembershipProof');
    assert.equal(e.pos, 1);
  });
  test('a certificate signature removed: Certificate NoQuorum', () => {
    bundleRefused((b) => b.certificate.signatures.pop(), 'Certificate', 'NoQuorum');
  });
  test('a certificate signature repeated: Certificate Duplicate', () => {
    bundleRefused((b) => (b.certificate.signatures[1] = b.certificate.signatures[0]), 'Certificate', 'Duplicate');
  });
  test('head.log_root changed: the membership events no longer prove inclusion', () => {
    bundleRefused((b) => (b.head.log_root = '00'.repeat(32)), 'Membership', 'Inclusion', 'Mismatch');
  });
  test('head.height changed: the certificate is for another head', () => {
    bundleRefused((b) => (b.head.height += 1), 'Certificate', 'WrongHead');
  });
  test('head for another chain: Chain', () => {
    bundleRefused((b) => (b.head.chain = 'other-chain'), 'Chain');
  });
  test('version 1 or 4: Version', () => {
    bundleRefused((b) => (b.version = 1), 'Version');
    bundleRefused((b) => (b.version = 4), 'Version');
  });
  test('no membership proof, an unknown member, null, a float: Malformed', () => {
    bundleRefused((b) => delete b.membership, 'Malformed');
    bundleRefused((b) => (b.extra = 1), 'Malformed');
    bundleRefused((b) => (b.events[0].event.body.location = null), 'Malformed');
    const v = `"version": ${BUNDLE.version}`;
    assert.ok(fixtureText('sample/bundle.json').includes(`${v},`));
    refused(() => parseBundle(fixtureText('sample/bundle.json').replace(v, `${v}.0`)), 'BundleError', 'Malformed');
    refused(() => parseBundle(fixtureText('sample/bundle.json').replace(`${v},`, `${v}, ${v},`)), 'BundleError', 'Malformed');
  });
  test('an event about another consignment: Subject', () => {
    const e = bundleRefused((b) => (b.events[0].event.body.ucr = '6CN913000002-SF000002'), 'Subject');
    assert.equal(e.pos, 0);
  });
  test('a log index beyond the head: Order', () => {
    bundleRefused((b) => (b.events[14].index = b.head.log_size), 'Order');
  });
  test('the index entry changed: IndexEntry; an index sibling flipped: Index Mismatch', () => {
    bundleRefused((b) => (b.index_entry.count += 1), 'IndexEntry');
    bundleRefused((b) => (b.index_proof.siblings[0] = 'ff'.repeat(32)), 'Index', 'Mismatch');
  });
  test('an event re-signed by a key of no member: Auth UnknownKey', () => {
    bundleRefused((b) => resign(b.events[1].event, devKey('outsider')), 'Auth', 'UnknownKey');
  });
  test("an event re-signed with the carrier's revoked key after the revocation: Auth UnknownKey", () => {
    const revokedAt = BUNDLE.membership.events.find((e) => e.event.body.membership.change.type === 'revoke_key').index;
    const e = bundleRefused((b) => {
      const pe = b.events.find((x) => x.index > revokedAt && x.event.body.issuer.org === CARRIER);
      resign(pe.event, devKey(`org/${CARRIER}`));
    }, 'Auth', 'UnknownKey');
    assert.equal(e.err.org, CARRIER);
  });
  test('an event signed by an organisation whose role may not issue it: Auth Forbidden', () => {
    bundleRefused((b) => {
      const ev = b.events[11].event; // released, by de-customs
      ev.body.issuer.org = 'shopfast';
      resign(ev, devKey('org/shopfast'));
    }, 'Auth', 'Forbidden');
  });
  test('the subject is the membership: its bundle-level completeness holds', () => {
    // A bundle whose subject is the membership subject, built from the membership proof.
    const b = clone(BUNDLE);
    b.subject = { type: 'membership', id: 'membership' };
    b.events = clone(b.membership.events);
    b.index_entry = clone(b.membership.index_entry);
    b.index_proof = clone(b.membership.index_proof);
    // (The consignment's block entries hold none of these events: without them no recorded time.)
    if (b.blocks) b.blocks = [];
    assert.equal(verifyBundle(genesis, b).events.length, 3);
  });
});

describe('membership proof inside the bundle', () => {
  const M = (b) => b.membership;
  test('a membership event dropped: Incomplete at the transition', () => {
    for (const i of [0, 1, 2]) bundleRefused((b) => M(b).events.splice(i, 1), 'Membership');
    const e = bundleRefused((b) => M(b).events.splice(0, 1), 'Membership');
    assert.equal(e.err.variant, 'Incomplete');
    assert.equal(e.err.at, 'transitions[0]');
  });
  test('membership events reordered: the transition commits to another list (Incomplete)', () => {
    bundleRefused((b) => ([M(b).events[0], M(b).events[1]] = [M(b).events[1], M(b).events[0]]), 'Membership', 'Incomplete');
  });
  test('membership events reordered with the transition hidden: the new key is used before it was added', () => {
    bundleRefused((b) => {
      M(b).transitions = [];
      [M(b).events[0], M(b).events[1]] = [M(b).events[1], M(b).events[0]];
    }, 'Membership', 'Auth', 'UnknownKey');
  });
  test('a membership event altered and re-signed: the transition commits to other ids (Incomplete)', () => {
    bundleRefused((b) => {
      const ev = M(b).events[2].event;
      ev.body.time += 1;
      resign(ev, devKey('org/eu-audit'));
    }, 'Membership', 'Incomplete');
  });
  test('a membership event given a repeated log index: Order', () => {
    bundleRefused((b) => (M(b).events[1].index = M(b).events[0].index), 'Membership', 'Order');
  });
  test('every membership event and transition hidden: the final certificate is under the wrong set', () => {
    bundleRefused((b) => {
      M(b).events = [];
      M(b).transitions = [];
    }, 'Certificate', 'ValidatorSet');
  });
  test('the transition dropped: the genesis set cannot certify the head', () => {
    bundleRefused((b) => (M(b).transitions = []), 'Certificate', 'ValidatorSet');
  });
  test('the transition certified by the new set instead of the genesis set: TransitionCertificate', () => {
    bundleRefused((b) => signCertificate(M(b).transitions[0].certificate, M(b).transitions[0].head, NEW_SET), 'Membership', 'TransitionCertificate', 'NotAValidator');
  });
  test('the transition at the head height: TransitionOrder', () => {
    bundleRefused((b) => (M(b).transitions[0].head.height = b.head.height), 'Membership', 'TransitionOrder');
  });
  test('the final certificate signed by a validator that left: Certificate NotAValidator', () => {
    bundleRefused((b) => signCertificate(b.certificate, b.head, [...NEW_SET.slice(0, 2), devKey(`validator/${CARRIER}`)]), 'Certificate', 'NotAValidator');
  });
  test('set_validators with approvals below quorum, re-signed by its issuer: Change NoQuorum', () => {
    // (With the transition hidden, so that its index entry does not catch the altered id first.)
    const e = bundleRefused((b) => {
      M(b).transitions = [];
      const ev = M(b).events[2].event;
      ev.body.membership.approvals.splice(0, 2);
      resign(ev, devKey('org/eu-audit'));
    }, 'Membership', 'Change', 'NoQuorum');
    assert.equal(e.err.pos, 2);
  });
  test('an approval over another seq: Change BadApproval', () => {
    bundleRefused((b) => {
      M(b).transitions = [];
      const ev = M(b).events[2].event;
      const k = devKey('validator/nl-customs');
      const a = ev.body.membership.approvals.find((x) => x.validator === k.publicKey);
      a.sig = toHex(k.sign(approvalMessage(b.head.chain, 99, ev.body.membership.change)));
      resign(ev, devKey('org/eu-audit'));
    }, 'Membership', 'Change', 'BadApproval');
  });
  test('a replayed seq: Change Seq', () => {
    bundleRefused((b) => {
      M(b).transitions = [];
      const ev = M(b).events[1].event;
      ev.body.membership.seq = 1;
      resign(ev, devKey(`rotated/${CARRIER}`));
    }, 'Membership', 'Change', 'Seq');
  });
  test('a set_validators list in another order: same id, still verifies', () => {
    const b = clone(BUNDLE);
    M(b).events[2].event.body.membership.change.validators.reverse();
    verifyBundle(genesis, b);
  });
});

describe('route bundle', () => {
  test('the honest route verifies and its timeline equals the Rust one', () => {
    const r = verifyRoute(genesis, fixtureText('sample/route.json'));
    assert.deepEqual(timelineJson(r.timeline), fixture('sample/route-timeline.json'));
    assert.equal(r.containers.length, 1);
  });
  test('a container bundle dropped or added: Containers', () => {
    routeRefused((r) => r.containers.pop(), 'Containers');
    routeRefused((r) => r.containers.push(clone(r.containers[0])), 'Containers');
  });
  test('a container bundle against another head: HeadMismatch', () => {
    routeRefused((r) => (r.containers[0].head.time += 1), 'HeadMismatch');
    routeRefused((r) => r.containers[0].certificate.signatures.reverse(), 'HeadMismatch');
  });
  test('an event dropped from the container bundle: Container Incomplete', () => {
    const e = routeRefused((r) => r.containers[0].events.splice(2, 1), 'Container', 'Incomplete');
    assert.equal(e.pos, 0);
  });
  test('a container subject in place of the consignment: NotConsignment', () => {
    routeRefused((r) => (r.consignment = clone(r.containers[0])), 'NotConsignment');
  });
  test('the consignment bundle tampered: Consignment', () => {
    routeRefused((r) => (r.consignment.events[3].event.body.time += 1), 'Consignment', 'Event', 'Signature');
  });
  test('route version 2 without containers_from, containers_from on version 1: Page; version 4: Version; version 3 (a group\'s) with a consignment member: Malformed; container bundle version 1: Container Version', () => {
    assert.match(routeRefused((r) => (r.version = 2), 'Page').message, /^pages\[0\]: containers_from is None, this page must start at 0$/);
    routeRefused((r) => (r.containers_from = 0), 'Page');
    routeRefused((r) => (r.version = 4), 'Version');
    assert.match(routeRefused((r) => (r.version = 3), 'Malformed').message, /unknown member "consignment"/);
    routeRefused((r) => (r.containers[0].version = 1), 'Container', 'Version');
  });
  test('the only page of a route (version 2, containers_from 0) verifies like the whole route', () => {
    const r = clone(ROUTE);
    r.version = 2;
    r.containers_from = 0;
    assert.deepEqual(timelineJson(verifyRoute(genesis, [r]).timeline), fixture('sample/route-timeline.json'));
  });
  test("the container bundle's membership proof lost its transition: Container Certificate", () => {
    routeRefused((r) => (r.containers[0].membership.transitions = []), 'Container', 'Certificate');
  });
  test('more than 256 container bundles: Malformed before any verification', () => {
    routeRefused((r) => (r.containers = Array(257).fill(r.containers[0])), 'Malformed');
  });
});
