"""Benchmark throughput: what NEL adds per request, and how ``parallelism: auto`` does against a sweep.

Run from the repo root with NEL installed in the running interpreter (``nox -s benchmarks`` does)::

    python benchmarks/throughput.py [--requests N] [--server-python PY --model GGUF] [--quickstart]

1. Overhead on llama.cpp: a llama.cpp server of its own (port chosen free; threads, batch and slots
   as NEL's ``llama_cpp`` deployment chooses them) gets the same N ``nel_bench.mini`` completions
   requests twice per concurrency: replayed straight to the server (a thread pool of plain HTTP
   requests), then through ``nel run --wait`` (external endpoint, process runtime: the harness in
   its runtime), for N at parallelism 1 and 2, and for a longer run (``--long-requests``) at 1.
   Per request: the median latency of each; per run: the wall time (for ``nel run``, the whole
   command: CLI, job start, harness, results), split by the job's stage markers into NEL's launch,
   the job (nemo-evaluator's run_eval: its start, the runner's requests, its post-processing) and
   NEL's finish (the supervisor's teardown and the command seeing the job end).
2. ``parallelism: auto`` against that server (its slots: 1) and against a stand-in server
   (``benchmarks/standin.py``) that runs at most 1, 2 or 4 requests at once and answers 429
   beyond: NEL's runner with ``--parallelism auto`` beside fixed values 1, 2, 4 and 8, tokens/s and
   the level each settled on; then (2c) the same requests as another harness sends them: run by
   ``nemo-evaluator run_eval`` through its adapter proxy, a fixed pool of 1, 2, 4 or 8, or a pool
   of 8 behind NEL's gate (``core_evals.nel_bench.adaptive``), tokens/s as the harness measured them.
3. ``--quickstart``: ``nel run --config examples/quickstart.yaml --wait`` with a fresh ``NEL_HOME``
   (first: harness and server venvs built, the prebuilt llama-cpp-python wheel of
   ``NEL_PIP_FIND_LINKS``, default ``../shared/wheels``) and again (warm), for each ``--src``
   checkout (e.g. an export of the commit before, then this one), with the running interpreter.

The server's venv and model default to ``scripts/infra.sh``'s (``/tmp/nel-infra``). Harness venvs
are built once under ``${NEL_BENCH_DIR:-/tmp/nel-bench}/home``. Nothing is asserted: this prints
medians and ratios, with the machine's load.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "packages" / "harness" / "src"))

from core_evals.nel_bench.client import EndpointConfig, request_body  # noqa: E402
from core_evals.nel_bench.prompts import build_prompt  # noqa: E402
from core_evals.nel_bench.tasks import load_items, select_items  # noqa: E402
from standin import StandIn  # noqa: E402

TASK = "mini"
MAX_TOKENS = 16
INFRA = Path("/tmp/nel-infra")
CONFIG = """
defaults: [{{execution: local}}, {{deployment: none}}, _self_]
execution: {{output_dir: {out}, runtime: process}}
target:
  api_endpoint: {{url: {url}/completions, model_id: {model}, type: completions}}
evaluation:
  nemo_evaluator_config:
    config: {{params: {{limit_samples: {n}, parallelism: {parallelism}, max_new_tokens: {tokens}, temperature: 0.0}}}}
  tasks: [{{name: nel_bench.{task}, endpoint_type: completions}}]
"""


def log(message: str) -> None:
    print(f"[throughput] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- llama.cpp ---------------------------------------------------------------------------------------------------


def start_llama(python: str, model: str) -> tuple[subprocess.Popen[bytes], str, dict[str, int]]:
    """A llama.cpp server with NEL's defaults for this host; returns it, its base URL and settings."""
    sys.path.insert(0, str(ROOT / "packages" / "core" / "src"))
    from nel_core.deployments.tuning import host_cpus, tune_deployment
    from nel_core.models.config import LlamaCppDeployment

    _, tuning = tune_deployment(LlamaCppDeployment(model_path=model), host_cpus())
    assert tuning is not None
    port = free_port()
    argv = [python, "-m", "llama_cpp.server", "--model", model, "--model_alias", "gemma-3-270m",
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"]  # fmt: skip
    for key, value in tuning.values.items():
        argv += [f"--{key}", str(value)]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2).close()
            return server, url, {**tuning.values, "slots": tuning.slots or 1}
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the llama.cpp server did not start")


def bodies(n: int, model: str) -> list[bytes]:
    """The request bodies nel_bench sends for the first ``n`` items of the task."""
    config = EndpointConfig(url="", model_id=model, endpoint_type="completions", temperature=0.0, max_tokens=MAX_TOKENS)
    items = select_items(load_items(TASK), n)
    return [json.dumps(request_body(config, build_prompt(item, "completions"))).encode() for item in items]


