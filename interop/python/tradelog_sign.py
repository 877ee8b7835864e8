#!/usr/bin/env python3
"""Signer for the tradelog ledger protocol, version 1: build an event body, commit its detail
fields (salted, §3.5), sign it (§3.3) and send the wire form to a node.

    from tradelog_sign import SigningKey, commit_details, build_body, sign_event

    key = SigningKey.from_key_file(open("devnet/keys/blue-anchor-lines.key").read())
    details, disclosures = commit_details({"hs_code": "850760"})
    body = build_body(chain="tradelog-devnet", kind="booked", time=now_ms(), ucr=ucr,
                      details=details, issuer_org="blue-anchor-lines", key=key)
    event = sign_event(body, key)
    event.wire          # '{"body":{...},"sig":"<128 hex>"}', the canonical wire form (§3.1)

Every body is checked with the verifier's structure rules (tradelog_verify.check_body) before
it is signed, and canonicalized with the verifier's RFC 8785 writer, so what this module signs
is what tradelog_verify (and a node) accepts. Section numbers refer to docs/PROTOCOL.md.
Dependencies: `blake3`, `cryptography` (as the verifier).
"""

from __future__ import annotations

import copy
import json
import os
import re
import time as _time
import urllib.error
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import tradelog_verify as tv

EVENT_PREFIX = tv.EVENT_PREFIX  # b"tradelog/event/v1\x00"


def now_ms() -> int:
    """The current time in milliseconds since 1970 (an event's `time`)."""
    return _time.time_ns() // 1_000_000


class SigningKey:
    """An Ed25519 key from a 32-byte seed (the RFC 8032 private key). `repr` hides the seed."""

    def __init__(self, seed: bytes):
        if not isinstance(seed, (bytes, bytearray)) or len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self._key = Ed25519PrivateKey.from_private_bytes(bytes(seed))
        self.public_key = self._key.public_key().public_bytes_raw()
        self.public_key_hex = self.public_key.hex()

    @classmethod
    def from_seed_hex(cls, seed_hex: str) -> "SigningKey":
        return cls(tv.unhex(seed_hex, 32, "seed"))

    @classmethod
    def from_key_file(cls, text: str) -> "SigningKey":
        """A tradelog key file `{"public", "secret"}` (what `tradelog keygen` and the devnet
        write); the public key must match the secret."""
        kf = tv.load_json(text)
        tv.obj(kf, "key file", ("public", "secret"))
        key = cls.from_seed_hex(kf["secret"])
        if key.public_key_hex != kf["public"]:
            raise ValueError("key file: public does not match secret")
        return key

    @classmethod
    def generate(cls) -> "SigningKey":
        return cls(os.urandom(32))

    def sign(self, message: bytes) -> bytes:
        """Pure Ed25519 (RFC 8032, deterministic): 64 bytes."""
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"SigningKey(public={self.public_key_hex}, secret=<redacted>)"


# ------------------------------------------------------------ §3.5 detail fields

def commit_detail(name: str, value: str, salt: bytes | None = None) -> tuple[str, dict]:
    """The commitment (hex) of one detail field and its disclosure `{"name", "value", "salt"}`.
    The salt is 16 fresh random bytes unless given (give one only to reproduce a vector)."""
    if salt is None:
        salt = os.urandom(16)
    if len(salt) != 16:
        raise ValueError("a detail salt is 16 bytes")
    if not tv.RE_DETAIL.fullmatch(name):
        raise ValueError(f"detail name {name!r}: 1-64 of a-z 0-9 _")
    if len(value.encode("utf-8")) > 4096:
        raise ValueError(f"detail {name}: values are at most 4096 bytes")
    c = tv.detail_commitment(name, value, salt).hex()
    return c, {"name": name, "value": value, "salt": salt.hex()}


