// Route bundles (PROTOCOL.md 9b): a consignment's proof bundle and the bundles of every
// container its events name, all against one certified head, served whole (version 1) or, for
// a route naming more containers than one bundle holds, in pages (version 2); the route of a
// group of consignments and trade identifiers joined by `linked` events (version 3, 8f); and
// the route timeline.
import { BundleError, JsonError, RouteError } from './errors.js';
import { readBundle, verifyBundle, MAX_BUNDLE_BYTES } from './bundle.js';
import { Event, linkedSubjects } from './event.js';
import { parseJson } from './json.js';
import { subjectKey, subjectName } from './subject.js';
import * as S from './schema.js';

/** The route bundle format version of a whole route. */
export const ROUTE_VERSION = 1;
/** The format version of one page of a route (a route naming more than 256 containers). */
export const ROUTE_PAGE_VERSION = 2;
/** Most containers in one route bundle or page. */
export const MAX_ROUTE_CONTAINERS = 256;
/** Most pages of one route (so at most 65,536 containers). */
export const MAX_ROUTE_PAGES = 256;
/** The format version of a group's route (PROTOCOL.md 9b "Routes of groups"). */
export const ROUTE_GROUP_VERSION = 3;
/** Most subjects of a group (its consignments and trade identifiers; PROTOCOL.md 8f, 10). */
export const MAX_GROUP_SUBJECTS = 64;
/** Largest route bundle JSON (checked before parsing; a list of pages is parsed page by page). */
export const MAX_ROUTE_BYTES = 4 * MAX_BUNDLE_BYTES;
const OPEN_END = (1n << 64n) - 1n;

const READ = new WeakSet();

/**
 * Reads an already parsed route bundle or page (schema errors throw `JsonError`): `{version,
 * consignment, containers, containers_from?}` (`containers_from` a bigint, present in a page).
 */
export function readRoute(v, path = 'route') {
  if (READ.has(v)) return v;
  if (v !== null && typeof v === 'object' && (v.version === ROUTE_GROUP_VERSION || v.version === BigInt(ROUTE_GROUP_VERSION))) return readGroupRoute(v, path);
  S.object(v, path, ['version', 'consignment', 'containers'], ['containers_from']);
  const containers = S.array(v.containers, `${path}.containers`);
  if (containers.length > MAX_ROUTE_CONTAINERS) S.fail(`${path}.containers`, `${containers.length} containers, the limit is ${MAX_ROUTE_CONTAINERS}`);
  const out = {
    version: S.u32(v.version, `${path}.version`),
    consignment: readBundle(v.consignment, `${path}.consignment`),
    containers: containers.map((b, i) => readBundle(b, `${path}.containers[${i}]`)),
  };
  if ('containers_from' in v) out.containers_from = S.u64(v.containers_from, `${path}.containers_from`);
  READ.add(out);
  return out;
}

/**
 * Reads an already parsed version-3 route bundle (a group's): `{version, subjects, containers}`,
 * at most 64 subject and 256 container bundles (schema errors throw `JsonError`).
 */
export function readGroupRoute(v, path = 'route') {
  if (READ.has(v)) return v;
  S.object(v, path, ['version', 'subjects', 'containers']);
  const subjects = S.array(v.subjects, `${path}.subjects`, MAX_GROUP_SUBJECTS);
  const containers = S.array(v.containers, `${path}.containers`, MAX_ROUTE_CONTAINERS);
  const out = {
    version: S.u32(v.version, `${path}.version`),
    subjects: subjects.map((b, i) => readBundle(b, `${path}.subjects[${i}]`)),
    containers: containers.map((b, i) => readBundle(b, `${path}.containers[${i}]`)),
  };
  READ.add(out);
  return out;
}

/**
 * Reads an already parsed route: one route bundle (an object) or the pages of a route (an
 * array of 1 to 256, as `tradelog export` writes them). Returns the list of pages (one for a
 * bundle).
 */
export function readRoutePages(v) {
  if (!Array.isArray(v)) return [readRoute(v)];
  if (v.length === 0) S.fail('route', 'no route bundle');
  if (v.length > MAX_ROUTE_PAGES) S.fail('route', `${v.length} pages, the limit is ${MAX_ROUTE_PAGES}`);
  return v.map((p, i) => readRoute(p, `route[${i}]`));
}

const malformed = (e) => (e instanceof JsonError ? new RouteError('Malformed', `route bundle is malformed: ${e.message}`, { err: e }) : e);

/**
 * Parses a route's JSON text (string or bytes), refusing more than 256 MiB before parsing: a
 * route bundle gives `readRoute`'s object, an array of pages the list of them. Throws
 * `RouteError` `Malformed`.
 */
