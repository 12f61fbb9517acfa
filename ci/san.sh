#!/usr/bin/env bash
# The threaded tests under ThreadSanitizer, and the whole test suite under
# AddressSanitizer with its leak checker, each with a std rebuilt for the
# sanitizer (-Zbuild-std: the prebuilt sanitizer targets cannot be
# downloaded here). Then the leak test under valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu

if ! rustup component list --toolchain nightly --installed | grep -q rust-src; then
    rustup component add --toolchain nightly rust-src
fi

echo "== ThreadSanitizer: threaded tests and the stress tests (scale 1)"
# The async tests run on tokio; tokio's own timer wheel is checked too.
# allocator_may_return_null: a refused growth step must see a failed
# allocation (tests/growth.rs), not a sanitizer abort.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 allocator_may_return_null=1"
# The stress tests found a real race under TSan (a failed try_lock that
# unlocked its holder's lock, src/freelist/cached.rs); scale 1 keeps them short here.
# The caches' barrier pair runs as two SeqCst fences here (the sanitizer
# does not see what membarrier orders); the release runs cover membarrier.
RUSTFLAGS="-Zsanitizer=thread --cfg fastalloc_no_membarrier" RUSTDOCFLAGS="-Zsanitizer=thread" \
    CARGO_TARGET_DIR=target/tsan STRESS_SCALE=1 \
    cargo +nightly test -Zbuild-std --target "$target" --release \
    --lib --test threads --test async_pool --test thread_local --test growth \
    --test stats --test hard_cases --test stress -- --include-ignored --skip hands_out_every_index --skip litmus

echo "== AddressSanitizer (+ LeakSanitizer): every test"
# Tests that leak on purpose (mem::forget of guards) are named in ci/lsan.supp.
# fast_unwind_on_malloc=0: the frame-pointer unwinder skips frames of code
# built without frame pointers (a test's own frame among them), and the
# suppressions match on test names.
export ASAN_OPTIONS="detect_leaks=1 halt_on_error=1 allocator_may_return_null=1 fast_unwind_on_malloc=0"
export LSAN_OPTIONS="suppressions=$PWD/ci/lsan.supp print_suppressions=0"
# Line tables: a test function inlined into the harness still shows in the
# leak's stack (as an inlined frame), so the suppressions can name it.
RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address" \
    CARGO_TARGET_DIR=target/asan CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
    cargo +nightly test -Zbuild-std --target "$target" --release \
    --lib --tests -- --include-ignored --skip hands_out_every_index --skip litmus

echo "== valgrind: no leak after the pools are dropped"
if ! command -v valgrind >/dev/null; then
    echo "!! valgrind not found: installing it from Debian's packages"
    (apt-get install -y valgrind || sudo apt-get install -y valgrind) >/dev/null
fi
cargo test --release --test leaks --no-run
leaks=$(cargo test --release --test leaks --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "leaks" and m.get("executable"):
        print(m["executable"])')
valgrind --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=1 "$leaks"
