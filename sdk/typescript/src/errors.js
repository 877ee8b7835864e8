// Error types. Each mirrors one error enum of the Rust reference (`tradelog-protocol`): `name` is
// the Rust type (`BundleError`), `variant` the enum variant (`Incomplete`), the other own fields
// are the variant's fields (`pos`, `index`, `err`, ...), and `message` is the Rust Display text
// where the SDK can reproduce it. A nested failure is both `err` and `cause`.

/** Base class of every error the SDK throws on purpose. */
export class TradelogError extends Error {
  /**
   * @param {string} variant the Rust enum variant
   * @param {string} message human-readable, naming the field
   * @param {Record<string, unknown>} [fields] the variant's fields
   */
  constructor(variant, message, fields = {}) {
    super(message, fields.err instanceof Error ? { cause: fields.err } : undefined);
    this.variant = variant;
    for (const [k, v] of Object.entries(fields)) if (k !== 'name' && k !== 'message') this[k] = v;
  }
}

function define(name) {
  const cls = class extends TradelogError {};
  Object.defineProperty(cls, 'name', { value: name });
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
  return cls;
}

/** Not lowercase hex of the right length (Rust `HexError`). */
export const HexError = define('HexError');
/** A JSON text that is not valid, or not in the protocol's strict subset. */
export const JsonError = define('JsonError');
/** A value with no canonical form in the protocol subset (Rust `JcsError`: `Null`, `Number`). */
export const JcsError = define('JcsError');
/** A public key that is refused (Rust `KeyError`: `Hex`, `NotAPoint`, `NotCanonical`, `Weak`). */
export const KeyError = define('KeyError');
/** An identifier that breaks its rule (Rust `IdError`). */
export const IdError = define('IdError');
/** An event refused (Rust `EventError`: `TooLarge`, `Malformed`, `Version`, `Field`, `Canonical`, `Signature`). */
export const EventError = define('EventError');
/** A disclosure that does not match (Rust `DisclosureError`). */
export const DisclosureError = define('DisclosureError');
/** An inclusion or consistency proof refused (Rust `merkle::ProofError`: `Range`, `TooLong`, `Mismatch`). */
export const ProofError = define('ProofError');
/** An index proof refused (Rust `IndexProofError`: `TooLong`, `OffPath`, `Mismatch`). */
export const IndexProofError = define('IndexProofError');
/** A malformed validator set (Rust `ValidatorSetError`). */
export const ValidatorSetError = define('ValidatorSetError');
/** A certificate that does not certify a head (Rust `CertificateError`). */
export const CertificateError = define('CertificateError');
/** An invalid genesis document (Rust `GenesisError`). */
export const GenesisError = define('GenesisError');
/** An issuer not permitted to issue an event (Rust `AuthError`). */
export const AuthError = define('AuthError');
/** A membership change that is not allowed (Rust `ChangeError`). */
export const ChangeError = define('ChangeError');
/** A membership proof that does not verify (Rust `MembershipError`). */
export const MembershipError = define('MembershipError');
/** A proof bundle that does not verify (Rust `BundleError`). */
export const BundleError = define('BundleError');
/** A route bundle that does not verify (Rust `RouteError`). */
export const RouteError = define('RouteError');
/** A served head that does not extend the known one (PROTOCOL.md 9c; Rust client `FollowError`). */
export const FollowError = define('FollowError');
/**
 * A node refused a request or could not be reached: `status` (HTTP, 0 if unreachable), `code`
 * (the node's stable snake_case code, e.g. `unknown_issuer`) and the node's `message`.
 */
export const NodeError = define('NodeError');
