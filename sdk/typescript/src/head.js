// Heads (block headers, PROTOCOL.md 6), validator sets and quorum certificates (7).
import { concat, fromHex, u32 as be32, u64 as be64, u8, utf8Bytes } from './bytes.js';
import { CertificateError, ValidatorSetError } from './errors.js';
import { D, H } from './hash.js';
import { isChainId, checkOrgId } from './ids.js';
import { verifySignature } from './keys.js';
import * as S from './schema.js';

export const HEAD_DOMAIN = 'tradelog/head/v1';
export const PRECOMMIT_DOMAIN = 'tradelog/precommit/v1';
export const PREVOTE_DOMAIN = 'tradelog/prevote/v1';
export const PROPOSAL_DOMAIN = 'tradelog/proposal/v1';
export const VALIDATORS_DOMAIN = 'tradelog/validators/v1';
/** Most validators in a set. */
export const MAX_VALIDATORS = 256;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Reads a head JSON object; integers become bigints, hashes stay hex. */
export function parseHead(v, path = 'head') {
  S.object(v, path, ['chain', 'height', 'time', 'prev', 'log_size', 'log_root', 'index_root', 'validators']);
  return {
    chain: S.string(v.chain, `${path}.chain`),
    height: S.u64(v.height, `${path}.height`),
    time: S.u64(v.time, `${path}.time`),
    prev: S.hash(v.prev, `${path}.prev`),
    log_size: S.u64(v.log_size, `${path}.log_size`),
    log_root: S.hash(v.log_root, `${path}.log_root`),
    index_root: S.hash(v.index_root, `${path}.index_root`),
    validators: S.hash(v.validators, `${path}.validators`),
  };
}

/** The exact bytes hashed into the head hash. */
export function headBytes(head) {
  const chain = utf8Bytes(head.chain);
  return concat(
    utf8Bytes(HEAD_DOMAIN), u8(0), u8(chain.length), chain,
    be64(head.height), be64(head.time), fromHex(head.prev, 32), be64(head.log_size),
    fromHex(head.log_root, 32), fromHex(head.index_root, 32), fromHex(head.validators, 32),
  );
}

/** The head hash (hex): what validators vote on. */
export function headHash(head) {
  return hexOf(H(headBytes(head)));
}

function hexOf(b) {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/**
 * A validator set: validators sorted by key bytes, with their total power. Throws
 * `ValidatorSetError` (`Size`, `DuplicateKey`, `Power`) as the Rust `TryFrom<Vec<Validator>>`.
 */
export class ValidatorSet {
  constructor(validators) {
    if (validators.length === 0 || validators.length > MAX_VALIDATORS) {
      throw new ValidatorSetError('Size', `a validator set has 1..=${MAX_VALIDATORS} validators, got ${validators.length}`, { n: validators.length });
    }
    const sorted = [...validators].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].key === sorted[i - 1].key) {
        throw new ValidatorSetError('DuplicateKey', `validator key ${sorted[i].key} appears twice`, { key: sorted[i].key });
      }
    }
    let total = 0n;
    for (const v of sorted) {
      if (BigInt(v.power) === 0n) throw new ValidatorSetError('Power', 'validator power must be >= 1 and the total at most 2^53-1');
      total += BigInt(v.power);
    }
    if (total > MAX_SAFE) throw new ValidatorSetError('Power', 'validator power must be >= 1 and the total at most 2^53-1');
    /** Validators `{org, key, power}` sorted by key (lowercase hex order is byte order). */
    this.validators = sorted.map((v) => ({ org: v.org, key: v.key, power: BigInt(v.power) }));
    /** Total power (bigint). */
    this.total = total;
    this.byKey = new Map(this.validators.map((v) => [v.key, v]));
  }

  /** The validator with this key (hex), if any. */
  get(key) {
    return this.byKey.get(key);
  }

  /** True if `power` is more than two thirds of the total. */
  isQuorum(power) {
    return BigInt(power) * 3n > this.total * 2n;
  }

  /** validators_hash (hex). */
  hash() {
    const parts = [be32(this.validators.length)];
    for (const v of this.validators) parts.push(fromHex(v.key, 32), be64(v.power));
    return hexOf(D(VALIDATORS_DOMAIN, ...parts));
  }

  /** JSON form: the sorted list `[{org, key, power}]`. */
  toJSON() {
    return this.validators.map((v) => ({ org: v.org, key: v.key, power: S.jsonInt(v.power) }));
  }
}

