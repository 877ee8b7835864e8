// Ed25519 keys and signatures (PROTOCOL.md section 1).
//
// Keys are vetted where they are parsed: a public key must decode to a curve point, not be of
// small order and be canonically encoded (y < p); anything else is refused with the Rust
// `KeyError` variant (`NotAPoint`, `Weak`, `NotCanonical`, checked in that order, as the Rust
// reference does). Signatures are accepted under the ZIP-215 rules (cofactored equation,
// S < L, any R encoding), which make single and batch verification agree; with a vetted key
// every signature the strict rules accepted stays valid.
import { ed25519 } from '@noble/curves/ed25519.js';
import { equalBytes, fromHex, toHex } from './bytes.js';
import { HexError, KeyError } from './errors.js';

const Point = ed25519.Point;
const vetted = new Map();

/**
 * Parses a public key from 64 lowercase hex characters or 32 bytes; returns the 32 bytes.
 * Throws `KeyError` (`Hex`, `NotAPoint`, `Weak`, `NotCanonical`).
 */
export function parsePublicKey(key) {
  let bytes;
  if (typeof key === 'string') {
    const cached = vetted.get(key);
    if (cached) return cached;
    try {
      bytes = fromHex(key, 32);
    } catch (e) {
      throw new KeyError('Hex', `public key: ${e.message}`, { err: e });
    }
  } else if (key instanceof Uint8Array && key.length === 32) {
    bytes = key;
  } else {
    throw new KeyError('Hex', 'public key: expected 64 lowercase hex characters');
  }
  let point;
  try {
    point = Point.fromBytes(bytes, true);
  } catch {
    throw new KeyError('NotAPoint', 'public key is not a valid ed25519 point');
  }
  if (point.isSmallOrder()) throw new KeyError('Weak', 'public key has small order and is refused');
  if (!equalBytes(point.toBytes(), bytes)) throw new KeyError('NotCanonical', 'public key is not canonically encoded');
  if (vetted.size >= 4096) vetted.clear();
  const out = Uint8Array.from(bytes);
  vetted.set(toHex(out), out);
  return out;
}

/** Parses a 64-byte signature from 128 lowercase hex characters (Rust: a `HexError`). */
export function parseSignature(sig) {
  if (sig instanceof Uint8Array) {
    if (sig.length !== 64) throw new HexError('Length', `expected 128 lowercase hex characters, got ${2 * sig.length}`);
    return sig;
  }
  return fromHex(sig, 64);
}

/**
 * True iff `sig` is a valid signature of `msg` under the (vetted) public key `pub`, by the
 * ZIP-215 rules. Never throws for a bad signature; a key that fails vetting throws `KeyError`.
 */
export function verifySignature(pub, msg, sig) {
  return verifyZip215(parsePublicKey(pub), msg, sig);
}

/**
 * The ZIP-215 rules alone (PROTOCOL.md section 1, steps 1-3), without key vetting: `S < L`;
 * `A` (32 bytes, any encoding) and `R` decoded without RFC 8032's canonicity checks (`y >= p`
 * reduced, `x = 0` with the sign bit set accepted, small order accepted); the cofactored
 * equation `[8]([S]B - R - [k]A) = identity` with `k = SHA-512(R || A || M)` over the bytes as
 * given. noble's `zip215: true` implements exactly this (its `verify` is always cofactored).
 * tradelog's rule is `verifySignature`: key vetting, then this. Never throws for a bad signature
 * or point; a malformed hex string throws `HexError`.
 */
export function verifyZip215(pub, msg, sig) {
  const key = typeof pub === 'string' ? fromHex(pub, 32) : pub;
  const s = parseSignature(sig);
  try {
    return ed25519.verify(s, msg, key, { zip215: true });
  } catch {
    return false;
  }
}

/** Public key (32 bytes) of a 32-byte Ed25519 seed (RFC 8032 private key). */
export function publicKeyOf(seed) {
  return ed25519.getPublicKey(asSeed(seed));
}

/** Pure Ed25519 signature (RFC 8032, deterministic) of `msg` with a 32-byte seed. */
export function signBytes(seed, msg) {
  return ed25519.sign(msg, asSeed(seed));
}

/** A fresh random 32-byte seed from the platform's CSPRNG (`crypto.getRandomValues`). */
export function generateSeed() {
  return globalThis.crypto.getRandomValues(new Uint8Array(32));
}

function asSeed(seed) {
  const s = typeof seed === 'string' ? fromHex(seed, 32) : seed;
  if (!(s instanceof Uint8Array) || s.length !== 32) throw new TypeError('an Ed25519 seed is 32 bytes');
  return s;
}

/**
 * A signing key: a 32-byte seed and its public key. `toJSON`/inspection never show the seed.
 * `KeyPair.fromKeyFile(json)` reads a tradelog key file `{"public", "secret"}` (what
 * `tradelog keygen` and the devnet write) and checks that the public key matches the secret.
 */
export class KeyPair {
  #seed;
  constructor(seed) {
    this.#seed = Uint8Array.from(asSeed(seed));
    /** The public key, 64 lowercase hex characters. */
    this.publicKey = toHex(publicKeyOf(this.#seed));
  }
  static generate() {
    return new KeyPair(generateSeed());
  }
  static fromKeyFile(text) {
    const kf = typeof text === 'string' ? JSON.parse(text) : text;
    if (!kf || typeof kf.secret !== 'string' || typeof kf.public !== 'string') {
      throw new TypeError('a key file is {"public": "<hex>", "secret": "<hex seed>"}');
    }
    const k = new KeyPair(fromHex(kf.secret, 32));
    if (k.publicKey !== kf.public) throw new TypeError('key file: public does not match secret');
    return k;
  }
  /** Signs `msg` (bytes); returns the 64-byte signature. */
  sign(msg) {
    return signBytes(this.#seed, msg);
  }
  /** The seed (handle with care). */
  seed() {
    return Uint8Array.from(this.#seed);
  }
  toJSON() {
    return { public: this.publicKey, secret: '<redacted>' };
  }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `KeyPair(public=${this.publicKey}, secret=<redacted>)`;
  }
}
