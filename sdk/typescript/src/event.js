// Events (PROTOCOL.md 3): the body, its structural rules, canonical signing bytes, id,
// signature and wire form; building and signing new events.
import { concat, fromHex, toHex, utf8Bytes } from './bytes.js';
import { EventError, JsonError } from './errors.js';
import { H } from './hash.js';
import { checkContainer, checkLocode, checkOrgId, checkTradeId, checkUcr, isChainId } from './ids.js';
import { canonicalize } from './jcs.js';
import { parseJson } from './json.js';
import { verifySignature } from './keys.js';
import { changeJson, parseChange } from './change.js';
import { ADVANCE_FIELDS, ORGANISATION_RECORD_KINDS, RISK_OUTCOME_KINDS, checkAeo, checkMra, parseAeo, parseMra } from './aeo.js';
import * as S from './schema.js';

/** Signature domain of events. */
export const EVENT_DOMAIN = 'tradelog/event/v1';
/** Largest accepted JSON text of one signed event (checked before parsing; PROTOCOL.md 10). */
export const MAX_EVENT_JSON_BYTES = 256 * 1024;
/** Largest canonical body of an event other than `membership` (PROTOCOL.md 10). */
export const MAX_BODY_BYTES = 16 * 1024;
/** Largest canonical body of a `membership` event (a `set_validators` change with its approvals). */
export const MAX_MEMBERSHIP_BODY_BYTES = 128 * 1024;
export const MAX_REFS = 16;
/** Most organisations one event names in `parties` (PROTOCOL.md 3.2, 8c). */
export const MAX_PARTIES = 16;
/** Most trade identifiers one event names in `ids` (PROTOCOL.md 3.2, 10). */
export const MAX_IDS = 16;
/** Longest `source.id`, in characters of printable ASCII (PROTOCOL.md 3.2, 8e). */
export const MAX_SOURCE_ID = 256;
export const MAX_DOCUMENTS = 16;
export const MAX_DETAILS = 32;
/** Most approvals on one membership change. */
export const MAX_APPROVALS = 256;

/** Event kinds (PROTOCOL.md 3.4), in the Rust declaration order. */
export const EVENT_KINDS = [
  'booked', 'declared', 'loaded', 'departed', 'arrived', 'discharged', 'gate_in', 'gate_out',
  'transshipped', 'packed', 'unpacked', 'inspected', 'held', 'released', 'seized', 'delivered',
  'document_anchored', 'linked', 'retracted', 'aeo_status', 'mra', 'advance_data', 'risk_cleared',
  'risk_information_requested', 'risk_referred', 'risk_do_not_load', 'membership',
];
export const TRANSPORT_MODES = ['sea', 'air', 'road', 'rail', 'inland_waterway'];
export const DIGEST_ALGS = ['sha256', 'blake3'];
const NO_LOCATION = [
  'booked', 'declared', 'held', 'released', 'seized', 'document_anchored', 'retracted', 'linked', 'aeo_status', 'mra', 'advance_data',
  'risk_cleared', 'risk_information_requested', 'risk_referred', 'risk_do_not_load', 'membership',
];
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const PREFIX = utf8Bytes(`${EVENT_DOMAIN}\0`);

/** Physical movements and inspections happen somewhere: `location` is required. */
export function requiresLocation(kind) {
  return !NO_LOCATION.includes(kind);
}

const field = (f, reason) => new EventError('Field', `body.${f}: ${reason}`, { field: f, reason });
const isCode = (s, max) => s.length >= 1 && s.length <= max && /^[a-z0-9_]+$/.test(s);
const isSourceId = (s) => s.length >= 1 && s.length <= MAX_SOURCE_ID && /^[!-~]+$/.test(s);

/**
 * The minutes east of UTC of a `+HH:MM`/`-HH:MM` local time offset (PROTOCOL.md 3.2), or
 * `null` if it breaks the rule: exactly that shape, `MM` `00`-`59`, at most `14:00` either
 * way, and `+00:00` (never `-00:00`) for UTC.
 */