def replay(url: str, requests: list[bytes], parallelism: int) -> dict[str, float]:
    """Send ``requests`` straight to the server; median latency and wall time."""

    def one(body: bytes) -> float:
        started = time.perf_counter()
        request = urllib.request.Request(f"{url}/completions", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=300) as response:
            response.read()
        return time.perf_counter() - started

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(parallelism) as pool:
        latencies = list(pool.map(one, requests))
    return {"latency": statistics.median(latencies), "wall": time.perf_counter() - started}


def through_nel(url: str, n: int, parallelism: int | str, work: Path, env: dict[str, str], task: str = TASK) -> dict:
    """`nel run --wait` of nel_bench.<task> (n samples); median request latency, wall, job data."""
    out = work / f"out-{time.monotonic_ns()}"
    config = work / f"{out.name}.yaml"
    config.write_text(CONFIG.format(out=out, url=url, model="gemma-3-270m", n=n, parallelism=parallelism,
                                    tokens=MAX_TOKENS, task=task))  # fmt: skip
    started, started_at = time.perf_counter(), time.time()
    result = subprocess.run([sys.executable, "-m", "nel_cli", "run", "--config", str(config), "--wait", "--json"],
                            env=env, cwd=work, capture_output=True, text=True, timeout=3600)  # fmt: skip
    wall, ended_at = time.perf_counter() - started, time.time()
    if result.returncode != 0:
        raise SystemExit(f"nel run failed:\n{result.stdout}\n{result.stderr}")
    invocation = json.loads(result.stdout)
    job_dir = Path(invocation["jobs"][0]["job_dir"])
    samples = [json.loads(line) for line in (job_dir / "artifacts" / "samples.jsonl").read_text().splitlines()]
    counts = json.loads((job_dir / "artifacts" / "nel_requests.json").read_text())
    # Where the wall went, from the job's stage markers: NEL until the job runs, the job itself
    # (nemo-evaluator's run_eval and the runner it starts), NEL again until the command returns.
    running, ended = (job_dir / "stage.running").stat().st_mtime, (job_dir / "stage.exit").stat().st_mtime
    phases = {"launch": running - started_at, "job": ended - running, "finish": ended_at - ended}
    return {"latency": statistics.median(s["latency_s"] for s in samples), "wall": wall, "counts": counts,
            "phases": phases}  # fmt: skip


# --- parallelism: auto -------------------------------------------------------------------------------------------


def runner(url: str, n: int, parallelism: str, work: Path, maximum: int = 8) -> dict:
    """NEL's runner (the harness alone) at ``parallelism``: tokens/s, level chosen, wall, 429s."""
    out = work / f"runner-{time.monotonic_ns()}"
    argv = [sys.executable, "-m", "core_evals.nel_bench.runner", "--task", TASK, "--output-dir", str(out),
            "--model-url", f"{url}/completions", "--model-id", "gemma-3-270m", "--model-type", "completions",
            "--limit-samples", str(n), "--parallelism", parallelism, "--max-parallelism", str(maximum),
            "--max-new-tokens", str(MAX_TOKENS), "--temperature", "0", "--max-retries", "8"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "packages" / "harness" / "src")}
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=3600)
    wall = time.perf_counter() - started
    counts = json.loads((out / "nel_requests.json").read_text())
    return {"wall": wall, "tokens_per_s": counts.get("tokens_per_s") or 0.0,
            "parallelism": counts["parallelism"], "failed": counts["failed"]}  # fmt: skip


