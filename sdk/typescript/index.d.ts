// Type declarations of the tradelog SDK (plain ES modules: index.js and src/*.js).
// Hashes, keys, signatures and ids are lowercase hex strings; u64 protocol integers read from
// JSON (heights, log sizes, indices, counts) are bigints; event body integers are numbers.

// ---- errors -------------------------------------------------------------------------------
/** Base of every error the SDK throws on purpose: `name` is the Rust error type, `variant` the
 * Rust enum variant; a nested failure is `err` (and `cause`). */
export class TradelogError extends Error {
  constructor(variant: string, message: string, fields?: Record<string, unknown>);
  readonly variant: string;
  readonly err?: TradelogError | Error;
  readonly pos?: number;
  readonly [field: string]: unknown;
}
export class HexError extends TradelogError {}
export class JsonError extends TradelogError {}
export class JcsError extends TradelogError {}
export class KeyError extends TradelogError {}
export class IdError extends TradelogError {}
export class EventError extends TradelogError {}
export class DisclosureError extends TradelogError {}
export class ProofError extends TradelogError {}
export class IndexProofError extends TradelogError {}
export class ValidatorSetError extends TradelogError {}
export class CertificateError extends TradelogError {}
export class GenesisError extends TradelogError {}
export class AuthError extends TradelogError {}
export class ChangeError extends TradelogError {}
export class MembershipError extends TradelogError {}
export class BundleError extends TradelogError {}
export class RouteError extends TradelogError {}
export class FollowError extends TradelogError {}
/** An organisation answer that does not prove its recognition (9e): `Malformed`, `Subjects`, `Bundle` (`pos`, `err`), `Heads`. */
export class RecognitionError extends TradelogError {}
/** A node refused a request (`status` HTTP, `code` the node's snake_case code) or was unreachable (`status` 0). */
export class NodeError extends TradelogError {
  readonly status: number;
  readonly code: string;
}

// ---- bytes, JSON, JCS, hashes -----------------------------------------------------------------
export type Hex = string;
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [k: string]: JsonValue };
export function toHex(bytes: Uint8Array): Hex;
export function fromHex(hex: string, n?: number): Uint8Array;
export function utf8Bytes(s: string): Uint8Array;
export function concat(...parts: Uint8Array[]): Uint8Array;
/** Strict JSON: duplicates, fractions, exponents, lone surrogates refused; big integers as bigint. */
export function parseJson(input: string | Uint8Array, maxBytes?: number): JsonValue;
/** RFC 8785 canonical JSON text of the protocol subset. */
export function canonicalize(value: unknown): string;
export function canonicalBytes(value: unknown): Uint8Array;
export const ZERO_HEX: Hex;
/** BLAKE3 (32 bytes) of the concatenation. */
export function H(...parts: Uint8Array[]): Uint8Array;
/** H(tag || 0x00 || parts...). */
export function D(tag: string, ...parts: Uint8Array[]): Uint8Array;

// ---- keys -------------------------------------------------------------------------------------
/** Vets a public key (decodes, not small order, canonical); returns its 32 bytes. */
export function parsePublicKey(key: Hex | Uint8Array): Uint8Array;
/** ZIP-215 verification under a vetted key (a bad key throws KeyError). */
export function verifySignature(publicKey: Hex | Uint8Array, message: Uint8Array, signature: Hex | Uint8Array): boolean;
/** The ZIP-215 rules alone (PROTOCOL.md section 1), no key vetting: any encoding of A and R, small order accepted. */
export function verifyZip215(publicKey: Hex | Uint8Array, message: Uint8Array, signature: Hex | Uint8Array): boolean;
export function publicKeyOf(seed: Uint8Array | Hex): Uint8Array;
export function signBytes(seed: Uint8Array | Hex, message: Uint8Array): Uint8Array;
export function generateSeed(): Uint8Array;
export class KeyPair {
  constructor(seed: Uint8Array | Hex);
  static generate(): KeyPair;
  /** A tradelog key file `{"public", "secret"}` (what `tradelog keygen` and the devnet write). */
  static fromKeyFile(json: string | { public: Hex; secret: Hex }): KeyPair;
  readonly publicKey: Hex;
  sign(message: Uint8Array): Uint8Array;
  seed(): Uint8Array;
}

