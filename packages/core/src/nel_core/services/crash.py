"""Crash points: where a test may make the running process die as a SIGKILL would.

The launch's crash-safety is tested by killing the launching process at each of its steps,
deterministically: with ``NEL_TEST_CRASH_AT=<point>`` in its environment, the process SIGKILLs
itself when it reaches that point. Outside such tests this is one environment lookup.
"""

from __future__ import annotations

import os
import signal
import sys

__all__ = ["CRASH_POINTS", "crash_point"]

#: The launch's steps, in order (see :mod:`nel_core.services.launch`).
CRASH_POINTS = ("recorded", "writing", "written", "submitted", "handles")


def crash_point(point: str) -> None:
    """Die here, as a SIGKILL would, when this process was told to (``NEL_TEST_CRASH_AT``)."""
    if os.environ.get("NEL_TEST_CRASH_AT") == point:
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)
