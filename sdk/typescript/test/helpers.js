// Shared test helpers: the sample network's insecure dev keys and re-signing.
import assert from 'node:assert/strict';
import { D, KeyPair, signingBytes, parseBody, toHex, utf8Bytes } from '../index.js';

/** The sample network's dev keys: seed = D("tradelog/dev-key/v1", name). */
export function devKey(name) {
  return new KeyPair(D('tradelog/dev-key/v1', utf8Bytes(name)));
}

/** Signs a (possibly altered) wire event's body again, as `key`. */
export function resign(wire, key) {
  wire.body.issuer.key = key.publicKey;
  wire.sig = toHex(key.sign(signingBytes(parseBody(wire.body))));
}

/** A deep copy of parsed JSON. */
export const clone = (v) => structuredClone(v);

/** Asserts that `fn` throws an error named `name` with `variant` and, nested, `inner` variants. */
export function refused(fn, name, variant, ...inner) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${name}.${variant}, nothing was thrown`);
  assert.equal(err.name, name, err.stack);
  assert.equal(err.variant, variant, err.message);
  let e = err;
  for (const v of inner) {
    e = e.err;
    assert.ok(e, `expected a nested ${v} in: ${err.message}`);
    assert.equal(e.variant, v, err.message);
  }
  return err;
}
