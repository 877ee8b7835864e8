// Proof bundles (PROTOCOL.md 9): a subject's complete history against a certified head,
// verifiable by anyone holding only the genesis document.
import { BundleError, JsonError } from './errors.js';
import { Event } from './event.js';
import { headHash, parseCertificate, parseHead, verifyCertificate } from './head.js';
import { parseJson } from './json.js';
import { leafHash, verifyInclusion } from './merkle.js';
import { MAX_EVENT_AHEAD_MS, parseMembershipProof, parseProvenEvent, verifyMembershipProof } from './membership.js';
import { admitParty, partiesApply } from './roles.js';
import { firstUnassessedOutcome } from './aeo.js';
import { checkRetractions } from './retractions.js';
import { firstSourceRepeat } from './sources.js';
import { entryOver, EMPTY_ENTRY, parseEntry, parseIndexProof, parseSubject, sameEntry, subjectKey, valueHash, verifyIndexProof } from './subject.js';
import * as S from './schema.js';

/**
 * The bundle format version (2 added the membership proof, 3 the `blocks` that prove when each
 * event was recorded). Version 2 bundles still verify, without recorded times.
 */
export const BUNDLE_VERSION = 3;
/** The earliest bundle version still verified. */
export const MIN_BUNDLE_VERSION = 2;
/** Largest bundle JSON accepted, checked before parsing. */
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;
/** Most events in one bundle. */
export const MAX_BUNDLE_EVENTS = 100000;

const READ = new WeakSet();

/** Reads a block entry `{head, certificate, prev}` of a version-3 bundle (`prev` a head or `null`). */
function parseBlock(v, path) {
  S.object(v, path, ['head', 'certificate', 'prev']);
  return {
    head: parseHead(v.head, `${path}.head`),
    certificate: parseCertificate(v.certificate, `${path}.certificate`),
    prev: v.prev === null ? null : parseHead(v.prev, `${path}.prev`),
  };
}

/**
 * Reads an already parsed bundle object (schema errors throw `JsonError`). `blocks` is
 * `undefined` when the member is absent (a version-2 bundle), else the list of block entries.
 */
