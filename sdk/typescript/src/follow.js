// Following heads (PROTOCOL.md 9c): does a newly served certified head extend the last one a
// light client accepted? The same rules and reasons as the Rust light client.
import { FollowError, JsonError } from './errors.js';
import { headHash } from './head.js';
import { verifyConsistency } from './merkle.js';
import * as S from './schema.js';

/** Reads a `GET /v1/consistency` answer `{first, second, first_root, second_root, proof}`. */
export function parseConsistency(v) {
  S.object(v, 'consistency', ['first', 'second', 'first_root', 'second_root', 'proof']);
  S.object(v.proof, 'consistency.proof', ['first', 'second', 'path']);
  return {
    first: S.u64(v.first, 'consistency.first'),
    second: S.u64(v.second, 'consistency.second'),
    first_root: S.hash(v.first_root, 'consistency.first_root'),
    second_root: S.hash(v.second_root, 'consistency.second_root'),
    proof: {
      first: S.u64(v.proof.first, 'consistency.proof.first'),
      second: S.u64(v.proof.second, 'consistency.proof.second'),
      path: S.array(v.proof.path, 'consistency.proof.path', 128).map((h, i) => S.hash(h, `consistency.proof.path[${i}]`)),
    },
  };
}

/**
 * Checks that the certified head `served` extends `known` (both `{head, certificate}` with
 * verified certificates). `consistency(first, second)` returns the node's consistency answer
 * (parsed JSON or a promise of it) and is called only when the log grew. Resolves to `served`.
 * Rejects with `FollowError` `Stale` (an older head) or `Fork` (`reason`, `known`, `served`:
 * the evidence of PROTOCOL.md 9c).
 */
export async function checkExtends(known, served, consistency) {
  const k = known.head;
  const s = served.head;
  const fork = (reason) => new FollowError('Fork', `history rewritten or forked: ${reason} (known head #${k.height} ${headHash(k)}, served head #${s.height} ${headHash(s)})`, { reason, known, served });
  if (headHash(k) === headHash(s)) return served;
  if (k.height === s.height) throw fork(`two different heads are certified at height ${k.height}`);
  if (s.height < k.height) {
    if (s.log_size > k.log_size) throw fork(`head #${s.height} has log size ${s.log_size} but the later head #${k.height} only ${k.log_size}`);
    throw new FollowError('Stale', `node serves head #${s.height}, older than head #${k.height} this client already verified; ask an up-to-date node`, { known: k.height, served: s.height });
  }
  if (s.log_size < k.log_size) throw fork(`the log shrank from ${k.log_size} to ${s.log_size} events`);
  if (s.log_size === k.log_size) {
    if (s.log_root !== k.log_root) throw fork(`same log size ${k.log_size} but different log roots`);
    return served;
  }
  if (k.log_size === 0n) return served;
  let c;
  try {
    c = parseConsistency(await consistency(k.log_size, s.log_size));
  } catch (e) {
    throw fork(`no consistency proof from ${k.log_size} to ${s.log_size}: ${e instanceof JsonError ? `malformed: ${e.message}` : e.message}`);
  }
  if (c.first !== k.log_size || c.second !== s.log_size || c.first_root !== k.log_root || c.second_root !== s.log_root || c.proof.first !== k.log_size || c.proof.second !== s.log_size) {
    throw fork(`the consistency proof is for other sizes or roots than the two heads (${c.first} -> ${c.second})`);
  }
  try {
    verifyConsistency(c.proof, k.log_root, s.log_root);
  } catch (e) {
    throw fork(`consistency proof from ${k.log_size} to ${s.log_size}: ${e.message}`);
  }
  return served;
}
