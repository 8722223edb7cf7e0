"""The sbatch script of one job group: the model server once, the group's jobs in turn, teardown.

The script is self-contained bash for the compute node (which need not have NEL): it records its
Slurm job id in each of its jobs' folders (``slurm.id``), queues its own successor (auto-resume,
below), starts the server (when the run deploys one) in its own process group, waits for the
health path with curl until the readiness timeout, then runs each job's ``run.sh`` (core's job
script, which writes the stage markers) with its output in the job's ``job.log``. A job that has
already ended (in an earlier link) is not run again; a job whose ``stage.killed`` marker appears
is stopped alone and the others go on. On exit, TERM or INT, the running job and the server are
stopped. When the server does not come up, every job of the group is marked failed with the
reason.

Auto-resume: while the total time of the chain stays within ``max_walltime``, each link queues
the next one as soon as it starts (``--dependency=afternotok:<itself>``, ``--kill-on-invalid-dep``):
when the link ends in TIMEOUT, PREEMPTED or NODE_FAIL, Slurm starts the successor, which runs the
jobs that did not end (the harness resumes from its response cache in ``artifacts/``); when the
link completes, Slurm drops the successor. Every link's id is appended to each job's
``slurm.chain``, so that status follows the newest link and kill cancels them all.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

import attrs

from nel_core.layout import EXIT, JOB_LOG, KILLED, PRE_START, REASON, RUN_SCRIPT, RUNNING
from nel_core.models.domain import EndpointSpec
from nel_executor_slurm.config import SlurmExecutionConfig

__all__ = [
    "CHAIN_FILE",
    "CURRENT_FILE",
    "PROXY_CONFIG",
    "Deployment",
    "SbatchGroup",
    "chain_links",
    "job_name",
    "render_sbatch",
    "sbatch_flags",
    "walltime_seconds",
]

#: In each job's folder: the Slurm job ids of its chain, one per line, oldest first.
CHAIN_FILE = "slurm.chain"
#: In each job's folder: the Slurm job id of the link that runs (or ran) it last.
CURRENT_FILE = "slurm.id"


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


def walltime_seconds(text: str) -> int:
    """Seconds of a Slurm time limit (``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH[:MM[:SS]]``).

    Raises:
        ValueError: when ``text`` is not a Slurm time.
    """
    days, _, rest = text.strip().rpartition("-")
    parts = [int(p) for p in rest.split(":")]
    if not parts or len(parts) > 3 or (days and not days.isdigit()) or any(p < 0 for p in parts):
        raise ValueError(text)
    if days:  # D-HH, D-HH:MM, D-HH:MM:SS
        hours, minutes, seconds = (parts + [0, 0])[:3]
        return int(days) * 86400 + hours * 3600 + minutes * 60 + seconds
    if len(parts) == 1:
        return parts[0] * 60  # minutes
    if len(parts) == 2:
        return parts[0] * 60 + parts[1]
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def chain_links(config: SlurmExecutionConfig) -> int:
    """How many sbatch jobs one chain may use: ``max_walltime`` over ``walltime`` (at least 1)."""
    return max(1, walltime_seconds(config.max_walltime) // max(1, walltime_seconds(config.walltime)))


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
servers=()
current=""
stop_group() {  # TERM a process group, KILL what is left after 10 s
  kill -TERM -- "-$1" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 -- "-$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$1" 2>/dev/null || true
}
teardown() {
  if [ -n "$current" ]; then stop_group "$current"; fi
  for s in "${servers[@]}"; do stop_group "$s"; done
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
  if [ -e "$dir/@KILLED@" ] || [ -e "$dir/@EXIT@" ]; then return 0; fi
  setsid bash "$dir/@RUN@" >> "$dir/@LOG@" 2>&1 < /dev/null &
  current=$!
  while kill -0 "$current" 2>/dev/null; do
    if [ -e "$dir/@KILLED@" ]; then stop_group "$current"; fi
    sleep 1
  done
  wait "$current"
  current=""
}
start_link() {  # this link's id in each job; stale markers of an interrupted link go; the successor is queued
  local dir links todo=0
  for dir in "${jobs[@]}"; do
    if [ -d "$dir" ] && [ ! -e "$dir/@EXIT@" ] && [ ! -e "$dir/@KILLED@" ]; then todo=1; fi
  done
  if [ "$todo" = 0 ]; then exit 0; fi  # nothing left to run (all ended, killed, or removed): the chain ends
  for dir in "${jobs[@]}"; do  # a job that ended keeps the id of the link that ran it
    if [ ! -e "$dir/@EXIT@" ]; then
      echo "${SLURM_JOB_ID:-}" > "$dir/@CURRENT@"
      rm -f "$dir/@PRE_START@" "$dir/@RUNNING@"
    fi
  done
  links=$(grep -c . "${jobs[0]}/@CHAIN@" 2>/dev/null); links=${links:-0}
  if [ -n "${SLURM_JOB_ID:-}" ] && [ "$links" -lt "$1" ]; then
    next=$(sbatch --parsable --dependency="afternotok:$SLURM_JOB_ID" --kill-on-invalid-dep=yes "$2" "${jobs[@]}") \
      && for dir in "${jobs[@]}"; do echo "${next%%;*}" >> "$dir/@CHAIN@"; done
  fi
}
"""
_NAMES = {
    "@EXIT@": EXIT, "@KILLED@": KILLED, "@REASON@": REASON, "@RUN@": RUN_SCRIPT, "@LOG@": JOB_LOG,
    "@PRE_START@": PRE_START, "@RUNNING@": RUNNING, "@CHAIN@": CHAIN_FILE, "@CURRENT@": CURRENT_FILE,
}  # fmt: skip
for _name, _value in _NAMES.items():
    _PRELUDE = _PRELUDE.replace(_name, _value)


