// Corrections (PROTOCOL.md 8g): a `retracted` event names, in `retracts`, an earlier event of
// its issuer about the same subjects, by its id (`{event}`) or by its source (`{source}`: the
// issuer's event whose source key, 8e, is the retraction's org, that source, and its ucr,
// container and ids). The ledger never deletes: the retracted event stays in every history,
// and a verifier checks the rule over each subject's complete history (9 step 6). Pure, like
// `sources.js`.
import { sourceKey } from './sources.js';

/** How a `retracted` body names its target: the event id, or `standard "id"`. */
export function retractsText(body) {
  const r = body.retracts;
  return r.event !== undefined ? r.event : `${r.source.standard} ${JSON.stringify(r.source.id)}`;
}

/**
 * The position of the target of the `retracted` event `events[pos]` among the earlier events
 * (`events` are `Event`s of a subject's complete history, in log order), or `undefined`.
 */
export function retractionTarget(events, pos) {
  const body = events[pos].body;
  const r = body.retracts;
  let q;
  if (r.event !== undefined) {
    q = events.findIndex((e, i) => i < pos && e.id === r.event);
  } else {
    const key = sourceKey({ ...body, source: r.source });
    q = events.findIndex((e, i) => i < pos && sourceKey(e.body) === key);
  }
  return q >= 0 ? q : undefined;
}

const same = (a, b) => (a === undefined ? b === undefined : b !== undefined && JSON.stringify(a) === JSON.stringify(b));

/**
 * Rule 8g over `events` (a subject's complete history, in log order): returns a `Map` from the
 * position of each retracted event to the position of its retraction, or, for the first
 * retraction that breaks the rule, `{pos, reason}` in `error` (`reason` the text after
 * `body.retracts: `; `target` the target's position when there is one, `first` the earlier
 * retraction's when the target is retracted twice).
 */
export function checkRetractions(events) {
  const retracted = new Map();
  for (let pos = 0; pos < events.length; pos++) {
    const body = events[pos].body;
    if (body.kind !== 'retracted') continue;
    const org = body.issuer.org;
    const what = retractsText(body);
    const error = (reason, extra = {}) => ({ retracted, error: { pos, reason, ...extra } });
    const q = retractionTarget(events, pos);
    if (q === undefined) return error(`no earlier event ${what} of ${org} for this consignment and container`);
    const t = events[q].body;
    if (t.issuer.org !== org) return error(`${what} was issued by ${t.issuer.org}: an organisation retracts only its own events`, { target: q });
    if (!['ucr', 'container', 'ids'].every((m) => same(t[m], body[m]))) return error(`${what} names other subjects (ucr, container, ids must be equal)`, { target: q });
    if (t.kind === 'retracted' || t.kind === 'membership') return error(`${what} is a ${t.kind} event, which is not retracted`, { target: q });
    if (retracted.has(q)) return error(`${what} is already retracted by events[${retracted.get(q)}]`, { target: q, first: retracted.get(q) });
    retracted.set(q, pos);
  }
  return { retracted };
}