export function parseRoute(text) {
  try {
    const v = parseJson(text, MAX_ROUTE_BYTES);
    return Array.isArray(v) ? readRoutePages(v) : readRoute(v);
  } catch (e) {
    throw malformed(e);
  }
}

/** The pages of a route given as JSON text, a parsed object or array, or `parseRoute`'s result. */
function toPages(route) {
  const r = typeof route === 'string' || route instanceof Uint8Array ? parseRoute(route) : route;
  try {
    return readRoutePages(r);
  } catch (e) {
    throw malformed(e);
  }
}

/** Containers named by events (`body.container`), in order of first mention. */
export function containersNamed(events) {
  const out = [];
  for (const e of events) if (e.body.container !== undefined && !out.includes(e.body.container)) out.push(e.body.container);
  return out;
}

const byTime = (a, b) => {
  const ta = BigInt(a.event.body.time);
  const tb = BigInt(b.event.body.time);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.index < b.index ? -1 : a.index > b.index ? 1 : 0;
};

/** The windows `[start, end]` (event times, inclusive) in which the consignment was in `container`. */
export function windows(consignmentEvents, container) {
  const out = [];
  let open;
  for (const { event } of [...consignmentEvents].sort(byTime)) {
    const b = event.body;
    const names = b.container === container;
    if (names && open === undefined) open = BigInt(b.time);
    const closes = b.kind === 'delivered' || (names && b.kind === 'unpacked');
    if (closes && open !== undefined) {
      out.push([open, BigInt(b.time)]);
      open = undefined;
    }
  }
  if (open !== undefined) out.push([open, OPEN_END]);
  return out;
}

/**
 * The route timeline: every consignment event, plus each container event inside one of the
 * consignment's windows for that container that belongs to no other consignment (names no other
 * ucr, and no trade identifiers) and, under
 * rules 2, whose issuer is a party of the consignment or a customs administration (PROTOCOL.md
 * 8c: an outsider's container events do not enter the route; `consignment` is `verifyBundle`'s
 * result, with `rules`, `parties` and `customs`), ordered by `(body.time, log index)`, each
 * once: `[{index, event, source, recorded, retractedBy}]`, `source` being `"consignment"` or
 * `{container}`, `recorded` the event's recorded `{height, time}` as the bundle it comes from
 * proves it (9 step 7), else as another bundle of the route proves it, else `null`;
 * `retractedBy` the log index (bigint) of the `retracted` event that retracts it (8g), else
 * `null`.
 */
export function mergeTimeline(consignment, containers, ucr) {
  const merged = new Map();
  // Every bundle of a route is against the same certified head: a recorded time any of them
  // proves for a log index is that event's.
  const recorded = new Map();
  for (const p of [consignment, ...containers]) for (const e of p.events) if (e.recorded && !recorded.has(e.index)) recorded.set(e.index, e.recorded);
  const recordedOf = (e) => e.recorded ?? recorded.get(e.index) ?? null;
  for (const e of consignment.events) merged.set(e.index, { index: e.index, event: e.event, source: 'consignment', recorded: recordedOf(e) });
  for (const p of containers) {
    if (p.subject.type !== 'container') continue;
    const c = p.subject.id;
    const wins = windows(consignment.events, c);
    for (const e of p.events) {
      const { index, event } = e;
      const t = BigInt(event.body.time);
      const inside = wins.some(([a, b]) => a <= t && t <= b);
      // An event naming trade identifiers belongs to their consignment (8f).
      const other = (event.body.ucr !== undefined && event.body.ucr !== ucr) || event.body.ids !== undefined;
      const org = event.body.issuer.org;
      const party = !(consignment.rules >= 2) || consignment.parties.has(org) || consignment.customs.has(org);
      if (inside && !other && party && !merged.has(index)) merged.set(index, { index, event, source: { container: c }, recorded: recordedOf(e) });
    }
  }
  return markRetracted([...merged.values()].sort(byTime), [consignment, ...containers]);
}

/**
 * The timeline of a group's route (PROTOCOL.md 9b version 3): every group event (the events of
 * the subject bundles `subjects`, each log index once, `source` `"consignment"`), plus each
 * container event inside one of the group events' windows for that container that names no
 * `ucr` and no `ids` and, under rules 2, whose issuer is a party of one of the group's
 * consignments, the issuer of one of the group events (in every group), or a customs
 * administration. Ordered by `(body.time, log index)`; `recorded` as in `mergeTimeline`.
 */
