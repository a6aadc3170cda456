#!/usr/bin/env bash
# Runs every check: formatting, lints, the full test suite on the real ONNX Runtime and model
# (installed by `lmdeck setup`, idempotent), and the SciFact retrieval-quality gate.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== fmt"
cargo fmt --check
echo "== clippy"
cargo clippy --release --all-targets -- -D warnings
echo "== build"
cargo build --release --locked
echo "== setup (ONNX Runtime + default embedding model)"
./target/release/lmdeck setup
echo "== tests"
cargo test --release --locked -- --test-threads 2
echo "== retrieval quality gate"
scripts/quality-gate.sh
echo "all checks passed"
