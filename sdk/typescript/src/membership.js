// Membership changes recorded on the ledger (PROTOCOL.md 8a) and membership proofs (9d): the
// approval message, building membership bodies, the change rules, and verifying a membership
// proof from the genesis alone.
import { concat, toHex, u64 as be64, u8, utf8Bytes } from './bytes.js';
import { ChangeError, MembershipError } from './errors.js';
import { changeJson, checkOrganisation, MAX_KEYS_PER_ORG, parseChange } from './change.js';
import { MAX_APPROVALS } from './event.js';
import { parseCertificate, parseHead, verifyCertificate, ValidatorSet } from './head.js';
import { canonicalize } from './jcs.js';
import { verifySignature } from './keys.js';
import { leafHash, verifyInclusion } from './merkle.js';
import { entryOver, parseEntry, parseIndexProof, provesEntry, sameEntry, subjectKey } from './subject.js';
import * as S from './schema.js';

export const MEMBERSHIP_DOMAIN = 'tradelog/membership/v1';
export const MAX_MEMBERSHIP_EVENTS = 100000;
export const MAX_TRANSITIONS = 10000;
/** An event's time is at most this many ms after its block's time (PROTOCOL.md 6). */
export const MAX_EVENT_AHEAD_MS = 600000n;
const MEMBERSHIP_KEY = subjectKey({ type: 'membership' });

/** `JCS(change)` with a `set_validators` list sorted by key (a string). */
export function canonicalChange(change) {
  return canonicalize(changeJson(normalizeChange(change)));
}

/** A change in its normalized form (checked; a `set_validators` list as a sorted `ValidatorSet`). */
function normalizeChange(change) {
  return parseChange(changeJson(change), 'change');
}

/** `"tradelog/membership/v1" || 0x00 || u8(len(chain)) || chain || u64(seq) || JCS(change)`. */
export function approvalMessage(chain, seq, change) {
  const c = utf8Bytes(chain);
  return concat(utf8Bytes(MEMBERSHIP_DOMAIN), u8(0), u8(c.length), c, be64(seq), utf8Bytes(canonicalChange(change)));
}

/** A validator's approval `{validator, sig}` of `change` at `seq`, signed with `keyPair`. */
export function approve(chain, seq, change, keyPair) {
  return { validator: keyPair.publicKey, sig: toHex(keyPair.sign(approvalMessage(chain, seq, change))) };
}

/** The `membership` member of a membership event's body. */
export function membershipBody(seq, change, approvals = []) {
  return { seq, change: changeJson(normalizeChange(change)), approvals };
}

/**
 * Checks a membership body against the membership in force at its position, the validators in
 * force for its block and the next sequence number (Rust `Membership::check_change`).
 * Throws `ChangeError`.
 */
export function checkChange(membership, m, issuerOrg, validators, nextSeq) {
  if (BigInt(m.seq) !== BigInt(nextSeq)) throw new ChangeError('Seq', `body.membership.seq: expected ${nextSeq}, got ${m.seq}`, { expected: nextSeq, got: m.seq });
  const c = m.change;
  switch (c.type) {
    case 'add_key': {
      const o = membership.org(c.org);
      if (!o) throw new ChangeError('UnknownOrg', `body.membership.change.org: ${c.org} is not a member of this ledger`, { org: c.org });
      if (membership.keyUsed(c.key)) throw new ChangeError('KeyUsed', `body.membership.change.key: key ${c.key} was already used on this ledger`, { field: 'key', key: c.key });
      if (o.keys.length >= MAX_KEYS_PER_ORG) throw new ChangeError('KeyCount', `body.membership.change: ${c.org} must keep 1..=${MAX_KEYS_PER_ORG} keys`, { org: c.org });
      break;
    }
    case 'revoke_key': {
      const o = membership.org(c.org);
      if (!o) throw new ChangeError('UnknownOrg', `body.membership.change.org: ${c.org} is not a member of this ledger`, { org: c.org });
      if (!o.keys.includes(c.key)) throw new ChangeError('NotAKey', `body.membership.change.key: ${c.key} is not a current key of ${c.org}`, { org: c.org, key: c.key });
      if (o.keys.length <= 1) throw new ChangeError('KeyCount', `body.membership.change: ${c.org} must keep 1..=${MAX_KEYS_PER_ORG} keys`, { org: c.org });
      break;
    }
    case 'add_organisation': {
      const o = c.organisation;
      if (membership.org(o.id)) throw new ChangeError('OrgExists', `body.membership.change.organisation.id: ${o.id} is already a member`, { org: o.id });
      const bad = checkOrganisation(o);
      if (bad) throw new ChangeError('Organisation', `body.membership.change.organisation.${bad[0]}: ${bad[1]}`, { field: bad[0], reason: bad[1] });
      const seen = new Set();
      for (const k of o.keys) {
        if (membership.keyUsed(k) || seen.has(k)) throw new ChangeError('KeyUsed', `body.membership.change.organisation.keys: key ${k} was already used on this ledger`, { field: 'organisation.keys', key: k });
        seen.add(k);
      }
      break;
    }
    default: {
      const list = c.validators instanceof ValidatorSet ? c.validators.validators : c.validators;
      const v = list.find((x) => !membership.org(x.org));
      if (v) throw new ChangeError('ValidatorOrg', `body.membership.change.validators: organisation ${v.org} is not a member`, { org: v.org });
    }
  }
  const own = (c.type === 'add_key' || c.type === 'revoke_key') && c.org === issuerOrg;
  checkApprovals(membership.chain, m, validators, !own);
}

