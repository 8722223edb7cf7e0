"""Jobs' progress on screen: a ``progress`` cell (``37/100 2.4/s ETA 26s``), its JSON fields, and
the live display of ``run --wait``.

The numbers come from :func:`nel_core.services.progress.read_progress` (the harness's own counter
in the job's ``artifacts/``). ``run --wait`` redraws its block of lines in place when it writes to
a terminal, and prints a plain, timestamped line per change otherwise (at most one every
``interval`` seconds per job, but always at once when a job changes state): no escape codes ever
reach a file or a pipe.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from nel_core.models.domain import Job
    from nel_core.services.progress import Progress

__all__ = [
    "WaitDisplay",
    "format_eta",
    "format_rate",
    "job_progress",
    "progress_cell",
    "progress_fields",
    "running_progress",
    "runs_cell",
]

#: What a reading is called in the text when it counts responses (nemo-evaluator's bare counter).
_RESPONSES = "responses"


def job_progress(job: Job) -> Progress | None:
    """The job's progress as its harness reports it in ``artifacts/``; None when it reports none."""
    from nel_core.layout import ARTIFACTS_DIR
    from nel_core.services.progress import read_progress

    if not job.job_dir:  # never read a relative "artifacts" in the working directory
        return None
    return read_progress(Path(job.job_dir) / ARTIFACTS_DIR)


def running_progress(jobs: Sequence[Job]) -> dict[str, Progress]:
    """The readings of the jobs that have not ended (by their recorded state), by job id."""
    readings = {}
    for job in jobs:
        if not job.state.is_terminal:
            reading = job_progress(job)
            if reading is not None:
                readings[job.id] = reading
    return readings


def progress_cell(progress: Progress | None, *, running: bool = True, now: float | None = None) -> str:
    """``37/100 (2 failed) 2.4/s ETA 26s`` for a running job; ``37/100`` once it has ended or
    its harness has done every sample.

    An unknown total reads ``37/?`` and gives no ETA; a zero rate says how long the counter
    has been idle instead; nemo-evaluator's bare counter reads ``37 responses``.
    """
    if progress is None:
        return "-"
    from nel_core.layout import HARNESS_COUNTER_FILE

    if progress.source == HARNESS_COUNTER_FILE:
        return f"{progress.done} {_RESPONSES}"
    parts = [f"{progress.done}/{'?' if progress.total is None else progress.total}"]
    if progress.failed:
        parts.append(f"({progress.failed} failed)")
    if not running or (progress.total is not None and progress.done >= progress.total):
        return " ".join(parts)
    if progress.rate is not None:
        parts.append(format_rate(progress.rate))
    if progress.eta is not None:
        parts.append(f"ETA {format_eta(progress.eta)}")
    elif progress.rate == 0.0 and progress.updated_at is not None:
        idle = (time.time() if now is None else now) - progress.updated_at
        parts.append(f"(idle {format_eta(max(0.0, idle))})")
    return " ".join(parts)


def format_rate(rate: float) -> str:
    """Samples per second, with two significant digits below 10/s: ``0.35/s``, ``2.4/s``, ``120/s``."""
    if rate >= 100:
        return f"{rate:.0f}/s"
    if rate >= 1 or rate == 0:
        return f"{rate:.1f}/s"
    return f"{rate:.2f}/s"


def format_eta(seconds: float) -> str:
    """``26s``, ``4m05s``, ``1h02m``."""
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def progress_fields(progress: Progress | None) -> dict[str, Any] | None:
    """The reading for ``--json``: ``done``, ``total``, ``failed``, ``rate_per_s``, ``eta_s``,
    ``updated_at`` (Unix seconds) and ``source`` (the file read); None without a reading."""
    if progress is None:
        return None
    return {
        "done": progress.done,
        "total": progress.total,
        "failed": progress.failed,
        "rate_per_s": None if progress.rate is None else round(progress.rate, 3),
        "eta_s": None if progress.eta is None else round(progress.eta, 1),
        "updated_at": progress.updated_at,
        "source": progress.source,
    }


