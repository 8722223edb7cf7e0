"""Progress on screen: the ``progress`` cell and its JSON fields, the display of ``run --wait``
(redrawn on a terminal, plain lines when piped), and ``status`` / ``ls runs`` showing a running
job's progress.json (jobs of the fake executor, left running)."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import attrs
import pytest
from core_evals.nel_bench import PROGRESS_FILE as HARNESS_PROGRESS_FILE
from core_evals.nel_bench.progress import ProgressFile

from nel_cli.progress import (
    WaitDisplay,
    format_eta,
    format_rate,
    progress_cell,
    progress_fields,
    runs_cell,
)
from nel_core.layout import ARTIFACTS_DIR, HARNESS_COUNTER_FILE, PROGRESS_FILE
from nel_core.models.domain import Job, JobState
from nel_core.services.progress import Progress, read_progress
from nel_core.testing import make_invocation, make_jobs

from .conftest import Nel, fake_config

ESC = "\x1b"


# --------------------------------------------------------------------------- cells and fields


class _Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("progress", "running", "cell"),
    [
        (Progress(done=37, total=100, rate=2.4, eta=26.2), True, "37/100 2.4/s ETA 26s"),
        (Progress(done=37, total=100, failed=2, rate=0.35, eta=180.0), True, "37/100 (2 failed) 0.35/s ETA 3m00s"),
        (Progress(done=37, total=None, rate=12.0), True, "37/? 12.0/s"),
        (Progress(done=37, total=100, rate=None), True, "37/100"),
        (Progress(done=37, total=100, rate=0.0, updated_at=1000.0), True, "37/100 0.0/s (idle 1m05s)"),
        (Progress(done=100, total=100, rate=3.0, eta=0.0), True, "100/100"),
        (Progress(done=37, total=100, rate=2.4, eta=26.2), False, "37/100"),
        (Progress(done=17, source=HARNESS_COUNTER_FILE), True, "17 responses"),
        (None, True, "-"),
    ],
)
def test_the_progress_cell(progress: Progress | None, running: bool, cell: str) -> None:
    """The cell reads done/total, failures, rate and ETA while running; done/total once ended;
    ``?`` for an unknown total; the idle time at a zero rate; responses for the bare counter."""
    assert progress_cell(progress, running=running, now=1065.0) == cell


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (59.4, "59s"), (60, "1m00s"), (3599, "59m59s"), (3600, "1h00m"), (90061, "25h01m")]
)
def test_eta_format(seconds: float, text: str) -> None:
    """ETAs read in seconds, then minutes and seconds, then hours and minutes."""
    assert format_eta(seconds) == text


@pytest.mark.parametrize(("rate", "text"), [(0.0, "0.0/s"), (0.042, "0.04/s"), (2.44, "2.4/s"), (250.4, "250/s")])
def test_rate_format(rate: float, text: str) -> None:
    """Rates keep two significant digits below 10/s and none past 100/s."""
    assert format_rate(rate) == text


def test_json_fields_carry_the_numbers() -> None:
    """``--json`` gets done, total, failed, rate_per_s, eta_s, updated_at and source (or null)."""
    fields = progress_fields(Progress(done=37, total=100, failed=1, rate=2.41234, eta=26.04, updated_at=5.0))
    assert fields == {"done": 37, "total": 100, "failed": 1, "rate_per_s": 2.412, "eta_s": 26.0,
                      "updated_at": 5.0, "source": PROGRESS_FILE}  # fmt: skip
    assert progress_fields(None) is None


def test_an_invocations_cell_sums_its_running_jobs() -> None:
    """ls runs sums done, totals and rates of the running jobs and shows the longest ETA."""
    readings = [Progress(done=10, total=50, rate=1.0, eta=40.0), Progress(done=5, total=20, rate=0.5, eta=30.0)]
    assert runs_cell(readings) == "15/70 1.5/s ETA 40s (2 jobs)"
    assert runs_cell([readings[0], Progress(done=3, total=None, rate=1.0)]) == "13/? 2.0/s (2 jobs)"
    assert runs_cell([]) == "-"


def test_the_harness_writes_what_core_reads(tmp_path: Path) -> None:
    """nel_bench's progress file has the name core reads, and core reads its numbers back."""
    assert HARNESS_PROGRESS_FILE == PROGRESS_FILE
    clock = _Clock()
    writer = ProgressFile(tmp_path / PROGRESS_FILE, total=8, clock=clock, interval=0.0)
    writer.flush()
    for failed in (False, True, False):
        clock.now += 1
        writer.count(failed=failed)
        writer.flush()
    progress = read_progress(tmp_path, now=clock.now)
    assert progress == Progress(done=3, total=8, failed=1, rate=1.0, eta=5.0, updated_at=clock.now)


