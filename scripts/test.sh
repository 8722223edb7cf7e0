#!/usr/bin/env bash
# Install what the tests need, start the services, run every default nox session, stop the services.
# The services are the ones the tests use: both container engines, the benchmark image's Python base,
# the model server, a headless browser (Debian's chromium, for the HTML report's tests), an MLflow
# tracking server, a Slurm cluster (with slurmdbd) and the OpenSSH server in front of it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
services=(docker podman pyimage llm browser mlflow slurm sshd)
scripts/infra.sh install "${services[@]}"
trap 'scripts/infra.sh stop "${services[@]}" >/dev/null 2>&1 || true' EXIT
scripts/infra.sh start "${services[@]}"
eval "$(scripts/infra.sh env "${services[@]}")"
python3 -c 'import nox' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check nox
export NEL_PIP_FIND_LINKS="${NEL_WHEELS_DIR:-$root/../shared/wheels}"
[ -d "$NEL_PIP_FIND_LINKS" ] || unset NEL_PIP_FIND_LINKS
python3 -m nox "$@"
