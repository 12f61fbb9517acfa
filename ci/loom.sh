#!/usr/bin/env bash
# Loom models of the lock-free code (src/tests/loom_*.rs), release build with
# debug assertions, in their own target directory.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="--cfg loom -C debug-assertions"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
export CARGO_TARGET_DIR=target/loom
echo "== loom: LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS"
cargo test --release --lib loom