# ------------------------------------------------------------------------------- the display


def _jobs(*states: JobState) -> list[Job]:
    return make_jobs(make_invocation("abcd1234"), len(states), states=list(states))


class _Reader:
    """Progress by job id, changed by the test as the run goes."""

    def __init__(self) -> None:
        self.by_job: dict[str, Progress] = {}

    def __call__(self, job: Job) -> Progress | None:
        return self.by_job.get(job.id)


def test_piped_output_is_plain_lines_at_most_one_per_interval_per_job() -> None:
    """Not on a terminal: no escape codes; a job's progress is printed at most once per interval,
    a change of state at once; an unchanged job prints nothing."""
    stream, clock, reader = io.StringIO(), _Clock(), _Reader()
    display = WaitDisplay(stream, interval=5.0, reader=reader, clock=clock)
    jobs = _jobs(JobState.RUNNING, JobState.PENDING)
    display.update(jobs)  # first sight of both: two lines
    for second in range(1, 10):  # job 0 progresses every second; job 1 stays the same
        clock.now += 1
        reader.by_job[jobs[0].id] = Progress(done=second, total=20, rate=1.0, eta=20.0 - second)
        display.update(jobs)
    clock.now += 0.1
    display.update([attrs.evolve(jobs[0], state=JobState.SUCCESS), jobs[1]])
    display.close()
    lines = stream.getvalue().splitlines()
    assert ESC not in stream.getvalue()
    assert [line.split("] ", 1)[1].split()[0] for line in lines] == [jobs[0].id, jobs[1].id, jobs[0].id, jobs[0].id]
    assert "5/20 1.0/s ETA 15s" in lines[2] and "running" in lines[2]
    assert lines[3].endswith("success  9/20")


def test_a_terminal_gets_its_block_redrawn_in_place() -> None:
    """On a terminal the block of jobs is redrawn over itself (cursor up, clear line), each line
    cut to the terminal's width, and close leaves the final states on screen."""
    stream, clock, reader = io.StringIO(), _Clock(), _Reader()
    display = WaitDisplay(stream, live=True, reader=reader, clock=clock)
    jobs = _jobs(JobState.RUNNING, JobState.RUNNING)
    display.update(jobs)
    assert stream.getvalue().count("\x1b[2K") == 2 and "\x1b[2F" not in stream.getvalue()
    clock.now += 1
    reader.by_job[jobs[1].id] = Progress(done=4, total=10, rate=2.0, eta=3.0)
    display.update(jobs)
    assert stream.getvalue().count("\x1b[2F") == 1 and "4/10 2.0/s ETA 3s" in stream.getvalue()
    clock.now += 0.1  # within half a second: progress alone is not redrawn...
    reader.by_job[jobs[1].id] = Progress(done=5, total=10, rate=2.0, eta=2.5)
    display.update(jobs)
    assert "5/10" not in stream.getvalue()
    display.update([attrs.evolve(job, state=JobState.SUCCESS) for job in jobs])  # ...a new state is
    display.close()
    assert stream.getvalue().count("\x1b[2F") == 2 and stream.getvalue().endswith("\n")
    assert all(len(line) < 200 for line in stream.getvalue().split("\x1b[2K"))