// ---- identifiers ------------------------------------------------------------------------------
export function checkUcr(s: string): string;
export function checkContainer(s: string): string;
export function checkLocode(s: string): string;
export function checkOrgId(s: string): string;
export function isUcr(s: string): boolean;
export function isContainer(s: string): boolean;
export function isLocode(s: string): boolean;
export function isOrgId(s: string): boolean;
export function isChainId(s: string): boolean;
export function iso6346CheckDigit(first10: string): number | undefined;
/** A trade identifier (PROTOCOL.md 2): `bl:<carrier>:<number>`, `bkg:<carrier>:<number>` or `sscc:<18 digits>`. */
export interface TradeId { scheme: 'bl' | 'bkg' | 'sscc'; carrier: string | undefined; number: string }
/** The schemes qualified by the carrier's organisation id: `bl`, `bkg`. */
export const CARRIER_SCHEMES: readonly ['bl', 'bkg'];
/** Parses a trade identifier (never normalised); throws IdError. */
export function parseTradeId(s: string): TradeId;
/** Checks a trade identifier and returns it; throws IdError. */
export function checkTradeId(s: string): string;
export function isTradeId(s: unknown): boolean;
/** The GS1 check digit of the first 17 digits of an SSCC (weights 3, 1, 3, ... from the right). */
export function gs1CheckDigit(first17: string): number | undefined;
/** `bl:<carrier>:<number>`, checked. */
export function transportDocument(carrier: string, number: string): string;
/** `bkg:<carrier>:<number>`, checked. */
export function booking(carrier: string, number: string): string;
/** `sscc:<18 digits>`, checked: 17 digits get their check digit appended. */
export function sscc(digits: string): string;

// ---- events -----------------------------------------------------------------------------------
export type EventKind =
  | 'booked' | 'declared' | 'loaded' | 'departed' | 'arrived' | 'discharged' | 'gate_in' | 'gate_out'
  | 'transshipped' | 'packed' | 'unpacked' | 'inspected' | 'held' | 'released' | 'seized' | 'delivered'
  | 'document_anchored' | 'retracted' | 'linked' | 'aeo_status' | 'mra' | 'advance_data' | 'risk_cleared'
  | 'risk_information_requested' | 'risk_referred' | 'risk_do_not_load' | 'membership';
export interface Transport { mode: 'sea' | 'air' | 'road' | 'rail' | 'inland_waterway'; means: string; voyage?: string }
export interface DocumentRef { kind: string; alg: 'sha256' | 'blake3'; digest: Hex }
export interface Validator { org: string; key: Hex; power: number | bigint }
export type Change =
  | { type: 'add_key'; org: string; key: Hex }
  | { type: 'revoke_key'; org: string; key: Hex }
  | { type: 'add_organisation'; organisation: { id: string; name: string; role: Role; keys: Hex[] } }
  | { type: 'set_validators'; validators: Validator[] | ValidatorSet };
export interface Approval { validator: Hex; sig: Hex }
export interface MembershipMember { seq: number | bigint; change: Change; approvals: Approval[] }
/** An event body (PROTOCOL.md 3.2). */
export interface EventBody {
  v: 1;
  chain: string;
  ucr?: string;
  container?: string;
  kind: EventKind;
  time: number;
  location?: string;
  /** Local time offset where it happened, as its source gave it (3.2): `+HH:MM`/`-HH:MM`, at most 14:00, `+00:00` for UTC; informational (`time` is UTC); not in a membership event. */
  offset?: string;
  transport?: Transport;
  refs: Hex[];
  documents: DocumentRef[];
  details: Record<string, Hex>;
  issuer: { org: string; key: Hex };
  /** Organisations this event makes parties of its consignment (8c, rules 2): 1-16 org ids, ascending, only with `ucr`. */
  parties?: string[];
  /** Where an imported event came from (3.2, 8e); not in a membership event. */
  source?: EventSource;
  /** Trade identifiers the event concerns (3.2, 8f): 1-16, ascending byte order, each once; not in a membership event. */
  ids?: string[];
  /** The event a `retracted` event retracts (3.2, 8g): present exactly when `kind` is `retracted`. */
  retracts?: Retracts;
  /** The AEO authorisation state a customs administration records (8h): present exactly when `kind` is `aeo_status`. */
  aeo?: AeoRecord;
  /** A mutual recognition arrangement (8h): present exactly when `kind` is `mra`. */
  mra?: MraRecord;
  /** A risk outcome's reason code, 1-32 of `a-z 0-9 _` (8i): present exactly for the four `risk_*` kinds. */
  reason?: string;
  membership?: MembershipMember;
}
/** An AEO authorisation type (8h): the EU's AEOC and AEOS. */
export type AeoType = 'customs_simplifications' | 'security_safety';
/**
 * The `aeo` member (PROTOCOL.md 8h): `holder` a carrier or platform member; `programme` 1-32 of
 * `a-z 0-9 _`; `authorisation` 1-35 of `A-Z 0-9 - . /`; `types` (1-2, ascending) exactly when
 * granted; `until` (exclusive, after `from`) only when granted.
 */
