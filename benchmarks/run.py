"""Benchmark NEL's CLI against the reference, NeMo Evaluator Launcher 0.2.6, side by side.

Run from the repo root (``nox -s benchmarks`` does) with NEL installed in the running interpreter::

    python benchmarks/run.py [--repeat N] [--bench-dir DIR] [--no-reference]

The reference is installed once into a cached venv under ``${NEL_BENCH_DIR:-/tmp/nel-bench}``. Both programs run
with the same environment (telemetry off, a dummy API key, ``NEL_HOME`` in a temp dir) and, when possible, inside
``unshare -n`` (a fresh network namespace: no outside host is reachable). Cases: ``--help``, ``ls tasks`` and
``run --dry-run`` of configs with 1, 50 and 400 chat tasks against an external endpoint. Each case gets one untimed
warm-up run per program (which must exit 0), then ``--repeat`` timed runs, interleaved between the programs.

Reported per case and program: median wall time and the largest peak RSS (from ``os.wait4``); plus the ratio
reference/NEL and PASS/MISS against NEL's targets. Results also go to ``<bench dir>/results.json``. Nothing is
asserted: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from dataclasses import asdict, dataclass, field
from pathlib import Path

REF_VERSION = "0.2.6"
REF_PACKAGE = f"nemo-evaluator-launcher=={REF_VERSION}"
REF_SCRIPT = "nemo-evaluator-launcher"
ENDPOINT = "http://127.0.0.1:9/v1/chat/completions"
DRY_RUN_SIZES = (1, 50, 400)
TARGETS = {"--help": 0.150, "ls tasks": 0.250, "dry-run 400": 1.0}  # seconds, NEL medians


@dataclass
class Program:
    """One of the two command lines under test."""

    name: str
    argv: list[str]


@dataclass
class Case:
    """One benchmark case: the arguments passed to each program (plus a config for dry-runs)."""

    name: str
    args: list[str]
    dry_run: bool = False


@dataclass
class Result:
    """Measurements of one case on one program."""

    times: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None


# --- setup -------------------------------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def ensure_reference(bench_dir: Path) -> tuple[Path | None, str]:
    """Return the reference's console script (installing it once into a cached venv) and a status note."""
    env_dir = bench_dir / f"ref-{REF_VERSION}"
    script = env_dir / "bin" / REF_SCRIPT
    python = env_dir / "bin" / "python"
    if script.exists() and _installed_version(python) == REF_VERSION:
        return script, f"cached in {env_dir}"
    log(f"installing {REF_PACKAGE} into {env_dir} (once)")
    shutil.rmtree(env_dir, ignore_errors=True)
    try:
        venv.create(env_dir, with_pip=True, clear=True)
        proc = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", REF_PACKAGE],
            capture_output=True,
            text=True,
            timeout=1200,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"could not install {REF_PACKAGE}: {exc}"
    if proc.returncode != 0 or not script.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return None, f"could not install {REF_PACKAGE} (no network?): {' | '.join(tail)}"
    return script, f"installed into {env_dir}"


def _installed_version(python: Path) -> str | None:
    if not python.exists():
        return None
    code = "import importlib.metadata as m; print(m.version('nemo-evaluator-launcher'))"
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def network_wrapper() -> list[str]:
    """``["unshare", "-n"]`` when a new network namespace can be made here, else ``[]``."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    log("WARNING: `unshare -n` unavailable; running both programs with the host network")
    return []


def base_env(nel_home: Path) -> dict[str, str]:
    """The environment shared by both programs."""
    env = dict(os.environ)
    env.update(
        NEMO_EVALUATOR_TELEMETRY_LEVEL="0",
        NEL_HOME=str(nel_home),
        API_KEY="dummy",
        NGC_API_KEY="dummy",
        HF_TOKEN="dummy",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


# --- tasks and configs -------------------------------------------------------------------------------------------


def nel_chat_tasks(nel: Program, env: dict[str, str]) -> list[str]:
    """NEL's qualified task names whose endpoint types include chat, in listing order."""
    out = subprocess.run([*nel.argv, "ls", "tasks", "--json"], capture_output=True, text=True, env=env, check=True)
    return [row["task"] for row in json.loads(out.stdout) if "chat" in row.get("endpoint_types", [])]


def reference_chat_tasks(ref: Program, env: dict[str, str]) -> set[str]:
    """Qualified ``harness.task`` names the reference lists with a chat endpoint type."""
    out = subprocess.run([*ref.argv, "ls", "tasks"], capture_output=True, text=True, env=env, check=True)
    return parse_reference_listing(out.stdout)


