#!/usr/bin/env bash
# Chat model speed at RAG lengths, three engines side by side in one run, same prompts
# (numbered sample-data sources before a question, about 50, 500 and 1,500 tokens), greedy,
# same thread count, 128 new tokens:
#   lmdeck            `lmdeck bench generate` on the installed model (its fused graph), exact,
#                     and the same GGUF converted with int8 activations (llama.cpp's numerics),
#                     both with lmdeck's attention operator (the CPU graph); the int8 model
#                     once more with ONNX Runtime's GroupQueryAttention, for comparison
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
doctor="$($bin doctor --json)"
gguf="$(echo "$doctor" | $py -c 'import json,sys; print(json.load(sys.stdin)["default_gguf"])')"
data_dir="$(echo "$doctor" | $py -c 'import json,sys; print(json.load(sys.stdin)["data_dir"])')"
out=target/bench-generate
mkdir -p "$out"
# The same GGUF with int8 activations (what `lmdeck models import-gguf --int8-activations`
# writes), converted here so the benchmark registers nothing in the user's store.
int8_dir="$out/smollm2-135m-instruct-int8"
convert="$data_dir/python/convert"
if ! cmp -s "$convert/gguf_to_onnx.py" "$int8_dir/.converter" 2>/dev/null; then
  "$convert/venv/bin/python" "$convert/gguf_to_onnx.py" "$gguf" "$int8_dir" --name smollm2-135m-instruct-int8 --accuracy-level 4 >/dev/null
  cp "$convert/gguf_to_onnx.py" "$int8_dir/.converter"
fi
# shellcheck disable=SC2086
$py scripts/bench/make_prompts.py "$model_dir" sample-data/corpus "$out" $lengths
results="$out/results.txt"
: > "$results"
for n in $lengths; do
  prompt="$out/prompt-$n.txt"
  exact=$($bin --device cpu bench generate --prompt-file "$prompt" --max-tokens "$tokens" --runs "$runs")
  int8=$($bin --device cpu bench generate --model "$int8_dir" --prompt-file "$prompt" --max-tokens "$tokens" --runs "$runs")
  # The same int8 model with ONNX Runtime's GroupQueryAttention instead of lmdeck's operator.
  int8_ort=$(LMDECK_GENERATE_ATTENTION=onnxruntime $bin --device cpu bench generate --model "$int8_dir" --prompt-file "$prompt" --max-tokens "$tokens" --runs "$runs")
  llama=$($py scripts/bench/generate_llamacpp.py "$gguf" "$model_dir" "$prompt" "$tokens" "$runs" "$threads")
  python=$($py scripts/bench/generate_baseline.py "$model_dir" "$prompt" "$tokens" "$runs")
  printf '%s\n' "$exact" "$int8" "$int8_ort" "$llama" "$python" | tee -a "$results"
done
$py - "$results" <<'PY'
import sys
rows = [dict(p.split("=", 1) for p in line.split() if "=" in p) for line in open(sys.argv[1]) if line.strip()]
print()
print("Decode tokens/s (ratio to llama.cpp), time to first token (ratio), ms per decode step at the start -> end of the answer:")
print()
print("| prompt | llama.cpp | lmdeck exact | lmdeck int8 | int8, ORT attention | Python (exact graph) | TTFT llama.cpp | TTFT exact | TTFT int8 | TTFT int8, ORT attention | ms/step llama.cpp | exact | int8 | int8, ORT attention |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
fails = []
for exact, int8, int8_ort, llama, py in zip(rows[0::5], rows[1::5], rows[2::5], rows[3::5], rows[4::5]):
    n = int(exact["prompt_tokens"])
    lengths = {r["prompt_tokens"] for r in (exact, int8, int8_ort, llama, py)}
    if len(lengths) != 1:
        print(f"warning: prompt lengths differ: {sorted(lengths)}")
    dec = {k: float(r["decode_tokens_per_s"]) for k, r in (("exact", exact), ("int8", int8), ("int8_ort", int8_ort), ("llama", llama), ("py", py))}
    ttft = {k: float(r["ttft_ms"]) for k, r in (("exact", exact), ("int8", int8), ("int8_ort", int8_ort), ("llama", llama))}
    step = lambda r: f"{float(r['step_ms_start']):.1f} -> {float(r['step_ms_end']):.1f}"  # noqa: E731
    print(f"| {n} tokens | {dec['llama']:.1f} | {dec['exact']:.1f} ({dec['exact'] / dec['llama']:.2f}x) "
          f"| {dec['int8']:.1f} ({dec['int8'] / dec['llama']:.2f}x) "
          f"| {dec['int8_ort']:.1f} ({dec['int8_ort'] / dec['llama']:.2f}x) | {dec['py']:.1f} "
          f"| {ttft['llama']:.0f} ms | {ttft['exact']:.0f} ms ({ttft['exact'] / ttft['llama']:.2f}x) "
          f"| {ttft['int8']:.0f} ms ({ttft['int8'] / ttft['llama']:.2f}x) "
          f"| {ttft['int8_ort']:.0f} ms ({ttft['int8_ort'] / ttft['llama']:.2f}x) "
          f"| {step(llama)} | {step(exact)} | {step(int8)} | {step(int8_ort)} |")
    # The goals are llama.cpp's own trade (int8 activations, float16 cache): the int8 mode.
    # The exact mode (float32 activations) is reported beside it, not held to them.
    goal = 1.0 if n < 200 else 1.2
    if dec["int8"] / dec["llama"] < goal:
        fails.append(f"int8 decode at {n} tokens: {dec['int8'] / dec['llama']:.2f}x (goal >= {goal}x)")
    for mode in ("exact", "int8"):
        if ttft[mode] / ttft["llama"] > 0.5:
            fails.append(f"{mode} time to first token at {n} tokens: {ttft[mode] / ttft['llama']:.2f}x (goal <= 0.5x)")
print()
print("all goals met (decode: the int8 mode; time to first token: both modes)" if not fails
      else "goals not met: " + "; ".join(fails))
PY
