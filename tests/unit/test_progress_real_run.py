"""Progress of a real run: nemo-evaluator 0.1.95 runs NEL's nel_bench (20 samples) against a
stand-in endpoint that answers in 0.3 s, launched with ``nel run --wait`` on the procs executor
of tests/plugin_example. Meanwhile a thread reads the job's progress from its artifacts, and
``nel status`` / ``nel ls runs`` are asked mid-run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from nel_core.services.progress import Progress, read_progress

from .conftest import Nel, procs_config

SAMPLES = 20
DELAY = 0.3

@pytest.fixture
def slow_model(stand_in: Any) -> str:
    """The stand-in's completions URL, answering in DELAY seconds."""
    stand_in.delay = DELAY
    return str(stand_in.url)


class _Watcher(threading.Thread):
    """Reads the progress of every job under ``out`` every 0.1 s until stopped."""

    def __init__(self, out: Path) -> None:
        super().__init__(daemon=True)
        self.out = out
        self.readings: list[Progress] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for artifacts in self.out.glob("*/*/artifacts"):
                reading = read_progress(artifacts)
                if reading is not None:
                    self.readings.append(reading)
            time.sleep(0.1)

    def mid_run(self) -> Progress | None:
        return next((r for r in reversed(self.readings) if 0 < r.done < SAMPLES), None)


def test_progress_grows_to_the_total_during_a_real_run(nel: Nel, slow_model: str) -> None:
    """Read mid-run, the job's progress climbs from 0 to the total with a positive rate and an
    ETA; status and ls runs show it then; run --wait's piped lines show it, without escape codes."""
    config = nel.write("procs.yaml", procs_config(nel.out, slow_model, SAMPLES))
    env = {**nel.env, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    watcher = _Watcher(nel.out)
    watcher.start()
    run = subprocess.Popen(
        [sys.executable, "-m", "nel_cli", "run", "--config", str(config), "--wait"],
        cwd=nel.work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while watcher.mid_run() is None and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        status = json.loads(nel("status", "--json", env=env).stdout)[0]["jobs"][0]
        runs = json.loads(nel("ls", "runs", "--json", env=env).stdout)[0]
        stdout, stderr = run.communicate(timeout=240)
    finally:
        if run.poll() is None:
            run.kill()
        watcher.stop.set()
        watcher.join()
    assert run.returncode == 0, stdout + stderr

    readings = watcher.readings
    done = [r.done for r in readings]
    assert done == sorted(done) and done[-1] == SAMPLES, done
    assert len(set(done)) >= 5, done  # watched it grow, not only its start and end
    assert all(r.total == SAMPLES for r in readings)
    moving = [r for r in readings if 0 < r.done < SAMPLES and r.rate]
    assert moving and all(r.eta is not None and r.eta > 0 for r in moving)
    # One request at a time, each at least DELAY long: the rate stays below 1/DELAY (plus one
    # sample's worth of rounding over the shortest span the reader accepts).
    assert all(r.rate is not None and r.rate <= 1 / DELAY + 1 for r in moving)
    assert readings[-1].eta == 0.0

    # Asked mid-run, status and ls runs gave the numbers as fields.
    assert status["progress"] is not None and status["progress"]["total"] == SAMPLES
    assert 0 < status["progress"]["done"] <= SAMPLES and status["state"] in ("running", "success")
    assert runs["progress"] == {} or runs["progress"][status["id"]]["total"] == SAMPLES

    # run --wait, piped: plain timestamped lines, the job's progress among them, no escape code.
    assert "\x1b" not in stdout + stderr
    lines = [line for line in stderr.splitlines() if status["id"] in line]
    assert any(f"/{SAMPLES} " in line and "/s" in line for line in lines), stderr
    assert lines[-1].endswith(f"success  {SAMPLES}/{SAMPLES}"), stderr
