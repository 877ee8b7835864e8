// Proof bundles (PROTOCOL.md 9): a subject's complete history against a certified head,
// verifiable by anyone holding only the genesis document.
import { BundleError, JsonError } from './errors.js';
import { Event } from './event.js';
import { parseCertificate, parseHead } from './head.js';
import { parseJson } from './json.js';
import { leafHash, verifyInclusion } from './merkle.js';
import { MAX_EVENT_AHEAD_MS, parseMembershipProof, parseProvenEvent, verifyMembershipProof } from './membership.js';
import { admitParty, partiesApply } from './roles.js';
import { entryOver, EMPTY_ENTRY, parseEntry, parseIndexProof, parseSubject, sameEntry, subjectKey, valueHash, verifyIndexProof } from './subject.js';
import * as S from './schema.js';

/** The bundle format version (2 added the membership proof). */
export const BUNDLE_VERSION = 2;
/** Largest bundle JSON accepted, checked before parsing. */
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;
/** Most events in one bundle. */
export const MAX_BUNDLE_EVENTS = 100000;

const READ = new WeakSet();

/** Reads an already parsed bundle object (schema errors throw `JsonError`). */
export function readBundle(v, path = 'bundle') {
  if (READ.has(v)) return v;
  S.object(v, path, ['version', 'subject', 'head', 'certificate', 'events', 'index_entry', 'index_proof', 'membership']);
  const events = S.array(v.events, `${path}.events`);
  if (events.length > MAX_BUNDLE_EVENTS) S.fail(`${path}.events`, `${events.length} events, the limit is ${MAX_BUNDLE_EVENTS}`);
  const out = {
    version: S.u32(v.version, `${path}.version`),
    subject: parseSubject(v.subject, `${path}.subject`),
    head: parseHead(v.head, `${path}.head`),
    certificate: parseCertificate(v.certificate, `${path}.certificate`),
    events: events.map((e, i) => parseProvenEvent(e, `${path}.events[${i}]`, Event)),
    index_entry: parseEntry(v.index_entry, `${path}.index_entry`),
    index_proof: parseIndexProof(v.index_proof, `${path}.index_proof`),
    membership: parseMembershipProof(v.membership, `${path}.membership`, Event),
  };
  READ.add(out);
  return out;
}

/** A bundle as `verifyBundle` takes it: JSON text, a plain JSON object, or `parseBundle`'s result. */
function toBundle(bundle) {
  if (typeof bundle === 'string' || bundle instanceof Uint8Array) return parseBundle(bundle);
  try {
    return readBundle(bundle);
  } catch (e) {
    if (e instanceof JsonError) throw new BundleError('Malformed', `bundle is malformed: ${e.message}`, { err: e });
    throw e;
  }
}

/**
 * Parses a proof bundle from its JSON text (string or bytes), refusing more than 64 MiB before
 * parsing. Throws `BundleError` `Malformed`.
 */
export function parseBundle(text) {
  try {
    return readBundle(parseJson(text, MAX_BUNDLE_BYTES));
  } catch (e) {
    if (e instanceof JsonError) throw new BundleError('Malformed', `bundle is malformed: ${e.message}`, { err: e });
    throw e;
  }
}

function about(body, subject) {
  if (subject.type === 'consignment') return body.ucr === subject.id;
  if (subject.type === 'container') return body.container === subject.id;
  return body.kind === 'membership';
}

/**
 * Verifies a proof bundle (parsed, or its JSON text) against the genesis alone, in the order
 * of PROTOCOL.md 9 and the Rust `ProofBundle::verify`. Returns the provenance
 * `{subject, head, certificate, events: [{index, event}], history, rules, parties, customs}`:
 * `rules` the genesis's admission rules; under rules 2 `parties` (a `Set` of org ids) a
 * consignment's parties after its events (empty for other subjects) and `customs` the customs
 * administrations among the members at the head, both empty under rules 1. Throws
 * `BundleError` (`Malformed`, `Version`, `Chain`, `Certificate`, `Membership`, `Order`,
 * `Subject`, `NotInMembershipProof`, `FutureEvent`, `Auth`, `Event`, `Inclusion`, `Index`,
 * `IndexEntry`, `Incomplete`, `Altered`); a consignment whose history breaks the party rule
 * (8c) is `Auth` with the `AuthError` `NotAParty` at the first event that breaks it.
 */
