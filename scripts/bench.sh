#!/usr/bin/env bash
# Benchmarks, side by side in one run on this machine:
#  1. embedding throughput: lmdeck vs the Python onnxruntime baseline (naive and sorted modes)
#     on the same model, tokenizer and SciFact documents, reported as ratios;
#  2. hybrid search latency (p50/p95, query embedding included) and vector recall@10 at
#     10k/100k/300k synthetic chunks;
#  3. vector recall@10 against exact search on real data (the SciFact collection).
# Usage: scripts/bench.sh [DOCS]   (default 1000 documents for the embedding comparison)
set -euo pipefail
cd "$(dirname "$0")/.."
docs="${1:-1000}"
dataset="${SCIFACT_DIR:-../shared/datasets/scifact-train}"
bin=./target/release/lmdeck
cargo build --release --locked
$bin setup >/dev/null
scripts/bench-env.sh
model_dir="$($bin doctor --json | .venv-bench/bin/python -c 'import json,sys; print([m["path"] for m in json.load(sys.stdin)["models"] if m["configured"]][0])')"

echo "== embedding throughput ($docs SciFact documents, title + text, truncation 256)"
naive=$(.venv-bench/bin/python ../shared/bench/embed_baseline.py "$model_dir/model.onnx" "$model_dir/tokenizer.json" "$dataset/corpus.jsonl" "$docs" naive)
sorted=$(.venv-bench/bin/python ../shared/bench/embed_baseline.py "$model_dir/model.onnx" "$model_dir/tokenizer.json" "$dataset/corpus.jsonl" "$docs" sorted)
# lmdeck runs the fused graph `lmdeck setup` wrote from the same model file (same weights,
# vectors equal to ~1e-7); the exported graph is measured too, so the fusion's share shows.
ours=$($bin --device cpu bench embed --beir "$dataset" --docs "$docs")
exported=$(LMDECK_EMBED_GRAPH=original $bin --device cpu bench embed --beir "$dataset" --docs "$docs")
echo "$naive"; echo "$sorted"; echo "$ours"; echo "$exported"
tps() { sed -E 's/.*tokens_per_s=([0-9.]+).*/\1/' <<<"$1"; }
.venv-bench/bin/python - "$(tps "$ours")" "$(tps "$exported")" "$(tps "$naive")" "$(tps "$sorted")" <<'PY'
import sys
ours, exported, naive, sorted_ = map(float, sys.argv[1:])
print(f"lmdeck / naive  = {ours / naive:.2f}x (goal >= 1.3x)")
print(f"lmdeck / sorted = {ours / sorted_:.2f}x (goal >= 1.5x)")
print(f"lmdeck on the exported graph / sorted = {exported / sorted_:.2f}x; the fused graph: {ours / exported:.2f}x")
PY

echo
echo "== search latency and recall (synthetic vectors, real query embedding)"
$bin --device cpu bench search --sizes "${SIZES:-10000,100000,300000}" --queries "${QUERIES:-100}" --dir target/bench
echo "(goals at 100,000 chunks: p50 < 12 ms, p95 < 25 ms, recall@10 >= 0.98)"

echo
echo "== vector recall@10 on real data (SciFact collection of the quality gate)"
if [ -f target/quality/scifact.db ]; then
  LMDECK_DB=target/quality/scifact.db $bin bench recall -c beir-scifact-train --queries "$dataset/queries.jsonl" --limit 300
else
  echo "run scripts/quality-gate.sh first to build target/quality/scifact.db"
fi
