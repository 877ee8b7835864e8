#!/usr/bin/env python3
"""Independent verifier for the tradelog ledger protocol, version 1 (bundle versions 2 and 3).

Written from docs/PROTOCOL.md alone (no Rust source was read; the §8h, §8i and §9e rules
were added after the Rust reference's messages for them were read, see README.md).  Section
numbers in comments ("§3.2") refer to that document.

    python3 tradelog_verify.py vectors PROTOCOL.md
    python3 tradelog_verify.py bundle GENESIS.json BUNDLE.json
    python3 tradelog_verify.py route GENESIS.json ROUTE.json
    python3 tradelog_verify.py organisation GENESIS.json ANSWER.json ID [RECOGNISED_BY [AT]]

Dependencies: Python 3.11, `blake3`, `cryptography` (pip install blake3 cryptography).
"""

from __future__ import annotations

import bisect
import copy
import datetime
import hashlib
import json
import re
import sys

import blake3
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)


class VerifyError(Exception):
    """Any refusal: malformed input, bad signature, bad proof, ..."""


def fail(msg: str):
    raise VerifyError(msg)


# ---------------------------------------------------------------- §1 primitives

MAX_SAFE = 2**53 - 1
U32 = 2**32 - 1
U64 = 2**64 - 1
ZERO32 = bytes(32)


def H(data: bytes) -> bytes:
    return blake3.blake3(data).digest()


def D(tag: str, data: bytes) -> bytes:
    return H(tag.encode("ascii") + b"\x00" + data)


def u8(n: int) -> bytes:
    return n.to_bytes(1, "big")


def u32(n: int) -> bytes:
    return n.to_bytes(4, "big")


def u64(n: int) -> bytes:
    return n.to_bytes(8, "big")


_HEX = {32: re.compile(r"[0-9a-f]{64}"), 64: re.compile(r"[0-9a-f]{128}")}


def unhex(s, nbytes: int, what: str) -> bytes:
    """Lowercase hex of exactly nbytes bytes; uppercase is refused (preamble)."""
    if not isinstance(s, str) or not _HEX[nbytes].fullmatch(s):
        fail(f"{what}: expected {2 * nbytes} lowercase hex characters")
    return bytes.fromhex(s)


# ------------------------------------------------------------- strict JSON/JCS

def _no_float(s):
    fail(f"non-integer number {s!r} (integers only, §3.2)")


def _no_const(s):
    fail(f"{s} is not JSON")


def _no_dupes(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            fail(f"duplicate member {k!r}")
        obj[k] = v
    return obj


def _int(s):
    if s == "-0":
        fail("-0 is refused (integers have one spelling, §3.2)")
    return int(s)


def load_json(text):
    """json.loads that refuses duplicate names, fractions/exponents, NaN/Infinity, -0 and a
    leading byte-order mark (json.loads refuses U+FEFF before the value)."""
    try:
        return json.loads(text, object_pairs_hook=_no_dupes, parse_int=_int,
                          parse_float=_no_float, parse_constant=_no_const)
    except json.JSONDecodeError as e:
        fail(f"invalid JSON: {e}")


_ESC = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n",
        "\f": "\\f", "\r": "\\r"}


