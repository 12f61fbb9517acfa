#!/usr/bin/env bash
# Fuzz smoke: each cargo-fuzz target (fuzz/) for a bounded time, starting
# from its committed seed corpus; any finding fails the run.
#   ci/fuzz.sh [seconds per target, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "-- installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi
cargo fuzz --version

cd fuzz
cargo +nightly fuzz build -O
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for target in ops threads growth config; do
    echo "== fuzz $target for ${seconds}s"
    mkdir -p "$work/$target"
    # The seeds are read, new inputs go to a scratch corpus (the tree stays
    # clean). Leak detection is off: libFuzzer's per-input leak scan costs
    # more than the input; leaks are checked by ci/san.sh.
    cargo +nightly fuzz run -O "$target" "$work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=20 -detect_leaks=0 -print_final_stats=1 \
        >"$work/$target.log" 2>&1 || true
    grep -E "^(stat::number_of_executed_units|stat::average_exec_per_sec)|Done|ERROR|panicked|SUMMARY" \
        "$work/$target.log" || true
    if ls artifacts/"$target"/* >/dev/null 2>&1; then
        echo "!! fuzz $target found a failing input (the end of its log follows):"
        ls artifacts/"$target"
        tail -n 120 "$work/$target.log"
        exit 1
    fi
done
