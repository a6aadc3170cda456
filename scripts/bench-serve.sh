#!/usr/bin/env bash
# `lmdeck serve` under 16 concurrent streaming clients (the official openai client): errors,
# queueing and memory. Usage: scripts/bench-serve.sh [CLIENTS] [MAX_TOKENS]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./target/release/lmdeck
cargo build --release --locked
$bin setup >/dev/null
if ! .venv-test/bin/python -c "import openai" 2>/dev/null; then
    python3 -m venv .venv-test
    .venv-test/bin/pip install --quiet --disable-pip-version-check openai==3.57.0
fi
log="$(mktemp)"
$bin serve --port 0 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
base="$(sed -n 's/^listening on //p' "$log")"
.venv-test/bin/python scripts/bench_serve.py "$base" "$pid" "${1:-16}" "${2:-32}"
