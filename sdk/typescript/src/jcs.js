// RFC 8785 JSON Canonicalization Scheme (JCS) for the JSON subset the protocol signs and hashes:
// objects, arrays, strings, booleans and integers within +/-(2^53-1). `null` and other numbers
// are refused (JcsError `Null` / `Number`, with the path, as the Rust reference), so every
// accepted value has one canonical form that any RFC 8785 implementation reproduces.
import { JcsError } from './errors.js';
import { utf8Bytes } from './bytes.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The canonical JSON text of `value` (a string; its UTF-8 bytes are what is signed). */
export function canonicalize(value) {
  const parts = [];
  write(value, parts, '$');
  return parts.join('');
}

/** UTF-8 bytes of `canonicalize(value)`. */
export function canonicalBytes(value) {
  return utf8Bytes(canonicalize(value));
}

/** RFC 8785 3.2.2.2: strings are serialized exactly as ECMAScript `JSON.stringify` does. */
export function canonicalString(s) {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const lo = s.charCodeAt(i + 1);
      if (c > 0xdbff || !(lo >= 0xdc00 && lo <= 0xdfff)) {
        throw new JcsError('String', 'a string holds a lone surrogate (not representable in UTF-8)');
      }
      i++;
    }
  }
  return JSON.stringify(s);
}

function write(v, out, path) {
  if (v === null || v === undefined) {
    throw new JcsError('Null', `null is not allowed at ${path}: omit the field instead`, { path });
  }
  switch (typeof v) {
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isSafeInteger(v)) {
        throw new JcsError('Number', `number at ${path} must be an integer within +/-(2^53-1)`, { path });
      }
      out.push(String(Object.is(v, -0) ? 0 : v));
      return;
    case 'bigint':
      if (v > MAX_SAFE || v < -MAX_SAFE) {
        throw new JcsError('Number', `number at ${path} must be an integer within +/-(2^53-1)`, { path });
      }
      out.push(v.toString());
      return;
    case 'string':
      out.push(canonicalString(v));
      return;
    case 'object':
      if (Array.isArray(v)) {
        out.push('[');
        v.forEach((item, i) => {
          if (i > 0) out.push(',');
          write(item, out, `${path}[${i}]`);
        });
        out.push(']');
        return;
      }
      {
        // RFC 8785 3.2.3: member names sorted by their UTF-16 code units, which is exactly how
        // JavaScript compares strings.
        const keys = Object.keys(v).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        out.push('{');
        keys.forEach((k, i) => {
          if (i > 0) out.push(',');
          out.push(canonicalString(k), ':');
          write(v[k], out, `${path}.${k}`);
        });
        out.push('}');
      }
      return;
    default:
      throw new JcsError('Type', `a ${typeof v} at ${path} has no JSON form`, { path });
  }
}
