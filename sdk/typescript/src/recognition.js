// "Did organisation X hold an AEO status recognised by administration Y at time T" (PROTOCOL.md
// 8h "Reading the records", 9e): the `Register` of AEO and arrangement records, and the check of
// an organisation answer (`GET /v1/organisations/{id}`) from the genesis alone. A port of the
// Rust reference `tradelog_protocol::recognition`; the answers have the JSON shape of its
// `Recognition`. Pure: no I/O.
import { JsonError, TradelogError } from './errors.js';
import { verifyBundle } from './bundle.js';
import { headHash } from './head.js';
import { checkOrgId } from './ids.js';
import { parseJson } from './json.js';
import * as S from './schema.js';

/**
 * An organisation answer that does not prove its recognition (Rust `RecognitionError`):
 * `Malformed` (not an answer), `Subjects` (not the holder's and the administration's
 * organisation subjects, in that order), `Bundle` (`pos`, `err`: a bundle does not verify),
 * `Heads` (the bundles are not at one head).
 */
export class RecognitionError extends TradelogError {}
Object.defineProperty(RecognitionError, 'name', { value: 'RecognitionError' });
Object.defineProperty(RecognitionError.prototype, 'name', { value: 'RecognitionError', writable: true, configurable: true });

/** Largest organisation answer JSON accepted: two proof bundles (each at most 64 MiB), checked before parsing. */
export const MAX_ANSWER_BYTES = 256 * 1024 * 1024;

const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
/** An unordered pair of administrations, as one key (either one issues the arrangement). */
const pairKey = (a, b) => (a <= b ? `${a}\u0000${b}` : `${b}\u0000${a}`);
const big = (n) => (typeof n === 'bigint' ? n : BigInt(n));

/** Inserts `{index, record, id}` into `list` (log order), once per log position. */
function insert(list, item) {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].index < item.index) lo = mid + 1;
    else hi = mid;
  }
  if (lo < list.length && list[lo].index === item.index) return;
  list.splice(lo, 0, item);
}

/**
 * The AEO and arrangement records of some organisation subjects, in log order (8h). Built from
 * complete, verified subject histories (or the whole log), it answers for the organisations
 * those histories cover: for `recognised(X, Y, T)`, X's and Y's.
 */
export class Register {
  constructor() {
    /** `(issuer, holder, authorisation)` → `{issuer, holder, authorisation, records: [{index, record, id}]}`. */
    this.aeo = new Map();
    /** Unordered administration pair → `[{index, record, id}]` in log order. */
    this.mra = new Map();
  }

  /**
   * Adds a committed event (an `Event`, or `{id, body}`) at log position `index` (events of
   * other kinds are ignored; an event seen twice, as from two subjects' histories, counts once).
   */
  add(index, event) {
    const b = event.body;
    const at = big(index);
    if (b.kind === 'aeo_status' && b.aeo !== undefined) {
      const k = JSON.stringify([b.issuer.org, b.aeo.holder, b.aeo.authorisation]);
      let entry = this.aeo.get(k);
      if (entry === undefined) {
        entry = { issuer: b.issuer.org, holder: b.aeo.holder, authorisation: b.aeo.authorisation, records: [] };
        this.aeo.set(k, entry);
      }
      insert(entry.records, { index: at, record: b.aeo, id: event.id });
    } else if (b.kind === 'mra' && b.mra !== undefined) {
      const k = pairKey(b.issuer.org, b.mra.partner);
      if (!this.mra.has(k)) this.mra.set(k, []);
      insert(this.mra.get(k), { index: at, record: b.mra, id: event.id });
    }
  }

  /**
   * The authorisations `holder` held at `at` (ms), in (issuer, authorisation) order: for each,
   * the record latest in the log among those that apply at `at` (`from <= at`, and `at < until`
   * for a grant) is a grant. Each `{issuer, programme, authorisation, types, event}`.
   */
  held(holder, at) {
    const t = big(at);
    const applies = (r) => big(r.from) <= t && (r.status !== 'granted' || r.until === undefined || t < big(r.until));
    return [...this.aeo.values()]
      .filter((e) => e.holder === holder)
      .sort((a, b) => cmp(a.issuer, b.issuer) || cmp(a.authorisation, b.authorisation))
      .flatMap((e) => {
        const last = e.records.findLast((x) => applies(x.record));
        if (last === undefined || last.record.status !== 'granted') return [];
        return [{ issuer: e.issuer, programme: last.record.programme, authorisation: e.authorisation, types: [...(last.record.types ?? [])], event: last.id }];
      });
  }

  /**
   * The arrangement between administrations `a` and `b` in force at `at`: `{event, types}` if,
   * of the pair's records with `from <= at`, the one latest in the log is `in_force`; else
   * `undefined`.
   */
  arrangement(a, b, at) {
    const t = big(at);
    const last = (this.mra.get(pairKey(a, b)) ?? []).findLast((x) => big(x.record.from) <= t);
    if (last === undefined || last.record.status !== 'in_force') return undefined;
    return { event: last.id, types: [...(last.record.types ?? [])] };
  }

