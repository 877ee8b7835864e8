// AEO status and mutual recognition (PROTOCOL.md 8h), advance data and risk outcomes (8i): the
// `aeo` and `mra` members and their rules, the terms both administrations sign, and the rule a
// verifier checks over a consignment's complete history (9 step 6). Pure, like `sources.js`.
import { concat, toHex, utf8Bytes } from './bytes.js';
import { canonicalize } from './jcs.js';
import { verifySignature } from './keys.js';
import { checkOrgId } from './ids.js';
import * as S from './schema.js';

/** The authorisation types (the EU's AEOC and AEOS), in their ascending order. */
export const AEO_TYPES = ['customs_simplifications', 'security_safety'];
/** What an `aeo_status` record says from `from` on. */
export const AEO_STATUSES = ['granted', 'suspended', 'revoked'];
/** Whether an arrangement is in force from `from` on. */
export const MRA_STATUSES = ['in_force', 'terminated'];
/** Domain of the partner's countersignature of an arrangement's terms. */
export const MRA_DOMAIN = 'tradelog/mra/v1';
/** Kinds about an organisation rather than goods (8h). */
export const ORGANISATION_RECORD_KINDS = ['aeo_status', 'mra'];
/** The four pre-arrival risk assessment outcomes (8i). */
export const RISK_OUTCOME_KINDS = ['risk_cleared', 'risk_information_requested', 'risk_referred', 'risk_do_not_load'];
/** The detail fields every `advance_data` event commits to (8i), in the order of the spec. */
export const ADVANCE_FIELDS = ['hs_code', 'declared_value', 'currency', 'consignor_country', 'consignee_country', 'item_count', 'gross_weight_kg'];

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const isCode = (s) => s.length >= 1 && s.length <= 32 && /^[a-z0-9_]+$/.test(s);
const isReference = (s) => s.length >= 1 && s.length <= 35 && /^[A-Z0-9\-./]+$/.test(s);
const types = (v, path) => S.array(v, path).map((t, i) => S.oneOf(t, `${path}[${i}]`, AEO_TYPES));
const ms = (v, path) => S.jsonInt(S.u64(v, path));

/** Reads the `aeo` member of an `aeo_status` event (schema failures throw `JsonError`). */
export function parseAeo(v, path = 'body.aeo') {
  S.object(v, path, ['holder', 'programme', 'authorisation', 'status', 'from'], ['types', 'until']);
  const a = {
    holder: S.id(v.holder, `${path}.holder`, checkOrgId),
    programme: S.string(v.programme, `${path}.programme`),
    authorisation: S.string(v.authorisation, `${path}.authorisation`),
    status: S.oneOf(v.status, `${path}.status`, AEO_STATUSES),
  };
  if ('types' in v) a.types = types(v.types, `${path}.types`);
  a.from = ms(v.from, `${path}.from`);
  if ('until' in v) a.until = ms(v.until, `${path}.until`);
  return a;
}

/** Reads the `mra` member of an `mra` event (schema failures throw `JsonError`). */
export function parseMra(v, path = 'body.mra') {
  S.object(v, path, ['partner', 'status', 'from'], ['types', 'approval']);
  const m = {
    partner: S.id(v.partner, `${path}.partner`, checkOrgId),
    status: S.oneOf(v.status, `${path}.status`, MRA_STATUSES),
    from: ms(v.from, `${path}.from`),
  };
  if ('types' in v) m.types = types(v.types, `${path}.types`);
  if ('approval' in v) {
    S.object(v.approval, `${path}.approval`, ['key', 'sig']);
    m.approval = { key: S.publicKey(v.approval.key, `${path}.approval.key`), sig: S.signature(v.approval.sig, `${path}.approval.sig`) };
  }
  return m;
}

function checkTypes(t, field) {
  if (t.length === 0 || t.some((x, i) => i > 0 && AEO_TYPES.indexOf(t[i - 1]) >= AEO_TYPES.indexOf(x))) return [field, '1 or 2 types, ascending, each once'];
  return undefined;
}

/**
 * The `aeo` member's rules (8h, Rust `AeoRecord::check`): `[field, reason]` of the first broken
 * one (the field under `aeo.`), or `undefined`.
 */