function checkApprovals(chain, m, validators, needQuorum) {
  if (m.approvals.length > MAX_APPROVALS) throw new ChangeError('TooManyApprovals', `body.membership.approvals: at most ${MAX_APPROVALS}, got ${m.approvals.length}`, { n: m.approvals.length });
  let msg;
  try {
    msg = approvalMessage(chain, m.seq, m.change);
  } catch (e) {
    throw new ChangeError('Canonical', `body.membership.change has no canonical form: ${e.message}`, { err: e });
  }
  const seen = new Set();
  let power = 0n;
  m.approvals.forEach((a, i) => {
    const v = validators.get(a.validator);
    if (!v) throw new ChangeError('NotAValidator', `body.membership.approvals[${i}]: signer is not a validator in force`, { pos: i });
    if (seen.has(a.validator)) throw new ChangeError('DuplicateApproval', `body.membership.approvals[${i}]: validator approved twice`, { pos: i });
    seen.add(a.validator);
    if (!verifySignature(a.validator, msg, a.sig)) throw new ChangeError('BadApproval', `body.membership.approvals[${i}]: signature does not verify`, { pos: i });
    power += v.power;
  });
  if (needQuorum && !validators.isQuorum(power)) {
    throw new ChangeError('NoQuorum', `body.membership.approvals: ${power} of ${validators.total} voting power approved, more than 2/3 is needed for ${m.change.type}`, { signed: power, total: validators.total, change: m.change.type });
  }
}

/** Applies a checked change to `membership`; returns the new `ValidatorSet` if it sets one. */
export function applyChange(membership, c) {
  if (c.type === 'add_key') membership.addKey(c.org, c.key);
  else if (c.type === 'revoke_key') membership.revokeKey(c.org, c.key);
  else if (c.type === 'add_organisation') membership.addOrg(c.organisation);
  else return c.validators instanceof ValidatorSet ? c.validators : new ValidatorSet(c.validators);
  return undefined;
}

/** Reads a proven event `{index, event, proof}` (the event as a parsed `Event`). */
export function parseProvenEvent(v, path, EventClass) {
  S.object(v, path, ['index', 'event', 'proof']);
  let event;
  try {
    event = EventClass.fromObject(v.event);
  } catch (e) {
    S.fail(`${path}.event`, e.message);
  }
  return { index: S.u64(v.index, `${path}.index`), event, proof: S.array(v.proof, `${path}.proof`).map((h, i) => S.hash(h, `${path}.proof[${i}]`)) };
}

/** Reads a membership proof (PROTOCOL.md 9d). */
export function parseMembershipProof(v, path, EventClass) {
  S.object(v, path, ['transitions', 'events', 'index_entry', 'index_proof']);
  return {
    transitions: S.array(v.transitions, `${path}.transitions`).map((t, i) => {
      const p = `${path}.transitions[${i}]`;
      S.object(t, p, ['head', 'certificate', 'index_entry', 'index_proof']);
      return { head: parseHead(t.head, `${p}.head`), certificate: parseCertificate(t.certificate, `${p}.certificate`), index_entry: parseEntry(t.index_entry, `${p}.index_entry`), index_proof: parseIndexProof(t.index_proof, `${p}.index_proof`) };
    }),
    events: S.array(v.events, `${path}.events`).map((e, i) => parseProvenEvent(e, `${path}.events[${i}]`, EventClass)),
    index_entry: parseEntry(v.index_entry, `${path}.index_entry`),
    index_proof: parseIndexProof(v.index_proof, `${path}.index_proof`),
  };
}

