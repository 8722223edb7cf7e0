"""Run one job's container in the foreground: ``python -m nel_executor_local.container_job FILE``.

``FILE`` (a job's ``container.json``) holds ``{"runtime": NAME, "docker_host": ..., "spec": <ContainerSpec>}``;
the runtime (one that declares DIRECT_RUN) is found by name in the ``nel.runtimes`` registry and
driven through its port only.
The container gets the values of the spec's env names from this process's environment; its
output is copied to stdout as it comes; the exit code is the container's. SIGTERM or SIGINT
stops and removes the container, then exits 143. The container is always removed at the end,
after its logs have been read.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from nel_core.errors import NelError
from nel_core.models.domain import ContainerSpec, Mount
from nel_core.plugins import load_runtime
from nel_core.ports.container_runtime import ContainerRuntime
from nel_core.store import default_home

__all__ = ["main"]

_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: Exit code when the engine could not run the container at all (as `docker run` does).
ENGINE_FAILED = 125
#: Exit code after SIGTERM/SIGINT (128 + SIGTERM).
INTERRUPTED = 143
#: Seconds the log copy may go on after the container has exited.
_LOG_GRACE = 5.0


class _Interrupted(BaseException):
    """Raised by the signal handler; a BaseException, so that no `except Exception` swallows it."""


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise _Interrupted(signum)


def _spec(data: dict[str, Any]) -> ContainerSpec:
    # Built by hand: core's converter has no hook for the ``int | str | None`` of ``gpus``.
    mounts = [Mount(**mount) for mount in data.get("mounts", [])]
    return ContainerSpec(**{**data, "mounts": mounts})


def _copy_logs(runtime: ContainerRuntime, handle: str) -> None:
    try:
        for chunk in runtime.logs(handle, follow=True):
            sys.stdout.write(chunk)
            sys.stdout.flush()
    except NelError as exc:
        _say(f"warning: the container's log stream ended: {exc.message}")


def _say(message: str) -> None:
    print(f"[nel] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the container described by ``argv[0]`` and return the exit code to exit with."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        _say("usage: python -m nel_executor_local.container_job CONTAINER_JSON")
        return 2
    try:
        data = json.loads(Path(args[0]).read_text())
        spec = _spec(data["spec"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _say(f"error: cannot read {args[0]}: {exc}")
        return 2
    try:
        options = {"docker_host": data.get("docker_host"), "home": str(default_home())}
        runtime = load_runtime(str(data.get("runtime", "docker"))).factory(options)
    except NelError as exc:
        _say(f"error: {exc.message}")
        return ENGINE_FAILED
    handle = None
    # Signals wait until the container's id is known, so that no container escapes cleanup.
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    for signum in _SIGNALS:
        signal.signal(signum, _interrupt)
    try:
        try:
            handle = runtime.run(spec)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
        # The exit code decides; the log stream only follows. Podman's stream may stay open
        # after the container has exited, so it is copied by a thread given a short grace.
        copier = threading.Thread(target=_copy_logs, args=(runtime, handle), daemon=True)
        copier.start()
        code = runtime.wait(handle)
        copier.join(_LOG_GRACE)
        return code if 0 <= code <= 255 else 1
    except _Interrupted as exc:
        _say(f"signal {exc.args[0]}: stopping the container")
        return INTERRUPTED
    except NelError as exc:
        _say(f"error: {exc.message}")
        return ENGINE_FAILED
    finally:
        for signum in _SIGNALS:  # a second signal must not cut the cleanup short
            signal.signal(signum, signal.SIG_IGN)
        if handle is not None:
            try:
                runtime.stop(handle)
            except NelError as exc:
                _say(f"error: cannot remove container {handle[:12]}: {exc.message}")


if __name__ == "__main__":
    sys.exit(main())
