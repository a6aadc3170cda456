#!/usr/bin/env bash
# SciFact (BEIR, train split) retrieval quality: hybrid nDCG@10 must reach the plain
# whole-document RRF reference of 0.690. The corpus is ingested once into its own database.
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${SCIFACT_DIR:-../shared/datasets/scifact-train}"
if [ ! -f "$dataset/corpus.jsonl" ]; then
  echo "quality gate: $dataset/corpus.jsonl not found (set SCIFACT_DIR)" >&2
  exit 1
fi
mkdir -p target/quality
out=target/quality/scifact.json
LMDECK_DB=target/quality/scifact.db ./target/release/lmdeck eval retrieval --beir "$dataset" --json > "$out"
python3 - "$out" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
scores = {s["mode"]: s for s in result["scores"]}
for mode in ("vector", "keyword", "hybrid"):
    s = scores[mode]
    print(f"{mode:8} nDCG@10 {s['ndcg_at_10']:.4f}  Recall@100 {s['recall_at_100']:.4f}  MRR@10 {s['mrr_at_10']:.4f}")
hybrid = scores["hybrid"]["ndcg_at_10"]
if hybrid < 0.69:
    sys.exit(f"quality gate failed: hybrid nDCG@10 {hybrid:.4f} < 0.690")
print(f"quality gate passed: hybrid nDCG@10 {hybrid:.4f} >= 0.690")
PY
