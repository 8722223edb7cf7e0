"""A running job's progress, from the harness's own counter: samples done of the total, rate, ETA.

The reader looks only at the job's results folder (``artifacts/``, the harness's output dir), so
every executor whose artifacts are on this host gets it, whatever runs the job. It understands
two counters:

- ``progress.json`` (:data:`nel_core.layout.PROGRESS_FILE`), written atomically as samples
  finish (NEL's own benchmark writes it; any harness may): ``done``, ``total``, ``failed``,
  ``started_at`` and ``updated_at`` (Unix seconds), and ``recent``, ``[[time, done], ...]``
  points over the last minute or so, from which the rate is taken;
- ``progress`` (:data:`nel_core.layout.HARNESS_COUNTER_FILE`), nemo-evaluator's
  ``progress_tracking`` interceptor's bare count of the responses its proxy has passed: the
  count alone (no total, so no ETA; no times, so no rate).

The rate is taken over the last :data:`RATE_WINDOW` seconds up to now, not since the start: a
job whose endpoint stalls stops writing, and its rate falls (to zero once the window has passed
its last write) while its ETA grows (and becomes unknown at zero). An unknown total gives no ETA.
"""

from __future__ import annotations

import json
import math
import time
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from nel_core.layout import HARNESS_COUNTER_FILE, PROGRESS_FILE

__all__ = ["MIN_SPAN", "RATE_WINDOW", "Progress", "progress_from", "read_progress"]

#: Seconds of recent history the rate is taken over.
RATE_WINDOW = 30.0
#: Below this many seconds of history the rate is not known yet (one sample would look like a flood).
MIN_SPAN = 1.0


@attrs.frozen(kw_only=True)
class Progress:
    """How far a job's harness has got, by its own count.

    Args:
        done: Samples finished (answered or failed), at most ``total`` when that is known.
        total: Samples the harness will run; None when it does not say.
        failed: Of ``done``, the samples whose request failed.
        rate: Samples per second over the recent window; None when it cannot be known.
        eta: Seconds until ``done`` reaches ``total`` at ``rate``; None without a known total
            or a positive rate (0 once done).
        updated_at: When the harness last wrote its counter (Unix seconds), if known.
        source: The file the numbers come from.
    """

    done: int
    total: int | None = None
    failed: int = 0
    rate: float | None = None
    eta: float | None = None
    updated_at: float | None = None
    source: str = PROGRESS_FILE


def read_progress(
    results_dir: Path, *, now: float | None = None, window: float = RATE_WINDOW
) -> Progress | None:
    """The progress a job's harness reports in ``results_dir``; None when it reports none.

    ``progress.json`` wins over nemo-evaluator's bare ``progress`` count when both are there.
    A file that cannot be read or makes no sense counts as absent: progress is a hint, and a
    status command never fails for it.
    """
    moment = time.time() if now is None else now
    document = _load_json(results_dir / PROGRESS_FILE)
    if document is not None:
        reading = progress_from(document, now=moment, window=window)
        if reading is not None:
            return reading
    return _bare_count(results_dir / HARNESS_COUNTER_FILE)


def progress_from(
    document: Mapping[str, object], *, now: float, window: float = RATE_WINDOW
) -> Progress | None:
    """The progress ``document`` (a ``progress.json`` as parsed) describes, seen at ``now``.

    Returns None when ``document`` has no usable ``done``. Out-of-range numbers are clamped
    (``done`` to the total, ``failed`` to ``done``) and ``recent`` points that are not pairs of
    numbers are skipped.
    """
    done = _count(document.get("done"))
    if done is None:
        return None
    total = _count(document.get("total"))
    if total is not None:
        done = min(done, total)
    failed = min(_count(document.get("failed")) or 0, done)
    updated_at = _time(document.get("updated_at"))
    points = _points(document, done, updated_at)
    rate = _rate(points, now=now, window=window)
    return Progress(
        done=done,
        total=total,
        failed=failed,
        rate=rate,
        eta=_eta(done, total, rate),
        updated_at=updated_at if updated_at is not None else (points[-1][0] if points else None),
    )


def _points(
    document: Mapping[str, object], done: int, updated_at: float | None
) -> list[tuple[float, int]]:
    """The ``(time, done)`` history, sorted, never above ``done`` and never going down."""
    raw: list[tuple[float, int]] = []
    started_at = _time(document.get("started_at"))
    if started_at is not None:
        raw.append((started_at, 0))
    recent = document.get("recent")
    if isinstance(recent, list):
        for entry in recent:
            if isinstance(entry, (list, tuple)) and len(entry) == 2:
                moment, count = _time(entry[0]), _count(entry[1])
                if moment is not None and count is not None:
                    raw.append((moment, min(count, done)))
    if updated_at is not None:
        raw.append((updated_at, done))
    raw.sort()
    points: list[tuple[float, int]] = []
    highest = 0
    for moment, count in raw:
        # A count never goes down: a point below an earlier one is taken as that earlier count.
        highest = max(highest, count)
        points.append((moment, highest))
    return points


def _rate(points: Sequence[tuple[float, int]], *, now: float, window: float) -> float | None:
    """Samples per second over ``[now - window, now]``, the history read as a piecewise-linear
    count that stays flat after its last point."""
    if not points:
        return None
    first, last = points[0], points[-1]
    now = max(now, last[0])  # a clock a little behind the writer's must not run time backwards
    start = now - window
    if start <= first[0]:  # the history is younger than the window: take all of it
        start = first[0]
    if now - start < MIN_SPAN:
        return None
    rate = (last[1] - _count_at(points, start)) / (now - start)
    return max(0.0, rate) if math.isfinite(rate) else None


def _count_at(points: Sequence[tuple[float, int]], moment: float) -> float:
    """The count at ``moment``, interpolated between the points around it."""
    index = bisect_right([p[0] for p in points], moment)
    if index == 0:
        return float(points[0][1])
    if index == len(points):
        return float(points[-1][1])
    (t0, c0), (t1, c1) = points[index - 1], points[index]
    return c0 + (c1 - c0) * (moment - t0) / (t1 - t0)


def _eta(done: int, total: int | None, rate: float | None) -> float | None:
    if total is None:
        return None
    if done >= total:
        return 0.0
    if rate is None or rate <= 0:
        return None
    return (total - done) / rate


def _count(value: object) -> int | None:
    """A non-negative whole number, or None (booleans and fractions are not counts)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    return None


def _time(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _load_json(path: Path) -> Mapping[str, object] | None:
    try:
        document: object = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _bare_count(path: Path) -> Progress | None:
    """nemo-evaluator's ``progress``: a count and its file's time, nothing else."""
    try:
        text = path.read_text(encoding="utf-8").strip()
        updated_at = path.stat().st_mtime
    except (OSError, UnicodeDecodeError):
        return None
    if not (text.isascii() and text.isdigit()):
        return None
    return Progress(done=int(text), updated_at=updated_at, source=HARNESS_COUNTER_FILE)
