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
                            "--example", "sample_bundle", "--", tmp],
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
        def reroot(b):
            b["head"]["log_root"] = "00" * 32
        self.refuse(reroot, "certificate")


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
        self.assertEqual(got, self.timeline)
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
        self.refuse(bump, "route.version")


if __name__ == "__main__":
    unittest.main()
