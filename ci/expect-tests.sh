# Sourced by the ci/ scripts: `expect_tests CMD...` runs a cargo test command
# (cargo test, cargo miri test), shows its output, and fails when the command
# fails or when it ran no test at all, so a name filter that matches nothing
# (after a rename or a move) fails loudly instead of passing vacuously.
expect_tests() {
    local log ran
    log=$(mktemp)
    if ! "$@" 2>&1 | tee "$log"; then
        rm -f "$log"
        echo "!! failed: $*"
        return 1
    fi
    ran=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) if ($i ~ /^passed;?$/) s += $(i - 1) } END { print s + 0 }' "$log")
    rm -f "$log"
    if [ "$ran" -eq 0 ]; then
        echo "!! no test ran (does the filter still match a test?): $*"
        return 1
    fi
    echo "-- $ran passed: $*"
}
