#!/usr/bin/env bash
# Install NEL into .venv and run the quickstart evaluation (examples/quickstart.yaml):
# NEL's offline benchmark against Gemma 3 270M, served on this CPU by llama.cpp.
# Needs python3 (3.10+) with venv, gcc and cmake (only when no prebuilt llama.cpp wheel is found).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
venv="${NEL_VENV:-$root/.venv}"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip
"$venv/bin/pip" install -q --disable-pip-version-check \
  -e packages/core -e packages/cli -e packages/executor-local -e packages/harness
# A prebuilt portable llama-cpp-python wheel saves an 8-minute compile.
wheels="${NEL_WHEELS_DIR:-$root/../shared/wheels}"
if [ -d "$wheels" ]; then
  export NEL_PIP_FIND_LINKS="$wheels"
else
  # Portable build flags: a cached native build crashes on CPUs without the same extensions.
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
  export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
fi
export NEMO_EVALUATOR_TELEMETRY_LEVEL=0
exec "$venv/bin/nel" run --config examples/quickstart.yaml --wait "$@"