export interface AeoRecord { holder: string; programme: string; authorisation: string; status: 'granted' | 'suspended' | 'revoked'; types?: AeoType[]; from: number; until?: number }
/** The partner administration's countersignature of an arrangement's terms (8h). */
export interface MraApproval { key: Hex; sig: Hex }
/** The `mra` member (8h): `types` and `approval` exactly when in force. */
export interface MraRecord { partner: string; status: 'in_force' | 'terminated'; from: number; types?: AeoType[]; approval?: MraApproval }
export const AEO_TYPES: readonly AeoType[];
export const AEO_STATUSES: readonly ['granted', 'suspended', 'revoked'];
export const MRA_STATUSES: readonly ['in_force', 'terminated'];
/** `tradelog/mra/v1`. */
export const MRA_DOMAIN: string;
export const ORGANISATION_RECORD_KINDS: readonly ['aeo_status', 'mra'];
export const RISK_OUTCOME_KINDS: readonly ['risk_cleared', 'risk_information_requested', 'risk_referred', 'risk_do_not_load'];
/** The seven detail fields every `advance_data` event commits to (8i). */
export const ADVANCE_FIELDS: readonly string[];
export function parseAeo(value: unknown, path?: string): AeoRecord;
export function parseMra(value: unknown, path?: string): MraRecord;
/** `[field, reason]` of the first broken rule of the member, `undefined` if none. */
export function checkAeo(record: AeoRecord): [string, string] | undefined;
export function checkMra(record: MraRecord): [string, string] | undefined;
/** `"tradelog/mra/v1" || 0x00 || JCS({chain, from, issuer, partner, types})` (8h). */
export function mraTermsMessage(chain: string, issuer: string, partner: string, from: Int, types: AeoType[]): Uint8Array;
/** The partner's `approval` `{key, sig}` of the terms, signed with `keyPair` (one of the partner's keys). */
export function countersign(chain: string, issuer: string, partner: string, from: Int, types: AeoType[], keyPair: KeyPair): MraApproval;
/** True if the record's countersignature verifies (section 1 rules) over its terms; whether the key is the partner's is the caller's check. */
export function approvalVerifies(chain: string, issuer: string, record: MraRecord): boolean;
/** Rule 8i over a consignment's complete history: the position of the first risk outcome with no earlier `advance_data` of its consignment among its refs, `undefined` if none. */
export function firstUnassessedOutcome(events: Event[]): number | undefined;
/**
 * The `retracts` member (PROTOCOL.md 3.2, 8g), exactly one of: `event`, the retracted event's id;
 * `source`, the issuer's earlier event with that source and the retraction's ucr, container and
 * ids (its 8e source key).
 */
export type Retracts = { event: Hex; source?: never } | { source: EventSource; event?: never };
/** `{event: id}` (8g). */
export function retractsEvent(id: Hex): Retracts;
/** `{source: {standard, id}}` (8g). */
export function retractsSource(standard: string, id: string): Retracts;
/** How a `retracted` body names its target: the event id, or `standard "id"`. */
export function retractsText(body: EventBody): string;
/** The position of the target of the `retracted` event `events[pos]` among the earlier events, `undefined` if none (8g). */
export function retractionTarget(events: Event[], pos: number): number | undefined;
/**
 * Rule 8g over a subject's complete history: `retracted` maps each retracted event's position to
 * its retraction's; `error` the first retraction breaking the rule (`reason` follows `body.retracts: `).
 */
export function checkRetractions(events: Event[]): { retracted: Map<number, number>; error?: { pos: number; reason: string; target?: number; first?: number } };
/**
 * The `source` member (PROTOCOL.md 3.2): `standard` 1-32 of `a-z 0-9 _` (`dcsa`: a DCSA Track &
 * Trace `eventID`; `epcis`: an EPCIS 2.0 `eventID` or canonical event hash), `id` the source's
 * event id, 1-256 characters of printable ASCII (`!` to `~`). An organisation records one source
 * event once per consignment and container (8e).
 */
