#!/usr/bin/env bash
# Runs each fuzz target (tests/fuzz.rs, property tests) for a set time and prints a summary.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]        default 60
#   FUZZ_CASES=N    cases per round (default 256); each round draws a fresh random seed
#   FUZZ_TARGETS="fuzz_fts_query fuzz_sse_stream_split_anywhere"   a subset
# A failure stops that target and prints proptest's minimal failing input; the exit status
# is the number of targets that failed.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
cases=${FUZZ_CASES:-256}
log_dir=${FUZZ_LOG_DIR:-target/fuzz-logs}
mkdir -p "$log_dir"

cargo test --test fuzz --no-run -q 2>&1 | tail -5 || exit 1
targets=${FUZZ_TARGETS:-$(cargo test -q --test fuzz -- --list 2>/dev/null | sed -n 's/^\(fuzz_[a-z0-9_]*\): test$/\1/p')}

failed=0
summary=()
for t in $targets; do
    start=$(date +%s)
    rounds=0
    result=ok
    while (( $(date +%s) - start < seconds )); do
        rounds=$((rounds + 1))
        if ! PROPTEST_CASES=$cases cargo test -q --test fuzz -- --exact "$t" >"$log_dir/$t.log" 2>&1; then
            result="FAILED (see $log_dir/$t.log)"
            failed=$((failed + 1))
            grep -E "Test failed|minimal failing input" -A3 "$log_dir/$t.log" | head -20
            break
        fi
    done
    elapsed=$(( $(date +%s) - start ))
    line=$(printf '%-34s %7d cases %5d s  %s' "$t" $((rounds * cases)) "$elapsed" "$result")
    echo "$line"
    summary+=("$line")
done

echo
echo "fuzz summary (${seconds} s per target, ${cases} cases per round)"
printf '%s\n' "${summary[@]}"
exit "$failed"
