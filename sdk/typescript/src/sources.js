// Source uniqueness (PROTOCOL.md 8e): an organisation records one event of a standard's feed
// once per consignment and container, so a feed delivered twice (or re-imported) does not
// write its history twice. Pure, as the Rust `protocol::sources`: the key of an event, and the
// first repeated key among a subject's complete history (bundle verification, 9 step 6).

/**
 * The source key of an event body `(issuer.org, source, ucr, container, ids)` as a string (the
 * JSON text of `[org, standard, id, ucr, container]`, `null` for an absent ucr or container,
 * followed by `ids` as a list when the body has it: an event without `ids` has the key it had
 * before trade identifiers, PROTOCOL.md 8e), or `undefined` when the body carries no `source`.
 */
export function sourceKey(body) {
  if (body.source === undefined) return undefined;
  const key = [body.issuer.org, body.source.standard, body.source.id, body.ucr ?? null, body.container ?? null];
  if (body.ids !== undefined) key.push(body.ids);
  return JSON.stringify(key);
}

/**
 * The first pair of bodies with the same source key among `bodies` (a subject's complete
 * history, in log order): `[earlier, later]` positions, or `undefined` if no key repeats.
 */
export function firstSourceRepeat(bodies) {
  const seen = new Map();
  let pos = 0;
  for (const body of bodies) {
    const key = sourceKey(body);
    if (key !== undefined) {
      if (seen.has(key)) return [seen.get(key), pos];
      seen.set(key, pos);
    }
    pos++;
  }
  return undefined;
}
