#!/usr/bin/env bash
# Runs every check: formatting, lints, the full test suite on the real ONNX Runtime and model
# (installed by `lmdeck setup`, idempotent), and the SciFact retrieval-quality gate.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== tools (tmux drives the console in the end-to-end tests; the openai client drives serve)"
if ! command -v tmux >/dev/null; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo -n"  # never wait for a password
    $sudo apt-get update -qq && $sudo apt-get install -y -qq tmux
fi
# The serve tests drive the server with the official openai client, from PyPI.
if ! .venv-test/bin/python -c "import openai" 2>/dev/null; then
    python3 -m venv .venv-test
    .venv-test/bin/pip install --quiet --disable-pip-version-check openai==3.57.0
fi
export LMDECK_TEST_PYTHON="$PWD/.venv-test/bin/python"
echo "== fmt"
cargo fmt --check
echo "== clippy"
cargo clippy --release --all-targets -- -D warnings
echo "== build"
cargo build --release --locked
echo "== setup (ONNX Runtime, default embedding model, default chat model converted from GGUF)"
./target/release/lmdeck setup
echo "== training environment (PyTorch + Hugging Face, ~5.3 GB once; tests/finetune_e2e.rs needs it)"
./target/release/lmdeck setup --training
echo "== Slurm (a real single-node cluster for tests/slurm_*.rs; stopped again when the tests end)"
# Stop it afterwards only when this run started it (a cluster already running stays).
if scripts/slurm-cluster.sh status >/dev/null; then
    scripts/slurm-cluster.sh start
else
    scripts/slurm-cluster.sh start
    trap 'scripts/slurm-cluster.sh stop' EXIT
fi
export SLURM_CONF="${LMDECK_SLURM_DIR:-/tmp/lmdeck-slurm}/etc/slurm.conf"
export LMDECK_REQUIRE_SLURM=1  # here a missing Slurm fails the Slurm tests instead of skipping them
echo "== tests"
cargo test --release --locked -- --test-threads 2
echo "== retrieval quality gate"
scripts/quality-gate.sh
echo "all checks passed"
