// A strict JSON parser for protocol inputs. Unlike `JSON.parse` it refuses a member name given
// twice (the protocol refuses it everywhere; `JSON.parse` silently keeps the last), numbers with a
// fraction or an exponent (every protocol number is an integer), invalid UTF-8 and lone
// surrogates, and nesting deeper than 128; it keeps integers beyond 2^53-1 exact (as `bigint`).
// The byte limit is checked before anything is parsed.
import { JsonError } from './errors.js';

/** Deepest nesting accepted (as serde_json). */
export const MAX_DEPTH = 128;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 length of a string. */
function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Parses a JSON text (a string, or UTF-8 bytes) of at most `maxBytes` bytes.
 * Objects become plain objects, arrays arrays, integers `number` (or `bigint` beyond 2^53-1).
 * @param {string | Uint8Array} input
 * @param {number} [maxBytes]
 */
export function parseJson(input, maxBytes = Infinity) {
  let text;
  if (typeof input === 'string') {
    if (input.length > maxBytes || utf8Length(input) > maxBytes) {
      throw new JsonError('TooLarge', `${utf8Length(input)} bytes, the limit is ${maxBytes}`, { size: utf8Length(input), max: maxBytes });
    }
    text = input;
  } else if (input instanceof Uint8Array) {
    if (input.length > maxBytes) {
      throw new JsonError('TooLarge', `${input.length} bytes, the limit is ${maxBytes}`, { size: input.length, max: maxBytes });
    }
    try {
      text = decoder.decode(input);
    } catch {
      throw new JsonError('Utf8', 'the JSON text is not valid UTF-8');
    }
  } else {
    throw new JsonError('Type', 'expected a JSON string or UTF-8 bytes');
  }
  const p = new Parser(text);
  p.ws();
  const v = p.value(0);
  p.ws();
  if (p.i !== text.length) p.fail('trailing characters after the JSON value');
  return v;
}

class Parser {
  constructor(s) {
    this.s = s;
    this.i = 0;
  }

  fail(what) {
    throw new JsonError('Syntax', `${what} at offset ${this.i}`, { offset: this.i });
  }

  ws() {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else break;
    }
  }

  value(depth) {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    const c = this.s[this.i];
    if (c === '{') return this.object(depth + 1);
    if (c === '[') return this.array(depth + 1);
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    if (this.s.startsWith('true', this.i)) return (this.i += 4), true;
    if (this.s.startsWith('false', this.i)) return (this.i += 5), false;
    if (this.s.startsWith('null', this.i)) return (this.i += 4), null;
    this.fail(c === undefined ? 'unexpected end of input' : `unexpected character ${JSON.stringify(c)}`);
  }

  object(depth) {
    this.i++;
    const out = {};
    this.ws();
    if (this.s[this.i] === '}') return this.i++, out;
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected a member name');
      const at = this.i;
      const k = this.string();
      if (Object.prototype.hasOwnProperty.call(out, k)) {
        this.i = at;
        throw new JsonError('Duplicate', `member ${JSON.stringify(k)} appears twice at offset ${at}`, { member: k, offset: at });
      }
      this.ws();
      if (this.s[this.i] !== ':') this.fail("expected ':'");
      this.i++;
      this.ws();
      const v = this.value(depth);
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') (this.i--, this.fail("expected ',' or '}'"));
    }
  }

  array(depth) {
    this.i++;
    const out = [];
    this.ws();
    if (this.s[this.i] === ']') return this.i++, out;
    for (;;) {
      this.ws();
      out.push(this.value(depth));
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') (this.i--, this.fail("expected ',' or ']'"));
    }
  }

  number() {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m || m[0] === '-') this.fail('invalid number');
    if (m[2] !== undefined || m[3] !== undefined) {
      throw new JsonError('Number', `number ${m[0]} at offset ${this.i} is not an integer (no fraction or exponent)`, { offset: this.i });
    }
    this.i += m[0].length;
    const big = BigInt(m[0]);
    if (big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= -BigInt(Number.MAX_SAFE_INTEGER)) return Number(big);
    return big;
  }

  string() {
    const s = this.s;
    this.i++;
    let out = '';
    let start = this.i;
    for (;;) {
      if (this.i >= s.length) this.fail('unterminated string');
      const c = s.charCodeAt(this.i);
      if (c === 0x22) {
        out += s.slice(start, this.i);
        this.i++;
        return out;
      }
      if (c < 0x20) this.fail('control character in string');
      if (c >= 0xd800 && c <= 0xdfff) {
        // Decoded from valid UTF-8 (or given as a JS string): a lone surrogate cannot come from
        // UTF-8 and is refused, as Rust strings cannot hold it.
        const lo = s.charCodeAt(this.i + 1);
        if (c > 0xdbff || !(lo >= 0xdc00 && lo <= 0xdfff)) this.fail('lone surrogate in string');
        this.i += 2;
        continue;
      }
      if (c === 0x5c) {
        out += s.slice(start, this.i);
        const e = s[this.i + 1];
        this.i += 2;
        const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }[e];
        if (simple !== undefined) out += simple;
        else if (e === 'u') {
          const hi = this.hex4();
          if (hi >= 0xd800 && hi <= 0xdbff) {
            if (s[this.i] !== '\\' || s[this.i + 1] !== 'u') this.fail('lone leading surrogate in escape');
            this.i += 2;
            const lo = this.hex4();
            if (lo < 0xdc00 || lo > 0xdfff) this.fail('invalid trailing surrogate in escape');
            out += String.fromCharCode(hi, lo);
          } else if (hi >= 0xdc00 && hi <= 0xdfff) {
            this.fail('lone trailing surrogate in escape');
          } else out += String.fromCharCode(hi);
        } else {
          this.i -= 2;
          this.fail('invalid escape');
        }
        start = this.i;
        continue;
      }
      this.i++;
    }
  }

  hex4() {
    const h = this.s.slice(this.i, this.i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail('invalid \\u escape');
    this.i += 4;
    return parseInt(h, 16);
  }
}