export function offsetMinutes(o) {
  if (typeof o !== 'string' || !/^[+-][0-9]{2}:[0-5][0-9]$/.test(o) || o.length !== 6) return null;
  const m = Number(o.slice(1, 3)) * 60 + Number(o.slice(4, 6));
  if (m > 14 * 60 || (o[0] === '-' && m === 0)) return null;
  return o[0] === '-' ? -m : m;
}
const isMeans = (s) => s.length >= 1 && s.length <= 35 && /^[A-Z0-9\-./]+$/.test(s);

/**
 * Reads a body object into its normalized JSON shape (members in no particular order, integers
 * as numbers where safe, a `set_validators` list sorted). Schema failures throw `JsonError`.
 */
export function parseBody(v, path = 'body') {
  S.object(v, path, ['v', 'chain', 'kind', 'time', 'refs', 'documents', 'details', 'issuer'], ['ucr', 'container', 'location', 'offset', 'transport', 'membership', 'parties', 'source', 'ids', 'retracts', 'aeo', 'mra', 'reason']);
  const b = {
    v: Number(S.u32(v.v, `${path}.v`)),
    chain: S.string(v.chain, `${path}.chain`),
    kind: S.oneOf(v.kind, `${path}.kind`, EVENT_KINDS),
    time: S.jsonInt(S.u64(v.time, `${path}.time`)),
  };
  if ('ucr' in v) b.ucr = S.id(v.ucr, `${path}.ucr`, checkUcr);
  if ('container' in v) b.container = S.id(v.container, `${path}.container`, checkContainer);
  if ('location' in v) b.location = S.id(v.location, `${path}.location`, checkLocode);
  if ('offset' in v) b.offset = S.string(v.offset, `${path}.offset`);
  if ('transport' in v) {
    const t = S.object(v.transport, `${path}.transport`, ['mode', 'means'], ['voyage']);
    b.transport = { mode: S.oneOf(t.mode, `${path}.transport.mode`, TRANSPORT_MODES), means: S.string(t.means, `${path}.transport.means`) };
    if ('voyage' in t) b.transport.voyage = S.string(t.voyage, `${path}.transport.voyage`);
  }
  if ('ids' in v) b.ids = S.array(v.ids, `${path}.ids`).map((t, i) => S.id(t, `${path}.ids[${i}]`, checkTradeId));
  if ('parties' in v) b.parties = S.array(v.parties, `${path}.parties`).map((p, i) => S.id(p, `${path}.parties[${i}]`, checkOrgId));
  if ('source' in v) {
    const src = S.object(v.source, `${path}.source`, ['standard', 'id']);
    b.source = { standard: S.string(src.standard, `${path}.source.standard`), id: S.string(src.id, `${path}.source.id`) };
  }
  if ('retracts' in v) {
    // Exactly one member (PROTOCOL.md 3.2, 8g): the retracted event's id, or its source.
    const r = S.object(v.retracts, `${path}.retracts`, [], ['event', 'source']);
    const n = Object.keys(r).length;
    if (n !== 1) S.fail(`${path}.retracts`, `exactly one member, event or source, expected (got ${n})`);
    if ('event' in r) {
      b.retracts = { event: S.hash(r.event, `${path}.retracts.event`) };
    } else {
      const src = S.object(r.source, `${path}.retracts.source`, ['standard', 'id']);
      b.retracts = { source: { standard: S.string(src.standard, `${path}.retracts.source.standard`), id: S.string(src.id, `${path}.retracts.source.id`) } };
    }
  }
  if ('aeo' in v) b.aeo = parseAeo(v.aeo, `${path}.aeo`);
  if ('mra' in v) b.mra = parseMra(v.mra, `${path}.mra`);
  if ('reason' in v) b.reason = S.string(v.reason, `${path}.reason`);
  b.refs = S.array(v.refs, `${path}.refs`).map((r, i) => S.hash(r, `${path}.refs[${i}]`));
  b.documents = S.array(v.documents, `${path}.documents`).map((d, i) => {
    const p = `${path}.documents[${i}]`;
    S.object(d, p, ['kind', 'alg', 'digest']);
    return { kind: S.string(d.kind, `${p}.kind`), alg: S.oneOf(d.alg, `${p}.alg`, DIGEST_ALGS), digest: S.hash(d.digest, `${p}.digest`) };
  });
  const det = v.details;
  if (det === null || typeof det !== 'object' || Array.isArray(det)) S.fail(`${path}.details`, 'expected an object of detail commitments');
  const names = Object.keys(det);
  if (names.length > MAX_DETAILS) S.fail(`${path}.details`, `more than ${MAX_DETAILS} details`);
  b.details = {};
  for (const n of names) Object.defineProperty(b.details, n, { value: S.hash(det[n], `${path}.details.${n}`), enumerable: true, writable: true, configurable: true });
  S.object(v.issuer, `${path}.issuer`, ['org', 'key']);
  b.issuer = { org: S.id(v.issuer.org, `${path}.issuer.org`, checkOrgId), key: S.publicKey(v.issuer.key, `${path}.issuer.key`) };
  if ('membership' in v) {
    const m = S.object(v.membership, `${path}.membership`, ['seq', 'change', 'approvals']);
    b.membership = {
      seq: S.jsonInt(S.u64(m.seq, `${path}.membership.seq`)),
      change: changeJson(parseChange(m.change, `${path}.membership.change`)),
      approvals: S.array(m.approvals, `${path}.membership.approvals`).map((a, i) => {
        const p = `${path}.membership.approvals[${i}]`;
        S.object(a, p, ['validator', 'sig']);
        return { validator: S.publicKey(a.validator, `${p}.validator`), sig: S.signature(a.sig, `${p}.sig`) };
      }),
    };
  }
  return b;
}

