"""A Scheduler of this host: scripts run detached, in their own sessions, outliving the CLI.

A handle is ``<pid>:<start time>@<script>``: the process (safe against pid reuse) and the
script it runs, so any later process can answer for it. Beside the script, the scheduler keeps
its log (``<script stem>.log`` unless named), ``<script stem>.exit`` (its exit code, written
when it ends) and ``<script stem>.cancelled`` (written by :meth:`HostScheduler.cancel`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

from nel_core.errors import SchedulingError
from nel_core.host.processes import alive, spawn_detached, stop_group
from nel_core.models.domain import JobState, StateReport
from nel_core.ports.capabilities import Capability
from nel_core.ports.scheduler import RenderedJob, Scheduler

__all__ = ["HostScheduler", "handle_file"]

# Records its own handle first (so the job can be found even if the submitting process dies
# before it hears of it), runs the script, then records its exit code atomically (a SIGKILL
# of the group leaves none).
_WRAPPER = (
    'printf "%s:%s@%s\\n" $$ "$(cut -d" " -f22 /proc/$$/stat)" "$1" > "$NEL_HANDLE.tmp" '
    '&& mv "$NEL_HANDLE.tmp" "$NEL_HANDLE"; '
    'bash "$@"; rc=$?; echo "$rc" > "$NEL_EXIT.tmp" && mv "$NEL_EXIT.tmp" "$NEL_EXIT"; exit "$rc"'
)


def handle_file(script: Path) -> Path:
    """Where the process running ``script`` records its own handle as soon as it starts."""
    return script.with_name(script.stem + ".handle")


def _files(script: Path, log_name: str | None) -> tuple[Path, Path, Path]:
    return (
        script.with_name(log_name or script.stem + ".log"),
        script.with_name(script.stem + ".exit"),
        script.with_name(script.stem + ".cancelled"),
    )


def _parse(handle: str) -> tuple[str, Path] | None:
    process, at, script = handle.partition("@")
    if not at or ":" not in process or not script:
        return None
    return process, Path(script)


class HostScheduler(Scheduler):
    """Runs each submitted script detached (it outlives the CLI) and tracks it by its handle.

    Args:
        log_name: The file, beside the script, that receives its output (default
            ``<script stem>.log``; ``job.log`` for a job's own ``run.sh``).
    """

    name: ClassVar[str] = "host"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.LOG_STREAMING})

    def __init__(self, *, log_name: str | None = None) -> None:
        self.log_name = log_name

    def submit(self, job: RenderedJob) -> str:
        log, exit_file, cancelled = _files(job.script, self.log_name)
        exit_file.unlink(missing_ok=True)
        cancelled.unlink(missing_ok=True)
        argv = ["bash", "-c", _WRAPPER, "nel-local", str(job.script), *job.arguments]
        handle_file(job.script).unlink(missing_ok=True)
        env = {**os.environ, "NEL_EXIT": str(exit_file), "NEL_HANDLE": str(handle_file(job.script))}
        try:
            process = spawn_detached(argv, cwd=job.job_dir, log=log, env=env)
            handle = f"{process}@{job.script}"
            # Written here too, so that it exists once submit() returns (the process writes its
            # own as it starts, for a submitter killed before this line).
            temp = job.script.with_name(f".{job.script.stem}.handle.{os.getpid()}")
            temp.write_text(handle + "\n")
            os.replace(temp, handle_file(job.script))
        except OSError as exc:
            raise SchedulingError(f"cannot start {job.script}: {exc}") from exc
        return handle

    def find(self, script: Path) -> str:
        """The handle the process running ``script`` recorded itself as it started ("" if none)."""
        try:
            return handle_file(script).read_text().strip()
        except OSError:
            return ""

    def states(self, handles: Sequence[str]) -> dict[str, StateReport]:
        return {handle: self._state(handle) for handle in handles}

    def _state(self, handle: str) -> StateReport:
        parsed = _parse(handle)
        if parsed is None or not parsed[1].parent.is_dir():
            return StateReport(state=JobState.UNKNOWN, reason=f"no local job {handle!r}")
        process, script = parsed
        if alive(process):
            return StateReport(state=JobState.RUNNING)
        _, exit_file, cancelled = _files(script, self.log_name)
        if cancelled.exists():
            return StateReport(state=JobState.KILLED, reason="cancelled")
        try:
            code = int(exit_file.read_text().strip())
        except (OSError, ValueError):
            return StateReport(state=JobState.FAILED, reason=f"{script.name} ended without an exit status")
        if code == 0:
            return StateReport(state=JobState.SUCCESS, exit_code=0)
        return StateReport(state=JobState.FAILED, reason=f"{script.name} exited with code {code}", exit_code=code)

    def cancel(self, handle: str) -> None:
        parsed = _parse(handle)
        if parsed is None:
            return
        process, script = parsed
        if alive(process):
            _files(script, self.log_name)[2].write_text(f"{time.time():.0f}\n")
        stop_group(process)

    def logs(self, handle: str, *, follow: bool = False) -> Iterator[str]:
        parsed = _parse(handle)
        if parsed is None:
            raise SchedulingError(f"no local job {handle!r}")
        process, script = parsed
        log = _files(script, self.log_name)[0]
        position = 0
        while True:
            running = alive(process)
            if log.exists():
                with open(log, errors="replace") as stream:
                    stream.seek(position)
                    chunk = stream.read()
                    position = stream.tell()
                if chunk:
                    yield chunk
            if not follow or not running:
                return
            time.sleep(0.2)
