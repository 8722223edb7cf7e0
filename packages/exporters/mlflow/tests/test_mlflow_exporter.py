"""The ``mlflow`` exporter in the fast tier: core's contract against MLflow's file store, settings."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from nel_exporter_mlflow import MlflowExporter
from nel_exporter_mlflow._settings import flatten_config, sanitize_key

from nel_core.errors import ConfigError
from nel_core.ports.result_exporter import ResultExporter
from nel_core.testing.contracts import ResultExporterContract


def _runs(exporter: ResultExporter) -> list[Any]:
    assert isinstance(exporter, MlflowExporter)
    client = exporter.client()
    experiment = client.get_experiment_by_name(exporter.options.experiment_name)
    return list(client.search_runs([experiment.experiment_id])) if experiment else []


class TestMlflowFileStoreContract(ResultExporterContract):
    """The MLflow exporter passes core's exporter contract against MLflow's own file store."""

    @pytest.fixture
    def exporter(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ResultExporter:
        monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
        return MlflowExporter({"tracking_uri": (tmp_path / "mlruns").as_uri(), "experiment_name": "contract"})

    def stored(self, exporter: ResultExporter) -> list[tuple[str, dict[str, float]]]:
        return [(run.data.tags["job_id"], dict(run.data.metrics)) for run in _runs(exporter)]

    def stored_fields(self, exporter: ResultExporter) -> dict[str, Mapping[str, str]]:
        tags = [run.data.tags for run in _runs(exporter)]
        return {t["job_id"]: {"invocation_id": t["invocation_id"], "task": t["task_name"]} for t in tags}


def test_tracking_uri_from_the_environment_or_a_variable_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """``tracking_uri`` may name a variable holding it; without it MLFLOW_TRACKING_URI; else an error."""
    monkeypatch.setenv("MY_MLFLOW", "http://127.0.0.1:1")
    assert MlflowExporter({"tracking_uri": "MY_MLFLOW"}).options.tracking_uri == "http://127.0.0.1:1"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:2")
    assert MlflowExporter({}).options.tracking_uri == "http://127.0.0.1:2"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    with pytest.raises(ConfigError, match=r"^export.mlflow.tracking_uri: not set"):
        MlflowExporter({})
    with pytest.raises(ConfigError, match=r"^export.mlflow.experiment: unknown setting"):
        MlflowExporter({"tracking_uri": "http://x", "experiment": "e"})


def test_names_and_config_params_are_made_acceptable() -> None:
    """Metric names lose characters MLflow refuses; the config flattens to a bounded depth."""
    assert sanitize_key("humaneval_pass@1_score") == "humaneval_pass_at_1_score"
    assert sanitize_key("a:b(c)") == "a_b_c_"
    config = {"a": {"b": [1, {"c": None}]}, "d": "x"}
    assert flatten_config(config) == {"config.a.b.0": "1", "config.a.b.1.c": "null", "config.d": "x"}
    assert flatten_config(config, max_depth=2) == {"config.a.b": "[1, {'c': None}]", "config.d": "x"}


def test_importing_the_package_does_not_import_mlflow() -> None:
    """MLflow is imported only when an export runs."""
    code = "import sys, nel_exporter_mlflow; print(any(m.split('.')[0] == 'mlflow' for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_the_report_never_shows_credentials_of_the_uri() -> None:
    """A tracking URI with a user and password is reported (and so recorded) without them."""
    exporter = MlflowExporter({"tracking_uri": "https://user:pa55@mlflow.example:5000/", "experiment_name": "e"})
    assert exporter.export([]).location == "https://mlflow.example:5000 (experiment e)"
