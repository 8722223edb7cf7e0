"""The sbatch script of one job group: the model server once, the group's jobs in turn, teardown.

The script is self-contained bash for the compute node (which need not have NEL): it records its
Slurm job id, starts the server (when the run deploys one) in its own process group, waits for
the health path with curl until the readiness timeout, then runs each job's ``run.sh`` (core's
job script, which writes the stage markers) with its output in the job's ``job.log``. A job whose
``stage.killed`` marker appears is stopped alone; the others go on. On exit, TERM or INT, the
running job and the server are stopped. When the server does not come up, every job of the
group is marked failed with the reason.
"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath

import attrs

from nel_core.layout import EXIT, JOB_LOG, KILLED, REASON, RUN_SCRIPT
from nel_core.models.domain import EndpointSpec
from nel_executor_slurm.config import SlurmExecutionConfig

__all__ = ["SbatchGroup", "group_id_file", "job_name", "render_sbatch", "sbatch_flags"]


@attrs.frozen(kw_only=True)
class SbatchGroup:
    """One sbatch job of an invocation: its index, script name and job folders (as the cluster sees them)."""

    index: int
    count: int
    script: str
    job_dirs: list[str]


def job_name(config: SlurmExecutionConfig, invocation_id: str, index: int) -> str:
    """The sbatch job's name: it holds the invocation id, so that squeue finds the invocation's jobs."""
    return f"{config.account}-{config.subproject}.nel-{invocation_id}-{index}"


def group_id_file(script: str) -> str:
    """Where the running script records its Slurm job id (beside the script)."""
    return script.removesuffix(".sbatch") + ".id"


def sbatch_flags(config: SlurmExecutionConfig, *, deploys: bool) -> list[str]:
    """The ``#SBATCH`` options of the execution config (without name and output).

    A job that deploys nothing goes to ``cpu_partition`` (when set), without GPU requests.
    """
    gpu_free = not deploys and config.cpu_partition is not None
    flags = [f"--account={config.account}", f"--partition={config.cpu_partition if gpu_free else config.partition}"]
    flags += [f"--time={config.walltime}", f"--nodes={config.num_nodes}", f"--ntasks-per-node={config.ntasks_per_node}"]
    if config.gres and not gpu_free:
        flags.append(f"--gres={config.gres}")
    if config.gpus_per_node is not None and not gpu_free:
        flags.append(f"--gpus-per-node={config.gpus_per_node}")
    if config.sbatch_comment:
        flags.append(f"--comment={config.sbatch_comment}")
    flags.append("--no-requeue")  # a requeued job would run its finished tasks again
    for key, value in config.sbatch_extra_flags.items():
        if value is True:
            flags.append(f"--{key}")
        elif value is not None and value is not False:
            flags.append(f"--{key}={value}")
    return flags


_PRELUDE = """\
set -uo pipefail
server=""
current=""
stop_group() {  # TERM a process group, KILL what is left after 10 s
  kill -TERM -- "-$1" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 -- "-$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$1" 2>/dev/null || true
}
teardown() {
  if [ -n "$current" ]; then stop_group "$current"; fi
  if [ -n "$server" ]; then stop_group "$server"; fi
}
trap teardown EXIT
trap 'exit 143' TERM INT
fail_jobs() {  # mark every job of this group that has not ended as failed, with a reason
  for dir in "${jobs[@]}"; do
    if [ -e "$dir/@EXIT@" ] || [ -e "$dir/@KILLED@" ]; then continue; fi
    echo "$1" > "$dir/@REASON@"
    echo 1 > "$dir/.@EXIT@.tmp" && mv "$dir/.@EXIT@.tmp" "$dir/@EXIT@"
  done
}
run_job() {  # one job in its own process group; stopped alone when its killed marker appears
  local dir=$1
  if [ -e "$dir/@KILLED@" ]; then return 0; fi
  setsid bash "$dir/@RUN@" >> "$dir/@LOG@" 2>&1 < /dev/null &
  current=$!
  while kill -0 "$current" 2>/dev/null; do
    if [ -e "$dir/@KILLED@" ]; then stop_group "$current"; fi
    sleep 1
  done
  wait "$current"
  current=""
}
"""
_NAMES = {"@EXIT@": EXIT, "@KILLED@": KILLED, "@REASON@": REASON, "@RUN@": RUN_SCRIPT, "@LOG@": JOB_LOG}
for _name, _value in _NAMES.items():
    _PRELUDE = _PRELUDE.replace(_name, _value)


def _server_lines(spec: EndpointSpec, line: str, log: str) -> list[str]:
    url = f"http://127.0.0.1:{spec.port}{spec.health_path}"
    timeout = int(spec.readiness_timeout)
    unhealthy = f"the {spec.type} deployment was not healthy within {timeout}s (see {log})"
    exited = f"the {spec.type} deployment exited before it became healthy (see {log})"
    return [
        f"# The model server ({spec.type}), started once for every job of this sbatch job.",
        f'echo "[nel] starting the {spec.type} server on $(hostname)" >> {shlex.quote(log)}',
        f"setsid bash -c {shlex.quote(line)} >> {shlex.quote(log)} 2>&1 < /dev/null &",
        "server=$!",
        f"deadline=$(( $(date +%s) + {timeout} ))",
        f"until curl --silent --fail --output /dev/null --max-time 5 {shlex.quote(url)}; do",
        f'  if ! kill -0 "$server" 2>/dev/null; then fail_jobs {shlex.quote(exited)}; exit 1; fi',
        f'  if [ "$(date +%s)" -ge "$deadline" ]; then fail_jobs {shlex.quote(unhealthy)}; exit 1; fi',
        "  sleep 2",
        "done",
    ]


def render_sbatch(
    config: SlurmExecutionConfig,
    *,
    invocation_id: str,
    invocation_dir: str,
    group: SbatchGroup,
    server: tuple[EndpointSpec, str] | None,
) -> str:
    """The sbatch script of ``group``.

    Args:
        invocation_dir: The invocation's folder as the cluster sees it.
        server: The planned server and its rendered line (None: the run deploys nothing).
    """
    stem = PurePosixPath(group.script).stem
    output = f"{invocation_dir}/{stem}-%j.log"
    head = [
        "#!/usr/bin/env bash",
        f"#SBATCH --job-name={job_name(config, invocation_id, group.index)}",
        *(f"#SBATCH {flag}" for flag in sbatch_flags(config, deploys=server is not None)),
        f"#SBATCH --output={output}",
        f"#SBATCH --error={output}",
        f"# NEL invocation {invocation_id}, sbatch job {group.index + 1} of {group.count}: "
        f"{len(group.job_dirs)} task(s).",
    ]
    body = [
        _PRELUDE.rstrip("\n"),
        f"cd {shlex.quote(invocation_dir)}",
        f'echo "${{SLURM_JOB_ID:-}}" > {shlex.quote(group_id_file(group.script))}',
        "jobs=(" + " ".join(shlex.quote(d) for d in group.job_dirs) + ")",
        '[ "$#" -gt 0 ] && jobs=("$@")  # a resubmission names the jobs to run again',
    ]
    if server is not None:
        body += _server_lines(server[0], server[1], f"{stem}-deployment.log")
    body += ['for dir in "${jobs[@]}"; do run_job "$dir"; done', "exit 0"]
    return "\n".join(head + body) + "\n"
