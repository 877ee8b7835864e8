// Identifiers (PROTOCOL.md section 2). Parsers refuse, never normalise. Each `check*` throws an
// `IdError` with the Rust message (`invalid UCR "..": ...`); each `is*` answers true/false.
import { IdError } from './errors.js';

const upper = (c) => c >= 65 && c <= 90;
const lower = (c) => c >= 97 && c <= 122;
const digit = (c) => c >= 48 && c <= 57;

function err(what, value, reason) {
  const v = typeof value === 'string' ? [...value].slice(0, 40).join('') : String(value);
  return new IdError('Invalid', `invalid ${what} ${JSON.stringify(v)}: ${reason}`, { what, value: v, reason });
}

function codes(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
  return out;
}

/** WCO UCR: 4-35 of `A-Z 0-9 -`, digit, two letters, the 4th and last not `-`. */
export function checkUcr(s) {
  const W = 'UCR';
  if (typeof s !== 'string') throw err(W, s, 'not a string');
  const b = codes(s);
  const n = new TextEncoder().encode(s).length;
  if (n < 4 || n > 35) throw err(W, s, `length ${n} outside 4..=35`);
  if (!digit(b[0])) throw err(W, s, 'must start with the last digit of the year');
  if (!upper(b[1]) || !upper(b[2])) throw err(W, s, 'characters 2-3 must be an ISO 3166 country code (A-Z)');
  const p = b.findIndex((c) => !(upper(c) || digit(c) || c === 45));
  if (p >= 0) throw err(W, s, `character ${p + 1} is not A-Z, 0-9 or '-'`);
  if (b[3] === 45 || b[b.length - 1] === 45) throw err(W, s, "the trader part must not start or end with '-'");
  return s;
}

/** ISO 6346 value of a character: digits their value, letters A=10 upwards skipping 11, 22, 33. */
function iso6346Value(c) {
  if (digit(c)) return c - 48;
  if (upper(c)) {
    let v = 10 + (c - 65);
    v += Math.floor((v - 1) / 10);
    return v;
  }
  return undefined;
}

/** The ISO 6346 check digit of the first 10 characters. */
export function iso6346CheckDigit(first10) {
  let sum = 0;
  for (let i = 0; i < first10.length; i++) {
    const v = iso6346Value(first10.charCodeAt(i));
    if (v === undefined) return undefined;
    sum += v * 2 ** i;
  }
  return (sum % 11) % 10;
}

/** ISO 6346 container number: owner (3 letters), category U/J/Z, 6-digit serial, check digit. */
export function checkContainer(s) {
  const W = 'container number';
  if (typeof s !== 'string') throw err(W, s, 'not a string');
  const b = codes(s);
  const n = new TextEncoder().encode(s).length;
  if (n !== 11 || b.length !== 11) throw err(W, s, `must be 11 characters, got ${n}`);
  if (!b.slice(0, 3).every(upper)) throw err(W, s, 'owner code (characters 1-3) must be A-Z');
  if (![85, 74, 90].includes(b[3])) throw err(W, s, 'category (character 4) must be U, J or Z');
  if (!b.slice(4).every(digit)) throw err(W, s, 'serial and check digit (characters 5-11) must be digits');
  const expected = iso6346CheckDigit(s.slice(0, 10));
  const got = b[10] - 48;
  if (got !== expected) throw err(W, s, `check digit is ${got}, expected ${expected}`);
  return s;
}

/** UN/LOCODE without the space: country `A-Z`{2}, location `[A-Z2-9]`{3}. */
export function checkLocode(s) {
  const W = 'UN/LOCODE';
  if (typeof s !== 'string') throw err(W, s, 'not a string');
  const b = codes(s);
  const n = new TextEncoder().encode(s).length;
  if (n !== 5 || b.length !== 5) throw err(W, s, `must be 5 characters without space, got ${n}`);
  if (!b.slice(0, 2).every(upper)) throw err(W, s, 'country (characters 1-2) must be A-Z');
  if (!b.slice(2).every((c) => upper(c) || (c >= 50 && c <= 57))) throw err(W, s, 'location (characters 3-5) must be A-Z or 2-9');
  return s;
}

/** Organisation id: 2-64 of `a-z 0-9 -`, first `a-z`, last not `-`. */
export function checkOrgId(s) {
  const W = 'organisation id';
  if (typeof s !== 'string') throw err(W, s, 'not a string');
  const b = codes(s);
  const n = new TextEncoder().encode(s).length;
  if (n < 2 || n > 64) throw err(W, s, `length ${n} outside 2..=64`);
  if (!lower(b[0])) throw err(W, s, 'must start with a-z');
  if (!b.every((c) => lower(c) || digit(c) || c === 45)) throw err(W, s, "only a-z, 0-9 and '-' are allowed");
  if (b[b.length - 1] === 45) throw err(W, s, "must not end with '-'");
  return s;
}