export function mergeGroupTimeline(subjects, containers) {
  const recorded = new Map();
  for (const p of [...subjects, ...containers]) for (const e of p.events) if (e.recorded && !recorded.has(e.index)) recorded.set(e.index, e.recorded);
  const recordedOf = (e) => e.recorded ?? recorded.get(e.index) ?? null;
  const merged = new Map();
  for (const p of subjects) for (const e of p.events) if (!merged.has(e.index)) merged.set(e.index, { index: e.index, event: e.event, source: 'consignment', recorded: recordedOf(e) });
  const group = [...merged.values()];
  const consignments = subjects.filter((p) => p.subject.type === 'consignment');
  const insiders = new Set([...consignments.flatMap((p) => [...p.parties]), ...group.map((e) => e.event.body.issuer.org)]);
  const lead = subjects[0];
  for (const p of containers) {
    if (p.subject.type !== 'container') continue;
    const c = p.subject.id;
    const wins = windows(group, c);
    for (const e of p.events) {
      const { index, event } = e;
      const b = event.body;
      const t = BigInt(b.time);
      if (merged.has(index) || b.ucr !== undefined || b.ids !== undefined || !wins.some(([x, y]) => x <= t && t <= y)) continue;
      const org = b.issuer.org;
      if (lead.rules >= 2 && !insiders.has(org) && !lead.customs.has(org)) continue;
      merged.set(index, { index, event, source: { container: c }, recorded: recordedOf(e) });
    }
  }
  return markRetracted([...merged.values()].sort(byTime), [...subjects, ...containers]);
}

/**
 * The retracted events of a route's verified bundles (8g): a `Map` from the log index of each
 * retracted event to its retraction's (a retraction and its target name the same subjects, so
 * each bundle holding one holds both; log indexes are those of the one head).
 */
export function routeRetracted(bundles) {
  const out = new Map();
  for (const p of bundles) for (const [t, r] of p.retracted ?? []) out.set(t, r);
  return out;
}

/** Sets each timeline entry's `retractedBy`: the log index of its retraction, else `null`. */
function markRetracted(timeline, bundles) {
  const retracted = routeRetracted(bundles);
  for (const t of timeline) t.retractedBy = retracted.get(t.index) ?? null;
  return timeline;
}

/** Structural equality of parsed values (as the Rust reference compares parsed bundles). */
function same(a, b) {
  if (a === b) return true;
  if (a instanceof Event || b instanceof Event) return a instanceof Event && b instanceof Event && a.wire === b.wire;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && same(a[k], b[k]));
}

const pageError = (pos, reason) => new RouteError('Page', `pages[${pos}]: ${reason}`, { pos, reason });
const debugU64 = (v) => (v === undefined ? 'None' : `Some(${v})`);

/**
 * Route steps 3-4 (9b; version 3 step 4): the container bundles are exactly the containers
 * `named` (by `owner` events, in order of first mention), each proven against the head and
 * certificate of `lead` (`leadName`), and each verifies; returns their verified provenances.
 */
function verifyContainers(genesis, bundles, named, lead, owner, leadName) {
  const expected = named.map((c) => `container ${c}`);
  const got = bundles.map((b) => subjectName(b.subject));
  if (expected.length !== got.length || expected.some((e, i) => e !== got[i])) {
    throw new RouteError('Containers', `containers: expected ${JSON.stringify(expected)} (named by ${owner} events, in order), got ${JSON.stringify(got)}`, { expected, got });
  }
  return bundles.map((b, pos) => {
    if (!same(b.head, lead.head) || !same(b.certificate, lead.certificate)) {
      throw new RouteError('HeadMismatch', `containers[${pos}]: proven against another head than ${leadName}`, { pos });
    }
    try {
      return verifyBundle(genesis, b);
    } catch (err) {
      throw new RouteError('Container', `containers[${pos}]: ${err.message}`, { pos, err });
    }
  });
}

/**
 * Verifies a route against the genesis alone (PROTOCOL.md 9b, Rust `route::verify_pages`): one
 * version-1 route bundle, or the pages of a route naming more than 256 containers (version 2,
 * `containers_from` 0, 256, ..., in order, all with the same consignment bundle, hence the same
 * head), given as JSON text (a bundle or an array of pages), a parsed object or array, or
 * `parseRoute`'s result. Every bundle verifies against the genesis, all share the consignment's
 * head, the containers of all pages together are exactly those the consignment's events name,
 * and the route timeline is merged. Returns `{ucr, consignment, containers, timeline, retracted}`
 * (`retracted` as `routeRetracted` gives it). Throws
 * `RouteError` (`Malformed`, `Version`, `Page`, `NotConsignment`, `Consignment`, `Containers`,
 * `HeadMismatch`, `Container`), a bundle's failure as its `err` (a consignment breaking the
 * party rule of 8c: `Consignment` of `BundleError` `Auth` of `AuthError` `NotAParty`; a
 * consignment bundle holding a `linked` event, whose route is its group's (version 3):
 * `Consignment` of `BundleError` `Malformed`, `pos` its position in the bundle's events).
 */
