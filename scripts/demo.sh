#!/usr/bin/env bash
# First run on a fresh machine: build, install the runtime and model (only if missing),
# ingest the sample knowledge base, then open the console on it. Without a terminal (piped
# or in CI) it runs a first traced search instead of the console.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
bin=./target/release/lmdeck
$bin setup
$bin ingest sample-data/corpus --collection sample
if [ -t 0 ] && [ -t 1 ]; then
    echo "Opening the console: 2 = retrieval inspector, ? = keys, q = quit."
    exec $bin console --collection sample
fi
$bin search "how do I drain a GPU node before maintenance?" --collection sample --k 5
echo
echo "Open the console with: $bin console --collection sample"
