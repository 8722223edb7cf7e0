#!/usr/bin/env bash
# Install NEL into .venv and run the quickstart evaluation (examples/quickstart.yaml):
# NEL's offline benchmark against Gemma 3 270M, served on this CPU by llama.cpp.
# Needs python3 (3.10+) with venv, gcc and cmake (only when no prebuilt llama.cpp wheel is found).
#
# Settings: NEL_VENV (default <repo>/.venv), NEL_WHEELS_DIR (a prebuilt llama-cpp-python wheel;
# default <repo>/../shared/wheels), NEL_HOME (default ~/.nel). Arguments go to `nel run`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
venv="${NEL_VENV:-$root/.venv}"
packages=(packages/core packages/cli packages/executor-local packages/harness)
say() { printf '[quickstart] %s\n' "$*" >&2; }

# The packages are installed editable: source edits need no reinstall, only their metadata does
# (each pyproject, and the harness's version, which its pyproject reads from its sources).
# The stamp records what the venv was built from; a re-run with the same stamp installs nothing.
stamp() {
  python3 -c 'import sys; print(sys.version)'
  echo "$root"
  local p
  for p in "${packages[@]}"; do sha256sum "$p/pyproject.toml"; done
  grep -h '^__version__' packages/harness/src/core_evals/nel_bench/__init__.py
}
stamp_file="$venv/.nel-installed"
if [[ -x $venv/bin/nel && -f $stamp_file ]] && cmp -s <(stamp) "$stamp_file"; then
  say "NEL is installed in $venv"
else
  started=$SECONDS
  say "installing NEL into $venv"
  rm -f "$stamp_file"
  python3 -m venv "$venv"
  # pip's own chatter (a machine's pip.conf may name indexes that are not there) goes to a log,
  # shown only when an install fails.
  log="$venv/nel-install.log"
  pip() {
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$@" >>"$log" 2>&1 || {
      cat "$log" >&2
      say "installing NEL failed (pip's output above, also in $log)"
      exit 1
    }
  }
  # The build backend once in the venv: each editable build then needs no isolated environment.
  pip "setuptools>=77"
  editable=()
  for p in "${packages[@]}"; do editable+=(-e "$p"); done
  pip --no-build-isolation "${editable[@]}"
  stamp >"$stamp_file"
  say "installed in $((SECONDS - started)) s (nel is $venv/bin/nel)"
fi

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
