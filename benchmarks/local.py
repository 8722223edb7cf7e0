"""Benchmark the local executor: NEL's overhead per task, and one shared deployment vs one per task.

Run from the repo root with NEL installed in the running interpreter (``nox -s benchmarks`` does)::

    python benchmarks/local.py [--repeat N] [--llm-url URL]

1. Overhead: ``nel run --wait`` of 1 and of 5 ``nel_bench.capitals`` jobs (process runtime, external
   endpoint, sequential) against ``nemo-evaluator run_eval`` called directly on the same run configs,
   one after the other, in the same venv. The difference is what NEL adds (composing, planning,
   materializing, the supervisor, status polling): reported for the 1-task invocation (mostly the
   CLI's fixed start-up) and per task of the 5-task one. Target: under 0.5 s per task.
2. Deployment sharing: 5 tasks in one invocation with one ``llama_cpp`` deployment, against the same
   5 tasks as 5 invocations (one deployment each), run one after the other.

The external endpoint is ``--llm-url`` or ``NEL_TEST_LLM_URL`` (``scripts/infra.sh start llm``).
Harness and server venvs are built once under ``${NEL_BENCH_DIR:-/tmp/nel-bench}/home``. Nothing is
asserted: this prints medians and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NEL = [sys.executable, "-m", "nel_cli"]
TASK = "nel_bench.capitals"
LIMIT = 4

EXTERNAL = """
defaults: [{{execution: local}}, {{deployment: none}}, _self_]
execution: {{output_dir: {out}, runtime: process}}
target:
  api_endpoint: {{url: {url}/completions, model_id: gemma-3-270m, type: completions}}
evaluation:
  nemo_evaluator_config: {{config: {{params: {{limit_samples: {limit}, parallelism: 1}}}}}}
  tasks: [{tasks}]
"""

DEPLOYED = """
defaults: [{{execution: local}}, {{deployment: llama_cpp}}, _self_]
execution: {{output_dir: {out}, runtime: process}}
deployment: {{port: {port}}}
evaluation:
  nemo_evaluator_config: {{config: {{params: {{limit_samples: {limit}, parallelism: 1}}}}}}
  tasks:
{tasks}
"""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``argv``; return its wall time and result (raising when it fails)."""
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return elapsed, result


def nel_run(config: Path, env: dict[str, str], work: Path) -> tuple[float, dict[str, object]]:
    """`nel run --wait --json` of ``config``: wall time and the printed invocation."""
    elapsed, result = timed([*NEL, "run", "--config", str(config), "--wait", "--json"], env, work)
    return elapsed, json.loads(result.stdout)


def overhead(env: dict[str, str], work: Path, url: str, repeat: int, tasks: int) -> dict[str, float]:
    """Median wall time of `nel run` of ``tasks`` tasks vs `nemo-evaluator run_eval` on each, in turn."""
    nel_times, direct_times = [], []
    for index in range(repeat + 1):  # the first round builds venvs and is not counted
        out = work / f"overhead-{tasks}-{index}"
        config = work / f"overhead-{tasks}-{index}.yaml"
        listed = ", ".join([f"{{name: {TASK}}}"] * tasks)
        config.write_text(EXTERNAL.format(out=out, url=url, limit=LIMIT, tasks=listed))
        nel_time, invocation = nel_run(config, env, work)
        direct_time = 0.0
        for n, job in enumerate(invocation["jobs"]):  # type: ignore[union-attr]
            direct_time += direct_run(Path(job["job_dir"]), work / f"direct-{tasks}-{index}-{n}", env, work)
        if index:
            nel_times.append(nel_time)
            direct_times.append(direct_time)
    return {"nel": statistics.median(nel_times), "direct": statistics.median(direct_times)}


