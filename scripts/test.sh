#!/usr/bin/env bash
# Install what the tests need, start the services, run every default nox session, stop the services.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/infra.sh install docker podman pyimage llm slurm sshd
trap 'scripts/infra.sh stop >/dev/null 2>&1 || true' EXIT
scripts/infra.sh start docker podman pyimage llm slurm sshd
eval "$(scripts/infra.sh env)"
python3 -m pip install -q --disable-pip-version-check nox
export NEL_PIP_FIND_LINKS="${NEL_WHEELS_DIR:-$root/../shared/wheels}"
[ -d "$NEL_PIP_FIND_LINKS" ] || unset NEL_PIP_FIND_LINKS
python3 -m nox "$@"
