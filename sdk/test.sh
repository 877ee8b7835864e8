#!/usr/bin/env bash
# Runs the SDK tests: TypeScript (node's test runner), Java (plain javac + java) and, against the
# devnet this script starts, the Python signer's live test (interop/python).
#
#   sdk/test.sh                       vectors, sample bundles, tampering; the live devnet tests
#                                     run if a devnet is reachable, else they are reported skipped
#   TRADELOG_DEVNET=start sdk/test.sh also starts a devnet (from $TRADELOG_NODE_BIN, else
#                                     target/release or target/debug tradelog-node, under
#                                     $CARGO_TARGET_DIR if set) on ports 7400-7404, requires the live
#                                     tests to pass against it, and stops it at the end
#
# Other settings: TRADELOG_NODE, TRADELOG_DEVNET_DIR, TRADELOG_REQUIRE_DEVNET=1 (see the tests);
# TRADELOG_FIXTURES_CHECK=0 skips regenerating the fixtures with cargo and comparing them with
# sdk/fixtures (done when cargo is on PATH; fast once the protocol examples are built).
# Needs: Node.js >= 20.19 with npm (deps installed with `npm ci` from the lock file when missing),
# a JDK >= 17 (javac, java); Chromium for the browser test (skipped without it, required with
# TRADELOG_REQUIRE_CHROMIUM=1).
set -euo pipefail
sdk="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$sdk/.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/tradelog-sdk.XXXXXX")"
devnet_pid=""
cleanup() {
  if [ -n "$devnet_pid" ]; then
    kill -INT "$devnet_pid" 2>/dev/null || true
    wait "$devnet_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Fixtures: regenerate from the Rust reference and insist the committed copy is current.
if [ "${TRADELOG_FIXTURES_CHECK:-1}" != 0 ] && command -v cargo >/dev/null; then
  echo "== fixtures: regenerating with the Rust reference"
  "$sdk/fixtures/regenerate.sh" "$tmp/fixtures"
  if ! diff -r "$sdk/fixtures" "$tmp/fixtures" --exclude=regenerate.sh >"$tmp/fixtures.diff"; then
    head -20 "$tmp/fixtures.diff"
    echo "sdk/fixtures is stale: run sdk/fixtures/regenerate.sh and commit the result" >&2
    exit 1
  fi
fi

if [ "${TRADELOG_DEVNET:-}" = start ]; then
  bin="${TRADELOG_NODE_BIN:-}"
  if [ -z "$bin" ]; then
    target="${CARGO_TARGET_DIR:-$root/target}"
    for b in "$target/release/tradelog-node" "$target/debug/tradelog-node"; do
      if [ -x "$b" ]; then bin="$b"; break; fi
    done
  fi
  [ -n "$bin" ] || { echo "no tradelog-node binary: cargo build --release -p tradelog-node, or set TRADELOG_NODE_BIN" >&2; exit 1; }
  port="${TRADELOG_DEVNET_PORT:-7400}"
  echo "== devnet: starting $bin on ports $port-$((port + 4))"
  "$bin" devnet --dir "$tmp/devnet" --consignments 1 --api-port "$port" \
    --consensus-port $((port + 20000)) --gossip-port $((port + 21000)) >"$tmp/devnet.log" 2>&1 &
  devnet_pid=$!
  for _ in $(seq 1 600); do
    grep -q "press Ctrl-C" "$tmp/devnet.log" 2>/dev/null && break
    if ! kill -0 "$devnet_pid" 2>/dev/null; then cat "$tmp/devnet.log"; echo "devnet failed to start" >&2; exit 1; fi
    sleep 0.1
  done
  grep -q "press Ctrl-C" "$tmp/devnet.log" || { cat "$tmp/devnet.log"; echo "devnet did not come up in 60 s" >&2; exit 1; }
  export TRADELOG_NODE="http://127.0.0.1:$port" TRADELOG_DEVNET_DIR="$tmp/devnet" TRADELOG_REQUIRE_DEVNET=1
fi

echo "== TypeScript (node --test)"
cd "$sdk/typescript"
if [ ! -d node_modules/@noble/curves ] || [ ! -d node_modules/@noble/hashes ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node --test test/*.test.js

echo "== Java (javac, java)"
cd "$sdk/java"
rm -rf "$tmp/java" && mkdir -p "$tmp/java"
javac -Xlint:all -Werror -d "$tmp/java" $(find src test -name '*.java')
java -cp "$tmp/java" -Dtradelog.root="$root" tradelog.SdkTest

if [ "${TRADELOG_DEVNET:-}" = start ]; then
  echo "== Python signer against the devnet (interop/python)"
  cd "$root"
  python3 -m unittest discover -s interop/python -p test_tradelog_sign.py -v
fi