export interface EventSource { standard: string; id: string }
/** What `buildBody`/`signEvent` take: optional members may be left out or undefined. */
export interface EventDescription {
  chain: string;
  kind: EventKind;
  time: number | Date;
  ucr?: string;
  container?: string;
  location?: string;
  /** Local time offset where it happened, as its source gave it (3.2): `+HH:MM`/`-HH:MM`, at most 14:00, `+00:00` for UTC; informational (`time` is UTC); not in a membership event. */
  offset?: string;
  transport?: Transport;
  refs?: Hex[];
  documents?: DocumentRef[];
  details?: Record<string, Hex>;
  issuer: { org: string; key?: Hex; keyPair?: KeyPair };
  /** In ascending order (not sorted for you: the order is signed). */
  parties?: string[];
  source?: EventSource;
  /** Trade identifiers, 1-16 in any order: sorted for you into the ascending byte order that is signed (a repeat is refused). */
  ids?: string[];
  /** Required for kind `retracted`, refused otherwise (see `retractsEvent`, `retractsSource`). */
  retracts?: Retracts;
  /** Exactly for kind `aeo_status` (8h). */
  aeo?: AeoRecord;
  /** Exactly for kind `mra` (8h); in force, with the partner's `approval` (see `countersign`). */
  mra?: MraRecord;
  /** Exactly for the four `risk_*` kinds (8i). */
  reason?: string;
  membership?: MembershipMember;
}
export const EVENT_DOMAIN: string;
export const EVENT_KINDS: readonly EventKind[];
export const MAX_EVENT_JSON_BYTES: number;
export const MAX_BODY_BYTES: number;
export const MAX_MEMBERSHIP_BODY_BYTES: number;
export const MAX_REFS: number;
export const MAX_PARTIES: number;
/** Most trade identifiers in `ids`. */
export const MAX_IDS: number;
/** The subjects a `linked` event names (8f): its ucr as a consignment, then each of its ids as an identifier. */
export function linkedSubjects(body: { ucr?: string; ids?: string[] }): ({ type: 'consignment'; id: string } | { type: 'identifier'; id: string })[];
/** Longest `source.id` (characters of printable ASCII). */
export const MAX_SOURCE_ID: number;
/** The source key (8e) of a body as a string, `undefined` without `source`. */
export function sourceKey(body: EventBody): string | undefined;
/** The first `[earlier, later]` positions of bodies with the same source key (8e), `undefined` if none. */
export function firstSourceRepeat(bodies: Iterable<EventBody>): [number, number] | undefined;
export const MAX_DOCUMENTS: number;
export const MAX_DETAILS: number;
export function requiresLocation(kind: EventKind): boolean;
/** A structurally valid signed event. */
export class Event {
  readonly body: EventBody;
  readonly sig: Hex;
  readonly id: Hex;
  /** "tradelog/event/v1" || 0x00 || JCS(body). */
  readonly message: Uint8Array;
  readonly canonicalBody: string;
  /** The canonical wire JSON `{"body":JCS(body),"sig":"..."}`. */
  readonly wire: string;
  static from(body: unknown, sig: Hex): Event;
  static fromObject(wire: unknown): Event;
  static fromJson(text: string | Uint8Array): Event;
  verifySignature(): void;
  leafData(): Uint8Array;
  toJSON(): { body: EventBody; sig: Hex };
}
export function buildBody(description: EventDescription | EventBody): EventBody;
export function signEvent(body: EventDescription | EventBody, keyPair: KeyPair): Event;
export function parseBody(value: unknown, path?: string): EventBody;
export function validateBody(body: EventBody): void;
export function canonicalBody(body: EventBody): string;
export function signingBytes(body: EventBody): Uint8Array;

// ---- detail disclosures -----------------------------------------------------------------------
export interface Disclosure { name: string; value: string; salt: Hex }
export const DETAIL_DOMAIN: string;
export const MAX_DETAIL_VALUE: number;
export function commitDetail(name: string, value: string, salt: Uint8Array | Hex): Hex;
export function commitDetails(fields: Record<string, string>, salts?: Record<string, Uint8Array | Hex>): { details: Record<string, Hex>; disclosures: Record<string, Disclosure> };
export function freshSalt(): Uint8Array;
export function parseDisclosure(value: unknown): Disclosure;
export function verifyDisclosure(event: Event | EventBody, disclosure: Disclosure): void;