def runs_cell(readings: Sequence[Progress]) -> str:
    """One cell for an invocation's running jobs: their sums, and the longest ETA.

    The ETA is left out when any of them has none, and the total when any of them has none.
    """
    if not readings:
        return "-"
    if len(readings) == 1:
        return progress_cell(readings[0])
    from nel_core.services.progress import Progress

    totals = [r.total for r in readings]
    etas = [r.eta for r in readings]
    rates = [r.rate for r in readings if r.rate is not None]
    combined = Progress(
        done=sum(r.done for r in readings),
        total=None if None in totals else sum(t for t in totals if t is not None),
        failed=sum(r.failed for r in readings),
        rate=sum(rates) if rates else None,
        eta=None if None in etas else max(e for e in etas if e is not None),
    )
    return f"{progress_cell(combined)} ({len(readings)} jobs)"


class WaitDisplay:
    """The jobs of ``run --wait`` as they go: redrawn in place on a terminal, plain lines elsewhere.

    Args:
        stream: Where to write (``run --wait`` uses stderr: stdout keeps the results table).
        live: Redraw in place; None decides by ``stream.isatty()`` (and ``TERM`` not ``dumb``).
        interval: Plain output: least seconds between two lines of one job in the same state.
        reader: Gives a job's progress (the harness's counter by default).
        clock: The time in seconds.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        live: bool | None = None,
        interval: float = 5.0,
        reader: Callable[[Job], Progress | None] = job_progress,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.stream = stream
        self.live = _is_terminal(stream) if live is None else live
        self.interval = interval
        self._reader = reader
        self._clock = clock
        self._drawn_rows: list[tuple[str, str, str, str]] = []  # the rows on screen (live)
        self._drawn_lines = 0  # the lines they took
        self._pending: list[tuple[str, str, str, str]] = []  # the latest rows (live)
        self._redrawn_at = 0.0
        self._printed: dict[str, tuple[str, str, float]] = {}  # job id -> (state, text, when)

    def update(self, jobs: Sequence[Job]) -> None:
        """Show the jobs' current states and progress."""
        now = self._clock()
        jobs = sorted(jobs, key=lambda job: (job.invocation_id, job.index))  # a steady order
        rows = [self._row(job, now) for job in jobs]
        if self.live:
            self._pending = rows
            # Progress alone redraws at most twice a second; a change of state at once.
            states = [row[2] for row in rows]
            if states == [row[2] for row in self._drawn_rows] and now - self._redrawn_at < 0.5:
                return
            self._redraw(rows, now)
        else:
            self._print_changes(jobs, rows, now)

    def close(self) -> None:
        """End the display: the live block stays on screen with the last states, then a new line."""
        if self.live and self._pending:
            self._redraw(self._pending, self._clock())
            self.stream.write("\n")
            self.stream.flush()
        self._pending = []

    def _row(self, job: Job, now: float) -> tuple[str, str, str, str]:
        cell = progress_cell(self._reader(job), running=not job.state.is_terminal, now=now)
        return (job.id, job.task_name, job.state.value, cell)

    def _redraw(self, rows: list[tuple[str, str, str, str]], now: float) -> None:
        if rows == self._drawn_rows:
            return
        size = shutil.get_terminal_size(fallback=(120, 24))
        # The cursor cannot go back above the screen's top: a block taller than it is cut short.
        limit = max(2, size.lines - 1)
        shown = rows if len(rows) <= limit else [*rows[: limit - 1], ("...", f"{len(rows) - limit + 1} more", "", "")]
        widths = [max(len(row[i]) for row in shown) for i in range(3)]
        out = []
        if self._drawn_lines:
            out.append(f"\x1b[{self._drawn_lines}F")  # back to the first line of the block
        for row in shown:
            line = "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[3]]).rstrip()
            # Cut to the width: a wrapped line would throw off the count of lines to go back.
            out.append("\x1b[2K" + line[: max(1, size.columns - 1)] + "\n")
        out.append("\x1b[J")  # clear whatever a longer block left below
        self.stream.write("".join(out))
        self.stream.flush()
        self._drawn_rows = rows
        self._drawn_lines = len(shown)
        self._redrawn_at = now

    def _print_changes(
        self, jobs: Sequence[Job], rows: Sequence[tuple[str, str, str, str]], now: float
    ) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(now))
        for job, row in zip(jobs, rows):
            text = "  ".join(row)
            last = self._printed.get(job.id)
            if last is not None:
                last_state, last_text, when = last
                if text == last_text or (row[2] == last_state and now - when < self.interval):
                    continue
            self.stream.write(f"[{stamp}] {text}\n")
            self._printed[job.id] = (row[2], text, now)
        self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM", "") != "dumb"
