"""The runner's progress file: ``progress.json`` in the output dir, replaced atomically as it goes.

A launcher reads it while the run is under way (NEL's ``status`` does) to show how many samples
are done of the total, the rate and an ETA. The file holds one JSON object:

- ``done``: samples finished (answered, or failed after their retries);
- ``total``: samples this run sends;
- ``failed``: of ``done``, the samples whose request failed;
- ``started_at``, ``updated_at``: Unix times in seconds (the run's start, this write);
- ``recent``: ``[[time, done], ...]``, oldest first, about one point a second over the last
  minute, so that a reader can compute a rate over a recent window from one read: a run whose
  endpoint stalls shows a falling rate even though its file stops changing.

nemo-evaluator's own ``progress`` file (written by its ``progress_tracking`` interceptor when
enabled) holds a bare count of proxied responses; this file keeps out of its way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

from .files import replace_text

__all__ = ["ProgressDocument", "ProgressFile"]


class ProgressDocument(TypedDict):
    """What ``progress.json`` holds."""

    done: int
    total: int
    failed: int
    started_at: float
    updated_at: float
    recent: list[list[float]]


class ProgressFile:
    """Counts finished samples and rewrites the progress file, at most every ``interval`` s.

    Not thread-safe: the runner calls it from the one thread that collects the samples.

    Args:
        path: The file to write (``<output_dir>/progress.json``).
        total: Samples the run sends.
        clock: Wall-clock time in seconds (a reader in another process compares it to its own).
        interval: Least time between two writes; ``flush`` writes a pending count once it is due.
        history: How far back ``recent`` reaches, in seconds.
    """

    def __init__(
        self,
        path: Path,
        total: int,
        *,
        clock: Callable[[], float] = time.time,
        interval: float = 0.5,
        history: float = 60.0,
    ) -> None:
        self.path = path
        self.total = total
        self.done = 0
        self.failed = 0
        self._clock = clock
        self._interval = interval
        self._history = history
        self._started_at = clock()
        self._written_at: float | None = None
        self._dirty = True
        self._recent: list[list[float]] = []

    def count(self, *, failed: bool) -> None:
        """Count one finished sample (not written until the next ``flush``)."""
        self.done += 1
        self.failed += int(failed)
        self._dirty = True

    def flush(self, *, force: bool = False) -> None:
        """Write the file when something changed and the last write is ``interval`` old."""
        now = self._clock()
        due = self._written_at is None or now - self._written_at >= self._interval
        if self._dirty and (due or force):
            self._write(now)

    def _write(self, now: float) -> None:
        point = [round(now, 3), self.done]
        # About one point a second: while the last point is less than a second after the one
        # before it, a newer write replaces it (so the last point is always this write).
        if len(self._recent) > 1 and self._recent[-1][0] - self._recent[-2][0] < 1.0:
            self._recent[-1] = point
        else:
            self._recent.append(point)
        cutoff = now - self._history
        while len(self._recent) > 2 and self._recent[1][0] <= cutoff:
            # Keep one point at or before the cutoff: a window reaching back that far has a base.
            self._recent.pop(0)
        document: ProgressDocument = {
            "done": self.done,
            "total": self.total,
            "failed": self.failed,
            "started_at": round(self._started_at, 3),
            "updated_at": round(now, 3),
            "recent": self._recent,
        }
        replace_text(self.path, json.dumps(document, separators=(",", ":")) + "\n")
        self._written_at = now
        self._dirty = False