/**
 * The structural rules of PROTOCOL.md 3.2 on a parsed body, in the Rust reference's order
 * (`EventBody::validate`): throws `EventError` `Version` or `Field` (naming the field).
 */
export function validateBody(b) {
  if (b.v !== 1) throw new EventError('Version', `body.v: version ${b.v} is not supported (expected 1)`, { v: b.v });
  if (!isChainId(b.chain)) throw field('chain', "must be 1-64 characters of a-z, 0-9, '-'");
  if (b.kind === 'membership') {
    if (!b.membership) throw field('membership', 'required for kind membership');
    if (b.ucr !== undefined || b.container !== undefined) throw field('ucr', 'a membership event names no consignment or container');
    if (b.ids !== undefined) throw field('ids', 'a membership event names no trade identifiers');
    if (b.location !== undefined || b.transport !== undefined) throw field('location', 'a membership event has no location or transport');
  } else if (b.membership !== undefined) {
    throw field('membership', 'only allowed for kind membership');
  } else if (ORGANISATION_RECORD_KINDS.includes(b.kind)) {
    validateOrganisationRecord(b);
  } else if (b.ucr === undefined && b.container === undefined && b.ids === undefined) {
    throw field('ucr', 'an event needs a ucr, a container or ids (at least one)');
  }
  if (b.ids !== undefined) {
    if (b.ids.length === 0 || b.ids.length > MAX_IDS) throw field('ids', `1 to ${MAX_IDS} trade identifiers`);
    // Trade identifiers are ASCII: code-unit order is byte order.
    if (b.ids.some((t, i) => i > 0 && b.ids[i - 1] >= t)) throw field('ids', 'trade identifiers must be in ascending byte order, each once');
  }
  if (b.kind === 'linked') {
    if (b.container !== undefined) throw field('container', 'a linked event names no container');
    if (linkedSubjects(b).length < 2) throw field('ids', 'a linked event names at least two subjects among ucr and ids');
  }
  if (b.kind === 'packed' || b.kind === 'unpacked') {
    if (b.ucr === undefined && b.ids === undefined) throw field('ucr', `required for kind ${b.kind} (or ids)`);
    if (b.container === undefined) throw field('container', `required for kind ${b.kind}`);
  }
  if (requiresLocation(b.kind) && b.location === undefined) throw field('location', `required for kind ${b.kind}`);
  const t = BigInt(b.time);
  if (t === 0n || t > MAX_SAFE) throw field('time', 'must be milliseconds since 1970 in 1..=2^53-1');
  if (b.offset !== undefined) {
    if (b.kind === 'membership') throw field('offset', 'a membership event has no offset');
    if (offsetMinutes(b.offset) === null) throw field('offset', `${JSON.stringify(b.offset)} must be +HH:MM or -HH:MM within 14:00, +00:00 for UTC`);
  }
  if (b.transport) {
    if (!isMeans(b.transport.means)) throw field('transport.means', "must be 1-35 characters of A-Z, 0-9, '-', '.', '/'");
    if (b.transport.voyage !== undefined && !isMeans(b.transport.voyage)) throw field('transport.voyage', "must be 1-35 characters of A-Z, 0-9, '-', '.', '/'");
  }
  if (b.parties !== undefined) {
    if (b.ucr === undefined) throw field('parties', 'only allowed with a ucr');
    if (b.parties.length === 0 || b.parties.length > MAX_PARTIES) throw field('parties', `1 to ${MAX_PARTIES} organisations`);
    // Org ids are ASCII: code-unit order is the Rust reference's byte order.
    if (b.parties.some((p, i) => i > 0 && b.parties[i - 1] >= p)) throw field('parties', 'organisations must be in ascending order, each once');
  }
  if (b.aeo !== undefined && b.kind !== 'aeo_status') throw field('aeo', 'only allowed for kind aeo_status');
  if (b.mra !== undefined && b.kind !== 'mra') throw field('mra', 'only allowed for kind mra');
  const outcome = RISK_OUTCOME_KINDS.includes(b.kind);
  if (outcome && b.reason === undefined) throw field('reason', `required for kind ${b.kind}`);
  if (!outcome && b.reason !== undefined) throw field('reason', 'only allowed for the risk outcome kinds');
  if (outcome && !isCode(b.reason, 32)) throw field('reason', `${JSON.stringify(b.reason)} must be 1-32 characters of a-z, 0-9, '_'`);
  if ((outcome || b.kind === 'advance_data') && b.ucr === undefined) throw field('ucr', `required for kind ${b.kind}`);
  if (outcome && b.refs.length === 0) throw field('refs', 'a risk outcome refers to the advance_data event it assesses');
  if (b.kind === 'advance_data') {
    const missing = ADVANCE_FIELDS.find((f) => !Object.hasOwn(b.details, f));
    if (missing !== undefined) throw field('details', `advance_data commits to ${ADVANCE_FIELDS.join(', ')}: ${JSON.stringify(missing)} is missing`);
  }
  if (b.source !== undefined) {
    if (b.kind === 'membership') throw field('source', 'a membership event has no source');
    if (!isCode(b.source.standard, 32)) throw field('source.standard', `${JSON.stringify(b.source.standard)} must be 1-32 characters of a-z, 0-9, '_'`);
    if (!isSourceId(b.source.id)) throw field('source.id', `must be 1-${MAX_SOURCE_ID} characters of printable ASCII ('!' to '~')`);
  }
  if ((b.kind === 'retracted') !== (b.retracts !== undefined)) {
    throw field('retracts', b.kind === 'retracted' ? 'required for kind retracted' : `only allowed for kind retracted, not ${b.kind}`);
  }
  if (b.retracts?.source !== undefined) {
    const src = b.retracts.source;
    if (!isCode(src.standard, 32)) throw field('retracts.source.standard', `${JSON.stringify(src.standard)} must be 1-32 characters of a-z, 0-9, '_'`);
    if (!isSourceId(src.id)) throw field('retracts.source.id', `must be 1-${MAX_SOURCE_ID} characters of printable ASCII ('!' to '~')`);
  }
  if (b.refs.length > MAX_REFS) throw field('refs', `at most ${MAX_REFS} references`);
  if (new Set(b.refs).size !== b.refs.length) throw field('refs', 'an event is referenced twice');
  if (b.documents.length > MAX_DOCUMENTS) throw field('documents', `at most ${MAX_DOCUMENTS} documents`);
  if (b.kind === 'document_anchored' && b.documents.length === 0) throw field('documents', 'document_anchored needs at least one document');
  const d = b.documents.find((x) => !isCode(x.kind, 32));
  if (d) throw field('documents.kind', `${JSON.stringify(d.kind)} must be 1-32 characters of a-z, 0-9, '_'`);
  const names = Object.keys(b.details);
  if (names.length > MAX_DETAILS) throw field('details', `at most ${MAX_DETAILS} fields`);
  const bad = [...names].sort().find((n) => !isCode(n, 64));
  if (bad !== undefined) throw field('details', `field name ${JSON.stringify(bad)} must be 1-64 characters of a-z, 0-9, '_'`);
}

