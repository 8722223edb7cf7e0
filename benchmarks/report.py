"""Benchmark ``nel report``: the time to render large invocations and the size of the page.

Run from the repo root (``nox -s benchmarks`` does) with NEL installed in the running interpreter::

    python benchmarks/report.py [--repeat N] [--tasks 400] [--samples 100]

Cases, on invocations written to a temporary folder the way a finished run leaves them (one job
per task, ``samples.jsonl`` with prompts as long as nel_bench's few-shot completions prompts,
about 130 characters, and results.yml):

- ``report 400 tasks``: ``nel report <folder> -o report.html`` of one invocation of ``--tasks``
  tasks with ``--samples`` samples each, as a subprocess (start-up, reading every job, writing
  the page); median wall time of ``--repeat`` runs after one warm-up. Target: < 2 s.
- the same in-process, split into reading the runs, building the document and rendering the HTML.
- ``page 50 x 200``: the size of the HTML page of 50 tasks x 200 samples (what the README quotes).

Nothing is asserted: this is a measurement, not a test. It prints a table.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nel_cli.report import render_html
from nel_core.results import load_run_dirs, report_document
from nel_core.testing import ERROR, write_run

TARGET_S = 2.0
_PROMPT = (
    "Q: What is the capital of Malta?\nA: Valletta\n\nQ: What is the capital of Cyprus?\nA: Nicosia\n\n"
    "Q: What is the capital of country number {i}?\nA:"
)


def make_invocation(root: Path, run_id: str, tasks: int, samples: int, seed: int = 0) -> Path:
    """An ended invocation of ``tasks`` jobs of ``samples`` samples (about 70 % right, 1 % failed requests)."""
    rng = random.Random(seed)
    outcomes = {
        f"bench.task{t:03d}": [ERROR if rng.random() < 0.01 else float(rng.random() < 0.7) for _ in range(samples)]
        for t in range(tasks)
    }
    run_dir = write_run(root, run_id, outcomes)
    for samples_file in run_dir.glob("*/artifacts/samples.jsonl"):
        lines = []
        for i, line in enumerate(samples_file.read_text().splitlines()):
            record = json.loads(line)
            record["prompt"] = _PROMPT.format(i=i)
            lines.append(json.dumps(record))
        samples_file.write_text("\n".join(lines) + "\n")
    return run_dir


def _timed(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=400)
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nel-report-bench-") as tmp:
        root = Path(tmp)
        big = make_invocation(root, "big00400", args.tasks, args.samples)
        page = root / "report.html"
        argv = [sys.executable, "-m", "nel_cli", "report", str(big), "-o", str(page)]
        _timed(argv, root)  # warm-up (and the page's size)
        wall = [_timed(argv, root) for _ in range(args.repeat)]
        phases: dict[str, list[float]] = {"read runs": [], "build document": [], "render HTML": []}
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            runs = load_run_dirs([big])
            t1 = time.perf_counter()
            document = report_document(runs)
            t2 = time.perf_counter()
            render_html(document)
            t3 = time.perf_counter()
            for name, took in zip(phases, (t1 - t0, t2 - t1, t3 - t2)):
                phases[name].append(took)
        big_size = page.stat().st_size
        mid = make_invocation(root, "mid00050", 50, 200, seed=1)
        mid_page = root / "mid.html"
        mid_argv = [sys.executable, "-m", "nel_cli", "report", str(mid), "-o", str(mid_page)]
        subprocess.run(mid_argv, check=True, capture_output=True)
        mid_size = mid_page.stat().st_size

    median = statistics.median(wall)
    samples = args.tasks * args.samples
    rows = [
        (f"report {args.tasks} tasks x {args.samples} samples (nel report, wall)", f"{median:.2f} s",
         "PASS" if median < TARGET_S else "MISS", f"target < {TARGET_S:.0f} s; page {big_size / 1e6:.1f} MB"),
        *((f"  in process: {name}", f"{statistics.median(t):.2f} s", "", "") for name, t in phases.items()),
        ("page 50 tasks x 200 samples", f"{mid_size / 1e6:.2f} MB", "", f"{mid_size:,} bytes"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'median':>8}  {'':4}  notes")
    print("-" * (width + 40))
    for name, value, verdict, notes in rows:
        print(f"{name:<{width}}  {value:>8}  {verdict:4}  {notes}".rstrip())
    print(f"\n{args.repeat} timed runs each after one warm-up; {samples:,} samples in the large invocation.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
