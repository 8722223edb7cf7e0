"""The progress reader: samples done of the total, a rate over a recent window, and an ETA."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nel_core.layout import HARNESS_COUNTER_FILE, PROGRESS_FILE
from nel_core.services.progress import MIN_SPAN, RATE_WINDOW, Progress, progress_from, read_progress

START = 1_700_000_000.0


def _steady(done: int, total: int | None, per_second: float = 2.0, failed: int = 0) -> dict[str, Any]:
    """A document of a run that finished ``per_second`` samples every second since START."""
    seconds = int(done / per_second)
    recent = [[START + s, int(s * per_second)] for s in range(seconds + 1)]
    return {"done": done, "total": total, "failed": failed, "started_at": START,
            "updated_at": START + seconds, "recent": recent}  # fmt: skip


def _write(results_dir: Path, document: object) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / PROGRESS_FILE
    path.write_text(json.dumps(document))
    return path


def test_no_counter_means_no_progress(tmp_path: Path) -> None:
    """A results folder without a progress file (or with none at all) gives None."""
    assert read_progress(tmp_path) is None
    assert read_progress(tmp_path / "missing") is None


def test_a_steady_run_gives_its_rate_and_the_time_left(tmp_path: Path) -> None:
    """60 of 100 done at 2 per second: rate 2/s, ETA 20 s, the failures and times passed on."""
    _write(tmp_path, _steady(60, 100, failed=3))
    progress = read_progress(tmp_path, now=START + 30)
    assert progress == Progress(done=60, total=100, failed=3, rate=2.0, eta=20.0, updated_at=START + 30)


def test_a_stalled_run_shows_a_falling_rate_then_no_eta(tmp_path: Path) -> None:
    """After its last write the rate falls over the window, the ETA grows, and past the
    window the rate is zero and the ETA unknown."""
    _write(tmp_path, _steady(60, 100))
    readings = [read_progress(tmp_path, now=START + 30 + stalled) for stalled in (0, 10, 20, RATE_WINDOW + 1)]
    rates = [r.rate for r in readings if r is not None]
    etas = [r.eta for r in readings if r is not None]
    assert rates[0] == pytest.approx(2.0) and rates[1] == pytest.approx(2.0 * 20 / 30)
    assert rates[0] > rates[1] > rates[2] > rates[3] == 0.0
    assert etas[0] is not None and etas[1] is not None and etas[2] is not None
    assert etas[0] < etas[1] < etas[2] and etas[3] is None


def test_the_rate_follows_the_recent_window_not_the_whole_run(tmp_path: Path) -> None:
    """A run that did 1/s for 100 s and then 5/s for the last 30 s shows 5/s."""
    recent = [[START + s, s] for s in range(101)] + [[START + 100 + s, 100 + 5 * s] for s in range(1, 31)]
    _write(tmp_path, {"done": 250, "total": 1000, "started_at": START, "updated_at": START + 130,
                      "recent": recent})  # fmt: skip
    progress = read_progress(tmp_path, now=START + 130)
    assert progress is not None and progress.rate == pytest.approx(5.0) and progress.eta == pytest.approx(150.0)


def test_sparse_points_are_interpolated(tmp_path: Path) -> None:
    """A writer that keeps only its start and last write gives the average rate, not a burst."""
    _write(tmp_path, {"done": 300, "total": 600, "started_at": START, "updated_at": START + 300})
    progress = read_progress(tmp_path, now=START + 300)
    assert progress is not None and progress.rate == pytest.approx(1.0) and progress.eta == pytest.approx(300.0)


def test_an_unknown_total_gives_a_rate_but_no_eta(tmp_path: Path) -> None:
    """Without a total the reading has done and a rate, and no ETA."""
    _write(tmp_path, _steady(40, None))
    progress = read_progress(tmp_path, now=START + 20)
    assert progress is not None and (progress.total, progress.eta) == (None, None)
    assert progress.rate == pytest.approx(2.0)


def test_too_young_a_run_has_no_rate_yet(tmp_path: Path) -> None:
    """Less than MIN_SPAN seconds after the start the rate (and so the ETA) is not known."""
    _write(tmp_path, {"done": 3, "total": 10, "started_at": START, "updated_at": START + MIN_SPAN / 2})
    progress = read_progress(tmp_path, now=START + MIN_SPAN / 2)
    assert progress is not None and (progress.done, progress.rate, progress.eta) == (3, None, None)


def test_a_finished_run_has_zero_time_left(tmp_path: Path) -> None:
    """done == total gives ETA 0 however long ago the last write was."""
    _write(tmp_path, _steady(20, 20))
    progress = read_progress(tmp_path, now=START + 3600)
    assert progress is not None and (progress.done, progress.eta) == (20, 0.0)


def test_nemo_evaluators_bare_counter_gives_done_only(tmp_path: Path) -> None:
    """nemo-evaluator's ``progress`` (a bare count) gives done and its file's time, nothing guessed."""
    counter = tmp_path / HARNESS_COUNTER_FILE
    counter.write_text("17")
    os.utime(counter, (START, START))
    assert read_progress(tmp_path, now=START + 5) == Progress(
        done=17, updated_at=START, source=HARNESS_COUNTER_FILE
    )


def test_progress_json_wins_over_the_bare_counter(tmp_path: Path) -> None:
    """With both files there, the richer progress.json is read."""
    _write(tmp_path, _steady(10, 20))
    (tmp_path / HARNESS_COUNTER_FILE).write_text("12")
    progress = read_progress(tmp_path, now=START + 5)
    assert progress is not None and (progress.done, progress.total, progress.source) == (10, 20, PROGRESS_FILE)


@pytest.mark.parametrize(
    "document",
    ["not json", "[1, 2]", '{"done": -1}', '{"done": true}', '{"done": 1.5}', '{"total": 3}', "\udcff"],
)
def test_an_unusable_progress_json_falls_back_to_the_counter(tmp_path: Path, document: str) -> None:
    """A progress.json that makes no sense counts as absent: the bare counter (or None) is read."""
    (tmp_path / PROGRESS_FILE).write_bytes(document.encode("utf-8", "surrogateescape"))
    assert read_progress(tmp_path) is None
    (tmp_path / HARNESS_COUNTER_FILE).write_text("4\n")
    reading = read_progress(tmp_path)
    assert reading is not None and (reading.done, reading.source) == (4, HARNESS_COUNTER_FILE)


@pytest.mark.parametrize("text", ["", "abc", "-3", "²", "1.0"])
def test_an_unusable_bare_counter_is_no_progress(tmp_path: Path, text: str) -> None:
    """A ``progress`` file that is not a plain count gives None."""
    (tmp_path / HARNESS_COUNTER_FILE).write_text(text)
    assert read_progress(tmp_path) is None


# ------------------------------------------------------------------------------ properties

_counts = st.integers(min_value=0, max_value=10_000)
_steps = st.lists(
    st.tuples(st.floats(min_value=0, max_value=20), st.integers(min_value=-3, max_value=50)), max_size=40
)


@st.composite
def _documents(draw: st.DrawFn) -> dict[str, Any]:
    """progress.json documents as writers might leave them: sometimes inconsistent or partial."""
    moment, count, recent = START, 0, []
    for step, increment in draw(_steps):
        moment += step
        count += increment  # occasionally down: a confused writer
        recent.append([moment, count])
    document: dict[str, Any] = {"done": draw(st.one_of(st.just(max(count, 0)), _counts))}
    if draw(st.booleans()):
        document["total"] = draw(_counts)
    if draw(st.booleans()):
        document["failed"] = draw(_counts)
    if draw(st.booleans()):
        document["started_at"] = START - draw(st.floats(min_value=0, max_value=100))
    if draw(st.booleans()):
        document["updated_at"] = moment
    if draw(st.booleans()):
        document["recent"] = draw(st.permutations(recent)) if draw(st.booleans()) else recent
    return document


_lateness = st.floats(min_value=-10, max_value=10_000)
_windows = st.floats(min_value=0.5, max_value=600)


@given(document=_documents(), late=_lateness, window=_windows)
def test_readings_are_always_sane(document: dict[str, Any], late: float, window: float) -> None:
    """Any snapshot read at any time: rate never negative, ETA only with a known total and never
    negative, done clamped to the total and failed to done."""
    progress = progress_from(document, now=START + 500 + late, window=window)
    assert progress is not None
    assert progress.rate is None or progress.rate >= 0
    assert progress.eta is None or progress.eta >= 0
    if progress.total is None:
        assert progress.eta is None
    else:
        assert progress.done <= progress.total
        assert (progress.eta == 0.0) == (progress.done == progress.total)
    assert 0 <= progress.failed <= progress.done


@given(document=_documents(), waits=st.lists(st.floats(min_value=0, max_value=200), min_size=2, max_size=6))
def test_a_stall_never_raises_the_rate_or_shortens_the_eta(document: dict[str, Any], waits: list[float]) -> None:
    """Read again and again after the last write, the rate never rises and a known ETA never falls."""
    last = max([START, document.get("updated_at", START)] + [t for t, _ in document.get("recent", [])])
    readings = [progress_from(document, now=last + wait) for wait in sorted(waits)]
    known = [r for r in readings if r is not None and r.rate is not None]
    for before, after in zip(known, known[1:]):
        assert after.rate is not None and before.rate is not None
        assert after.rate <= before.rate + 1e-9
        if before.eta is not None and after.eta is not None:
            assert after.eta >= before.eta - 1e-6
