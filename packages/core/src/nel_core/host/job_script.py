"""The entry script of one job: stage markers, secrets sourced, the harness command.

Any executor whose jobs run a shell script (a local supervisor, an sbatch script, a cloud job)
renders it with :func:`render_job_script`; the markers it writes are read back by
:func:`nel_core.services.stages.read_markers`.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from nel_core.layout import ADAPTER_PORT_VARIABLE, JOB_PID, SECRETS_FILE
from nel_core.models.domain import JobSpec
from nel_core.services.stages import marker_snippets

__all__ = ["adapter_port_line", "render_job_script"]


def adapter_port_line(python: str = "python3") -> str:
    """A shell line exporting ``ADAPTER_PORT``: a free port of the host the job runs on.

    Args:
        python: The interpreter that picks the port on that host.
    """
    pick = "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])"
    return f"export {ADAPTER_PORT_VARIABLE}=\"$({shlex.quote(python)} -c '{pick}')\""


def render_job_script(
    spec: JobSpec, job_dir: str, run_lines: Sequence[str], env_lines: Sequence[str] = ()
) -> str:
    """The entry script of one job. It sources ``secrets.env``; no secret value appears in it.

    Args:
        spec: The job (its pre_cmd and post_cmd run around the command).
        job_dir: The job's directory as the script sees it (it starts there).
        run_lines: Shell lines that run the harness; the exit code of the last one is the job's.
        env_lines: Shell lines run after the secrets are sourced (exports, PATH, ...).
    """
    markers = marker_snippets(job_dir)
    lines = [
        "#!/usr/bin/env bash",
        f"# NEL job {spec.index}: {spec.task_name}",
        "set -uo pipefail",
        f"cd {shlex.quote(job_dir)}",
        markers["pre_start"],
        # pid:start-time of this job's process group leader, for `nel kill <job>`.
        f"echo \"$$:$(awk '{{print $22}}' /proc/$$/stat)\" > {JOB_PID}",
        f"set -a; . ./{SECRETS_FILE}; set +a",
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
