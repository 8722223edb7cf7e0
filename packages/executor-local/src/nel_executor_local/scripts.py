"""The shell scripts of a local invocation: one per job, and the supervisor that runs them.

The supervisor (``invocation.sh JOB_DIR...``) runs in its own session: it starts the
deployment once, waits for its health path, runs the jobs (sequentially or up to
``max_parallel`` at once), then tears the deployment down. Killing its process group stops
everything it started.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from nel_core.models.domain import JobSpec
from nel_core.services.stages import EXIT, REASON, marker_snippets

__all__ = ["render_job_script", "render_supervisor"]


def render_job_script(spec: JobSpec, job_dir: Path, run_lines: list[str], env_lines: list[str]) -> str:
    """The entry script of one job. It sources secrets.env; no secret value appears in it."""
    markers = marker_snippets(str(job_dir))
    lines = [
        "#!/usr/bin/env bash",
        f"# NEL job {spec.index}: {spec.task_name}",
        "set -uo pipefail",
        f"cd {shlex.quote(str(job_dir))}",
        markers["pre_start"],
        # pid:start-time of this job's process group leader, for `nel kill <job>`.
        "echo \"$$:$(awk '{print $22}' /proc/$$/stat)\" > job.pid",
        "set -a; . ./secrets.env; set +a",
        "export NEMO_EVALUATOR_TELEMETRY_LEVEL=0",
        *env_lines,
    ]
    if spec.pre_cmd:
        lines += ["# pre_cmd", spec.pre_cmd]
    lines += [markers["running"], *run_lines, "rc=$?"]
    if spec.post_cmd:
        lines += ["# post_cmd", spec.post_cmd]
    lines += [markers["exit"], 'exit "$rc"']
    return "\n".join(lines) + "\n"


def render_supervisor(
    *,
    docker_host: str | None,
    python: str,
    deployment_start: str | None,
    health_url: str | None,
    readiness_timeout: float,
    deployment_stop: str | None,
    parallel: int,
) -> str:
    """The invocation's supervisor script; its arguments are the job directories to run."""
    lines = [
        "#!/usr/bin/env bash",
        "# NEL invocation supervisor: deployment once, then the jobs, then teardown.",
        "set -u",
        'cd "$(dirname "$0")"',
        "echo $$ > supervisor.pid",
        *([f"export DOCKER_HOST={shlex.quote(docker_host)}"] if docker_host else []),
        "DEP_PID=",
        "teardown() {",
        '  if [ -n "$DEP_PID" ]; then',
        f"    {deployment_stop or 'true'}",
        '    kill -TERM "$DEP_PID" 2>/dev/null; wait "$DEP_PID" 2>/dev/null',
        "  fi",
        "}",
        "stop_jobs() {  # each job runs in its own process group (see run_job)",
        '  for j in "$@"; do [ -f "$j/job.pid" ] && kill -TERM -- "-$(cut -d: -f1 "$j/job.pid")" 2>/dev/null; done',
        "}",
        'on_signal() { trap - TERM INT; stop_jobs "$@"; teardown; kill -TERM 0 2>/dev/null; exit 143; }',
        'trap \'on_signal "$@"\' TERM INT',
        "fail_all() {  # reason: every job that has not run fails with it",
        '  for j in "$@"; do',
        f'    [ -f "$j/{EXIT}" ] && continue',
        f'    echo "$REASON" > "$j/{REASON}"; echo 1 > "$j/{EXIT}"',
        "  done",
        "}",
    ]
    if deployment_start:
        lines += [
            'echo "[$(date +%T)] starting deployment" >> supervisor.log',
            # The server alone reads deployment.env (exec keeps DEP_PID the server's pid).
            "( [ -f deployment.env ] && { set -a; . ./deployment.env; set +a; }; "
            f"exec {deployment_start} ) >> deployment.log 2>&1 &",
            "DEP_PID=$!",
            "echo $DEP_PID > deployment.pid",
            f"{shlex.quote(python)} -m nel_executor_local.health {shlex.quote(health_url or '')} "
            f"{readiness_timeout:g} $DEP_PID",
            "case $? in",
            "  0) echo \"[$(date +%T)] deployment healthy\" >> supervisor.log ;;",
            '  1) REASON="the deployment exited before it became healthy (see deployment.log)";'
            ' fail_all "$@"; teardown; exit 1 ;;',
            f'  *) REASON="the deployment was not healthy within {readiness_timeout:g}s'
            ' (see deployment.log)"; fail_all "$@"; teardown; exit 1 ;;',
            "esac",
        ]
    lines += [
        "run_job() {",
        "  # Its own session and process group: one job can be killed without the others.",
        '  setsid bash "$1/run.sh" > "$1/job.log" 2>&1',
        "  local rc=$?",
        f'  if [ ! -f "$1/{EXIT}" ]; then',
        f'    echo "the job script ended (code $rc) without writing its exit marker" > "$1/{REASON}"',
        f'    echo "$rc" > "$1/{EXIT}"',
        "  fi",
        "}",
        "(",
        '  for j in "$@"; do',
        f'    while [ "$(jobs -rp | wc -l)" -ge {max(parallel, 1)} ]; do wait -n; done',
        '    run_job "$j" &',
        "  done",
        "  wait",
        ") &",
        "wait $!",
        'echo "[$(date +%T)] jobs done" >> supervisor.log',
        "teardown",
    ]
    return "\n".join(lines) + "\n"