export function verifyRoute(genesis, route, asked) {
  const pages = toPages(route);
  const first = pages[0];
  if (pages.some((p) => p.version === BigInt(ROUTE_GROUP_VERSION))) {
    if (pages.length !== 1) throw pageError(pages.findIndex((p) => p.version === BigInt(ROUTE_GROUP_VERSION)), "a group's route (version 3) is one bundle, never paged");
    return verifyGroupRoute(genesis, first, asked);
  }
  pages.forEach((p, pos) => {
    const from = BigInt(pos * MAX_ROUTE_CONTAINERS);
    if (p.version === BigInt(ROUTE_VERSION)) {
      if (p.containers_from !== undefined || pages.length !== 1) throw pageError(pos, 'a version 1 route bundle is a whole route: no containers_from, no other pages');
    } else if (p.version === BigInt(ROUTE_PAGE_VERSION)) {
      if (p.containers_from !== from) throw pageError(pos, `containers_from is ${debugU64(p.containers_from)}, this page must start at ${from}`);
    } else {
      throw new RouteError('Version', `route bundle version ${p.version} is not supported`, { version: p.version });
    }
    if (pos > 0 && !same(p.consignment, first.consignment)) throw pageError(pos, "its consignment bundle differs from the first page's (another head?)");
  });
  if (first.consignment.subject.type !== 'consignment') {
    const s = subjectName(first.consignment.subject);
    throw new RouteError('NotConsignment', `consignment: the bundle's subject is ${s}, not a consignment`, { subject: s });
  }
  const ucr = first.consignment.subject.id;
  if (asked !== undefined && (asked.type !== 'consignment' || asked.id !== ucr)) {
    throw new RouteError('WrongSubject', `asked for ${subjectName(asked)}, the route is consignment ${ucr}'s`, { asked });
  }
  let consignment;
  try {
    consignment = verifyBundle(genesis, first.consignment);
  } catch (err) {
    throw new RouteError('Consignment', `consignment: ${err.message}`, { err });
  }
  // 8f, 9b: a consignment with a linked event has a group of more than itself, whose route is
  // the group's (version 3); served as version 1 or 2 it would hide the linked histories.
  const linked = consignment.events.findIndex((e) => e.event.body.kind === 'linked');
  if (linked >= 0) {
    const reason = `events[${linked}] is a linked event: the consignment is linked to trade identifiers, its route is its group's (version 3)`;
    throw new RouteError('Consignment', `consignment: ${reason}`, { err: new BundleError('Malformed', reason, { pos: linked }), pos: linked });
  }
  const named = containersNamed(consignment.events.map((e) => e.event));
  const whole = first.version === BigInt(ROUTE_VERSION);
  if (whole && named.length > MAX_ROUTE_CONTAINERS) {
    throw pageError(0, `the consignment names ${named.length} containers: more than one bundle holds, it must come in pages`);
  }
  const needed = Math.max(1, Math.ceil(named.length / MAX_ROUTE_CONTAINERS));
  if (!whole && pages.length !== needed) {
    throw pageError(Math.min(pages.length, needed), `the consignment names ${named.length} containers: ${needed} pages, got ${pages.length}`);
  }
  const containers = verifyContainers(genesis, pages.flatMap((p) => p.containers), named, first.consignment, "the consignment's", 'the consignment');
  return {
    version: Number(first.version), ucr, group: [first.consignment.subject], subjects: [consignment], consignment, containers,
    head: consignment.head, certificate: consignment.certificate, timeline: mergeTimeline(consignment, containers, ucr), warnings: [],
    retracted: routeRetracted([consignment, ...containers]),
  };
}

/**
 * Verifies a group's route (PROTOCOL.md 9b "Routes of groups", version 3; `route` as
 * `readGroupRoute` gives it): 1-64 subject bundles of consignments or trade identifiers in
 * strictly ascending order of their index keys, each verified against the genesis with the head
 * and certificate of `subjects[0]`; a group (every subject a `linked` event of the bundles names
 * is one of them, and every one is reached from `subjects[0]` through `linked` events); the
 * containers the group events name, in order of first mention, exactly the container bundles,
 * each verified against the same head; `asked` (a subject, optional) one of the group. Returns
 * `{version: 3, ucr, group, subjects, consignment, containers, head, certificate, timeline,
 * warnings, retracted}` (`ucr` and `consignment` of the group's first consignment subject, `undefined` in
 * a group without one). Throws `RouteError` (`Subjects`, `NotGroupSubject`, `Order`,
 * `HeadMismatch`, `Subject`, `NotClosed`, `NotConnected`, `WrongSubject`, `Containers`,
 * `Container`).
 */
