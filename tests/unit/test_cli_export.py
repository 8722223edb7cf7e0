"""``nel export``: ids from the store or from folders, flags, and a destination that fails."""

from __future__ import annotations

import json
import shutil
from typing import Any

from .conftest import Nel, fake_config


def _launch(nel: Nel, extra: str = "") -> dict[str, Any]:
    nel.write("cfg.yaml", fake_config(nel.out, "simple_evals.mmlu_pro", "nel_bench.arithmetic", extra=extra))
    result = nel("run", "--config", "cfg.yaml", "--json")
    assert result.returncode == 0, result.stderr
    launched: dict[str, Any] = json.loads(result.stdout)
    return launched


def test_a_single_job_id_exports_that_job_only(nel: Nel) -> None:
    """``export <invocation>.<n>`` exports one job; its row carries the flat metric names."""
    launched = _launch(nel)
    job = launched["jobs"][1]["id"]
    target = nel.root / "one.jsonl"
    result = nel("export", job, "--dest", "example-jsonl", "-o", f"export.example-jsonl.path={target}", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["exported"] == [job]
    [record] = [json.loads(line) for line in target.read_text().splitlines()]
    assert record["job_id"] == job and record["task"] == "nel_bench.arithmetic"
    assert all(key.count("_") >= 2 for key in record["scores"]), record["scores"]


def test_log_metrics_flag_filters_every_exporter(nel: Nel) -> None:
    """``--log-metrics`` keeps only matching metrics (and their stderr) at the destination."""
    launched = _launch(nel)
    target = nel.root / "filtered.jsonl"
    result = nel("export", launched["invocation_id"], "--dest", "example-jsonl", "-o", f"path={target}",
                 "--log-metrics", "no-such-metric")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert all(json.loads(line)["scores"] == {} for line in target.read_text().splitlines())


def test_job_dirs_export_without_the_store(nel: Nel) -> None:
    """``--job-dirs`` reads the jobs from their folders: a copy elsewhere exports with no store there."""
    launched = _launch(nel)
    copy = nel.root / "copied"
    shutil.copytree(nel.out, copy)
    target = nel.root / "from-dirs.jsonl"
    fresh_home = {"NEL_HOME": str(nel.root / "no-store")}
    result = nel("export", launched["invocation_id"], "--job-dirs", str(copy), "--dest", "example-jsonl",
                 "-o", f"path={target}", "--json", env=fresh_home)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(json.loads(result.stdout)["exported"]) == sorted(j["id"] for j in launched["jobs"])
    assert not (nel.root / "no-store").exists()
    everything = nel("export", "--job-dirs", str(copy), "--dest", "example-jsonl", "-o", f"path={target}",
                     env=fresh_home)  # fmt: skip
    assert everything.returncode == 0 and everything.stdout.startswith("exported 2 job(s)"), everything.stderr
    missing = nel("export", "ffff0000", "--job-dirs", str(copy), "--dest", "example-jsonl", env=fresh_home)
    assert missing.returncode == 1 and "ffff0000: no such invocation or job" in missing.stderr


def test_a_failing_destination_names_the_jobs_and_exits_non_zero(nel: Nel) -> None:
    """A refusing destination: exit 1, the error names every job not exported, JSON says the same."""
    launched = _launch(nel)
    ids = sorted(j["id"] for j in launched["jobs"])
    result = nel("export", launched["invocation_id"], "--dest", "fake", "-o", "fail=true", "--json")
    assert result.returncode == 1
    assert result.stderr.startswith("error: fake: ") and all(i in result.stderr for i in ids), result.stderr
    report = json.loads(result.stdout)
    assert report["exported"] == [] and sorted(report["failed"]) == ids


def test_settings_come_from_the_config_then_overrides(nel: Nel) -> None:
    """The config's ``export.<dest>`` block is used, ``-o`` replaces a key, a flag wins over both."""
    target = nel.root / "configured.jsonl"
    launched = _launch(nel, extra=f"export:\n  example-jsonl:\n    path: {target}\n")
    assert nel("export", launched["invocation_id"], "--dest", "example-jsonl").returncode == 0
    assert len(target.read_text().splitlines()) == 2
    other = nel.root / "other.jsonl"
    assert nel("export", launched["invocation_id"], "--dest", "example-jsonl", "-o", f"path={other}").returncode == 0
    assert other.exists()
    refused = nel("export", launched["invocation_id"], "--dest", "fake", "-o", "log_metrics=3")
    assert refused.returncode == 2 and "error: export.fake.log_metrics: expected a list" in refused.stderr
    flag_wins = nel("export", launched["invocation_id"], "--dest", "fake", "--log-metrics", "a", "-o", "log_metrics=3")
    assert flag_wins.returncode == 0, flag_wins.stderr
    nothing = nel("export", "--dest", "fake")
    assert nothing.returncode == 2 and "give invocation or job ids, or --job-dirs DIR" in nothing.stderr


def test_local_flags_of_nemo_evaluator_launcher(nel: Nel) -> None:
    """``--dest local --format csv --output-dir --copy-logs --log-metrics`` writes the filtered CSV and logs."""
    import csv

    launched = _launch(nel)
    out = nel.root / "results"
    result = nel("export", launched["invocation_id"], "--dest", "local", "--format", "csv", "--output-dir", str(out),
                 "--copy-logs", "--log-metrics", "accuracy")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"exported 2 job(s) to local: {out / 'processed_results.csv'}")
    with (out / "processed_results.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert sorted(r["Job ID"] for r in rows) == sorted(j["id"] for j in launched["jobs"])
    base = ("Model Name", "Harness", "Task Name", "Executor", "Invocation ID", "Job ID")
    metric_columns = [c for c in rows[0] if c not in base]
    assert metric_columns and all("accuracy" in c for c in metric_columns), metric_columns
    assert all((out / launched["invocation_id"] / j["id"] / "logs" / "job.log").exists() for j in launched["jobs"])


def test_auto_export_runs_once_when_status_learns_of_success(nel: Nel) -> None:
    """``execution.auto_export.destinations``: the first command that sees the jobs succeed exports them, once."""
    target = nel.root / "auto.jsonl"
    extra = f"export:\n  example-jsonl:\n    path: {target}\n"
    config = fake_config(nel.out, "simple_evals.mmlu_pro", "nel_bench.arithmetic", extra=extra)
    auto = "  type: fake\n  auto_export:\n    destinations: [example-jsonl]\n"
    nel.write("cfg.yaml", config.replace("  type: fake\n", auto))
    launched = json.loads(nel("run", "--config", "cfg.yaml", "--json").stdout)
    status = nel("status", launched["invocation_id"], "--json")
    assert status.returncode == 0, status.stderr
    json.loads(status.stdout)  # the output stays clean JSON while exporting
    lines = target.read_text().splitlines()
    assert sorted(json.loads(line)["job_id"] for line in lines) == sorted(j["id"] for j in launched["jobs"])
    target.write_text("")  # were it exported again, the lines would come back
    assert nel("status", launched["invocation_id"]).returncode == 0
    assert target.read_text() == ""
    info = json.loads(nel("info", launched["invocation_id"], "--json").stdout)
    assert [job["auto_export"]["example-jsonl"]["location"] for job in info["jobs"]] == [str(target)] * 2
    assert f"auto-export example-jsonl: {target}" in nel("info", launched["invocation_id"]).stdout


def test_a_run_naming_an_unknown_destination_stops_before_anything(nel: Nel) -> None:
    """An auto-export destination that is not installed, or misconfigured, fails the run before it is recorded."""
    nel.write("cfg.yaml", fake_config(nel.out).replace("  type: fake\n", "  type: fake\n  auto_export:\n"
                                                     "    destinations: [mlfow]\n"))  # fmt: skip
    result = nel("run", "--config", "cfg.yaml")
    assert result.returncode == 2 and "unknown exporter 'mlfow'" in result.stderr, result.stderr
    assert nel.rows() in (None, {"invocations": [], "jobs": []})
    nel.write("bad.yaml", fake_config(nel.out, extra="export:\n  local:\n    formt: csv\n").replace(
        "  type: fake\n", "  type: fake\n  auto_export:\n    destinations: [local]\n"))  # fmt: skip
    bad = nel("run", "--config", "bad.yaml")
    assert bad.returncode == 2 and "export.local.formt: unknown setting" in bad.stderr, bad.stderr
