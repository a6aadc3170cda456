#!/usr/bin/env bash
# Creates .venv-bench with what ../shared/bench/embed_baseline.py needs (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
fi
.venv-bench/bin/python -m pip install --quiet --disable-pip-version-check \
  numpy onnxruntime==1.31.1 tokenizers