export function verifyGroupRoute(genesis, route, asked) {
  const r = readGroupRoute(route);
  if (r.version !== BigInt(ROUTE_GROUP_VERSION)) throw new RouteError('Version', `route bundle version ${r.version} is not a group's route`, { version: r.version });
  const n = r.subjects.length;
  if (n < 1 || n > MAX_GROUP_SUBJECTS) throw new RouteError('Subjects', `subjects: ${n} subject bundles, a group has 1 to ${MAX_GROUP_SUBJECTS}`, { n });
  const group = r.subjects.map((b) => b.subject);
  const keys = group.map((s) => subjectKey(s));
  group.forEach((s, pos) => {
    if (s.type !== 'consignment' && s.type !== 'identifier') {
      throw new RouteError('NotGroupSubject', `subjects[${pos}]: the bundle's subject is ${subjectName(s)}, not a consignment or an identifier`, { pos, subject: subjectName(s) });
    }
    // Lowercase hex of equal length: string order is byte order.
    if (pos > 0 && !(keys[pos - 1] < keys[pos])) {
      throw new RouteError('Order', `subjects[${pos}]: ${subjectName(s)} is not after ${subjectName(group[pos - 1])} in the ascending order of index keys (each subject once)`, { pos });
    }
  });
  const lead = r.subjects[0];
  const subjects = r.subjects.map((b, pos) => {
    if (pos > 0 && (!same(b.head, lead.head) || !same(b.certificate, lead.certificate))) {
      throw new RouteError('HeadMismatch', `subjects[${pos}]: proven against another head than subjects[0]`, { pos });
    }
    try {
      return verifyBundle(genesis, b);
    } catch (err) {
      throw new RouteError('Subject', `subjects[${pos}]: ${err.message}`, { pos, err });
    }
  });
  // Closed, then connected from subjects[0], through the bundles' linked events.
  const at = new Map(keys.map((k, i) => [k, i]));
  const parent = keys.map((_, i) => i);
  const root = (i) => (parent[i] === i ? i : (parent[i] = root(parent[i])));
  subjects.forEach((p, pos) => p.events.forEach((e, ev) => {
    if (e.event.body.kind !== 'linked') return;
    const named = linkedSubjects(e.event.body).map((s) => {
      const i = at.get(subjectKey(s));
      if (i === undefined) {
        throw new RouteError('NotClosed', `subjects[${pos}].events[${ev}]: links ${subjectName(s)}, which is not one of the route's subjects (the group is not closed)`, { pos, event: ev, subject: subjectName(s) });
      }
      return i;
    });
    for (const i of named.slice(1)) parent[root(i)] = root(named[0]);
  }));
  const apart = keys.findIndex((_, i) => root(i) !== root(0));
  if (apart >= 0) {
    throw new RouteError('NotConnected', `subjects[${apart}]: ${subjectName(group[apart])} is not reached from subjects[0] (${subjectName(group[0])}) through linked events (the group is not connected)`, { pos: apart });
  }
  if (asked !== undefined && !at.has(subjectKey(asked))) {
    throw new RouteError('WrongSubject', `asked for ${subjectName(asked)}, which is not one of the group's subjects`, { asked });
  }
  // The group events, each log index once, and the containers they name.
  const seen = new Set();
  const events = [];
  for (const p of subjects) for (const e of p.events) if (!seen.has(e.index)) {
    seen.add(e.index);
    events.push(e.event);
  }
  const containers = verifyContainers(genesis, r.containers, containersNamed(events), lead, "the group's", 'subjects[0]');
  const consignment = subjects.find((p) => p.subject.type === 'consignment');
  return {
    version: ROUTE_GROUP_VERSION, ucr: consignment?.subject.id, group, subjects, consignment, containers,
    head: lead.head, certificate: lead.certificate, timeline: mergeGroupTimeline(subjects, containers), warnings: [],
    retracted: routeRetracted([...subjects, ...containers]),
  };
}

/** A timeline as JSON (`route-timeline.json` form): `[{index, id, source}]`. */
export function timelineJson(timeline) {
  return timeline.map((t) => ({ index: Number(t.index), id: t.event.id, source: t.source }));
}
