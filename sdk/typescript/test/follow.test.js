// Following heads (PROTOCOL.md 9c): a served head must extend the known one; forks and stale
// heads are named, with both heads as evidence. Uses the section 11 Merkle vectors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkExtends, leafHash, rootOf, FollowError } from '../index.js';
import { fixture } from './fixtures.js';

const V = fixture('vectors.json').values;
const leaves = Array.from({ length: 7 }, (_, i) => leafHash(Uint8Array.of(i)));
const head = (height, size, root = rootOf(leaves.slice(0, size))) => ({
  head: { chain: 'c', height: BigInt(height), time: 0n, prev: '00'.repeat(32), log_size: BigInt(size), log_root: root, index_root: '00'.repeat(32), validators: '00'.repeat(32) },
  certificate: {},
});
const answer = (first, second, path) => ({ first, second, first_root: rootOf(leaves.slice(0, first)), second_root: rootOf(leaves.slice(0, second)), proof: { first, second, path } });
const never = () => assert.fail('no consistency proof is needed');
const rejects = (p, variant, reason) => assert.rejects(p, (e) => e instanceof FollowError && e.variant === variant && (!reason || e.reason.includes(reason)));

test('the same head, or a later one with the same log, extends the known head', async () => {
  const k = head(3, 3);
  assert.equal(await checkExtends(k, k, never), k);
  await checkExtends(k, head(4, 3), never);
});

test('a larger log extends the known one with a valid consistency proof', async () => {
  await checkExtends(head(2, 3), head(5, 7), (a, b) => {
    assert.deepEqual([a, b], [3n, 7n]);
    return answer(3, 7, V.merkle_consistency_3_to_7.split(','));
  });
});

test('forks and stale heads are named, with both heads', async () => {
  await rejects(checkExtends(head(3, 3), head(3, 4), never), 'Fork', 'two different heads');
  await rejects(checkExtends(head(3, 3), head(2, 2), never), 'Stale');
  await rejects(checkExtends(head(3, 3), head(2, 5), never), 'Fork', 'has log size');
  await rejects(checkExtends(head(3, 5), head(4, 3), never), 'Fork', 'shrank');
  await rejects(checkExtends(head(3, 3), head(4, 3, '11'.repeat(32)), never), 'Fork', 'different log roots');
  await rejects(checkExtends(head(2, 3), head(5, 7), () => answer(4, 7, V.merkle_consistency_4_to_7.split(','))), 'Fork', 'other sizes');
  await rejects(checkExtends(head(2, 4), head(5, 7), () => answer(4, 7, V.merkle_consistency_3_to_7.split(','))), 'Fork', 'consistency proof from 4 to 7');
  await rejects(checkExtends(head(2, 3), head(5, 7), () => Promise.reject(new Error('404'))), 'Fork', 'no consistency proof');
  const e = await checkExtends(head(3, 3), head(3, 4), never).catch((x) => x);
  assert.equal(e.known.head.log_size, 3n);
  assert.equal(e.served.head.log_size, 4n);
});