def commit_details(fields: dict[str, str], salts: dict[str, bytes] | None = None):
    """`(details, disclosures)`: the body's `details` object and, per field, the disclosure to
    keep (hand it out to reveal that one field). A fresh salt for every field."""
    details, disclosures = {}, {}
    for name, value in fields.items():
        c, d = commit_detail(name, value, (salts or {}).get(name))
        details[name], disclosures[name] = c, d
    return details, disclosures


def verify_disclosure(disclosure: dict, commitment_hex: str) -> bool:
    """True iff `{"name", "value", "salt"}` opens `commitment_hex`."""
    salt = disclosure.get("salt")
    if not (isinstance(salt, str) and re.fullmatch(r"[0-9a-f]{32}", salt)):
        return False
    c = tv.detail_commitment(disclosure["name"], disclosure["value"], bytes.fromhex(salt))
    return c.hex() == commitment_hex


# ------------------------------------------------------------------ §3.2 bodies

def build_body(*, chain: str, kind: str, time: int, issuer_org: str, key,
               ucr: str | None = None, container: str | None = None,
               location: str | None = None, offset: str | None = None,
               transport: dict | None = None,
               refs: list | None = None, documents: list | None = None,
               details: dict | None = None, membership: dict | None = None,
               source: dict | None = None, ids: list | None = None,
               retracts: dict | None = None, aeo: dict | None = None,
               mra: dict | None = None, reason: str | None = None) -> dict:
    """An event body (§3.2): absent optional members are omitted (never null); `key` is a
    SigningKey or the issuer's public key hex. `source` (`{"standard", "id"}`, see
    `source()`) names the feed event an imported event came from (§8e: one organisation records
    it once per consignment and container). `ids` are the trade identifiers the event concerns
    (§2, §8f: `bl:<carrier>:<number>`, `bkg:<carrier>:<number>`, `sscc:<18 digits>`; see
    `transport_document()`, `booking()`, `sscc()`): 1-16, given in any order and sorted here
    into the ascending byte order the signed body needs (a repeat is refused, not dropped).
    A `linked` event (§8f) names at least two subjects among `ucr` and `ids`, and no
    container. `retracts` (see `retracts_event()`, `retracts_source()`) names the issuer's
    earlier event a `retracted` event retracts (§8g); it is required for that kind, refused
    for any other. `offset` (`+HH:MM`/`-HH:MM`, `+00:00` for UTC, at most 14:00) is the
    local time offset where the event happened, as its source gave it (§3.2; informational,
    never in a membership event). `aeo` (kind `aeo_status`, see `aeo_record()`), `mra` (kind
    `mra`, see `mra_in_force()`, `mra_terminated()`) and `reason` (the four `risk_*` kinds) are
    the members of §8h and §8i. Raises tradelog_verify.VerifyError on any structure rule,
    naming the member."""
    body = {"v": 1, "chain": chain}
    if ucr is not None:
        body["ucr"] = ucr
    if container is not None:
        body["container"] = container
    body["kind"] = kind
    body["time"] = time
    if location is not None:
        body["location"] = location
    if offset is not None:
        body["offset"] = offset
    if transport is not None:
        body["transport"] = {k: v for k, v in transport.items() if v is not None}
    body["refs"] = list(refs or [])
    body["documents"] = list(documents or [])
    body["details"] = dict(details or {})
    body["issuer"] = {"org": issuer_org,
                      "key": key.public_key_hex if isinstance(key, SigningKey) else key}
    if membership is not None:
        body["membership"] = membership
    if source is not None:
        body["source"] = dict(source)
    if retracts is not None:
        body["retracts"] = copy.deepcopy(retracts)
    for name, member in (("aeo", aeo), ("mra", mra)):
        if member is not None:
            body[name] = copy.deepcopy(member)
    if reason is not None:
        body["reason"] = reason
    if ids is not None:
        ids = list(ids)
        # str order is code point order, which is UTF-8 byte order (§3.2: ascending bytes)
        body["ids"] = sorted(ids) if all(isinstance(t, str) for t in ids) else ids
    tv.check_body(body)
    return body