// ---- Merkle log, subject index ----------------------------------------------------------------
export type Int = number | bigint;
export const MAX_PROOF_HASHES: number;
export function leafHash(data: Uint8Array): Hex;
export function nodeHash(left: Hex | Uint8Array, right: Hex | Uint8Array): Hex;
export function emptyRoot(): Hex;
export function rootOf(leafHashes: Hex[]): Hex;
export function verifyInclusion(proof: { index: Int; size: Int; path: Hex[] }, leaf: Hex, root: Hex): void;
export function verifyConsistency(proof: { first: Int; second: Int; path: Hex[] }, firstRoot: Hex, secondRoot: Hex): void;
export type Subject = { type: 'consignment'; id: string } | { type: 'container'; id: string } | { type: 'identifier'; id: string } | { type: 'organisation'; id: string } | { type: 'membership'; id?: 'membership' };
export interface IndexEntry { count: bigint; acc: Hex }
export interface IndexProof { siblings: Hex[]; leaf?: { key: Hex; value_hash: Hex } }
export const EMPTY_ENTRY: IndexEntry;
export function subjectKey(subject: Subject): Hex;
export function subjectName(subject: Subject): string;
export function parseSubject(value: unknown, path?: string): Subject;
export function entryOver(ids: Hex[]): IndexEntry;
export function valueHash(entry: { count: Int; acc: Hex }): Hex;
export function parseIndexProof(value: unknown, path: string): IndexProof;
/** The key's value hash, or undefined when the proof shows absence. */
export function verifyIndexProof(proof: IndexProof, root: Hex, key: Hex): Hex | undefined;
export function provesEntry(proof: IndexProof, root: Hex, key: Hex, entry: { count: Int; acc: Hex }): boolean;

// ---- heads, validator sets, certificates ------------------------------------------------------
export interface Head { chain: string; height: bigint; time: bigint; prev: Hex; log_size: bigint; log_root: Hex; index_root: Hex; validators: Hex }
export interface Certificate { height: bigint; round: bigint; head: Hex; signatures: { validator: Hex; sig: Hex }[] }
export const MAX_VALIDATORS: number;
export class ValidatorSet {
  constructor(validators: Validator[]);
  readonly validators: { org: string; key: Hex; power: bigint }[];
  readonly total: bigint;
  get(key: Hex): { org: string; key: Hex; power: bigint } | undefined;
  isQuorum(power: Int): boolean;
  hash(): Hex;
  toJSON(): Validator[];
}
export function parseValidatorSet(value: unknown, path?: string): ValidatorSet;
export function parseHead(value: unknown, path?: string): Head;
export function headBytes(head: Head): Uint8Array;
export function headHash(head: Head): Hex;
export function parseCertificate(value: unknown, path?: string): Certificate;
export function verifyCertificate(certificate: Certificate, head: Head, set: ValidatorSet): void;
export function precommitMessage(chain: string, height: Int, round: Int, headHash: Hex): Uint8Array;
export function prevoteMessage(chain: string, height: Int, round: Int, headHash: Hex): Uint8Array;
export function proposalMessage(chain: string, height: Int, round: Int, polRound: Int, headHash: Hex): Uint8Array;