/**
 * Reads a validator list `[{org, key, power}]` into a `ValidatorSet`. A schema failure throws
 * `JsonError`; a set rule `ValidatorSetError` (both are "malformed" to the Rust reference).
 */
export function parseValidatorSet(v, path = 'validators') {
  S.array(v, path);
  const list = v.map((x, i) => {
    const p = `${path}[${i}]`;
    S.object(x, p, ['org', 'key', 'power']);
    return { org: S.id(x.org, `${p}.org`, checkOrgId), key: S.publicKey(x.key, `${p}.key`), power: S.u64(x.power, `${p}.power`) };
  });
  return new ValidatorSet(list);
}

function voteMessage(domain, chain, height, round, value, extra = new Uint8Array(0)) {
  const c = utf8Bytes(chain);
  return concat(utf8Bytes(domain), u8(0), u8(c.length), c, be64(height), be32(round), extra, fromHex(value, 32));
}

/** The bytes a validator signs to precommit `headHashHex` (64 zeros for nil) at `round`. */
export function precommitMessage(chain, height, round, headHashHex) {
  return voteMessage(PRECOMMIT_DOMAIN, chain, height, round, headHashHex);
}

/** The bytes a validator signs to prevote. */
export function prevoteMessage(chain, height, round, headHashHex) {
  return voteMessage(PREVOTE_DOMAIN, chain, height, round, headHashHex);
}

/** The bytes a proposer signs (`polRound` 0xFFFFFFFF for none). */
export function proposalMessage(chain, height, round, polRound, headHashHex) {
  return voteMessage(PROPOSAL_DOMAIN, chain, height, round, headHashHex, be32(polRound));
}

/** Reads a certificate `{height, round, head, signatures: [{validator, sig}]}`. */
export function parseCertificate(v, path = 'certificate') {
  S.object(v, path, ['height', 'round', 'head', 'signatures']);
  return {
    height: S.u64(v.height, `${path}.height`),
    round: S.u32(v.round, `${path}.round`),
    head: S.hash(v.head, `${path}.head`),
    signatures: S.array(v.signatures, `${path}.signatures`).map((s, i) => {
      const p = `${path}.signatures[${i}]`;
      S.object(s, p, ['validator', 'sig']);
      return { validator: S.publicKey(s.validator, `${p}.validator`), sig: S.signature(s.sig, `${p}.sig`) };
    }),
  };
}

/**
 * Checks that `cert` certifies `head` under the trusted validator `set` (PROTOCOL.md 7).
 * Throws `CertificateError` (`Chain`, `ValidatorSet`, `WrongHead`, `TooMany`, `NotAValidator`,
 * `Duplicate`, `BadSignature`, `NoQuorum`), in the Rust reference's order.
 */
export function verifyCertificate(cert, head, set) {
  if (!isChainId(head.chain)) throw new CertificateError('Chain', 'head.chain is not a valid chain id');
  const expected = set.hash();
  if (head.validators !== expected) {
    throw new CertificateError('ValidatorSet', `head.validators ${head.validators} is not the trusted validator set ${expected}`, { expected, got: head.validators });
  }
  const hash = headHash(head);
  if (cert.head !== hash || BigInt(cert.height) !== BigInt(head.height)) {
    throw new CertificateError('WrongHead', `certificate is for head ${cert.head} at height ${cert.height}, not head ${hash} at height ${head.height}`, {
      cert_head: cert.head, cert_height: cert.height, head: hash, height: head.height,
    });
  }
  if (cert.signatures.length > set.validators.length) {
    throw new CertificateError('TooMany', `certificate has ${cert.signatures.length} signatures, more than the validator set`, { n: cert.signatures.length });
  }
  const msg = precommitMessage(head.chain, head.height, cert.round, hash);
  const seen = new Set();
  let signed = 0n;
  for (const cs of cert.signatures) {
    const v = set.get(cs.validator);
    if (!v) throw new CertificateError('NotAValidator', `certificate signer ${cs.validator} is not in the validator set`, { validator: cs.validator });
    if (seen.has(cs.validator)) throw new CertificateError('Duplicate', `validator ${cs.validator} signed twice`, { validator: cs.validator });
    seen.add(cs.validator);
    if (!verifySignature(cs.validator, msg, cs.sig)) {
      throw new CertificateError('BadSignature', `precommit signature of validator ${cs.validator} does not verify`, { validator: cs.validator });
    }
    signed += v.power;
  }
  if (!set.isQuorum(signed)) {
    throw new CertificateError('NoQuorum', `certificate carries ${signed} of ${set.total} voting power, more than 2/3 is needed`, { signed, total: set.total });
  }
}
