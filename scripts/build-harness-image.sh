#!/usr/bin/env bash
# Build the container image of NEL's own benchmark (localhost/nel/nel-bench:latest) without any
# registry: a local Python base image + nemo-evaluator 0.1.95 installed here + packages/harness.
#
#   DOCKER_HOST=unix:///... scripts/build-harness-image.sh [BASE_IMAGE] [TAG]
#
# BASE_IMAGE (default local/nel-python:latest, made by `scripts/infra.sh install pyimage`) must
# have python3 (the same minor version as this host's python3: the packages are installed here).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
base="${1:-local/nel-python:latest}"
tag="${2:-localhost/nel/nel-bench:latest}"
cache="${NEL_INFRA_STATE:-/tmp/nel-infra}/harness-image"
mkdir -p "$cache"
if [ ! -f "$cache/site/.complete" ]; then
  rm -rf "$cache/site"
  python3 -m pip install -q --disable-pip-version-check --target "$cache/site" nemo-evaluator==0.1.95 \
    >"$cache/pip.log" 2>&1 || { tail -20 "$cache/pip.log" >&2; exit 1; }
  touch "$cache/site/.complete"
fi
rm -rf "$cache/harness" && mkdir -p "$cache/harness"
cp -r "$root/packages/harness/src/core_evals" "$cache/harness/"
find "$cache/harness" -name __pycache__ -prune -exec rm -rf {} +
cat > "$cache/Dockerfile" <<DOCKERFILE
FROM $base
COPY site /opt/nel/site
COPY harness /opt/nel/harness
RUN ln -sf /usr/bin/python3 /usr/local/bin/python \\
 && printf '#!/bin/sh\nexec python3 -c "import sys; from nemo_evaluator.core.entrypoint import run_eval; sys.argv[0] = \\\\"nemo-evaluator\\\\"; sys.exit(run_eval())" "\$@"\n' > /usr/local/bin/nemo-evaluator \\
 && chmod 755 /usr/local/bin/nemo-evaluator
ENV PYTHONPATH=/opt/nel/site:/opt/nel/harness NEMO_EVALUATOR_TELEMETRY_LEVEL=0
DOCKERFILE
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$cache" >"$cache/build.log" 2>&1 || { tail -20 "$cache/build.log" >&2; exit 1; }
echo "$tag"
