// Roles and the permission table (PROTOCOL.md 3.4, 8), the genesis document and the membership
// it starts, admission of an event's issuer under a membership, and consignment parties (8c).
import { AuthError, GenesisError, JsonError } from './errors.js';
import { D } from './hash.js';
import { utf8Bytes } from './bytes.js';
import { checkOrganisation, parseOrganisation } from './change.js';
import { parseValidatorSet } from './head.js';
import { isChainId, parseTradeId } from './ids.js';
import { canonicalize } from './jcs.js';
import { parseJson } from './json.js';
import { approvalVerifies } from './aeo.js';
import * as S from './schema.js';

export const GENESIS_DOMAIN = 'tradelog/genesis/v1';
/** Most organisations in a genesis document. */
export const MAX_ORGANISATIONS = 4096;
/** The newest admission rules this SDK knows (PROTOCOL.md 8; 2: consignment parties, 8c). */
export const RULES = 2;

const CUSTOMS = [
  'inspected', 'held', 'released', 'seized', 'document_anchored', 'retracted', 'linked', 'aeo_status', 'mra', 'risk_cleared',
  'risk_information_requested', 'risk_referred', 'risk_do_not_load',
];
const CARRIER = ['booked', 'declared', 'loaded', 'departed', 'arrived', 'discharged', 'gate_in', 'gate_out', 'transshipped', 'packed', 'unpacked', 'delivered', 'document_anchored', 'retracted', 'linked', 'advance_data'];
const PLATFORM = ['booked', 'declared', 'packed', 'unpacked', 'delivered', 'document_anchored', 'retracted', 'linked', 'advance_data'];

/** The permission table: may an organisation of `role` issue `kind`? */
export function mayIssue(role, kind) {
  if (kind === 'membership') return true;
  if (role === 'customs') return CUSTOMS.includes(kind);
  if (role === 'carrier') return CARRIER.includes(kind);
  if (role === 'platform') return PLATFORM.includes(kind);
  return false;
}

/**
 * A genesis document, parsed and validated (PROTOCOL.md 8): `chain`, `time` (bigint),
 * `organisations` (in the order given), `validators` (a `ValidatorSet`) and `rules`, the
 * admission rules in force (a number: 1 when the document names none, 2 for consignment
 * parties, section 8c). `hash` is the genesis hash (hex); the `rules` member is hashed when
 * present (so an explicit `"rules": 1` is another genesis than none). Throws `GenesisError`,
 * or `JsonError` for malformed JSON.
 */
export class Genesis {
  /** The `rules` member as given (`undefined` when absent). */
  #rules;

  constructor(v) {
    S.object(v, 'genesis', ['chain', 'time', 'organisations', 'validators'], ['rules']);
    this.chain = S.string(v.chain, 'genesis.chain');
    this.time = S.u64(v.time, 'genesis.time');
    if ('rules' in v) this.#rules = Number(S.u32(v.rules, 'genesis.rules'));
    this.rules = this.#rules ?? 1;
    this.organisations = S.array(v.organisations, 'genesis.organisations').map((o, i) => parseOrganisation(o, `genesis.organisations[${i}]`));
    try {
      this.validators = parseValidatorSet(v.validators, 'genesis.validators');
    } catch (e) {
      if (e instanceof JsonError) throw e;
      throw new GenesisError('Validators', `validators: ${e.message}`, { err: e });
    }
    this.#validate();
    this.hash = [...D(GENESIS_DOMAIN, utf8Bytes(canonicalize(this.toJSON())))].map((x) => x.toString(16).padStart(2, '0')).join('');
  }

  /** Parses a genesis JSON text (string or bytes). */
  static fromJson(text) {
    return new Genesis(parseJson(text));
  }