def through_proxy(url: str, n: int, parallelism: str, work: Path, maximum: int = 8) -> dict:
    """nel_bench run by ``nemo-evaluator run_eval`` through its adapter proxy, as another harness
    runs: a fixed pool of ``parallelism``, or (``auto``) a pool of ``maximum`` behind NEL's gate."""
    out = work / f"proxy-{time.monotonic_ns()}"
    pool = maximum if parallelism == "auto" else int(parallelism)
    config = {"config": {"type": f"nel_bench.{TASK}", "output_dir": str(out),
                         "params": {"parallelism": pool, "limit_samples": n, "max_new_tokens": MAX_TOKENS,
                                    "temperature": 0.0, "max_retries": 8}},
              "target": {"api_endpoint": {"url": f"{url}/completions", "model_id": "gemma-3-270m",
                                          "type": "completions"}}}  # fmt: skip
    run_config = work / f"{out.name}.yml"
    run_config.write_text(json.dumps(config))
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": str(ROOT / "packages" / "harness" / "src"), "NEMO_EVALUATOR_TELEMETRY_LEVEL": "0",
           "ADAPTER_PORT": str(free_port())}  # fmt: skip
    if parallelism == "auto":
        prepare = [sys.executable, "-m", "core_evals.nel_bench.adaptive", str(run_config), "--maximum", str(maximum)]
        subprocess.run(prepare, env=env, check=True, capture_output=True, timeout=600)
    started = time.perf_counter()
    subprocess.run([str(bin_dir / "nemo-evaluator"), "run_eval", "--run_config", str(run_config)],
                   env=env, check=True, capture_output=True, timeout=3600)  # fmt: skip
    wall = time.perf_counter() - started
    counts = json.loads((out / "nel_requests.json").read_text())
    gate = json.loads((out / "nel_concurrency.json").read_text()) if parallelism == "auto" else {}
    return {"wall": wall, "tokens_per_s": counts.get("tokens_per_s") or 0.0,
            "parallelism": gate.get("parallelism", pool), "failed": counts["failed"]}  # fmt: skip


def sweep(
    url: str, n: int, work: Path, fixed: tuple[int, ...], maximum: int, rounds: int, run: Any = None
) -> dict[str, dict]:
    """Each setting ``rounds`` times, interleaved (the machine's load drifts); medians per setting."""
    run = run or runner
    settings = [*map(str, fixed), "auto"]
    runs: dict[str, list[dict]] = {key: [] for key in settings}
    for _ in range(rounds):
        for key in settings:
            runs[key].append(run(url, n, key, work, maximum))
    return {key: {"tokens_per_s": statistics.median(r["tokens_per_s"] for r in rows),
                  "wall": statistics.median(r["wall"] for r in rows),
                  "failed": max(r["failed"] for r in rows),
                  "parallelism": "/".join(sorted({str(r["parallelism"]) for r in rows}))}
            for key, rows in runs.items()}  # fmt: skip


def print_sweep(name: str, rows: dict[str, dict]) -> None:
    best = max((k for k in rows if k != "auto"), key=lambda k: rows[k]["tokens_per_s"])
    auto = rows["auto"]
    print(f"\n{name}")
    print(f"{'parallelism':>12} {'tokens/s':>9} {'wall s':>7} {'failed':>6}  settled at (each round)")
    for key, row in rows.items():
        print(f"{key:>12} {row['tokens_per_s']:9.1f} {row['wall']:7.2f} {row['failed']:6d}  {row['parallelism']}")
    ratio = auto["tokens_per_s"] / rows[best]["tokens_per_s"] if rows[best]["tokens_per_s"] else float("nan")
    print(f"auto settled at {auto['parallelism']}; best fixed: {best}; auto/best tokens/s: {ratio:.2f}")


# --- quickstart --------------------------------------------------------------------------------------------------


