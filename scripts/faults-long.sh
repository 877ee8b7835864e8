#!/usr/bin/env bash
# The long crash run of issue 5: 25 kill -9 cycles of a random validator under load, then all four
# killed at once; every committed event must survive on every node. A few cycles run in CI.
# Usage: scripts/faults-long.sh [CYCLES] (CRASH_SEED=... to replay a run; the seed is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
CRASH_CYCLES="${1:-25}" cargo test -p tradelog-tests --test faults -- --nocapture