def test_a_block_taller_than_the_terminal_is_cut_short(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten jobs on a terminal of six lines and 40 columns: five lines (the last says how many
    more), each within the width, and the redraw goes back exactly those five."""
    monkeypatch.setenv("LINES", "6")
    monkeypatch.setenv("COLUMNS", "40")
    stream, clock, reader = io.StringIO(), _Clock(), _Reader()
    display = WaitDisplay(stream, live=True, reader=reader, clock=clock)
    jobs = _jobs(*[JobState.RUNNING] * 10)
    display.update(jobs)
    drawn = stream.getvalue().split("\x1b[2K")[1:]
    assert len(drawn) == 5 and drawn[-1].startswith("...") and "6 more" in drawn[-1]
    assert all(len(line.split("\n")[0]) <= 39 for line in drawn)
    clock.now += 1
    display.update([attrs.evolve(job, state=JobState.SUCCESS) for job in jobs])
    assert "\x1b[5F" in stream.getvalue()


def test_the_display_decides_by_the_stream() -> None:
    """A stream that is not a terminal gets plain lines unless told otherwise."""
    assert WaitDisplay(io.StringIO()).live is False
    assert WaitDisplay(io.StringIO(), live=True).live is True


# --------------------------------------------------------------------------- through the CLI


def _running_invocation(nel: Nel) -> dict[str, Any]:
    nel.write("cfg.yaml", fake_config(nel.out, "nel_bench.arithmetic", "nel_bench.capitals"))
    result = nel("run", "--config", "cfg.yaml", "--json", "-o", "+execution.auto_finish=false")
    assert result.returncode == 0, result.stderr
    launched: dict[str, Any] = json.loads(result.stdout)
    return launched


def test_status_and_ls_runs_show_a_running_jobs_progress(nel: Nel) -> None:
    """A running job whose harness wrote progress.json shows it in status and ls runs, as a
    column and as JSON fields; a job without one shows none."""
    launched = _running_invocation(nel)
    first, second = launched["jobs"]
    now = time.time()
    document = {"done": 37, "total": 100, "failed": 0, "started_at": now - 30, "updated_at": now,
                "recent": [[now - 30, 0], [now, 37]]}  # fmt: skip
    artifacts = Path(first["job_dir"]) / ARTIFACTS_DIR
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / PROGRESS_FILE).write_text(json.dumps(document))

    status = json.loads(nel("status", launched["invocation_id"], "--json").stdout)[0]["jobs"]
    # The fake's jobs live in the memory of the process that launched them: another one
    # cannot ask about them (unknown), and the progress is read from the artifacts all the same.
    assert [j["state"] for j in status] == ["unknown", "unknown"]
    assert status[0]["progress"]["done"] == 37 and status[0]["progress"]["total"] == 100
    assert 0 < status[0]["progress"]["rate_per_s"] <= 37 / 30 + 0.01  # falls as the file ages
    assert status[0]["progress"]["eta_s"] > 0 and status[1]["progress"] is None
    table = nel("status", launched["invocation_id"]).stdout
    assert "progress" in table.splitlines()[0] and "37/100 " in table and "/s ETA " in table

    runs = json.loads(nel("ls", "runs", "--json").stdout)
    assert runs[0]["progress"][first["id"]]["done"] == 37 and second["id"] not in runs[0]["progress"]
    assert "37/100 " in nel("ls", "runs").stdout


def test_run_wait_piped_prints_plain_lines(nel: Nel) -> None:
    """``run --wait`` with stderr piped prints timestamped lines and no escape code."""
    nel.write("cfg.yaml", fake_config(nel.out, "nel_bench.arithmetic"))
    result = nel("run", "--config", "cfg.yaml", "--wait")
    assert result.returncode == 0, result.stderr
    assert ESC not in result.stdout + result.stderr
    assert any(line.startswith("[") and "success" in line for line in result.stderr.splitlines())


def test_run_wait_on_a_terminal_redraws(nel: Nel) -> None:
    """``run --wait`` with stderr on a terminal draws its block with escape codes there, and
    stdout (piped) still gets none."""
    nel.write("cfg.yaml", fake_config(nel.out, "nel_bench.arithmetic"))
    leader, follower = pty.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "nel_cli", "run", "--config", "cfg.yaml", "--wait"],
            cwd=nel.work, env={**nel.env, "TERM": "xterm"}, stdout=subprocess.PIPE, stderr=follower,
            timeout=120, text=True,
        )  # fmt: skip
        os.close(follower)
        follower = -1
        screen = _drain(leader)
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    assert process.returncode == 0
    assert "\x1b[2K" in screen and "success" in screen
    assert ESC not in process.stdout and "success" in process.stdout


def _drain(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal's other end is closed: everything has been read
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")