// ---- genesis, membership ----------------------------------------------------------------------
export type Role = 'customs' | 'carrier' | 'platform' | 'auditor';
export interface Organisation { id: string; name: string; role: Role; keys: Hex[] }
export function mayIssue(role: Role, kind: EventKind): boolean;
export class Genesis {
  constructor(value: unknown);
  static fromJson(text: string | Uint8Array): Genesis;
  readonly chain: string;
  readonly time: bigint;
  readonly organisations: Organisation[];
  readonly validators: ValidatorSet;
  /** The admission rules in force: 1 when the genesis names none, 2 for consignment parties (8c). */
  readonly rules: number;
  /** The genesis hash. */
  readonly hash: Hex;
  membership(): Membership;
  toJSON(): unknown;
}
/** The newest admission rules this SDK knows (2). */
export const RULES: number;
export class Membership {
  readonly chain: string;
  readonly rules: number;
  readonly orgs: Map<string, Organisation>;
  org(id: string): Organisation | undefined;
  keyUsed(key: Hex): boolean;
  /** Throws AuthError. */
  authorize(body: EventBody): void;
}
/** True under rules 2 and later (consignment parties, 8c). */
export function partiesApply(membership: Membership): boolean;
/** The consignment's parties after `body` if they change, else undefined; throws AuthError `NotAParty`. */
export function admitParty(membership: Membership, before: Set<string>, body: EventBody): Set<string> | undefined;
/** The parties after a consignment's complete history (log order); throws AuthError `NotAParty`. */
export function foldParties(membership: Membership, bodies: Iterable<EventBody>): Set<string>;
export function approvalMessage(chain: string, seq: Int, change: Change): Uint8Array;
export function approve(chain: string, seq: Int, change: Change, validatorKey: KeyPair): Approval;
export function membershipBody(seq: Int, change: Change, approvals?: Approval[]): MembershipMember;
export function canonicalChange(change: Change): string;
export function checkChange(membership: Membership, m: MembershipMember, issuerOrg: string, validators: ValidatorSet, nextSeq: Int): void;
export interface ProvenEvent { index: bigint; event: Event; proof: Hex[] }
export interface MembershipProof { transitions: { head: Head; certificate: Certificate; index_entry: IndexEntry; index_proof: IndexProof }[]; events: ProvenEvent[]; index_entry: IndexEntry; index_proof: IndexProof }
export class History {
  /** The set that certified the proof's head. */
  readonly validators: ValidatorSet;
  /** `[first height, set]` in height order: the genesis set from height 1, each transition's set from the height after it. */
  readonly sets: [bigint, ValidatorSet][];
  /** The membership in force at log position `index` (ask in non-decreasing order). */
  at(index: Int): Membership;
  /** The validator set that certifies heads at `height` (at most the proof's head's; PROTOCOL.md 9 step 7). */
  validatorsAt(height: Int): ValidatorSet;
}
export function parseMembershipProof(value: unknown, path: string, eventClass: typeof Event): MembershipProof;
export function verifyMembershipProof(proof: MembershipProof, genesis: Genesis, head: Head, certificate: Certificate): History;

// ---- bundles, routes, following heads ---------------------------------------------------------
/** When an event was recorded (PROTOCOL.md 9 step 7): its block's height and certified head time (ms). */
export interface Recorded { height: bigint; time: bigint }
/** A version-3 bundle's block entry: a block's certified head and the head before it (`null` at height 1). */
export interface BlockProof { head: Head; certificate: Certificate; prev: Head | null }
export interface VerifiedEvent {
  index: bigint;
  event: Event;
  /** Its block's height and time; `null` where the bundle does not prove it (version 2, or no block entry covers it). */
  recorded: Recorded | null;
}
export interface Provenance {
  subject: Subject;
  head: Head;
  certificate: Certificate;
  events: VerifiedEvent[];
  history: History;
  /** The genesis's admission rules. */
  rules: number;
  /** A consignment's parties after its events (8c); empty for other subjects and under rules 1. */
  parties: Set<string>;
  /** The customs administrations among the members at the head; empty under rules 1. */
  customs: Set<string>;
  /** Log index of each retracted event -> log index of its `retracted` event (8g). */
  retracted: Map<bigint, bigint>;
  /** The bundle's format version (2 or 3). */
  version: number;
  /** The verified block entries (version 3; empty for version 2). */
  blocks: BlockProof[];
}
export type Source = 'consignment' | { container: string };
/** `recorded`: as the event's own bundle proves it, else another bundle of the route, else `null`. */
/** `retractedBy`: the log index of the `retracted` event that retracts this one (8g), else `null`. */
export interface TimelineEntry { index: bigint; event: Event; source: Source; recorded: Recorded | null; retractedBy: bigint | null }
/**
 * A verified route: `version` 1 or 2 (a consignment's, `group` its one subject) or 3 (a group's,
 * PROTOCOL.md 9b "Routes of groups": `group` its subjects in index-key order, `subjects` their
 * provenance, `ucr`/`consignment` the first consignment subject's, undefined in a group of
 * identifiers only). `warnings`: what the spec does not refuse but a reader should know (a
 * consignment with a linked event served as version 1 or 2).
 */
