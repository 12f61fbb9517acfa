#!/usr/bin/env bash
# Every atomic, Arc and UnsafeCell of the library goes through `crate::sync`, so
# loom sees each access. Fails if any other source file names them directly.
# (clippy's disallowed-types cannot express this: it resolves the re-exports in
# `src/sync/` back to the same std types.)
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='(std|core|alloc)::(sync::(atomic|Arc)|cell::UnsafeCell)|loom::'
hits=$(grep -rnE "$pattern" src --include='*.rs' \
    | grep -vE '^src/sync(\.rs|/[a-z_]+\.rs):|^src/tests/loom_' \
    | grep -vE '^[^:]+:[0-9]+:\s*//' \
    | grep -vE 'alloc::sync::Arc<Self>' || true)
if [ -n "$hits" ]; then
    echo "these lines bypass crate::sync (use crate::sync::{AtomicU32, AtomicU64, AtomicUsize, Arc, UnsafeCell}):"
    echo "$hits"
    exit 1
fi
echo "sync paths: every atomic and cell goes through crate::sync"