/** The rules of an `aeo_status` or `mra` body (8h): its member, and nothing about goods. */
function validateOrganisationRecord(b) {
  if (b.ucr !== undefined || b.container !== undefined || b.ids !== undefined) throw field('ucr', `a ${b.kind} event names no consignment, container or trade identifier`);
  if (b.location !== undefined || b.transport !== undefined || b.offset !== undefined) throw field('location', `a ${b.kind} event has no location, offset or transport`);
  if (b.parties !== undefined || b.source !== undefined) throw field('parties', `a ${b.kind} event has no parties or source`);
  const member = b.kind === 'aeo_status' ? 'aeo' : 'mra';
  if (b[member] === undefined) throw field(member, `required for kind ${b.kind}`);
  const bad = member === 'aeo' ? checkAeo(b.aeo) : checkMra(b.mra);
  if (bad) throw field(bad[0], bad[1]);
}

/**
 * The subjects a `linked` event names (PROTOCOL.md 8f): its `ucr` as a consignment subject,
 * then each of its `ids` as an identifier subject.
 */
export function linkedSubjects(body) {
  return [...(body.ucr !== undefined ? [{ type: 'consignment', id: body.ucr }] : []), ...(body.ids ?? []).map((id) => ({ type: 'identifier', id }))];
}