  /**
   * Did `holder` hold an AEO status recognised by administration `by` at `at`? `by`'s own
   * authorisations are recognised for all their types; another administration's for the types
   * an arrangement between the two in force at `at` covers (the intersection). The first
   * recognised authorisation (in issuer, number order) is the basis; `by`'s own comes before
   * others. The 9e `recognition` object: `{holder, recognised_by, at, recognised,
   * authorisation?, types, arrangement?, held}`.
   */
  recognised(holder, by, at) {
    const held = this.held(holder, at);
    let basis;
    const own = held.find((a) => a.issuer === by);
    if (own !== undefined) basis = { authorisation: own, types: own.types };
    else {
      for (const a of held) {
        const m = this.arrangement(a.issuer, by, at);
        if (m === undefined) continue;
        const types = a.types.filter((x) => m.types.includes(x));
        if (types.length) {
          basis = { authorisation: a, types, arrangement: m.event };
          break;
        }
      }
    }
    const out = { holder, recognised_by: by, at: S.jsonInt(big(at)), recognised: basis !== undefined };
    if (basis !== undefined) out.authorisation = { ...basis.authorisation, types: [...basis.authorisation.types] };
    out.types = basis ? [...basis.types] : [];
    if (basis?.arrangement !== undefined) out.arrangement = basis.arrangement;
    out.held = held;
    return out;
  }
}

const subjectText = (s) => (s !== null && typeof s === 'object' && typeof s.type === 'string' && typeof s.id === 'string' ? `${s.type} ${s.id}` : '?');

/** An answer as given: JSON text or bytes (parsed strictly, at most `MAX_ANSWER_BYTES`), or a parsed object. */
function toAnswer(answer) {
  try {
    const v = typeof answer === 'string' || answer instanceof Uint8Array ? parseJson(answer, MAX_ANSWER_BYTES) : answer;
    S.object(v, 'answer', ['organisation', 'bundles', 'recognition']);
    S.array(v.bundles, 'answer.bundles');
    return v;
  } catch (e) {
    if (e instanceof JsonError) throw new RecognitionError('Malformed', `answer is malformed: ${e.message}`, { err: e });
    throw e;
  }
}

/**
 * Verifies the organisation bundles of an answer to "did `holder` hold an AEO status recognised
 * by `by` (default `holder` itself) at some time" against the genesis alone (PROTOCOL.md 9e):
 * `answer.bundles` are exactly the organisation subjects of `holder` and, when `by` differs, of
 * `by`, in that order; each verifies (section 9); both are at one head. Returns `{register,
 * head, provenances}`: the `Register` of their records, which answers `recognised(holder, by,
 * T)` for any `T` as recorded up to `head`, and each bundle's provenance. The node's
 * `recognition` is not read. Throws `RecognitionError`.
 */
export function verifyOrganisationBundles(genesis, answer, holder, by = holder) {
  checkOrgId(holder);
  checkOrgId(by);
  const a = toAnswer(answer);
  const expected = [{ type: 'organisation', id: holder }, ...(by !== holder ? [{ type: 'organisation', id: by }] : [])];
  const got = a.bundles.map((b) => (b !== null && typeof b === 'object' ? b.subject : undefined));
  if (got.length !== expected.length || got.some((s, i) => subjectText(s) !== subjectText(expected[i]))) {
    const names = (list) => list.map(subjectText).join(', ') || 'none';
    throw new RecognitionError('Subjects', `bundles: expected the organisation subjects of ${names(expected)}, got ${names(got)}`, { expected: names(expected), got: names(got) });
  }
  const register = new Register();
  const provenances = [];
  let head;
  a.bundles.forEach((b, pos) => {
    let p;
    try {
      p = verifyBundle(genesis, b);
    } catch (err) {
      if (!(err instanceof TradelogError)) throw err;
      throw new RecognitionError('Bundle', `bundles[${pos}]: ${err.message}`, { pos, err });
    }
    if (head !== undefined && p.head.height !== head.height) {
      throw new RecognitionError('Heads', `bundles: the bundles are at heads ${head.height} and ${p.head.height}; both must be at one head`, { first: head.height, second: p.head.height });
    }
    if (head !== undefined && headHash(p.head) !== headHash(head)) {
      // Not a rule of 9e, which names heights: two certified heads at one height conflict (7a).
      throw new RecognitionError('Heads', `bundles: two different heads at height ${head.height}; both must be at one head`, { first: head.height, second: p.head.height });
    }
    head = p.head;
    for (const pe of p.events) register.add(pe.index, pe.event);
    provenances.push(p);
  });
  return { register, head, provenances };
}

/**
 * Verifies an organisation answer (PROTOCOL.md 9e; its JSON text, bytes or parsed object) to
 * "did `holder` hold an AEO status recognised by administration `by` (default `holder`) at
 * `at`" (ms, default the head's time) against the genesis alone, and returns the recognition
 * computed from its verified bundles (the node's own `recognition` is informational and not
 * trusted): `{holder, recognised_by, at, recognised, authorisation?, types, arrangement?,
 * held}`, the JSON shape of the Rust `Recognition`. Throws `RecognitionError`.
 */
export function verifyOrganisationAnswer(genesis, answer, holder, by = holder, at = undefined) {
  const { register, head } = verifyOrganisationBundles(genesis, answer, holder, by);
  return register.recognised(holder, by, at ?? head.time);
}