function proveEntry(proof, root, entry, at) {
  let ok;
  try {
    ok = provesEntry(proof, root, MEMBERSHIP_KEY, entry);
  } catch (err) {
    throw new MembershipError('IndexProof', `membership.${at}: ${err.message}`, { at, err });
  }
  if (!ok) throw new MembershipError('Index', `membership.${at}: index proof does not prove the membership entry`, { at });
}

/**
 * The membership history a membership proof proves. `at(index)` gives the membership in force
 * at log position `index` (ask in non-decreasing order); `validators` the set that certified
 * the proof's head; `validatorsAt(height)` the set that certifies heads at `height` (at most the
 * proof's head's).
 */
export class History {
  constructor(genesis, changes, validators, sets = [[1n, genesis.validators]]) {
    this.membership = genesis.membership();
    this.changes = changes;
    this.next = 0;
    this.validators = validators;
    /** `[first height, ValidatorSet]` in height order: the set in force from that height up to the next entry's. */
    this.sets = sets;
  }

  /**
   * The validator set that certifies heads at `height` (PROTOCOL.md 9 step 7, 9d): the genesis
   * set up to and including the first transition's height, then each transition's set from the
   * height after it; after the last transition the set that certified the proof's head.
   */
  validatorsAt(height) {
    const h = BigInt(height);
    for (let i = this.sets.length - 1; i >= 0; i--) if (this.sets[i][0] <= h) return this.sets[i][1];
    return this.validators;
  }

  at(index) {
    const i = BigInt(index);
    while (this.next < this.changes.length && this.changes[this.next][0] < i) {
      applyChange(this.membership, this.changes[this.next][1]);
      this.next++;
    }
    return this.membership;
  }
}

/**
 * Verifies a (parsed) membership proof for `head`, certified by `certificate`, from the genesis
 * alone (PROTOCOL.md 9d, Rust `MembershipProof::verify`). Returns a `History` (which also
 * keeps the validator set in force at every height up to `head`, `validatorsAt`). Throws
 * `MembershipError` (`Size`, `TransitionOrder`, `Header`, `TransitionCertificate`, `IndexProof`,
 * `Index`, `Incomplete`, `Order`, `NotMembership`, `FutureEvent`, `MissingTransition`, `Auth`,
 * `Event`, `Change`, `Inclusion`, `NoChange`, `Certificate`).
 *
 * Each step (the events up to a transition, then the rest up to `head`) holds at most one
 * `set_validators` change: a block records at most one (8a rule 4), so a second one means the
 * block of the first has no transition (`MissingTransition`). Every head the proof carries
 * passes the section 6 header rules in height order (`Header`), and every event's time is at
 * most 600000 ms after the time of the head that ends its step (`FutureEvent`).
 */
