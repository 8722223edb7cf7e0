"""Detached process groups on this host, named by handles that survive pid reuse.

A handle is ``<pid>:<start time>`` (the start time from /proc, in clock ticks since boot), so a
recycled pid is never taken for the supervisor it replaced.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["alive", "handle_of", "running", "signal_group", "spawn_detached", "stop_group"]


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; fields after its closing ')' are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie has ended
        return None
    return fields[19]


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie has ended)."""
    return _start_time(pid) is not None


def handle_of(pid: int) -> str:
    """The handle of a running process."""
    return f"{pid}:{_start_time(pid) or 0}"


def _parse(handle: str) -> tuple[int, str]:
    pid, _, start = handle.partition(":")
    return int(pid), start


def alive(handle: str) -> bool:
    """Whether the process named by ``handle`` still runs."""
    try:
        pid, start = _parse(handle)
    except ValueError:
        return False
    return _start_time(pid) == start


def spawn_detached(argv: Sequence[str], *, cwd: Path, log: Path, env: dict[str, str] | None = None) -> str:
    """Start ``argv`` in a new session (it outlives this process); return its handle."""
    with open(log, "ab") as out:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    return handle_of(process.pid)


def signal_group(handle: str, sig: int) -> bool:
    """Send ``sig`` to the process group led by ``handle``; False when it is gone."""
    if not alive(handle):
        return False
    pid, _ = _parse(handle)
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return False
    return True


def stop_group(handle: str, *, grace: float = 10.0) -> None:
    """SIGTERM the group, then SIGKILL whatever is left after ``grace`` seconds."""
    pid, _ = _parse(handle)
    if not signal_group(handle, signal.SIGTERM):
        _kill_leftovers(pid)
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and alive(handle):
        time.sleep(0.1)
    _kill_leftovers(pid)


def _kill_leftovers(pgid: int) -> None:
    # Children may outlive their leader; the group id still names them.
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
