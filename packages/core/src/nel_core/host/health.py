"""Wait for a server's health path: ``python -m nel_core.host.health URL TIMEOUT [PID]``.

Exit codes: 0 healthy, 1 the server process died, 2 not healthy within the timeout. Batch
scripts (an sbatch script, a supervisor in shell) call it with the interpreter NEL runs on;
Python code calls :func:`wait_healthy` directly.
"""

from __future__ import annotations

import sys
import time

from nel_core.host.processes import running

__all__ = ["answers", "wait_healthy"]


def answers(url: str, *, timeout: float = 2.0, any_status: bool = False) -> bool:
    """Whether ``url`` answers (with 2xx, or with any HTTP status when ``any_status``)."""
    import urllib.error  # here: urllib's import is a cost every command would pay
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (local URLs)
            return 200 <= response.status < 300 or any_status
    except urllib.error.HTTPError:
        return any_status
    except (OSError, ValueError):
        return False


def wait_healthy(url: str, timeout: float, pid: int | None = None) -> int:
    """Poll ``url`` until it answers 2xx; 1 if ``pid`` dies first, 2 on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers(url):
            return 0
        if pid is not None and not running(pid):
            return 1
        time.sleep(0.1)  # a local health check is cheap; a ready server waits less
    return 2


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(wait_healthy(args[0], float(args[1]), int(args[2]) if len(args) > 2 else None))