@attrs.frozen(kw_only=True)
class Deployment:
    """The model server of an sbatch job, rendered: one line per instance, and the proxy's.

    Args:
        spec: The planned server.
        instances: Each instance's line (the first's, or the only one's, runs on the job's first node).
        nodes_per_instance: Nodes of each instance (the first of them answers its health path).
        proxy: haproxy's line, in front of several instances (None: one instance, reached directly).
        proxy_config: haproxy's settings (``execution.proxy.config``).
    """

    spec: EndpointSpec
    instances: list[str]
    nodes_per_instance: int = 1
    proxy: str | None = None
    proxy_config: dict[str, Any] = attrs.Factory(dict)


@attrs.frozen(kw_only=True)
class Auxiliary:
    """An auxiliary server of an sbatch job (``auxiliary_deployments.<name>``: a judge, ...), rendered.

    It runs once per sbatch job beside the model server, on the job's first node, and the jobs
    reach it at ``NEL_AUXILIARY_<NAME>_URL``.
    """

    name: str
    spec: EndpointSpec
    line: str


#: haproxy's config, written by the job once it knows its nodes (NeMo Evaluator Launcher's layout).
_HAPROXY = """global
    maxconn 4096
defaults
    mode http
    timeout connect 10s
    timeout client 100000s
    timeout server 100000s
frontend service_frontend
    bind *:{port}
    default_backend service_backend
backend service_backend
    option httpchk GET {health}
    http-check expect status {status}
    option http-server-close
    balance leastconn
{servers}"""

PROXY_CONFIG = "proxy.cfg"


def _wait_healthy(url: str, pids: str, exited: str, unhealthy: str) -> list[str]:
    return [
        f"until curl --silent --fail --output /dev/null --max-time 5 {url}; do",
        f'  for p in {pids}; do kill -0 "$p" 2>/dev/null || {{ fail_jobs {shlex.quote(exited)}; exit 1; }}; done',
        f'  if [ "$(date +%s)" -ge "$deadline" ]; then fail_jobs {shlex.quote(unhealthy)}; exit 1; fi',
        "  sleep 2",
        "done",
    ]


def _background(line: str, log: str) -> list[str]:
    """Start ``line`` in its own process group, logging to ``log``; the teardown stops it."""
    return [f"setsid bash -c {shlex.quote(line)} >> {shlex.quote(log)} 2>&1 < /dev/null &", "servers+=($!)"]


