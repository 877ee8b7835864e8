// NodeClient with an injected fetch: the browser's fetch refuses to be called on another object
// than the window ("Illegal invocation"), which `this.fetch(...)` did (the explorer found it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeClient } from '../index.js';

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
