"""Tests of the progress file: its writer on a fake clock, and the runner keeping it up to date."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from core_evals.nel_bench import PROGRESS_FILE
from core_evals.nel_bench.progress import ProgressFile
from core_evals.nel_bench.runner import main
from nel_harness_stub import openai_answer


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def test_the_first_flush_writes_zero_done_of_the_total(tmp_path: Path) -> None:
    """Before any sample finishes, the file says 0 done of the total, started and updated now."""
    clock = _Clock()
    progress = ProgressFile(tmp_path / PROGRESS_FILE, total=20, clock=clock)
    progress.flush()
    assert _read(tmp_path / PROGRESS_FILE) == {
        "done": 0, "total": 20, "failed": 0, "started_at": 1000.0, "updated_at": 1000.0,
        "recent": [[1000.0, 0]],
    }  # fmt: skip


def test_writes_wait_for_the_interval_unless_forced(tmp_path: Path) -> None:
    """A count is written once the last write is ``interval`` old, or at once when forced."""
    clock = _Clock()
    path = tmp_path / PROGRESS_FILE
    progress = ProgressFile(path, total=5, clock=clock, interval=0.5)
    progress.flush()
    progress.count(failed=False)
    clock.now += 0.2
    progress.flush()
    assert _read(path)["done"] == 0
    clock.now += 0.3
    progress.flush()
    assert _read(path)["done"] == 1
    progress.count(failed=True)
    progress.flush(force=True)
    assert (_read(path)["done"], _read(path)["failed"]) == (2, 1)


def test_recent_keeps_about_a_point_a_second_over_the_history(tmp_path: Path) -> None:
    """``recent`` is spaced by about a second, ends at the last write, and reaches back
    no further than one point before the history's cutoff."""
    clock = _Clock()
    path = tmp_path / PROGRESS_FILE
    progress = ProgressFile(path, total=1000, clock=clock, interval=0.25, history=10.0)
    for _ in range(200):  # 50 s of a sample every quarter second
        progress.count(failed=False)
        progress.flush()
        clock.now += 0.25
    document = _read(path)
    times = [t for t, _ in document["recent"]]
    assert document["recent"][-1] == [document["updated_at"], document["done"]]
    assert all(0.99 <= b - a <= 1.26 for a, b in zip(times[:-2], times[1:-1], strict=True))
    assert times[0] <= document["updated_at"] - 10.0 < times[1]
    assert [d for _, d in document["recent"]] == sorted(d for _, d in document["recent"])


def test_no_staging_file_is_left_behind(tmp_path: Path) -> None:
    """Writes go through a staging file renamed into place: only progress.json remains."""
    progress = ProgressFile(tmp_path / PROGRESS_FILE, total=3, interval=0.0)
    for _ in range(3):
        progress.count(failed=False)
        progress.flush()
    assert [p.name for p in tmp_path.iterdir()] == [PROGRESS_FILE]


def _argv(url: str, out: Path, *extra: str) -> list[str]:
    return ["--task", "capitals", "--output-dir", str(out), "--model-url", url,
            "--model-id", "stub", "--model-type", "chat", *extra]  # fmt: skip


def test_the_runner_counts_every_sample_and_its_failures(
    tmp_path: Path, free_dead_url: str
) -> None:
    """A run whose every request fails ends with done == total == failed."""
    assert main(_argv(free_dead_url, tmp_path, "--limit-samples", "4", "--max-retries", "0")) == 0
    document = _read(tmp_path / PROGRESS_FILE)
    assert (document["done"], document["total"], document["failed"]) == (4, 4, 4)


def test_the_file_grows_while_the_runner_runs(stub_server, tmp_path: Path) -> None:
    """Read from another thread mid-run, ``done`` climbs from below the total up to it."""

    def slow(path: str, headers: dict, body: dict) -> tuple[int, dict]:
        time.sleep(0.2)
        return 200, openai_answer(body, "Paris")

    server = stub_server(slow)
    seen: list[int] = []
    finished = threading.Event()

    def watch() -> None:
        while not finished.is_set():
            try:
                seen.append(_read(tmp_path / PROGRESS_FILE)["done"])
            except FileNotFoundError:
                pass
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        argv = _argv(server.base_url, tmp_path, "--limit-samples", "10", "--parallelism", "1")
        assert main(argv) == 0
    finally:
        finished.set()
        watcher.join()
    assert seen == sorted(seen)
    assert any(0 < done < 10 for done in seen)
    assert _read(tmp_path / PROGRESS_FILE)["done"] == 10