/** `JCS(body)` (a string): RFC 8785 over the normalized body. Throws `EventError` `Canonical`. */
export function canonicalBody(body) {
  try {
    return canonicalize(body);
  } catch (e) {
    throw new EventError('Canonical', `body has no canonical form: ${e.message}`, { err: e });
  }
}

/**
 * `"tradelog/event/v1" || 0x00 || JCS(body)`, refusing a canonical body over 16384 bytes
 * (131072 for a `membership` event).
 */
export function signingBytes(body) {
  const canon = utf8Bytes(canonicalBody(body));
  const max = body.kind === 'membership' ? MAX_MEMBERSHIP_BODY_BYTES : MAX_BODY_BYTES;
  if (canon.length > max) {
    throw new EventError('TooLarge', `canonical body is ${canon.length} bytes, the limit is ${max}`, { size: canon.length, max });
  }
  return concat(PREFIX, canon);
}

/**
 * A structurally valid signed event: `body` (normalized JSON), `sig` (hex), `id` (hex),
 * `message` (the signed bytes) and `wire` (the canonical wire JSON text). The signature is
 * checked by `verifySignature()`; membership and role checks need ledger state.
 */
export class Event {
  constructor(body, sig, message) {
    this.body = body;
    this.sig = sig;
    this.message = message;
    this.id = toHex(H(message));
    Object.freeze(this);
  }

