// Recorded times (PROTOCOL.md 9 step 7): a version-3 bundle's `blocks` prove each event's block,
// whose certified head time is when the ledger recorded it. The Rust reference's sample bundle
// and route (version 3) verify with the recorded heights and times of its blocks, a version-2
// bundle verifies without them, and lies about the block entries are refused with the Rust
// verifier's error.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Genesis, verifyBundle, verifyRoute, headHash, parseHead, precommitMessage, toHex, BUNDLE_VERSION, MIN_BUNDLE_VERSION } from '../index.js';
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
const verified = (mutate) => {
  const b = clone(BUNDLE);
  mutate(b);
  return verifyBundle(genesis, b);
};
// The sample's validator sets: the genesis set's first three sign heights 1-7, the new set
// (two of them and Rhine Barge's node) height 8.
const GENESIS_SET = genesis.validators.validators.slice(0, 3).map((v) => devKey(`validator/${v.org}`));
const NEW_SET = ['nl-customs', 'de-customs', 'rhine-barge'].map((o) => devKey(`validator/${o}`));

/** A certificate for `headJson` signed by `keys` at round 0 (as the sample ledger's). */
function certify(headJson, keys) {
  const head = parseHead(headJson);
  const hash = headHash(head);
  const msg = precommitMessage(head.chain, head.height, 0, hash);
  return { height: headJson.height, round: 0, head: hash, signatures: keys.map((k) => ({ validator: k.publicKey, sig: toHex(k.sign(msg)) })) };
}
const hashOf = (headJson) => headHash(parseHead(headJson));
/** The position of the block entry at `height`. */
const at = (b, height) => {
  const p = b.blocks.findIndex((bp) => bp.head.height === height);
  assert.ok(p >= 0, `no block entry at height ${height}`);
  return p;
};

/** What the Rust reference says each event's recorded time is: the block whose log range holds it. */
function expectedRecorded(bundle) {
  return bundle.events.map((pe) => {
    const bp = bundle.blocks.find((x) => (x.prev ? x.prev.log_size : 0) <= pe.index && pe.index < x.head.log_size);
    return bp ? { height: BigInt(bp.head.height), time: BigInt(bp.head.time) } : null;
  });
}