def direct_run(job_dir: Path, output: Path, env: dict[str, str], work: Path) -> float:
    """Wall time of `nemo-evaluator run_eval` on a job's run config, in the job's venv, into ``output``."""
    run_config = (job_dir / "run_config.yml").read_text().replace(str(job_dir / "artifacts"), str(output))
    config = output.with_suffix(".yml")
    config.write_text(run_config)
    # The environment the job's runtime gives the harness (its PATH and PYTHONPATH exports).
    script = (job_dir / "run.sh").read_text()
    venv_bin = re.search(r"export PATH=([^:\"']+)", script)
    python_path = re.search(r"export PYTHONPATH=([^$\"';]+)", script)
    direct_env = {**env, "PATH": f"{venv_bin.group(1) if venv_bin else ''}:{env['PATH']}",
                  "PYTHONPATH": python_path.group(1) if python_path else "",
                  "ADAPTER_PORT": str(free_port())}  # fmt: skip
    elapsed, _ = timed(["nemo-evaluator", "run_eval", "--run_config", str(config)], direct_env, work)
    return elapsed


def sharing(env: dict[str, str], work: Path, repeat: int, tasks: int = 5) -> dict[str, float]:
    """Median wall time of N tasks with one shared deployment vs one deployment per task."""
    names = ["nel_bench.capitals", "nel_bench.mini", "nel_bench.arithmetic"]
    chosen = [names[i % len(names)] for i in range(tasks)]

    def config(path: Path, selected: list[str]) -> Path:
        listed = "\n".join(f"    - {{name: {t}, endpoint_type: completions}}" for t in selected)
        path.write_text(DEPLOYED.format(out=work / "sharing", port=free_port(), limit=2, tasks=listed))
        return path

    shared, separate = [], []
    for index in range(repeat + 1):
        shared_time, _ = nel_run(config(work / f"shared-{index}.yaml", chosen), env, work)
        start = time.perf_counter()
        for n, task in enumerate(chosen):
            nel_run(config(work / f"single-{index}-{n}.yaml", [task]), env, work)
        separate_time = time.perf_counter() - start
        if index:
            shared.append(shared_time)
            separate.append(separate_time)
    return {"shared": statistics.median(shared), "per_task": statistics.median(separate)}


def main() -> None:
    """Parse arguments, run both measurements, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--llm-url", default=os.environ.get("NEL_TEST_LLM_URL", ""))
    args = parser.parse_args()
    if not args.llm_url:
        raise SystemExit("set --llm-url or NEL_TEST_LLM_URL (scripts/infra.sh start llm)")
    bench = Path(os.environ.get("NEL_BENCH_DIR", "/tmp/nel-bench"))
    env = {**os.environ, "NEL_HOME": str(bench / "home"), "NEMO_EVALUATOR_TELEMETRY_LEVEL": "0"}
    with tempfile.TemporaryDirectory(prefix="nel-local-bench-") as temp:
        work = Path(temp)
        url = args.llm_url.rstrip("/")
        one = overhead(env, work, url, args.repeat, tasks=1)
        five = overhead(env, work, url, args.repeat, tasks=5)
        shared = sharing(env, work, args.repeat)
    fixed = one["nel"] - one["direct"]
    per_task = (five["nel"] - five["direct"]) / 5
    print(f"\nlocal executor, median of {args.repeat} runs ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})\n")
    print(f"{'case':44} {'median':>9}")
    print(f"{'-' * 44} {'-' * 9}")
    print(f"{'nemo-evaluator run_eval, 1 task (direct)':44} {one['direct']:8.2f}s")
    print(f"{'nel run --wait, same task':44} {one['nel']:8.2f}s")
    print(f"{'NEL overhead, 1-task invocation':44} {fixed:8.2f}s")
    print(f"{'nemo-evaluator run_eval, 5 tasks in turn':44} {five['direct']:8.2f}s")
    print(f"{'nel run --wait, same 5 tasks (sequential)':44} {five['nel']:8.2f}s")
    verdict = "PASS" if per_task < 0.5 else "MISS"
    print(f"{'NEL overhead per task, 5-task invocation':44} {per_task:8.2f}s  {verdict} (target < 0.5 s)")
    print(f"{'5 tasks, one shared llama_cpp deployment':44} {shared['shared']:8.2f}s")
    print(f"{'5 tasks, one deployment per task':44} {shared['per_task']:8.2f}s")
    print(f"{'per-task / shared':44} {shared['per_task'] / shared['shared']:8.2f}x")


if __name__ == "__main__":
    main()