export function verifyMembershipProof(proof, genesis, head, certificate) {
  if (proof.events.length > MAX_MEMBERSHIP_EVENTS || proof.transitions.length > MAX_TRANSITIONS) {
    throw new MembershipError('Size', `membership: at most ${MAX_MEMBERSHIP_EVENTS} events and ${MAX_TRANSITIONS} transitions`);
  }
  const membership = genesis.membership();
  let validators = genesis.validators;
  // `[first height, set]`: the genesis set from height 1, each transition's after its height.
  const sets = [[1n, validators]];
  let applied = 0;
  let prevHeight = 0n;
  let nextIndex = 0n;
  const ids = proof.events.map((pc) => pc.event.id);
  // Checks and applies events[applied..upto] under `validators`; `until` is the head that ends
  // the step (every event is below its log size and at most MAX_EVENT_AHEAD_MS after its time).
  const advance = (upto, until) => {
    let newSet;
    for (let pos = applied; pos < upto; pos++) {
      const pc = proof.events[pos];
      if (pc.index < nextIndex || pc.index >= BigInt(until.log_size)) throw new MembershipError('Order', `membership.events[${pos}]: log index ${pc.index} is out of order or outside its block`, { pos, index: pc.index });
      nextIndex = pc.index + 1n;
      const body = pc.event.body;
      if (body.kind !== 'membership' || !body.membership) throw new MembershipError('NotMembership', `membership.events[${pos}]: not a membership event`, { pos });
      const time = BigInt(body.time);
      const headTime = BigInt(until.time);
      if (time > headTime + MAX_EVENT_AHEAD_MS) {
        throw new MembershipError('FutureEvent', `membership.events[${pos}]: time ${time} is more than ${MAX_EVENT_AHEAD_MS} ms after the time ${headTime} of a head at or after its block`, { pos, time, head_time: headTime });
      }
      if (newSet && body.membership.change.type === 'set_validators') {
        throw new MembershipError('MissingTransition', `membership.events[${pos}]: a second set_validators change since the previous transition: the block of the first has no transition`, { pos });
      }
      try {
        membership.authorize(body);
      } catch (err) {
        throw new MembershipError('Auth', `membership.events[${pos}]: ${err.message}`, { pos, err });
      }
      try {
        pc.event.verifySignature();
      } catch (err) {
        throw new MembershipError('Event', `membership.events[${pos}]: ${err.message}`, { pos, err });
      }
      const m = { ...body.membership, change: parseChange(body.membership.change, 'change') };
      try {
        checkChange(membership, m, body.issuer.org, validators, pos + 1);
      } catch (err) {
        throw new MembershipError('Change', `membership.events[${pos}]: ${err.message}`, { pos, err });
      }
      try {
        verifyInclusion({ index: pc.index, size: head.log_size, path: pc.proof }, leafHash(pc.event.leafData()), head.log_root);
      } catch (err) {
        throw new MembershipError('Inclusion', `membership.events[${pos}]: inclusion proof: ${err.message}`, { pos, err });
      }
      const set = applyChange(membership, m.change);
      if (set) newSet = set;
    }
    applied = upto;
    return newSet;
  };
  // Section 6's header rules over the heads the proof carries, in height order (the
  // transitions, then `head`): height from 1, `prev` of height 1 the genesis hash, time never
  // below the genesis time or an earlier head's, the log never shrinking.
  let earlierTime = BigInt(genesis.time);
  let earlierSize = 0n;
  const header = (h, at) => {
    const height = BigInt(h.height);
    const time = BigInt(h.time);
    const size = BigInt(h.log_size);
    let reason;
    if (height === 0n) reason = 'height is 0; heights start at 1';
    else if (height === 1n && h.prev !== genesis.hash) reason = 'prev of the head at height 1 is not the genesis hash';
    else if (time < earlierTime) reason = `time ${time} is before ${earlierTime} (the genesis time or an earlier head's)`;
    else if (size < earlierSize) reason = `log_size ${size} is below an earlier head's ${earlierSize}`;
    if (reason) throw new MembershipError('Header', `${at}: ${reason}`, { at, reason });
    earlierTime = time;
    earlierSize = size;
  };
  proof.transitions.forEach((t, pos) => {
    if (t.head.height <= prevHeight || t.head.height >= BigInt(head.height) || t.head.chain !== head.chain) {
      throw new MembershipError('TransitionOrder', `membership.transitions[${pos}]: not in increasing height order below the head`, { pos });
    }
    prevHeight = t.head.height;
    header(t.head, `membership.transitions[${pos}].head`);
    try {
      verifyCertificate(t.certificate, t.head, validators);
    } catch (err) {
      throw new MembershipError('TransitionCertificate', `membership.transitions[${pos}]: certificate: ${err.message}`, { pos, err });
    }
    const at = `transitions[${pos}]`;
    proveEntry(t.index_proof, t.head.index_root, t.index_entry, at);
    const count = t.index_entry.count;
    if (count < BigInt(applied) || count > BigInt(ids.length) || !sameEntry(entryOver(ids.slice(0, Number(count))), t.index_entry)) {
      throw new MembershipError('Incomplete', `membership.${at}: the events differ from the ${count} the index commits to (omitted, added, altered or reordered)`, { at, count });
    }
    const set = advance(Number(count), t.head);
    if (!set) throw new MembershipError('NoChange', `membership.transitions[${pos}]: the block records no set_validators change`, { pos });
    validators = set;
    sets.push([BigInt(t.head.height) + 1n, set]);
  });
  header(head, 'head');
  // The rest happened under the validators now in force; the block of `head` may record one
  // set_validators change, which takes effect only after `head`.
  advance(ids.length, head);
  try {
    verifyCertificate(certificate, head, validators);
  } catch (err) {
    throw new MembershipError('Certificate', `certificate: ${err.message}`, { err });
  }
  proveEntry(proof.index_proof, head.index_root, proof.index_entry, 'index_proof');
  if (!sameEntry(entryOver(ids), proof.index_entry)) {
    throw new MembershipError('Incomplete', `membership.index_entry: the events differ from the ${proof.index_entry.count} the index commits to (omitted, added, altered or reordered)`, { at: 'index_entry', count: proof.index_entry.count });
  }
  const changes = proof.events.filter((pc) => pc.event.body.membership).map((pc) => [pc.index, parseChange(pc.event.body.membership.change, 'change')]);
  return new History(genesis, changes, validators, sets);
}
