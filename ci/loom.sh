#!/usr/bin/env bash
# Loom models of the lock-free code (src/tests/loom_*.rs and the cache lock's
# model in src/freelist/cached.rs), release build with debug assertions, in
# their own target directory. Fails if the filter selects no model.
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/expect-tests.sh
export RUSTFLAGS="--cfg fastalloc_loom -C debug-assertions"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
export CARGO_TARGET_DIR=target/loom
echo "== loom: LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS"
expect_tests cargo test --release --lib loom
# The races between get and trim, an async waiter and trim, and statistics
# read during failing gets need four preemptions to show on the code before
# their fixes; these small models run deeper.
LOOM_MAX_PREEMPTIONS=5 expect_tests cargo test --release --lib -- \
    loom_get_racing loom_async_woken loom_async_release loom_stats_read
