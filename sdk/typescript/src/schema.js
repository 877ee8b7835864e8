// Typed reading of parsed JSON, with the rules every protocol object follows (PROTOCOL.md 3.2):
// objects only, unknown members refused, required members present, `null` refused for optional
// members, integers in range. Failures throw `JsonError` variant `Schema` naming the path; the
// caller wraps it in its own `Malformed` error, as serde errors are in the Rust reference.
import { JsonError } from './errors.js';
import { isHex } from './bytes.js';
import { parsePublicKey } from './keys.js';

const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = (1n << 32n) - 1n;

export function fail(path, what) {
  throw new JsonError('Schema', `${path}: ${what}`, { path });
}

const describe = (v) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v === 'bigint' ? 'a number' : `a ${typeof v}`);

/**
 * Checks that `v` is an object with exactly the `required` members and any of the `optional`
 * ones (not `null`); returns it.
 */
export function object(v, path, required, optional = []) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(path, `expected an object, got ${describe(v)}`);
  for (const k of Object.keys(v)) {
    if (!required.includes(k) && !optional.includes(k)) fail(path, `unknown member ${JSON.stringify(k)}`);
  }
  for (const k of required) if (!(k in v)) fail(path, `missing member ${JSON.stringify(k)}`);
  for (const k of optional) if (k in v && v[k] === null) fail(`${path}.${k}`, 'null is refused: omit the member instead');
  return v;
}

export function array(v, path, max) {
  if (!Array.isArray(v)) fail(path, `expected an array, got ${describe(v)}`);
  if (max !== undefined && v.length > max) fail(path, `${v.length} items, the limit is ${max}`);
  return v;
}

export function string(v, path) {
  if (typeof v !== 'string') fail(path, `expected a string, got ${describe(v)}`);
  return v;
}

function integer(v, path, max, what) {
  if (typeof v === 'number' && Number.isInteger(v)) v = BigInt(v);
  if (typeof v !== 'bigint') fail(path, `expected ${what}, got ${describe(v)}`);
  if (v < 0n || v > max) fail(path, `${v} is not ${what}`);
  return v;
}

/** An unsigned 64-bit integer, as a bigint. */
export function u64(v, path) {
  return integer(v, path, U64_MAX, 'an unsigned 64-bit integer');
}

/** An unsigned 32-bit integer, as a bigint. */
export function u32(v, path) {
  return integer(v, path, U32_MAX, 'an unsigned 32-bit integer');
}

/** One of `values`. */
export function oneOf(v, path, values) {
  if (typeof v !== 'string' || !values.includes(v)) fail(path, `expected one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
  return v;
}

/** A 32-byte hash: 64 lowercase hex characters (kept as the hex string). */
export function hash(v, path) {
  if (!isHex(v, 32)) fail(path, 'expected 64 lowercase hex characters');
  return v;
}

/** A 64-byte signature: 128 lowercase hex characters. */
export function signature(v, path) {
  if (!isHex(v, 64)) fail(path, 'signature: expected 128 lowercase hex characters');
  return v;
}

/** A vetted public key (kept as the hex string). */
export function publicKey(v, path) {
  string(v, path);
  try {
    parsePublicKey(v);
  } catch (e) {
    fail(path, e.message);
  }
  return v;
}

/** Applies an identifier check, turning its IdError into a schema failure at `path`. */
export function id(v, path, check) {
  string(v, path);
  try {
    return check(v);
  } catch (e) {
    fail(path, e.message);
  }
}

/** A bigint as a JSON number value (number when it is safe). */
export function jsonInt(n) {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}