def quickstart(src: Path, work: Path) -> dict[str, float]:
    """Wall time of the quickstart with a fresh NEL_HOME, then again in it."""
    paths = [str(p) for p in sorted((src / "packages").glob("*/src"))] + [
        str(p) for p in sorted((src / "packages" / "exporters").glob("*/src"))
    ]
    home = work / f"home-{src.name}"
    shutil.rmtree(home, ignore_errors=True)
    wheels = os.environ.get("NEL_PIP_FIND_LINKS", str(ROOT.parent / "shared" / "wheels"))
    env = {**os.environ, "NEL_HOME": str(home), "PYTHONPATH": ":".join(paths), "NEMO_EVALUATOR_TELEMETRY_LEVEL": "0",
           "NEL_OUTPUT_DIR": str(work / f"qs-{src.name}"), "NEL_PIP_FIND_LINKS": wheels}  # fmt: skip
    times = {}
    for run in ("first", "warm"):
        argv = [sys.executable, "-m", "nel_cli", "run", "--config", str(src / "examples" / "quickstart.yaml"),
                "--wait", "-o", f"deployment.port={free_port()}"]  # fmt: skip
        started = time.perf_counter()
        result = subprocess.run(argv, env=env, cwd=work, capture_output=True, text=True, timeout=3600)
        times[run] = time.perf_counter() - started
        if result.returncode != 0:
            log(f"quickstart of {src} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="requests per measurement (llama.cpp)")
    parser.add_argument("--long-requests", type=int, default=100, help="requests of the longer run (llama.cpp)")
    parser.add_argument("--standin-requests", type=int, default=80)
    parser.add_argument("--capacities", type=int, nargs="+", default=[1, 2, 4], help="of the stand-in servers")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per measurement (medians)")
    parser.add_argument("--server-python", default=str(INFRA / "llm-venv" / "bin" / "python"))
    parser.add_argument("--model", default=str(INFRA / "models" / "gemma-3-270m-q4_k_m.gguf"))
    parser.add_argument("--quickstart", action="store_true", help="also time the quickstart (minutes)")
    parser.add_argument("--no-llama", action="store_true", help="skip the llama.cpp parts (1 and 2a)")
    parser.add_argument("--src", type=Path, action="append", help="checkouts to time the quickstart of")
    args = parser.parse_args()
    bench = Path(os.environ.get("NEL_BENCH_DIR", "/tmp/nel-bench"))
    env = {**os.environ, "NEL_HOME": str(bench / "home"), "NEMO_EVALUATOR_TELEMETRY_LEVEL": "0"}
    print(f"load average at start: {load()} ({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory(prefix="nel-throughput-") as tmp:
        work = Path(tmp)
        if args.no_llama:
            log("--no-llama: skipping the llama.cpp parts")
        elif Path(args.server_python).exists() and Path(args.model).exists():
            server, url, settings = start_llama(args.server_python, args.model)
            try:
                log("warming up (first nel run builds the harness venv)")
                through_nel(url, 2, 1, work, env)
                print(f"\n1. nel_bench.{TASK} requests on llama.cpp ({settings}); medians of "
                      f"{args.rounds} interleaved rounds")  # fmt: skip
                print(f"{'requests':>8} {'parallelism':>11} {'direct ms':>9} {'nel ms':>7} {'+ms/req':>7} "
                      f"{'direct wall s':>13} {'nel run wall s':>14} {'nel/direct':>10}   "
                      "nel run = NEL launch + job (nemo-evaluator + requests) + NEL finish, s")  # fmt: skip
                cases = [(args.requests, 1), (args.requests, 2), (args.long_requests, 1)]
                for count, parallelism in cases:
                    requests = bodies(count, "gemma-3-270m")
                    directs, nels = [], []
                    for _ in range(args.rounds):
                        directs.append(replay(url, requests, parallelism))
                        nels.append(through_nel(url, count, parallelism, work, env))
                    direct = {k: statistics.median(d[k] for d in directs) for k in ("latency", "wall")}
                    nel = {k: statistics.median(d[k] for d in nels) for k in ("latency", "wall")}
                    phases = {k: statistics.median(d["phases"][k] for d in nels) for k in ("launch", "job", "finish")}
                    print(f"{count:>8} {parallelism:>11} {direct['latency'] * 1000:9.0f} {nel['latency'] * 1000:7.0f} "
                          f"{(nel['latency'] - direct['latency']) * 1000:7.0f} {direct['wall']:13.2f} "
                          f"{nel['wall']:14.2f} {nel['wall'] / direct['wall']:10.2f}   "
                          f"{phases['launch']:.2f} + {phases['job']:.2f} + {phases['finish']:.2f}")  # fmt: skip
                auto = through_nel(url, args.requests, "auto", work, env)
                print(f"nel run with parallelism: auto (external endpoint: at most 16): settled at "
                      f"{auto['counts'].get('parallelism')}, {auto['counts'].get('tokens_per_s')} tokens/s, "
                      f"wall {auto['wall']:.2f} s")  # fmt: skip
                rows = sweep(url, args.requests, work, (1, 2, 4), 1, args.rounds)
                print_sweep("2a. llama.cpp (1 slot, so auto's maximum is 1): NEL's runner", rows)
            finally:
                server.terminate()
                server.wait(30)
        else:
            log(f"no llama.cpp server venv or model ({args.server_python}, {args.model}): skipping part 1")
        for capacity in args.capacities:
            standin = StandIn(capacity=capacity, service_s=0.05, tokens=8).start()
            try:
                rows = sweep(standin.url, args.standin_requests, work, (1, 2, 4, 8), 8, args.rounds)
                print_sweep(f"2b. stand-in of capacity {capacity} (429 beyond), 50 ms per request", rows)
                rows = sweep(standin.url, args.standin_requests, work, (1, 2, 4, 8), 8, args.rounds, through_proxy)
                print_sweep("2c. the same through nemo-evaluator's adapter proxy, as another harness runs: "
                            "a fixed pool, or 8 behind NEL's gate (auto); wall includes run_eval's start",
                            rows)  # fmt: skip
            finally:
                standin.stop()
        if args.quickstart:
            print("\n3. quickstart wall time (s)")
            for src in args.src or [ROOT]:
                times = quickstart(src.resolve(), work)
                print(f"{str(src):>40} first {times['first']:7.1f}  warm {times['warm']:6.1f}")
    print(f"\nload average at end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
