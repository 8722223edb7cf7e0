"""The ``wandb`` exporter in offline mode, its runs read back through W&B's own reader."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from nel_exporter_wandb import WandbExporter

from nel_core.errors import ConfigError
from nel_core.ports.result_exporter import ResultExporter
from nel_core.testing.contracts import ResultExporterContract


def _leet(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "wandb", "leet", "inspect", "--json", *args],
                            capture_output=True, text=True, check=True)  # fmt: skip
    return result.stdout


def offline_runs(home: Path) -> dict[str, dict[str, Any]]:
    """The runs W&B wrote under ``home``, read by ``wandb leet inspect``: run id -> its latest run.

    A run exported again is resumed under the same id (a new offline folder that ``wandb sync``
    adds to the same run): only the last written is kept, as W&B shows it after the sync.
    """
    latest: dict[str, dict[str, Any]] = {}
    for folder in sorted((home / "wandb").glob("offline-run-*")):
        run: dict[str, Any] = json.loads(_leet("--summary", str(folder)))
        run["records"] = [json.loads(line) for line in _leet(str(folder)).splitlines() if line.strip()]
        run["metrics"] = {k: v for k, v in run["summary"].items() if not k.startswith("_")}
        known = latest.get(run["run_id"])
        if known is None or run["last_write"] > known["last_write"]:
            latest[run["run_id"]] = run
    return latest


def record(run: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The records of one kind (``run``, ``history``, ``artifact``, ...) of a run's log."""
    return [r[kind] for r in run["records"] if r.get("type") == kind]


class TestWandbOfflineContract(ResultExporterContract):
    """The W&B exporter (per_task, offline) passes core's exporter contract."""

    @pytest.fixture
    def exporter(self, offline: Path) -> ResultExporter:
        self.home = offline
        return WandbExporter({"entity": "nel", "project": "contract"})

    def stored(self, exporter: ResultExporter) -> list[tuple[str, dict[str, float]]]:
        if not (self.home / "wandb").exists():
            return []
        return [(run["config"]["job_id"], run["metrics"]) for run in offline_runs(self.home).values()]

    def stored_fields(self, exporter: ResultExporter) -> dict[str, Mapping[str, str]]:
        runs = offline_runs(self.home).values()
        return {r["config"]["job_id"]: {"invocation_id": r["config"]["invocation_id"], "task": r["config"]["benchmark"]}
                for r in runs}  # fmt: skip


def test_per_task_runs_carry_config_group_history_and_an_artifact(offline: Path, tmp_path: Path) -> None:
    """Each job is a run grouped by invocation, with its config, metrics in history and summary, and files."""
    items = TestWandbOfflineContract().items(tmp_path / "jobs")
    settings = {"entity": "nel", "project": "p", "tags": ["nightly"], "description": "smoke", "copy_logs": True,
                "extra_metadata": {"hardware": "cpu"}, "job_type": "eval"}  # fmt: skip
    report = WandbExporter(settings).export(items)
    assert report.location == "wandb:nel/p" and sorted(report.exported) == [i.job.id for i in items]
    runs = offline_runs(offline)
    assert sorted(runs) == ["e0e0e0e0.0", "e0e0e0e0.1"]
    for item in items:
        run = runs[item.job.id]
        assert (run["entity"], run["project"], run["state"], run["exit_code"]) == ("nel", "p", "finished", 0)
        assert run["name"] == f"eval-e0e0e0e0-{item.row.task}" and run["tags"] == ["nightly"]
        assert run["notes"] == "smoke"
        assert {k: v for k, v in run["config"].items() if not k.startswith("_")} == {
            "invocation_id": "e0e0e0e0", "job_id": item.job.id, "executor": "fake", "harness": "harness",
            "benchmark": item.row.task, "model": "", "hardware": "cpu",
        }  # fmt: skip
        [header] = record(run, "run")
        assert (header["run_group"], header["job_type"]) == ("e0e0e0e0", "eval")
        [history] = record(run, "history")
        logged = {k: v for k, v in history["item"].items() if not k.startswith("_")}
        assert logged == pytest.approx(item.row.metrics) and run["metrics"] == pytest.approx(item.row.metrics)
        [artifact] = record(run, "artifact")
        assert (artifact["name"], artifact["type"]) == (f"e0e0e0e0_{item.row.task}", "evaluation_result")
        paths = {entry["path"] for entry in artifact["manifest"]["contents"]}
        root = f"harness.task{item.job.index}"
        assert paths == {f"{root}/artifacts/results.yml", f"{root}/logs/job.log"}


def test_multi_task_is_one_run_per_invocation(offline: Path, tmp_path: Path) -> None:
    """multi_task logs every job of an invocation into one run, resumed (not doubled) on re-export."""
    first = TestWandbOfflineContract().items(tmp_path / "a", invocation_id="aaaa0001")
    second = TestWandbOfflineContract().items(tmp_path / "b", invocation_id="bbbb0002", count=1)
    exporter = WandbExporter({"entity": "nel", "project": "p", "log_mode": "multi_task"})
    exporter.export([*first, *second])
    exporter.export(first)
    runs = offline_runs(offline)
    assert sorted(runs) == ["aaaa0001", "bbbb0002"]
    run = runs["aaaa0001"]
    assert run["name"] == "eval-aaaa0001"
    assert run["config"]["benchmarks"] == ["harness.task0", "harness.task1"]
    assert run["config"]["job_ids"] == ["aaaa0001.0", "aaaa0001.1"]
    expected = {**first[0].row.metrics, **first[1].row.metrics}
    assert run["metrics"] == pytest.approx(expected)
    [artifact] = record(run, "artifact")
    assert artifact["name"] == "aaaa0001"
    assert {e["path"] for e in artifact["manifest"]["contents"]} == {
        "harness.task0/artifacts/results.yml", "harness.task1/artifacts/results.yml"
    }  # fmt: skip
    assert record(run, "run")[0]["resume"] is True


def test_settings_are_checked() -> None:
    """entity and project are required; log_mode is per_task or multi_task; unknown keys are named."""
    with pytest.raises(ConfigError, match=r"^export.wandb.entity: not set"):
        WandbExporter({"project": "p"})
    with pytest.raises(ConfigError, match=r"^export.wandb.log_mode: expected one of multi_task, per_task"):
        WandbExporter({"entity": "e", "project": "p", "log_mode": "both"})
    with pytest.raises(ConfigError, match=r"^export.wandb.team: unknown setting"):
        WandbExporter({"entity": "e", "project": "p", "team": "x"})


def test_importing_the_package_does_not_import_wandb() -> None:
    """The W&B SDK is imported only when an export runs."""
    code = "import sys, nel_exporter_wandb; print(any(m.split('.')[0] == 'wandb' for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
