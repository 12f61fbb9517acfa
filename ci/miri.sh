#!/usr/bin/env bash
# Miri over the unit and integration tests (doc tests are left to `cargo test`:
# each one is a separate crate and Miri would rebuild std for it).
# Stacked borrows with strict provenance and symbolic alignment, then tree
# borrows, then the threaded tests over several scheduler seeds. Every run
# fails if it selects no test (ci/expect-tests.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/expect-tests.sh
export CARGO_TARGET_DIR=target/miri

if ! cargo +nightly miri --version >/dev/null 2>&1; then
    echo "miri: installing the nightly miri and rust-src components"
    rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
    rustup component add --toolchain nightly miri rust-src
fi
cargo +nightly miri --version
cargo +nightly miri setup

echo "== miri: stacked borrows, strict provenance, symbolic alignment"
# Every test target but `hard_cases`, whose `mem::forget` tests leak on
# purpose: it runs last, with the leak check off (ASan's leak checker and
# valgrind cover leaks in ci/san.sh).
tests=()
for f in tests/*.rs; do
    name=$(basename "$f" .rs)
    [ "$name" = hard_cases ] || tests+=(--test "$name")
done
MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-symbolic-alignment-check" \
    expect_tests cargo +nightly miri test --lib "${tests[@]}"
MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-symbolic-alignment-check -Zmiri-ignore-leaks" \
    expect_tests cargo +nightly miri test --test hard_cases

echo "== miri: tree borrows, strict provenance"
MIRIFLAGS="-Zmiri-tree-borrows -Zmiri-strict-provenance" \
    expect_tests cargo +nightly miri test --lib "${tests[@]}"
MIRIFLAGS="-Zmiri-tree-borrows -Zmiri-strict-provenance -Zmiri-ignore-leaks" \
    expect_tests cargo +nightly miri test --test hard_cases

echo "== miri: threaded tests over 8 scheduler seeds"
MIRIFLAGS="-Zmiri-many-seeds=0..8" \
    expect_tests cargo +nightly miri test --test threads --test async_pool --test thread_local
MIRIFLAGS="-Zmiri-many-seeds=0..8" \
    expect_tests cargo +nightly miri test --test growth racing
MIRIFLAGS="-Zmiri-many-seeds=0..8" \
    expect_tests cargo +nightly miri test --test stats shared
MIRIFLAGS="-Zmiri-many-seeds=0..8" \
    expect_tests cargo +nightly miri test --test api -- get_timeout wakes
MIRIFLAGS="-Zmiri-many-seeds=0..8" \
    expect_tests cargo +nightly miri test --lib treiber_pops_are_exclusive
MIRIFLAGS="-Zmiri-many-seeds=0..8" \
    expect_tests cargo +nightly miri test --lib cached
MIRIFLAGS="-Zmiri-many-seeds=0..8 -Zmiri-ignore-leaks" \
    expect_tests cargo +nightly miri test --test hard_cases thread
echo "== miri: the threaded tests again under tree borrows, 4 seeds"
MIRIFLAGS="-Zmiri-tree-borrows -Zmiri-many-seeds=0..4" \
    expect_tests cargo +nightly miri test --test threads --test thread_local
MIRIFLAGS="-Zmiri-tree-borrows -Zmiri-many-seeds=0..4" \
    expect_tests cargo +nightly miri test --lib cached
