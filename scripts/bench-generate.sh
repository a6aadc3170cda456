#!/usr/bin/env bash
# Chat model speed at RAG lengths, three engines side by side in one run, same prompts
# (numbered sample-data sources before a question, about 50, 500 and 1,500 tokens), greedy,
# same thread count, 128 new tokens:
#   lmdeck            `lmdeck bench generate` on the installed model (its fused graph)
#   llama.cpp         llama-cpp-python on the GGUF that model was converted from
#   Python            an onnxruntime loop over the same ONNX file
# Medians of RUNS runs each. Goals (issue 13): lmdeck decode >= 1.2x llama.cpp at ~500 and
# ~1,500 tokens and >= 1.0x at ~50; lmdeck's time to first token <= 0.5x llama.cpp's.
# Usage: scripts/bench-generate.sh [NEW_TOKENS]   (env: RUNS=5 LENGTHS="50 500 1500" THREADS=nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
tokens="${1:-128}"
runs="${RUNS:-5}"
lengths="${LENGTHS:-50 500 1500}"
threads="${THREADS:-$(nproc)}"
bin=./target/release/lmdeck
cargo build --release --locked
$bin setup >/dev/null
scripts/bench-env.sh
# llama.cpp builds from its PyPI sdist for this CPU (about 10 minutes on 2 cores, once: the
# venv keeps it).
if ! .venv-bench/bin/python -c 'import llama_cpp' 2>/dev/null; then
  CMAKE_ARGS="$(scripts/bench/llamacpp-cmake-args.sh)" .venv-bench/bin/python -m pip install --quiet \
    --no-cache-dir --disable-pip-version-check llama-cpp-python==0.3.36
fi
py=.venv-bench/bin/python
model_dir="$($bin models show smollm2-135m-instruct --json | $py -c 'import json,sys; print(json.load(sys.stdin)["path"])')"
gguf="$($bin doctor --json | $py -c 'import json,sys; print(json.load(sys.stdin)["default_gguf"])')"
out=target/bench-generate
mkdir -p "$out"
# shellcheck disable=SC2086
$py scripts/bench/make_prompts.py "$model_dir" sample-data/corpus "$out" $lengths
results="$out/results.txt"
: > "$results"
for n in $lengths; do
  prompt="$out/prompt-$n.txt"
  ours=$($bin --device cpu bench generate --prompt-file "$prompt" --max-tokens "$tokens" --runs "$runs")
  llama=$($py scripts/bench/generate_llamacpp.py "$gguf" "$model_dir" "$prompt" "$tokens" "$runs" "$threads")
  python=$($py scripts/bench/generate_baseline.py "$model_dir" "$prompt" "$tokens" "$runs")
  echo "$ours"; echo "$llama"; echo "$python"
  printf '%s\n%s\n%s\n' "$ours" "$llama" "$python" >> "$results"
done
$py - "$results" <<'PY'
import sys
rows = [dict(p.split("=", 1) for p in line.split() if "=" in p) for line in open(sys.argv[1]) if line.strip()]
print()
print("| prompt | lmdeck decode | llama.cpp decode | ratio | Python decode | lmdeck TTFT | llama.cpp TTFT | TTFT ratio | ms/step start -> end: lmdeck | llama.cpp |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
fails = []
for ours, llama, py in zip(rows[0::3], rows[1::3], rows[2::3]):
    n = int(ours["prompt_tokens"])
    if {ours["prompt_tokens"], llama["prompt_tokens"], py["prompt_tokens"]} != {ours["prompt_tokens"]}:
        print(f"warning: prompt lengths differ: {ours['prompt_tokens']} / {llama['prompt_tokens']} / {py['prompt_tokens']}")
    d_ours, d_llama, d_py = (float(r["decode_tokens_per_s"]) for r in (ours, llama, py))
    t_ours, t_llama = float(ours["ttft_ms"]), float(llama["ttft_ms"])
    ratio, t_ratio = d_ours / d_llama, t_ours / t_llama
    print(f"| {n} tokens | {d_ours:.1f} tok/s | {d_llama:.1f} tok/s | {ratio:.2f}x | {d_py:.1f} tok/s "
          f"| {t_ours:.0f} ms | {t_llama:.0f} ms | {t_ratio:.2f}x "
          f"| {ours['step_ms_start']} -> {ours['step_ms_end']} | {llama['step_ms_start']} -> {llama['step_ms_end']} |")
    goal = 1.0 if n < 200 else 1.2
    if ratio < goal:
        fails.append(f"decode at {n} tokens: {ratio:.2f}x llama.cpp (goal >= {goal}x)")
    if t_ratio > 0.5:
        fails.append(f"time to first token at {n} tokens: {t_ratio:.2f}x llama.cpp's (goal <= 0.5x)")
print()
print("goals met" if not fails else "goals not met: " + "; ".join(fails))
PY