/** The GS1 check digit of the first 17 digits of an SSCC: weights 3, 1, 3, ... from the rightmost. */
export function gs1CheckDigit(first17) {
  let sum = 0;
  for (let i = 0; i < first17.length; i++) {
    const c = first17.charCodeAt(first17.length - 1 - i);
    if (!digit(c)) return undefined;
    sum += (c - 48) * (i % 2 === 0 ? 3 : 1);
  }
  return (10 - (sum % 10)) % 10;
}

/** Schemes of trade identifiers qualified by the carrier (PROTOCOL.md 2): transport documents and bookings. */
export const CARRIER_SCHEMES = ['bl', 'bkg'];
const isNumber = (s) => s.length >= 1 && s.length <= 35 && /^[A-Z0-9\-./]+$/.test(s);

/**
 * Parses a trade identifier (PROTOCOL.md 2): `bl:<carrier>:<number>` (a transport document),
 * `bkg:<carrier>:<number>` (a carrier booking), `<carrier>` an organisation id and `<number>`
 * 1-35 of `A-Z 0-9 - . /`, or `sscc:<18 digits>` (a GS1 SSCC with its check digit). Returns
 * `{scheme, carrier, number}` (`carrier` undefined for an SSCC); throws `IdError`. Never
 * normalises: a lowercase number is refused.
 */
export function parseTradeId(s) {
  const W = 'trade identifier';
  if (typeof s !== 'string') throw err(W, s, 'not a string');
  const parts = s.split(':');
  if (CARRIER_SCHEMES.includes(parts[0])) {
    if (parts.length !== 3) throw err(W, s, `expected ${parts[0]}:<carrier>:<number>`);
    const [scheme, carrier, number] = parts;
    try {
      checkOrgId(carrier);
    } catch (e) {
      throw err(W, s, `the carrier is not an organisation id (${e.reason})`);
    }
    if (!isNumber(number)) throw err(W, s, "the number must be 1-35 characters of A-Z, 0-9, '-', '.', '/'");
    return { scheme, carrier, number };
  }
  if (parts[0] === 'sscc') {
    if (parts.length !== 2 || !/^[0-9]{18}$/.test(parts[1])) throw err(W, s, 'expected sscc:<18 digits>');
    const expected = gs1CheckDigit(parts[1].slice(0, 17));
    const got = parts[1].charCodeAt(17) - 48;
    if (got !== expected) throw err(W, s, `GS1 check digit is ${got}, expected ${expected}`);
    return { scheme: 'sscc', carrier: undefined, number: parts[1] };
  }
  throw err(W, s, "must start with 'bl:', 'bkg:' or 'sscc:'");
}

/** Checks a trade identifier (see `parseTradeId`); returns it. */
export function checkTradeId(s) {
  parseTradeId(s);
  return s;
}

/** `bl:<carrier>:<number>`, checked: a bill of lading or sea waybill of `carrier` (its organisation id). */
export function transportDocument(carrier, number) {
  return checkTradeId(`bl:${carrier}:${number}`);
}

/** `bkg:<carrier>:<number>`, checked: a carrier booking reference. */
export function booking(carrier, number) {
  return checkTradeId(`bkg:${carrier}:${number}`);
}

/** `sscc:<18 digits>`, checked: 17 digits get their GS1 check digit appended, 18 must end with it. */
export function sscc(digits) {
  const d = typeof digits === 'string' && /^[0-9]{17}$/.test(digits) ? digits + gs1CheckDigit(digits) : digits;
  return checkTradeId(`sscc:${d}`);
}

/**
 * Chain id: 1-64 characters of `a-z 0-9 -`. PROTOCOL.md section 2 adds "first and last not `-`";
 * the Rust reference (`is_chain_id`) does not check that, and this SDK follows the reference.
 */
export function isChainId(s) {
  return typeof s === 'string' && s.length >= 1 && s.length <= 64 && /^[a-z0-9-]+$/.test(s);
}

const ok = (f) => (s) => {
  try {
    f(s);
    return true;
  } catch {
    return false;
  }
};
export const isUcr = ok(checkUcr);
export const isContainer = ok(checkContainer);
export const isLocode = ok(checkLocode);
export const isOrgId = ok(checkOrgId);
export const isTradeId = ok(checkTradeId);
