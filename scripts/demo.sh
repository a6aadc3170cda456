#!/usr/bin/env bash
# First run on a fresh machine: build, install the runtime and model (only if missing),
# ingest the sample knowledge base and run a first traced search.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
bin=./target/release/lmdeck
$bin setup
$bin ingest sample-data/corpus --collection sample
$bin search "how do I drain a GPU node before maintenance?" --collection sample --k 5
echo
echo "Try: $bin search \"your question\" --collection sample   (add --json for the full trace)"