export function readBundle(v, path = 'bundle') {
  if (READ.has(v)) return v;
  S.object(v, path, ['version', 'subject', 'head', 'certificate', 'events', 'index_entry', 'index_proof', 'membership'], ['blocks']);
  const events = S.array(v.events, `${path}.events`);
  if (events.length > MAX_BUNDLE_EVENTS) S.fail(`${path}.events`, `${events.length} events, the limit is ${MAX_BUNDLE_EVENTS}`);
  // At most one entry per event (9 step 7); a longer list is refused before its entries are read.
  const blocks = 'blocks' in v ? S.array(v.blocks, `${path}.blocks`, MAX_BUNDLE_EVENTS) : undefined;
  const out = {
    version: S.u32(v.version, `${path}.version`),
    subject: parseSubject(v.subject, `${path}.subject`),
    head: parseHead(v.head, `${path}.head`),
    certificate: parseCertificate(v.certificate, `${path}.certificate`),
    events: events.map((e, i) => parseProvenEvent(e, `${path}.events[${i}]`, Event)),
    index_entry: parseEntry(v.index_entry, `${path}.index_entry`),
    index_proof: parseIndexProof(v.index_proof, `${path}.index_proof`),
    membership: parseMembershipProof(v.membership, `${path}.membership`, Event),
    blocks: blocks?.map((bp, i) => parseBlock(bp, `${path}.blocks[${i}]`)),
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
  if (subject.type === 'identifier') return body.ids?.includes(subject.id) ?? false;
  // 8h: an AEO record concerns its holder, an arrangement both administrations.
  if (subject.type === 'organisation') return body.aeo?.holder === subject.id || (body.mra !== undefined && (body.mra.partner === subject.id || body.issuer.org === subject.id));
  return body.kind === 'membership';
}

const blockError = (pos, reason) => new BundleError('Block', `blocks[${pos}]: ${reason}`, { pos, reason });

/**
 * Section 9 step 7 (version 3): when each event was recorded, from the certified head of its
 * block and the head before it. The events are already checked in log order below the head.
 * Returns one `{height, time}` (bigints) or `null` per event, in the bundle's order.
 */
function recordedTimes(b, genesis, history) {
  const recorded = b.events.map(() => null);
  if (b.blocks === undefined) return recorded;
  if (b.blocks.length > b.events.length) throw blockError(b.events.length, `more blocks than the ${b.events.length} events`);
  const head = b.head;
  let next = 0;
  let prevHeight = 0n;
  let prevEnd = 0n;
  b.blocks.forEach((bp, pos) => {
    const h = bp.head;
    if (h.chain !== head.chain) throw blockError(pos, `head is for chain ${JSON.stringify(h.chain)}`);
    if (h.height <= prevHeight || h.height > head.height) {
      throw blockError(pos, `height ${h.height} is not above the previous block's (${prevHeight}) and at most the bundle head's (${head.height})`);
    }
    prevHeight = h.height;
    if (h.log_size > head.log_size) throw blockError(pos, `log_size ${h.log_size} is above the bundle head's ${head.log_size}`);
    if (h.height === head.height && headHash(h) !== headHash(head)) throw blockError(pos, "head differs from the bundle's head at its height");
    // The block's events are the leaves [first, h.log_size) (section 6).
    let first;
    if (h.height === 1n) {
      if (bp.prev !== null) throw blockError(pos, 'prev must be null at height 1');
      if (h.prev !== genesis.hash) throw blockError(pos, 'prev of height 1 is not the genesis hash');
      first = 0n;
    } else {
      const p = bp.prev;
      if (p === null) throw blockError(pos, 'prev is missing');
      if (p.height + 1n !== h.height || p.chain !== head.chain || headHash(p) !== h.prev || p.time > h.time || p.log_size > h.log_size) {
        throw blockError(pos, 'prev is not the head before it (height, chain, hash, time or log_size)');
      }
      first = p.log_size;
    }
    if (first < prevEnd) {
      throw blockError(pos, `starts at log position ${first}, inside the previous block's (which ends at ${prevEnd})`);
    }
    prevEnd = h.log_size;
    try {
      verifyCertificate(bp.certificate, h, history.validatorsAt(h.height));
    } catch (err) {
      throw new BundleError('BlockCertificate', `blocks[${pos}].certificate: ${err.message}`, { pos, err });
    }
    let holds = false;
    for (; next < b.events.length && b.events[next].index < h.log_size; next++) {
      const pe = b.events[next];
      if (pe.index < first) continue; // in an earlier block no entry covers
      const time = BigInt(pe.event.body.time);
      if (time > h.time + MAX_EVENT_AHEAD_MS) {
        throw new BundleError('FutureEvent', `events[${next}]: time ${time} is more than ${MAX_EVENT_AHEAD_MS} ms after the time ${h.time} of a head at or after its block`, { pos: next, time, head_time: h.time, block: pos });
      }
      recorded[next] = { height: h.height, time: h.time };
      holds = true;
    }
    if (!holds) throw blockError(pos, "holds none of the bundle's events");
  });
  return recorded;
}

/**
 * Verifies a proof bundle (parsed, or its JSON text) against the genesis alone, in the order
 * of PROTOCOL.md 9 and the Rust `ProofBundle::verify`. Returns the provenance
 * `{subject, head, certificate, events: [{index, event, recorded}], history, rules, parties,
 * customs, retracted, version, blocks}`: `rules` the genesis's admission rules; under rules 2 `parties` (a
 * `Set` of org ids) a consignment's parties after its events (empty for other subjects) and
 * `customs` the customs administrations among the members at the head, both empty under rules
 * 1; `recorded` when the event was recorded, `{height, time}` (bigints: its block's height and
 * certified head time, 9 step 7), or `null` where the bundle does not prove it (every event of
 * a version-2 bundle, an event of a version-3 bundle no block entry covers); `version` the
 * bundle's (2 or 3) and `blocks` its verified block entries `[{head, certificate, prev}]`
 * (empty for version 2). Throws `BundleError` (`Malformed`, `Version`, `Block`, `Chain`,
 * `Certificate`, `Membership`, `Order`, `Subject`, `NotInMembershipProof`, `FutureEvent`,
 * `Auth`, `Event`, `Inclusion`, `Index`, `IndexEntry`, `Incomplete`, `Altered`,
 * `BlockCertificate`, `SameSource`, `Retraction`, `Outcome`); a consignment whose history breaks the party rule (8c) is
 * `Auth` with the `AuthError` `NotAParty` at the first event that breaks it; two events with
 * the same source key (8e) are `SameSource` with `pos` the later's position, `first` the
 * earlier's. `retracted` maps the log index (bigint) of each retracted event to its
 * `retracted` event's (8g); a retraction that breaks rule 8g is `Retraction` with `pos` its
 * position, `reason`, and `target` (the target's position, when there is one) and `first` (the
 * earlier retraction's position, when the target is retracted twice). A risk outcome of a
 * consignment's history that refers to no earlier `advance_data` event of it (8i) is `Outcome`
 * with `pos` its position.
 */
export function verifyBundle(genesis, bundle) {
  const b = toBundle(bundle);
  if (b.version < BigInt(MIN_BUNDLE_VERSION) || b.version > BigInt(BUNDLE_VERSION)) throw new BundleError('Version', `bundle version ${b.version} is not supported`, { version: b.version });
  if (b.version < 3n && b.blocks !== undefined) throw blockError(0, `a version-${b.version} bundle has no blocks`);
  if (b.version >= 3n && b.blocks === undefined) {
    throw new BundleError('Malformed', `bundle is malformed: bundle: missing member "blocks" (version ${b.version})`, { err: new JsonError('Schema', 'bundle: missing member "blocks"', { path: 'bundle' }) });
  }
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
  // No source key twice in the subject's complete history (8e), under every rule version.
  const repeat = firstSourceRepeat(b.events.map((pe) => pe.event.body));
  if (repeat !== undefined) {
    const [first, pos] = repeat;
    throw new BundleError('SameSource', `events[${pos}]: body.source: the issuer recorded this source event for the same consignment and container before, at events[${first}]`, { pos, first });
  }
  // Each retraction's target is an earlier event of the history, the issuer's own, about the
  // same subjects, retracted once (8g), under every rule version.
  const checked = checkRetractions(b.events.map((pe) => pe.event));
  if (checked.error !== undefined) {
    const { pos, reason } = checked.error;
    throw new BundleError('Retraction', `events[${pos}]: body.retracts: ${reason}`, { ...checked.error });
  }
  const retracted = new Map([...checked.retracted].map(([t, r]) => [b.events[t].index, b.events[r].index]));
  // Every risk outcome assesses advance data recorded before it (8i): both name the
  // consignment, so its complete history holds both.
  if (b.subject.type === 'consignment') {
    const pos = firstUnassessedOutcome(b.events.map((pe) => pe.event));
    if (pos !== undefined) throw new BundleError('Outcome', `events[${pos}]: body.refs: a risk outcome refers to no earlier advance_data event of its consignment`, { pos });
  }
  const recorded = recordedTimes(b, genesis, history);
  return {
    subject: b.subject,
    head: b.head,
    certificate: b.certificate,
    events: b.events.map((pe, pos) => ({ index: pe.index, event: pe.event, recorded: recorded[pos] })),
    history,
    rules: atHead.rules,
    parties,
    customs,
    retracted,
    version: Number(b.version),
    blocks: b.blocks ?? [],
  };
}
