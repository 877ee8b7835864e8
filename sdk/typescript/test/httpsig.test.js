// Request signatures (PROTOCOL.md section 12): the SDK reproduces the document's vector, byte
// for byte, and NodeClient signs every request when given a key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { KeyPair, NodeClient, signRequest, requestSignatureBase, verifySignature } from '../index.js';

const doc = readFileSync(new URL('../../../docs/PROTOCOL.md', import.meta.url), 'utf8');
const section = doc.slice(doc.indexOf('<!-- httpsig:begin -->'), doc.indexOf('<!-- httpsig:end -->'));
const docLine = (prefix) => section.split('\n').find((l) => l.startsWith(prefix))?.slice(prefix.length);
const key = new KeyPair(new Uint8Array(32).fill(7));
const request = { method: 'GET', authority: 'node.example:8080', path: '/v1/consignments/GB123456789012-TL0001', query: null };
const when = { created: 1767225600, expires: 1767225900, nonce: 'c2FtcGxlLW5vbmNl' };

test('the PROTOCOL.md 12 vector: both headers and the signature base', () => {
  assert.ok(section.length > 0, 'PROTOCOL.md has the httpsig markers');
  const h = signRequest(key, request, when);
  assert.equal(h['Signature-Input'], docLine('Signature-Input: '));
  assert.equal(h.Signature, docLine('Signature: '));
  const base = new TextDecoder().decode(requestSignatureBase(request, h['Signature-Input'].slice('sig1='.length)));
  assert.ok(section.includes('```text\n' + base + '\n```'), base);
  // The same from a URL (authority, path and query taken as fetch sends them).
  const viaUrl = signRequest(key, { method: 'GET', url: 'http://node.example:8080/v1/consignments/GB123456789012-TL0001' }, when);
  assert.deepEqual(viaUrl, h);
  const sig = Uint8Array.from(atob(h.Signature.slice(6, -1)), (c) => c.charCodeAt(0));
  assert.ok(verifySignature(key.publicKey, requestSignatureBase(request, h['Signature-Input'].slice(5)), sig));
});

test('windows and nonces a node would refuse are refused when signing', () => {
  assert.throws(() => signRequest(key, request, { created: 10, expires: 311 }), RangeError);
  assert.throws(() => signRequest(key, request, { created: 10, expires: 10 }), RangeError);
  assert.throws(() => signRequest(key, request, { created: 10, nonce: 'a"b' }), RangeError);
  const h = signRequest(key, { method: 'GET', url: 'http://h:1/v1/x?y=1' }, { created: 10 });
  assert.match(h['Signature-Input'], /;created=10;expires=70;/);
});

test('NodeClient signs every request when given a key', async () => {
  const seen = [];
  const fetch = async (url, init) => {
    seen.push({ url, headers: init.headers });
    return new Response('{}', { status: 200 });
  };
  await new NodeClient('http://127.0.0.1:7100/', { fetch, keyPair: key }).getText('/v1/consignments/U?height=2');
  await new NodeClient('http://127.0.0.1:7100', { fetch }).getText('/v1/head');
  assert.match(seen[0].headers['Signature-Input'], new RegExp(`^sig1=\\("@method" "@authority" "@path" "@query"\\);created=\\d+;expires=\\d+;keyid="${key.publicKey}";alg="ed25519";tag="tradelog/request/v1"$`));
  assert.match(seen[0].headers.Signature, /^sig1=:[A-Za-z0-9+/]{86}==:$/);
  assert.equal(seen[1].headers['Signature-Input'], undefined);
});
