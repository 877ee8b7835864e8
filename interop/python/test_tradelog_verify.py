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

SCRIPT = os.path.join(HERE, "tradelog_verify.py")
SPEC = os.path.join(ROOT, "docs", "PROTOCOL.md")


class Vectors(unittest.TestCase):
    def test_spec_vectors(self):
        r = subprocess.run([sys.executable, SCRIPT, "vectors", SPEC],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("FAIL", r.stdout)

    def test_small_order_key_forgery_refused(self):
        # identity key, R = B, S = 1: [S]B = R + [k]A holds for every message;
        # OpenSSL alone accepts this, the section 1 strict rules must not.
        identity = (1).to_bytes(32, "little")
        base = bytes.fromhex("58" + "66" * 31)
        sig = base + (1).to_bytes(32, "little")
        self.assertFalse(tv.verify_strict(identity, b"any message", sig))


class Bundle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("cargo") is None:
            raise unittest.SkipTest("cargo not found: cannot generate a sample bundle")
        cls.tmp = tempfile.mkdtemp(prefix="tradelog-interop-")
        subprocess.run(["cargo", "run", "-q", "-p", "tradelog-protocol",
                        "--example", "sample_bundle", "--", cls.tmp],
                       cwd=ROOT, check=True, capture_output=True, timeout=1800)
        cls.genesis_path = os.path.join(cls.tmp, "genesis.json")
        cls.bundle_path = os.path.join(cls.tmp, "bundle.json")
        with open(cls.genesis_path) as f:
            cls.genesis = json.load(f)
        with open(cls.bundle_path) as f:
            cls.bundle = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

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
        def reroot(b):
            b["head"]["log_root"] = "00" * 32
        self.refuse(reroot, "certificate")


if __name__ == "__main__":
    unittest.main()
