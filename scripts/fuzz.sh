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

# One build, copied aside: rounds run that binary, so edits elsewhere in the tree (and the
# builds they trigger) do not touch a campaign under way.
built=$(cargo test --test fuzz --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\/fuzz-[^"]*\)".*/\1/p' | tail -1)
if [[ -z "$built" || ! -x "$built" ]]; then
    echo "building tests/fuzz.rs failed:" >&2
    cargo test --test fuzz --no-run 2>&1 | tail -20 >&2
    exit 1
fi
bin="$log_dir/fuzz-bin"
cp "$built" "$bin"
targets=${FUZZ_TARGETS:-$("$bin" --list 2>/dev/null | sed -n 's/^\(fuzz_[a-z0-9_]*\): test$/\1/p')}

failed=0
summary=()
for t in $targets; do
    start=$(date +%s)
    rounds=0
    result=ok
    while (( $(date +%s) - start < seconds )); do
        rounds=$((rounds + 1))
        if ! PROPTEST_CASES=$cases "$bin" --exact "$t" >"$log_dir/$t.log" 2>&1; then
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