def transport_document(carrier: str, number: str) -> str:
    """`bl:<carrier>:<number>`: a bill of lading or sea waybill of `carrier` (its ledger
    organisation id), number 1-35 of A-Z 0-9 - . / (§2)."""
    return _trade_id(f"bl:{carrier}:{number}")


def booking(carrier: str, number: str) -> str:
    """`bkg:<carrier>:<number>`: a carrier booking reference (§2)."""
    return _trade_id(f"bkg:{carrier}:{number}")


def sscc(digits: str) -> str:
    """`sscc:<18 digits>` (GS1 SSCC, §2): 17 digits get their GS1 check digit appended; 18
    digits must end with it."""
    if isinstance(digits, str) and len(digits) == 17 and tv.RE_SSCC.fullmatch(digits + "0"):
        digits += str(tv.gs1_check_digit(digits))
    return _trade_id(f"sscc:{digits}")


def _trade_id(t: str) -> str:
    tv.check_id(t, "trade identifier", "trade identifier")
    return t


def source(standard: str, id: str) -> dict:
    """A `source` member (§3.2, §8e): `standard` 1-32 of a-z 0-9 _ (`dcsa`: a DCSA Track &
    Trace `eventID`; `epcis`: an EPCIS 2.0 `eventID` or canonical event hash), `id` the
    source's event id, 1-256 characters of printable ASCII."""
    return {"standard": standard, "id": id}


def retracts_event(event_id: str) -> dict:
    """A `retracts` member (§3.2, §8g) naming the retracted event by its id (64 lowercase
    hex)."""
    return {"event": event_id}


def retracts_source(standard: str, id: str) -> dict:
    """A `retracts` member (§3.2, §8g) naming the retracted event by its `source`: the
    issuer's earlier event with that source and the retraction's ucr, container and ids (its
    §8e source key), so an importer retracts a feed event knowing only the feed's event id."""
    return {"source": source(standard, id)}


def aeo_record(*, holder: str, programme: str, authorisation: str, status: str,
               from_ms: int, types: list | None = None, until: int | None = None) -> dict:
    """The `aeo` member of an `aeo_status` event (§8h): `types` (1-2 of
    customs_simplifications, security_safety, ascending) exactly when `status` is granted,
    `until` (exclusive, after `from`) only then."""
    r = {"holder": holder, "programme": programme, "authorisation": authorisation,
         "status": status, "from": from_ms}
    if types is not None:
        r["types"] = list(types)
    if until is not None:
        r["until"] = until
    return r


def countersign(chain: str, issuer: str, partner: str, from_ms: int, types: list,
                partner_key: SigningKey) -> dict:
    """The partner administration's `approval` `{"key", "sig"}` of an arrangement's terms
    (§8h), signed with one of its event keys."""
    msg = tv.terms_message(chain, issuer, partner, from_ms, types)
    return {"key": partner_key.public_key_hex, "sig": partner_key.sign(msg).hex()}


def mra_in_force(partner: str, from_ms: int, types: list, approval: dict) -> dict:
    """The `mra` member of an arrangement in force (§8h), with the partner's `approval`
    (`countersign()`)."""
    return {"partner": partner, "status": "in_force", "from": from_ms, "types": list(types),
            "approval": dict(approval)}


def mra_terminated(partner: str, from_ms: int) -> dict:
    """The `mra` member of one administration's termination (§8h): no countersignature."""
    return {"partner": partner, "status": "terminated", "from": from_ms}


def document(kind: str, alg: str, digest_hex: str) -> dict:
    """A `documents` entry: the anchored file's digest (`sha256` or `blake3`)."""
    return {"kind": kind, "alg": alg, "digest": digest_hex}


# ------------------------------------------------------------- §3.3 signing