export interface Route {
  version: number;
  ucr: string | undefined;
  group: Subject[];
  subjects: Provenance[];
  consignment: Provenance | undefined;
  containers: Provenance[];
  head: Head;
  certificate: Certificate;
  timeline: TimelineEntry[];
  warnings: string[];
  /** Log index of each retracted event of the route's bundles -> its retraction's (8g). */
  retracted: Map<bigint, bigint>;
}
/** The bundle format version written (3: with `blocks`). */
export const BUNDLE_VERSION: number;
/** The earliest bundle version verified (2: no `blocks`, recorded times unknown). */
export const MIN_BUNDLE_VERSION: number;
export const MAX_BUNDLE_BYTES: number;
export const MAX_BUNDLE_EVENTS: number;
export const ROUTE_VERSION: number;
/** The version of one page of a route naming more than 256 containers. */
export const ROUTE_PAGE_VERSION: number;
export const MAX_ROUTE_CONTAINERS: number;
export const MAX_ROUTE_PAGES: number;
/** The version of a group's route (3). */
export const ROUTE_GROUP_VERSION: number;
/** Most subjects of a group (64). */
export const MAX_GROUP_SUBJECTS: number;
/** A parsed bundle (opaque; pass it to verifyBundle). */
export type ParsedBundle = object;
export type ParsedRoute = object;
export function parseBundle(text: string | Uint8Array): ParsedBundle;
/** Throws BundleError (a block entry refused: `Block`, `BlockCertificate`, or `FutureEvent` for an event more than 600000 ms after its block; `SameSource` with `pos` and `first` for a source key twice, 8e; `Retraction` with `pos`, `reason`, `target?`, `first?` for a retraction breaking 8g). */
export function verifyBundle(genesis: Genesis, bundle: string | Uint8Array | ParsedBundle | unknown): Provenance;

// ---- AEO recognition (PROTOCOL.md 8h "Reading the records", 9e) -----------------------------
/** An authorisation a holder held at the time asked: its issuer, programme, number, types, and the `aeo_status` event in force. */
export interface Authorisation { issuer: string; programme: string; authorisation: string; types: AeoType[]; event: Hex }
/**
 * "Did `holder` hold an AEO status recognised by `recognised_by` at `at`" (the JSON shape of the
 * Rust `Recognition`): `authorisation` the basis of a positive answer, `types` those recognised,
 * `arrangement` the `mra` event it rests on (through an arrangement), `held` every authorisation
 * held at `at`, recognised or not.
 */
export interface Recognition {
  holder: string;
  recognised_by: string;
  at: number | bigint;
  recognised: boolean;
  authorisation?: Authorisation;
  types: AeoType[];
  arrangement?: Hex;
  held: Authorisation[];
}
/** The AEO and arrangement records of complete organisation subject histories, in log order (8h). */
export class Register {
  constructor();
  /** Adds the event at log position `index` (other kinds ignored; the same position counts once). */
  add(index: Int, event: Event | { id: Hex; body: EventBody }): void;
  /** The authorisations `holder` held at `at` (ms), in (issuer, authorisation) order. */
  held(holder: string, at: Int): Authorisation[];
  /** The arrangement between administrations `a` and `b` in force at `at`, if any. */
  arrangement(a: string, b: string, at: Int): { event: Hex; types: AeoType[] } | undefined;
  /** The 8h answer for `holder`, recognised by administration `by`, at `at`. */
  recognised(holder: string, by: string, at: Int): Recognition;
}
/** Largest organisation answer JSON accepted (256 MiB). */
export const MAX_ANSWER_BYTES: number;
/**
 * Verifies an organisation answer's bundles (9e: exactly the organisation subjects of `holder`
 * and, when different, `by`; each verified; at one head) and returns their records' `Register`
 * (answers for any time, as recorded up to `head`), the head and the provenances. Throws
 * RecognitionError.
 */
export function verifyOrganisationBundles(genesis: Genesis, answer: string | Uint8Array | unknown, holder: string, by?: string): { register: Register; head: Head; provenances: Provenance[] };
/** Verifies an organisation answer (9e) and returns the recognition computed from its bundles at `at` (default the head's time); the node's `recognition` is not trusted. Throws RecognitionError. */
export function verifyOrganisationAnswer(genesis: Genesis, answer: string | Uint8Array | unknown, holder: string, by?: string, at?: Int): Recognition;
/** A route bundle's text gives a ParsedRoute, an array of pages' text a list of them. */
export function parseRoute(text: string | Uint8Array): ParsedRoute | ParsedRoute[];
/** The pages of a parsed route (a bundle gives one page); throws JsonError. */
export function readRoutePages(value: unknown): ParsedRoute[];
/** A parsed version-3 route bundle (a group's); throws JsonError. */
export function readGroupRoute(value: unknown, path?: string): ParsedRoute;
/**
 * One route bundle (version 1 or 3) or the list of a route's pages (version 2). `asked`: the
 * subject the route was asked for, refused (`WrongSubject`) unless it is the route's consignment
 * or one of its group. Throws RouteError.
 */
