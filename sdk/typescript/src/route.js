// Route bundles (PROTOCOL.md 9b): a consignment's proof bundle and the bundles of every
// container its events name, all against one certified head; and the route timeline.
import { JsonError, RouteError } from './errors.js';
import { readBundle, verifyBundle, MAX_BUNDLE_BYTES } from './bundle.js';
import { parseJson } from './json.js';
import { subjectName } from './subject.js';
import * as S from './schema.js';

/** The route bundle format version. */
export const ROUTE_VERSION = 1;
/** Most containers in one route. */
export const MAX_ROUTE_CONTAINERS = 256;
/** Largest route bundle JSON (checked before parsing). */
export const MAX_ROUTE_BYTES = 4 * MAX_BUNDLE_BYTES;
const OPEN_END = (1n << 64n) - 1n;

const READ = new WeakSet();

/** Reads an already parsed route object (schema errors throw `JsonError`). */
export function readRoute(v) {
  if (READ.has(v)) return v;
  S.object(v, 'route', ['version', 'consignment', 'containers']);
  const containers = S.array(v.containers, 'route.containers');
  if (containers.length > MAX_ROUTE_CONTAINERS) S.fail('route.containers', `${containers.length} containers, the limit is ${MAX_ROUTE_CONTAINERS}`);
  const out = {
    version: S.u32(v.version, 'route.version'),
    consignment: readBundle(v.consignment, 'route.consignment'),
    containers: containers.map((b, i) => readBundle(b, `route.containers[${i}]`)),
  };
  READ.add(out);
  return out;
}

/** Parses a route bundle JSON text (string or bytes), refusing more than 256 MiB before parsing. */
export function parseRoute(text) {
  try {
    return readRoute(parseJson(text, MAX_ROUTE_BYTES));
  } catch (e) {
    if (e instanceof JsonError) throw new RouteError('Malformed', `route bundle is malformed: ${e.message}`, { err: e });
    throw e;
  }
}

function toRoute(route) {
  if (typeof route === 'string' || route instanceof Uint8Array) return parseRoute(route);
  try {
    return readRoute(route);
  } catch (e) {
    if (e instanceof JsonError) throw new RouteError('Malformed', `route bundle is malformed: ${e.message}`, { err: e });
    throw e;
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
 * consignment's windows for that container that belongs to no other consignment, ordered by
 * `(body.time, log index)`, each once: `[{index, event, source}]`, `source` being
 * `"consignment"` or `{container}`.
 */
export function mergeTimeline(consignment, containers, ucr) {
  const merged = new Map();
  for (const { index, event } of consignment.events) merged.set(index, { index, event, source: 'consignment' });
  for (const p of containers) {
    if (p.subject.type !== 'container') continue;
    const c = p.subject.id;
    const wins = windows(consignment.events, c);
    for (const { index, event } of p.events) {
      const t = BigInt(event.body.time);
      const inside = wins.some(([a, b]) => a <= t && t <= b);
      const other = event.body.ucr !== undefined && event.body.ucr !== ucr;
      // PROTOCOL.md 8c: under rules 2, only parties' and customs' container events join.
      const org = event.body.issuer.org;
      const party = !(consignment.rules >= 2) || consignment.parties.has(org) || consignment.customs.has(org);
      if (inside && !other && party && !merged.has(index)) merged.set(index, { index, event, source: { container: c } });
    }
  }
  return [...merged.values()].sort(byTime);
}

const sameHead = (a, b) => JSON.stringify(a, jsonBig) === JSON.stringify(b, jsonBig);
function jsonBig(_k, v) {
  return typeof v === 'bigint' ? v.toString() : v;
}

/**
 * Verifies a route bundle (parsed or JSON text) against the genesis alone (PROTOCOL.md 9b, Rust
 * `RouteBundle::verify`). Returns `{ucr, consignment, containers, timeline}`. Throws
 * `RouteError` (`Malformed`, `Version`, `NotConsignment`, `Consignment`, `Containers`,
 * `HeadMismatch`, `Container`), a bundle's failure as its `err`.
 */
export function verifyRoute(genesis, route) {
  const r = toRoute(route);
  if (r.version !== BigInt(ROUTE_VERSION)) throw new RouteError('Version', `route bundle version ${r.version} is not supported`, { version: r.version });
  if (r.consignment.subject.type !== 'consignment') {
    const s = subjectName(r.consignment.subject);
    throw new RouteError('NotConsignment', `consignment: the bundle's subject is ${s}, not a consignment`, { subject: s });
  }
  const ucr = r.consignment.subject.id;
  let consignment;
  try {
    consignment = verifyBundle(genesis, r.consignment);
  } catch (err) {
    throw new RouteError('Consignment', `consignment: ${err.message}`, { err });
  }
  const expected = containersNamed(consignment.events.map((e) => e.event)).map((c) => `container ${c}`);
  const got = r.containers.map((b) => subjectName(b.subject));
  if (expected.length !== got.length || expected.some((e, i) => e !== got[i])) {
    throw new RouteError('Containers', `containers: expected ${JSON.stringify(expected)} (named by the consignment's events, in order), got ${JSON.stringify(got)}`, { expected, got });
  }
  const containers = r.containers.map((b, pos) => {
    if (!sameHead(b.head, r.consignment.head) || !sameHead(b.certificate, r.consignment.certificate)) {
      throw new RouteError('HeadMismatch', `containers[${pos}]: proven against another head than the consignment`, { pos });
    }
    try {
      return verifyBundle(genesis, b);
    } catch (err) {
      throw new RouteError('Container', `containers[${pos}]: ${err.message}`, { pos, err });
    }
  });
  return { ucr, consignment, containers, timeline: mergeTimeline(consignment, containers, ucr) };
}

/** A timeline as JSON (`route-timeline.json` form): `[{index, id, source}]`. */
export function timelineJson(timeline) {
  return timeline.map((t) => ({ index: Number(t.index), id: t.event.id, source: t.source }));
}