def _server_lines(deployment: Deployment, log: str) -> list[str]:
    spec = deployment.spec
    timeout = int(spec.readiness_timeout)
    unhealthy = f"the {spec.type} deployment was not healthy within {timeout}s (see {log})"
    exited = f"the {spec.type} deployment exited before it became healthy (see {log})"
    count = len(deployment.instances)
    lines = [
        f"# The model server ({spec.type}), started once for every job of this sbatch job"
        + (f": {count} instances behind haproxy." if count > 1 else "."),
        f'echo "[nel] starting the {spec.type} server on $(hostname)" >> {shlex.quote(log)}',
        f"deadline=$(( $(date +%s) + {timeout} ))",
    ]
    if count == 1:
        lines += _background(deployment.instances[0], log)
        url = shlex.quote(f"http://127.0.0.1:{spec.port}{spec.health_path}")
        return lines + _wait_healthy(url, '"${servers[@]}"', exited, unhealthy)
    k = deployment.nodes_per_instance
    lines.append('mapfile -t nodes < <(scontrol show hostnames "${SLURM_JOB_NODELIST:-$(hostname)}")')
    for line in deployment.instances:
        lines += _background(line, log)
    for index in range(count):
        url = f'"http://${{nodes[{index * k}]}}:{spec.port}{spec.health_path}"'
        lines += _wait_healthy(url, '"${servers[@]}"', exited, unhealthy)
    settings = deployment.proxy_config
    port = int(settings.get("haproxy_port", 5009))
    health = str(settings.get("health_check_path", "/health"))
    backends = "\n".join(f"    server node{i + 1} ${{nodes[{i * k}]}}:{spec.port} check" for i in range(count))
    config = _HAPROXY.format(port=port, health=health, status=settings.get("health_check_status", 200),
                             servers=backends)  # fmt: skip
    lines += [
        f"cat > {PROXY_CONFIG} <<NEL_PROXY_CFG\n{config}\nNEL_PROXY_CFG",
        f'echo "[nel] starting haproxy on $(hostname):{port} for {count} instances" >> {shlex.quote(log)}',
        *_background(deployment.proxy or "", log),
    ]
    return lines + _wait_healthy(shlex.quote(f"http://127.0.0.1:{port}{health}"), '"${servers[@]}"', exited,
                                 unhealthy)  # fmt: skip


def _auxiliary_lines(auxiliary: Auxiliary, log: str) -> list[str]:
    spec = auxiliary.spec
    timeout = int(spec.readiness_timeout)
    what = f"the auxiliary deployment {auxiliary.name} ({spec.type})"
    url = shlex.quote(f"http://127.0.0.1:{spec.port}{spec.health_path}")
    return [
        f"# Auxiliary deployment {auxiliary.name} ({spec.type}), started once for every job of this sbatch job.",
        f'echo "[nel] starting {what} on $(hostname)" >> {shlex.quote(log)}',
        f"deadline=$(( $(date +%s) + {timeout} ))",
        *_background(auxiliary.line, log),
        *_wait_healthy(url, "$!", f"{what} exited before it became healthy (see {log})",
                       f"{what} was not healthy within {timeout}s (see {log})"),  # fmt: skip
    ]


def render_sbatch(
    config: SlurmExecutionConfig,
    *,
    invocation_id: str,
    invocation_dir: str,
    group: SbatchGroup,
    server: Deployment | None,
    auxiliaries: Sequence[Auxiliary] = (),
) -> str:
    """The sbatch script of ``group``.

    Args:
        invocation_dir: The invocation's folder as the cluster sees it.
        server: The rendered model server (None: the run deploys nothing).
        auxiliaries: The auxiliary servers, started after the model server.
    """
    stem = PurePosixPath(group.script).stem
    output = f"{invocation_dir}/{stem}-%j.log"
    head = [
        "#!/usr/bin/env bash",
        f"#SBATCH --job-name={job_name(config, invocation_id, group.index)}",
        *(f"#SBATCH {flag}" for flag in sbatch_flags(config, deploys=server is not None or bool(auxiliaries))),
        f"#SBATCH --output={output}",
        f"#SBATCH --error={output}",
        f"# NEL invocation {invocation_id}, sbatch job {group.index + 1} of {group.count}: "
        f"{len(group.job_dirs)} task(s).",
    ]
    body = [
        _PRELUDE.rstrip("\n"),
        f"cd {shlex.quote(invocation_dir)} || exit 0  # the invocation was removed: nothing to run",
        "jobs=(" + " ".join(shlex.quote(d) for d in group.job_dirs) + ")",
        'if [ "$#" -gt 0 ]; then jobs=("$@"); fi  # a resubmission names the jobs to run again',
        f"# Auto-resume: at most {chain_links(config)} sbatch jobs of {config.walltime} in all (max_walltime "
        f"{config.max_walltime}).",
        f"start_link {chain_links(config)} {shlex.quote(group.script)}",
    ]
    if server is not None:
        body += _server_lines(server, f"{stem}-deployment.log")
    for auxiliary in auxiliaries:
        body += _auxiliary_lines(auxiliary, f"{stem}-{auxiliary.name}.log")
    body += ['for dir in "${jobs[@]}"; do run_job "$dir"; done', "exit 0"]
    return "\n".join(head + body) + "\n"