describe('recorded times (version 3)', () => {
  test('the sample bundle is version 3 and every event has its recorded height and time', () => {
    assert.equal(BUNDLE_VERSION, 3);
    assert.equal(MIN_BUNDLE_VERSION, 2);
    assert.equal(BUNDLE.version, 3);
    const p = verifyBundle(genesis, fixtureText('sample/bundle.json'));
    assert.equal(p.version, 3);
    assert.equal(p.blocks.length, BUNDLE.blocks.length);
    const got = p.events.map((e) => e.recorded);
    assert.deepEqual(got, expectedRecorded(BUNDLE));
    assert.ok(got.every((r) => r !== null), 'the reference serves a block entry for every event');
    // The sample ledger (protocol/examples/sample_bundle.rs): consignment 1's first 7 events in
    // block 3, the other 7 in block 6 (after the carrier's key rotation at heights 4 and 5), its
    // document in block 8, certified by the new validator set.
    assert.deepEqual(got.map((r) => Number(r.height)), [...Array(7).fill(3), ...Array(7).fill(6), 8]);
    // The Rust verifier's `Provenance::recorded` for this fixture (block times of heights 3, 6, 8).
    const RUST = { 3: 1770296400002n, 6: 1770465600001n, 8: 1770472800001n };
    assert.deepEqual(got, got.map((r) => ({ height: r.height, time: RUST[r.height] })));
    const h8 = BUNDLE.blocks[BUNDLE.blocks.length - 1];
    assert.deepEqual(h8.head, BUNDLE.head);
    assert.equal(h8.prev.height, BUNDLE.membership.transitions[0].head.height);
    // A block's time is at least every event's time (each sample block is 1 ms after its latest
    // event, or after the previous block); its events are never more than 10 minutes ahead.
    for (const e of p.events) assert.ok(e.recorded.time >= BigInt(e.event.body.time) && e.recorded.time <= BigInt(e.event.body.time) + 600000n * 10000n);
  });
  test('the route timeline carries each entry\'s recorded time, the container\'s events too', () => {
    const r = verifyRoute(genesis, fixtureText('sample/route.json'));
    const all = new Map();
    for (const p of [r.consignment, ...r.containers]) for (const e of p.events) all.set(e.index, e.recorded);
    for (const t of r.timeline) {
      assert.ok(t.recorded, `timeline entry ${t.index} has no recorded time`);
      assert.deepEqual(t.recorded, all.get(t.index));
    }
    // As the Rust reference's `Route::recorded_at`: 7 entries in block 3, 8 in block 6, 1 in 8.
    assert.deepEqual(r.timeline.map((t) => Number(t.recorded.height)), [...Array(7).fill(3), ...Array(8).fill(6), 8]);
    // The container's transshipment (a container event inside the route) was recorded in block 6.
    const moved = r.timeline.filter((t) => t.source !== 'consignment');
    assert.ok(moved.length >= 1);
    assert.ok(moved.every((t) => t.recorded.height === 6n));
    // The container's gate-in before the consignment is the block of height 1 (prev null).
    const c = ROUTE.containers[0];
    assert.equal(c.blocks[0].head.height, 1);
    assert.equal(c.blocks[0].prev, null);
    assert.deepEqual(r.containers[0].events[0].recorded, { height: 1n, time: BigInt(c.blocks[0].head.time) });
  });
  test('a version-2 bundle (no blocks) still verifies: every recorded time is unknown', () => {
    const p = verified((b) => {
      b.version = 2;
      delete b.blocks;
    });
    assert.equal(p.version, 2);
    assert.deepEqual(p.blocks, []);
    assert.ok(p.events.every((e) => e.recorded === null));
    const r = clone(ROUTE);
    for (const b of [r.consignment, ...r.containers]) {
      b.version = 2;
      delete b.blocks;
    }
    assert.ok(verifyRoute(genesis, r).timeline.every((t) => t.recorded === null));
  });
  test('a block entry dropped: its events have no recorded time, the others keep theirs', () => {
    const p = verified((b) => b.blocks.splice(at(b, 6), 1));
    const heights = p.events.map((e) => (e.recorded ? Number(e.recorded.height) : null));
    assert.deepEqual(heights, [...Array(7).fill(3), ...Array(7).fill(null), 8]);
    assert.deepEqual(verified((b) => (b.blocks = [])).events.map((e) => e.recorded), Array(BUNDLE.events.length).fill(null));
  });
  test('a version-2 bundle carrying blocks (even none): Block at 0', () => {
    const e = bundleRefused((b) => (b.version = 2), 'Block');
    assert.equal(e.pos, 0);
    assert.match(e.message, /^blocks\[0\]: /);
    bundleRefused((b) => {
      b.version = 2;
      b.blocks = [];
    }, 'Block');
  });
  test('a version-3 bundle without blocks, blocks null, an entry with a member too many or without prev: Malformed', () => {
    bundleRefused((b) => delete b.blocks, 'Malformed');
    bundleRefused((b) => (b.blocks = null), 'Malformed');
    bundleRefused((b) => (b.blocks[0].extra = 1), 'Malformed');
    bundleRefused((b) => delete b.blocks[0].prev, 'Malformed');
    bundleRefused((b) => (b.blocks[0].prev = 0), 'Malformed');
  });
  test("a block head's time changed: its certificate is for another head (BlockCertificate WrongHead)", () => {
    const e = bundleRefused((b) => (b.blocks[0].head.time += 1), 'BlockCertificate', 'WrongHead');
    assert.equal(e.pos, 0);
    assert.match(e.message, /^blocks\[0\]\.certificate: /);
  });
  test('a prev with a wrong hash, height, chain, a later time or a larger log: Block', () => {
    const p = at(BUNDLE, 6);
    for (const lie of [
      (x) => (x.log_root = '00'.repeat(32)),
      (x) => (x.height -= 1),
      (x) => (x.chain = 'other-chain'),
    ]) {
      const e = bundleRefused((b) => lie(b.blocks[p].prev), 'Block');
      assert.equal(e.pos, p);
    }
    // A prev whose hash matches but breaks the header rules: the head names it, re-certified.
    for (const lie of [(x, h) => (x.time = h.time + 1), (x, h) => (x.log_size = h.log_size + 1)]) {
      bundleRefused((b) => {
        const bp = b.blocks[p];
        lie(bp.prev, bp.head);
        bp.head.prev = hashOf(bp.prev);
        bp.certificate = certify(bp.head, GENESIS_SET);
      }, 'Block');
    }
    bundleRefused((b) => (b.blocks[p].prev = null), 'Block');
  });
  test('prev at height 1 is null and the head chains to the genesis: Block otherwise', () => {
    const r = clone(ROUTE);
    const c = r.containers[0];
    c.blocks[0].prev = clone(c.blocks[0].head);
    refused(() => verifyRoute(genesis, r), 'RouteError', 'Container', 'Block');
    c.blocks[0].prev = null;
    c.blocks[0].head.prev = '00'.repeat(32);
    c.blocks[0].certificate = certify(c.blocks[0].head, GENESIS_SET);
    const e = refused(() => verifyRoute(genesis, r), 'RouteError', 'Container', 'Block');
    assert.equal(e.err.pos, 0);
  });
  test('a block above the bundle head: Block', () => {
    const e = bundleRefused((b) => {
      const last = b.blocks[b.blocks.length - 1];
      last.prev = clone(last.head);
      last.head.height += 1;
      last.head.prev = hashOf(last.prev);
      last.certificate = certify(last.head, NEW_SET);
    }, 'Block');
    assert.equal(e.pos, BUNDLE.blocks.length - 1);
    assert.match(e.message, /at most the bundle head's/);
  });
  test('an entry at the head height that is not the head: Block (before its certificate)', () => {
    bundleRefused((b) => (b.blocks[b.blocks.length - 1].head.log_root = '00'.repeat(32)), 'Block');
  });
  test('a log size above the head, entries out of order or repeated, more entries than events: Block', () => {
    bundleRefused((b) => {
      const bp = b.blocks[0];
      bp.head.log_size = b.head.log_size + 1;
      bp.certificate = certify(bp.head, GENESIS_SET);
    }, 'Block');
    const e = bundleRefused((b) => b.blocks.reverse(), 'Block');
    assert.equal(e.pos, 1);
    bundleRefused((b) => b.blocks.splice(1, 0, clone(b.blocks[0])), 'Block');
    const many = bundleRefused((b) => (b.blocks = Array(b.events.length + 1).fill(b.blocks[0])), 'Block');
    assert.equal(many.pos, BUNDLE.events.length);
  });
  test('a certified block holding none of the events: Block', () => {
    // The block of height 7 (the set_validators change) is certified and chains to block 6, but
    // holds none of the consignment's events.
    const e = bundleRefused((b) => {
      const p = at(b, 6);
      const t = b.membership.transitions[0];
      b.blocks.splice(p + 1, 0, { head: clone(t.head), certificate: clone(t.certificate), prev: clone(b.blocks[p].head) });
    }, 'Block');
    assert.equal(e.pos, at(BUNDLE, 6) + 1);
    assert.match(e.message, /holds none/);
  });
  test('a block certified by the set not in force at its height: BlockCertificate', () => {
    // Block 3 re-certified by the new set (in force only from height 8), block 8 (the head)
    // by the genesis set.
    bundleRefused((b) => (b.blocks[0].certificate = certify(b.blocks[0].head, NEW_SET)), 'BlockCertificate', 'NotAValidator');
    bundleRefused((b) => {
      const bp = b.blocks[b.blocks.length - 1];
      bp.certificate = certify(bp.head, GENESIS_SET);
    }, 'BlockCertificate', 'NotAValidator');
    bundleRefused((b) => b.blocks[0].certificate.signatures.pop(), 'BlockCertificate', 'NoQuorum');
  });
  test('an event more than 10 minutes after its block: FutureEvent (exactly 10 minutes passes)', () => {
    // Block 3 moved back in time (its prev with it), re-certified by the genesis set.
    const back = (b, ahead) => {
      const bp = b.blocks[0];
      const latest = Math.max(...b.events.filter((pe) => pe.index < bp.head.log_size).map((pe) => pe.event.body.time));
      bp.head.time = latest - ahead;
      bp.prev.time = Math.min(bp.prev.time, bp.head.time);
      bp.head.prev = hashOf(bp.prev);
      bp.certificate = certify(bp.head, GENESIS_SET);
      return b.events.findIndex((pe) => pe.event.body.time === latest);
    };
    let pos;
    const e = bundleRefused((b) => (pos = back(b, 600001)), 'FutureEvent');
    assert.equal(e.pos, pos);
    const p = verified((b) => back(b, 600000));
    assert.equal(p.events[pos].recorded.time, BigInt(p.events[pos].event.body.time) - 600000n);
  });
  test('an event re-signed with a later time still fails its own checks first', () => {
    bundleRefused((b) => {
      b.events[0].event.body.time += 1;
      resign(b.events[0].event, devKey(`org/${b.events[0].event.body.issuer.org}`));
    }, 'Inclusion');
  });
});