  #validate() {
    if (!isChainId(this.chain)) throw new GenesisError('Chain', "chain: must be 1-64 characters of a-z, 0-9, '-'");
    const n = this.organisations.length;
    if (n === 0 || n > MAX_ORGANISATIONS) throw new GenesisError('Organisations', `organisations: 1..=${MAX_ORGANISATIONS} required, got ${n}`, { n });
    const ids = new Set();
    const keys = new Set();
    for (const o of this.organisations) {
      if (ids.has(o.id)) throw new GenesisError('DuplicateOrg', `organisations: id ${o.id} appears twice`, { org: o.id });
      ids.add(o.id);
      const bad = checkOrganisation(o);
      if (bad) throw new GenesisError('Org', `organisations[${o.id}].${bad[0]}: ${bad[1]}`, { org: o.id, field: bad[0], reason: bad[1] });
      for (const k of o.keys) {
        if (keys.has(k)) throw new GenesisError('DuplicateKey', `organisations: key ${k} appears twice`, { key: k });
        keys.add(k);
      }
    }
    if (this.#rules !== undefined && (this.#rules < 1 || this.#rules > RULES)) {
      throw new GenesisError('Rules', `rules: ${this.#rules} is not a rules version of this implementation (omit it for 1, or ${RULES})`, { rules: this.#rules });
    }
    const v = this.validators.validators.find((x) => !ids.has(x.org));
    if (v) throw new GenesisError('ValidatorOrg', `validators: organisation ${v.org} is not a member`, { org: v.org });
    if (BigInt(this.time) > BigInt(Number.MAX_SAFE_INTEGER)) throw new GenesisError('Canonical', 'genesis has no canonical form: number at $.time must be an integer within +/-(2^53-1)');
  }

  /** The genesis JSON value that is hashed (validators sorted by key; `rules` if given). */
  toJSON() {
    return {
      chain: this.chain,
      time: S.jsonInt(this.time),
      organisations: this.organisations.map((o) => ({ id: o.id, name: o.name, role: o.role, keys: [...o.keys] })),
      validators: this.validators.toJSON(),
      ...(this.#rules !== undefined ? { rules: this.#rules } : {}),
    };
  }

  /** The membership the genesis starts. */
  membership() {
    const m = new Membership(this.chain, this.rules);
    for (const o of this.organisations) m.addOrg(o);
    return m;
  }
}

/**
 * Who may issue what: the organisations and their current keys, every key ever used, and the
 * genesis's admission `rules` (1 or 2).
 */
export class Membership {
  constructor(chain, rules = 1) {
    this.chain = chain;
    this.rules = rules;
    /** @type {Map<string, {id, name, role, keys: string[]}>} */
    this.orgs = new Map();
    /** Every event key ever listed (revoked ones included): a key is never reused. */
    this.used = new Set();
  }

  clone() {
    const m = new Membership(this.chain, this.rules);
    for (const [id, o] of this.orgs) m.orgs.set(id, { ...o, keys: [...o.keys] });
    m.used = new Set(this.used);
    return m;
  }

  org(id) {
    return this.orgs.get(id);
  }

  keyUsed(key) {
    return this.used.has(key);
  }

  addOrg(o) {
    for (const k of o.keys) this.used.add(k);
    this.orgs.set(o.id, { id: o.id, name: o.name, role: o.role, keys: [...o.keys] });
  }

  addKey(org, key) {
    const o = this.orgs.get(org);
    if (o) {
      o.keys.push(key);
      this.used.add(key);
    }
  }

  revokeKey(org, key) {
    const o = this.orgs.get(org);
    if (o) o.keys = o.keys.filter((k) => k !== key);
  }

  /**
   * Chain, issuer organisation, key and role permission of a body (not the signature), and its
   * `parties`: allowed only under rules 2, each a member; a carrier's `linked` event names only
   * its own transport documents and bookings (8f); an `aeo_status` record's holder is a carrier
   * or platform member, an `mra` record's partner another customs member, and an arrangement in
   * force is countersigned over its terms by one of the partner's current keys (8h). Throws
   * `AuthError` (`WrongChain`, `UnknownOrg`, `UnknownKey`, `Forbidden`, `ForeignDocument`,
   * `AeoHolder`, `MraPartner`, `MraApproval`, `PartiesUnsupported`, `UnknownParty`).
   */
  authorize(body) {
    if (body.chain !== this.chain) {
      throw new AuthError('WrongChain', `body.chain: event is for chain ${JSON.stringify(body.chain)}, this ledger is ${JSON.stringify(this.chain)}`, { expected: this.chain, got: body.chain });
    }
    const o = this.orgs.get(body.issuer.org);
    if (!o) throw new AuthError('UnknownOrg', `body.issuer.org: ${body.issuer.org} is not a member of this ledger`, { org: body.issuer.org });
    if (!o.keys.includes(body.issuer.key)) throw new AuthError('UnknownKey', `body.issuer.key: ${body.issuer.key} is not a key of ${o.id}`, { org: o.id, key: body.issuer.key });
    if (!mayIssue(o.role, body.kind)) {
      throw new AuthError('Forbidden', `body.kind: a ${o.role} organisation (${o.id}) may not issue ${body.kind} events`, { org: o.id, role: o.role, kind: body.kind });
    }
    if (body.kind === 'linked' && o.role === 'carrier') {
      const foreign = (body.ids ?? []).find((t) => {
        const { carrier } = parseTradeId(t);
        return carrier !== undefined && carrier !== o.id;
      });
      if (foreign !== undefined) {
        throw new AuthError('ForeignDocument', `body.ids: ${foreign}: a carrier links only its own transport documents and bookings`, { org: o.id, id: foreign });
      }
    }
    if (body.kind === 'linked' && body.ucr === undefined && o.role !== 'carrier') {
      throw new AuthError('LinkWithoutUcr', `body.ucr: a ${o.role} organisation (${o.id}) links trade identifiers to a consignment's UCR; a link of identifiers alone is their carrier's`, { org: o.id, role: o.role });
    }
    this.#authorizeOrganisationRecord(body);
    if (body.parties !== undefined) {
      if (this.rules < 2) throw new AuthError('PartiesUnsupported', `body.parties: this ledger's rules (${this.rules}) have no consignment parties`, { rules: this.rules });
      const p = body.parties.find((x) => !this.orgs.has(x));
      if (p !== undefined) throw new AuthError('UnknownParty', `body.parties: ${p} is not a member of this ledger`, { org: p });
    }
  }

  /** 8h (Rust `Membership::authorize_organisation_record`): the holder, the partner and its countersignature. */
  #authorizeOrganisationRecord(body) {
    if (body.aeo !== undefined) {
      const holder = body.aeo.holder;
      const role = this.orgs.get(holder)?.role;
      if (role !== 'carrier' && role !== 'platform') {
        const reason = role === undefined ? 'not a member of this ledger' : `a ${role} organisation holds no AEO authorisation (carriers and platforms do)`;
        throw new AuthError('AeoHolder', `body.aeo.holder: ${holder}: ${reason}`, { holder, reason });
      }
    }
    const m = body.mra;
    if (m === undefined) return;
    const partner = this.orgs.get(m.partner);
    let reason;
    if (m.partner === body.issuer.org) reason = "an administration's arrangement is with another one";
    else if (partner === undefined) reason = 'not a member of this ledger';
    else if (partner.role !== 'customs') reason = `a ${partner.role} organisation is not a customs administration`;
    if (reason !== undefined) throw new AuthError('MraPartner', `body.mra.partner: ${m.partner}: ${reason}`, { partner: m.partner, reason });
    if (m.approval === undefined) return;
    const both = 'an arrangement is in force only when both administrations sign its terms';
    if (!partner.keys.includes(m.approval.key)) {
      const why = `key ${m.approval.key} is not a current key of ${partner.id}`;
      throw new AuthError('MraApproval', `body.mra.approval: ${why}; ${both}`, { reason: why });
    }
    if (!approvalVerifies(body.chain, body.issuer.org, m)) {
      const why = `the signature of ${partner.id} does not verify over the terms`;
      throw new AuthError('MraApproval', `body.mra.approval: ${why}; ${both}`, { reason: why });
    }
  }
}

// Consignment parties (PROTOCOL.md 8c, rules 2; Rust `tradelog_protocol::parties`): who may
// extend a consignment's history. Over a consignment's events in log order the parties start
// empty. An event by a customs administration is always admitted (customs acts on any
// consignment). An event by any other member is admitted if the parties are empty (it opens
// the consignment) or it is one of them. An admitted non-customs issuer becomes a party, and
// every organisation the event names in `parties` does too. Roles never change and
// organisations are never removed (8a), so the membership at a bundle's head gives every
// issuer's role at its event.

/** True if this membership's rules have consignment parties (rules 2 and later). */
export function partiesApply(membership) {
  return membership.rules >= 2;
}

/**
 * Admits the event `body` (already authorized: its issuer is a member) into its consignment,
 * whose parties so far are `before` (a `Set` of org ids). Returns the parties after it (a new
 * `Set`) if they change, `undefined` if they stay as they are (or the event names no
 * consignment, or the rules have no parties). Throws `AuthError` `NotAParty`.
 */
export function admitParty(membership, before, body) {
  if (body.ucr === undefined || !partiesApply(membership)) return undefined;
  const org = body.issuer.org;
  const customs = membership.org(org)?.role === 'customs';
  if (!customs && before.size > 0 && !before.has(org)) {
    const parties = [...before].sort().join(', ');
    throw new AuthError('NotAParty', `body.issuer.org: ${org} is not a party of consignment ${body.ucr} (its parties: ${parties}); a party or customs must name it in \`parties\` first`, { org, ucr: body.ucr, parties });
  }
  const joining = [...(customs ? [] : [org]), ...(body.parties ?? [])].filter((o) => !before.has(o));
  if (joining.length === 0) return undefined;
  const after = new Set(before);
  for (const o of joining) after.add(o);
  return after;
}

/**
 * The parties of a consignment after `bodies` (its complete history, in log order), checking
 * each against the rule. Returns a `Set`; throws the `AuthError` `NotAParty` of the first
 * event that breaks the rule (`verifyBundle` names its position).
 */
export function foldParties(membership, bodies) {
  let parties = new Set();
  for (const body of bodies) parties = admitParty(membership, parties, body) ?? parties;
  return parties;
}
