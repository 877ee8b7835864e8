// The live devnet story: an event signed here with a devnet organisation's key is admitted and
// committed; the node's route bundle for the consignment verifies from the genesis alone; a
// tampered copy is refused.
//
//   TRADELOG_NODE          node API (default http://127.0.0.1:7100, the devnet's first node)
//   TRADELOG_DEVNET_DIR    the devnet directory with keys/ and <org>/genesis.json (default ./devnet at the repo root)
//   TRADELOG_REQUIRE_DEVNET=1   fail (instead of skip) when no devnet is reachable (CI)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Genesis, KeyPair, NodeClient, LightClient, signEvent, commitDetails, verifyDisclosure, verifyRoute,
  iso6346CheckDigit, NodeError, H, toHex, utf8Bytes,
} from '../index.js';
import { refused } from './helpers.js';
import { signSubmitVerify } from '../examples/sign-submit-verify.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const URL_ = process.env.TRADELOG_NODE ?? 'http://127.0.0.1:7100';
const DIR = process.env.TRADELOG_DEVNET_DIR ?? join(ROOT, 'devnet');
const REQUIRE = process.env.TRADELOG_REQUIRE_DEVNET === '1';

async function probe() {
  if (!existsSync(join(DIR, 'keys', 'blue-anchor-lines.key'))) return `no devnet keys under ${DIR} (set TRADELOG_DEVNET_DIR)`;
  try {
    const r = await fetch(`${URL_}/health`, { signal: AbortSignal.timeout(2000) });
    return r.ok ? undefined : `${URL_}/health answered ${r.status}`;
  } catch (e) {
    return `no devnet reachable at ${URL_} (${e.cause?.code ?? e.message}); start one with \`tradelog-node devnet\` or set TRADELOG_NODE`;
  }
}
const unavailable = await probe();
if (unavailable && REQUIRE) {
  test('a devnet is required (TRADELOG_REQUIRE_DEVNET=1)', () => assert.fail(unavailable));
}
const skip = unavailable && !REQUIRE ? `skipped: ${unavailable}` : false;

test('devnet: sign in TypeScript, submit, see it committed, verify the route, refuse a tampered copy', { skip, timeout: 120000 }, async () => {
  const genesis = Genesis.fromJson(readFileSync(join(DIR, 'nl-customs', 'genesis.json')));
  const carrier = KeyPair.fromKeyFile(readFileSync(join(DIR, 'keys', 'blue-anchor-lines.key'), 'utf8'));
  const node = new NodeClient(URL_);
  // A consignment and a container no other run used.
  const stamp = `${Date.now()}${Math.floor(Math.random() * 1000)}`.slice(-12);
  const ucr = `6NL${stamp}-SDK`;
  const serial = stamp.slice(-6);
  const container = `TSDU${serial}${iso6346CheckDigit(`TSDU${serial}`)}`;
  const now = Date.now() - 60000;
  const issuer = { org: 'blue-anchor-lines', key: carrier.publicKey };
  const chain = genesis.chain;

  const { details, disclosures } = commitDetails({ hs_code: '850760', consignee: 'ACME Rotterdam BV' });
  const invoice = toHex(H(utf8Bytes(`commercial invoice of ${ucr}`)));
  const booked = signEvent({ chain, kind: 'booked', time: now, ucr, issuer, details, documents: [{ kind: 'commercial_invoice', alg: 'blake3', digest: invoice }] }, carrier);
  const packed = signEvent({ chain, kind: 'packed', time: now + 1000, ucr, container, location: 'NLRTM', issuer, refs: [booked.id] }, carrier);
  const loaded = signEvent({ chain, kind: 'loaded', time: now + 2000, container, location: 'NLRTM', issuer, transport: { mode: 'sea', means: 'IMO9321483', voyage: '042W' } }, carrier);

  // Submit: one alone, two in a batch; a resubmission is idempotent; an unknown key is refused.
  const first = await node.submit(booked);
  assert.equal(first.status, 202);
  assert.equal(first.id, booked.id);
  const batch = await node.submitBatch([packed, loaded]);
  assert.deepEqual(batch.map((r) => r.id), [packed.id, loaded.id]);
  assert.ok(batch.every((r) => r.state === 'pending' || r.state === 'committed'), JSON.stringify(batch));
  assert.equal((await node.submit(booked.wire)).status, 200);
  const stranger = KeyPair.generate();
  const outsider = signEvent({ chain, kind: 'booked', time: now, ucr, issuer: { org: 'blue-anchor-lines', key: stranger.publicKey } }, stranger);
  await assert.rejects(node.submit(outsider), (e) => e instanceof NodeError && e.status === 422 && e.code === 'unknown_issuer');
  const [bad] = await node.submitBatch([{ body: JSON.parse(booked.canonicalBody), sig: '00'.repeat(64) }]);
  assert.equal(bad.error.code, 'bad_signature');

  for (const e of [booked, packed, loaded]) {
    const s = await node.waitCommitted(e.id);
    assert.equal(typeof s.index, 'number');
  }

  // The route, verified from the genesis alone (the head may trail the commit by a block).
  const client = new LightClient(node, genesis);
  let route;
  let text;
  for (let i = 0; i < 50; i++) {
    ({ route, text } = await client.route(ucr));
    if (route.consignment.events.length === 2 && route.containers[0]?.events.length === 2) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.deepEqual(route.consignment.events.map((e) => e.event.id), [booked.id, packed.id]);
  assert.deepEqual(route.containers.map((c) => c.subject.id), [container]);
  assert.deepEqual(route.timeline.map((t) => t.event.id), [booked.id, packed.id, loaded.id]);
  assert.deepEqual(route.timeline[2].source, { container });
  verifyDisclosure(route.consignment.events[0].event, disclosures.hs_code);
  await client.head();
  const history = await client.membership(); // the devnet's membership proof, from the genesis
  assert.equal(history.validators.hash(), genesis.validators.hash());
  assert.ok(history.at(BigInt(Number.MAX_SAFE_INTEGER)).org('blue-anchor-lines').keys.includes(carrier.publicKey));
  const bundle = await client.bundle('container', container);
  assert.deepEqual(bundle.events.map((e) => e.event.id), [packed.id, loaded.id]);

  // A tampered copy is refused, each lie by name.
  const lie = (mutate) => {
    const r = JSON.parse(text);
    mutate(r);
    return JSON.stringify(r);
  };
  refused(() => verifyRoute(genesis, lie((r) => (r.consignment.events[1].event.body.location = 'BEANR'))), 'RouteError', 'Consignment', 'Event', 'Signature');
  refused(() => verifyRoute(genesis, lie((r) => r.containers.pop())), 'RouteError', 'Containers');
  refused(() => verifyRoute(genesis, lie((r) => r.consignment.events.pop())), 'RouteError', 'Consignment', 'Incomplete');
  refused(() => verifyRoute(genesis, lie((r) => r.containers[0].events.shift())), 'RouteError', 'Container', 'Incomplete');
  refused(() => verifyRoute(genesis, lie((r) => r.consignment.certificate.signatures.splice(1))), 'RouteError', 'Consignment', 'Certificate', 'NoQuorum');
});

test('devnet: the README example (examples/sign-submit-verify.js) runs as written', { skip, timeout: 60000 }, async () => {
  const ucr = `6NL${`${Date.now()}`.slice(-10)}-README`;
  const { event, route, disclosures } = await signSubmitVerify(URL_, DIR, ucr);
  assert.deepEqual(route.consignment.events.map((e) => e.event.id), [event.id]);
  verifyDisclosure(route.consignment.events[0].event, disclosures.hs_code);
});