class SignedEvent:
    """A signed event: `body`, `sig` (hex), `canonical_body` (JCS text), `message` (the signed
    bytes), `id` (hex), `leaf_data`, and `wire`, the canonical wire form (§3.1)."""

    def __init__(self, body: dict, sig: bytes, canonical: bytes):
        self.body = body
        self.sig = sig.hex()
        self.canonical_body = canonical.decode("utf-8")
        self.message = EVENT_PREFIX + canonical
        self.id = tv.H(self.message).hex()
        self.leaf_data = bytes.fromhex(self.id) + sig

    @property
    def wire(self) -> str:
        return '{"body":' + self.canonical_body + ',"sig":"' + self.sig + '"}'

    def to_json(self) -> dict:
        return {"body": self.body, "sig": self.sig}


def sign_event(body: dict, key: SigningKey) -> SignedEvent:
    """Checks `body` (§3.2), signs `"tradelog/event/v1" || 0x00 || JCS(body)` with `key`, whose
    public key must be `body.issuer.key`."""
    canonical = tv.check_body(body)
    if body["issuer"]["key"] != key.public_key_hex:
        raise ValueError(f"body.issuer.key {body['issuer']['key']} is not the signing key "
                         f"{key.public_key_hex}")
    return SignedEvent(body, key.sign(EVENT_PREFIX + canonical), canonical)


# ---------------------------------------------------------- §8a membership

def add_key(org: str, key_hex: str) -> dict:
    return {"type": "add_key", "org": org, "key": key_hex}


def revoke_key(org: str, key_hex: str) -> dict:
    return {"type": "revoke_key", "org": org, "key": key_hex}


def set_validators(validators: list[dict]) -> dict:
    """`validators` as `{"org", "key", "power"}` in any order (canonicalized sorted by key)."""
    return {"type": "set_validators", "validators": list(validators)}


def approve(chain: str, seq: int, change: dict, validator: SigningKey) -> dict:
    """A validator's approval `{"validator", "sig"}` of `change` at `seq` (§8a)."""
    tv.parse_change(change)
    sig = validator.sign(tv.approval_message(chain, seq, change))
    return {"validator": validator.public_key_hex, "sig": sig.hex()}


def membership_body(seq: int, change: dict, approvals: list[dict]) -> dict:
    """The `membership` member of a membership event's body."""
    return {"seq": seq, "change": change, "approvals": list(approvals)}


# ------------------------------------------------------------------ submitting

class NodeError(Exception):
    """A node refused a request (`status`, its snake_case `code`) or was unreachable (0)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


def _request(url: str, data: bytes | None = None, timeout: float = 10):
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET",
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            # The node's refusals are `{"error": {"code", "message"}}` (docs/RELIABILITY.md).
            err = json.loads(text)["error"]
            raise NodeError(e.code, err["code"], err["message"]) from None
        except (ValueError, KeyError, TypeError):
            raise NodeError(e.code, "error", text.decode("utf-8", "replace")) from None
    except OSError as e:
        raise NodeError(0, "unreachable", str(e)) from None


def submit(node_url: str, event: SignedEvent) -> tuple[int, dict]:
    """POST /v1/events with the event's wire form; `(status, answer)`: 202 accepted (pending),
    200 already known. A refusal raises NodeError."""
    status, text = _request(node_url.rstrip("/") + "/v1/events", event.wire.encode("utf-8"))
    return status, json.loads(text)


def get(node_url: str, path: str) -> tuple[int, bytes]:
    """GET a path of the node's API; a refusal raises NodeError."""
    return _request(node_url.rstrip("/") + path)


def wait_committed(node_url: str, event_id: str, timeout: float = 30) -> int:
    """Polls GET /v1/events/{id} until the event is committed; returns its log index."""
    deadline = _time.monotonic() + timeout
    while True:
        try:
            _, text = get(node_url, f"/v1/events/{event_id}")
            answer = json.loads(text)
            if answer.get("status") == "committed":
                return answer["index"]
        except NodeError as e:
            if e.status != 404:
                raise
        if _time.monotonic() > deadline:
            raise NodeError(0, "timeout", f"event {event_id} not committed within {timeout} s")
        _time.sleep(0.2)
