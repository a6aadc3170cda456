#!/usr/bin/env bash
# Chat model speed, side by side in one run: lmdeck's decoder against a Python onnxruntime
# generation loop over the same ONNX file, same prompt, greedy, same token budget; the ratio
# is lmdeck / Python (goal >= 1.0x). llama.cpp's figure for the same GGUF on this kind of
# machine (2 threads: 8.6-9.0 ms/token decode, 1.14-1.19 s prefill of 303 tokens, from
# ../shared/docs/runtime-and-models.md) is printed as the reference to approach.
set -euo pipefail
cd "$(dirname "$0")/.."
tokens="${1:-128}"
bin=./target/release/lmdeck
cargo build --release --locked
$bin setup >/dev/null
scripts/bench-env.sh
model_dir="$($bin models show smollm2-135m-instruct --json | .venv-bench/bin/python -c 'import json,sys; print(json.load(sys.stdin)["path"])')"
prompt="Explain in detail how a GPU cluster scheduler decides where to place a training job, and what can go wrong."
ours=$($bin --device cpu bench generate --prompt "$prompt" --max-tokens "$tokens")
python=$(.venv-bench/bin/python scripts/bench/generate_baseline.py "$model_dir" "$prompt" "$tokens")
echo "$ours"; echo "$python"
.venv-bench/bin/python - "$ours" "$python" <<'PY'
import sys
def fields(line):
    return {k: v for k, v in (p.split("=", 1) for p in line.split() if "=" in p)}
ours, py = fields(sys.argv[1]), fields(sys.argv[2])
if ours["prompt_tokens"] != py["prompt_tokens"] or ours["tokens"] != py["tokens"]:
    print(f"warning: the runs differ (prompt {ours['prompt_tokens']} vs {py['prompt_tokens']}, answer {ours['tokens']} vs {py['tokens']} tokens)")
print(f"decode tokens/s: lmdeck {ours['decode_tokens_per_s']} vs Python {py['decode_tokens_per_s']} = {float(ours['decode_tokens_per_s']) / float(py['decode_tokens_per_s']):.2f}x (goal >= 1.0x)")
print(f"time to first token: lmdeck {ours['ttft_ms']} ms vs Python {py['ttft_ms']} ms = {float(py['ttft_ms']) / float(ours['ttft_ms']):.2f}x faster")
print("reference, llama.cpp on the same GGUF (2 threads): 8.6-9.0 ms/token = 111-116 tokens/s decode")
PY
