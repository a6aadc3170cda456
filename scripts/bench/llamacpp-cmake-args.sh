#!/usr/bin/env bash
# CMake flags for building llama-cpp-python from its sdist on this CPU: the instruction sets
# /proc/cpuinfo lists, but never AMX (a VM may list AMX without enabling its tile state, and
# llama.cpp's AMX kernels then die on their first `ldtilecfg`).
set -euo pipefail
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
has() { [[ " $flags " == *" $1 "* ]]; }
args="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
has avx2 && args+=" -DGGML_AVX=ON -DGGML_AVX2=ON"
has fma && args+=" -DGGML_FMA=ON"
has f16c && args+=" -DGGML_F16C=ON"
has bmi2 && args+=" -DGGML_BMI2=ON"
has avx_vnni && args+=" -DGGML_AVX_VNNI=ON"
if has avx512f && has avx512bw && has avx512vl && has avx512dq; then
  args+=" -DGGML_AVX512=ON"
  has avx512vbmi && args+=" -DGGML_AVX512_VBMI=ON"
  has avx512_vnni && args+=" -DGGML_AVX512_VNNI=ON"
  has avx512_bf16 && args+=" -DGGML_AVX512_BF16=ON"
fi
echo "$args"
