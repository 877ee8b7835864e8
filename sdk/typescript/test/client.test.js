// NodeClient with an injected fetch: the browser's fetch refuses to be called on another object
// than the window ("Illegal invocation"), which `this.fetch(...)` did (the explorer found it).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Genesis, LightClient, NodeClient } from '../index.js';
import { fixture, fixtureText } from './fixtures.js';
import { pagesFixture } from './pages.js';

test('NodeClient calls fetch detached, as a browser requires', async () => {
  const seen = [];
  function browserLikeFetch(url) {
    if (this !== undefined && this !== globalThis) throw new TypeError("Failed to execute 'fetch' on 'Window': Illegal invocation");
    seen.push(url);
    return Promise.resolve(new Response('{"status":"ok"}', { status: 200 }));
  }
  const node = new NodeClient('http://node.test/', { fetch: browserLikeFetch });
  assert.deepEqual(await node.getJson('/health'), { status: 'ok' });
  assert.deepEqual(seen, ['http://node.test/health']);
});

test('NodeClient surfaces a refusal as NodeError with the node code', async () => {
  const node = new NodeClient('http://node.test', {
    fetch: async () => new Response('{"error":{"code":"no_route","message":"path: nope"}}', { status: 404 }),
  });
  await assert.rejects(node.getText('/x'), (e) => e.name === 'NodeError' && e.status === 404 && e.code === 'no_route');
});

test('NodeClient.submit names the event the node kept for a re-delivered source event', async () => {
  const kept = 'aa'.repeat(32);
  const sent = 'bb'.repeat(32);
  const node = new NodeClient('http://node.test', {
    fetch: async (url) => url.endsWith('/batch')
      ? new Response(JSON.stringify({ results: [{ id: kept, status: 'committed', index: 4, same_source_as: sent }, { id: sent, status: 'pending' }] }), { status: 200 })
      : new Response(JSON.stringify({ id: kept, status: 'committed', index: 4, same_source_as: sent }), { status: 200 }),
  });
  const wire = JSON.stringify({ body: {}, sig: '00' });
  assert.deepEqual(await node.submit(wire), { status: 200, id: kept, state: 'committed', index: 4, sameSourceAs: sent });
  assert.deepEqual(await node.submitBatch([wire, wire]), [
    { id: kept, state: 'committed', index: 4, sameSourceAs: sent },
    { id: sent, state: 'pending' },
  ]);
});

// LightClient.route against an injected fetch serving the Rust reference's route bundles: one
// bundle, or the two pages of a route of 300 containers asked for at the first page's height,
// fetched again from the first page when the node answers 409 head_moved.
const json = (text, status = 200) => new Response(text, { status, headers: { 'content-type': 'application/json' } });
const headMoved = () => json('{"error":{"code":"head_moved","message":"height: the head moved"}}', 409);

function servedRoute(ucr, pageTexts, { moved = 0 } = {}) {
  const seen = [];
  const base = `/v1/consignments/${encodeURIComponent(ucr)}/route`;
  const height = JSON.parse(pageTexts[0]).consignment.head.height;
  let left = moved;
  const fetch = async (url) => {
    const u = new URL(url);
    seen.push(u.pathname + u.search);
    assert.equal(u.pathname, base);
    if (!u.search) return json(pageTexts[0]);
    const from = Number(u.searchParams.get('containers_from'));
    assert.equal(u.searchParams.get('height'), String(height));
    if (left > 0) {
      left--;
      return headMoved();
    }
    return json(pageTexts[from / 256]);
  };
  return { fetch, seen };
}

test('LightClient.route: a whole route is one request', async () => {
  const text = fixtureText('sample/route.json');
  const ucr = JSON.parse(text).consignment.subject.id;
  const genesis = Genesis.fromJson(fixtureText('sample/genesis.json'));
  const { fetch, seen } = servedRoute(ucr, [text]);
  const { route, text: got } = await new LightClient(new NodeClient('http://node.test', { fetch }), genesis).route(ucr);
  assert.equal(seen.length, 1);
  assert.equal(got, text);
  assert.equal(route.timeline.length, fixture('sample/route-timeline.json').length);
});

describe('LightClient.route: a route in pages', () => {
  const fx = pagesFixture();
  const skip = fx.skip ?? false;
  const pageTexts = () => JSON.parse(fx.pagesText).map((p) => JSON.stringify(p));
  const ucr = () => JSON.parse(fx.pagesText)[0].consignment.subject.id;
  const client = (fetch) => new LightClient(new NodeClient('http://node.test', { fetch }), Genesis.fromJson(fx.genesisText));

  test('fetches every page at the first page\'s height and verifies them together', { skip, timeout: 300000 }, async () => {
    const texts = pageTexts();
    const { fetch, seen } = servedRoute(ucr(), texts, { moved: 1 });
    const { route, text } = await client(fetch).route(ucr());
    const base = `/v1/consignments/${ucr()}/route`;
    const height = JSON.parse(texts[0]).consignment.head.height;
    // The head moved once: page 1 answered 409, so the route was fetched again from page 0.
    assert.deepEqual(seen, [base, `${base}?containers_from=256&height=${height}`, base, `${base}?containers_from=256&height=${height}`]);
    assert.equal(route.containers.length, 300);
    assert.equal(JSON.parse(text).length, 2);
  });
  test('a head that keeps moving: NodeError 409 head_moved after 3 tries', { skip, timeout: 60000 }, async () => {
    const { fetch, seen } = servedRoute(ucr(), pageTexts(), { moved: 3 });
    await assert.rejects(client(fetch).route(ucr()), (e) => e.name === 'NodeError' && e.status === 409 && e.code === 'head_moved');
    assert.equal(seen.length, 6);
  });
});