def _jcs_str(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in _ESC:
            out.append(_ESC[ch])
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _jcs(v) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return _jcs_str(v)
    if isinstance(v, list):
        return "[" + ",".join(_jcs(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))  # UTF-16 code units
        return "{" + ",".join(_jcs_str(k) + ":" + _jcs(v[k]) for k in keys) + "}"
    fail(f"JCS: unsupported value {v!r}")


def jcs(v) -> bytes:
    """RFC 8785 for strings, integers, booleans, null, arrays, objects (§3.3)."""
    try:
        return _jcs(v).encode("utf-8")
    except UnicodeEncodeError:
        fail("JCS: string contains a lone surrogate")


# ---------------------------------------------------------------- Ed25519 §1
# Signature validity is ZIP-215 (§1): S < L, A and R decoded without the RFC 8032 canonicity
# checks (y >= p reduced, x = 0 with the sign bit set accepted), small-order points accepted,
# and the cofactored equation [8]([S]B - R - [k]A) = identity.  Key vetting (a canonical
# encoding, not of small order) is separate and done wherever a key is parsed
# (check_public_key).  Pure Python; `cryptography` (OpenSSL, cofactorless RFC 8032) is only a
# fast path: whatever it accepts satisfies the cofactorless equation with S < L, hence the
# cofactored one, so only its refusals are re-checked here.

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, -1, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _recover_x(y: int, sign: int):
    """x for y (already reduced) and the sign bit, or None if y has no point."""
    x2 = (y * y - 1) * pow(_D * y * y + 1, -1, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    if x & 1 != sign:
        x = (_P - x) % _P
    return x


def _decode_point(b: bytes):
    """RFC 8032 5.1.3 with its canonicity checks (key vetting): y < p, and x = 0 with the
    sign bit set refused.  Returns affine (x, y) or None."""
    y = int.from_bytes(b, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    if y >= _P:
        return None
    x = _recover_x(y, sign)
    if x is None or (x == 0 and sign):
        return None
    return (x, y)


def decode_zip215(b: bytes):
    """§1 step 2: RFC 8032 5.1.3 without its canonicity checks (y >= p is reduced mod p, x = 0
    with the sign bit set is x = 0).  Returns affine (x, y) or None."""
    y = int.from_bytes(b, "little")
    sign, y = y >> 255, (y & ((1 << 255) - 1)) % _P
    x = _recover_x(y, sign)
    return None if x is None else (x, y)


# extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, xy = T/Z
_ID = (0, 1, 1, 0)


def _ext(pt):
    return (pt[0], pt[1], 1, pt[0] * pt[1] % _P)


def _eadd(p, q):
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % _P
    b = (y1 + x1) * (y2 + x2) % _P
    c = 2 * _D * t1 * t2 % _P
    d = 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _eneg(p):
    return ((-p[0]) % _P, p[1], p[2], (-p[3]) % _P)


def _emul(k: int, p):
    r = _ID
    while k:
        if k & 1:
            r = _eadd(r, p)
        p = _eadd(p, p)
        k >>= 1
    return r


def _is_identity(p) -> bool:
    return p[0] % _P == 0 and (p[1] - p[2]) % _P == 0


def _affine(p):
    zi = pow(p[2], -1, _P)
    return (p[0] * zi % _P, p[1] * zi % _P)


def encode_point(p) -> bytes:
    """The canonical encoding of an extended point."""
    x, y = _affine(p)
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


_B = _ext((15112221349535400772501151409588531511454012693041857206046113283949847762202,
           46316835694926478169428394003475163141307993866256225615783033603165251855960))


def point_order(p):
    """1, 2, 4 or 8 for a point of small order, else None."""
    for order in (1, 2, 4, 8):
        if _is_identity(p):
            return order
        p = _eadd(p, p)
    return None


def _small_order(pt) -> bool:
    return point_order(_ext(pt)) is not None


def check_public_key(key: bytes, what: str):
    """§1 key vetting: a canonical encoding of a point that is not of small order."""
    pt = _decode_point(key)
    if pt is None:
        fail(f"{what}: not a canonical Ed25519 point encoding")
    if _small_order(pt):
        fail(f"{what}: public key of small order")


def zip215_verify(key: bytes, msg: bytes, sig: bytes) -> bool:
    """§1 steps 1-3, the ZIP-215 rules alone (no key vetting), in pure Python."""
    if len(key) != 32 or len(sig) != 64:
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= _L:
        return False
    a, r = decode_zip215(key), decode_zip215(sig[:32])
    if a is None or r is None:
        return False
    k = int.from_bytes(hashlib.sha512(sig[:32] + key + msg).digest(), "little") % _L
    e = _eadd(_eadd(_emul(s, _B), _eneg(_ext(r))), _eneg(_emul(k, _ext(a))))
    return _is_identity(_emul(8, e))


def verify_sig(key: bytes, msg: bytes, sig: bytes) -> bool:
    """tradelog's signature rule for a key already vetted where it was parsed (§1)."""
    if len(key) != 32 or len(sig) != 64:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(sig, msg)
        return True
    except (InvalidSignature, ValueError):
        return zip215_verify(key, msg, sig)


# --------------------------------------------------------------- §2 identifiers

RE_CHAIN = re.compile(r"[a-z0-9-]{1,64}")
RE_ORG = re.compile(r"[a-z][a-z0-9-]{0,62}[a-z0-9]")
RE_UCR = re.compile(r"[0-9][A-Z]{2}[A-Z0-9](?:[A-Z0-9-]{0,30}[A-Z0-9])?")
RE_CONTAINER = re.compile(r"[A-Z]{3}[UJZ][0-9]{7}")
RE_LOCODE = re.compile(r"[A-Z]{2}[A-Z2-9]{3}")
# ISO 3166-1 alpha-2, officially assigned (249), plus XZ (international waters in UN/LOCODE).
ISO3166_ALPHA2 = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI
BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN
CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK
FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP
NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
VN VU WF WS YE YT ZA ZM ZW
""".split())
LOCODE_COUNTRIES = ISO3166_ALPHA2 | {"XZ"}


def locode_ok(s: str) -> bool:
    return bool(RE_LOCODE.fullmatch(s)) and s[:2] in LOCODE_COUNTRIES


RE_MEANS = re.compile(r"[A-Z0-9./-]{1,35}")
RE_DOC_KIND = re.compile(r"[a-z0-9_]{1,32}")
RE_DETAIL = re.compile(r"[a-z0-9_]{1,64}")


def _iso6346_value(ch: str) -> int:
    if ch.isdigit():
        return int(ch)
    v = 10
    for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        if v % 11 == 0:
            v += 1
        if c == ch:
            return v
        v += 1
    raise ValueError(ch)


def iso6346_ok(s: str) -> bool:
    if not RE_CONTAINER.fullmatch(s):
        return False
    total = sum(_iso6346_value(c) * 2**i for i, c in enumerate(s[:10]))
    return total % 11 % 10 == int(s[10])


RE_TRADE_NUMBER = re.compile(r"[A-Z0-9./-]{1,35}")  # §2: a transport document or booking number
RE_SSCC = re.compile(r"[0-9]{18}")
TRADE_DOCUMENT_SCHEMES = ("bl", "bkg")  # §2: qualified by the carrier's organisation id


def gs1_check_digit(first17: str) -> int:
    """§2 GS1 check digit: weights 3, 1, 3, ... from the rightmost of the first 17 digits."""
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(first17)))
    return (10 - total % 10) % 10


def parse_trade_id(s):
    """§2 trade identifier: `bl:<carrier>:<number>`, `bkg:<carrier>:<number>` or
    `sscc:<18 digits>` (GS1 check digit).  Returns (scheme, carrier or None, number), or None
    if `s` is not one (never normalised: a lowercase number is refused)."""
    if not isinstance(s, str):
        return None
    parts = s.split(":")
    if len(parts) == 3 and parts[0] in TRADE_DOCUMENT_SCHEMES:
        scheme, carrier, number = parts
        if RE_ORG.fullmatch(carrier) and RE_TRADE_NUMBER.fullmatch(number):
            return scheme, carrier, number
        return None
    if len(parts) == 2 and parts[0] == "sscc" and RE_SSCC.fullmatch(parts[1]):
        if gs1_check_digit(parts[1][:17]) == int(parts[1][17]):
            return "sscc", None, parts[1]
    return None


def trade_id_ok(s) -> bool:
    return parse_trade_id(s) is not None


def check_id(value, kind: str, what: str):
    ok = isinstance(value, str) and {
        "chain": RE_CHAIN.fullmatch,
        "org": RE_ORG.fullmatch,
        "ucr": RE_UCR.fullmatch,
        "locode": locode_ok,
        "container": iso6346_ok,
        "trade identifier": trade_id_ok,
    }[kind](value)
    if not ok:
        fail(f"{what}: invalid {kind} {value!r}")


# ------------------------------------------------------------- JSON type helpers

def obj(v, what, required, optional=()):
    if not isinstance(v, dict):
        fail(f"{what}: expected an object")
    missing = [k for k in required if k not in v]
    unknown = [k for k in v if k not in required and k not in optional]
    if missing:
        fail(f"{what}: missing member(s) {missing}")
    if unknown:
        fail(f"{what}: unknown member(s) {unknown}")
    return v


def integer(v, what, lo, hi):
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        fail(f"{what}: expected an integer in {lo}..{hi}")
    return v


def array(v, what, max_len):
    if not isinstance(v, list):
        fail(f"{what}: expected an array")
    if len(v) > max_len:
        fail(f"{what}: more than {max_len} items")
    return v


# ------------------------------------------------------------------ §3 events

# kind -> (location required, roles allowed to issue it)   (§3.4)
KINDS = {
    "booked": (False, {"carrier", "platform"}),
    "declared": (False, {"carrier", "platform"}),
    "loaded": (True, {"carrier"}),
    "departed": (True, {"carrier"}),
    "arrived": (True, {"carrier"}),
    "discharged": (True, {"carrier"}),
    "gate_in": (True, {"carrier"}),
    "gate_out": (True, {"carrier"}),
    "transshipped": (True, {"carrier"}),
    "packed": (True, {"carrier", "platform"}),
    "unpacked": (True, {"carrier", "platform"}),
    "inspected": (True, {"customs"}),
    "held": (False, {"customs"}),
    "released": (False, {"customs"}),
    "seized": (False, {"customs"}),
    "delivered": (True, {"carrier", "platform"}),
    "document_anchored": (False, {"customs", "carrier", "platform"}),
    "linked": (False, {"customs", "carrier", "platform"}),  # §3.4, §8f
    "retracted": (False, {"customs", "carrier", "platform"}),  # §3.4, §8g
    "aeo_status": (False, {"customs"}),  # §3.4, §8h
    "mra": (False, {"customs"}),  # §3.4, §8h
    "advance_data": (False, {"carrier", "platform"}),  # §3.4, §8i
    "risk_cleared": (False, {"customs"}),  # §3.4, §8i
    "risk_information_requested": (False, {"customs"}),
    "risk_referred": (False, {"customs"}),
    "risk_do_not_load": (False, {"customs"}),
    "membership": (False, {"customs", "carrier", "platform", "auditor"}),  # §3.4, §8a
}
# §3.2, §8h: kinds about an organisation, not goods (no ucr, container, ids, place, transport)
ORGANISATION_RECORD_KINDS = ("aeo_status", "mra")
# §8i: the four pre-arrival risk assessment outcomes, each with a `reason`
RISK_OUTCOME_KINDS = ("risk_cleared", "risk_information_requested", "risk_referred",
                      "risk_do_not_load")
# §8i: the detail fields every advance_data event commits to, in the order of the table
ADVANCE_FIELDS = ("hs_code", "declared_value", "currency", "consignor_country",
                  "consignee_country", "item_count", "gross_weight_kg")
ROLES = {"customs", "carrier", "platform", "auditor"}
MODES = {"sea", "air", "road", "rail", "inland_waterway"}
EVENT_PREFIX = b"tradelog/event/v1\x00"
MAX_EVENT_JSON = 262144      # §3.1, §10: a signed event's JSON text
MAX_PARTIES = 16            # §3.2: organisations one event names in `parties`
MAX_IDS = 16                # §3.2, §10: trade identifiers one event names in `ids`
MAX_SOURCE_ID = 256          # §3.2: characters of `source.id`
RE_SOURCE_STANDARD = re.compile(r"[a-z0-9_]{1,32}")
RE_SOURCE_ID = re.compile(r"[!-~]{1,%d}" % MAX_SOURCE_ID)  # printable ASCII, no space
MAX_BODY = 16384             # canonical body of an event other than a membership event
MAX_MEMBERSHIP_BODY = 131072  # canonical body of a membership event
MAX_EVENT_AHEAD = 600000     # §6: an event's time at most 10 minutes after its block's
MAX_BUNDLE_EVENTS = 100000   # §9: events of one bundle


def check_source(src, what):
    """§3.2 `source` (and the `source` form of `retracts`): {"standard", "id"}."""
    src = obj(src, what, ("standard", "id"))
    if not (isinstance(src["standard"], str) and RE_SOURCE_STANDARD.fullmatch(src["standard"])):
        fail(f"{what}.standard: {src['standard']!r} must be 1-32 characters of "
             f"a-z, 0-9, '_'")
    if not (isinstance(src["id"], str) and RE_SOURCE_ID.fullmatch(src["id"])):
        fail(f"{what}.id: must be 1-{MAX_SOURCE_ID} characters of printable ASCII "
             f"('!' to '~')")
    return src


def check_retracts(r):
    """§3.2 `retracts` (§8g): exactly one member, `{"event": <event id>}` or
    `{"source": {"standard", "id"}}`."""
    if not isinstance(r, dict):
        fail("body.retracts: expected an object")
    if len(r) != 1 or not (set(r) <= {"event", "source"}):
        fail("body.retracts: exactly one member, event or source, expected; got "
             f"{sorted(r)}")
    if "event" in r:
        unhex(r["event"], 32, "body.retracts.event")
    else:
        check_source(r["source"], "body.retracts.source")


RE_OFFSET = re.compile(r"[+-][0-9]{2}:[0-5][0-9]")


def offset_minutes(o):
    """Minutes east of UTC of a `+HH:MM`/`-HH:MM` offset (§3.2), or None if it breaks the
    rule: exactly that shape, MM 00-59, at most 14:00 either way, `-00:00` refused."""
    if not (isinstance(o, str) and RE_OFFSET.fullmatch(o)):
        return None
    m = int(o[1:3]) * 60 + int(o[4:6])
    if m > 14 * 60 or (o[0] == "-" and m == 0):
        return None
    return -m if o[0] == "-" else m


def check_offset(o):
    if offset_minutes(o) is None:
        fail(f"body.offset: {json.dumps(o)} must be +HH:MM or -HH:MM within 14:00, "
             "+00:00 for UTC")


AEO_TYPES = ("customs_simplifications", "security_safety")  # §8h, in this (ascending) order
AEO_STATUSES = ("granted", "suspended", "revoked")
MRA_STATUSES = ("in_force", "terminated")
RE_CODE = re.compile(r"[a-z0-9_]{1,32}")  # §8h programme, §8i reason
RE_AUTHORISATION = re.compile(r"[A-Z0-9./-]{1,35}")  # §8h authorisation number
MRA_PREFIX = b"tradelog/mra/v1\x00"


def check_aeo_types(types, what):
    """§8h `types`: 1-2 of customs_simplifications, security_safety, ascending, each once."""
    if not isinstance(types, list):
        fail(f"{what}: expected an array")
    for i, t in enumerate(types):
        if not (isinstance(t, str) and t in AEO_TYPES):
            fail(f"{what}[{i}]: unknown type {json.dumps(t)} (customs_simplifications or "
                 f"security_safety)")
    if not 1 <= len(types) <= 2 or any(AEO_TYPES.index(a) >= AEO_TYPES.index(b)
                                       for a, b in zip(types, types[1:])):
        fail(f"{what}: 1 or 2 types, ascending, each once")


def check_aeo(a, w="body.aeo"):
    """§8h the `aeo` member of an `aeo_status` event: {"holder", "programme",
    "authorisation", "status", "types"?, "from", "until"?}, `types` exactly when granted,
    `until` only when granted and after `from`."""
    obj(a, w, ("holder", "programme", "authorisation", "status", "from"), ("types", "until"))
    check_id(a["holder"], "org", f"{w}.holder")
    if not (isinstance(a["programme"], str) and RE_CODE.fullmatch(a["programme"])):
        fail(f"{w}.programme: {json.dumps(a['programme'])} must be 1-32 characters of "
             f"a-z, 0-9, '_'")
    if not (isinstance(a["authorisation"], str)
            and RE_AUTHORISATION.fullmatch(a["authorisation"])):
        fail(f"{w}.authorisation: {json.dumps(a['authorisation'])} must be 1-35 characters of "
             f"A-Z, 0-9, '-', '.', '/'")
    status = a["status"]
    if not (isinstance(status, str) and status in AEO_STATUSES):
        fail(f"{w}.status: {json.dumps(status)} is not granted, suspended or revoked")
    frm = integer(a["from"], f"{w}.from", 0, MAX_SAFE)
    if status == "granted":
        if "types" not in a:
            fail(f"{w}.types: required when granted")
        check_aeo_types(a["types"], f"{w}.types")
        if "until" in a:
            until = integer(a["until"], f"{w}.until", 0, MAX_SAFE)
            if until <= frm:
                fail(f"{w}.until: {until} is not after from ({frm})")
    else:
        if "types" in a:
            fail(f"{w}.types: only when granted (this record is {status})")
        if "until" in a:
            fail(f"{w}.until: only when granted (this record is {status})")


def check_mra(m, w="body.mra"):
    """§8h the `mra` member of an `mra` event: {"partner", "status", "from", "types"?,
    "approval"?}, `types` and the partner's countersignature `approval` {"key", "sig"}
    exactly when in force (whose key and signature admission checks, Membership.admit)."""
    obj(m, w, ("partner", "status", "from"), ("types", "approval"))
    check_id(m["partner"], "org", f"{w}.partner")
    status = m["status"]
    if not (isinstance(status, str) and status in MRA_STATUSES):
        fail(f"{w}.status: {json.dumps(status)} is not in_force or terminated")
    integer(m["from"], f"{w}.from", 0, MAX_SAFE)
    if status == "in_force":
        if "types" not in m:
            fail(f"{w}.types: required when in force")
        if "approval" not in m:
            fail(f"{w}.approval: an arrangement in force needs the partner administration's "
                 f"countersignature")
        check_aeo_types(m["types"], f"{w}.types")
        ap = obj(m["approval"], f"{w}.approval", ("key", "sig"))
        check_public_key(unhex(ap["key"], 32, f"{w}.approval.key"), f"{w}.approval.key")
        unhex(ap["sig"], 64, f"{w}.approval.sig")
    else:
        if "types" in m:
            fail(f"{w}.types: only when in force (this record is terminated)")
        if "approval" in m:
            fail(f"{w}.approval: a termination is one administration's notice: no "
                 f"countersignature")


def terms_message(chain: str, issuer: str, partner: str, frm: int, types) -> bytes:
    """§8h: what both administrations sign, `"tradelog/mra/v1" || 0x00 || JCS({"chain",
    "from", "issuer", "partner", "types"})` (the issuer by signing the event, the partner in
    `approval`)."""
    return MRA_PREFIX + jcs({"chain": chain, "from": frm, "issuer": issuer,
                             "partner": partner, "types": list(types)})


def check_organisation_record(body):
    """§3.2, §8h: an `aeo_status` or `mra` event names no goods (no ucr, container, ids,
    location, offset, transport, parties or source) and carries its member."""
    kind = body["kind"]
    for m in ("ucr", "container", "ids"):
        if m in body:
            fail(f"body.{m}: a {kind} event names no consignment, container or trade "
                 f"identifier")
    for m in ("location", "offset", "transport"):
        if m in body:
            fail(f"body.{m}: a {kind} event has no location, offset or transport")
    for m in ("parties", "source"):
        if m in body:
            fail(f"body.{m}: a {kind} event has no parties or source")
    if kind == "aeo_status":
        if "aeo" not in body:
            fail("body.aeo: required for kind aeo_status")
        check_aeo(body["aeo"])
    else:
        if "mra" not in body:
            fail("body.mra: required for kind mra")
        check_mra(body["mra"])


def check_body(body):
    """§3.2 structure rules.  Returns the canonical body bytes."""
    obj(body, "body", ("v", "chain", "kind", "time", "refs", "documents",
                       "details", "issuer"),
        ("ucr", "container", "location", "offset", "transport", "membership", "parties",
         "source", "ids", "retracts", "aeo", "mra", "reason"))
    integer(body["v"], "body.v", 1, 1)
    if body["kind"] in ORGANISATION_RECORD_KINDS:  # §3.2, §8h: before the goods members
        check_organisation_record(body)
    if "parties" in body:  # §3.2, §8c
        if "ucr" not in body:
            fail("body.parties: only allowed with a ucr")
        parties = array(body["parties"], "body.parties", MAX_PARTIES)
        if not parties:
            fail("body.parties: 1 to 16 organisations")
        for i, p in enumerate(parties):
            check_id(p, "org", f"body.parties[{i}]")
        if any(a >= b for a, b in zip(parties, parties[1:])):
            fail("body.parties: organisations must be in ascending order, each once")
    if "source" in body:  # §3.2, §8e
        if body.get("kind") == "membership":
            fail("body.source: not allowed in a membership event")
        check_source(body["source"], "body.source")
    if "retracts" in body:  # §3.2, §8g
        check_retracts(body["retracts"])
    check_id(body["chain"], "chain", "body.chain")
    if "ucr" in body:
        check_id(body["ucr"], "ucr", "body.ucr")
    if "container" in body:
        check_id(body["container"], "container", "body.container")
    if "ids" in body:  # §3.2, §8f
        ids = array(body["ids"], "body.ids", MAX_IDS)
        if not ids:
            fail(f"body.ids: 1 to {MAX_IDS} trade identifiers")
        for i, t in enumerate(ids):
            check_id(t, "trade identifier", f"body.ids[{i}]")
        if any(a.encode() >= b.encode() for a, b in zip(ids, ids[1:])):
            fail("body.ids: trade identifiers must be in ascending byte order, each once")
    kind = body["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        fail(f"body.kind: unknown kind {kind!r}")
    if kind == "membership":
        for m in ("ucr", "container", "ids", "location", "transport"):
            if m in body:
                fail(f"body.{m}: not allowed in a membership event")
        if "membership" not in body:
            fail("body.membership: required for kind membership")
        parse_membership_body(body["membership"])
    else:
        if "membership" in body:
            fail(f"body.membership: only allowed for kind membership, not {kind}")
        if kind not in ORGANISATION_RECORD_KINDS and \
                "ucr" not in body and "container" not in body and "ids" not in body:
            fail("body: none of ucr, container, ids")
    integer(body["time"], "body.time", 1, MAX_SAFE)
    if "location" in body:
        check_id(body["location"], "locode", "body.location")
    elif KINDS[kind][0]:
        fail(f"body.location: required for kind {kind}")
    if "offset" in body:  # §3.2: informational, shape only
        if kind == "membership":
            fail("body.offset: a membership event has no offset")
        check_offset(body["offset"])
    if "transport" in body:
        t = obj(body["transport"], "body.transport", ("mode", "means"), ("voyage",))
        if not (isinstance(t["mode"], str) and t["mode"] in MODES):
            fail(f"body.transport.mode: invalid {t['mode']!r}")
        for m in ("means", "voyage"):
            if m in t and not (isinstance(t[m], str) and RE_MEANS.fullmatch(t[m])):
                fail(f"body.transport.{m}: invalid {t[m]!r}")
    refs = array(body["refs"], "body.refs", 16)
    for i, r in enumerate(refs):
        unhex(r, 32, f"body.refs[{i}]")
    if len(set(refs)) != len(refs):
        fail("body.refs: repeated id")
    docs = array(body["documents"], "body.documents", 16)
    for i, d in enumerate(docs):
        obj(d, f"body.documents[{i}]", ("kind", "alg", "digest"))
        if not (isinstance(d["kind"], str) and RE_DOC_KIND.fullmatch(d["kind"])):
            fail(f"body.documents[{i}].kind: invalid {d['kind']!r}")
        if d["alg"] not in ("sha256", "blake3"):
            fail(f"body.documents[{i}].alg: invalid {d['alg']!r}")
        unhex(d["digest"], 32, f"body.documents[{i}].digest")
    details = body["details"]
    if not isinstance(details, dict):
        fail("body.details: expected an object")
    if len(details) > 32:
        fail("body.details: more than 32 members")
    for name, c in details.items():
        if not RE_DETAIL.fullmatch(name):
            fail(f"body.details: invalid name {name!r}")
        unhex(c, 32, f"body.details.{name}")
    iss = obj(body["issuer"], "body.issuer", ("org", "key"))
    check_id(iss["org"], "org", "body.issuer.org")
    check_public_key(unhex(iss["key"], 32, "body.issuer.key"), "body.issuer.key")
    if kind in ("packed", "unpacked") and not (("ucr" in body or "ids" in body) and "container" in body):
        fail(f"body: {kind} needs a container and a ucr or ids")
    if kind == "retracted" and "retracts" not in body:  # §3.2, §8g
        fail("body.retracts: required for kind retracted")
    if "retracts" in body and kind != "retracted":
        fail(f"body.retracts: only allowed for kind retracted, not {kind}")
    if kind == "document_anchored" and not docs:
        fail("body: document_anchored needs at least one document")
    if kind == "linked":  # §3.2, §8f
        if "container" in body:
            fail("body.container: a linked event names no container")
        if len(linked_subjects(body)) < 2:
            fail("body: linked needs at least two subjects among ucr and ids")
    if "aeo" in body and kind != "aeo_status":  # §3.2, §8h
        fail(f"body.aeo: only allowed for kind aeo_status, not {kind}")
    if "mra" in body and kind != "mra":
        fail(f"body.mra: only allowed for kind mra, not {kind}")
    outcome = kind in RISK_OUTCOME_KINDS  # §3.2, §8i
    if outcome and "reason" not in body:
        fail(f"body.reason: required for kind {kind}")
    if "reason" in body:
        if not outcome:
            fail(f"body.reason: only allowed for the risk outcome kinds, not {kind}")
        if not (isinstance(body["reason"], str) and RE_CODE.fullmatch(body["reason"])):
            fail(f"body.reason: {json.dumps(body['reason'])} must be 1-32 characters of "
                 f"a-z, 0-9, '_'")
    if (outcome or kind == "advance_data") and "ucr" not in body:
        fail(f"body.ucr: required for kind {kind}")
    if outcome and not refs:
        fail("body.refs: a risk outcome refers to the advance_data event it assesses")
    if kind == "advance_data":
        missing = next((f for f in ADVANCE_FIELDS if f not in details), None)
        if missing is not None:
            fail(f"body.details: advance_data commits to {', '.join(ADVANCE_FIELDS)}: "
                 f"{json.dumps(missing)} is missing")
    canon = jcs(canonical_form(body))
    limit = MAX_MEMBERSHIP_BODY if kind == "membership" else MAX_BODY
    if len(canon) > limit:
        fail(f"body: the canonical body is {len(canon)} bytes, the limit is {limit}")
    return canon


def linked_subjects(body):
    """§8f: the subjects a `linked` event names: its ucr as a consignment subject, then each
    of its ids as an identifier subject, as (type, id)."""
    out = [("consignment", body["ucr"])] if "ucr" in body else []
    return out + [("identifier", t) for t in body.get("ids", [])]


class Event:
    """A structurally valid signed event (§3.1-3.3); signature not yet checked."""

    def __init__(self, wire):
        obj(wire, "event", ("body", "sig"))
        if len(jcs(wire)) > MAX_EVENT_JSON:
            fail(f"event: JSON larger than {MAX_EVENT_JSON} bytes")
        self.body = wire["body"]
        self.canonical = check_body(self.body)
        self.sig = unhex(wire["sig"], 64, "event.sig")
        self.message = EVENT_PREFIX + self.canonical
        self.id = H(self.message)
        self.key = bytes.fromhex(self.body["issuer"]["key"])
        self.leaf_data = self.id + self.sig

    def signature_ok(self) -> bool:
        return verify_sig(self.key, self.message, self.sig)


def detail_commitment(name: str, value: str, salt: bytes) -> bytes:
    n, v = name.encode(), value.encode()
    return D("tradelog/detail/v1", salt + u32(len(n)) + n + u32(len(v)) + v)


# ------------------------------------------------------------------- §4 the log

MAX_PROOF = 128


def leaf_hash(d: bytes) -> bytes:
    return H(b"\x00" + d)


def node_hash(l: bytes, r: bytes) -> bytes:
    return H(b"\x01" + l + r)


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return H(b"")
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = _split(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def inclusion_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 2.1.3.1 PATH(m, D[n])."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return inclusion_path(m, leaves[:k]) + [mth(leaves[k:])]
    return inclusion_path(m - k, leaves[k:]) + [mth(leaves[:k])]


def consistency_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 2.1.4.1 PROOF(m, D[n])."""
    def sub(m, d, b):
        if m == len(d):
            return [] if b else [mth(d)]
        k = _split(len(d))
        if m <= k:
            return sub(m, d[:k], b) + [mth(d[k:])]
        return sub(m - k, d[k:], False) + [mth(d[:k])]
    return sub(m, leaves, True) if 0 < m <= len(leaves) else []


def verify_inclusion(index, size, path, leaf_data, root) -> bool:
    if len(path) > MAX_PROOF or index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash(leaf_data)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, path, root1, root2) -> bool:
    if len(path) > MAX_PROOF or first > second:
        return False
    if first == second:
        return not path and root1 == root2
    if first == 0:
        return not path and root1 == H(b"")
    if first & (first - 1) == 0:
        path = [root1] + path
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root1 and sr == root2 and sn == 0


# ------------------------------------------------------- §5 the subject index

def index_key(subject_type: str, ident: str) -> bytes:
    tag = {"consignment": b"\x01", "container": b"\x02", "membership": b"\x03",
           "identifier": b"\x04", "organisation": b"\x05"}[subject_type]
    if subject_type == "membership":
        return D("tradelog/index-key/v1", tag)  # the one membership subject: no id
    return D("tradelog/index-key/v1", tag + ident.encode("ascii"))


def index_acc(ids: list[bytes]) -> bytes:
    acc = ZERO32
    for i in ids:
        acc = D("tradelog/index-acc/v1", acc + i)
    return acc


def value_hash(count: int, acc: bytes) -> bytes:
    return D("tradelog/index-value/v1", u64(count) + acc)


def _bit(key: bytes, d: int) -> int:
    return (key[d // 8] >> (7 - d % 8)) & 1


def _index_leaf(key, vh):
    return H(b"\x02" + key + vh)


def _index_node(l, r):
    return H(b"\x03" + l + r)


def smt_root(entries: dict[bytes, bytes], depth: int = 0) -> bytes:
    """Sparse Merkle tree root of {key: value_hash} (for recomputing vectors)."""
    if not entries:
        return ZERO32
    if len(entries) == 1:
        (k, v), = entries.items()
        return _index_leaf(k, v)
    left = {k: v for k, v in entries.items() if not _bit(k, depth)}
    right = {k: v for k, v in entries.items() if _bit(k, depth)}
    return _index_node(smt_root(left, depth + 1), smt_root(right, depth + 1))


def smt_proof(entries: dict[bytes, bytes], key: bytes):
    siblings, depth = [], 0
    while len(entries) > 1:
        b = _bit(key, depth)
        same = {k: v for k, v in entries.items() if _bit(k, depth) == b}
        other = {k: v for k, v in entries.items() if _bit(k, depth) != b}
        siblings.append(smt_root(other, depth + 1))
        entries, depth = same, depth + 1
    leaf = next(iter(entries.items()), None)
    return siblings, leaf


def verify_index_proof(key: bytes, root: bytes, siblings, leaf):
    """§5.  Returns the key's value_hash, or None if the key is proved absent.
    `leaf` is (key, value_hash) or None.  Raises VerifyError on a bad proof."""
    d = len(siblings)
    if d > 256:
        fail("index proof: more than 256 siblings")
    if leaf is None:
        cur = ZERO32
    else:
        lkey, lvh = leaf
        if any(_bit(lkey, j) != _bit(key, j) for j in range(d)):
            fail("index proof: leaf key is not on the subject key's path")
        cur = _index_leaf(lkey, lvh)
    for j in range(d, 0, -1):
        h = siblings[j - 1]
        cur = _index_node(h, cur) if _bit(key, j - 1) else _index_node(cur, h)
    if cur != root:
        fail("index proof: does not lead to head.index_root")
    return leaf[1] if leaf is not None and leaf[0] == key else None


def check_index_entry(entry, proof, key, root, what):
    """§5: parses `{"count", "acc"}` and an index proof, and checks that the proof shows
    exactly that entry for `key` under `root` (absence: count 0, acc 0^32).
    Returns (count, acc)."""
    entry = obj(entry, f"{what}index_entry", ("count", "acc"))
    count = integer(entry["count"], f"{what}index_entry.count", 0, U64)
    acc = unhex(entry["acc"], 32, f"{what}index_entry.acc")
    ip = obj(proof, f"{what}index_proof", ("siblings",), ("leaf",))
    sibs = array(ip["siblings"], f"{what}index_proof.siblings", 256)
    sibs = [unhex(x, 32, f"{what}index_proof.siblings[{j}]") for j, x in enumerate(sibs)]
    leaf = None
    if "leaf" in ip:
        lf = obj(ip["leaf"], f"{what}index_proof.leaf", ("key", "value_hash"))
        leaf = (unhex(lf["key"], 32, f"{what}index_proof.leaf.key"),
                unhex(lf["value_hash"], 32, f"{what}index_proof.leaf.value_hash"))
    try:
        proved = verify_index_proof(key, root, sibs, leaf)
    except VerifyError as e:
        raise VerifyError(f"{what}{e}") from None
    if proved is None:
        if count != 0 or acc != ZERO32:
            fail(f"{what}index proves the subject absent but index_entry is not (0, 0^32)")
    elif proved != value_hash(count, acc):
        fail(f"{what}index proof value_hash differs from value_hash(index_entry)")
    return count, acc


# ---------------------------------------------------------------- §6 heads

HEAD_MEMBERS = ("chain", "height", "time", "prev", "log_size", "log_root",
                "index_root", "validators")


def parse_head(h):
    obj(h, "head", HEAD_MEMBERS)
    check_id(h["chain"], "chain", "head.chain")
    return {
        "chain": h["chain"],
        "height": integer(h["height"], "head.height", 1, U64),
        "time": integer(h["time"], "head.time", 0, U64),
        "prev": unhex(h["prev"], 32, "head.prev"),
        "log_size": integer(h["log_size"], "head.log_size", 0, U64),
        "log_root": unhex(h["log_root"], 32, "head.log_root"),
        "index_root": unhex(h["index_root"], 32, "head.index_root"),
        "validators": unhex(h["validators"], 32, "head.validators"),
    }


def head_bytes(h) -> bytes:
    c = h["chain"].encode("ascii")
    return (b"tradelog/head/v1\x00" + u8(len(c)) + c + u64(h["height"]) + u64(h["time"])
            + h["prev"] + u64(h["log_size"]) + h["log_root"] + h["index_root"]
            + h["validators"])


# -------------------------------------------------- §7 validators, certificates

def validators_hash(vals) -> bytes:
    """vals: list of (key bytes, power), any order (sorted here by key bytes)."""
    vals = sorted(vals)
    return D("tradelog/validators/v1",
             u32(len(vals)) + b"".join(k + u64(p) for k, p in vals))


def precommit(chain: str, height: int, rnd: int, head_hash: bytes) -> bytes:
    c = chain.encode("ascii")
    return (b"tradelog/precommit/v1\x00" + u8(len(c)) + c + u64(height) + u32(rnd)
            + head_hash)


def verify_certificate(cert, head, vals):
    """§7.  vals: {key bytes: power}, the trusted set.  Returns (signers, signed power, total)."""
    obj(cert, "certificate", ("height", "round", "head", "signatures"))
    if head["validators"] != validators_hash(vals.items()):
        fail("certificate: head.validators is not the hash of the validator set in force")
    hh = H(head_bytes(head))
    if integer(cert["height"], "certificate.height", 0, U64) != head["height"]:
        fail("certificate: height differs from head.height")
    if unhex(cert["head"], 32, "certificate.head") != hh:
        fail("certificate: certificate.head is not the hash of the head it certifies")
    rnd = integer(cert["round"], "certificate.round", 0, U32)
    sigs = array(cert["signatures"], "certificate.signatures", len(vals))
    msg = precommit(head["chain"], head["height"], rnd, hh)
    seen, signed = set(), 0
    for i, s in enumerate(sigs):
        obj(s, f"certificate.signatures[{i}]", ("validator", "sig"))
        k = unhex(s["validator"], 32, f"certificate.signatures[{i}].validator")
        if k not in vals:
            fail(f"certificate.signatures[{i}]: signer is not a validator")
        if k in seen:
            fail(f"certificate.signatures[{i}]: validator signs twice")
        seen.add(k)
        if not verify_sig(k, msg, unhex(s["sig"], 64, f"certificate.signatures[{i}].sig")):
            fail(f"certificate.signatures[{i}]: bad precommit signature")
        signed += vals[k]
    total = sum(vals.values())
    if not 3 * signed > 2 * total:
        fail(f"certificate: no quorum (signed power {signed} of {total})")
    return len(seen), signed, total


# -------------------------------------------------------------------- §8 genesis

def parse_organisation(o, w):
    """§8: one organisation {"id", "name", "role", "keys"} (genesis or add_organisation).
    Returns (id, role, [key bytes])."""
    obj(o, w, ("id", "name", "role", "keys"))
    check_id(o["id"], "org", f"{w}.id")
    if not isinstance(o["name"], str) or not 1 <= len(o["name"]) <= 128:
        fail(f"{w}.name: expected 1-128 characters")
    for c in o["name"]:
        if (ord(c) <= 0x1F or 0x7F <= ord(c) <= 0x9F or 0x202A <= ord(c) <= 0x202E
                or 0x2066 <= ord(c) <= 0x2069):
            fail(f"{w}.name: control character U+{ord(c):04X} is not allowed")
    if not (isinstance(o["role"], str) and o["role"] in ROLES):
        fail(f"{w}.role: unknown role {o['role']!r}")
    keys = array(o["keys"], f"{w}.keys", 16)
    if not keys:
        fail(f"{w}.keys: empty")
    kb = [unhex(k, 32, f"{w}.keys[{j}]") for j, k in enumerate(keys)]
    for j, k in enumerate(kb):
        check_public_key(k, f"{w}.keys[{j}]")
    if len(set(kb)) != len(kb):
        fail(f"{w}.keys: key listed twice")
    return o["id"], o["role"], kb


def parse_validators(vals, w):
    """§7: a validator set [{"org", "key", "power"}] (any order).  Returns
    ({key bytes: power}, {key bytes: org}); membership of the orgs is checked by the caller."""
    vals = array(vals, w, 256)
    if not vals:
        fail(f"{w}: empty")
    powers, orgs = {}, {}
    for i, v in enumerate(vals):
        obj(v, f"{w}[{i}]", ("org", "key", "power"))
        check_id(v["org"], "org", f"{w}[{i}].org")
        k = unhex(v["key"], 32, f"{w}[{i}].key")
        check_public_key(k, f"{w}[{i}].key")
        if k in powers:
            fail(f"{w}[{i}].key: duplicate validator key")
        powers[k] = integer(v["power"], f"{w}[{i}].power", 1, MAX_SAFE)
        orgs[k] = v["org"]
    if sum(powers.values()) > MAX_SAFE:
        fail(f"{w}: total power above 2^53-1")
    return powers, orgs


class Genesis:
    def __init__(self, g):
        obj(g, "genesis", ("chain", "time", "organisations", "validators"), ("rules",))
        # §7: the admission rules; absent means rules 1 (no consignment parties)
        self.rules = integer(g["rules"], "genesis.rules", 1, 2) if "rules" in g else 1
        check_id(g["chain"], "chain", "genesis.chain")
        self.chain = g["chain"]
        self.time = integer(g["time"], "genesis.time", 0, MAX_SAFE)
        orgs = array(g["organisations"], "genesis.organisations", 4096)
        if not orgs:
            fail("genesis.organisations: empty")
        self.orgs = {}  # id -> (role, set of key bytes)
        every_key = set()
        for i, o in enumerate(orgs):
            w = f"genesis.organisations[{i}]"
            oid, role, kb = parse_organisation(o, w)
            if oid in self.orgs:
                fail(f"{w}.id: duplicate organisation {oid}")
            if every_key & set(kb):
                fail(f"{w}.keys: key already listed by another organisation")
            every_key |= set(kb)
            self.orgs[oid] = (role, set(kb))
        self.validators, vorgs = parse_validators(g["validators"], "genesis.validators")
        for i, v in enumerate(g["validators"]):
            if v["org"] not in self.orgs:
                fail(f"genesis.validators[{i}].org: not a member")
        canon = dict(g, validators=sorted(g["validators"],
                                          key=lambda v: bytes.fromhex(v["key"])))
        self.hash = D("tradelog/genesis/v1", jcs(canon))

    def membership(self) -> "Membership":
        return Membership(self)


# ----------------------------------------------------------- §8a membership

MEMBERSHIP_PREFIX = b"tradelog/membership/v1\x00"
CHANGE_TYPES = ("add_key", "revoke_key", "add_organisation", "set_validators")
MAX_APPROVALS = 256
MAX_MEMBERSHIP_EVENTS = 100000
MAX_TRANSITIONS = 10000


def parse_change(c, w="body.membership.change"):
    """§8a structure of a change (no state).  Returns c, validated."""
    if not isinstance(c, dict):
        fail(f"{w}: expected an object")
    t = c.get("type")
    if not (isinstance(t, str) and t in CHANGE_TYPES):
        fail(f"{w}.type: unknown change type {t!r}")
    if t in ("add_key", "revoke_key"):
        obj(c, w, ("type", "org", "key"))
        check_id(c["org"], "org", f"{w}.org")
        check_public_key(unhex(c["key"], 32, f"{w}.key"), f"{w}.key")
    elif t == "add_organisation":
        obj(c, w, ("type", "organisation"))
        parse_organisation(c["organisation"], f"{w}.organisation")
    else:
        obj(c, w, ("type", "validators"))
        parse_validators(c["validators"], f"{w}.validators")
    return c


def parse_membership_body(m, w="body.membership"):
    """§3.2 / §8a structure of the `membership` member."""
    obj(m, w, ("seq", "change", "approvals"))
    integer(m["seq"], f"{w}.seq", 1, MAX_SAFE)
    parse_change(m["change"], f"{w}.change")
    approvals = array(m["approvals"], f"{w}.approvals", MAX_APPROVALS)
    for i, a in enumerate(approvals):
        obj(a, f"{w}.approvals[{i}]", ("validator", "sig"))
        unhex(a["validator"], 32, f"{w}.approvals[{i}].validator")
        unhex(a["sig"], 64, f"{w}.approvals[{i}].sig")
    return m


def canonical_change(change):
    """§8a: a set_validators change is canonicalized with `validators` sorted by key
    bytes (as the genesis validators are, §8), whatever order it was given in."""
    if change.get("type") != "set_validators":
        return change
    return dict(change, validators=sorted(change["validators"],
                                          key=lambda v: bytes.fromhex(v["key"])))


def canonical_form(body):
    """The body as §3.3 canonicalizes it: a membership event's set_validators list sorted."""
    if "membership" not in body:
        return body
    m = body["membership"]
    return dict(body, membership=dict(m, change=canonical_change(m["change"])))


def approval_message(chain: str, seq: int, change) -> bytes:
    """§8a: what each approving validator signs."""
    c = chain.encode("ascii")
    return MEMBERSHIP_PREFIX + u8(len(c)) + c + u64(seq) + jcs(canonical_change(change))


class Membership:
    """The membership in force at one log position (§8, §8a): the genesis membership
    with every earlier membership change applied."""

    def __init__(self, gen: Genesis):
        self.chain = gen.chain
        self.rules = gen.rules
        self.orgs = {oid: (role, set(keys)) for oid, (role, keys) in gen.orgs.items()}
        self.ever = set()  # every key that was ever an event key on this ledger
        for _, keys in self.orgs.values():
            self.ever |= keys
        self.revoked = {}  # key bytes -> (org, log index of the revoking event)

    def admit(self, ev: Event):
        """§8 admission rules, except 'id not yet in the log' (and, for a membership
        event, the change rules: see check_change)."""
        b = ev.body
        if b["chain"] != self.chain:
            fail(f"body.chain {b['chain']!r} is not the ledger's chain {self.chain!r}")
        oid = b["issuer"]["org"]
        org = self.orgs.get(oid)
        if org is None:
            fail(f"issuer {oid!r} is not a member")
        role, keys = org
        if ev.key not in keys:
            if ev.key in self.revoked and self.revoked[ev.key][0] == oid:
                fail(f"issuer.key was revoked from {oid} by the membership event at log "
                     f"index {self.revoked[ev.key][1]}")
            fail(f"issuer.key is not a current key of {oid}")
        if role not in KINDS[b["kind"]][1]:
            fail(f"role {role} may not issue {b['kind']}")
        if b["kind"] == "linked" and "ucr" not in b and role != "carrier":  # §8f
            fail(f"body.ucr: a {role} organisation ({oid}) links trade identifiers to a "
                 f"consignment's UCR; a link of identifiers alone is their carrier's")
        if b["kind"] == "linked" and role == "carrier":  # §8f
            for t in b.get("ids", []):
                _, carrier, _ = parse_trade_id(t)
                if carrier is not None and carrier != oid:
                    fail(f"body.ids: {t}: a carrier links only its own transport documents "
                         f"and bookings")
        self.admit_organisation_record(b)
        if "parties" in b:  # §8c
            if self.rules < 2:
                fail(f"body.parties: this ledger's rules ({self.rules}) have no consignment parties")
            for p in b["parties"]:
                if p not in self.orgs:
                    fail(f"body.parties: {p} is not a member of this ledger")
        if not ev.signature_ok():
            fail("event signature does not verify")

    def admit_organisation_record(self, b):
        """§8h, under this membership: an AEO record's holder is a carrier or platform
        member; an arrangement's partner is another customs member, and an arrangement in
        force is countersigned over its terms (§8h `terms`) by one of the partner's current
        keys."""
        if "aeo" in b:
            holder = b["aeo"]["holder"]
            org = self.orgs.get(holder)
            if org is None:
                fail(f"body.aeo.holder: {holder}: not a member of this ledger")
            if org[0] not in ("carrier", "platform"):
                fail(f"body.aeo.holder: {holder}: a {org[0]} organisation holds no AEO "
                     f"authorisation (carriers and platforms do)")
        if "mra" not in b:
            return
        m, issuer = b["mra"], b["issuer"]["org"]
        partner = m["partner"]
        org = self.orgs.get(partner)
        if partner == issuer:
            fail(f"body.mra.partner: {partner}: an administration's arrangement is with "
                 f"another one")
        if org is None:
            fail(f"body.mra.partner: {partner}: not a member of this ledger")
        if org[0] != "customs":
            fail(f"body.mra.partner: {partner}: a {org[0]} organisation is not a customs "
                 f"administration")
        if "approval" in m:
            both = "an arrangement is in force only when both administrations sign its terms"
            key = bytes.fromhex(m["approval"]["key"])
            if key not in org[1]:
                fail(f"body.mra.approval: key {key.hex()} is not a current key of {partner}; "
                     f"{both}")
            msg = terms_message(b["chain"], issuer, partner, m["from"], m["types"])
            if not verify_sig(key, msg, bytes.fromhex(m["approval"]["sig"])):
                fail(f"body.mra.approval: the signature of {partner} does not verify over the "
                     f"terms; {both}")

    def check_change(self, ev: Event, seq_expected: int, vals: dict):
        """§8a rules 1-3 for membership event `ev` under this membership and the
        validator set `vals` ({key: power}) of the block that records it."""
        m = ev.body["membership"]
        if m["seq"] != seq_expected:
            fail(f"membership.seq is {m['seq']}, expected {seq_expected} "
                 f"(1 + the number of membership events before it)")
        c, t = m["change"], m["change"]["type"]
        w = f"change {t}"
        if t in ("add_key", "revoke_key"):
            org = self.orgs.get(c["org"])
            if org is None:
                fail(f"{w}: {c['org']!r} is not a member")
            key, keys = bytes.fromhex(c["key"]), org[1]
            if t == "add_key":
                if key in self.ever:
                    fail(f"{w}: the key was already an event key on this ledger")
                if len(keys) >= 16:
                    fail(f"{w}: {c['org']} would have more than 16 keys")
            else:
                if key not in keys:
                    fail(f"{w}: the key is not a current key of {c['org']}")
                if len(keys) < 2:
                    fail(f"{w}: {c['org']} would have no key left")
        elif t == "add_organisation":
            o = c["organisation"]
            if o["id"] in self.orgs:
                fail(f"{w}: {o['id']!r} is already a member")
            if any(bytes.fromhex(k) in self.ever for k in o["keys"]):
                fail(f"{w}: a key of {o['id']} was already an event key on this ledger")
        else:
            for i, v in enumerate(c["validators"]):
                if v["org"] not in self.orgs:
                    fail(f"{w}: validators[{i}].org {v['org']!r} is not a member")
        # rule 3: approvals by the validator set of the recording block
        msg = approval_message(ev.body["chain"], m["seq"], c)
        seen, power = set(), 0
        for i, a in enumerate(m["approvals"]):
            k = bytes.fromhex(a["validator"])
            if k not in vals:
                fail(f"approvals[{i}]: validator is not in the validator set in force")
            if k in seen:
                fail(f"approvals[{i}]: validator approves twice")
            seen.add(k)
            if not verify_sig(k, msg, bytes.fromhex(a["sig"])):
                fail(f"approvals[{i}]: bad approval signature")
            power += vals[k]
        own = t in ("add_key", "revoke_key") and c["org"] == ev.body["issuer"]["org"]
        total = sum(vals.values())
        if not own and not 3 * power > 2 * total:
            fail(f"approvals: power {power} of {total} is not more than two thirds "
                 f"(no quorum for {t})")

    def apply(self, change, index: int):
        """Applies a checked change recorded at log `index`.  Returns the new validator
        set {key: power} for set_validators, else None."""
        t = change["type"]
        if t == "add_key":
            key = bytes.fromhex(change["key"])
            self.orgs[change["org"]][1].add(key)
            self.ever.add(key)
        elif t == "revoke_key":
            key = bytes.fromhex(change["key"])
            self.orgs[change["org"]][1].discard(key)
            self.revoked[key] = (change["org"], index)
        elif t == "add_organisation":
            o = change["organisation"]
            keys = {bytes.fromhex(k) for k in o["keys"]}
            self.orgs[o["id"]] = (o["role"], keys)
            self.ever |= keys
        else:
            return {bytes.fromhex(v["key"]): v["power"] for v in change["validators"]}
        return None


class MembershipAt:
    """The membership in force at increasing log positions: replays the changes a
    membership proof verified (§9 step 3: all membership events of lower index applied)."""

    def __init__(self, gen: Genesis, changes):
        self.m, self.changes, self.next = gen.membership(), changes, 0

    def at(self, index: int) -> Membership:
        while self.next < len(self.changes) and self.changes[self.next][0] < index:
            idx, change = self.changes[self.next]
            self.m.apply(change, idx)
            self.next += 1
        return self.m


# ------------------------------------------------------ §9d membership proofs

def verify_membership(gen: Genesis, head, cert, mp):
    """§9d for (head, certificate).  Returns {"validators": V that certified head,
    "changes": [(log index, change)], "transitions": n, "signers", "signed", "total",
    "sets": [(first height, {key: power})]}: "sets" gives the validator set in force at every
    height up to head's (see validators_at)."""
    obj(mp, "membership", ("transitions", "events", "index_entry", "index_proof"))
    # 1
    transitions = array(mp["transitions"], "membership.transitions", MAX_TRANSITIONS)
    events = array(mp["events"], "membership.events", MAX_MEMBERSHIP_EVENTS)
    mkey = index_key("membership", "")
    vals = dict(gen.validators)
    m = gen.membership()
    st = {"applied": 0, "next": 0}
    parsed, changes, proven = [], [], {}
    # §9 step 7: the genesis set certifies heights 1 up to and including the first
    # transition's height, each transition's set the heights after it up to the next one's
    sets = [(1, vals)]

    def event(p) -> Event:
        """events[p], structurally checked (ids are needed for the accumulators)."""
        while len(parsed) <= p:
            q = len(parsed)
            item = events[q]
            try:
                obj(item, "entry", ("index", "event", "proof"))
                integer(item["index"], "index", 0, U64)
                parsed.append(Event(item["event"]))
            except VerifyError as e:
                raise VerifyError(f"{_mwhere(q, item)}: {e}") from None
        return parsed[p]

    def apply_upto(c, until, limit_name):
        """'apply events up to c below until.log_size'; returns the last set_validators set.
        At most one set_validators change per step (a block records at most one, §8a), and
        every event at most 10 minutes after until.time (its block is at or before it, §6)."""
        last = None
        limit = until["log_size"]
        for p in range(st["applied"], c):
            item = events[p]
            try:
                ev = event(p)
                idx = item["index"]
                if idx < st["next"]:
                    fail(f"index {idx} not greater than the previous membership event's")
                if idx >= limit:
                    fail(f"index {idx} not below {limit_name} {limit}")
                st["next"] = idx + 1
                if ev.body["kind"] != "membership":
                    fail(f"kind {ev.body['kind']!r} is not membership")
                if ev.body["time"] > until["time"] + MAX_EVENT_AHEAD:
                    fail(f"time {ev.body['time']} is more than {MAX_EVENT_AHEAD} ms after "
                         f"the time {until['time']} of a head at or after its block")
                if last is not None and ev.body["membership"]["change"]["type"] == \
                        "set_validators":
                    fail("a second set_validators change since the previous transition: "
                         "the block of the first has no transition (§9d)")
                m.admit(ev)
                m.check_change(ev, p + 1, vals)
                proof = array(item["proof"], "proof", MAX_PROOF)
                path = [unhex(x, 32, f"proof[{j}]") for j, x in enumerate(proof)]
                if not verify_inclusion(idx, head["log_size"], path, ev.leaf_data,
                                        head["log_root"]):
                    fail("inclusion proof does not verify against head.log_root")
            except VerifyError as e:
                raise VerifyError(f"{_mwhere(p, item)}: {e}") from None
            change = ev.body["membership"]["change"]
            new = m.apply(change, idx)
            if new is not None:
                last = new
            changes.append((idx, change))
            proven[idx] = (ev.id, ev.sig)
        st["applied"] = max(st["applied"], c)
        return last

    def entry_of_first(count):
        return count, index_acc([event(p).id for p in range(count)])

    earlier = {"time": gen.time, "log_size": 0}

    def header(h, w):
        """§6 header rules over the heads the proof carries, in height order."""
        if h["height"] < 1:
            fail(f"{w}: height {h['height']}: heights start at 1")
        if h["height"] == 1 and h["prev"] != gen.hash:
            fail(f"{w}: prev of the head at height 1 is not the genesis hash")
        if h["time"] < earlier["time"]:
            fail(f"{w}: time {h['time']} is before {earlier['time']} (the genesis time or "
                 f"an earlier head's)")
        if h["log_size"] < earlier["log_size"]:
            fail(f"{w}: log_size {h['log_size']} is below an earlier head's "
                 f"{earlier['log_size']}")
        earlier.update(time=h["time"], log_size=h["log_size"])

    # 2
    prev = 0
    for k, t in enumerate(transitions):
        w = f"membership.transitions[{k}]"
        obj(t, w, ("head", "certificate", "index_entry", "index_proof"))
        try:
            th = parse_head(t["head"])
        except VerifyError as e:
            raise VerifyError(f"{w}: {e}") from None
        w = f"{w} (height {th['height']})"
        if not prev < th["height"] < head["height"]:
            fail(f"{w}: height not between the previous transition's ({prev}) and "
                 f"head.height ({head['height']})")
        prev = th["height"]
        if th["chain"] != head["chain"]:
            fail(f"{w}: head.chain differs from the bundle head's chain")
        header(th, w)
        try:
            verify_certificate(t["certificate"], th, vals)
        except VerifyError as e:
            raise VerifyError(f"{w}: {e} (under the validator set proven so far)") from None
        count, acc = check_index_entry(t["index_entry"], t["index_proof"], mkey,
                                       th["index_root"], f"{w}: ")
        if not st["applied"] <= count <= len(events):
            fail(f"{w}: its membership index counts {count} events, outside "
                 f"{st['applied']}..{len(events)} (membership events omitted or reordered)")
        if entry_of_first(count) != (count, acc):
            fail(f"{w}: the accumulator over the first {count} membership events differs "
                 f"from the head's membership index entry (events omitted, added or "
                 f"reordered)")
        last = apply_upto(count, th, "the transition head's log_size")
        if last is None:
            fail(f"{w}: no set_validators change among the membership events it "
                 f"commits to after the previous transition (a transition at the wrong block)")
        vals = last
        sets.append((th["height"] + 1, vals))
    header(head, "head")
    # 3: the rest, under V (one set_validators here, in head's own block, takes effect later)
    apply_upto(len(events), head, "head.log_size")
    # 4
    nsig, signed, total = verify_certificate(cert, head, vals)
    # 5
    count, acc = check_index_entry(mp["index_entry"], mp["index_proof"], mkey,
                                   head["index_root"], "membership.")
    if count != len(events):
        fail(f"membership completeness: index counts {count} membership events, the "
             f"proof has {len(events)}")
    if entry_of_first(count) != (count, acc):
        fail("membership completeness: accumulator over the membership event ids differs "
             "from membership.index_entry.acc (events omitted, added or reordered)")
    return {"validators": vals, "changes": changes, "transitions": len(transitions),
            "signers": nsig, "signed": signed, "total": total, "events": proven,
            "sets": sets,
            "heads": [(parse_head(t["head"])["log_size"], parse_head(t["head"])["time"])
                      for t in transitions]}


def validators_at(sets, height: int):
    """The validator set {key: power} in force at `height` (at most the proof's head's),
    from verify_membership's "sets": the genesis set up to and including the first
    transition's height, then each transition's set from the height after it; after the last
    transition that is the set that certified the head (§9 step 7)."""
    found = sets[0][1]
    for first, vals in sets:
        if first <= height:
            found = vals
    return found


def _mwhere(p, item) -> str:
    return f"membership.events[{p}]" + (f" (log index {item['index']})"
                                        if isinstance(item, dict) and "index" in item else "")


# --------------------------------------------------------------- §9 bundles

# subject type -> the §2 identifier its id is (§5, §9)
SUBJECT_ID_KINDS = {"consignment": "ucr", "container": "container",
                    "identifier": "trade identifier", "membership": None,
                    "organisation": "org"}
BUNDLE_MEMBERS = ("version", "subject", "head", "certificate", "events", "index_entry",
                  "index_proof", "membership")


def verify_bundle(genesis_doc, bundle):
    """§9 steps 1-7.  Returns a dict (its "rows" are the verified events as
    (position, log index, Event); "recorded" maps the log index of each event that a `blocks`
    entry covers to its recorded (height, time)); raises VerifyError."""
    gen = Genesis(genesis_doc)
    # 1: version 2 (no `blocks`, written before version 3) or 3 (with `blocks`)
    if not isinstance(bundle, dict):
        fail("bundle: expected an object")
    if "version" not in bundle:
        fail("bundle: missing member(s) ['version']")
    version = integer(bundle["version"], "bundle.version", 2, 3)
    if version == 2 and "blocks" in bundle:
        fail("bundle.blocks: not allowed in a version-2 bundle (recorded times are "
             "proven from version 3 on, §9 step 1)")
    obj(bundle, "bundle", BUNDLE_MEMBERS + (("blocks",) if version == 3 else ()))
    head = parse_head(bundle["head"])
    if head["chain"] != gen.chain:
        fail("head.chain differs from genesis.chain")
    if head["height"] == 1 and head["prev"] != gen.hash:
        fail("head.prev at height 1 is not the genesis hash")
    subj = obj(bundle["subject"], "subject", ("type", "id"))
    stype = subj["type"]
    if stype not in SUBJECT_ID_KINDS:
        fail(f"subject.type: invalid {stype!r}")
    if stype == "membership":
        if subj["id"] != "membership":
            fail(f"subject.id: the membership subject's id is 'membership', not {subj['id']!r}")
    else:
        check_id(subj["id"], SUBJECT_ID_KINDS[stype], "subject.id")
    # 2: the validator set and membership in force, from the genesis (§9d)
    mres = verify_membership(gen, head, bundle["certificate"], bundle["membership"])
    nsig, signed, total = mres["signers"], mres["signed"], mres["total"]
    members = MembershipAt(gen, mres["changes"])
    # 3
    events = array(bundle["events"], "bundle.events", MAX_BUNDLE_EVENTS)
    prev, ids, rows = -1, [], []
    for pos, item in enumerate(events):
        try:
            obj(item, "entry", ("index", "event", "proof"))
            idx = integer(item["index"], "index", 0, U64)
            if idx <= prev:
                fail(f"index {idx} not greater than the previous {prev}")
            if idx >= head["log_size"]:
                fail(f"index {idx} not below head.log_size {head['log_size']}")
            prev = idx
            ev = Event(item["event"])
            if not concerns(ev, stype, subj["id"]):
                fail(f"event does not concern {stype} {subj['id']}")
            if stype == "membership" and mres["events"].get(idx) != (ev.id, ev.sig):
                fail("not the membership proof's event at the same log index (§9 step 3)")
            bound = next((tm for size, tm in mres["heads"] if idx < size), head["time"])
            if ev.body["time"] > bound + MAX_EVENT_AHEAD:
                fail(f"time {ev.body['time']} is more than {MAX_EVENT_AHEAD} ms after the "
                     f"time {bound} of a head at or after its block (§6)")
            members.at(idx).admit(ev)
            if ev.id in ids:
                fail("event id already in the bundle (admitted twice)")
            proof = array(item["proof"], "proof", MAX_PROOF)
            path = [unhex(p, 32, f"proof[{j}]") for j, p in enumerate(proof)]
            if not verify_inclusion(idx, head["log_size"], path, ev.leaf_data, head["log_root"]):
                fail("inclusion proof does not verify against head.log_root")
        except VerifyError as e:
            where = f"event #{pos}" + (f" (log index {item['index']})"
                                      if isinstance(item, dict) and "index" in item else "")
            raise VerifyError(f"{where}: {e}") from None
        ids.append(ev.id)
        rows.append((pos, idx, ev))
    # 4
    count, acc = check_index_entry(bundle["index_entry"], bundle["index_proof"],
                                   index_key(stype, subj["id"]), head["index_root"], "")
    # 5
    if count != len(ids):
        fail(f"completeness: index counts {count} events, bundle has {len(ids)}")
    if index_acc(ids) != acc:
        fail("completeness: accumulator over the bundle's event ids differs from "
             "index_entry.acc (events omitted, added or reordered)")
    # 6: the consignment party rule over its complete history (§8c). Roles never change and
    # organisations are never removed, so the membership at the head gives every issuer's role.
    at_head = members.at(head["log_size"])
    parties, customs = set(), set()
    if gen.rules >= 2:
        customs = {o for o, (role, _) in at_head.orgs.items() if role == "customs"}
        if stype == "consignment":
            for pos, idx, ev in rows:
                org = ev.body["issuer"]["org"]
                if org not in customs and parties and org not in parties:
                    fail(f"event #{pos} (log index {idx}): issuer {org} is not a party of "
                         f"consignment {subj['id']} (its parties: {', '.join(sorted(parties))}) "
                         f"(§8c)")
                if org not in customs:
                    parties.add(org)
                parties |= set(ev.body.get("parties", []))
    # 6, every subject and rule version: no source key twice (§8e)
    repeat = first_source_repeat([ev.body for _, _, ev in rows])
    if repeat is not None:
        first, pos = repeat
        fail(f"events[{pos}]: body.source: {source_key_text(rows[pos][2].body)} was "
             f"recorded before for the same consignment and container, at events[{first}] "
             f"(log indexes {rows[first][1]} and {rows[pos][1]}, §8e)")
    # 6, every subject and rule version: each retraction's target is an earlier event of the
    # bundle, the issuer's own, about the same subjects, retracted once (§8g)
    retracted = {rows[t][1]: rows[r][1]
                 for t, r in retraction_targets([ev for _, _, ev in rows]).items()}
    # 6, a consignment subject: each risk outcome assesses advance data recorded before it
    # (§8i); both name the consignment, so its complete history holds both
    if stype == "consignment":
        pos = first_unassessed_outcome([ev for _, _, ev in rows])
        if pos is not None:
            fail(f"events[{pos}]: body.refs: a risk outcome refers to no earlier advance_data "
                 f"event of its consignment (log index {rows[pos][1]}, §8i)")
    # 7: the recorded time of each event its block's entry covers
    recorded = {}
    if version == 3:
        recorded = verify_blocks(gen, head, mres["sets"], bundle["blocks"], rows)
    return {"subject": (stype, subj["id"]), "head": head, "signers": nsig,
            "rules": gen.rules, "parties": parties, "customs": customs,
            "signed": signed, "total": total, "rows": rows, "genesis": gen,
            "membership": mres, "warnings": advisories(rows), "version": version,
            "recorded": recorded, "retracted": retracted, "at_head": at_head,
            "blocks": len(bundle["blocks"]) if version == 3 else None}


def first_unassessed_outcome(events):
    """§8i, §9 step 6 over a consignment's complete history (Events, in log order): the
    position of the first risk outcome none of whose refs is an earlier `advance_data` event
    of the same consignment, None if every outcome assesses one."""
    advance = {}  # event id -> its ucr
    for pos, ev in enumerate(events):
        b = ev.body
        if b["kind"] in RISK_OUTCOME_KINDS and \
                not any(advance.get(bytes.fromhex(r)) == b["ucr"] for r in b["refs"]):
            return pos
        if b["kind"] == "advance_data":
            advance[ev.id] = b["ucr"]
    return None


def source_key(body):
    """§8e: an event's source key (issuer.org, source, ucr, container, ids), ucr, container
    and ids None when absent (ids as the whole list, a tuple); None for an event without
    `source`."""
    src = body.get("source")
    if src is None:
        return None
    ids = tuple(body["ids"]) if "ids" in body else None
    return (body["issuer"]["org"], src["standard"], src["id"], body.get("ucr"),
            body.get("container"), ids)


def source_key_text(body) -> str:
    src = body["source"]
    return f"{body['issuer']['org']}'s {src['standard']} event {json.dumps(src['id'])}"


def first_source_repeat(bodies):
    """§9 step 6, §8e: the first pair of bodies (a subject's complete history, in log order)
    with the same source key, as (earlier, later) positions; None if there is none."""
    seen = {}
    for pos, body in enumerate(bodies):
        key = source_key(body)
        if key is None:
            continue
        if key in seen:
            return seen[key], pos
        seen[key] = pos
    return None


def retracts_text(body) -> str:
    """How a `retracted` event names its target (§8g): the event id, or `standard "id"`."""
    r = body["retracts"]
    if "event" in r:
        return r["event"]
    return f"{r['source']['standard']} {json.dumps(r['source']['id'])}"


def retraction_target(events, pos):
    """§8g: the position of the target of the `retracted` event events[pos] among the earlier
    events (a subject's complete history, in log order), None if there is none."""
    body = events[pos].body
    r = body["retracts"]
    if "event" in r:
        want = bytes.fromhex(r["event"])
        return next((q for q in range(pos) if events[q].id == want), None)
    src = r["source"]
    ids = tuple(body["ids"]) if "ids" in body else None
    key = (body["issuer"]["org"], src["standard"], src["id"], body.get("ucr"),
           body.get("container"), ids)
    return next((q for q in range(pos) if source_key(events[q].body) == key), None)


def retraction_targets(events):
    """§9 step 6, §8g over a subject's complete history (Events, in log order): returns
    {target position: retraction position}; raises VerifyError
    `events[p]: body.retracts: <reason>` for the first retraction that breaks the rule."""
    out = {}
    for pos, ev in enumerate(events):
        body = ev.body
        if body["kind"] != "retracted":
            continue
        org, what = body["issuer"]["org"], retracts_text(body)

        def refuse(reason):
            fail(f"events[{pos}]: body.retracts: {reason}")

        q = retraction_target(events, pos)
        if q is None:
            refuse(f"no earlier event {what} of {org} for this consignment and container")
        target = events[q].body
        if target["issuer"]["org"] != org:
            refuse(f"{what} was issued by {target['issuer']['org']}: an organisation retracts "
                   f"only its own events")
        if any(target.get(m) != body.get(m) for m in ("ucr", "container", "ids")):
            refuse(f"{what} names other subjects (ucr, container, ids must be equal)")
        if target["kind"] in ("retracted", "membership"):
            refuse(f"{what} is a {target['kind']} event, which is not retracted")
        if q in out:
            refuse(f"{what} is already retracted by events[{out[q]}]")
        out[q] = pos
    return out


def verify_blocks(gen: Genesis, head, sets, blocks, rows):
    """§9 step 7 (version 3): each `blocks[p]` is the certified head of the block that
    committed some of the bundle's events.  `rows` are the verified events (position, log
    index, Event) in log order, `sets` the validator sets per height (verify_membership).
    Returns {log index: (recorded height, recorded time)} for the events the entries cover."""
    blocks = array(blocks, "bundle.blocks", MAX_BUNDLE_EVENTS)
    if len(blocks) > len(rows):
        fail(f"bundle.blocks: {len(blocks)} entries, more than the bundle's {len(rows)} "
             f"events (§9 step 7)")
    indexes = [idx for _, idx, _ in rows]
    head_hash = H(head_bytes(head))
    recorded, above, held = {}, 0, 0
    for p, entry in enumerate(blocks):
        w = f"blocks[{p}]"
        obj(entry, w, ("head", "certificate", "prev"))
        try:
            b = parse_head(entry["head"])
        except VerifyError as e:
            raise VerifyError(f"{w}: {e}") from None
        w = f"{w} (height {b['height']})"
        if b["chain"] != head["chain"]:
            fail(f"{w}: head.chain {b['chain']!r} differs from the bundle head's chain "
                 f"{head['chain']!r}")
        if b["height"] <= above:
            fail(f"{w}: height not above the previous entry's ({above}): entries in "
                 f"height order, one per block")
        if b["height"] > head["height"]:
            fail(f"{w}: height above head.height ({head['height']})")
        if b["log_size"] > head["log_size"]:
            fail(f"{w}: head.log_size {b['log_size']} is above the bundle head's "
                 f"log_size {head['log_size']}")
        if b["height"] == head["height"] and H(head_bytes(b)) != head_hash:
            fail(f"{w}: at head.height but not the bundle's head (another hash)")
        above = b["height"]
        # the block's first log position: its events are leaves [first, b.log_size) (§6)
        prev = entry["prev"]
        if b["height"] == 1:
            if prev is not None:
                fail(f"{w}: prev must be null at height 1")
            if b["prev"] != gen.hash:
                fail(f"{w}: head.prev at height 1 is not the genesis hash")
            first = 0
        else:
            if prev is None:
                fail(f"{w}: prev is null above height 1 (the previous block's head is needed "
                     f"for the block's first log position)")
            try:
                ph = parse_head(prev)
            except VerifyError as e:
                raise VerifyError(f"{w}: prev: {e}") from None
            if ph["height"] + 1 != b["height"]:
                fail(f"{w}: prev.height {ph['height']} is not head.height - 1 "
                     f"({b['height'] - 1})")
            if ph["chain"] != head["chain"]:
                fail(f"{w}: prev.chain {ph['chain']!r} differs from the bundle head's chain "
                     f"{head['chain']!r}")
            if H(head_bytes(ph)) != b["prev"]:
                fail(f"{w}: the hash of prev is not head.prev (prev is not the previous "
                     f"block's head)")
            if ph["time"] > b["time"]:
                fail(f"{w}: prev.time {ph['time']} is after head.time {b['time']}")
            if ph["log_size"] > b["log_size"]:
                fail(f"{w}: prev.log_size {ph['log_size']} is above head.log_size "
                     f"{b['log_size']}")
            first = ph["log_size"]
        try:
            verify_certificate(entry["certificate"], b, validators_at(sets, b["height"]))
        except VerifyError as e:
            raise VerifyError(f"{w}: {e} (under the validator set in force at height "
                              f"{b['height']})") from None
        if first < held:
            # not a rule of §9 step 7, which gives each covered event one recorded time:
            # two certified blocks holding the same log position are conflicting heads
            fail(f"{w}: its first log position {first} is below the previous entry's "
                 f"log_size {held}: two blocks would hold the same events (conflicting "
                 f"certified heads, §7a)")
        held = b["log_size"]
        lo, hi = bisect.bisect_left(indexes, first), bisect.bisect_left(indexes, b["log_size"])
        if lo == hi:
            fail(f"{w}: no event of the bundle in the block (its log positions [{first}, "
                 f"{b['log_size']}))")
        for pos, idx, ev in rows[lo:hi]:
            if ev.body["time"] > b["time"] + MAX_EVENT_AHEAD:
                fail(f"{w}: event #{pos} (log index {idx}): time {ev.body['time']} is more "
                     f"than {MAX_EVENT_AHEAD} ms after the block's time {b['time']} (§6)")
            recorded[idx] = (b["height"], b["time"])
    return recorded


def concerns(ev: Event, stype: str, ident: str) -> bool:
    """§9 step 3: the event is about the bundle's subject."""
    if stype == "membership":
        return ev.body["kind"] == "membership"
    if stype == "identifier":
        return ident in ev.body.get("ids", [])
    if stype == "organisation":  # §8h: a holder's AEO records, both administrations' MRAs
        return organisation_concerns(ev.body, ident)
    return ev.body.get("ucr" if stype == "consignment" else "container") == ident


def organisation_concerns(body, org: str) -> bool:
    """§5, §9 step 3: an `aeo_status` event concerns its holder's organisation subject, an
    `mra` event its issuer's and its partner's."""
    if body["kind"] == "aeo_status":
        return body["aeo"]["holder"] == org
    if body["kind"] == "mra":
        return org in (body["issuer"]["org"], body["mra"]["partner"])
    return False


def advisories(rows):
    """Observations that are not refusals under the spec."""
    out, seen, pos_of = [], {}, {ev.id: pos for pos, _, ev in rows}
    for pos, _, ev in rows:
        for name, c in ev.body["details"].items():
            if c in seen:
                out.append(f"events #{seen[c]} and #{pos} carry the same detail commitment "
                           f"({name}): salt reused, equal values are linkable (3.5)")
            seen.setdefault(c, pos)
        for r in ev.body["refs"]:
            if pos_of.get(bytes.fromhex(r), -1) > pos:
                out.append(f"event #{pos} refs event #{pos_of[bytes.fromhex(r)]}, "
                           "which is later in the log (3.2 says 'earlier events')")
    return out


def iso_time(ms: int) -> str:
    try:
        t = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + \
            datetime.timedelta(milliseconds=ms)
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    except OverflowError:
        return f"{ms}ms"


def recorded_columns(recorded, idx) -> str:
    """The recorded time (§9 step 7) and block height columns of a timeline row."""
    if idx not in recorded:
        return f"{'-':<24}  {'-':>6}"
    height, time = recorded[idx]
    return f"{iso_time(time):<24}  {height:>6}"


def print_recorded(res):
    """A summary of the recorded times proven (§9 step 7), naming the events without one."""
    rows = res["rows"]
    if res["version"] == 2:
        print("recorded  unknown: a version-2 bundle has no blocks (§9 step 1)")
        return
    known = sum(1 for _, idx, _ in rows if idx in res["recorded"])
    print(f"recorded  {known} of {len(rows)} event(s) in {res['blocks']} certified block(s)")
    missing = [f"#{pos} (log index {idx})" for pos, idx, _ in rows if idx not in res["recorded"]]
    if missing:
        print(f"recorded  no proven recorded time (no blocks entry) for event(s) "
              f"{', '.join(missing)}")


def print_timeline(res):
    h = res["head"]
    print(f"subject   {res['subject'][0]} {res['subject'][1]}")
    print(f"head      chain {h['chain']} height {h['height']} time {iso_time(h['time'])} "
          f"log_size {h['log_size']}")
    print(f"certified {res['signers']} signatures, power {res['signed']} of {res['total']}")
    print_membership(res["membership"])
    print_recorded(res)
    print(f"{'#':>3} {'log':>6}  {'time (UTC)':<24}  {'recorded (UTC)':<24}  {'block':>6}  "
          f"{'loc':<5}  {'issuer':<20}  kind")
    times = {idx: ev.body["time"] for _, idx, ev in res["rows"]}
    for pos, idx, ev in res["rows"]:
        b = ev.body
        extra = event_extra(b) + retraction_extra(res["retracted"], times, idx)
        print(f"{pos:>3} {idx:>6}  {iso_time(b['time']):<24}  "
              f"{recorded_columns(res['recorded'], idx)}  {b.get('location', '-'):<5}  "
              f"{b['issuer']['org']:<20}  {b['kind']}{extra}")
    for w in res["warnings"]:
        print(f"warning: {w}")


def event_extra(b) -> str:
    """The container and trade identifiers a timeline row names; an AEO record's holder,
    authorisation and status, an arrangement's partner and status, an outcome's reason."""
    extra = f"  container {b['container']}" if "container" in b else ""
    if "ids" in b:
        extra += f"  ids {','.join(b['ids'])}"
    if "aeo" in b:
        a = b["aeo"]
        extra += (f"  {a['holder']} {a['programme']} {a['authorisation']} {a['status']}"
                  + (f" {','.join(a['types'])}" if "types" in a else "")
                  + f" from {iso_time(a['from'])}"
                  + (f" until {iso_time(a['until'])}" if "until" in a else ""))
    if "mra" in b:
        m = b["mra"]
        extra += (f"  with {m['partner']} {m['status']}"
                  + (f" {','.join(m['types'])}" if "types" in m else "")
                  + f" from {iso_time(m['from'])}")
    if "reason" in b:
        extra += f"  reason {b['reason']}"
    return extra


def retraction_extra(retracted, times, idx) -> str:
    """§8g: a timeline row's mark, if the event is retracted or is a retraction.  `retracted`
    maps retracted log indexes to their retraction's, `times` log indexes to event times."""
    by = retracted.get(idx)
    if by is not None:
        when = f" at {iso_time(times[by])}" if by in times else ""
        return f"  RETRACTED by log {by}{when}"
    target = next((t for t, r in retracted.items() if r == idx), None)
    return f"  retracts log {target}" if target is not None else ""


def print_membership(mres):
    kinds = [c["type"] for _, c in mres["changes"]]
    summary = ", ".join(f"{kinds.count(k)} {k}" for k in CHANGE_TYPES if k in kinds)
    print(f"membership {len(kinds)} change(s){' (' + summary + ')' if summary else ''}, "
          f"{mres['transitions']} validator-set transition(s); head certified by a set of "
          f"{len(mres['validators'])} validator(s)")


def load_file(path, limit):
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        fail(f"{path}: larger than {limit} bytes")
    try:
        return load_json(data.decode("utf-8"))
    except UnicodeDecodeError:
        fail(f"{path}: not UTF-8")


def cmd_bundle(genesis_path, bundle_path) -> int:
    try:
        res = verify_bundle(load_file(genesis_path, 64 << 20),
                            load_file(bundle_path, 64 << 20))
    except VerifyError as e:
        print(f"FAILED: {e}")
        return 1
    except (OSError, RecursionError, TypeError, ValueError, KeyError) as e:
        print(f"FAILED: malformed input ({type(e).__name__}: {e})")
        return 1
    print_timeline(res)
    print("VERIFIED")
    return 0


# --------------------------------------------------------- §9b route bundles

MAX_CONTAINER_BUNDLES = 256
MAX_ROUTE_PAGES = 256
END_OF_TIME = U64  # 2^64 - 1: a window still open at the end


def same_json(a, b) -> bool:
    """Member-wise equal JSON values (9b step 4): compared through JCS, so member
    order does not matter but types do (true is not 1)."""
    return jcs(a) == jcs(b)


def container_windows(cons_rows, container):
    """9b: the [open, close] time windows of `container`, from the consignment's
    events sorted by (body.time, log index)."""
    windows, start = [], None
    for _, idx, ev in sorted(cons_rows, key=lambda r: (r[2].body["time"], r[1])):
        b = ev.body
        names = b.get("container") == container
        if start is None and names:
            start = b["time"]
        if start is not None and (b["kind"] == "delivered"
                                  or (b["kind"] == "unpacked" and names)):
            windows.append((start, b["time"]))
            start = None
    if start is not None:
        windows.append((start, END_OF_TIME))
    return windows


def check_container_bundles(genesis_doc, containers, named, lead, owner, lead_name):
    """§9b route step 3-4 (and version 3 step 4): the container bundles are exactly the
    containers `named` (by the `owner` events, in order of first mention), each with the head and
    certificate of `lead` (`lead_name`), and each verifies; returns (their subjects, results)."""
    given = []
    for i, cb in enumerate(containers):
        w = f"route.containers[{i}]"
        if not isinstance(cb, dict):
            fail(f"{w}: expected an object")
        if "subject" not in cb:
            fail(f"{w}: missing member(s) ['subject']")
        cs = obj(cb["subject"], f"{w}.subject", ("type", "id"))
        if cs["type"] != "container":
            fail(f"{w}.subject.type is {cs['type']!r}, not 'container'")
        given.append(cs["id"])
    for i in range(max(len(named), len(given))):
        if i >= len(given):
            fail(f"route.containers: container {named[i]} named by the {owner} events has no "
                 f"bundle (missing)")
        if i >= len(named):
            fail(f"route.containers[{i}]: container {given[i]!r} is not named by the {owner} "
                 f"events (extra)")
        if given[i] != named[i]:
            fail(f"route.containers[{i}]: subject {given[i]!r}, expected {named[i]} "
                 f"(containers in order of first mention: {named})")
    results = []
    for i, cb in enumerate(containers):
        w = f"route.containers[{i}] ({given[i]})"
        for member in ("head", "certificate"):
            if member not in cb:
                fail(f"{w}: missing member(s) [{member!r}]")
            if not same_json(cb[member], lead[member]):
                fail(f"{w}: {member} differs from {lead_name} {member}")
        try:
            results.append(verify_bundle(genesis_doc, cb))
        except VerifyError as e:
            raise VerifyError(f"{w}: {e}") from None
    return given, results


def check_route(genesis_doc, route, asked=None):
    """§9b steps 1-4, then the computed route timeline.  Returns
    (consignment bundle result, [(log index, event, source)]); raises VerifyError.  The
    result's "route_recorded" maps the log index of each timeline entry whose recorded time
    one of the route's bundles proves (§9 step 7: the consignment's, else the first
    container bundle's that does) to (height, time).  A version-3 route (a group's, §9b
    "Routes of groups") is checked by check_group_route; `asked` ((type, id), optional) is the
    subject the route was asked for, which must be the consignment (or one of the group)."""
    if isinstance(route, dict) and route.get("version") == 3:
        return check_group_route(genesis_doc, route, asked)
    if isinstance(route, list):
        # the pages of a large route (§9b): version 2, in order, one consignment bundle
        if not route or len(route) > MAX_ROUTE_PAGES:
            fail(f"route: 1 to {MAX_ROUTE_PAGES} pages, got {len(route)}")
        pages = route
        for i, page in enumerate(pages):
            if isinstance(page, dict) and page.get("version") == 3:
                fail(f"route[{i}]: version 3 (a group's route) is one bundle, never paged "
                     f"(§9b)")
    else:
        pages = [route]
    for i, page in enumerate(pages):
        obj(page, f"route[{i}]" if len(pages) > 1 else "route",
            ("version", "consignment", "containers"), ("containers_from",))
    whole = len(pages) == 1 and pages[0]["version"] == 1
    for i, page in enumerate(pages):
        if whole:
            if "containers_from" in page:
                fail("route.containers_from: only in a page (version 2)")
            continue
        integer(page["version"], f"route[{i}].version", 2, 2)
        if "containers_from" not in page:
            fail(f"route[{i}].containers_from: required in a page")
        integer(page["containers_from"], f"route[{i}].containers_from",
                i * MAX_CONTAINER_BUNDLES, i * MAX_CONTAINER_BUNDLES)
        array(page["containers"], f"route[{i}].containers", MAX_CONTAINER_BUNDLES)
        if i > 0 and not same_json(page["consignment"], pages[0]["consignment"]):
            fail(f"route[{i}].consignment: differs from the first page's")
    route = pages[0]
    # 1
    integer(route["version"], "route.version", 1, 2)
    cons = route["consignment"]
    if not isinstance(cons, dict):
        fail("route.consignment: expected an object")
    if "subject" not in cons:
        fail("route.consignment: missing member(s) ['subject']")
    subj = obj(cons["subject"], "consignment.subject", ("type", "id"))
    if subj["type"] != "consignment":
        fail(f"consignment.subject.type is {subj['type']!r}, not 'consignment'")
    containers = [cb for page in pages
                  for cb in array(page["containers"], "route.containers", MAX_CONTAINER_BUNDLES)]
    # 2
    try:
        res = verify_bundle(genesis_doc, cons)
    except VerifyError as e:
        raise VerifyError(f"consignment bundle: {e}") from None
    ucr = res["subject"][1]
    if asked is not None and tuple(asked) != ("consignment", ucr):
        fail(f"route: asked for {asked[0]} {asked[1]}, the route is consignment {ucr}'s")
    linked = [pos for pos, _, ev in res["rows"] if ev.body["kind"] == "linked"]
    if linked:
        # §8f, §9b: the consignment's group has more than one subject, so its route is the
        # group's (version 3), not this one
        fail(f"consignment: events[{linked[0]}] is a linked event: the consignment is linked "
             f"to trade identifiers, its route is its group's (version 3)")
    # 3
    named, mentioned = [], set()
    for _, _, ev in res["rows"]:
        c = ev.body.get("container")
        if c is not None and c not in mentioned:
            named.append(c)
            mentioned.add(c)
    need = max(1, -(-len(named) // MAX_CONTAINER_BUNDLES))
    if whole and len(named) > MAX_CONTAINER_BUNDLES:
        fail(f"route: the consignment names {len(named)} containers, more than one bundle "
             f"holds: it must come in pages (§9b)")
    if not whole and len(pages) != need:
        fail(f"route: the consignment names {len(named)} containers: {need} pages, "
             f"got {len(pages)}")
    given, results = check_container_bundles(
        genesis_doc, containers, named, cons, "consignment's", "the consignment bundle's")
    # timeline (computed, not trusted)
    rows, seen = [], set()
    for _, idx, ev in res["rows"]:
        rows.append((idx, ev, "consignment"))
        seen.add(idx)
    for c, cres in zip(given, results):
        windows = container_windows(res["rows"], c)
        for _, idx, ev in cres["rows"]:
            b = ev.body
            # 9b: an event naming trade identifiers belongs to their consignment (8f)
            if idx in seen or b.get("ucr", ucr) != ucr or "ids" in b:
                continue
            org = b["issuer"]["org"]
            if res["rules"] >= 2 and org not in res["parties"] and org not in res["customs"]:
                continue  # §8c: an outsider's container event is not part of the route
            if any(lo <= b["time"] <= hi for lo, hi in windows):
                rows.append((idx, ev, {"container": c}))
                seen.add(idx)
    rows.sort(key=lambda r: (r[1].body["time"], r[0]))
    # recorded times: a block entry of any bundle of the route proves it (all are verified
    # against the same head, under the same validator sets)
    res["route_recorded"] = {}
    for idx, _, _ in rows:
        rec = next((r["recorded"][idx] for r in [res] + results if idx in r["recorded"]), None)
        if rec is not None:
            res["route_recorded"][idx] = rec
    res["route_versions"] = [res["version"]] + [r["version"] for r in results]
    # §8g: a retraction and its target name the same subjects, so a bundle holding one holds
    # both; log indexes are the same in every bundle of the route (one head)
    res["route_retracted"] = route_retracted([res] + results)
    return res, rows


MAX_GROUP_SUBJECTS = 64  # §8f, §10: subjects of a group (route version 3)


def _subject_text(s) -> str:
    return f"{s[0]} {s[1]}"


def check_group_route(genesis_doc, route, asked=None):
    """§9b "Routes of groups" (version 3) steps 1-4, then the group's route timeline.  Returns
    (result, [(log index, event, source)]) as check_route does: the result is the first
    subject bundle's, with "group" (the subjects, (type, id), in the route's order),
    "subject_results" and the route's "route_recorded", "route_versions" and "warnings"."""
    # 1
    obj(route, "route", ("version", "subjects", "containers"))
    integer(route["version"], "route.version", 3, 3)
    bundles = array(route["subjects"], "route.subjects", MAX_GROUP_SUBJECTS)
    if not bundles:
        fail(f"route.subjects: 1 to {MAX_GROUP_SUBJECTS} subject bundles, got none")
    containers = array(route["containers"], "route.containers", MAX_CONTAINER_BUNDLES)
    group, last_key = [], None
    for i, sb in enumerate(bundles):
        w = f"route.subjects[{i}]"
        if not isinstance(sb, dict):
            fail(f"{w}: expected an object")
        if "subject" not in sb:
            fail(f"{w}: missing member(s) ['subject']")
        s = obj(sb["subject"], f"{w}.subject", ("type", "id"))
        if s["type"] not in ("consignment", "identifier"):
            fail(f"{w}.subject.type is {s['type']!r}, not 'consignment' or 'identifier'")
        check_id(s["id"], SUBJECT_ID_KINDS[s["type"]], f"{w}.subject.id")
        key = index_key(s["type"], s["id"])
        if last_key is not None and key <= last_key:
            fail(f"{w}: subject {s['type']} {s['id']} is not after the previous subject in "
                 f"the ascending order of index keys (§9b step 1: sorted, each subject once)")
        last_key = key
        group.append((s["type"], s["id"]))
    # 2
    first = bundles[0]
    results = []
    for i, sb in enumerate(bundles):
        w = f"route.subjects[{i}] ({_subject_text(group[i])})"
        for member in ("head", "certificate"):
            if member not in sb:
                fail(f"{w}: missing member(s) [{member!r}]")
            if i > 0 and not same_json(sb[member], first[member]):
                fail(f"{w}: {member} differs from route.subjects[0]'s {member}")
        try:
            results.append(verify_bundle(genesis_doc, sb))
        except VerifyError as e:
            raise VerifyError(f"{w}: {e}") from None
    # 3: closed, then connected from subjects[0], through the bundles' linked events
    members = {s: i for i, s in enumerate(group)}
    parent = list(range(len(group)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, res in enumerate(results):
        for pos, idx, ev in res["rows"]:
            if ev.body["kind"] != "linked":
                continue
            named = linked_subjects(ev.body)
            for s in named:
                if s not in members:
                    fail(f"route.subjects[{i}] ({_subject_text(group[i])}): event #{pos} "
                         f"(log index {idx}) links {_subject_text(s)}, which is not one of the "
                         f"route's subjects (the group is not closed, §9b step 3)")
            for s in named[1:]:
                parent[root(members[s])] = root(members[named[0]])
    for i, s in enumerate(group):
        if root(i) != root(0):
            fail(f"route.subjects[{i}] ({_subject_text(s)}): not reached from route.subjects[0] "
                 f"({_subject_text(group[0])}) through linked events (the group is not "
                 f"connected, §9b step 3)")
    if asked is not None and tuple(asked) not in members:
        fail(f"route: asked for {asked[0]} {asked[1]}, which is not one of the group's subjects "
             f"({', '.join(_subject_text(s) for s in group)})")
    # 4: the group events (each log index once) and the containers they name
    events, seen = [], set()
    for res in results:
        for pos, idx, ev in res["rows"]:
            if idx not in seen:
                seen.add(idx)
                events.append((pos, idx, ev))
    named = []
    for _, _, ev in events:
        c = ev.body.get("container")
        if c is not None and c not in named:
            named.append(c)
    given, cresults = check_container_bundles(
        genesis_doc, containers, named, first, "group's", "route.subjects[0]'s")
    # timeline (computed, not trusted): the group in the consignment's place
    lead = results[0]
    # §9b: the parties of the group's consignments (§9 step 6) and the group events' issuers
    insiders = set().union(*(r["parties"] for (t, _), r in zip(group, results)
                             if t == "consignment"))
    insiders |= {ev.body["issuer"]["org"] for _, _, ev in events}
    rows = [(idx, ev, "consignment") for _, idx, ev in events]
    for c, cres in zip(given, cresults):
        windows = container_windows(events, c)
        for _, idx, ev in cres["rows"]:
            b = ev.body
            if idx in seen or "ucr" in b or "ids" in b:
                continue
            org = b["issuer"]["org"]
            if lead["rules"] >= 2 and org not in insiders and org not in lead["customs"]:
                continue  # §8c, §9b: an outsider's container event is not part of the route
            if any(lo <= b["time"] <= hi for lo, hi in windows):
                rows.append((idx, ev, {"container": c}))
                seen.add(idx)
    rows.sort(key=lambda r: (r[1].body["time"], r[0]))
    res = dict(lead)
    res["group"] = group
    res["subject_results"] = results
    res["warnings"] = [w for r in results for w in r["warnings"]]
    res["route_recorded"] = {}
    for idx, _, _ in rows:
        rec = next((r["recorded"][idx] for r in results + cresults if idx in r["recorded"]),
                   None)
        if rec is not None:
            res["route_recorded"][idx] = rec
    res["route_versions"] = [r["version"] for r in results + cresults]
    res["route_retracted"] = route_retracted(results + cresults)
    return res, rows


def route_retracted(results):
    """§8g: {retracted log index: retraction log index} over the verified bundles of a
    route."""
    out = {}
    for r in results:
        out.update(r["retracted"])
    return out


def recorded_json(recorded, idx):
    """{"height", "time"} of the event at log `idx`, None if no block entry proves it."""
    if idx not in recorded:
        return None
    height, time = recorded[idx]
    return {"height": height, "time": time}


def verify_route(genesis_doc, route, asked=None):
    """§9b.  Returns the route timeline as a list of {"index", "id", "source", "recorded",
    "retracted_by"}; "recorded" is {"height", "time"} of the entry's block (§9 step 7) or None
    where no bundle proves it (always None with version-2 bundles); "retracted_by" the log
    index of the `retracted` event that retracts the entry (§8g), else None; raises
    VerifyError.  `asked`: the subject ((type, id)) the route was asked for, if it is to be
    checked (§9b step 3)."""
    res, rows = check_route(genesis_doc, route, asked)
    return [{"index": idx, "id": ev.id.hex(), "source": src,
             "recorded": recorded_json(res["route_recorded"], idx),
             "retracted_by": res["route_retracted"].get(idx)} for idx, ev, src in rows]


def print_route(res, rows):
    h = res["head"]
    if "group" in res:
        print(f"route     group of {len(res['group'])} subject(s): "
              f"{', '.join(_subject_text(s) for s in res['group'])}")
    else:
        print(f"route     consignment {res['subject'][1]}")
    print(f"head      chain {h['chain']} height {h['height']} time {iso_time(h['time'])} "
          f"log_size {h['log_size']}")
    print(f"certified {res['signers']} signatures, power {res['signed']} of {res['total']}")
    print_membership(res["membership"])
    recorded = res["route_recorded"]
    missing = [str(idx) for idx, _, _ in rows if idx not in recorded]
    if set(res["route_versions"]) == {2}:
        print("recorded  unknown: version-2 bundles have no blocks (§9 step 1)")
    else:
        print(f"recorded  {len(rows) - len(missing)} of {len(rows)} timeline entries"
              + (f"; no proven recorded time for log index {', '.join(missing)}" if missing
                 else ""))
    print(f"{'log':>6}  {'time (UTC)':<24}  {'recorded (UTC)':<24}  {'block':>6}  {'loc':<5}  "
          f"{'issuer':<20}  {'proven by':<23}  kind")
    times = {idx: ev.body["time"] for idx, ev, _ in rows}
    for idx, ev, src in rows:
        b = ev.body
        where = src if src == "consignment" else f"container {src['container']}"
        extra = event_extra(b) + retraction_extra(res["route_retracted"], times, idx)
        print(f"{idx:>6}  {iso_time(b['time']):<24}  {recorded_columns(recorded, idx)}  "
              f"{b.get('location', '-'):<5}  "
              f"{b['issuer']['org']:<20}  {where:<23}  {b['kind']}{extra}")
    for w in res["warnings"]:
        print(f"warning: {w}")


def cmd_route(genesis_path, route_path) -> int:
    try:
        res, rows = check_route(load_file(genesis_path, 64 << 20),
                                load_file(route_path, 256 << 20))
    except VerifyError as e:
        print(f"FAILED: {e}")
        return 1
    except (OSError, RecursionError, TypeError, ValueError, KeyError) as e:
        print(f"FAILED: malformed input ({type(e).__name__}: {e})")
        return 1
    print_route(res, rows)
    print("VERIFIED")
    return 0

# ------------------------------------------ §8h, §9e organisation answers (AEO)

def _applies(record, at: int) -> bool:
    """§8h: an AEO record applies at `at` if `from <= at` and, for a grant with `until`,
    `at < until`."""
    return record["from"] <= at and (record["status"] != "granted" or "until" not in record
                                     or at < record["until"])


def _pair(a: str, b: str):
    """An unordered pair of administrations (either one issues the arrangement)."""
    return (a, b) if a <= b else (b, a)


class Register:
    """§8h "Reading the records": the `aeo_status` and `mra` records of some organisation
    subjects' complete histories, by log position.  Built from verified bundles of the
    organisation subjects of X and Y, it answers "did X hold an AEO status recognised by Y
    at T" as recorded up to their head."""

    def __init__(self):
        self.aeo = {}  # (issuer, holder, authorisation) -> {log index: (aeo member, id)}
        self.mra = {}  # unordered administration pair -> {log index: (mra member, id)}

    def add(self, index: int, ev: Event):
        """Adds the event at log `index` (other kinds are ignored; an event met in two
        subjects' histories counts once)."""
        b = ev.body
        if b["kind"] == "aeo_status":
            a = b["aeo"]
            key = (b["issuer"]["org"], a["holder"], a["authorisation"])
            self.aeo.setdefault(key, {})[index] = (a, ev.id)
        elif b["kind"] == "mra":
            pair = _pair(b["issuer"]["org"], b["mra"]["partner"])
            self.mra.setdefault(pair, {})[index] = (b["mra"], ev.id)

    def held(self, holder: str, at: int):
        """The authorisations `holder` held at `at`: those whose record latest in the log
        among the ones that apply at `at` is a grant, in (issuer, authorisation) order, as
        {"issuer", "programme", "authorisation", "types", "event"}."""
        out = []
        for issuer, h, number in sorted(self.aeo):
            if h != holder:
                continue
            records = self.aeo[(issuer, h, number)]
            applying = [records[i] for i in sorted(records) if _applies(records[i][0], at)]
            if applying and applying[-1][0]["status"] == "granted":
                r, eid = applying[-1]
                out.append({"issuer": issuer, "programme": r["programme"],
                            "authorisation": number, "types": list(r["types"]),
                            "event": eid.hex()})
        return out

    def arrangement(self, a: str, b: str, at: int):
        """The arrangement between administrations `a` and `b` in force at `at` as (mra event
        id hex, types): of the pair's records with `from <= at`, the one latest in the log is
        in force; else None."""
        records = self.mra.get(_pair(a, b), {})
        applying = [records[i] for i in sorted(records) if records[i][0]["from"] <= at]
        if not applying or applying[-1][0]["status"] != "in_force":
            return None
        m, eid = applying[-1]
        return eid.hex(), list(m["types"])

    def recognised(self, holder: str, by: str, at: int):
        """§8h: did `holder` hold an AEO status recognised by administration `by` at `at`?
        `by`'s own authorisations for all their types, before others; another's for the types
        an arrangement with `by` in force at `at` covers (the intersection), the first in
        (issuer, authorisation) order.  The §9e `recognition` object."""
        held = self.held(holder, at)
        basis = next(((a, a["types"], None) for a in held if a["issuer"] == by), None)
        if basis is None:
            for a in held:
                if a["issuer"] == by:
                    continue
                found = self.arrangement(a["issuer"], by, at)
                if found is None:
                    continue
                types = [t for t in a["types"] if t in found[1]]
                if types:
                    basis = (a, types, found[0])
                    break
        out = {"holder": holder, "recognised_by": by, "at": at,
               "recognised": basis is not None}
        if basis is not None:
            out["authorisation"] = basis[0]
        out["types"] = list(basis[1]) if basis is not None else []
        if basis is not None and basis[2] is not None:
            out["arrangement"] = basis[2]
        out["held"] = held
        return out


ANSWER_MEMBERS = ("organisation", "bundles", "recognition")
MAX_ANSWER = 256 << 20  # an organisation answer's JSON: two proof bundles (§9 limits each)


def verify_organisation_answer(genesis_doc, answer, holder: str, recognised_by=None,
                               at=None):
    """§9e: an answer {"organisation", "bundles", "recognition"} to "did organisation
    `holder` hold an AEO status recognised by administration `recognised_by` (default
    `holder` itself) at `at` (default the head's time)".  `bundles` must be exactly the
    organisation subjects of `holder` and (when different) `recognised_by`, in that order;
    each verifies (§9) and both are at one head; the recognition is then computed from their
    records (§8h), not trusted.  Returns {"holder", "recognised_by", "at", "head",
    "results" (verify_bundle's, per bundle), "recognition" (the verified answer, the JSON
    form of §9e), "node_recognition_differs" (the members on which the node's informational
    `recognition` differs from it), "warnings"}; raises VerifyError."""
    obj(answer, "answer", ANSWER_MEMBERS)
    check_id(holder, "org", "holder")
    by = holder if recognised_by is None else recognised_by
    check_id(by, "org", "recognised_by")
    bundles = answer["bundles"]
    if not isinstance(bundles, list):
        fail("bundles: expected an array")
    expected = [("organisation", holder)] + ([("organisation", by)] if by != holder else [])
    got = []
    for b in bundles:
        s = b.get("subject") if isinstance(b, dict) else None
        got.append((s.get("type"), s.get("id")) if isinstance(s, dict) else ("?", "?"))

    def names(subjects):
        return ", ".join(_subject_text(x) for x in subjects) or "none"

    if got != expected:
        fail(f"bundles: expected the organisation subjects of {names(expected)}, got "
             f"{names(got)}")
    results = []
    for i, b in enumerate(bundles):
        try:
            results.append(verify_bundle(genesis_doc, b))
        except VerifyError as e:
            raise VerifyError(f"bundles[{i}]: {e}") from None
    head = results[0]["head"]
    for r in results[1:]:
        if r["head"]["height"] != head["height"]:
            fail(f"bundles: the bundles are at heads {head['height']} and "
                 f"{r['head']['height']}; both must be at one head")
        if head_bytes(r["head"]) != head_bytes(head):
            # not a rule of §9e, which names heights: two certified heads at one height
            # are conflicting heads (§7a)
            fail(f"bundles: two different heads at height {head['height']}; both must be at "
                 f"one head")
    if at is None:
        at = head["time"]
    at = integer(at, "at", 0, U64)
    register = Register()
    for r in results:
        for _, idx, ev in r["rows"]:
            register.add(idx, ev)
    ours = register.recognised(holder, by, at)
    warnings = []
    oid, role, keys = parse_organisation(answer["organisation"], "organisation")
    if oid != holder:
        fail(f"organisation.id: {oid} is not the organisation asked about ({holder})")
    member = results[0]["at_head"].orgs.get(holder)
    if member is None:
        warnings.append(f"organisation: {holder} is not a member in the membership at the "
                        f"head")
    elif member[0] != role or member[1] != set(keys):
        warnings.append(f"organisation: the role or keys the node gives for {holder} are not "
                        f"those of the membership at the head (role {member[0]})")
    node = answer["recognition"]
    if not isinstance(node, dict):
        differs = ["recognition"]
    else:
        differs = sorted(k for k in set(ours) | set(node)
                         if k not in ours or k not in node or jcs(ours[k]) != jcs(node[k]))
    if differs:
        warnings.append(f"recognition: the node's answer differs from the one its bundles "
                        f"prove in {', '.join(differs)} (informational, §9e: the verified "
                        f"answer is shown)")
    return {"holder": holder, "recognised_by": by, "at": at, "head": head,
            "results": results, "recognition": ours, "node_recognition_differs": differs,
            "organisation": answer["organisation"], "warnings": warnings}


def _authorisation_text(a) -> str:
    return (f"{a['authorisation']} of {a['issuer']} ({a['programme']}) for "
            f"{','.join(a['types'])}, event {a['event']}")


def print_organisation(res):
    h, rec, o = res["head"], res["recognition"], res["organisation"]
    print(f"organisation {o['id']} ({o['role']}) {o['name']!r}")
    print(f"head      chain {h['chain']} height {h['height']} time {iso_time(h['time'])} "
          f"log_size {h['log_size']}")
    lead = res["results"][0]
    print(f"certified {lead['signers']} signatures, power {lead['signed']} of {lead['total']}")
    print_membership(lead["membership"])
    for r in res["results"]:
        print(f"bundle    {_subject_text(r['subject'])}: {len(r['rows'])} record(s)")
    seen = set()
    for r in res["results"]:
        for _, idx, ev in r["rows"]:
            if idx in seen:
                continue
            seen.add(idx)
            b = ev.body
            print(f"{idx:>6}  {iso_time(b['time']):<24}  {b['issuer']['org']:<20}  "
                  f"{b['kind']}{event_extra(b)}")
    print(f"question  {rec['holder']} recognised by {rec['recognised_by']} at "
          f"{iso_time(rec['at'])} ({rec['at']})")
    if rec["recognised"]:
        print(f"answer    RECOGNISED for {','.join(rec['types'])}: "
              f"{_authorisation_text(rec['authorisation'])}")
        if "arrangement" in rec:
            print(f"          through the arrangement (mra event) {rec['arrangement']}")
    else:
        print("answer    NOT RECOGNISED")
    for a in rec["held"]:
        print(f"held      {_authorisation_text(a)}")
    if not rec["held"]:
        print("held      none")
    for w in res["warnings"]:
        print(f"warning: {w}")


def cmd_organisation(genesis_path, answer_path, holder, recognised_by=None, at=None) -> int:
    try:
        if at is not None:
            if not re.fullmatch(r"[0-9]{1,20}", at):
                fail(f"at: {at!r} is not milliseconds since 1970")
            at = int(at)
        res = verify_organisation_answer(load_file(genesis_path, 64 << 20),
                                         load_file(answer_path, MAX_ANSWER), holder,
                                         recognised_by, at)
    except VerifyError as e:
        print(f"FAILED: {e}")
        return 1
    except (OSError, RecursionError, TypeError, ValueError, KeyError, AttributeError) as e:
        print(f"FAILED: malformed input ({type(e).__name__}: {e})")
        return 1
    print_organisation(res)
    print("VERIFIED")
    return 0


# --------------------------------------------------------------- §11 vectors

RFC8032_SECRET = bytes.fromhex(
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")


def parse_vectors(text: str) -> dict[str, str]:
    m = re.search(r"<!-- vectors:begin -->(.*?)<!-- vectors:end -->", text, re.S)
    if not m:
        fail("no vectors block")
    out = {}
    for line in m.group(1).splitlines():
        if not line.strip() or line.startswith("```"):
            continue
        name, sep, value = line.partition(" = ")
        if not sep:
            fail(f"bad vector line {line!r}")
        out[name.strip()] = value
    return out


RFC8032_SECRET_2 = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
RFC8032_SECRET_3 = bytes.fromhex("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7")


def _leaf_text(leaf) -> str:
    return "none" if leaf is None else f"key={leaf[0].hex()},value_hash={leaf[1].hex()}"


def compute_vectors(v: dict[str, str]) -> dict[str, str]:
    """Recomputes every vector from the inputs described in §11."""
    got = {}
    sk = Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET)
    pk = sk.public_key().public_bytes_raw()
    got["public_key"] = pk.hex()
    got["detail_commitment"] = detail_commitment("hs_code", "850760", bytes(16)).hex()

    # event: canonical body, id, signature (re-signed), leaf
    wire = load_json(v["event_wire_json"])
    ev = Event(wire)
    got["event_canonical_body"] = ev.canonical.decode("utf-8")
    got["event_signing_bytes_prefix"] = EVENT_PREFIX.hex()
    got["event_id"] = ev.id.hex()
    resigned = sk.sign(ev.message)
    got["event_signature"] = resigned.hex()
    got["event_leaf_hash"] = leaf_hash(ev.id + resigned).hex()
    # the wire form is an input: it must be valid and its sig must verify
    ok = ev.signature_ok() and ev.key == pk and ev.sig == resigned
    got["event_wire_json"] = v["event_wire_json"] if ok else "<invalid signed event>"
    # the same body with `source` added (§8e): canonical body and id
    sourced = dict(wire["body"], source={"standard": "dcsa",
                                         "id": "84db923d-2a19-4eb0-beb5-446c1ec57d34"})
    sourced_canon = check_body(sourced)
    got["event_sourced_canonical_body"] = sourced_canon.decode("utf-8")
    got["event_sourced_id"] = H(EVENT_PREFIX + sourced_canon).hex()
    # the same body with `offset` added (§3.2): canonical body and id
    offset_canon = check_body(dict(wire["body"], offset="+01:00"))
    got["event_offset_canonical_body"] = offset_canon.decode("utf-8")
    got["event_offset_id"] = H(EVENT_PREFIX + offset_canon).hex()

    # Merkle over leaves b"\x00" .. b"\x06"
    leaves = [bytes([i]) for i in range(7)]
    got["merkle_empty_root"] = mth([]).hex()
    got["merkle_leaf_0"] = leaf_hash(leaves[0]).hex()
    for n in (1, 2, 3, 5, 7):
        got[f"merkle_root_{n}"] = mth(leaves[:n]).hex()
    root7 = mth(leaves)
    path = inclusion_path(2, leaves)
    ok = verify_inclusion(2, 7, path, leaves[2], root7)
    got["merkle_inclusion_2_of_7"] = ",".join(p.hex() for p in path) if ok else "<does not verify>"
    for m in (3, 4):
        path = consistency_path(m, leaves)
        ok = verify_consistency(m, 7, path, mth(leaves[:m]), root7)
        got[f"merkle_consistency_{m}_to_7"] = (",".join(p.hex() for p in path)
                                               if ok else "<does not verify>")
    # the published paths must verify too (not only our own)
    pub = [bytes.fromhex(x) for x in v["merkle_inclusion_2_of_7"].split(",")]
    if not verify_inclusion(2, 7, pub, leaves[2], root7):
        got["merkle_inclusion_2_of_7"] = "<published path does not verify>"
    for m in (3, 4):
        pub = [bytes.fromhex(x) for x in v[f"merkle_consistency_{m}_to_7"].split(",")]
        if not verify_consistency(m, 7, pub, mth(leaves[:m]), root7):
            got[f"merkle_consistency_{m}_to_7"] = "<published path does not verify>"

    # subject index: the event under its consignment and its container
    b = ev.body
    kc, kk = index_key("consignment", b["ucr"]), index_key("container", b["container"])
    acc = index_acc([ev.id])
    vh = value_hash(1, acc)
    got["index_key_consignment"], got["index_key_container"] = kc.hex(), kk.hex()
    got["index_entry_acc"], got["index_entry_value_hash"] = acc.hex(), vh.hex()
    entries = {kc: vh, kk: vh}
    iroot = smt_root(entries)
    got["index_root"] = iroot.hex()
    sibs, leaf = smt_proof(entries, kc)
    try:
        ok = verify_index_proof(kc, iroot, sibs, leaf) == vh
        pub = [bytes.fromhex(x) for x in v["index_proof_consignment_siblings"].split(",")]
        ok = ok and verify_index_proof(kc, iroot, pub, (kc, vh)) == vh
    except VerifyError:
        ok = False
    got["index_proof_consignment_siblings"] = (",".join(s.hex() for s in sibs)
                                               if ok else "<does not verify>")
    got["index_proof_consignment_leaf"] = _leaf_text(leaf)
    # absence proof for a consignment with no event
    ka = index_key("consignment", "6NL000000000-ZZ")
    got["index_absent_key"] = ka.hex()
    sibs_a, leaf_a = smt_proof(entries, ka)
    try:
        ok = verify_index_proof(ka, iroot, sibs_a, leaf_a) is None
    except VerifyError:
        ok = False
    got["index_proof_absent_siblings"] = (",".join(x.hex() for x in sibs_a)
                                          if ok else "<does not verify>")
    got["index_proof_absent_leaf"] = _leaf_text(leaf_a)

    # three validators: RFC 8032 tests 1, 2, 3 with powers 1, 2, 3, sorted by key bytes
    three = []
    for seed, power in ((RFC8032_SECRET, 1), (RFC8032_SECRET_2, 2), (RFC8032_SECRET_3, 3)):
        key = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
        three.append((key, power))
    three.sort(key=lambda kp: kp[0])
    got["validator_set_3_json"] = json.dumps(
        [{"org": "blue-anchor-lines", "key": k.hex(), "power": p} for k, p in three],
        separators=(",", ":"))
    got["validator_set_3_hash"] = validators_hash(three).hex()

    # genesis, validator set
    gen = Genesis(load_json(v["genesis_json"]))
    got["genesis_json"] = v["genesis_json"]  # input; parsed and validated above
    got["genesis_hash"] = gen.hash.hex()
    vset = validators_hash([(pk, 1)])
    got["validator_set_hash"] = vset.hex()
    if validators_hash(gen.validators.items()) != vset:
        got["validator_set_hash"] += " (differs from genesis_json validators)"

    # head and precommit
    head = {"chain": "tradelog-vectors", "height": 1, "time": 1767225601000,
            "prev": gen.hash, "log_size": 7, "log_root": root7, "index_root": iroot,
            "validators": vset}
    hb = head_bytes(head)
    hh = H(hb)
    got["head_bytes"], got["head_hash"] = hb.hex(), hh.hex()
    pm = precommit("tradelog-vectors", 1, 0, hh)
    got["precommit_message"] = pm.hex()
    psig = sk.sign(pm)
    got["precommit_signature"] = psig.hex()
    if not verify_sig(pk, pm, bytes.fromhex(v["precommit_signature"])):
        got["precommit_signature"] = "<published signature does not verify>"
    # the published certificate must certify the head under the genesis set
    cert = {"height": 1, "round": 0, "head": hh.hex(),
            "signatures": [{"validator": pk.hex(), "sig": v["precommit_signature"]}]}
    try:
        verify_certificate(cert, head, gen.validators)
    except VerifyError as e:
        got["precommit_signature"] = f"<certificate refused: {e}>"

    # membership (§5 key, §8a approval and event), built from the §11 description
    got["index_key_membership"] = index_key("membership", "").hex()
    pk2 = Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET_2).public_key().public_bytes_raw()
    change = {"type": "add_key", "org": "blue-anchor-lines", "key": pk2.hex()}
    am = approval_message("tradelog-vectors", 1, change)
    got["membership_approval_message"] = am.hex()
    asig = sk.sign(am)
    got["membership_approval_signature"] = asig.hex()
    body = {"v": 1, "chain": "tradelog-vectors", "kind": "membership", "time": 1767225600000,
            "refs": [], "documents": [], "details": {},
            "issuer": {"org": "blue-anchor-lines", "key": pk.hex()},
            "membership": {"seq": 1, "change": change,
                           "approvals": [{"validator": pk.hex(), "sig": asig.hex()}]}}
    mev = Event({"body": body, "sig": sk.sign(EVENT_PREFIX + jcs(body)).hex()})
    got["membership_event_id"] = mev.id.hex()
    # the published wire form is an input: same body, our signature, and admitted with its
    # change allowed (seq 1, approval by the genesis validator) under genesis_json
    try:
        pub = Event(load_json(v["membership_event_json"]))
        if pub.canonical != mev.canonical or pub.sig != mev.sig:
            fail("differs from the event described in §11")
        m = gen.membership()
        m.admit(pub)
        m.check_change(pub, 1, gen.validators)
        got["membership_event_json"] = v["membership_event_json"]
    except (VerifyError, KeyError) as e:
        got["membership_event_json"] = f"<invalid membership event: {e}>"
    got.update(transitions_vectors(v, gen))
    got.update(identifier_vectors(v, gen, sk))
    got.update(retracted_vectors(v, gen, sk, wire["body"], ev))
    got.update(aeo_vectors(v, sk, wire["body"]))
    zip215_vectors(got, pk)
    return got


def _signed_vector(name, v, sk, body, out, check=None):
    """`<name>_canonical_body`, `<name>_id` and `<name>_wire_json` of `body` (built here from
    its §11 description, signed with `sk`): the published wire form must be that event, with
    a signature that verifies; `check(event)` may refuse it further.  Returns the Event."""
    canon = check_body(body)
    sig = sk.sign(EVENT_PREFIX + canon)
    out[f"{name}_canonical_body"] = canon.decode("utf-8")
    out[f"{name}_id"] = H(EVENT_PREFIX + canon).hex()
    ours = Event({"body": body, "sig": sig.hex()})
    try:
        pub = Event(load_json(v[f"{name}_wire_json"]))
        if pub.canonical != canon or pub.sig != sig or not pub.signature_ok():
            fail("differs from the event described in §11")
        if check is not None:
            check(pub)
        out[f"{name}_wire_json"] = '{"body":' + canon.decode("utf-8") + ',"sig":"' + \
            sig.hex() + '"}'
    except (VerifyError, KeyError) as e:
        out[f"{name}_wire_json"] = f"<invalid {name} event: {e}>"
    return ours


VECTOR_ADVANCE = (("hs_code", "850760"), ("declared_value", "12500.00"), ("currency", "USD"),
                  ("consignor_country", "CN"), ("consignee_country", "NL"),
                  ("item_count", "240"), ("gross_weight_kg", "3120"))


def aeo_vectors(v, sk, base) -> dict[str, str]:
    """§11 event_aeo_*, mra_terms_message, mra_approval_signature, event_mra_*,
    event_advance_*, event_risk_* (§8h, §8i; structural vectors signed with the key whatever
    the issuer's role, so not admitted under genesis_json) and index_key_organisation (§5,
    type 0x05), each built from its §11 description."""
    pk = sk.public_key().public_bytes_raw()
    out = {"index_key_organisation": index_key("organisation", "shopfast").hex()}
    reduced = {k: val for k, val in base.items()
               if k not in ("ucr", "container", "location", "transport")}
    reduced.update(documents=[], details={}, issuer={"org": "blue-anchor-lines", "key": pk.hex()})
    aeo = dict(reduced, kind="aeo_status",
               aeo={"holder": "shopfast", "programme": "nl_aeo",
                    "authorisation": "NLAEOF0000001234", "status": "granted",
                    "types": ["customs_simplifications", "security_safety"],
                    "from": 1767225600000, "until": 1861833600000})
    _signed_vector("event_aeo", v, sk, aeo, out)
    # the terms, countersigned with the RFC 8032 test 2 key; the published signature must
    # verify under its public key (§1 rules)
    sk2 = Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET_2)
    pk2 = sk2.public_key().public_bytes_raw()
    terms = terms_message("tradelog-vectors", "blue-anchor-lines", "de-customs", 1767225600000,
                          ["security_safety"])
    out["mra_terms_message"] = terms.hex()
    asig = sk2.sign(terms)
    out["mra_approval_signature"] = asig.hex()
    try:
        if not verify_sig(pk2, terms, unhex(v["mra_approval_signature"], 64,
                                            "mra_approval_signature")):
            out["mra_approval_signature"] = "<published signature does not verify>"
    except VerifyError as e:
        out["mra_approval_signature"] = f"<{e}>"
    mra = dict(reduced, kind="mra",
               mra={"partner": "de-customs", "status": "in_force", "from": 1767225600000,
                    "types": ["security_safety"],
                    "approval": {"key": pk2.hex(), "sig": asig.hex()}})

    def countersigned(ev):
        m = ev.body["mra"]
        msg = terms_message(ev.body["chain"], ev.body["issuer"]["org"], m["partner"],
                            m["from"], m["types"])
        if bytes.fromhex(m["approval"]["key"]) != pk2 or \
                not verify_sig(pk2, msg, bytes.fromhex(m["approval"]["sig"])):
            fail("its approval is not the test 2 key's signature over its terms")

    _signed_vector("event_mra", v, sk, mra, out, countersigned)
    details = {n: detail_commitment(n, val, bytes(16)).hex() for n, val in VECTOR_ADVANCE}
    advance = dict(reduced, kind="advance_data", ucr=base["ucr"], details=details)
    filed = _signed_vector("event_advance", v, sk, advance, out)
    risk = dict(reduced, kind="risk_referred", ucr=base["ucr"], time=1767229200000,
                refs=[filed.id.hex()], reason="r12_undervaluation")

    def assesses(ev):
        # a consignment history of the advance data, then the outcome, keeps §8i; the
        # outcome alone does not
        if first_unassessed_outcome([filed, ev]) is not None or \
                first_unassessed_outcome([ev]) != 0:
            fail("does not assess the event_advance_* event")

    _signed_vector("event_risk", v, sk, risk, out, assesses)
    return out


VECTOR_BL = "bl:blue-anchor-lines:BALRTM0001"
VECTOR_BKG = "bkg:blue-anchor-lines:BK12345"
VECTOR_SSCC = "sscc:106141412345678908"


def identifier_vectors(v, gen, sk) -> dict[str, str]:
    """§11 index_key_identifier_* (§5 key 0x04) and event_linked_* (§3.4, §8f): the linked
    event is built from its description, signed with the key, and must be admitted under
    genesis_json (its issuer, a carrier, links its own B/L and booking and an SSCC)."""
    out = {"index_key_identifier_bl": index_key("identifier", VECTOR_BL).hex(),
           "index_key_identifier_sscc": index_key("identifier", VECTOR_SSCC).hex()}
    pk = sk.public_key().public_bytes_raw()
    body = {"v": 1, "chain": "tradelog-vectors", "ucr": "6NL123456789-AB", "kind": "linked",
            "time": 1767225600000, "ids": [VECTOR_BKG, VECTOR_BL, VECTOR_SSCC],
            "refs": [], "documents": [], "details": {},
            "issuer": {"org": "blue-anchor-lines", "key": pk.hex()}}
    canon = check_body(body)
    sig = sk.sign(EVENT_PREFIX + canon)
    out["event_linked_canonical_body"] = canon.decode("utf-8")
    out["event_linked_id"] = H(EVENT_PREFIX + canon).hex()
    wire = '{"body":' + canon.decode("utf-8") + ',"sig":"' + sig.hex() + '"}'
    try:
        pub = Event(load_json(v["event_linked_wire_json"]))
        if pub.canonical != canon or pub.sig != sig:
            fail("differs from the event described in §11")
        gen.membership().admit(pub)
        out["event_linked_wire_json"] = wire
    except (VerifyError, KeyError) as e:
        out["event_linked_wire_json"] = f"<invalid linked event: {e}>"
    return out


def retracted_vectors(v, gen, sk, base, original) -> dict[str, str]:
    """§11 event_retracted_* (§3.4, §8g): the vectors' body as a `retracted` event naming the
    event_sourced_* event by its source, built from its description and signed with the key;
    the published wire form must be that event, admitted under genesis_json, and a bundle of
    the sourced event and the retraction keeps rule 8g (a retraction by event id too)."""
    pk = sk.public_key().public_bytes_raw()
    body = {k: val for k, val in base.items() if k not in ("location", "transport")}
    body.update(kind="retracted", time=1767225660000, documents=[], details={},
                retracts={"source": {"standard": "dcsa",
                                     "id": "84db923d-2a19-4eb0-beb5-446c1ec57d34"}},
                issuer={"org": "blue-anchor-lines", "key": pk.hex()})
    canon = check_body(body)
    sig = sk.sign(EVENT_PREFIX + canon)
    out = {"event_retracted_canonical_body": canon.decode("utf-8"),
           "event_retracted_id": H(EVENT_PREFIX + canon).hex()}
    wire = '{"body":' + canon.decode("utf-8") + ',"sig":"' + sig.hex() + '"}'
    try:
        pub = Event(load_json(v["event_retracted_wire_json"]))
        if pub.canonical != canon or pub.sig != sig:
            fail("differs from the event described in §11")
        gen.membership().admit(pub)
        # its target: the vectors' event with the event_sourced_* source
        sourced = dict(base, source={"standard": "dcsa",
                                     "id": "84db923d-2a19-4eb0-beb5-446c1ec57d34"})
        target = Event({"body": sourced,
                        "sig": sk.sign(EVENT_PREFIX + check_body(sourced)).hex()})
        if retraction_targets([original, target, pub]) != {1: 2}:
            fail("does not retract the event_sourced_* event")
        out["event_retracted_wire_json"] = wire
    except (VerifyError, KeyError) as e:
        out["event_retracted_wire_json"] = f"<invalid retracted event: {e}>"
    return out


def transitions_vectors(v, gen) -> dict[str, str]:
    """§11 membership_proof_*: the published proof must be the ledger described (two
    set_validators changes, heights 1 and 2, head at height 3), and the verdicts recomputed."""
    out = {}
    doc = load_json(v["membership_proof_json"])
    obj(doc, "membership_proof_json", ("head", "certificate", "membership"))
    head = parse_head(doc["head"])
    ok = head["height"] == 3 and len(doc["membership"]["transitions"]) == 2
    kinds = [e["event"]["body"]["membership"]["change"]["type"]
             for e in doc["membership"]["events"]]
    ok = ok and kinds == ["set_validators", "set_validators"]
    out["membership_proof_json"] = v["membership_proof_json"] if ok else "<not the §11 ledger>"

    def verdict(drop):
        mp = copy.deepcopy(doc["membership"])
        mp["transitions"] = [t for i, t in enumerate(mp["transitions"]) if i not in drop]
        try:
            verify_membership(gen, head, doc["certificate"], mp)
            return "1"
        except VerifyError:
            return "0"

    out["membership_proof_verdicts"] = (
        f"honest={verdict(())} without_transitions={verdict((0, 1))} "
        f"without_first={verdict((0,))} without_second={verdict((1,))}")
    return out


def small_order_encodings() -> list[bytes]:
    """§11: the canonical encodings of the 8 points of small order, then the 6 non-canonical
    encodings that decode to one of them, each group sorted as little-endian integers.  The
    torsion subgroup is found as the multiples of [L]P for a point P with an order-8 part."""
    t8 = None
    for y in range(2, 256):
        pt = decode_zip215(y.to_bytes(32, "little"))
        if pt is not None:
            q = _emul(_L, _ext(pt))
            if point_order(q) == 8:
                t8 = q
                break
    pts, cur = [], _ID
    for _ in range(8):
        pts.append(cur)
        cur = _eadd(cur, t8)
    canonical = sorted({encode_point(q) for q in pts}, key=lambda b: int.from_bytes(b, "little"))
    cands = [(_P + y + (sign << 255)).to_bytes(32, "little") for y in (0, 1) for sign in (0, 1)]
    cands += [bytes(c[:31]) + bytes([c[31] ^ 0x80]) for c in canonical]
    non = set()
    for c in cands:
        pt = decode_zip215(c)
        if pt is not None and point_order(_ext(pt)) and encode_point(_ext(pt)) != c:
            non.add(c)
    return canonical + sorted(non, key=lambda b: int.from_bytes(b, "little"))


def _verdicts(cases, msg) -> str:
    raw = "".join("1" if zip215_verify(a, msg, sig) else "0" for a, sig in cases)
    trade = ""
    for a, sig in cases:
        try:
            check_public_key(a, "A")
            trade += "1" if verify_sig(a, msg, sig) else "0"
        except VerifyError:
            trade += "0"
    return f"zip215={raw} tradelog={trade}"


def zip215_vectors(got, pk: bytes):
    """§11 ZIP-215 vectors, recomputed from their description."""
    msg = b"Zcash"
    got["zip215_message"] = msg.hex()
    enc = small_order_encodings()
    for i, e in enumerate(enc):
        pt = _ext(decode_zip215(e))
        canon = "canonical" if encode_point(pt) == e else "non-canonical"
        got[f"zip215_small_order_{i:02}"] = f"{e.hex()} order={point_order(pt)} {canon}"
    for i, a in enumerate(enc):
        got[f"zip215_small_order_verdicts_a{i:02}"] = _verdicts(
            [(a, r + bytes(32)) for r in enc], msg)
    got["zip215_s_equal_l_verdicts_a00"] = _verdicts(
        [(enc[0], r + _L.to_bytes(32, "little")) for r in enc], msg)
    sk = Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET)
    good = sk.sign(b"")
    bad = good[:32] + (int.from_bytes(good[32:], "little") + _L).to_bytes(32, "little")
    got["zip215_non_canonical_s_signature"] = bad.hex()
    got["zip215_non_canonical_s_verdicts"] = _verdicts([(pk, good), (pk, bad)], b"")
    # torsion in R, then in the key: a = the key's secret scalar (RFC 8032 5.1.5)
    h = hashlib.sha512(RFC8032_SECRET).digest()
    a = int.from_bytes(h[:32], "little")
    a = (a & ((1 << 254) - 8)) | (1 << 254)
    t = _ext(decode_zip215(enc[2]))
    assert point_order(t) == 8

    def sign_with(key: bytes, text: str, torsion):
        r = int.from_bytes(hashlib.sha512(text.encode()).digest(), "little") % _L
        big_r = encode_point(_eadd(_emul(r, _B), torsion))
        k = int.from_bytes(hashlib.sha512(big_r + key + msg).digest(), "little") % _L
        return big_r + ((r + k * a) % _L).to_bytes(32, "little")

    sig_r = sign_with(pk, "tradelog zip215 mixed-order R", t)
    got["zip215_mixed_order_r_signature"] = sig_r.hex()
    got["zip215_mixed_order_r_verdict"] = _verdicts([(pk, sig_r)], msg)
    mixed = encode_point(_eadd(_ext(_decode_point(pk)), t))
    sig_a = sign_with(mixed, "tradelog zip215 mixed-order A", _ID)
    got["zip215_mixed_order_a_key"] = mixed.hex()
    got["zip215_mixed_order_a_signature"] = sig_a.hex()
    got["zip215_mixed_order_a_verdict"] = _verdicts([(mixed, sig_a)], msg)


def cmd_vectors(path) -> int:
    with open(path, encoding="utf-8") as f:
        expected = parse_vectors(f.read())
    try:
        got = compute_vectors(expected)
    except (VerifyError, KeyError) as e:
        print(f"FAIL inputs: cannot recompute vectors: {e}")
        return 1
    failures = 0
    for name, exp in expected.items():
        if name not in got:
            failures += 1
            print(f"FAIL {name}: no independent recomputation implemented")
        elif got[name] == exp:
            print(f"ok {name}")
        else:
            failures += 1
            print(f"FAIL {name}: expected {exp} got {got[name]}")
    for name in sorted(set(got) - set(expected)):
        failures += 1
        print(f"FAIL {name}: missing from the vectors block")
    print(f"{len(expected) - failures} ok, {failures} failed")
    return 1 if failures else 0


def main(argv) -> int:
    if len(argv) == 3 and argv[1] == "vectors":
        return cmd_vectors(argv[2])
    if len(argv) == 4 and argv[1] == "bundle":
        return cmd_bundle(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "route":
        return cmd_route(argv[2], argv[3])
    if 5 <= len(argv) <= 7 and argv[1] == "organisation":
        return cmd_organisation(*argv[2:])
    print(__doc__.strip().splitlines()[0])
    print("usage: tradelog_verify.py vectors PROTOCOL.md\n"
          "       tradelog_verify.py bundle GENESIS.json BUNDLE.json\n"
          "       tradelog_verify.py route GENESIS.json ROUTE.json\n"
          "       tradelog_verify.py organisation GENESIS.json ANSWER.json ID "
          "[RECOGNISED_BY [AT]]", file=sys.stderr)
    return 2


def cli():
    """The `tradelog-verify` command of the installed package."""
    sys.exit(main(sys.argv))


if __name__ == "__main__":
    cli()
