"""Tests for tradelog_verify.py.  From /work/main:

    python3 -m unittest discover -s interop/python
"""

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import tradelog_verify as tv  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

SCRIPT = os.path.join(HERE, "tradelog_verify.py")
SPEC = os.path.join(ROOT, "docs", "PROTOCOL.md")


class Identifiers(unittest.TestCase):
    def test_locode_country_is_iso3166_or_xz(self):
        self.assertEqual(len(tv.ISO3166_ALPHA2), 249)
        for good in ["NLRTM", "DEHAM", "US2AX", "XZAAA"]:
            tv.check_id(good, "locode", "body.location")
        for bad in ["XYABC", "AAABC", "UKLON", "nlrtm", "NLRT1"]:
            with self.assertRaises(tv.VerifyError, msg=bad):
                tv.check_id(bad, "locode", "body.location")


class Vectors(unittest.TestCase):
    def test_spec_vectors(self):
        r = subprocess.run([sys.executable, SCRIPT, "vectors", SPEC],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("FAIL", r.stdout)

    def test_membership_vectors_recomputed(self):
        r = subprocess.run([sys.executable, SCRIPT, "vectors", SPEC],
                           capture_output=True, text=True)
        for name in ("index_key_membership", "membership_approval_message",
                     "membership_approval_signature", "membership_event_json",
                     "membership_event_id"):
            self.assertIn(f"ok {name}\n", r.stdout)

    def test_small_order_key_forgery_refused(self):
        # identity key, R = B, S = 1: [S]B = R + [k]A holds for every message. The ZIP-215
        # equation alone accepts it (as OpenSSL does); key vetting (section 1) refuses the key.
        identity = (1).to_bytes(32, "little")
        base = bytes.fromhex("58" + "66" * 31)
        sig = base + (1).to_bytes(32, "little")
        self.assertTrue(tv.zip215_verify(identity, b"any message", sig))
        with self.assertRaises(tv.VerifyError):
            tv.check_public_key(identity, "key")

    def test_zip215_vectors_recomputed(self):
        r = subprocess.run([sys.executable, SCRIPT, "vectors", SPEC],
                           capture_output=True, text=True)
        names = [f"zip215_small_order_{i:02}" for i in range(14)]
        names += [f"zip215_small_order_verdicts_a{i:02}" for i in range(14)]
        names += ["zip215_message", "zip215_s_equal_l_verdicts_a00",
                  "zip215_non_canonical_s_signature", "zip215_non_canonical_s_verdicts",
                  "zip215_mixed_order_r_signature", "zip215_mixed_order_r_verdict",
                  "zip215_mixed_order_a_key", "zip215_mixed_order_a_signature",
                  "zip215_mixed_order_a_verdict"]
        for name in names:
            self.assertIn(f"ok {name}\n", r.stdout)

    def test_zip215_agrees_with_openssl_on_honest_and_tampered(self):
        # Honest signatures pass both the fast path and the pure check; a flipped bit fails both.
        sk = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
        pk = sk.public_key().public_bytes_raw()
        for n in range(8):
            msg = bytes([n]) * n
            sig = sk.sign(msg)
            self.assertTrue(tv.zip215_verify(pk, msg, sig))
            self.assertTrue(tv.verify_sig(pk, msg, sig))
            bad = bytearray(sig)
            bad[n * 7] ^= 1
            self.assertFalse(tv.zip215_verify(pk, msg, bytes(bad)))
            self.assertFalse(tv.verify_sig(pk, msg, bytes(bad)))

    def test_mixed_order_signature_needs_the_pure_check(self):
        # The vector whose R has a torsion component: OpenSSL (cofactorless) refuses it,
        # ZIP-215 accepts it, so verify_sig must fall back to the pure check.
        with open(SPEC, encoding="utf-8") as f:
            v = tv.parse_vectors(f.read())
        pk = bytes.fromhex(v["public_key"])
        sig = bytes.fromhex(v["zip215_mixed_order_r_signature"])
        msg = bytes.fromhex(v["zip215_message"])
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        with self.assertRaises(InvalidSignature):
            Ed25519PublicKey.from_public_bytes(pk).verify(sig, msg)
        self.assertTrue(tv.verify_sig(pk, msg, sig))


_SAMPLE = {}


def sample_dir():
    """Runs the sample_bundle example once per test run; its files are shared by
    the Bundle and Route classes."""
    if "dir" not in _SAMPLE:
        if shutil.which("cargo") is None:
            raise unittest.SkipTest("cargo not found: cannot generate a sample bundle")
        tmp = tempfile.mkdtemp(prefix="tradelog-interop-")
        try:
            subprocess.run(["cargo", "run", "-q", "-p", "tradelog-protocol",
                            "--example", "sample_bundle", "--", tmp, "pages"],
                           cwd=ROOT, check=True, capture_output=True, timeout=1800)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _SAMPLE["dir"] = tmp
    return _SAMPLE["dir"]


def tearDownModule():
    if "dir" in _SAMPLE:
        shutil.rmtree(_SAMPLE.pop("dir"), ignore_errors=True)


def load(path):
    with open(path) as f:
        return json.load(f)


def dev_key(name):
    """The sample network's insecure dev keys (sample_bundle.rs): the Ed25519 seed is
    D("tradelog/dev-key/v1", name)."""
    return Ed25519PrivateKey.from_private_bytes(tv.D("tradelog/dev-key/v1", name.encode()))


def public_hex(sk):
    return sk.public_key().public_bytes_raw().hex()


def resign(wire, sk):
    """Signs a (possibly altered) event body again, as issuer key `sk`."""
    wire["body"]["issuer"]["key"] = public_hex(sk)
    wire["sig"] = sk.sign(tv.EVENT_PREFIX + tv.jcs(tv.canonical_form(wire["body"]))).hex()


def sign_certificate(cert, head_json, keys):
    """Replaces cert's signatures by precommits of `keys` over head_json."""
    head = tv.parse_head(head_json)
    msg = tv.precommit(head["chain"], head["height"], cert["round"],
                       tv.H(tv.head_bytes(head)))
    cert["signatures"] = [{"validator": public_hex(k), "sig": k.sign(msg).hex()}
                          for k in keys]


CARRIER = "north-star-shipping"  # consignment 1's carrier, which rotates its key
OLD_VALIDATORS = [dev_key(f"validator/{o}") for o in
                  ("nl-customs", "de-customs", "blue-anchor-lines")]
LEFT = dev_key("validator/north-star-shipping")  # not in the set after set_validators
NEWCOMER = dev_key("validator/rhine-barge")


class Bundle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = sample_dir()
        cls.genesis_path = os.path.join(cls.tmp, "genesis.json")
        cls.bundle_path = os.path.join(cls.tmp, "bundle.json")
        cls.genesis = load(cls.genesis_path)
        cls.bundle = load(cls.bundle_path)

    def refuse(self, mutate, expect=""):
        b = copy.deepcopy(self.bundle)
        mutate(b)
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_bundle(self.genesis, b)
        self.assertIn(expect, str(cm.exception))
        return str(cm.exception)

    def test_honest_bundle_verifies(self):
        r = subprocess.run([sys.executable, SCRIPT, "bundle",
                            self.genesis_path, self.bundle_path],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.rstrip().endswith("VERIFIED"), r.stdout)

    def test_drop_event(self):
        self.refuse(lambda b: b["events"].pop(3), "completeness")

    def test_swap_events(self):
        def swap(b):
            e = b["events"]
            e[2], e[3] = e[3], e[2]
        self.refuse(swap, "event #3")

    def test_alter_location(self):
        def relocate(b):
            body = next(e["event"]["body"] for e in b["events"]
                        if "location" in e["event"]["body"])
            body["location"] = "BEANR" if body["location"] != "BEANR" else "NLRTM"
        self.refuse(relocate, "signature")

    def test_flip_inclusion_proof_byte(self):
        def flip(b):
            p = b["events"][5]["proof"]
            p[0] = "%02x" % (int(p[0][:2], 16) ^ 1) + p[0][2:]
        self.refuse(flip, "event #5")

    def test_remove_certificate_signature(self):
        self.assertEqual(len(self.bundle["certificate"]["signatures"]), 3)
        self.refuse(lambda b: b["certificate"]["signatures"].pop(), "quorum")

    def test_change_log_root(self):
        # the membership proof's events are checked against head.log_root before the
        # certificate (section 9d steps 2-4)
        def reroot(b):
            b["head"]["log_root"] = "00" * 32
        self.refuse(reroot, "head.log_root")

    def test_version_1_refused(self):
        def v1(b):
            b["version"] = 1
        self.refuse(v1, "bundle.version")

    def test_membership_proof_missing(self):
        self.refuse(lambda b: b.pop("membership"), "missing member(s) ['membership']")


class Membership(unittest.TestCase):
    """Section 8a / 9d: the sample's membership history and lies about it."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = sample_dir()
        cls.genesis = load(os.path.join(cls.tmp, "genesis.json"))
        cls.bundle = load(os.path.join(cls.tmp, "bundle.json"))
        mp = cls.bundle["membership"]
        cls.kinds = [e["event"]["body"]["membership"]["change"]["type"] for e in mp["events"]]
        cls.revoked_at = mp["events"][cls.kinds.index("revoke_key")]["index"]

    def refuse(self, mutate, *expect):
        b = copy.deepcopy(self.bundle)
        mutate(b)
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_bundle(self.genesis, b)
        for e in expect:
            self.assertIn(e, str(cm.exception))
        if os.environ.get("SHOW_ERRORS"):
            print(f"\n  {self.id().split('.')[-1]}: {cm.exception}")
        return str(cm.exception)

    def test_sample_exercises_membership(self):
        self.assertEqual(self.kinds, ["add_key", "revoke_key", "set_validators"])
        mp = self.bundle["membership"]
        self.assertEqual(len(mp["transitions"]), 1)
        res = tv.verify_bundle(self.genesis, self.bundle)
        # the head is certified by the new set: the newcomer in, the leaver out
        vals = res["membership"]["validators"]
        self.assertIn(NEWCOMER.public_key().public_bytes_raw(), vals)
        self.assertNotIn(LEFT.public_key().public_bytes_raw(), vals)
        signers = {s["validator"] for s in self.bundle["certificate"]["signatures"]}
        self.assertIn(public_hex(NEWCOMER), signers)
        # the carrier's consignment events: some before the rotation under the old key,
        # some after it under the new key, and both verify
        old, new = public_hex(dev_key(f"org/{CARRIER}")), public_hex(dev_key(f"rotated/{CARRIER}"))
        keys = [(e["index"], e["event"]["body"]["issuer"]["key"]) for e in self.bundle["events"]
                if e["event"]["body"]["issuer"]["org"] == CARRIER]
        self.assertTrue(any(i < self.revoked_at and k == old for i, k in keys))
        self.assertTrue(any(i > self.revoked_at and k == new for i, k in keys))
        # the revocation was signed with the new key, the addition with the old one
        ev = [e["event"]["body"] for e in mp["events"]]
        self.assertEqual(ev[0]["issuer"]["key"], old)
        self.assertEqual(ev[1]["issuer"]["key"], new)
        self.assertEqual(len(ev[2]["membership"]["approvals"]), 3)

    def test_membership_event_dropped(self):
        for p in range(3):
            with self.subTest(dropped=p):
                self.refuse(lambda b: b["membership"]["events"].pop(p),
                            "membership.transitions[0] (height", "counts 3 events")

    def test_membership_history_hidden(self):
        # a bundle that hides every membership event and transition: the head is not
        # certified by the genesis set
        def hide(b):
            b["membership"]["events"] = []
            b["membership"]["transitions"] = []
        self.refuse(hide, "certificate: head.validators")

    def test_membership_events_reordered(self):
        def swap(b):
            e = b["membership"]["events"]
            e[0], e[1] = e[1], e[0]
        self.refuse(swap, "membership.transitions[0]", "reordered")

    def test_membership_event_altered(self):
        def repower(b):
            body = b["membership"]["events"][2]["event"]["body"]
            body["membership"]["change"]["validators"][0]["power"] = 5
        self.refuse(repower, "membership.transitions[0]", "accumulator")

    def test_membership_event_altered_with_its_index(self):
        # a node that lies consistently about the index cannot re-certify the head: with the
        # altered change re-signed by its issuer, the transition's index entry no longer
        # matches; with the entry also altered, its index proof fails
        def repower(b):
            item = b["membership"]["events"][2]["event"]
            item["body"]["membership"]["change"]["validators"][0]["power"] = 5
            resign(item, dev_key("org/eu-audit"))
            t = b["membership"]["transitions"][0]
            ids = [tv.Event(e["event"]).id for e in b["membership"]["events"]]
            t["index_entry"]["acc"] = tv.index_acc(ids).hex()
        self.refuse(repower, "membership.transitions[0]", "index proof")

    def test_membership_event_seq_and_index_order(self):
        def reindex(b):
            e = b["membership"]["events"]
            e[1]["index"] = e[0]["index"]
        self.refuse(reindex, "membership.events[1]", "not greater than the previous")

    def test_transition_dropped(self):
        self.refuse(lambda b: b["membership"]["transitions"].pop(),
                    "certificate: head.validators is not the hash of the validator set in force")

    def test_transition_certified_by_the_wrong_set(self):
        def recertify(b):
            t = b["membership"]["transitions"][0]
            sign_certificate(t["certificate"], t["head"], OLD_VALIDATORS[:2] + [NEWCOMER])
        self.refuse(recertify, "membership.transitions[0] (height 7)", "signer is not a validator")

    def test_transition_at_the_wrong_block(self):
        # the final head offered as a "transition" of itself is out of range
        def move(b):
            t = b["membership"]["transitions"][0]
            t["head"] = copy.deepcopy(b["head"])
        self.refuse(move, "membership.transitions[0]", "height not between")

    def test_final_certificate_by_a_validator_no_longer_in_the_set(self):
        def recertify(b):
            sign_certificate(b["certificate"], b["head"], OLD_VALIDATORS[:2] + [LEFT])
        msg = self.refuse(recertify, "certificate.signatures[2]: signer is not a validator")
        self.assertFalse(msg.startswith("membership"), msg)
        # and the old set as a whole is not the set in force any more
        def old_set(b):
            sign_certificate(b["certificate"], b["head"], OLD_VALIDATORS + [LEFT])
        self.refuse(old_set, "certificate.signatures[3]: signer is not a validator")

    def test_event_signed_with_revoked_key_after_revocation(self):
        def late(b):
            pos = next(p for p, e in enumerate(b["events"])
                       if e["index"] > self.revoked_at
                       and e["event"]["body"]["issuer"]["org"] == CARRIER)
            resign(b["events"][pos]["event"], dev_key(f"org/{CARRIER}"))
        self.refuse(late, f"issuer.key was revoked from {CARRIER} by the membership event "
                          f"at log index {self.revoked_at}")

    def test_old_key_event_moved_after_revocation(self):
        # tampering positions: an event honestly signed with the old key, claimed at a
        # log position after the revocation
        def move(b):
            ev = b["events"]
            before = max(p for p, e in enumerate(ev) if e["index"] < self.revoked_at
                         and e["event"]["body"]["issuer"]["org"] == CARRIER)
            after = next(p for p, e in enumerate(ev) if e["index"] > self.revoked_at)
            ev[after]["event"] = copy.deepcopy(ev[before]["event"])
        self.refuse(move, "was revoked from")

    def test_key_used_before_it_was_added(self):
        def early(b):
            pos = next(p for p, e in enumerate(b["events"])
                       if e["event"]["body"]["issuer"]["org"] == CARRIER)
            resign(b["events"][pos]["event"], dev_key(f"rotated/{CARRIER}"))
        self.refuse(early, f"issuer.key is not a current key of {CARRIER}")

    def test_approvals_below_quorum(self):
        # the set_validators change with 2 of its 3 approvals, re-signed by its issuer; with
        # the transition dropped it is applied in step 3, where the quorum rule refuses it
        def weaken(b):
            item = b["membership"]["events"][2]["event"]
            item["body"]["membership"]["approvals"].pop()
            resign(item, dev_key("org/eu-audit"))
            b["membership"]["transitions"].pop()
        self.refuse(weaken, "membership.events[2]",
                    "approvals: power 2 of 4 is not more than two thirds")

    def test_change_rules(self):
        gen = tv.Genesis(self.genesis)
        vals = gen.validators
        mp = self.bundle["membership"]
        ev = [copy.deepcopy(e["event"]) for e in mp["events"]]

        def check(wire, seq, m=None):
            m = m or gen.membership()
            e = tv.Event(wire)
            m.admit(e)
            m.check_change(e, seq, vals)
            return m

        m = check(ev[0], 1)  # honest, in order
        m.apply(ev[0]["body"]["membership"]["change"], 100)
        m = check(ev[1], 2, m)
        m.apply(ev[1]["body"]["membership"]["change"], 101)
        check(ev[2], 3, m)
        cases = []
        # a replayed change: seq 1 again at position 2
        cases.append((ev[0], 2, "membership.seq is 1, expected 2"))
        # approvals below quorum
        w = copy.deepcopy(ev[2])
        w["body"]["membership"]["approvals"] = w["body"]["membership"]["approvals"][:2]
        resign(w, dev_key("org/eu-audit"))
        cases.append((w, 3, "approvals: power 2 of 4"))
        # an approval signature that does not verify (over another seq)
        w = copy.deepcopy(ev[2])
        w["body"]["membership"]["seq"] = 4
        resign(w, dev_key("org/eu-audit"))
        cases.append((w, 4, "approvals[0]: bad approval signature"))
        # an approval by a validator outside the set
        w = copy.deepcopy(ev[2])
        msg = tv.approval_message("tradelog-devnet", 3, w["body"]["membership"]["change"])
        w["body"]["membership"]["approvals"][0] = {"validator": public_hex(NEWCOMER),
                                                   "sig": NEWCOMER.sign(msg).hex()}
        resign(w, dev_key("org/eu-audit"))
        cases.append((w, 3, "approvals[0]: validator is not in the validator set in force"))
        # the same validator approving twice
        w = copy.deepcopy(ev[2])
        a = w["body"]["membership"]["approvals"]
        a[1] = a[0]
        resign(w, dev_key("org/eu-audit"))
        cases.append((w, 3, "approvals[1]: validator approves twice"))
        # another organisation's key change needs a quorum
        w = copy.deepcopy(ev[0])
        w["body"]["issuer"]["org"] = "eu-audit"
        resign(w, dev_key("org/eu-audit"))
        cases.append((w, 1, "no quorum for add_key"))
        # revoking the only key
        w = copy.deepcopy(ev[1])
        w["body"]["membership"]["seq"] = 1
        resign(w, dev_key(f"org/{CARRIER}"))
        cases.append((w, 1, "would have no key left"))
        # adding a key already used on the ledger (another organisation's)
        w = copy.deepcopy(ev[0])
        w["body"]["membership"]["change"]["key"] = public_hex(dev_key("org/shopfast"))
        resign(w, dev_key(f"org/{CARRIER}"))
        cases.append((w, 1, "already an event key on this ledger"))
        # a validator of a non-member organisation
        w = copy.deepcopy(ev[2])
        w["body"]["membership"]["change"]["validators"][0]["org"] = "no-such-org"
        resign(w, dev_key("org/eu-audit"))
        cases.append((w, 3, "is not a member"))
        for i, (wire, seq, expect) in enumerate(cases):
            with self.subTest(case=i, expect=expect):
                with self.assertRaises(tv.VerifyError) as cm:
                    check(wire, seq, copy.deepcopy(m) if seq > 2 else None)
                self.assertIn(expect, str(cm.exception))

    def test_set_validators_listed_in_another_order(self):
        # section 8a: the list is canonicalized sorted by key (as the Rust reference does), so
        # the order given changes neither the id, nor the signature, nor the approvals
        b = copy.deepcopy(self.bundle)
        item = b["membership"]["events"][2]["event"]
        before = tv.Event(copy.deepcopy(item)).id
        item["body"]["membership"]["change"]["validators"].reverse()
        self.assertEqual(tv.Event(item).id, before)
        tv.verify_bundle(self.genesis, b)

    def test_membership_subject_bundle(self):
        # section 9: a bundle whose subject is the membership subject (its events are the
        # membership events), assembled here from the membership proof
        mp = self.bundle["membership"]
        # its blocks (section 9 step 7): the set_validators block at height 7 is the
        # transition's certified head, after the consignment's block at height 6; the key
        # rotation's blocks (heights 4 and 5) are left out
        h6 = next(e for e in self.bundle["blocks"] if e["head"]["height"] == 6)["head"]
        t = mp["transitions"][0]
        b = dict(copy.deepcopy(self.bundle), subject={"type": "membership", "id": "membership"},
                 events=copy.deepcopy(mp["events"]), index_entry=mp["index_entry"],
                 index_proof=mp["index_proof"],
                 blocks=[{"head": t["head"], "certificate": t["certificate"], "prev": h6}])
        res = tv.verify_bundle(self.genesis, b)
        self.assertEqual(len(res["rows"]), 3)
        self.assertEqual(res["recorded"], {mp["events"][2]["index"]: (7, t["head"]["time"])})
        bad = copy.deepcopy(b)
        bad["events"].pop(1)
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_bundle(self.genesis, bad)
        self.assertIn("completeness", str(cm.exception))
        bad = copy.deepcopy(b)
        bad["subject"]["id"] = "members"
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_bundle(self.genesis, bad)
        self.assertIn("subject.id", str(cm.exception))

    def test_membership_body_structure(self):
        ev = copy.deepcopy(self.bundle["membership"]["events"][0]["event"])
        for mutate, expect in (
            (lambda b: b.update(ucr="6CN913000001-SF000001"), "not allowed in a membership"),
            (lambda b: b.pop("membership"), "required for kind membership"),
            (lambda b: b["membership"].update(extra=1), "unknown member(s) ['extra']"),
            (lambda b: b["membership"]["change"].update(type="remove_org"),
             "unknown change type"),
            (lambda b: b["membership"].update(seq=0), "body.membership.seq"),
            (lambda b: b.update(kind="booked"), "only allowed for kind membership"),
        ):
            w = copy.deepcopy(ev)
            mutate(w["body"])
            with self.subTest(expect=expect):
                with self.assertRaises(tv.VerifyError) as cm:
                    tv.Event(w)
                self.assertIn(expect, str(cm.exception))


FIXTURES = os.path.join(ROOT, "protocol", "tests", "fixtures", "honest-7809321")


class SpecGaps(unittest.TestCase):
    """Issue 18: the rules an independent verifier found missing, and the bundles an
    earlier version made (protocol/tests/fixtures/honest-7809321), which keep verifying."""

    @classmethod
    def setUpClass(cls):
        cls.genesis = load(os.path.join(FIXTURES, "genesis.json"))
        with open(SPEC, encoding="utf-8") as f:
            cls.v = tv.parse_vectors(f.read())

    def test_earlier_honest_bundles_keep_verifying(self):
        for name in ("route.json", "route-at-7.json"):
            tv.verify_route(self.genesis, load(os.path.join(FIXTURES, name)))
        for name in ("membership.json", "membership-at-7.json"):
            res = tv.verify_bundle(self.genesis, load(os.path.join(FIXTURES, name)))
            self.assertEqual(len(res["rows"]), 3)
            # version 2 (before section 9 step 7): no blocks, recorded times unknown
            self.assertEqual((res["version"], res["recorded"]), (2, {}))
        res, rows = tv.check_route(self.genesis, load(os.path.join(FIXTURES, "route.json")))
        self.assertEqual((res["route_versions"][0], res["route_recorded"]), (2, {}))
        # a version-2 bundle may not carry blocks
        b = load(os.path.join(FIXTURES, "membership.json"))
        b["blocks"] = []
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_bundle(self.genesis, b)
        self.assertIn("bundle.blocks: not allowed in a version-2 bundle", str(cm.exception))

    def test_organisation_names_refuse_control_characters(self):
        g = tv.load_json(self.v["genesis_json"])
        tv.Genesis(g)  # the vector's name (U+2014, U+00FC, U+00D8, U+1F6A2) is fine
        for name, code in (("Blue\x1b[2K Anchor", "U+001B"), ("Blue\nAnchor", "U+000A"),
                           ("Blue\x9bAnchor", "U+009B"), ("Blue\x7f", "U+007F"),
                           ("Blue \u202egnp.exe", "U+202E"), ("Blue \u2069", "U+2069")):
            bad = json.loads(json.dumps(g))
            bad["organisations"][0]["name"] = name
            with self.assertRaises(tv.VerifyError) as e:
                tv.Genesis(bad)
            self.assertIn("name: control character " + code, str(e.exception))

    def vector_proof(self):
        return tv.load_json(self.v["membership_proof_json"])

    def test_every_set_validators_change_needs_its_transition(self):
        gen = tv.Genesis(tv.load_json(self.v["genesis_json"]))
        doc = self.vector_proof()
        head = tv.parse_head(doc["head"])
        tv.verify_membership(gen, head, doc["certificate"], doc["membership"])
        doc["membership"]["transitions"] = []
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_membership(gen, head, doc["certificate"], doc["membership"])
        self.assertIn("second set_validators", str(cm.exception))

    def resigned(self, edit):
        """The vector's proof with its head edited and certified again by the test 1 key."""
        doc = self.vector_proof()
        edit(doc["head"])
        sk = Ed25519PrivateKey.from_private_bytes(tv.RFC8032_SECRET)
        head = tv.parse_head(doc["head"])
        doc["certificate"]["head"] = tv.H(tv.head_bytes(head)).hex()
        sign_certificate(doc["certificate"], doc["head"], [sk])
        return doc

    def test_header_rules(self):
        gen = tv.Genesis(tv.load_json(self.v["genesis_json"]))
        doc = self.resigned(lambda h: None)
        tv.verify_membership(gen, tv.parse_head(doc["head"]), doc["certificate"],
                             doc["membership"])
        for edit, expect in [
            (lambda h: h.update(time=gen.time - 1), "before"),
            # before the time of the transition at height 2
            (lambda h: h.update(time=gen.time + 1500), "an earlier head"),
        ]:
            doc = self.resigned(edit)
            with self.assertRaises(tv.VerifyError) as cm:
                tv.verify_membership(gen, tv.parse_head(doc["head"]), doc["certificate"],
                                     doc["membership"])
            self.assertIn(expect, str(cm.exception))
        with self.assertRaises(tv.VerifyError):
            tv.parse_head(dict(self.vector_proof()["head"], height=0))

    def test_event_too_far_after_its_head(self):
        b = load(os.path.join(FIXTURES, "membership.json"))
        tv.verify_bundle(self.genesis, b)
        route = load(os.path.join(FIXTURES, "route.json"))
        cons = route["consignment"]
        cons["head"]["time"] -= 11 * 60 * 1000
        cons["certificate"]["head"] = tv.H(tv.head_bytes(tv.parse_head(cons["head"]))).hex()
        sign_certificate(cons["certificate"], cons["head"], OLD_VALIDATORS[:2] + [NEWCOMER])
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_bundle(self.genesis, cons)
        self.assertIn("ms after the time", str(cm.exception))

    def test_membership_subject_events_are_the_proofs(self):
        b = load(os.path.join(FIXTURES, "membership.json"))
        b["events"][0]["index"] -= 1
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_bundle(self.genesis, b)
        self.assertIn("not the membership proof's event", str(cm.exception))

    def test_minus_zero_and_byte_order_mark_refused(self):
        with open(os.path.join(FIXTURES, "route.json"), encoding="utf-8") as f:
            text = f.read()
        tv.load_json(text)
        self.assertIn('"round":0,', text)
        with self.assertRaises(tv.VerifyError) as cm:
            tv.load_json(text.replace('"round":0,', '"round":-0,', 1))
        self.assertIn("-0", str(cm.exception))
        with self.assertRaises(tv.VerifyError):
            tv.load_json("\ufeff" + text)
        with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as f:
            f.write(b"\xef\xbb\xbf" + text.encode())
        try:
            with self.assertRaises(tv.VerifyError):
                tv.load_file(f.name, 1 << 20)
        finally:
            os.unlink(f.name)
        self.assertEqual(tv.load_json("[-1, 0, 10]"), [-1, 0, 10])

    def test_largest_membership_body_limit(self):
        self.assertEqual((tv.MAX_BODY, tv.MAX_MEMBERSHIP_BODY, tv.MAX_EVENT_JSON),
                         (16384, 131072, 262144))


class Route(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = sample_dir()
        cls.genesis_path = os.path.join(cls.tmp, "genesis.json")
        cls.route_path = os.path.join(cls.tmp, "route.json")
        cls.genesis = load(cls.genesis_path)
        cls.route = load(cls.route_path)
        cls.timeline = load(os.path.join(cls.tmp, "route-timeline.json"))

    def refuse(self, mutate, expect=""):
        r = copy.deepcopy(self.route)
        mutate(r)
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_route(self.genesis, r)
        self.assertIn(expect, str(cm.exception))
        return str(cm.exception)

    def test_honest_route_verifies_and_timeline_matches(self):
        self.assertGreaterEqual(len(self.route["containers"]), 1)
        got = tv.verify_route(self.genesis, self.route)
        # the Rust timeline's members; "recorded" is added beside them (section 9 step 7)
        self.assertEqual([{k: e[k] for k in ("index", "id", "source")} for e in got],
                         self.timeline)
        self.assertTrue(all(e["recorded"] is not None for e in got))
        # the sample must exercise the windows: a container movement is shown
        self.assertTrue(any(e["source"] != "consignment" for e in got))

    def test_cli_route(self):
        r = subprocess.run([sys.executable, SCRIPT, "route",
                            self.genesis_path, self.route_path],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.rstrip().endswith("VERIFIED"), r.stdout)
        bad = copy.deepcopy(self.route)
        bad["containers"].pop()
        path = os.path.join(self.tmp, "route-tampered.json")
        with open(path, "w") as f:
            json.dump(bad, f)
        r = subprocess.run([sys.executable, SCRIPT, "route", self.genesis_path, path],
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("FAILED", r.stdout)

    def test_drop_container_bundle(self):
        self.refuse(lambda r: r["containers"].pop(), "missing")

    def test_extra_container_bundle(self):
        self.refuse(lambda r: r["containers"].append(copy.deepcopy(r["containers"][0])),
                    "extra")

    def test_reorder_container_bundles(self):
        def reorder(r):
            c = r["containers"]
            if len(c) == 1:
                c.append(copy.deepcopy(c[0]))
            c.reverse()
        self.refuse(reorder, "route.containers[")

    def test_container_bundle_against_another_head(self):
        def rehead(r):
            r["containers"][0]["head"]["time"] += 1
        # the certificate no longer certifies that head either, but step 4 checks
        # the equality with the consignment's head first
        self.refuse(rehead, "head differs from the consignment bundle's head")

    def test_drop_event_from_container_bundle(self):
        def drop(r):
            shown = {e["index"] for e in self.timeline if e["source"] != "consignment"}
            ev = r["containers"][0]["events"]
            pos = next(i for i, e in enumerate(ev) if e["index"] in shown)
            ev.pop(pos)
        msg = self.refuse(drop, "completeness")
        self.assertIn("route.containers[0]", msg)

    def test_consignment_subject_replaced_by_container(self):
        def resubject(r):
            r["consignment"]["subject"] = copy.deepcopy(r["containers"][0]["subject"])
        self.refuse(resubject, "consignment.subject.type")

    def test_version_2(self):
        def bump(r):
            r["version"] = 2
        self.refuse(bump, "containers_from")
        def bump3(r):
            r["version"] = 3  # a group's route (§9b), which has subjects, not a consignment
        self.refuse(bump3, "route: missing member(s) ['subjects']")
        def bump4(r):
            r["version"] = 4
        self.refuse(bump4, "version")

    def test_an_outsiders_event_in_the_consignment_is_refused(self):
        # validators that ignored the party rule committed it (§8c)
        bad = load(os.path.join(self.tmp, "route-outsider.json"))
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_route(self.genesis, bad)
        self.assertIn("is not a party of consignment", str(cm.exception))

    def test_an_outsiders_container_event_stays_out_of_the_route(self):
        shown = {e["index"] for e in tv.verify_route(self.genesis, self.route)}
        outsider = [e["index"] for e in self.route["containers"][0]["events"]
                    if e["event"]["body"]["issuer"]["org"] == "blue-anchor-lines"]
        self.assertEqual(len(outsider), 1)
        self.assertNotIn(outsider[0], shown)

    def test_pages_of_a_large_route(self):
        pages = load(os.path.join(self.tmp, "route-pages.json"))
        self.assertEqual([p["containers_from"] for p in pages], [0, 256])
        got = tv.verify_route(self.genesis, pages)
        self.assertEqual(sum(1 for e in got if e["source"] == "consignment"), 301)
        for bad, expect in (([pages[0]], "2 pages, got 1"),
                            ([pages[1], pages[0]], "containers_from"),
                            (pages[0], "2 pages, got 1")):
            with self.assertRaises(tv.VerifyError) as cm:
                tv.verify_route(self.genesis, copy.deepcopy(bad))
            self.assertIn(expect, str(cm.exception))
        whole = copy.deepcopy(pages[0])
        whole["version"] = 1
        del whole["containers_from"]
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_route(self.genesis, whole)
        self.assertIn("must come in pages", str(cm.exception))

    def test_container_bundle_membership_proof_tampered(self):
        def drop(r):
            r["containers"][0]["membership"]["transitions"].pop()
        msg = self.refuse(drop, "head.validators is not the hash of the validator set in force")
        self.assertTrue(msg.startswith("route.containers[0] (TLGU"), msg)

    def test_container_bundle_version_1(self):
        def v1(r):
            r["containers"][0]["version"] = 1
        self.refuse(v1, "route.containers[0]")



def block_entry(bundle, height):
    """The position and entry of `bundle`'s blocks for `height`."""
    return next((p, e) for p, e in enumerate(bundle["blocks"]) if e["head"]["height"] == height)


def recertify_block(entry, keys):
    """Points entry's certificate at its (edited) head again and signs it by `keys`."""
    head = tv.parse_head(entry["head"])
    entry["certificate"]["head"] = tv.H(tv.head_bytes(head)).hex()
    entry["certificate"]["height"] = head["height"]
    sign_certificate(entry["certificate"], entry["head"], keys)


class Recorded(unittest.TestCase):
    """Section 9 step 7: version-3 bundles prove each event's recorded time (its block's
    certified head time), and every lie about a block is refused."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = sample_dir()
        cls.genesis_path = os.path.join(cls.tmp, "genesis.json")
        cls.bundle_path = os.path.join(cls.tmp, "bundle.json")
        cls.genesis = load(cls.genesis_path)
        cls.bundle = load(cls.bundle_path)
        cls.route = load(os.path.join(cls.tmp, "route.json"))

    def verify(self, mutate):
        b = copy.deepcopy(self.bundle)
        mutate(b)
        return tv.verify_bundle(self.genesis, b)

    def refuse(self, mutate, *expect):
        with self.assertRaises(tv.VerifyError) as cm:
            self.verify(mutate)
        for e in expect:
            self.assertIn(e, str(cm.exception))
        if os.environ.get("SHOW_ERRORS"):
            print(f"\n  {self.id().split('.')[-1]}: {cm.exception}")
        return str(cm.exception)

    def test_sample_is_version_3_and_every_event_is_recorded(self):
        b = self.bundle
        self.assertEqual(b["version"], 3)
        res = tv.verify_bundle(self.genesis, b)
        self.assertEqual(res["version"], 3)
        heights = [e["head"]["height"] for e in b["blocks"]]
        # consignment 1's events are in blocks 3 and 6 (genesis set) and 8 (the new set,
        # after the transition at height 7): the sets per height are both exercised
        self.assertEqual(heights, [3, 6, 8])
        self.assertEqual(b["blocks"][-1]["head"], b["head"])
        times = {e["head"]["height"]: e["head"]["time"] for e in b["blocks"]}
        self.assertEqual(set(res["recorded"]), {idx for _, idx, _ in res["rows"]})
        for pos, idx, ev in res["rows"]:
            height, time = res["recorded"][idx]
            self.assertEqual(time, times[height])
            self.assertLessEqual(ev.body["time"], time + tv.MAX_EVENT_AHEAD)
        # the block's events are the leaves [prev.log_size, head.log_size)
        for e in b["blocks"]:
            lo = e["prev"]["log_size"] if e["prev"] is not None else 0
            got = [idx for idx, (h, _) in res["recorded"].items() if h == e["head"]["height"]]
            self.assertTrue(got and all(lo <= i < e["head"]["log_size"] for i in got))

    def test_recorded_times_are_the_rust_references(self):
        # The Rust reference put into each blocks entry the head of the block that holds the
        # event (Ledger::bundle) and verified the route with them (sample_bundle.rs); its other
        # outputs give the same heads independently of step 7: the membership proof's
        # transition is the head at height 7 (its prev the hash of block 6's head, and the
        # bundle head's prev its hash), and the container bundle carries the same blocks.
        b = self.bundle
        res = tv.verify_bundle(self.genesis, b)
        heads = {e["head"]["height"]: e["head"] for e in b["blocks"]}
        heads.update({e["prev"]["height"]: e["prev"] for e in b["blocks"]})
        t = b["membership"]["transitions"][0]["head"]
        self.assertEqual(heads[7], t)
        hash_of = lambda h: tv.H(tv.head_bytes(tv.parse_head(h))).hex()  # noqa: E731
        self.assertEqual(t["prev"], hash_of(heads[6]))
        self.assertEqual(b["head"]["prev"], hash_of(t))
        for e in self.route["containers"][0]["blocks"]:
            if e["head"]["height"] in heads:
                self.assertEqual(e["head"], heads[e["head"]["height"]])
        # each event's block is the first of the Rust heads whose log_size exceeds its index
        # (section 6), and sample_bundle.rs puts consignment 1 in blocks 3, 6 and 8
        order = sorted(heads.values(), key=lambda h: h["height"])
        want = {}
        for e in b["events"]:
            h = next(h for h in order if e["index"] < h["log_size"])
            want[e["index"]] = (h["height"], h["time"])
        self.assertEqual(res["recorded"], want)
        self.assertEqual({h for h, _ in want.values()}, {3, 6, 8})
        # the same times in the route's timeline, for the container's own movements too
        for e in tv.verify_route(self.genesis, self.route):
            cb = [x for x in [self.route["consignment"]] + self.route["containers"]
                  if any(y["index"] == e["index"] for y in x["events"])]
            blk = next(x["head"] for x in cb[0]["blocks"]
                       if (x["prev"] or {"log_size": 0})["log_size"] <= e["index"]
                       < x["head"]["log_size"])
            self.assertEqual(e["recorded"], {"height": blk["height"], "time": blk["time"]})

    def test_cli_shows_recorded_time_beside_the_events_time(self):
        r = subprocess.run([sys.executable, SCRIPT, "bundle", self.genesis_path,
                            self.bundle_path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertIn("recorded (UTC)", next(l for l in lines if "time (UTC)" in l))
        n = len(self.bundle["events"])
        self.assertIn(f"recorded  {n} of {n} event(s) in 3 certified block(s)", lines)
        h8 = tv.iso_time(self.bundle["head"]["time"])
        self.assertTrue(any(f"{h8}       8  " in l for l in lines), r.stdout)

    def test_block_head_time_changed(self):
        def retime(b):
            b["blocks"][0]["head"]["time"] += 1
        self.refuse(retime, "blocks[0] (height 3): certificate: certificate.head is not the hash")
        # at the bundle head's height, it is another head than the bundle's
        def retime_last(b):
            b["blocks"][-1]["head"]["time"] += 1
        self.refuse(retime_last, "blocks[2] (height 8): at head.height but not the bundle's head")

    def test_block_log_size_changed(self):
        # a block claiming more of the log (the events of the next block) is not certified
        def grow(b):
            b["blocks"][0]["head"]["log_size"] += 1
        self.refuse(grow, "blocks[0] (height 3): certificate: certificate.head")

    def test_block_dropped_leaves_its_events_without_recorded_time(self):
        p, entry = block_entry(self.bundle, 6)
        res = self.verify(lambda b: b["blocks"].pop(p))
        lo, hi = entry["prev"]["log_size"], entry["head"]["log_size"]
        missing = [idx for _, idx, _ in res["rows"] if idx not in res["recorded"]]
        self.assertTrue(missing)
        self.assertTrue(all(lo <= i < hi for i in missing))
        self.assertTrue(all(h != 6 for h, _ in res["recorded"].values()))
        # all of them dropped: the bundle verifies without any recorded time
        res = self.verify(lambda b: b.update(blocks=[]))
        self.assertEqual(res["recorded"], {})

    def test_cli_names_the_events_without_recorded_time(self):
        b = copy.deepcopy(self.bundle)
        b["blocks"].pop(block_entry(b, 6)[0])
        path = os.path.join(self.tmp, "bundle-without-6.json")
        with open(path, "w") as f:
            json.dump(b, f)
        r = subprocess.run([sys.executable, SCRIPT, "bundle", self.genesis_path, path],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("recorded  no proven recorded time (no blocks entry) for event(s) #",
                      r.stdout)

    def test_prev_hash_mismatch(self):
        def reprev(b):
            b["blocks"][1]["prev"]["time"] -= 1
        self.refuse(reprev, "blocks[1] (height 6): the hash of prev is not head.prev")

    def test_block_claims_events_of_another_block(self):
        # another prev: the head before the previous block, so that the block would also
        # hold that block's events
        def earlier_prev(b):
            b["blocks"][1]["prev"] = copy.deepcopy(b["blocks"][0]["prev"])
        self.refuse(earlier_prev, "blocks[1] (height 6): prev.height 2 is not head.height - 1")
        # the same prev, its log_size lowered: it is then not the previous head
        def lower(b):
            b["blocks"][1]["prev"]["log_size"] = b["blocks"][0]["prev"]["log_size"]
        self.refuse(lower, "blocks[1] (height 6): the hash of prev is not head.prev")
        # the previous block's head given as prev: the height is wrong
        def other(b):
            b["blocks"][1]["prev"] = copy.deepcopy(b["blocks"][0]["head"])
        self.refuse(other, "blocks[1] (height 6): prev.height 3 is not head.height - 1")

    def test_block_without_events_of_the_bundle(self):
        # the set_validators block (height 7) is certified, but holds none of the events
        def insert(b):
            t = b["membership"]["transitions"][0]
            b["blocks"].insert(2, {"head": copy.deepcopy(t["head"]),
                                   "certificate": copy.deepcopy(t["certificate"]),
                                   "prev": copy.deepcopy(b["blocks"][1]["head"])})
        self.refuse(insert, "blocks[2] (height 7): no event of the bundle in the block")

    def test_version_2_with_blocks_refused(self):
        def v2(b):
            b["version"] = 2
        self.refuse(v2, "bundle.blocks: not allowed in a version-2 bundle")
        def v2_empty(b):
            b["version"] = 2
            b["blocks"] = []
        self.refuse(v2_empty, "bundle.blocks: not allowed in a version-2 bundle")
        def v2_without(b):
            b["version"] = 2
            del b["blocks"]
        res = self.verify(v2_without)
        self.assertEqual((res["version"], res["recorded"]), (2, {}))
        self.refuse(lambda b: b.update(version=4), "bundle.version")

    def test_version_3_needs_blocks(self):
        self.refuse(lambda b: b.pop("blocks"), "missing member(s) ['blocks']")

    def test_block_above_the_bundle_head(self):
        def above(b):
            last = b["blocks"][-1]
            last["head"]["height"] = b["head"]["height"] + 1
            last["prev"] = copy.deepcopy(b["head"])
        self.refuse(above, "blocks[2] (height 9): height above head.height (8)")
        def log_above(b):
            b["blocks"][0]["head"]["log_size"] = b["head"]["log_size"] + 1
        self.refuse(log_above, "blocks[0] (height 3): head.log_size", "above the bundle head's")

    def test_blocks_out_of_order_or_repeated(self):
        def swap(b):
            bl = b["blocks"]
            bl[0], bl[1] = bl[1], bl[0]
        self.refuse(swap, "blocks[1] (height 3): height not above the previous entry's (6)")
        def repeat(b):
            b["blocks"].insert(1, copy.deepcopy(b["blocks"][0]))
        self.refuse(repeat, "blocks[1] (height 3): height not above the previous entry's (3)")

    def test_more_blocks_than_events(self):
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_blocks(tv.Genesis(self.genesis), tv.parse_head(self.bundle["head"]),
                             [(1, {})], [copy.deepcopy(self.bundle["blocks"][0])], [])
        self.assertIn("bundle.blocks: 1 entries, more than the bundle's 0 events", str(cm.exception))

    def test_certificate_under_the_set_in_force_at_the_blocks_height(self):
        # height 6 is before the transition: the new set does not certify it
        def new_set(b):
            sign_certificate(b["blocks"][1]["certificate"], b["blocks"][1]["head"],
                             OLD_VALIDATORS[:2] + [NEWCOMER])
        self.refuse(new_set, "blocks[1] (height 6): certificate.signatures[2]: signer is not a "
                             "validator (under the validator set in force at height 6)")
        # height 8 is after it: the validator that left cannot sign it
        def old_set(b):
            sign_certificate(b["blocks"][2]["certificate"], b["blocks"][2]["head"],
                             OLD_VALIDATORS[:2] + [LEFT])
        self.refuse(old_set, "blocks[2] (height 8): certificate.signatures[2]: signer is not a "
                             "validator")
        # a signature removed: no quorum
        self.refuse(lambda b: b["blocks"][0]["certificate"]["signatures"].pop(),
                    "blocks[0] (height 3): certificate: no quorum")

    def test_block_time_too_early_for_its_events(self):
        # validators that certify a block time more than 10 minutes before one of its
        # events: the container's gate-out is the last event of block 6, 1 ms before it
        cb = self.route["containers"][0]
        p, _ = block_entry(cb, 6)

        def early(b):
            entry = b["blocks"][p]
            entry["head"]["time"] -= 11 * 60 * 1000
            recertify_block(entry, OLD_VALIDATORS)
        b = copy.deepcopy(cb)
        early(b)
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_bundle(self.genesis, b)
        self.assertIn(f"blocks[{p}] (height 6): event #", str(cm.exception))
        self.assertIn("more than 600000 ms after the block's time", str(cm.exception))
        # re-certified by the set in force, another block time is what the bundle proves:
        # the certificate is what proves the recorded time
        b = copy.deepcopy(cb)
        b["blocks"][p]["head"]["time"] += 1
        recertify_block(b["blocks"][p], OLD_VALIDATORS)
        res = tv.verify_bundle(self.genesis, b)
        self.assertIn((6, cb["blocks"][p]["head"]["time"] + 1), res["recorded"].values())

    def test_prev_null_rules(self):
        def null(b):
            b["blocks"][0]["prev"] = None
        self.refuse(null, "blocks[0] (height 3): prev is null above height 1")
        self.refuse(lambda b: b["blocks"][0].pop("prev"), "blocks[0]: missing member(s) ['prev']")
        self.refuse(lambda b: b["blocks"][0].update(extra=1), "blocks[0]: unknown member(s)")

    def test_route_bundles_carry_recorded_times(self):
        res, rows = tv.check_route(self.genesis, self.route)
        self.assertEqual(res["route_versions"], [3] * (1 + len(self.route["containers"])))
        self.assertEqual(set(res["route_recorded"]), {idx for idx, _, _ in rows})
        # a container's own movement gets its recorded time from the container's bundle
        cres = tv.verify_bundle(self.genesis, self.route["containers"][0])
        for idx, _, src in rows:
            if src != "consignment":
                self.assertEqual(res["route_recorded"][idx], cres["recorded"][idx])
        r = subprocess.run([sys.executable, SCRIPT, "route", self.genesis_path,
                            os.path.join(self.tmp, "route.json")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"recorded  {len(rows)} of {len(rows)} timeline entries\n", r.stdout)

    def test_route_container_block_tampered(self):
        r = copy.deepcopy(self.route)
        r["containers"][0]["blocks"][0]["head"]["time"] += 1
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_route(self.genesis, r)
        msg = str(cm.exception)
        self.assertTrue(msg.startswith("route.containers[0] (TLGU"), msg)
        self.assertIn("blocks[0] (height 1): certificate:", msg)
        r = copy.deepcopy(self.route)
        r["consignment"]["blocks"][1]["prev"]["time"] -= 1
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_route(self.genesis, r)
        self.assertIn("consignment bundle: blocks[1] (height 6): the hash of prev",
                      str(cm.exception))


def vector_parts():
    """The section 11 vectors' genesis, key (the RFC 8032 test key, its only organisation's
    and validator's) and event body."""
    with open(SPEC, encoding="utf-8") as f:
        v = tv.parse_vectors(f.read())
    return (tv.load_json(v["genesis_json"]), Ed25519PrivateKey.from_private_bytes(tv.RFC8032_SECRET),
            tv.load_json(v["event_wire_json"])["body"])


def event_subjects(body):
    """Section 5: the subjects an event is indexed under, as (type, id): an aeo_status event
    under its holder's organisation subject, an mra event under its issuer's then its
    partner's (8h)."""
    out = [("consignment", body["ucr"])] if "ucr" in body else []
    out += [("container", body["container"])] if "container" in body else []
    out += [("identifier", t) for t in body.get("ids", [])]
    if "aeo" in body:
        out.append(("organisation", body["aeo"]["holder"]))
    if "mra" in body:
        out += [("organisation", body["issuer"]["org"]), ("organisation", body["mra"]["partner"])]
    return out


class ForgedLog:
    """A ledger made here, without cargo: `items` ((body, signing key) pairs) signed and made
    the whole log of one block (height 1), whose head the one validator `validator` certifies;
    `bundle(type, id)` is a version-2 proof bundle of any subject against that head (so the
    bundles of one ForgedLog make a route). No membership events. `height` (1 unless told)
    is the head's height; above 1 its `prev` is a made-up hash (the bundles carry no blocks)."""

    def __init__(self, genesis, validator, items, height=1):
        gen = tv.Genesis(genesis)
        self.events = []
        for b, sk in items:
            canon = tv.check_body(b)
            self.events.append({"body": b, "sig": sk.sign(tv.EVENT_PREFIX + canon).hex()})
        self.parsed = [tv.Event(e) for e in self.events]
        self.leaves = [e.leaf_data for e in self.parsed]
        self.index = {}
        for e in self.parsed:
            for t, ident in event_subjects(e.body):
                self.index.setdefault(tv.index_key(t, ident), []).append(e.id)
        self.entries = {k: tv.value_hash(len(ids), tv.index_acc(ids))
                        for k, ids in self.index.items()}
        self.head = {"chain": gen.chain, "height": height,
                     "time": max(b["time"] for b, _ in items),
                     "prev": (gen.hash if height == 1 else tv.H(b"an earlier head")).hex(),
                     "log_size": len(self.leaves),
                     "log_root": tv.mth(self.leaves).hex(),
                     "index_root": tv.smt_root(self.entries).hex(),
                     "validators": tv.validators_hash(gen.validators.items()).hex()}
        hh = tv.H(tv.head_bytes(tv.parse_head(self.head)))
        self.cert = {"height": height, "round": 0, "head": hh.hex(),
                     "signatures": [{"validator": public_hex(validator),
                                     "sig": validator.sign(tv.precommit(gen.chain, height, 0,
                                                                        hh)).hex()}]}

    def entry_and_proof(self, key):
        sibs, leaf = tv.smt_proof(self.entries, key)
        proof = {"siblings": [x.hex() for x in sibs]}
        if leaf is not None:
            proof["leaf"] = {"key": leaf[0].hex(), "value_hash": leaf[1].hex()}
        ids = self.index.get(key, [])
        return {"count": len(ids), "acc": tv.index_acc(ids).hex()}, proof

    def bundle(self, stype, sid):
        key = tv.index_key(stype, sid)
        ie, ip = self.entry_and_proof(key)
        mie, mip = self.entry_and_proof(tv.index_key("membership", ""))
        ids = self.index.get(key, [])
        return {"version": 2, "subject": {"type": stype, "id": sid},
                "head": copy.deepcopy(self.head), "certificate": copy.deepcopy(self.cert),
                "events": [{"index": i, "event": copy.deepcopy(self.events[i]),
                            "proof": [x.hex() for x in tv.inclusion_path(i, self.leaves)]}
                           for i, e in enumerate(self.parsed) if e.id in ids],
                "index_entry": ie, "index_proof": ip,
                "membership": {"transitions": [], "events": [], "index_entry": mie,
                               "index_proof": mip}}


def forge_bundle(genesis, sk, bodies, subject):
    """A version-2 bundle made here, without cargo: the events of `bodies` signed with `sk`
    are the whole log of one block (height 1), whose head the one validator `sk` certifies;
    `subject` is ("consignment" | "container" | "identifier", id). No membership events."""
    return ForgedLog(genesis, sk, [(b, sk) for b in bodies]).bundle(*subject)


SOURCE = {"standard": "dcsa", "id": "84db923d-2a19-4eb0-beb5-446c1ec57d34"}


class Sources(unittest.TestCase):
    """Section 3.2 `source` and 8e (section 9 step 6): the member's rules, the source key, and
    bundles made here (no cargo needed) whose subject's history holds a source key twice: the
    ledger would have refused the later event, so the verifier refuses the bundle."""

    @classmethod
    def setUpClass(cls):
        cls.genesis, cls.sk, cls.body = vector_parts()
        cls.ucr, cls.container = cls.body["ucr"], cls.body["container"]

    def sourced(self, minute, source=SOURCE, **changes):
        """The vectors' event `minute` minutes later (a re-delivery serialised differently
        is another event) with `source`."""
        b = copy.deepcopy(self.body)
        b["time"] += minute * 60000
        if source is not None:
            b["source"] = dict(source)
        for k, v in changes.items():
            if v is None:
                b.pop(k, None)
            else:
                b[k] = v
        return b

    def refused_body(self, body, expect):
        with self.assertRaises(tv.VerifyError) as cm:
            tv.check_body(body)
        self.assertTrue(str(cm.exception).startswith(expect), cm.exception)

    def test_source_member_rules(self):
        canon = tv.check_body(self.sourced(0)).decode()
        self.assertIn('"refs":[],"source":{"id":"84db923d-2a19-4eb0-beb5-446c1ec57d34",'
                      '"standard":"dcsa"},"time":', canon)
        tv.check_body(self.sourced(0, {"standard": "a_9" * 10 + "zz", "id": "!" + "~" * 255}))
        tv.check_body(self.sourced(0, {"standard": "epcis", "id": "ni:///sha-256;" + "0" * 64}))
        for std in ("DCSA", "", "a" * 33, "dc-sa", 7, None):
            self.refused_body(self.sourced(0, {"standard": std, "id": "x"}),
                              "body.source.standard: ")
        for ident in ("", "has space", "é", "tab\t", "x" * 257, 1, None, ["x"]):
            self.refused_body(self.sourced(0, {"standard": "dcsa", "id": ident}),
                              "body.source.id: ")
        for src in (None, "dcsa", [], {"standard": "dcsa"}, {"id": "x"},
                    {"standard": "dcsa", "id": "x", "extra": 1}):
            b = self.sourced(0, None)
            b["source"] = src
            self.refused_body(b, "body.source: ")
        # null in the wire text too
        wire = json.dumps({"body": dict(self.body, source=None), "sig": "00" * 64})
        with self.assertRaises(tv.VerifyError):
            tv.Event(tv.load_json(wire))

    def test_not_in_a_membership_event(self):
        gen, sk, _ = vector_parts()
        change = {"type": "add_key", "org": "blue-anchor-lines", "key": "11" * 32}
        body = {"v": 1, "chain": "tradelog-vectors", "kind": "membership", "time": 1,
                "refs": [], "documents": [], "details": {},
                "issuer": {"org": "blue-anchor-lines", "key": public_hex(sk)},
                "membership": {"seq": 1, "change": change, "approvals": []}}
        tv.check_body(body)
        self.refused_body(dict(body, source=SOURCE),
                          "body.source: not allowed in a membership event")

    def test_source_key(self):
        self.assertIsNone(tv.source_key(self.sourced(0, None)))
        key = tv.source_key(self.sourced(0))
        self.assertEqual(key, ("blue-anchor-lines", "dcsa", SOURCE["id"], self.ucr,
                               self.container, None))
        self.assertEqual(tv.source_key(self.sourced(1)), key)  # another event, the same key
        self.assertNotEqual(tv.source_key(self.sourced(0, container=None)), key)
        self.assertNotEqual(tv.source_key(self.sourced(0, ucr=None)), key)
        self.assertNotEqual(tv.source_key(self.sourced(0, container="MSCU1234566")), key)
        self.assertNotEqual(tv.source_key(self.sourced(0, {"standard": "epcis",
                                                           "id": SOURCE["id"]})), key)
        self.assertNotEqual(tv.source_key(self.sourced(0, {"standard": "dcsa", "id": "y"})), key)
        self.assertNotEqual(tv.source_key(self.sourced(0, issuer={"org": "other-org",
                                                                  "key": "00" * 32})), key)
        # 8e: ids are part of the key, as the whole list
        with_ids = tv.source_key(self.sourced(0, ids=[BL, SSCC]))
        self.assertEqual(with_ids, key[:5] + ((BL, SSCC),))
        self.assertEqual(tv.source_key(self.sourced(1, ids=[BL, SSCC])), with_ids)
        self.assertNotEqual(tv.source_key(self.sourced(0, ids=[BL])), with_ids)
        self.assertNotEqual(with_ids, key)

    def test_first_source_repeat(self):
        r = tv.first_source_repeat
        self.assertIsNone(r([]))
        a, b = self.sourced(0), self.sourced(1)
        plain = self.sourced(2, None)
        other = self.sourced(3, {"standard": "dcsa", "id": "second"})
        self.assertIsNone(r([a, plain, plain, other]))  # events without a source never repeat
        self.assertEqual(r([a, plain, b]), (0, 2))
        self.assertEqual(r([plain, other, a, other, b]), (1, 3))  # the first pair found
        self.assertIsNone(r([a, self.sourced(1, container="MSCU1234566")]))
        self.assertIsNone(r([a, self.sourced(1, container=None)]))

    def test_forged_bundle_without_repeat_verifies(self):
        bodies = [self.sourced(0), self.sourced(1, container="MSCU1234566"), self.sourced(2, None),
                  self.sourced(3, None)]
        for subject in (("consignment", self.ucr), ("container", self.container)):
            res = tv.verify_bundle(self.genesis, forge_bundle(self.genesis, self.sk, bodies, subject))
            self.assertEqual(len(res["rows"]), 4 if subject[0] == "consignment" else 3)

    def test_bundle_with_a_repeated_source_key_is_refused(self):
        # Validators that skipped rule 8e committed a re-delivery: the subject's complete
        # history (a consignment's and its container's) holds the key twice.
        bodies = [self.sourced(0, None), self.sourced(1), self.sourced(2, None), self.sourced(3)]
        for subject in (("consignment", self.ucr), ("container", self.container)):
            b = forge_bundle(self.genesis, self.sk, bodies, subject)
            with self.assertRaises(tv.VerifyError) as cm:
                tv.verify_bundle(self.genesis, b)
            msg = str(cm.exception)
            self.assertTrue(msg.startswith("events[3]: body.source: blue-anchor-lines's dcsa "
                                           'event "84db923d-2a19-4eb0-beb5-446c1ec57d34" was '
                                           "recorded before"), msg)
            self.assertIn("at events[1] (log indexes 1 and 3", msg)

    def test_cli_refuses_a_repeated_source_key(self):
        b = forge_bundle(self.genesis, self.sk, [self.sourced(0), self.sourced(1)],
                         ("consignment", self.ucr))
        with tempfile.TemporaryDirectory() as d:
            gp, bp = os.path.join(d, "genesis.json"), os.path.join(d, "bundle.json")
            with open(gp, "w") as f:
                json.dump(self.genesis, f)
            with open(bp, "w") as f:
                json.dump(b, f)
            r = subprocess.run([sys.executable, SCRIPT, "bundle", gp, bp],
                               capture_output=True, text=True)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("events[1]: body.source: ", r.stdout + r.stderr)
        self.assertIn("at events[0]", r.stdout + r.stderr)


class BlocksUnit(unittest.TestCase):
    """Section 9 step 7 on heads made here (no cargo needed): the events of the fixture
    route's consignment bundle, in blocks 3 and 6 of made-up heads certified by the genesis
    validators' dev keys; the checks of verify_blocks one by one."""

    @classmethod
    def setUpClass(cls):
        cls.genesis = load(os.path.join(FIXTURES, "genesis.json"))
        cls.gen = tv.Genesis(cls.genesis)
        cons = load(os.path.join(FIXTURES, "route.json"))["consignment"]
        cls.rows = [(p, e["index"], tv.Event(e["event"])) for p, e in enumerate(cons["events"])]
        cls.sets = [(1, cls.gen.validators)]
        cls.keys = OLD_VALIDATORS
        # the fixture's events: log 15-21 and 24-30 and 48; blocks of 7 events from log 15
        cls.latest = {h: max(ev.body["time"] for _, i, ev in cls.rows if lo <= i < hi)
                      for h, lo, hi in ((3, 15, 22), (6, 24, 31))}

    def head(self, height, log_size, time, prev):
        return {"chain": "tradelog-devnet", "height": height, "time": time,
                "prev": tv.H(tv.head_bytes(tv.parse_head(prev))).hex() if isinstance(prev, dict)
                else prev, "log_size": log_size, "log_root": "11" * 32,
                "index_root": "22" * 32,
                "validators": tv.validators_hash(self.gen.validators.items()).hex()}

    def entry(self, head, prev, keys=None):
        cert = {"height": head["height"], "round": 0, "head": "", "signatures": []}
        e = {"head": head, "certificate": cert, "prev": prev}
        recertify_block(e, keys or self.keys)
        return e

    def chain(self):
        """Heads 1-7 (block 3: log [15, 22), block 6: log [22, 31)) and entries for 3, 6."""
        t = self.gen.time
        h = {1: self.head(1, 1, t + 1, self.gen.hash.hex())}
        for n, size in ((2, 15), (3, 22), (4, 22), (5, 22), (6, 31), (7, 49)):
            time = max(h[n - 1]["time"], self.latest.get(n, 0)) + 1
            h[n] = self.head(n, size, time, h[n - 1])
        return h, [self.entry(h[3], h[2]), self.entry(h[6], h[5])]

    def run_blocks(self, blocks, head=None):
        h, _ = self.chain()
        top = tv.parse_head(head or h[7])
        return tv.verify_blocks(self.gen, top, self.sets, blocks, self.rows)

    def refused(self, blocks, expect, head=None):
        with self.assertRaises(tv.VerifyError) as cm:
            self.run_blocks(blocks, head)
        self.assertIn(expect, str(cm.exception))

    def test_honest(self):
        h, blocks = self.chain()
        rec = self.run_blocks(blocks)
        want = {i: (3, h[3]["time"]) for i in range(15, 22)}
        want.update({i: (6, h[6]["time"]) for i in range(24, 31)})
        self.assertEqual(rec, want)  # log 48 is in no given block: no recorded time
        self.assertEqual(self.run_blocks([]), {})

    def test_height_1_and_genesis(self):
        h, _ = self.chain()
        # block 1 holds none of the events: refused for that, after its prev rules
        self.refused([self.entry(h[1], None)], "blocks[0] (height 1): no event of the bundle")
        self.refused([self.entry(h[1], h[1])], "blocks[0] (height 1): prev must be null")
        bad = self.head(1, 1, h[1]["time"], "00" * 32)
        self.refused([self.entry(bad, None)], "head.prev at height 1 is not the genesis hash")

    def test_prev_rules(self):
        h, blocks = self.chain()
        # a prev at the right height and hash whose time is after the block's
        late = self.head(2, 15, h[3]["time"] + 1, h[1])
        b3 = self.head(3, 22, h[3]["time"], late)
        self.refused([self.entry(b3, late)], "prev.time")
        big = self.head(2, 23, h[2]["time"], h[1])
        b3 = self.head(3, 22, h[3]["time"], big)
        self.refused([self.entry(b3, big)], "prev.log_size 23 is above head.log_size 22")
        other = dict(h[2], chain="another-chain")
        b3 = self.head(3, 22, h[3]["time"], other)
        self.refused([self.entry(b3, other)], "prev.chain 'another-chain' differs")
        self.refused([dict(blocks[0], prev=dict(h[2], height="2"))],
                     "blocks[0] (height 3): prev: head.height")

    def test_block_head_rules(self):
        h, blocks = self.chain()
        self.refused([blocks[0]], "blocks[0] (height 3): at head.height but not the bundle's",
                     head=dict(h[3], time=h[3]["time"] + 1))
        other = dict(h[3], chain="another-chain")
        self.refused([self.entry(other, h[2])], "head.chain 'another-chain' differs")
        self.refused([blocks[1]], "height above head.height (5)", head=h[5])
        self.refused([blocks[1], blocks[0]], "blocks[1] (height 3): height not above")
        self.refused([blocks[0]] * 20, "bundle.blocks: 20 entries, more than the bundle's 15")

    def test_certificate_under_the_set_at_its_height(self):
        h, blocks = self.chain()
        self.refused([self.entry(h[3], h[2], self.keys[:2])],
                     "blocks[0] (height 3): certificate: no quorum (signed power 2 of 4) "
                     "(under the validator set in force at height 3)")
        # a transition at height 4 to a set of one validator: heights up to 4 under the
        # genesis set, heights from 5 under the new one
        newcomer = NEWCOMER.public_key().public_bytes_raw()
        sets = [(1, self.gen.validators), (5, {newcomer: 1})]
        top = tv.parse_head(h[7])
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_blocks(self.gen, top, sets, blocks, self.rows)
        self.assertIn("blocks[1] (height 6): certificate: head.validators is not the hash",
                      str(cm.exception))
        self.assertEqual(tv.validators_at(sets, 4), self.gen.validators)
        self.assertEqual(tv.validators_at(sets, 5), {newcomer: 1})
        self.assertEqual(tv.validators_at(sets, 9), {newcomer: 1})

    def test_two_blocks_holding_the_same_events(self):
        # forged with the genesis validators' dev keys: a second height-6 head whose
        # predecessor claims a log size inside block 3's events (conflicting certified heads)
        h, blocks = self.chain()
        h5 = self.head(5, 18, h[5]["time"], "33" * 32)
        h6 = self.head(6, 31, h[6]["time"], h5)
        self.refused([blocks[0], self.entry(h6, h5)],
                     "blocks[1] (height 6): its first log position 18 is below the previous "
                     "entry's log_size 22")

    def test_event_time_window(self):
        h, _ = self.chain()
        early = self.head(3, 22, self.latest[3] - tv.MAX_EVENT_AHEAD - 1, h[2])
        t2 = dict(h[2], time=self.gen.time)
        early["prev"] = tv.H(tv.head_bytes(tv.parse_head(t2))).hex()
        self.refused([self.entry(early, t2)], "blocks[0] (height 3): event #")
        ok = self.head(3, 22, self.latest[3] - tv.MAX_EVENT_AHEAD, t2)
        rec = self.run_blocks([self.entry(ok, t2)])
        self.assertEqual(set(rec.values()), {(3, self.latest[3] - tv.MAX_EVENT_AHEAD)})

# ---- trade identifiers, ids, linked events and routes of groups (sections 2, 3.2, 5, 8f, 9b)

BL = "bl:blue-anchor-lines:BALRTM0001"
BKG = "bkg:blue-anchor-lines:BK12345"
SSCC = "sscc:106141412345678908"
CARRIER_ORG, OTHER_CARRIER, PLATFORM, CUSTOMS, AUDITOR = (
    "blue-anchor-lines", "north-star-shipping", "shopfast", "nl-customs", "audit-office")
OTHER_BL = f"bl:{OTHER_CARRIER}:NSS0042"


def trade_body(kind, time=1767225600000, org=CARRIER_ORG, **members):
    """A body of the five-organisation ledger below (signed by LinksLedger.KEYS[org])."""
    b = {"v": 1, "chain": "tradelog-links", "kind": kind, "time": time, "refs": [],
         "documents": [], "details": {},
         "issuer": {"org": org, "key": public_hex(LinksLedger.KEYS[org])}}
    b.update(members)
    return b


class LinksLedger:
    """A genesis of five organisations, one of each role and a second carrier (the first is
    the one validator); `rules` 2 unless told."""
    ROLES = {CARRIER_ORG: "carrier", OTHER_CARRIER: "carrier", PLATFORM: "platform",
             CUSTOMS: "customs", AUDITOR: "auditor"}
    KEYS = {o: dev_key(f"links/{o}") for o in ROLES}

    @classmethod
    def genesis(cls, rules=2):
        g = {"chain": "tradelog-links", "time": 1767225000000,
             "organisations": [{"id": o, "name": o, "role": r, "keys": [public_hex(cls.KEYS[o])]}
                               for o, r in cls.ROLES.items()],
             "validators": [{"org": CARRIER_ORG, "key": public_hex(cls.KEYS[CARRIER_ORG]),
                             "power": 1}]}
        if rules is not None:
            g["rules"] = rules
        return g

    @classmethod
    def log(cls, bodies, rules=2):
        g = cls.genesis(rules)
        return g, ForgedLog(g, cls.KEYS[CARRIER_ORG],
                            [(b, cls.KEYS[b["issuer"]["org"]]) for b in bodies])


class TradeIdentifiers(unittest.TestCase):
    def test_gs1_check_digit(self):
        self.assertEqual(tv.gs1_check_digit("10614141234567890"), 8)  # section 2's example
        self.assertEqual(tv.gs1_check_digit("00000000000000000"), 0)
        # weights 3, 1, 3, ... from the right: 1 * 3 = 3, check 7; 1 * 1 = 1, check 9
        self.assertEqual(tv.gs1_check_digit("00000000000000001"), 7)
        self.assertEqual(tv.gs1_check_digit("00000000000000010"), 9)

    def test_valid(self):
        for good in (BL, BKG, SSCC, OTHER_BL, "bl:ab:1", "bkg:a-1:A.B/C-9",
                     "bl:" + "a" * 64 + ":" + "Z" * 35, "sscc:000000000000000000",
                     "sscc:000000000000000017"):
            self.assertTrue(tv.trade_id_ok(good), good)
            tv.check_id(good, "trade identifier", "body.ids[0]")
        self.assertEqual(tv.parse_trade_id(BL), ("bl", CARRIER_ORG, "BALRTM0001"))
        self.assertEqual(tv.parse_trade_id(SSCC), ("sscc", None, "106141412345678908"))

    def test_invalid(self):
        for bad in ("sscc:106141412345678907",     # wrong check digit
                    "sscc:10614141234567890",       # 17 digits
                    "sscc:1061414123456789080",     # 19 digits
                    "sscc:10614141234567890x", "SSCC:106141412345678908",
                    "bl:blue-anchor-lines:balrtm0001",  # lowercase number: never normalised
                    "bl:Blue-Anchor-Lines:BALRTM0001",  # the carrier is an organisation id
                    "bl:blue-anchor-lines:", "bl:blue-anchor-lines:" + "A" * 36,
                    "bl:blue-anchor-lines:BAL RTM", "bl:blue-anchor-lines:BAL:RTM",
                    "bl:blue-anchor-lines-:X", "bl:b:X", "bl::X", "bl:blue-anchor-lines",
                    "BL:blue-anchor-lines:X", "awb:blue-anchor-lines:X", "bkg:x-:1",
                    " bl:blue-anchor-lines:X", "bl:blue-anchor-lines:X\n", "6NL123456789-AB",
                    "", 7, None):
            self.assertFalse(tv.trade_id_ok(bad), bad)
            with self.assertRaises(tv.VerifyError, msg=repr(bad)):
                tv.check_id(bad, "trade identifier", "body.ids[0]")

    def test_index_key(self):
        for t in (BL, SSCC):
            self.assertEqual(tv.index_key("identifier", t),
                             tv.H(b"tradelog/index-key/v1\x00\x04" + t.encode()))
        self.assertNotEqual(tv.index_key("identifier", "6NL123456789-AB"),
                            tv.index_key("consignment", "6NL123456789-AB"))

    def test_vectors_recomputed(self):
        r = subprocess.run([sys.executable, SCRIPT, "vectors", SPEC],
                           capture_output=True, text=True)
        for name in ("index_key_identifier_bl", "index_key_identifier_sscc",
                     "event_linked_canonical_body", "event_linked_id", "event_linked_wire_json"):
            self.assertIn(f"ok {name}\n", r.stdout)


class IdsAndLinked(unittest.TestCase):
    """Section 3.2 `ids`, the kind `linked` and its admission rules (3.4, 8f)."""

    def refused(self, body, expect):
        with self.assertRaises(tv.VerifyError) as cm:
            tv.check_body(body)
        self.assertIn(expect, str(cm.exception))
        return str(cm.exception)

    def admit(self, body, rules=2):
        gen = tv.Genesis(LinksLedger.genesis(rules))
        sk = LinksLedger.KEYS[body["issuer"]["org"]]
        ev = tv.Event({"body": body, "sig": sk.sign(tv.EVENT_PREFIX + tv.check_body(body)).hex()})
        gen.membership().admit(ev)
        return ev

    def not_admitted(self, body, expect, rules=2):
        with self.assertRaises(tv.VerifyError) as cm:
            self.admit(body, rules)
        self.assertEqual(str(cm.exception), expect)

    def test_ids_member(self):
        canon = tv.check_body(trade_body("booked", ids=[BKG, BL, SSCC])).decode()
        self.assertIn(f'"documents":[],"ids":["{BKG}","{BL}","{SSCC}"],"issuer":', canon)
        # ids alone is enough for an event (at least one of ucr, container, ids)
        tv.check_body(trade_body("booked", ids=[SSCC]))
        tv.check_body(trade_body("loaded", ids=[BL], container="CSQU3054383", location="NLRTM"))
        self.refused(trade_body("booked"), "body: none of ucr, container, ids")
        self.refused(trade_body("booked", ids=[BL, BKG]), "body.ids: trade identifiers must be "
                     "in ascending byte order, each once")
        self.refused(trade_body("booked", ids=[BL, BL]), "ascending byte order, each once")
        self.refused(trade_body("booked", ids=[]), "body.ids: 1 to 16 trade identifiers")
        many = sorted(f"sscc:{n:017d}{tv.gs1_check_digit(f'{n:017d}')}" for n in range(17))
        tv.check_body(trade_body("booked", ids=many[:16]))
        self.refused(trade_body("booked", ids=many), "body.ids: more than 16 items")
        self.refused(trade_body("booked", ids=["sscc:106141412345678907"]),
                     "body.ids[0]: invalid trade identifier")
        self.refused(trade_body("booked", ids=["bl:blue-anchor-lines:balrtm0001"]),
                     "body.ids[0]: invalid trade identifier")
        self.refused(trade_body("booked", ids=BL), "body.ids: expected an array")
        with self.assertRaises(tv.VerifyError):  # null is refused like any absent member
            tv.Event(tv.load_json(json.dumps({"body": trade_body("booked", ucr="6NL1234", ids=None),
                                              "sig": "00" * 64})))

    def test_membership_event_with_ids_refused(self):
        change = {"type": "add_key", "org": CARRIER_ORG, "key": "11" * 32}
        body = trade_body("membership", membership={"seq": 1, "change": change, "approvals": []})
        tv.check_body(body)
        self.refused(dict(body, ids=[BL]), "body.ids: not allowed in a membership event")

    def test_offset_member(self):
        canon = tv.check_body(trade_body("arrived", ucr="6NL1234", location="NLRTM",
                                         offset="-05:30")).decode()
        self.assertIn('"location":"NLRTM","offset":"-05:30","refs":[]', canon)
        for good in ("+01:00", "-05:30", "+14:00", "-14:00", "+00:00"):
            tv.check_body(trade_body("booked", ucr="6NL1234", offset=good))
        for bad in ("-00:00", "+14:01", "+15:00", "+1:00", "01:00", "+01:60", "+01-00"):
            msg = self.refused(trade_body("booked", ucr="6NL1234", offset=bad), "body.offset: ")
            self.assertEqual(msg, f'body.offset: "{bad}" must be +HH:MM or -HH:MM within '
                             '14:00, +00:00 for UTC')
        self.refused(trade_body("booked", ucr="6NL1234", offset=None), "body.offset")
        self.refused(trade_body("booked", ucr="6NL1234", offset=60), "body.offset")
        change = {"type": "add_key", "org": CARRIER_ORG, "key": "11" * 32}
        body = trade_body("membership", membership={"seq": 1, "change": change, "approvals": []})
        self.assertEqual(self.refused(dict(body, offset="+01:00"), "body.offset"),
                         "body.offset: a membership event has no offset")
        # informational only: admitted like the same event without it
        self.admit(trade_body("booked", ucr="6NL1234", offset="+01:00"))

    def test_packed_names_its_consignment_by_ucr_or_ids(self):
        # §3.2: packing needs a container and a ucr or ids (a carrier's booking)
        tv.check_body(trade_body("packed", ids=[BKG], container="CSQU3054383", location="CNSHA"))
        tv.check_body(trade_body("packed", ucr="6NL123456789-AB", container="CSQU3054383",
                                 location="CNSHA"))
        self.refused(trade_body("packed", container="CSQU3054383", location="CNSHA"),
                     "body: packed needs a container and a ucr or ids")
        self.refused(trade_body("packed", ids=[BKG], location="CNSHA"),
                     "body: packed needs a container and a ucr or ids")

    def test_linked_structure(self):
        tv.check_body(trade_body("linked", ucr="6NL123456789-AB", ids=[BL]))  # no location
        tv.check_body(trade_body("linked", ids=[BKG, BL]))
        self.refused(trade_body("linked", ids=[BL]),
                     "body: linked needs at least two subjects among ucr and ids")
        self.refused(trade_body("linked", ucr="6NL123456789-AB"),
                     "body: linked needs at least two subjects among ucr and ids")
        self.refused(trade_body("linked", ucr="6NL123456789-AB", ids=[BL],
                                container="CSQU3054383"),
                     "body.container: a linked event names no container")
        self.refused(trade_body("linked", container="CSQU3054383"), "body.container: ")

    def test_who_may_link(self):
        ucr = "6NL123456789-AB"
        # a carrier: its own B/L and booking, SSCCs and a UCR
        self.admit(trade_body("linked", ucr=ucr, ids=[BKG, BL, SSCC]))
        self.admit(trade_body("linked", ucr=ucr, ids=[BL]), rules=None)
        # a platform and customs link any carrier's documents
        for org in (PLATFORM, CUSTOMS):
            self.admit(trade_body("linked", org=org, ucr=ucr, ids=[BL, OTHER_BL]))
        # never another carrier's (also with its own beside it), under every rule version
        for rules in (2, None):
            self.not_admitted(trade_body("linked", ids=[BL, OTHER_BL]),
                              f"body.ids: {OTHER_BL}: a carrier links only its own transport "
                              f"documents and bookings", rules)
            self.not_admitted(trade_body("linked", org=OTHER_CARRIER, ucr=ucr, ids=[BKG]),
                              f"body.ids: {BKG}: a carrier links only its own transport "
                              f"documents and bookings", rules)
        # identifiers alone are linked only by their carrier (8f)
        for org, role in ((PLATFORM, "platform"), (CUSTOMS, "customs")):
            self.not_admitted(trade_body("linked", org=org, ids=[BKG, BL]),
                              f"body.ucr: a {role} organisation ({org}) links trade identifiers "
                              f"to a consignment's UCR; a link of identifiers alone is their "
                              f"carrier's")
        # an auditor issues nothing but membership events
        self.not_admitted(trade_body("linked", org=AUDITOR, ucr=ucr, ids=[BL]),
                          "role auditor may not issue linked")
        # naming another carrier's B/L in another kind links nothing, and is not refused
        self.admit(trade_body("booked", ids=[OTHER_BL]))
        self.admit(trade_body("held", org=CUSTOMS, ucr=ucr, ids=[OTHER_BL]))

    def test_linked_with_a_ucr_keeps_the_party_rule(self):
        # rules 2: a platform opened the consignment; a carrier that is no party may not link it
        ucr = "6NL123456789-AB"
        opened = trade_body("booked", org=PLATFORM, ucr=ucr)
        link = trade_body("linked", time=1767225600001, ucr=ucr, ids=[BL])
        g, log = LinksLedger.log([opened, link])
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_bundle(g, log.bundle("consignment", ucr))
        self.assertIn(f"issuer {CARRIER_ORG} is not a party of consignment {ucr}",
                      str(cm.exception))
        # its B/L's history alone has no party rule (9 step 6: consignment subjects only)
        res = tv.verify_bundle(g, log.bundle("identifier", BL))
        self.assertEqual([idx for _, idx, _ in res["rows"]], [1])
        # named a party first, it may
        named = dict(opened, parties=[CARRIER_ORG])
        g, log = LinksLedger.log([named, link])
        self.assertEqual(len(tv.verify_bundle(g, log.bundle("consignment", ucr))["rows"]), 2)


class IdentifierBundles(unittest.TestCase):
    """Section 9 with an identifier subject, on ledgers made here."""

    def setUp(self):
        self.bodies = [
            trade_body("booked", ids=[BKG]),
            trade_body("loaded", time=1767225660000, container="CSQU3054383", location="NLRTM",
                       ids=[BKG, BL]),
            trade_body("departed", time=1767225720000, container="CSQU3054383", location="NLRTM"),
            trade_body("held", org=CUSTOMS, time=1767225780000, ucr="6NL123456789-AB", ids=[BL]),
        ]
        self.genesis, self.log = LinksLedger.log(self.bodies)

    def test_identifier_subject_verifies(self):
        for t, want in ((BKG, [0, 1]), (BL, [1, 3]), (SSCC, [])):
            res = tv.verify_bundle(self.genesis, self.log.bundle("identifier", t))
            self.assertEqual([idx for _, idx, _ in res["rows"]], want, t)
            self.assertEqual(res["subject"], ("identifier", t))
        # the subject id is a trade identifier
        b = self.log.bundle("identifier", BL)
        b["subject"]["id"] = "bl:blue-anchor-lines:balrtm0001"
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_bundle(self.genesis, b)
        self.assertIn("subject.id: invalid trade identifier", str(cm.exception))

    def test_event_not_naming_the_identifier_refused(self):
        b = self.log.bundle("identifier", BL)
        b["events"].insert(1, self.log.bundle("container", "CSQU3054383")["events"][1])
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_bundle(self.genesis, b)
        self.assertIn(f"event #1 (log index 2): event does not concern identifier {BL}",
                      str(cm.exception))

    def test_dropped_event_refused(self):
        b = self.log.bundle("identifier", BKG)
        b["events"].pop(0)
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_bundle(self.genesis, b)
        self.assertIn("completeness", str(cm.exception))

    def test_source_key_with_ids(self):
        src = {"standard": "dcsa", "id": "feed-1"}
        a = trade_body("booked", ids=[BKG], source=src)
        again = trade_body("booked", time=1767225600001, ids=[BKG], source=src)
        other = trade_body("booked", time=1767225600002, ids=[BKG, BL], source=src)
        g, log = LinksLedger.log([a, other])  # another ids list is another key
        self.assertEqual(len(tv.verify_bundle(g, log.bundle("identifier", BKG))["rows"]), 2)
        g, log = LinksLedger.log([a, other, again])
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_bundle(g, log.bundle("identifier", BKG))
        self.assertTrue(str(cm.exception).startswith("events[2]: body.source: "), cm.exception)
        self.assertIn("at events[0]", str(cm.exception))


UCR = "6NL123456789-AB"
BOX = "CSQU3054383"
OTHER_BOX = "MSCU1234566"


def group_bodies():
    """A platform's consignment, the carrier's booking and B/L, linked by the carrier (its own
    documents) and by the platform (the UCR to the B/L); the container's own movements by the
    carrier (a party), an outsider carrier, and an event naming another B/L."""
    t = 1767225600000
    return [
        trade_body("booked", t, PLATFORM, ucr=UCR, parties=[CARRIER_ORG]),           # 0
        trade_body("booked", t + 1000, ids=[BKG]),                                    # 1
        trade_body("loaded", t + 2000, container=BOX, location="NLRTM", ids=[BL]),    # 2
        trade_body("linked", t + 3000, ids=[BKG, BL]),                                # 3
        trade_body("linked", t + 4000, PLATFORM, ucr=UCR, ids=[BL]),                  # 4
        trade_body("departed", t + 5000, container=BOX, location="NLRTM"),            # 5
        trade_body("arrived", t + 6000, OTHER_CARRIER, container=BOX, location="DEHAM"),  # 6
        trade_body("discharged", t + 7000, OTHER_CARRIER, container=BOX, location="DEHAM",
                   ids=[OTHER_BL]),                                                   # 7
        trade_body("booked", t + 8000, PLATFORM, ids=[SSCC]),                         # 8
        trade_body("gate_out", t + 9000, container=OTHER_BOX, location="NLRTM"),      # 9
    ]


def group_route(log, subjects, containers):
    """A version-3 route of `subjects` ((type, id), sorted here by index key unless told)."""
    return {"version": 3, "subjects": [log.bundle(t, i) for t, i in subjects],
            "containers": [log.bundle("container", c) for c in containers]}


def by_key(subjects):
    return sorted(subjects, key=lambda s: tv.index_key(*s))


GROUP = by_key([("consignment", UCR), ("identifier", BKG), ("identifier", BL)])


class GroupRoutes(unittest.TestCase):
    """Section 9b "Routes of groups" (version 3) on ledgers made here."""

    @classmethod
    def setUpClass(cls):
        cls.genesis, cls.log = LinksLedger.log(group_bodies())

    def route(self, subjects=GROUP, containers=(BOX,)):
        return group_route(self.log, subjects, containers)

    def refused(self, route, expect, asked=None):
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_route(self.genesis, route, asked)
        self.assertIn(expect, str(cm.exception))
        return str(cm.exception)

    def test_honest_group_route_and_timeline(self):
        timeline = tv.verify_route(self.genesis, self.route())
        # the group events 0-4, and the party carrier's container move 5; not the outsider's
        # (6), not an event naming another B/L (7), not an unlinked SSCC's (8)
        self.assertEqual([(e["index"], e["source"]) for e in timeline],
                         [(0, "consignment"), (1, "consignment"), (2, "consignment"),
                          (3, "consignment"), (4, "consignment"), (5, {"container": BOX})])
        self.assertEqual(timeline[3]["id"], self.log.parsed[3].id.hex())
        res, _ = tv.check_route(self.genesis, self.route())
        self.assertEqual(res["group"], GROUP)
        # the subject asked for is one of the group, whichever it is
        for asked in GROUP:
            tv.verify_route(self.genesis, self.route(), asked)
        self.refused(self.route(), "route: asked for identifier " + SSCC, ("identifier", SSCC))

    def test_rules_1_admits_every_container_event_of_the_windows(self):
        bodies = group_bodies()
        del bodies[0]["parties"]  # rules 1 has no consignment parties
        g, log = LinksLedger.log(bodies, rules=None)
        timeline = tv.verify_route(g, group_route(log, GROUP, (BOX,)))
        self.assertEqual([e["index"] for e in timeline], [0, 1, 2, 3, 4, 5, 6])

    def test_a_group_without_consignment(self):
        # without the platform's link, B/L and booking are a group of two identifiers: the
        # container's events of the group events' issuers enter, not the outsider's
        bodies = group_bodies()
        del bodies[4]
        g, log = LinksLedger.log(bodies)
        pair = by_key([("identifier", BKG), ("identifier", BL)])
        timeline = tv.verify_route(g, group_route(log, pair, (BOX,)))
        self.assertEqual([e["index"] for e in timeline], [1, 2, 3, 4])
        # and the consignment alone is no longer part of it
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_route(g, group_route(log, by_key(pair + [("consignment", UCR)]), (BOX,)))
        self.assertIn("not reached from route.subjects[0]", str(cm.exception))

    def test_group_event_issuers_are_insiders_with_a_consignment_too(self):
        # the carrier is no party of the consignment (no `parties`, no event naming the UCR),
        # yet it issued group events (the B/L's): its container move 5 enters (rules 2)
        bodies = group_bodies()
        del bodies[0]["parties"]
        g, log = LinksLedger.log(bodies)
        timeline = tv.verify_route(g, group_route(log, GROUP, (BOX,)))
        self.assertEqual([(e["index"], e["source"]) for e in timeline],
                         [(0, "consignment"), (1, "consignment"), (2, "consignment"),
                          (3, "consignment"), (4, "consignment"), (5, {"container": BOX})])
        sub = tv.verify_bundle(g, log.bundle("consignment", UCR))
        self.assertNotIn(CARRIER_ORG, sub["parties"])

    def test_one_identifier_is_a_group(self):
        timeline = tv.verify_route(self.genesis, self.route([("identifier", SSCC)], ()))
        self.assertEqual([e["index"] for e in timeline], [8])

    def test_linked_subjects_bundle_omitted(self):
        for drop in GROUP:
            rest = [s for s in GROUP if s != drop]
            msg = self.refused(self.route(rest), f"links {drop[0]} {drop[1]}, which is not one "
                               f"of the route's subjects (the group is not closed")
            self.assertIn("event #", msg)

    def test_unconnected_subject_added(self):
        self.refused(self.route(by_key(GROUP + [("identifier", SSCC)])),
                     f"(identifier {SSCC}): not reached from route.subjects[0]")

    def test_subjects_out_of_order_or_twice(self):
        self.refused(self.route(list(reversed(GROUP))), "ascending order of index keys")
        self.refused(self.route(GROUP + [GROUP[-1]]), "ascending order of index keys")

    def test_subject_types_and_counts(self):
        r = self.route()
        r["subjects"].append(self.log.bundle("container", BOX))
        self.refused(r, "route.subjects[3].subject.type is 'container'")
        self.refused(dict(self.route(), subjects=[]), "route.subjects: 1 to 64")
        self.refused(dict(self.route(), subjects=[self.log.bundle("identifier", BL)] * 65),
                     "route.subjects: more than 64 items")
        self.refused(dict(self.route(), consignment={}), "unknown member(s) ['consignment']")
        self.refused([self.route()], "route[0]: version 3 (a group's route) is one bundle")

    def test_containers_exactly_those_named(self):
        self.refused(self.route(containers=()), f"container {BOX} named by the group's events "
                     f"has no bundle")
        self.refused(self.route(containers=(BOX, OTHER_BOX)), f"route.containers[1]: container "
                     f"'{OTHER_BOX}' is not named by the group's events")
        r = self.route()
        r["containers"][0]["events"].pop()
        self.refused(r, f"route.containers[0] ({BOX}): completeness")

    def test_bundles_against_one_head(self):
        other_genesis, other = LinksLedger.log(group_bodies()[:5])
        r = self.route()
        r["subjects"][1] = other.bundle(*GROUP[1])
        self.refused(r, "route.subjects[1] (")
        self.assertIn("head differs from route.subjects[0]'s head", self.refused(r, ""))
        r = self.route()
        r["containers"][0]["certificate"]["round"] = 1
        self.refused(r, f"route.containers[0] ({BOX}): certificate differs")

    def test_subject_bundle_tampered(self):
        r = self.route()
        r["subjects"][2]["events"][0]["event"]["body"]["time"] += 1
        self.refused(r, "route.subjects[2] (")

    def test_cli_route(self):
        with tempfile.TemporaryDirectory() as d:
            gp, rp = os.path.join(d, "genesis.json"), os.path.join(d, "route.json")
            with open(gp, "w") as f:
                json.dump(self.genesis, f)
            with open(rp, "w") as f:
                json.dump(self.route(), f)
            r = subprocess.run([sys.executable, SCRIPT, "route", gp, rp],
                               capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("route     group of 3 subject(s): ", r.stdout)
        self.assertIn(f"ids {BKG},{BL}", r.stdout)
        self.assertTrue(r.stdout.rstrip().endswith("VERIFIED"), r.stdout)


class ConsignmentRoutesWithIds(unittest.TestCase):
    """Section 9b version 1 with the trade identifiers: a container event naming ids is not the
    consignment's; a linked consignment is verified but warned about (its route is a group's)."""

    def test_container_event_naming_ids_stays_out(self):
        t = 1767225600000
        bodies = [trade_body("packed", t, PLATFORM, ucr=UCR, container=BOX, location="NLRTM",
                             parties=[CARRIER_ORG]),
                  trade_body("loaded", t + 1000, container=BOX, location="NLRTM"),
                  trade_body("departed", t + 2000, container=BOX, location="NLRTM", ids=[BL])]
        g, log = LinksLedger.log(bodies)
        route = {"version": 1, "consignment": log.bundle("consignment", UCR),
                 "containers": [log.bundle("container", BOX)]}
        self.assertEqual([e["index"] for e in tv.verify_route(g, route)], [0, 1])
        res, _ = tv.check_route(g, route)
        self.assertEqual(res["warnings"], [])

    def test_linked_consignment_served_as_version_1_is_refused(self):
        g, log = LinksLedger.log(group_bodies())
        for version in (1, 2):
            route = {"version": version, "consignment": log.bundle("consignment", UCR),
                     "containers": []}
            if version == 2:
                route = [dict(route, containers_from=0)]
            with self.assertRaises(tv.VerifyError) as cm:
                tv.check_route(g, route)
            self.assertEqual(
                str(cm.exception),
                "consignment: events[1] is a linked event: the consignment is linked to trade "
                "identifiers, its route is its group's (version 3)")


RETRACT_SRC = {"standard": "dcsa", "id": "84db923d-2a19-4eb0-beb5-446c1ec57d34"}


def event_id(body):
    """The id of an event with `body` (section 3.3: it does not depend on the signature)."""
    return tv.H(tv.EVENT_PREFIX + tv.check_body(body)).hex()


def retraction(time, retracts, org=CARRIER_ORG, **subjects):
    """A `retracted` event of `org` (section 8g) about UCR and BOX unless told."""
    members = {"ucr": UCR, "container": BOX}
    members.update(subjects)
    return trade_body("retracted", time, org, retracts=retracts,
                      **{k: v for k, v in members.items() if v is not None})


def retraction_bodies():
    """A platform's consignment, two carrier movements of BOX (the first imported with a
    source), the carrier retracting the first by its source and the second by its id, and a
    later movement."""
    t = 1767225600000
    loaded = trade_body("loaded", t + 1000, ucr=UCR, container=BOX, location="NLRTM",
                        source=RETRACT_SRC)
    departed = trade_body("departed", t + 2000, ucr=UCR, container=BOX, location="NLRTM")
    return [
        trade_body("booked", t, PLATFORM, ucr=UCR, parties=[CARRIER_ORG]),            # 0
        loaded,                                                                        # 1
        departed,                                                                      # 2
        retraction(t + 3000, {"source": dict(RETRACT_SRC)}),                           # 3
        retraction(t + 4000, {"event": event_id(departed)}),                           # 4
        trade_body("arrived", t + 5000, ucr=UCR, container=BOX, location="DEHAM"),     # 5
    ]


class Retractions(unittest.TestCase):
    """The body member `retracts` (3.2), the kind `retracted` (3.4) and rule 8g in bundles
    (section 9 step 6) and routes, on ledgers made here."""

    def refused_body(self, body, expect):
        with self.assertRaises(tv.VerifyError) as cm:
            tv.check_body(body)
        self.assertTrue(str(cm.exception).startswith(expect), cm.exception)

    def refused(self, bodies, subject, expect):
        g, log = LinksLedger.log(bodies)
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_bundle(g, log.bundle(*subject))
        self.assertEqual(str(cm.exception), expect)

    def test_member_rules(self):
        by_source = retraction(1767225600000, {"source": dict(RETRACT_SRC)})
        by_event = retraction(1767225600000, {"event": "ab" * 32})
        canon = tv.check_body(by_source).decode()
        self.assertIn('"refs":[],"retracts":{"source":{"id":"' + RETRACT_SRC["id"] +
                      '","standard":"dcsa"}},"time":', canon)
        self.assertIn('"retracts":{"event":"' + "ab" * 32 + '"}', tv.check_body(by_event).decode())
        # no location needed; ids alone name the subject too
        tv.check_body(retraction(1, {"event": "ab" * 32}, ucr=None, container=None, ids=[BL]))
        self.refused_body(retraction(1, {"event": "ab" * 32}, ucr=None, container=None),
                          "body: none of ucr, container, ids")
        # present exactly when kind is retracted
        self.refused_body(dict(by_event, kind="booked"),
                          "body.retracts: only allowed for kind retracted, not booked")
        no = dict(by_event)
        del no["retracts"]
        self.refused_body(no, "body.retracts: required for kind retracted")
        # exactly one member, each with its rules
        for bad in ({}, {"event": "ab" * 32, "source": dict(RETRACT_SRC)}, {"id": "ab" * 32},
                    {"event": "ab" * 32, "extra": 1}, "ab" * 32, [], None):
            self.refused_body(dict(by_event, retracts=bad), "body.retracts: ")
        for bad in ("AB" * 32, "ab" * 31, 7, None):
            self.refused_body(dict(by_event, retracts={"event": bad}), "body.retracts.event: ")
        for src, member in (({"standard": "DCSA", "id": "x"}, "body.retracts.source.standard: "),
                            ({"standard": "dcsa", "id": "has space"}, "body.retracts.source.id: "),
                            ({"standard": "dcsa", "id": "x" * 257}, "body.retracts.source.id: "),
                            ({"standard": "dcsa"}, "body.retracts.source: "),
                            ({"standard": "dcsa", "id": "x", "extra": 1}, "body.retracts.source: ")):
            self.refused_body(dict(by_event, retracts={"source": src}), member)
        # not in a membership event
        _, sk, _ = vector_parts()
        change = {"type": "add_key", "org": "blue-anchor-lines", "key": "11" * 32}
        m = {"v": 1, "chain": "tradelog-vectors", "kind": "membership", "time": 1, "refs": [],
             "documents": [], "details": {},
             "issuer": {"org": "blue-anchor-lines", "key": public_hex(sk)},
             "membership": {"seq": 1, "change": change, "approvals": []}}
        self.refused_body(dict(m, retracts={"event": "ab" * 32}),
                          "body.retracts: only allowed for kind retracted, not membership")

    def test_who_may_retract(self):
        gen = tv.Genesis(LinksLedger.genesis())
        for org, ok in ((CARRIER_ORG, True), (PLATFORM, True), (CUSTOMS, True), (AUDITOR, False)):
            b = retraction(1767225600000, {"event": "ab" * 32}, org)
            sk = LinksLedger.KEYS[org]
            ev = tv.Event({"body": b, "sig": sk.sign(tv.EVENT_PREFIX + tv.check_body(b)).hex()})
            if ok:
                gen.membership().admit(ev)
            else:
                with self.assertRaises(tv.VerifyError) as cm:
                    gen.membership().admit(ev)
                self.assertEqual(str(cm.exception), "role auditor may not issue retracted")

    def test_retractions_by_source_and_by_event_verify(self):
        g, log = LinksLedger.log(retraction_bodies())
        res = tv.verify_bundle(g, log.bundle("consignment", UCR))
        self.assertEqual(res["retracted"], {1: 3, 2: 4})
        res = tv.verify_bundle(g, log.bundle("container", BOX))
        self.assertEqual(res["retracted"], {1: 3, 2: 4})  # log indexes, in either bundle
        self.assertEqual([p for p, _, _ in res["rows"]], [0, 1, 2, 3, 4])
        # a ledger without retractions has none
        self.assertEqual(tv.verify_bundle(g, log.bundle("consignment", UCR))["retracted"]
                         .get(5), None)
        # 8g under rules 1 too
        rules1 = retraction_bodies()
        del rules1[0]["parties"]  # no parties under rules 1
        g1, log1 = LinksLedger.log(rules1, rules=None)
        self.assertEqual(tv.verify_bundle(g1, log1.bundle("consignment", UCR))["retracted"],
                         {1: 3, 2: 4})

    def test_route_marks_retracted_events(self):
        bodies = retraction_bodies()
        # a container movement of BOX alone, and its retraction (both in the window)
        gate = trade_body("gate_out", 1767225606000, container=BOX, location="DEHAM")
        bodies += [gate, retraction(1767225607000, {"event": event_id(gate)}, ucr=None)]
        g, log = LinksLedger.log(bodies)
        route = {"version": 1, "consignment": log.bundle("consignment", UCR),
                 "containers": [log.bundle("container", BOX)]}
        got = tv.verify_route(g, route)
        self.assertEqual([e["index"] for e in got], [0, 1, 2, 3, 4, 5, 6, 7])
        self.assertEqual({e["index"]: e["retracted_by"] for e in got if e["retracted_by"]
                          is not None}, {1: 3, 2: 4, 6: 7})
        res, _ = tv.check_route(g, route)
        self.assertEqual(res["route_retracted"], {1: 3, 2: 4, 6: 7})
        with tempfile.TemporaryDirectory() as d:
            gp, bp = os.path.join(d, "genesis.json"), os.path.join(d, "bundle.json")
            with open(gp, "w") as f:
                json.dump(g, f)
            with open(bp, "w") as f:
                json.dump(log.bundle("consignment", UCR), f)
            r = subprocess.run([sys.executable, SCRIPT, "bundle", gp, bp],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("RETRACTED by log 3 at 2026-01-01T00:00:03.000Z", r.stdout)
            self.assertIn("retracted  container CSQU3054383  retracts log 2", r.stdout)
            rp = os.path.join(d, "route.json")
            with open(rp, "w") as f:
                json.dump(route, f)
            r = subprocess.run([sys.executable, SCRIPT, "route", gp, rp],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("RETRACTED by log 7", r.stdout)

    def test_target_later_than_the_retraction(self):
        t = 1767225600000
        later = trade_body("loaded", t + 2000, ucr=UCR, container=BOX, location="NLRTM",
                           source=RETRACT_SRC)
        for retracts, what in (({"event": event_id(later)}, event_id(later)),
                               ({"source": dict(RETRACT_SRC)}, f'dcsa "{RETRACT_SRC["id"]}"')):
            bodies = [trade_body("booked", t, PLATFORM, ucr=UCR, parties=[CARRIER_ORG]),
                      retraction(t + 1000, retracts), later]
            self.refused(bodies, ("consignment", UCR),
                         f"events[1]: body.retracts: no earlier event {what} of "
                         f"blue-anchor-lines for this consignment and container")
        # a source no event has
        bodies = retraction_bodies()[:3] + [retraction(t + 3000, {"source": {"standard": "dcsa",
                                                                            "id": "other"}})]
        self.refused(bodies, ("container", BOX),
                     'events[2]: body.retracts: no earlier event dcsa "other" of '
                     "blue-anchor-lines for this consignment and container")

    def test_another_organisations_event(self):
        bodies = retraction_bodies()[:3]
        target = event_id(bodies[0])  # the platform's booking
        bodies.append(retraction(1767225603000, {"event": target}, container=None))
        self.refused(bodies, ("consignment", UCR),
                     f"events[3]: body.retracts: {target} was issued by shopfast: an "
                     f"organisation retracts only its own events")
        # by source, another organisation's event is not even a candidate (the key has the org)
        bodies = retraction_bodies()[:3]
        bodies.append(retraction(1767225603000, {"source": dict(RETRACT_SRC)}, PLATFORM))
        self.refused(bodies, ("consignment", UCR),
                     f'events[3]: body.retracts: no earlier event dcsa "{RETRACT_SRC["id"]}" '
                     f"of shopfast for this consignment and container")

    def test_other_subjects(self):
        bodies = retraction_bodies()[:3]
        target = event_id(bodies[2])
        bodies.append(retraction(1767225603000, {"event": target}, container=OTHER_BOX))
        self.refused(bodies, ("consignment", UCR),
                     f"events[3]: body.retracts: {target} names other subjects (ucr, container, "
                     f"ids must be equal)")
        # the retraction's container history does not hold the target at all
        self.refused(bodies, ("container", OTHER_BOX),
                     f"events[0]: body.retracts: no earlier event {target} of blue-anchor-lines "
                     f"for this consignment and container")
        bodies[3] = retraction(1767225603000, {"event": target}, ids=[BL])
        self.refused(bodies, ("container", BOX),
                     f"events[2]: body.retracts: {target} names other subjects (ucr, container, "
                     f"ids must be equal)")

    def test_retracting_a_retraction(self):
        bodies = retraction_bodies()
        first = event_id(bodies[3])
        bodies.append(retraction(1767225606000, {"event": first}))
        self.refused(bodies, ("consignment", UCR),
                     f"events[6]: body.retracts: {first} is a retracted event, which is not "
                     f"retracted")

    def test_retracting_twice(self):
        bodies = retraction_bodies()
        loaded = event_id(bodies[1])
        # the event the source named at events[3], now by its id: the second names its position
        bodies.append(retraction(1767225606000, {"event": loaded}))
        self.refused(bodies, ("consignment", UCR),
                     f"events[6]: body.retracts: {loaded} is already retracted by events[3]")
        # positions are the bundle's: the container's history has no booking
        self.refused(bodies, ("container", BOX),
                     f"events[5]: body.retracts: {loaded} is already retracted by events[2]")
        bodies[-1] = retraction(1767225606000, {"source": dict(RETRACT_SRC)})
        self.refused(bodies, ("consignment", UCR),
                     f'events[6]: body.retracts: dcsa "{RETRACT_SRC["id"]}" is already '
                     f"retracted by events[3]")

    def test_retraction_targets_unit(self):
        """retraction_targets over a history in memory: {target position: retraction position}."""
        g, log = LinksLedger.log(retraction_bodies())
        self.assertEqual(tv.retraction_targets(log.parsed), {1: 3, 2: 4})
        self.assertEqual(tv.retraction_targets(log.parsed[:3]), {})
        with self.assertRaises(tv.VerifyError):
            tv.retraction_targets([log.parsed[i] for i in (0, 2, 3, 1)])


if __name__ == "__main__":
    unittest.main()


# ------------------------------------------- AEO status, mutual recognition (8h, 9e)

DAY = 86400000
T0 = 1767225600000
NL, DE = "nl-customs", "de-customs"
CS, SS = "customs_simplifications", "security_safety"


class AeoLedger:
    """A genesis (rules 2) of two customs administrations, a carrier (the one validator), a
    platform and an auditor."""
    ROLES = {CARRIER_ORG: "carrier", PLATFORM: "platform", NL: "customs", DE: "customs",
             AUDITOR: "auditor"}
    KEYS = {o: dev_key(f"aeo/{o}") for o in ROLES}
    CHAIN = "tradelog-aeo"

    @classmethod
    def genesis(cls):
        return {"chain": cls.CHAIN, "time": T0 - DAY,
                "organisations": [{"id": o, "name": o, "role": r, "keys": [public_hex(cls.KEYS[o])]}
                                  for o, r in cls.ROLES.items()],
                "validators": [{"org": CARRIER_ORG, "key": public_hex(cls.KEYS[CARRIER_ORG]),
                                "power": 1}],
                "rules": 2}

    @classmethod
    def log(cls, bodies, height=1):
        g = cls.genesis()
        return g, ForgedLog(g, cls.KEYS[CARRIER_ORG],
                            [(b, cls.KEYS[b["issuer"]["org"]]) for b in bodies], height)

    @classmethod
    def event(cls, body):
        sk = cls.KEYS[body["issuer"]["org"]]
        return tv.Event({"body": body, "sig": sk.sign(tv.EVENT_PREFIX + tv.check_body(body)).hex()})

    @classmethod
    def admit(cls, body):
        ev = cls.event(body)
        tv.Genesis(cls.genesis()).membership().admit(ev)
        return ev


def org_body(kind, org, time=T0, **members):
    """A body of AeoLedger's chain issued (and signed) by `org`."""
    b = {"v": 1, "chain": AeoLedger.CHAIN, "kind": kind, "time": time, "refs": [],
         "documents": [], "details": {},
         "issuer": {"org": org, "key": public_hex(AeoLedger.KEYS[org])}}
    b.update(members)
    return b


def aeo_record(holder=PLATFORM, status="granted", frm=T0, number="NLAEOF0001",
               programme="nl_aeo", types=(CS, SS), until=None):
    """An `aeo` member (8h): types when granted."""
    r = {"holder": holder, "programme": programme, "authorisation": number, "status": status,
         "from": frm}
    if status == "granted":
        r["types"] = list(types)
    if until is not None:
        r["until"] = until
    return r


def aeo_event(issuer, record, time=None):
    return org_body("aeo_status", issuer, record["from"] if time is None else time, aeo=record)


def mra_event(issuer, partner, types=(SS,), frm=T0, status="in_force", signer=None, time=None,
              terms_types=None):
    """An `mra` event (8h); in force, countersigned over its terms by `signer` (the partner's
    key unless told; `terms_types` the types it signs, the event's unless told)."""
    m = {"partner": partner, "status": status, "from": frm}
    if status == "in_force":
        m["types"] = list(types)
        sk = AeoLedger.KEYS[partner] if signer is None else signer
        terms = tv.terms_message(AeoLedger.CHAIN, issuer, partner, frm,
                                 list(types if terms_types is None else terms_types))
        m["approval"] = {"key": public_hex(sk), "sig": sk.sign(terms).hex()}
    return org_body("mra", issuer, frm if time is None else time, mra=m)


class AeoMembers(unittest.TestCase):
    """Section 3.2: the `aeo` and `mra` members (8h) and the goods members an aeo_status or
    mra event may not have."""

    def refused(self, body, expect):
        with self.assertRaises(tv.VerifyError) as cm:
            tv.check_body(body)
        self.assertTrue(str(cm.exception).startswith(expect), str(cm.exception))
        return str(cm.exception)

    def test_aeo_member(self):
        grant = aeo_event(NL, aeo_record(until=T0 + DAY))
        canon = tv.check_body(grant).decode()
        self.assertTrue(canon.startswith('{"aeo":{"authorisation":"NLAEOF0001","from":'), canon)
        for status in ("suspended", "revoked"):
            tv.check_body(aeo_event(NL, aeo_record(status=status)))
        tv.check_body(aeo_event(NL, aeo_record(types=(SS,), frm=0), time=T0))
        no = dict(grant)
        del no["aeo"]
        self.refused(no, "body.aeo: required for kind aeo_status")
        # types exactly when granted: 1-2 known types, ascending, each once
        r = aeo_record()
        del r["types"]
        self.refused(aeo_event(NL, r), "body.aeo.types: required when granted")
        self.refused(aeo_event(NL, dict(aeo_record(status="suspended"), types=[SS])),
                     "body.aeo.types: only when granted")
        for bad in ([SS, CS], [SS, SS], [], [CS, SS, SS]):
            self.refused(aeo_event(NL, aeo_record(types=bad)),
                         "body.aeo.types: 1 or 2 types, ascending, each once")
        for bad in (["security"], [1], [None]):
            self.refused(aeo_event(NL, aeo_record(types=bad)), "body.aeo.types[0]: unknown type")
        self.refused(aeo_event(NL, dict(aeo_record(), types="security_safety")),
                     "body.aeo.types: expected an array")
        # until after from, only when granted
        self.refused(aeo_event(NL, aeo_record(until=T0)), "body.aeo.until: ")
        self.refused(aeo_event(NL, aeo_record(until=T0 - 1)), "body.aeo.until: ")
        self.refused(aeo_event(NL, aeo_record(until=2**53)), "body.aeo.until: ")
        self.refused(aeo_event(NL, aeo_record(status="revoked", until=T0 + 1)),
                     "body.aeo.until: only when granted")
        # the other members
        for member, bad in (("holder", "Shopfast"), ("holder", 7), ("programme", "NL_AEO"),
                            ("programme", ""), ("programme", "a" * 33),
                            ("authorisation", "nlaeo1"), ("authorisation", "A" * 36),
                            ("authorisation", "NL AEO"), ("authorisation", ""),
                            ("status", "withdrawn"), ("status", None), ("from", -1),
                            ("from", 2**53), ("from", "0")):
            self.refused(aeo_event(NL, dict(aeo_record(), **{member: bad}), time=T0),
                         f"body.aeo.{member}: ")
        tv.check_body(aeo_event(NL, aeo_record(number="NL-AEO.1/2", programme="ctpat_2")))
        self.refused(aeo_event(NL, dict(aeo_record(), extra=1)),
                     "body.aeo: unknown member(s) ['extra']")
        self.refused(aeo_event(NL, dict(aeo_record(), until=None)), "body.aeo.until: ")
        # present exactly for aeo_status
        self.refused(org_body("held", NL, ucr=UCR, aeo=aeo_record()),
                     "body.aeo: only allowed for kind aeo_status, not held")

    def test_mra_member(self):
        good = mra_event(NL, DE)
        canon = tv.check_body(good).decode()
        self.assertIn('"kind":"mra","mra":{"approval":{"key":', canon)
        tv.check_body(mra_event(NL, DE, status="terminated"))
        # an arrangement in force needs the partner's countersignature, as a structure rule
        m = dict(good["mra"])
        del m["approval"]
        msg = self.refused(dict(good, mra=m), "body.mra.approval: ")
        self.assertIn("countersignature", msg)
        m = dict(good["mra"])
        del m["types"]
        self.refused(dict(good, mra=m), "body.mra.types: required when in force")
        self.refused(dict(good, mra=dict(good["mra"], types=[SS, CS])), "body.mra.types: ")
        # a termination is one side's notice: no types, no approval
        term = mra_event(NL, DE, status="terminated")
        self.refused(dict(term, mra=dict(term["mra"], types=[SS])),
                     "body.mra.types: only when in force")
        self.refused(dict(term, mra=dict(term["mra"], approval=good["mra"]["approval"])),
                     "body.mra.approval: a termination")
        ap = good["mra"]["approval"]
        for bad, member in (({"key": ap["key"]}, "body.mra.approval: missing"),
                            (dict(ap, extra=1), "body.mra.approval: unknown"),
                            (dict(ap, key=ap["key"].upper()), "body.mra.approval.key: "),
                            (dict(ap, key="00" * 32), "body.mra.approval.key: "),  # small order
                            (dict(ap, sig=ap["sig"][:-2]), "body.mra.approval.sig: ")):
            self.refused(dict(good, mra=dict(good["mra"], approval=bad)), member)
        for member, bad in (("partner", "DE"), ("status", "suspended"), ("from", 2**53)):
            self.refused(dict(good, mra=dict(good["mra"], **{member: bad})), f"body.mra.{member}: ")
        no = dict(good)
        del no["mra"]
        self.refused(no, "body.mra: required for kind mra")
        self.refused(org_body("held", NL, ucr=UCR, mra=good["mra"]),
                     "body.mra: only allowed for kind mra, not held")

    def test_records_name_no_goods(self):
        for record in (aeo_event(NL, aeo_record()), mra_event(NL, DE)):
            kind = record["kind"]
            for member, value, reason in (
                    ("ucr", UCR, "names no consignment, container or trade identifier"),
                    ("container", BOX, "names no consignment"),
                    ("ids", [BL], "names no consignment"),
                    ("location", "NLRTM", "has no location, offset or transport"),
                    ("offset", "+01:00", "has no location"),
                    ("transport", {"mode": "sea", "means": "IMO9321483"}, "has no location"),
                    ("parties", [PLATFORM], "has no parties or source"),
                    ("source", dict(SOURCE), "has no parties or source")):
                self.refused(dict(record, **{member: value}),
                             f"body.{member}: a {kind} event {reason}")
            # and no reason (only the risk outcomes have one)
            self.refused(dict(record, reason="r01"),
                         f"body.reason: only allowed for the risk outcome kinds, not {kind}")


class AeoAdmission(unittest.TestCase):
    """Sections 3.4 and 8h under the membership in force: who issues the records, the holder,
    the partner and the partner's countersignature."""

    def not_admitted(self, body, expect):
        with self.assertRaises(tv.VerifyError) as cm:
            AeoLedger.admit(body)
        self.assertEqual(str(cm.exception), expect)
        return str(cm.exception)

    def test_permissions(self):
        grant, mra = aeo_record(), mra_event(NL, DE)["mra"]
        for org in AeoLedger.ROLES:
            role = AeoLedger.ROLES[org]
            for kind, members, allowed in (
                    ("aeo_status", {"aeo": grant}, ("customs",)),
                    ("mra", {"mra": dict(mra, partner=DE if org != DE else NL)}, ("customs",)),
                    ("advance_data", {"ucr": UCR, "details": advance_details()},
                     ("carrier", "platform")),
                    ("risk_cleared", {"ucr": UCR, "reason": "r00", "refs": ["ab" * 32]},
                     ("customs",)),
                    ("risk_do_not_load", {"ucr": UCR, "reason": "r00", "refs": ["ab" * 32]},
                     ("customs",))):
                body = org_body(kind, org, **members)
                if kind == "mra" and role == "customs":
                    body = mra_event(org, members["mra"]["partner"])
                if role in allowed:
                    AeoLedger.admit(body)
                else:
                    self.not_admitted(body, f"role {role} may not issue {kind}")

    def test_holder_is_a_carrier_or_platform_member(self):
        AeoLedger.admit(aeo_event(NL, aeo_record(holder=PLATFORM)))
        AeoLedger.admit(aeo_event(NL, aeo_record(holder=CARRIER_ORG)))
        self.not_admitted(aeo_event(NL, aeo_record(holder=DE)),
                          "body.aeo.holder: de-customs: a customs organisation holds no AEO "
                          "authorisation (carriers and platforms do)")
        self.not_admitted(aeo_event(NL, aeo_record(holder=AUDITOR)),
                          "body.aeo.holder: audit-office: a auditor organisation holds no AEO "
                          "authorisation (carriers and platforms do)")
        self.not_admitted(aeo_event(NL, aeo_record(holder="rhine-barge")),
                          "body.aeo.holder: rhine-barge: not a member of this ledger")

    def test_partner_is_another_customs_member(self):
        AeoLedger.admit(mra_event(NL, DE))
        AeoLedger.admit(mra_event(DE, NL, status="terminated"))
        for partner, reason in ((NL, "an administration's arrangement is with another one"),
                                (PLATFORM, "a platform organisation is not a customs "
                                           "administration"),
                                ("fr-customs", "not a member of this ledger")):
            self.not_admitted(mra_event(NL, partner, status="terminated"),
                              f"body.mra.partner: {partner}: {reason}")

    def test_an_arrangement_in_force_is_countersigned_by_the_partner(self):
        both = "; an arrangement is in force only when both administrations sign its terms"
        # signed by the issuer alone (its own key as the "partner's")
        own = AeoLedger.KEYS[NL]
        self.not_admitted(mra_event(NL, DE, signer=own),
                          f"body.mra.approval: key {public_hex(own)} is not a current key of "
                          f"de-customs{both}")
        # the partner's key over other terms: narrower types, another date
        self.not_admitted(mra_event(NL, DE, types=(CS, SS), terms_types=(SS,)),
                          f"body.mra.approval: the signature of de-customs does not verify over "
                          f"the terms{both}")
        forged = mra_event(NL, DE)
        forged["mra"]["from"] += 1
        self.not_admitted(forged, "body.mra.approval: the signature of de-customs does not "
                                  f"verify over the terms{both}")
        # a signature over the terms of another chain, or with the issuer and partner swapped
        other = mra_event(NL, DE)
        terms = tv.terms_message("tradelog-other", NL, DE, T0, [SS])
        other["mra"]["approval"]["sig"] = AeoLedger.KEYS[DE].sign(terms).hex()
        self.not_admitted(other, "body.mra.approval: the signature of de-customs does not "
                                 f"verify over the terms{both}")
        swapped = mra_event(NL, DE)
        terms = tv.terms_message(AeoLedger.CHAIN, DE, NL, T0, [SS])
        swapped["mra"]["approval"]["sig"] = AeoLedger.KEYS[DE].sign(terms).hex()
        self.not_admitted(swapped, "body.mra.approval: the signature of de-customs does not "
                                   f"verify over the terms{both}")
        # a torsion-free ZIP-215 check: the honest countersignature verifies
        ev = AeoLedger.admit(mra_event(NL, DE, types=(CS, SS)))
        self.assertEqual(ev.body["mra"]["types"], [CS, SS])

    def test_the_partners_key_must_be_current(self):
        # under a membership where de-customs revoked that key (applied as a change would be)
        m = tv.Genesis(AeoLedger.genesis()).membership()
        new = dev_key("aeo/de-customs/2")
        m.apply({"type": "add_key", "org": DE, "key": public_hex(new)}, 0)
        m.apply({"type": "revoke_key", "org": DE, "key": public_hex(AeoLedger.KEYS[DE])}, 1)
        with self.assertRaises(tv.VerifyError) as cm:
            m.admit(AeoLedger.event(mra_event(NL, DE)))
        self.assertIn("is not a current key of de-customs", str(cm.exception))
        m.admit(AeoLedger.event(mra_event(NL, DE, signer=new)))


def recognition_ledger(terminated=False):
    """8h's story: de-customs grants shopfast DEAEOF1234 (both types) from day 10; nl-customs
    and de-customs put an arrangement for security_safety in force from day 20; de-customs
    suspends the authorisation from day 40 and grants it again (security_safety) from day 50;
    with `terminated`, de-customs ends the arrangement from day 70.  Returns (events' bodies
    by name, the bodies in log order)."""
    de = {"programme": "de_aeo", "number": "DEAEOF1234"}
    named = {
        "grant": aeo_event(DE, aeo_record(frm=T0 + 10 * DAY, **de)),
        "mra": mra_event(NL, DE, frm=T0 + 20 * DAY),
        "suspension": aeo_event(DE, aeo_record(status="suspended", frm=T0 + 40 * DAY, **de)),
        "regrant": aeo_event(DE, aeo_record(frm=T0 + 50 * DAY, types=(SS,), **de)),
    }
    if terminated:
        named["termination"] = mra_event(DE, NL, status="terminated", frm=T0 + 70 * DAY)
    return named, list(named.values())


def answer_of(log, holder, by, recognition=None):
    """A §9e answer made of `log`'s organisation bundles of `holder` and (if other) `by`."""
    bundles = [log.bundle("organisation", holder)]
    if by != holder:
        bundles.append(log.bundle("organisation", by))
    return {"organisation": {"id": holder, "name": holder, "role": AeoLedger.ROLES[holder],
                             "keys": [public_hex(AeoLedger.KEYS[holder])]},
            "bundles": bundles, "recognition": {} if recognition is None else recognition}


class OrganisationAnswers(unittest.TestCase):
    """Organisation subjects (5, 9 step 3), the reading of the records (8h) and organisation
    answers (9e), on ledgers made here."""

    def test_index_key_and_subject(self):
        self.assertEqual(tv.index_key("organisation", PLATFORM),
                         tv.H(b"tradelog/index-key/v1\x00\x05" + PLATFORM.encode()))
        self.assertNotEqual(tv.index_key("organisation", "ab-cd"),
                            tv.index_key("identifier", "ab-cd"))
        grant = AeoLedger.event(aeo_event(DE, aeo_record()))
        mra = AeoLedger.event(mra_event(NL, DE))
        self.assertTrue(tv.concerns(grant, "organisation", PLATFORM))
        self.assertFalse(tv.concerns(grant, "organisation", DE))  # the issuer's is not indexed
        self.assertTrue(tv.concerns(mra, "organisation", NL))
        self.assertTrue(tv.concerns(mra, "organisation", DE))
        self.assertFalse(tv.concerns(mra, "organisation", PLATFORM))
        booked = AeoLedger.event(org_body("booked", PLATFORM, ucr=UCR))
        self.assertFalse(tv.concerns(booked, "organisation", PLATFORM))

    def test_organisation_bundles_verify_and_hold_every_record(self):
        _, bodies = recognition_ledger()
        g, log = AeoLedger.log(bodies + [org_body("booked", PLATFORM, T0, ucr=UCR)])
        res = tv.verify_bundle(g, log.bundle("organisation", PLATFORM))
        self.assertEqual([idx for _, idx, _ in res["rows"]], [0, 2, 3])
        res = tv.verify_bundle(g, log.bundle("organisation", NL))
        self.assertEqual([idx for _, idx, _ in res["rows"]], [1])
        self.assertEqual([idx for _, idx, _ in
                          tv.verify_bundle(g, log.bundle("organisation", DE))["rows"]], [1])
        # an organisation with no record: an absence proof
        self.assertEqual(tv.verify_bundle(g, log.bundle("organisation", CARRIER_ORG))["rows"], [])
        # an event about another subject slipped in
        b = log.bundle("organisation", PLATFORM)
        b["events"].insert(1, log.bundle("organisation", NL)["events"][0])
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_bundle(g, b)
        self.assertEqual(str(cm.exception),
                         "event #1 (log index 1): event does not concern organisation shopfast")
        # a record left out
        b = log.bundle("organisation", PLATFORM)
        del b["events"][1]
        with self.assertRaises(tv.VerifyError) as cm:
            tv.verify_bundle(g, b)
        self.assertIn("completeness: index counts 3 events, bundle has 2", str(cm.exception))
        with self.assertRaises(tv.VerifyError):
            tv.verify_bundle(g, dict(log.bundle("organisation", PLATFORM),
                                     subject={"type": "organisation", "id": "Shopfast"}))

    def ask(self, log, by, at, holder=PLATFORM):
        return tv.verify_organisation_answer(AeoLedger.genesis(), answer_of(log, holder, by),
                                             holder, by, at)["recognition"]

    def test_recognition_before_and_after_grant_arrangement_suspension(self):
        named, bodies = recognition_ledger()
        g, log = AeoLedger.log(bodies)
        ids = {n: event_id(b) for n, b in named.items()}
        self.assertFalse(self.ask(log, NL, T0 + 5 * DAY)["recognised"], "before the grant")
        r = self.ask(log, NL, T0 + 15 * DAY)
        self.assertFalse(r["recognised"], "granted, but no arrangement yet")
        self.assertEqual([a["event"] for a in r["held"]], [ids["grant"]])
        r = self.ask(log, NL, T0 + 25 * DAY)
        self.assertEqual(r, {
            "holder": PLATFORM, "recognised_by": NL, "at": T0 + 25 * DAY, "recognised": True,
            "authorisation": {"issuer": DE, "programme": "de_aeo",
                              "authorisation": "DEAEOF1234", "types": [CS, SS],
                              "event": ids["grant"]},
            "types": [SS],  # narrowed to the arrangement's
            "arrangement": ids["mra"],
            "held": [{"issuer": DE, "programme": "de_aeo", "authorisation": "DEAEOF1234",
                      "types": [CS, SS], "event": ids["grant"]}]})
        r = self.ask(log, NL, T0 + 45 * DAY)
        self.assertFalse(r["recognised"], "suspended")
        self.assertEqual(r["held"], [])
        self.assertEqual(r["types"], [])
        self.assertNotIn("authorisation", r)
        r = self.ask(log, NL, T0 + 55 * DAY)
        self.assertTrue(r["recognised"], "granted again")
        self.assertEqual(r["authorisation"]["event"], ids["regrant"])
        # the issuing administration recognises its own authorisation, all its types, with
        # no arrangement
        r = self.ask(log, DE, T0 + 15 * DAY)
        self.assertTrue(r["recognised"])
        self.assertEqual(r["types"], [CS, SS])
        self.assertNotIn("arrangement", r)
        # without recognised_by: the holder's own question (no administration of its own)
        res = tv.verify_organisation_answer(g, answer_of(log, PLATFORM, PLATFORM), PLATFORM)
        self.assertEqual(res["at"], log.head["time"])
        self.assertFalse(res["recognition"]["recognised"])
        self.assertEqual(len(res["recognition"]["held"]), 1)

    def test_a_terminated_arrangement_ends_recognition(self):
        _, bodies = recognition_ledger(terminated=True)
        _, log = AeoLedger.log(bodies)
        self.assertTrue(self.ask(log, NL, T0 + 55 * DAY)["recognised"])
        r = self.ask(log, NL, T0 + 72 * DAY)
        self.assertFalse(r["recognised"])
        self.assertEqual(len(r["held"]), 1)  # still held, no longer recognised by nl-customs
        self.assertTrue(self.ask(log, DE, T0 + 72 * DAY)["recognised"])

    def test_reading_rules(self):
        """8h: the latest record in the log among those that apply; a grant's until; a later
        record corrects an earlier one for the times it covers; an arrangement without a type
        in common recognises nothing; among others' authorisations the first in (issuer,
        authorisation) order is the basis."""
        bodies = [
            aeo_event(NL, aeo_record(number="B2", frm=T0, until=T0 + 10 * DAY)),
            aeo_event(NL, aeo_record(number="B2", status="revoked", frm=T0 + 5 * DAY)),
            # back-dated after the revocation: a grant recorded later applies again
            aeo_event(NL, aeo_record(number="B2", frm=T0 + 2 * DAY, types=(CS,)), time=T0 + DAY),
            aeo_event(DE, aeo_record(number="A1", types=(CS,), frm=T0)),
            mra_event(DE, NL, types=(SS,), frm=T0),
        ]
        _, log = AeoLedger.log(bodies)
        r = self.ask(log, NL, T0 + DAY)
        self.assertEqual([(a["issuer"], a["authorisation"]) for a in r["held"]],
                         [(DE, "A1"), (NL, "B2")])  # (issuer, authorisation) order
        self.assertEqual(r["authorisation"]["authorisation"], "B2")  # its own first
        self.assertEqual(self.ask(log, NL, T0 + 6 * DAY)["held"][1]["types"], [CS])
        self.assertEqual(len(self.ask(log, NL, T0 + 11 * DAY)["held"]), 2)  # the later grant
        # a grant's until is exclusive, and then no earlier record applies
        _, until = AeoLedger.log([aeo_event(NL, aeo_record(number="C3", frm=T0, until=T0 + DAY))])
        self.assertEqual(len(self.ask(until, NL, T0 + DAY - 1)["held"]), 1)
        self.assertEqual(self.ask(until, NL, T0 + DAY)["held"], [])
        self.assertEqual(self.ask(until, NL, T0 - 1)["held"], [])
        # de-customs: its own A1; nl-customs' B2 through the arrangement only for SS, which
        # B2 (CS from day 2) lacks
        r = self.ask(log, DE, T0 + 3 * DAY)
        self.assertEqual(r["authorisation"]["authorisation"], "A1")
        bodies[3] = aeo_event(DE, aeo_record(number="A1", status="suspended", frm=T0))
        _, log = AeoLedger.log(bodies)
        r = self.ask(log, DE, T0 + 3 * DAY)
        self.assertFalse(r["recognised"], "no type in common with the arrangement")
        r = self.ask(log, DE, T0 + DAY)
        self.assertTrue(r["recognised"], "B2 held with both types on day 1")
        self.assertEqual(r["types"], [SS])
        self.assertEqual(r["arrangement"], event_id(bodies[4]))

    def test_an_answer_that_hides_or_mixes_is_refused(self):
        _, bodies = recognition_ledger()
        g, log = AeoLedger.log(bodies)

        def refused(answer, expect, by=NL):
            with self.assertRaises(tv.VerifyError) as cm:
                tv.verify_organisation_answer(g, answer, PLATFORM, by, T0 + 45 * DAY)
            self.assertTrue(str(cm.exception).startswith(expect), str(cm.exception))

        honest = answer_of(log, PLATFORM, NL)
        self.assertFalse(tv.verify_organisation_answer(g, honest, PLATFORM, NL, T0 + 45 * DAY)
                         ["recognition"]["recognised"])
        # the suspension left out of the holder's history
        a = copy.deepcopy(honest)
        del a["bundles"][0]["events"][1]
        refused(a, "bundles[0]: completeness: index counts 3 events, bundle has 2")
        # the arrangement's history missing, swapped, another subject, one too many
        refused(dict(honest, bundles=honest["bundles"][:1]),
                "bundles: expected the organisation subjects of organisation shopfast, "
                "organisation nl-customs, got organisation shopfast")
        refused(dict(honest, bundles=honest["bundles"][::-1]), "bundles: expected")
        refused(dict(honest, bundles=honest["bundles"] + [log.bundle("organisation", DE)]),
                "bundles: expected")
        refused(dict(honest, bundles=[honest["bundles"][0], log.bundle("consignment", UCR)]),
                "bundles: expected")
        refused(dict(honest, bundles=[]),
                "bundles: expected the organisation subjects of organisation shopfast, "
                "organisation nl-customs, got none")
        refused(answer_of(log, PLATFORM, PLATFORM), "bundles: expected")
        # bundles at two heads: another height, or another head at the same height
        _, later = AeoLedger.log(bodies, height=2)
        refused(dict(honest, bundles=[honest["bundles"][0], later.bundle("organisation", NL)]),
                "bundles: the bundles are at heads 1 and 2; both must be at one head")
        _, other = AeoLedger.log(bodies[:2])
        refused(dict(honest, bundles=[honest["bundles"][0], other.bundle("organisation", NL)]),
                "bundles: two different heads at height 1")
        # the answer's organisation is another one
        refused(dict(honest, organisation=dict(honest["organisation"], id=CARRIER_ORG)),
                "organisation.id: blue-anchor-lines is not the organisation asked about")
        refused({k: v for k, v in honest.items() if k != "recognition"}, "answer: missing")

    def test_the_nodes_recognition_is_compared_not_trusted(self):
        _, bodies = recognition_ledger()
        g, log = AeoLedger.log(bodies)
        at = T0 + 25 * DAY
        ours = tv.verify_organisation_answer(g, answer_of(log, PLATFORM, NL), PLATFORM, NL,
                                             at)["recognition"]
        res = tv.verify_organisation_answer(g, answer_of(log, PLATFORM, NL, ours), PLATFORM,
                                            NL, at)
        self.assertEqual((res["node_recognition_differs"], res["warnings"]), ([], []))
        lie = dict(ours, recognised=False, types=[CS, SS])
        res = tv.verify_organisation_answer(g, answer_of(log, PLATFORM, NL, lie), PLATFORM, NL,
                                            at)
        self.assertTrue(res["recognition"]["recognised"])
        self.assertEqual(res["node_recognition_differs"], ["recognised", "types"])
        self.assertIn("recognition: the node's answer differs", res["warnings"][0])
        # the node's organisation entry is checked against the membership at the head
        a = answer_of(log, PLATFORM, NL, ours)
        a["organisation"]["role"] = "carrier"
        self.assertIn("the role or keys",
                      tv.verify_organisation_answer(g, a, PLATFORM, NL, at)["warnings"][0])

    def test_cli_organisation(self):
        _, bodies = recognition_ledger()
        g, log = AeoLedger.log(bodies)
        with tempfile.TemporaryDirectory() as d:
            gp, ap = os.path.join(d, "genesis.json"), os.path.join(d, "answer.json")
            with open(gp, "w") as f:
                json.dump(g, f)
            answer = answer_of(log, PLATFORM, NL)
            answer["recognition"] = tv.verify_organisation_answer(
                g, answer, PLATFORM, NL, T0 + 25 * DAY)["recognition"]
            with open(ap, "w") as f:
                json.dump(answer, f)
            run = [sys.executable, SCRIPT, "organisation", gp, ap, PLATFORM]
            r = subprocess.run(run + [NL, str(T0 + 25 * DAY)], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("answer    RECOGNISED for security_safety: DEAEOF1234 of de-customs "
                          "(de_aeo)", r.stdout)
            self.assertIn(f"through the arrangement (mra event) {event_id(bodies[1])}", r.stdout)
            self.assertIn("aeo_status  shopfast de_aeo DEAEOF1234 suspended", r.stdout)
            self.assertNotIn("warning:", r.stdout)
            self.assertTrue(r.stdout.endswith("VERIFIED\n"))
            # asked at another time: the node's (informational) answer differs, ours is shown
            r = subprocess.run(run + [NL, str(T0 + 45 * DAY)], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("answer    NOT RECOGNISED", r.stdout)
            self.assertIn("warning: recognition: the node's answer differs", r.stdout)
            del answer["bundles"][0]["events"][1]
            with open(ap, "w") as f:
                json.dump(answer, f)
            r = subprocess.run(run + [NL], capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertIn("FAILED: bundles[0]: completeness", r.stdout)
            r = subprocess.run(run + [NL, "soon"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertIn("FAILED: at: 'soon'", r.stdout)


# ------------------------------------------------ advance data and risk outcomes (8i)

def advance_details(salt=0):
    return {n: tv.detail_commitment(n, v, bytes([salt]) * 16).hex() for n, v in tv.VECTOR_ADVANCE}


def advance(ucr=UCR, org=PLATFORM, time=T0, salt=0):
    return org_body("advance_data", org, time, ucr=ucr, details=advance_details(salt))


def outcome(refs, ucr=UCR, kind="risk_referred", time=T0 + 1000, reason="r12_undervaluation"):
    return org_body(kind, NL, time, ucr=ucr, refs=list(refs), reason=reason)


class AdvanceData(unittest.TestCase):
    """Section 3.2 and 8i: advance_data's seven commitments, the risk outcomes' reason and
    refs, and (9 step 6) every outcome of a consignment bundle assessing earlier advance
    data of it."""

    def refused(self, body, expect):
        with self.assertRaises(tv.VerifyError) as cm:
            tv.check_body(body)
        self.assertEqual(str(cm.exception), expect)

    def test_members(self):
        filed = advance()
        tv.check_body(filed)
        tv.check_body(dict(filed, details=dict(filed["details"], extra="ab" * 32)))  # more allowed
        tv.check_body(dict(filed, container=BOX))
        details = dict(filed["details"])
        del details["currency"]
        self.refused(dict(filed, details=details),
                     "body.details: advance_data commits to hs_code, declared_value, currency, "
                     "consignor_country, consignee_country, item_count, gross_weight_kg: "
                     "\"currency\" is missing")
        no_ucr = dict(filed, container=BOX)
        del no_ucr["ucr"]
        self.refused(no_ucr, "body.ucr: required for kind advance_data")
        for kind in tv.RISK_OUTCOME_KINDS:
            good = outcome(["ab" * 32], kind=kind)
            canon = tv.check_body(good).decode()
            self.assertIn('"kind":"' + kind + '","reason":"r12_undervaluation","refs":[', canon)
            no = dict(good)
            del no["reason"]
            self.refused(no, f"body.reason: required for kind {kind}")
            for bad in ("R12", "", "r" * 33, "r-12", 12, None):
                self.refused(dict(good, reason=bad),
                             f"body.reason: {json.dumps(bad)} must be 1-32 characters of "
                             f"a-z, 0-9, '_'")
            self.refused(dict(good, refs=[]),
                         "body.refs: a risk outcome refers to the advance_data event it assesses")
            no = dict(good, container=BOX)
            del no["ucr"]
            self.refused(no, f"body.ucr: required for kind {kind}")
        self.refused(dict(filed, reason="r01"),
                     "body.reason: only allowed for the risk outcome kinds, not advance_data")

    def test_outcomes_in_a_consignment_bundle(self):
        filed = advance()
        ok = [filed, outcome([event_id(filed)]),
              outcome(["ab" * 32, event_id(filed)], kind="risk_do_not_load", time=T0 + 2000)]
        g, log = AeoLedger.log(ok)
        res = tv.verify_bundle(g, log.bundle("consignment", UCR))
        self.assertEqual(len(res["rows"]), 3)
        self.assertIsNone(tv.first_unassessed_outcome([AeoLedger.event(b) for b in ok]))
        # advance data of another consignment assesses nothing here
        other_filed = advance(ucr="6NL000000000-ZZ")
        self.assertEqual(tv.first_unassessed_outcome(
            [AeoLedger.event(b) for b in (other_filed, outcome([event_id(other_filed)]))]), 1)

        def refused(bodies, ucr, pos, index):
            g, log = AeoLedger.log(bodies)
            with self.assertRaises(tv.VerifyError) as cm:
                tv.verify_bundle(g, log.bundle("consignment", ucr))
            self.assertEqual(str(cm.exception),
                             f"events[{pos}]: body.refs: a risk outcome refers to no earlier "
                             f"advance_data event of its consignment (log index {index}, §8i)")

        other = "6NL000000000-ZZ"
        # an outcome naming another consignment's advance data (validators that skipped the
        # admission rule cannot make a light client accept it)
        refused([filed, outcome([event_id(filed)], ucr=other)], other, 0, 1)
        # before the advance data it names
        later = advance(time=T0 + 5000)
        refused([outcome([event_id(later)]), later], UCR, 0, 0)
        # naming an event of the consignment that is not advance data
        booked = org_body("booked", PLATFORM, T0, ucr=UCR)
        refused([booked, outcome([event_id(booked)])], UCR, 1, 1)
        # the second outcome of a history whose first is fine
        refused([filed, outcome([event_id(filed)]),
                 outcome([event_id(booked)], time=T0 + 3000)], UCR, 2, 2)
        # other subjects' bundles do not apply the consignment rule
        g, log = AeoLedger.log([dict(outcome(["ab" * 32]), container=BOX)])
        tv.verify_bundle(g, log.bundle("container", BOX))


class AeoVectors(unittest.TestCase):
    """Section 11's AEO, arrangement, advance data and risk outcome vectors and
    index_key_organisation, recomputed from their descriptions, against PROTOCOL.md and
    sdk/fixtures/vectors.json."""
    NAMES = ["event_aeo_canonical_body", "event_aeo_id", "event_aeo_wire_json",
             "mra_terms_message", "mra_approval_signature", "event_mra_canonical_body",
             "event_mra_id", "event_mra_wire_json", "event_advance_canonical_body",
             "event_advance_id", "event_advance_wire_json", "event_risk_canonical_body",
             "event_risk_id", "event_risk_wire_json", "index_key_organisation"]

    def test_spec_vectors(self):
        r = subprocess.run([sys.executable, SCRIPT, "vectors", SPEC],
                           capture_output=True, text=True)
        for name in self.NAMES:
            self.assertIn(f"ok {name}\n", r.stdout)

    def test_fixture_vectors(self):
        with open(os.path.join(ROOT, "sdk", "fixtures", "vectors.json"), encoding="utf-8") as f:
            want = json.load(f)["values"]
        got = tv.compute_vectors(want)
        self.assertEqual({n: got.get(n) for n in want}, want)
        for name in self.NAMES:
            self.assertIn(name, want)

    def test_a_forged_vector_is_reported(self):
        with open(SPEC, encoding="utf-8") as f:
            v = tv.parse_vectors(f.read())
        sig = bytearray(bytes.fromhex(v["mra_approval_signature"]))
        sig[0] ^= 1
        got = tv.compute_vectors(dict(v, mra_approval_signature=sig.hex()))
        self.assertEqual(got["mra_approval_signature"], "<published signature does not verify>")
        wire = tv.load_json(v["event_mra_wire_json"])
        wire["body"]["mra"]["types"] = [CS, SS]
        got = tv.compute_vectors(dict(v, event_mra_wire_json=json.dumps(wire)))
        self.assertTrue(got["event_mra_wire_json"].startswith("<invalid event_mra event"))
        wire = tv.load_json(v["event_risk_wire_json"])
        self.assertEqual(wire["body"]["refs"], [v["event_advance_id"]])
