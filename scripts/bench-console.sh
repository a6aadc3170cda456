#!/usr/bin/env bash
# Console benchmarks: in-process frame cost with 100,000 documents (virtualised vs every row),
# then real-terminal figures in tmux (cold start, idle CPU, key-to-frame during an ingestion and
# during a job printing 50,000 metric lines a second).
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${SCIFACT_DIR:-../shared/datasets/scifact-train}"
bin=./target/release/lmdeck
cargo build --release --locked
$bin setup >/dev/null
$bin bench console
db="$(mktemp -d)/console-bench.db"
$bin --db "$db" ingest sample-data/corpus --collection sample >/dev/null
# The last scenario floods a job's log (scripts/bench/flood_job.py; FLOOD_SECONDS, default 20).
python3 scripts/bench_console.py "$bin" "$db" "$dataset/corpus.jsonl"
