#!/usr/bin/env bash
# The headline: RAG, fine-tuning or both? Evaluates the default chat model with RAG on and off
# on the sample evaluation set (45 questions about the sample knowledge base) and prints the
# comparison. When the fine-tuned sample model exists (scripts/finetune-sample.sh makes it,
# from training questions disjoint from this set), the matrix includes it: base vs fine-tuned
# x RAG off vs on, the four-way table with the effect of each and their interaction.
#
# Usage: scripts/eval-demo.sh [--limit N]   (the whole set takes minutes on a 2-core CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
limit=()
if [ "${1:-}" = "--limit" ] && [ -n "${2:-}" ]; then limit=(--limit "$2"); fi
cargo build --release --locked
bin=./target/release/lmdeck
$bin setup
$bin ingest sample-data/corpus --collection sample
# Importing the same content again is a no-op.
$bin eval sets import sample-data/eval/qa.jsonl --name sample-qa --collection sample
base=smollm2-135m-instruct
tuned=smollm2-135m-sample-rag
models="$base"
if $bin models list 2>/dev/null | grep -q "^$tuned"; then
    models="$base,$tuned"
else
    echo "(no fine-tuned sample model: scripts/finetune-sample.sh makes one; comparing RAG on vs off)"
fi
runs=$($bin eval run --set sample-qa --matrix "model=$models" "rag=on,off" "${limit[@]}" --json \
    | python3 -c 'import json,sys; print(" ".join(str(r["id"]) for r in json.load(sys.stdin)))')
echo
$bin eval compare $runs