  /**
   * Builds from a body object (any member order) and a hex signature: parses, checks the
   * structural rules, canonicalizes. Throws `EventError` (`Malformed`, `Version`, `Field`, ...).
   */
  static from(body, sig) {
    let b;
    try {
      b = parseBody(body);
      S.signature(sig, 'sig');
    } catch (e) {
      if (e instanceof JsonError) throw new EventError('Malformed', `malformed event: ${e.message}`, { err: e });
      throw e;
    }
    validateBody(b);
    return new Event(b, sig, signingBytes(b));
  }

  /** Reads an already parsed wire object `{"body", "sig"}`. */
  static fromObject(v) {
    try {
      S.object(v, 'event', ['body', 'sig']);
    } catch (e) {
      throw new EventError('Malformed', `malformed event: ${e.message}`, { err: e });
    }
    return Event.from(v.body, v.sig);
  }

  /** Parses a JSON text (string or UTF-8 bytes), refusing more than 262144 bytes before parsing. */
  static fromJson(text) {
    let v;
    try {
      v = parseJson(text, MAX_EVENT_JSON_BYTES);
    } catch (e) {
      if (e.variant === 'TooLarge') throw new EventError('TooLarge', `event JSON is ${e.size} bytes, the limit is ${MAX_EVENT_JSON_BYTES}`, { size: e.size, max: MAX_EVENT_JSON_BYTES });
      throw new EventError('Malformed', `malformed event: ${e.message}`, { err: e });
    }
    return Event.fromObject(v);
  }

  /** The canonical body (JCS) text. */
  get canonicalBody() {
    return new TextDecoder().decode(this.message.subarray(PREFIX.length));
  }

  /** The canonical wire form `{"body":JCS(body),"sig":"<hex>"}` (what nodes store and serve). */
  get wire() {
    return `{"body":${this.canonicalBody},"sig":"${this.sig}"}`;
  }

  /** The wire object `{body, sig}`, for JSON.stringify. */
  toJSON() {
    return { body: this.body, sig: this.sig };
  }

  /** Checks the signature against `body.issuer.key`; throws `EventError` `Signature`. */
  verifySignature() {
    if (!verifySignature(this.body.issuer.key, this.message, this.sig)) {
      throw new EventError('Signature', 'sig: ed25519 signature does not verify', { err: new Error('ed25519 signature does not verify') });
    }
  }

  /** The log leaf data: `id (32) || sig (64)`. */
  leafData() {
    return concat(fromHex(this.id, 32), fromHex(this.sig, 64));
  }
}