export function verifyRoute(genesis: Genesis, route: string | Uint8Array | ParsedRoute | ParsedRoute[] | unknown, asked?: Subject): Route;
/** A group's route (version 3): RouteError `Subjects`, `NotGroupSubject`, `Order`, `HeadMismatch`, `Subject`, `NotClosed`, `NotConnected`, `WrongSubject`, `Containers`, `Container`. */
export function verifyGroupRoute(genesis: Genesis, route: ParsedRoute | unknown, asked?: Subject): Route;
export function mergeTimeline(consignment: Provenance, containers: Provenance[], ucr: string): TimelineEntry[];
/** The timeline of a group's route (9b version 3) from its subjects' and containers' provenance. */
export function mergeGroupTimeline(subjects: Provenance[], containers: Provenance[]): TimelineEntry[];
export function containersNamed(events: Event[]): string[];
/** Log index of each retracted event -> its retraction's, over a route's verified bundles (8g). */
export function routeRetracted(bundles: Provenance[]): Map<bigint, bigint>;
export function timelineJson(timeline: TimelineEntry[]): { index: number; id: Hex; source: Source }[];
export interface CertifiedHead { head: Head; certificate: Certificate }
export function parseConsistency(value: unknown): { first: bigint; second: bigint; first_root: Hex; second_root: Hex; proof: { first: bigint; second: bigint; path: Hex[] } };
/** Resolves to `served` if it extends `known`; rejects with FollowError `Stale` or `Fork`. */
export function checkExtends(known: CertifiedHead, served: CertifiedHead, consistency: (first: bigint, second: bigint) => unknown | Promise<unknown>): Promise<CertifiedHead>;

// ---- talking to a node ------------------------------------------------------------------------
/** `sameSourceAs`: the id of the event sent, when the node kept `id` (same `source`, PROTOCOL.md 8e). */
export interface Submitted { status: number; id: Hex; state: 'pending' | 'committed'; index?: number; sameSourceAs?: Hex }
export type BatchResult = { id: Hex; state: 'pending' | 'committed'; index?: number; sameSourceAs?: Hex } | { id?: Hex; error: { code: string; message: string } };
export class NodeClient {
  /** `keyPair`: sign every request with a member organisation's key (PROTOCOL.md 12). */
  constructor(url: string, options?: { fetch?: typeof fetch; timeoutMs?: number; keyPair?: KeyPair });
  readonly url: string;
  getText(path: string): Promise<string>;
  getJson(path: string): Promise<JsonValue>;
  submit(event: Event | string | { body: unknown; sig: string }): Promise<Submitted>;
  submitBatch(events: (Event | string | { body: unknown; sig: string })[]): Promise<BatchResult[]>;
  event(id: Hex): Promise<{ id: Hex; status: string; index?: number; event: unknown }>;
  waitCommitted(id: Hex, options?: { timeoutMs?: number; intervalMs?: number }): Promise<{ id: Hex; status: 'committed'; index: number }>;
  /** A page of a large route with `containersFrom` and `height`. */
  routeText(ucr: string, page?: { containersFrom?: number; height?: Int }): Promise<string>;
  /** `GET /v1/identifiers/{id}/route` (a version-3 route bundle). */
  identifierRouteText(id: string): Promise<string>;
}
export class LightClient {
  constructor(node: NodeClient | string, genesis: Genesis);
  readonly known?: CertifiedHead;
  membership(): Promise<History>;
  head(): Promise<CertifiedHead>;
  /** `text`: the route bundle's, or a JSON array of the pages of a large route; `pages`: the parsed pages (one for a whole route). */
  route(ucr: string): Promise<{ route: Route; text: string; pages: ParsedRoute[] }>;
  /** A trade identifier's route: its group's (version 3), which must hold it. */
  identifierRoute(id: string): Promise<{ route: Route; text: string; pages: ParsedRoute[] }>;
  bundle(type: 'consignment' | 'container', id: string): Promise<Provenance>;
}

// HTTP request signatures (PROTOCOL.md section 12).
export const REQUEST_SIGNATURE_TAG: 'tradelog/request/v1';
export const REQUEST_SIGNATURE_COMPONENTS: readonly ['@method', '@authority', '@path', '@query'];
export const MAX_SIGNATURE_VALIDITY_SECS: 300;
export interface SignedRequestTarget { method: string; authority: string; path: string; query?: string | null }
export function requestSignatureBase(request: SignedRequestTarget, params: string): Uint8Array;
export function signRequest(
  keyPair: KeyPair,
  request: { method: string; url: string } | SignedRequestTarget,
  options?: { created?: number; expires?: number; nonce?: string },
): { 'Signature-Input': string; Signature: string };
