// Salted detail commitments and their disclosures (PROTOCOL.md 3.5).
import { fromHex, toHex, u32, utf8Bytes } from './bytes.js';
import { DisclosureError } from './errors.js';
import { D } from './hash.js';
import * as S from './schema.js';

export const DETAIL_DOMAIN = 'tradelog/detail/v1';
/** Largest disclosed value, in bytes. */
export const MAX_DETAIL_VALUE = 4096;

/** D("tradelog/detail/v1", salt || u32(len(name)) || name || u32(len(value)) || value), hex. */
export function commitDetail(name, value, salt) {
  const s = typeof salt === 'string' ? fromHex(salt, 16) : salt;
  if (!(s instanceof Uint8Array) || s.length !== 16) throw new TypeError('a detail salt is 16 bytes');
  const n = utf8Bytes(name);
  const v = utf8Bytes(value);
  return toHex(D(DETAIL_DOMAIN, s, u32(n.length), n, u32(v.length), v));
}

/** A fresh random 16-byte salt (`crypto.getRandomValues`). */
export function freshSalt() {
  return globalThis.crypto.getRandomValues(new Uint8Array(16));
}

/**
 * Commits to detail fields `{name: value}` with a fresh salt each (or the salts given, for
 * tests). Returns `details` for the body and the `disclosures` the issuer keeps, one
 * `{name, value, salt}` per field, to hand out selectively.
 */
export function commitDetails(fields, salts = {}) {
  const details = {};
  const disclosures = {};
  for (const [name, value] of Object.entries(fields)) {
    if (utf8Bytes(value).length > MAX_DETAIL_VALUE) throw new DisclosureError('TooLong', `value of ${JSON.stringify(name)} is longer than ${MAX_DETAIL_VALUE} bytes`, { field: name });
    const salt = salts[name] !== undefined ? (typeof salts[name] === 'string' ? fromHex(salts[name], 16) : salts[name]) : freshSalt();
    details[name] = commitDetail(name, value, salt);
    disclosures[name] = { name, value, salt: toHex(salt) };
  }
  return { details, disclosures };
}

/** Reads a disclosure object `{name, value, salt}` (unknown members refused). */
export function parseDisclosure(v) {
  S.object(v, 'disclosure', ['name', 'value', 'salt']);
  return { name: S.string(v.name, 'disclosure.name'), value: S.string(v.value, 'disclosure.value'), salt: S.string(v.salt, 'disclosure.salt') };
}

/**
 * Checks a disclosure against the commitment in `body.details` (an event body or an `Event`).
 * Throws `DisclosureError` (`NoSuchField`, `TooLong`, `Salt`, `Mismatch`) in the Rust order.
 */
export function verifyDisclosure(body, d) {
  const b = body.body ?? body;
  if (!Object.prototype.hasOwnProperty.call(b.details, d.name)) throw new DisclosureError('NoSuchField', `event has no detail field ${JSON.stringify(d.name)}`, { field: d.name });
  if (utf8Bytes(d.value).length > MAX_DETAIL_VALUE) throw new DisclosureError('TooLong', `value of ${JSON.stringify(d.name)} is longer than ${MAX_DETAIL_VALUE} bytes`, { field: d.name });
  let salt;
  try {
    salt = fromHex(d.salt, 16);
  } catch (e) {
    throw new DisclosureError('Salt', `salt: ${e.message}`, { err: e });
  }
  if (commitDetail(d.name, d.value, salt) !== b.details[d.name]) {
    throw new DisclosureError('Mismatch', `disclosed value of ${JSON.stringify(d.name)} does not match the event's commitment`, { field: d.name });
  }
}