/**
 * Builds an event body from a description, omitting absent optional members, and checks it
 * (throws `EventError`). `time` is milliseconds since 1970 or a `Date`; `issuer` is
 * `{org, key}` or `{org, keyPair}`. `parties` (with a `ucr`, on a ledger under rules 2) names
 * the organisations the event makes parties of its consignment, in ascending order (PROTOCOL.md
 * 8c); it is not sorted for you, as the order is part of what is signed. `source`
 * `{standard, id}` names the feed event an imported event came from (`dcsa`: a DCSA Track &
 * Trace `eventID`; `epcis`: an EPCIS 2.0 `eventID` or canonical event hash); an organisation
 * records one source event once per consignment and container (PROTOCOL.md 8e). `ids` names
 * the trade identifiers the event concerns (`bl:<carrier>:<number>`, `bkg:<carrier>:<number>`,
 * `sscc:<18 digits>`, PROTOCOL.md 2 and 8f), 1 to 16, in any order: they are sorted for you into
 * the ascending byte order that is signed (a repeat is refused). A `linked` event names at least
 * two subjects among `ucr` and `ids`, and no container. `retracts` (present exactly when `kind` is
 * `retracted`, PROTOCOL.md 8g) names the issuer's earlier event it retracts: `{event: <id hex>}`,
 * or `{source: {standard, id}}` for the issuer's event with that source and the same ucr,
 * container and ids (see `retractsEvent`, `retractsSource`). `offset` (`+HH:MM` or `-HH:MM`,
 * at most `14:00`, `+00:00` for UTC; never in a membership event) is the local time offset
 * where the event happened, as its source gave it: informational, `time` is always UTC. `aeo`
 * (present exactly for kind `aeo_status`, PROTOCOL.md 8h) is the authorisation state a customs
 * administration records, `{holder, programme, authorisation, status, types?, from, until?}`;
 * `mra` (exactly for kind `mra`) an arrangement `{partner, status, from, types?, approval?}`,
 * whose `approval` in force is the partner's countersignature of its terms (`countersign`);
 * `reason` (exactly for the four `risk_*` kinds, 8i) the outcome's reason code. An
 * `aeo_status` or `mra` event names no consignment, container, identifier, place or transport;
 * `advance_data` commits in `details` to the seven fields of 8i (`ADVANCE_FIELDS`).
 *
 * @example
 * const body = buildBody({ chain: 'tradelog-devnet', kind: 'arrived', time: Date.now(),
 *   ucr: '9GB123456789012-INV0001', location: 'NLRTM', issuer: { org: 'blue-anchor-lines', key } });
 */
export function buildBody(d) {
  const body = {
    v: 1,
    chain: d.chain,
    kind: d.kind,
    time: d.time instanceof Date ? d.time.getTime() : d.time,
    refs: d.refs ?? [],
    documents: d.documents ?? [],
    details: d.details ?? {},
    issuer: { org: d.issuer?.org, key: d.issuer?.key ?? d.issuer?.keyPair?.publicKey },
  };
  for (const k of ['ucr', 'container', 'location', 'offset', 'transport', 'membership', 'parties', 'source', 'ids', 'retracts', 'aeo', 'mra', 'reason']) {
    if (d[k] !== undefined && d[k] !== null) body[k] = d[k];
  }
  // `ids` are sorted for the caller into the ascending byte order the signed body needs (code
  // units are bytes for these ASCII strings); a repeat stays and is refused.
  if (Array.isArray(body.ids) && body.ids.every((t) => typeof t === 'string')) body.ids = [...body.ids].sort();
  if (body.transport) {
    const t = { mode: body.transport.mode, means: body.transport.means };
    if (body.transport.voyage !== undefined) t.voyage = body.transport.voyage;
    body.transport = t;
  }
  let b;
  try {
    b = parseBody(body);
  } catch (e) {
    if (e instanceof JsonError) throw new EventError('Malformed', `malformed event: ${e.message}`, { err: e });
    throw e;
  }
  validateBody(b);
  signingBytes(b);
  return b;
}

/** A `retracts` member naming the retracted event by its id (PROTOCOL.md 3.2, 8g). */
export function retractsEvent(id) {
  return { event: id };
}

/**
 * A `retracts` member naming the retracted event by its source (PROTOCOL.md 3.2, 8g): the
 * issuer's earlier event with that source and the retraction's ucr, container and ids.
 */
export function retractsSource(standard, id) {
  return { source: { standard, id } };
}

/**
 * Signs a body (from `buildBody`, or any body object) with `keyPair`, whose public key must be
 * `body.issuer.key`. Returns the `Event`; send `event.wire` to a node.
 */
export function signEvent(body, keyPair) {
  const b = buildBody(body);
  if (b.issuer.key !== keyPair.publicKey) {
    throw new EventError('Field', `body.issuer.key: ${b.issuer.key} is not the signing key ${keyPair.publicKey}`, { field: 'issuer.key' });
  }
  const message = signingBytes(b);
  return new Event(b, toHex(keyPair.sign(message)), message);
}