export function verifyBundle(genesis, bundle) {
  const b = toBundle(bundle);
  if (b.version !== BigInt(BUNDLE_VERSION)) throw new BundleError('Version', `bundle version ${b.version} is not supported`, { version: b.version });
  if (b.head.chain !== genesis.chain) {
    throw new BundleError('Chain', `head is for chain ${JSON.stringify(b.head.chain)}, the genesis is for ${JSON.stringify(genesis.chain)}`, { expected: genesis.chain, got: b.head.chain });
  }
  let history;
  try {
    history = verifyMembershipProof(b.membership, genesis, b.head, b.certificate);
  } catch (err) {
    if (err.variant === 'Certificate') throw new BundleError('Certificate', `certificate: ${err.err.message}`, { err: err.err });
    throw new BundleError('Membership', err.message, { err });
  }
  // (log size, time) of the heads the membership proof carries, in height order: an event's
  // block is at or before the first of them whose log size exceeds its index (else `head`).
  const heads = b.membership.transitions.map((t) => [t.head.log_size, t.head.time]);
  const provenEvents = new Map(b.membership.events.map((pc) => [pc.index, pc.event]));
  let next = 0n;
  b.events.forEach((pe, pos) => {
    if (pe.index < next || pe.index >= b.head.log_size) throw new BundleError('Order', `events[${pos}]: log index ${pe.index} is out of order or beyond the head's log size`, { pos, index: pe.index });
    next = pe.index + 1n;
    if (!about(pe.event.body, b.subject)) throw new BundleError('Subject', `events[${pos}]: event is not about the bundle's subject`, { pos });
    // A membership event's admission needs the validator set of its block, which only the
    // membership proof establishes: it must be the proof's own event at that index (9 step 3).
    if (b.subject.type === 'membership') {
      const pc = provenEvents.get(pe.index);
      if (!pc || pc.id !== pe.event.id || pc.sig !== pe.event.sig) {
        throw new BundleError('NotInMembershipProof', `events[${pos}]: not the membership proof's event at the same log index`, { pos });
      }
    }
    const bound = heads.find(([size]) => pe.index < size);
    const headTime = BigInt(bound ? bound[1] : b.head.time);
    const time = BigInt(pe.event.body.time);
    if (time > headTime + MAX_EVENT_AHEAD_MS) {
      throw new BundleError('FutureEvent', `events[${pos}]: time ${time} is more than ${MAX_EVENT_AHEAD_MS} ms after the time ${headTime} of a head at or after its block`, { pos, time, head_time: headTime });
    }
    try {
      history.at(pe.index).authorize(pe.event.body);
    } catch (err) {
      throw new BundleError('Auth', `events[${pos}]: ${err.message}`, { pos, err });
    }
    try {
      pe.event.verifySignature();
    } catch (err) {
      throw new BundleError('Event', `events[${pos}]: ${err.message}`, { pos, err });
    }
    try {
      verifyInclusion({ index: pe.index, size: b.head.log_size, path: pe.proof }, leafHash(pe.event.leafData()), b.head.log_root);
    } catch (err) {
      throw new BundleError('Inclusion', `events[${pos}]: inclusion proof: ${err.message}`, { pos, err });
    }
  });
  let found;
  try {
    found = verifyIndexProof(b.index_proof, b.head.index_root, subjectKey(b.subject));
  } catch (err) {
    throw new BundleError('Index', `index proof: ${err.message}`, { err });
  }
  const proven = found === undefined ? sameEntry(b.index_entry, EMPTY_ENTRY) : found === valueHash(b.index_entry);
  if (!proven) throw new BundleError('IndexEntry', "index proof does not prove the bundle's index entry for the subject");
  if (b.index_entry.count !== BigInt(b.events.length)) {
    throw new BundleError('Incomplete', `incomplete: the index commits to ${b.index_entry.count} events, the bundle has ${b.events.length}`, { expected: b.index_entry.count, got: b.events.length });
  }
  if (!sameEntry(entryOver(b.events.map((pe) => pe.event.id)), b.index_entry)) {
    throw new BundleError('Altered', "the bundle's events differ from the list the index commits to (altered or reordered)");
  }
  // The consignment's complete history keeps the party rule (8c). Roles never change and
  // organisations are never removed, so the membership at the head knows every issuer's role
  // at its event.
  const atHead = history.at(b.head.log_size);
  let parties = new Set();
  let customs = new Set();
  if (partiesApply(atHead)) {
    if (b.subject.type === 'consignment') {
      b.events.forEach((pe, pos) => {
        try {
          parties = admitParty(atHead, parties, pe.event.body) ?? parties;
        } catch (err) {
          throw new BundleError('Auth', `events[${pos}]: ${err.message}`, { pos, err });
        }
      });
    }
    customs = new Set([...atHead.orgs.values()].filter((o) => o.role === 'customs').map((o) => o.id));
  }
  return { subject: b.subject, head: b.head, certificate: b.certificate, events: b.events.map((pe) => ({ index: pe.index, event: pe.event })), history, rules: atHead.rules, parties, customs };
}