def parse_reference_listing(text: str) -> set[str]:
    """Parse the reference's ``ls tasks`` table: per-harness sections of ``task  endpoint_type  ...`` rows."""
    tasks: set[str] = set()
    harness = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.lower().startswith("harness:"):
            harness = stripped.split(":", 1)[1].strip()
            continue
        cols = stripped.split()
        if harness and len(cols) >= 2 and cols[1] == "chat":
            tasks.add(f"{harness}.{cols[0]}")
    return tasks


def common_chat_tasks(programs: list[Program], env: dict[str, str]) -> list[str]:
    """Distinct chat tasks listed by every program (NEL's listing order)."""
    tasks = list(dict.fromkeys(nel_chat_tasks(programs[0], env)))
    if len(programs) > 1:
        ref_tasks = reference_chat_tasks(programs[1], env)
        tasks = [t for t in tasks if t in ref_tasks]
    return tasks


def pick_tasks(candidates: list[str], n: int) -> list[str]:
    """N task names, cycling through the candidates when there are fewer than N distinct ones."""
    return [candidates[i % len(candidates)] for i in range(n)]


def write_config(path: Path, tasks: list[str]) -> Path:
    """A config in the reference's 0.2.6 format (NEL reads the same one)."""
    lines = [
        "defaults:",
        "  - execution: local",
        "  - deployment: none",
        "  - _self_",
        "execution:",
        "  output_dir: ./bench-results",
        "target:",
        "  api_endpoint:",
        f"    url: {ENDPOINT}",
        "    model_id: x",
        "    api_key_name: API_KEY",
        "evaluation:",
        "  tasks:",
        *(f"    - name: {task}" for task in tasks),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def build_cases(config_dir: Path, tasks: list[str]) -> list[Case]:
    cases = [Case("--help", ["--help"]), Case("ls tasks", ["ls", "tasks"])]
    for n in DRY_RUN_SIZES:
        config = write_config(config_dir / f"tasks-{n}.yaml", pick_tasks(tasks, n))
        cases.append(Case(f"dry-run {n}", ["run", "--config", str(config), "--dry-run"], dry_run=True))
    return cases


# --- measuring ---------------------------------------------------------------------------------------------------


def run_once(argv: list[str], env: dict[str, str], log_path: Path) -> tuple[float, float, int]:
    """Run argv to completion; return (wall seconds, peak RSS in MB of it and its waited-for children, exit code)."""
    with log_path.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, proc.returncode  # ru_maxrss is in KB on Linux


def case_argv(program: Program, case: Case, wrap: list[str], work: Path) -> list[str]:
    argv = [*wrap, *program.argv, *case.args]
    if case.dry_run:
        out_dir = Path(tempfile.mkdtemp(prefix="out-", dir=work))
        argv += ["-o", f"execution.output_dir={out_dir}"]
    return argv


def measure_case(case: Case, programs: list[Program], repeat: int, ctx: dict) -> dict[str, Result]:
    """Warm up each program once (it must exit 0), then time `repeat` interleaved runs."""
    results = {p.name: Result() for p in programs}
    log_path = ctx["work"] / "last.log"
    for program in programs:
        _, _, code = run_once(case_argv(program, case, ctx["wrap"], ctx["work"]), ctx["env"], log_path)
        if code != 0:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
            results[program.name].error = f"exit {code}: " + " | ".join(tail)
            log(f"{program.name} failed on '{case.name}': {results[program.name].error}")
    for _ in range(repeat):
        for program in programs:
            result = results[program.name]
            if result.error:
                continue
            wall, rss, code = run_once(case_argv(program, case, ctx["wrap"], ctx["work"]), ctx["env"], log_path)
            if code != 0:
                result.error = f"exit {code} on a timed run"
                continue
            result.times.append(wall)
            result.peak_rss_mb = max(result.peak_rss_mb, rss)
    return results


# --- reporting ---------------------------------------------------------------------------------------------------


def fmt_ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def target_flag(case: str, median: float | None) -> str:
    if case not in TARGETS or median is None:
        return ""
    limit = TARGETS[case]
    return f"{'PASS' if median < limit else 'MISS'} (<{limit * 1000:.0f} ms)"


def print_table(table: dict[str, dict[str, Result]], has_ref: bool, has_baseline: bool = False) -> None:
    header = ["case", "NEL median", "NEL peak RSS", "NEL target"]
    if has_ref:
        header += ["ref median", "ref peak RSS", "ref/NEL"]
    if has_baseline:
        header += ["baseline median", "NEL/baseline"]
    rows = [header]
    for case, results in table.items():
        nel = results["nel"]
        row = [case, fmt_ms(nel.median) if not nel.error else "FAILED", f"{nel.peak_rss_mb:.0f} MB"]
        row.append(target_flag(case, nel.median))
        if has_ref:
            ref = results["reference"]
            ratio = f"{ref.median / nel.median:.1f}x" if ref.median and nel.median else "-"
            row += [fmt_ms(ref.median) if not ref.error else "FAILED", f"{ref.peak_rss_mb:.0f} MB", ratio]
        if has_baseline:
            base = results["baseline"]
            ratio = f"{nel.median / base.median:.2f}" if base.median and nel.median else "-"
            row += [fmt_ms(base.median) if not base.error else "FAILED", ratio]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def write_results(path: Path, table: dict[str, dict[str, Result]], meta: dict) -> None:
    data = {
        "meta": meta,
        "cases": {
            case: {name: {**asdict(r), "median": r.median} for name, r in results.items()}
            for case, results in table.items()
        },
    }
    path.write_text(json.dumps(data, indent=2) + "\n")


# --- main --------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case per program (default 5)")
    parser.add_argument("--bench-dir", type=Path, default=Path(os.environ.get("NEL_BENCH_DIR", "/tmp/nel-bench")))
    parser.add_argument("--no-reference", action="store_true", help="measure NEL only")
    parser.add_argument(
        "--baseline", type=Path, default=None,
        help="another NEL's interpreter (e.g. an older commit's venv) measured side by side as 'baseline'",
    )  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.bench_dir.mkdir(parents=True, exist_ok=True)
    nel = Program("nel", [sys.executable, "-m", "nel_cli"])
    ref_script, ref_note = (None, "skipped (--no-reference)") if args.no_reference else ensure_reference(args.bench_dir)
    if ref_script is None:
        log(f"reference unavailable, measuring NEL only: {ref_note}")
    programs = [nel] + ([Program("reference", [str(ref_script)])] if ref_script else [])
    if args.baseline:
        programs.append(Program("baseline", [str(args.baseline), "-m", "nel_cli"]))

    with tempfile.TemporaryDirectory(prefix="nel-bench-") as tmp:
        work = Path(tmp)
        env = base_env(work / "nel-home")
        wrap = network_wrapper()
        candidates = common_chat_tasks(programs, env)
        if not candidates:
            log("no chat task is listed by both programs")
            return 1
        log(f"{len(candidates)} distinct chat tasks listed by {' and '.join(p.name for p in programs)}")
        cases = build_cases(work, candidates)
        ctx = {"work": work, "env": env, "wrap": wrap}
        table = {}
        for case in cases:
            log(f"measuring '{case.name}' x{args.repeat}")
            table[case.name] = measure_case(case, programs, args.repeat, ctx)
        # The floor of any Python program: NEL's interpreter starting and doing nothing.
        interpreter = [Program("nel", [sys.executable])]
        bare = measure_case(Case("python -c pass", ["-c", "pass"]), interpreter, args.repeat, ctx)

    print(f"\nNEL vs nemo-evaluator-launcher {REF_VERSION} — median of {args.repeat} runs (reference: {ref_note})")
    meta = {
        "repeat": args.repeat,
        "reference_installed": ref_script is not None,
        "reference_note": ref_note,
        "network": "unshare -n" if wrap else "host",
        "distinct_tasks": len(candidates),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "targets_seconds": TARGETS,
    }
    print(f"network: {meta['network']}; distinct chat tasks: {len(candidates)}; cpus: {meta['cpus']}; ", end="")
    print(f"load average: {' '.join(map(str, meta['load_average_at_end']))}\n")
    print_table(table, has_ref=ref_script is not None, has_baseline=args.baseline is not None)
    floor, help_time = bare["nel"].median, table["--help"]["nel"].median
    if floor and help_time:
        print(f"\nbare interpreter (python -c pass): {fmt_ms(floor)}; NEL --help / bare: {help_time / floor:.1f}x")
    meta["bare_interpreter_seconds"] = floor
    results_path = args.bench_dir / "results.json"
    write_results(results_path, table, meta)
    print(f"\nresults: {results_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