export function checkAeo(a) {
  if (!isCode(a.programme)) return ['aeo.programme', "1-32 characters of a-z, 0-9, '_'"];
  if (!isReference(a.authorisation)) return ['aeo.authorisation', "1-35 characters of A-Z, 0-9, '-', '.', '/'"];
  if (BigInt(a.from) > MAX_SAFE) return ['aeo.from', 'ms since 1970 in 0..=2^53-1'];
  if (a.status === 'granted') {
    if (a.types === undefined) return ['aeo.types', 'required when granted'];
    const bad = checkTypes(a.types, 'aeo.types');
    if (bad) return bad;
    if (a.until !== undefined && (BigInt(a.until) <= BigInt(a.from) || BigInt(a.until) > MAX_SAFE)) return ['aeo.until', 'after from, at most 2^53-1'];
    return undefined;
  }
  if (a.types !== undefined) return ['aeo.types', 'only when granted'];
  if (a.until !== undefined) return ['aeo.until', 'only when granted'];
  return undefined;
}

/**
 * The `mra` member's rules (8h, Rust `MraRecord::check`): `[field, reason]` of the first broken
 * one (the field under `mra.`), or `undefined`. An arrangement in force needs the partner's
 * countersignature; whether it is the partner's and verifies is checked at admission
 * (`Membership.authorize`).
 */
export function checkMra(m) {
  if (BigInt(m.from) > MAX_SAFE) return ['mra.from', 'ms since 1970 in 0..=2^53-1'];
  if (m.status === 'in_force') {
    if (m.types === undefined) return ['mra.types', 'required when in force'];
    if (m.approval === undefined) return ['mra.approval', "an arrangement in force needs the partner administration's countersignature"];
    return checkTypes(m.types, 'mra.types');
  }
  if (m.types !== undefined) return ['mra.types', 'only when in force'];
  if (m.approval !== undefined) return ['mra.approval', "a termination is one administration's notice: no countersignature"];
  return undefined;
}

/**
 * `"tradelog/mra/v1" || 0x00 || JCS({"chain", "from", "issuer", "partner", "types"})` (8h): the
 * terms both administrations sign, the issuer by signing the `mra` event, the partner in its
 * `approval`.
 */
export function mraTermsMessage(chain, issuer, partner, from, types) {
  const terms = canonicalize({ chain, from: S.jsonInt(BigInt(from)), issuer, partner, types: [...types] });
  return concat(utf8Bytes(`${MRA_DOMAIN}\0`), utf8Bytes(terms));
}

/**
 * The partner administration's countersignature `{key, sig}` of an arrangement's terms, made
 * with `keyPair` (one of the partner's event keys): the `approval` of an `mra` member in force.
 */
export function countersign(chain, issuer, partner, from, types, keyPair) {
  return { key: keyPair.publicKey, sig: toHex(keyPair.sign(mraTermsMessage(chain, issuer, partner, from, types))) };
}

/**
 * True if an arrangement's countersignature verifies (section 1 rules) over its terms as
 * `issuer` records them on `chain`; whether the key is the partner's is the caller's check.
 */
export function approvalVerifies(chain, issuer, m) {
  if (m.types === undefined || m.approval === undefined) return false;
  return verifySignature(m.approval.key, mraTermsMessage(chain, issuer, m.partner, m.from, m.types), m.approval.sig);
}

/**
 * Rule 8i over `events` (`Event`s of a consignment's complete history, in log order): the
 * position of the first risk outcome none of whose refs is an earlier `advance_data` event of
 * the same consignment, or `undefined` if every outcome assesses one.
 */
export function firstUnassessedOutcome(events) {
  const advance = new Map();
  for (let pos = 0; pos < events.length; pos++) {
    const { body, id } = events[pos];
    if (RISK_OUTCOME_KINDS.includes(body.kind) && body.ucr !== undefined && !body.refs.some((r) => advance.get(r) === body.ucr)) return pos;
    if (body.kind === 'advance_data') advance.set(id, body.ucr);
  }
  return undefined;
}
