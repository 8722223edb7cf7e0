"""The ``mlflow`` exporter against a real MLflow tracking server (``scripts/infra.sh start mlflow``).

Everything is read back through MLflow's own client: runs found by their ``job_id`` tag, tags,
params, metrics with their history, and artifacts downloaded from the server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from nel_exporter_mlflow import MlflowExporter

from nel_core.models.domain import Invocation, Job, JobState
from nel_core.services import export_results
from nel_core.testing import make_invocation, make_jobs, write_results
from nel_core.yaml_io import dump, load

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tracking_uri() -> str:
    uri = os.environ.get("NEL_TEST_MLFLOW_URI")
    if not uri:
        pytest.fail("NEL_TEST_MLFLOW_URI is not set: scripts/infra.sh start mlflow; eval \"$(scripts/infra.sh env)\"")
    return uri


@pytest.fixture
def experiment() -> str:
    return f"nel-test-{uuid.uuid4().hex[:10]}"


def _client(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _run_folder(root: Path, invocation_id: str) -> tuple[Invocation, list[Job]]:
    config = {
        "execution": {"type": "local", "output_dir": str(root)},
        "target": {"api_endpoint": {"model_id": "gemma-3-270m", "url": "http://127.0.0.1:8008/v1/chat/completions"}},
        "evaluation": {"tasks": [{"name": "simple_evals.mmlu"}, {"name": "nel_bench.arithmetic"}]},
    }
    invocation = make_invocation(invocation_id, executor="local", output_dir=str(root / invocation_id), config=config)
    (root / invocation_id).mkdir(parents=True, exist_ok=True)
    (root / invocation_id / "config.yaml").write_text(dump(config))
    jobs = make_jobs(invocation, 2, states=[JobState.SUCCESS] * 2, root=root / invocation_id)
    for job, task in zip(jobs, ("mmlu", "arithmetic")):
        folder = Path(job.job_dir)
        write_results(folder / "artifacts", task, {"accuracy": 0.5 + job.index / 10, "f1.macro": 0.25})
        (folder / "artifacts" / "eval_factory_metrics.json").write_text('{"response_stats": {}}')
        (folder / "run_config.yml").write_text(dump({"target": {"api_endpoint": {"model_id": "gemma-3-270m"}}}))
        (folder / "job.log").write_text(f"log of {job.id}\n")
        (folder / "stage.exit").write_text("0\n")
    return invocation, jobs


def test_runs_metrics_params_and_artifacts_read_back(tmp_path: Path, tracking_uri: str, experiment: str) -> None:
    """Each job is a run with its tags, params, metrics and artifacts, as MLflow's client reads them."""
    invocation, jobs = _run_folder(tmp_path, "aaaa0001")
    settings = {"tracking_uri": tracking_uri, "experiment_name": experiment, "copy_logs": True,
                "tags": {"team": "eval"}, "extra_metadata": {"hardware": "cpu"}, "description": "smoke",
                "log_config_params": True, "log_config_params_max_depth": 2}  # fmt: skip
    report = export_results(MlflowExporter(settings), [(invocation, jobs)])
    assert sorted(report.exported) == [job.id for job in jobs]
    client = _client(tracking_uri)
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    for job, task in zip(jobs, ("mmlu", "arithmetic")):
        [run] = client.search_runs([experiment_id], filter_string=f"tags.job_id = '{job.id}'")
        run = client.get_run(run.info.run_id)
        assert run.info.status == "FINISHED"
        tags = run.data.tags
        assert {k: tags[k] for k in ("invocation_id", "job_id", "task_name", "harness", "executor", "team")} == {
            "invocation_id": "aaaa0001", "job_id": job.id, "task_name": job.task_name, "harness": "harness",
            "executor": "local", "team": "eval",
        }  # fmt: skip
        assert tags["mlflow.runName"] == f"eval-aaaa0001-{job.task_name}"
        assert tags["mlflow.note.content"] == "smoke"
        params = run.data.params
        assert params["invocation_id"] == "aaaa0001" and params["hardware"] == "cpu"
        assert params["model"] == "gemma-3-270m"
        assert params["config.target.api_endpoint"].startswith("{")  # depth 2 stops there
        assert params["config.execution.type"] == "local"
        assert run.data.metrics == {
            f"{task}_accuracy_accuracy": pytest.approx(0.5 + job.index / 10),
            f"{task}_accuracy_accuracy_stderr": 0.0,
            f"{task}_f1_macro": 0.25,
            f"{task}_f1_macro_stderr": 0.0,
        }
        root = f"harness.task{job.index}"
        names = {a.path for a in client.list_artifacts(run.info.run_id, f"{root}/artifacts")}
        assert names == {f"{root}/artifacts/results.yml", f"{root}/artifacts/eval_factory_metrics.json"}
        assert {a.path for a in client.list_artifacts(run.info.run_id, f"{root}/logs")} == {f"{root}/logs/job.log"}
        downloaded = Path(client.download_artifacts(run.info.run_id, f"{root}/artifacts/results.yml", str(tmp_path)))
        assert downloaded.read_text() == (Path(job.job_dir) / "artifacts" / "results.yml").read_text()
        config = load(Path(client.download_artifacts(run.info.run_id, "config.yaml", str(tmp_path))).read_text())
        assert config["evaluation"]["tasks"][0]["name"] == "simple_evals.mmlu"


def test_re_export_finds_the_run_by_job_id(tmp_path: Path, tracking_uri: str, experiment: str) -> None:
    """Exporting again logs into the same run (new values latest), never a second run; skip_existing skips."""
    invocation, jobs = _run_folder(tmp_path, "bbbb0002")
    settings = {"tracking_uri": tracking_uri, "experiment_name": experiment}
    export_results(MlflowExporter(settings), [(invocation, jobs)])
    client = _client(tracking_uri)
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    first = {r.data.tags["job_id"]: r.info.run_id for r in client.search_runs([experiment_id])}
    write_results(Path(jobs[0].job_dir) / "artifacts", "mmlu", {"accuracy": 0.875, "f1.macro": 0.25})
    export_results(MlflowExporter(settings), [(invocation, jobs)])
    runs = client.search_runs([experiment_id])
    assert {r.data.tags["job_id"]: r.info.run_id for r in runs} == first
    run = client.get_run(first[jobs[0].id])
    assert run.data.metrics["mmlu_accuracy_accuracy"] == 0.875
    history = [m.value for m in client.get_metric_history(run.info.run_id, "mmlu_accuracy_accuracy")]
    assert sorted(history) == [0.5, 0.875]
    report = export_results(MlflowExporter({**settings, "skip_existing": True}), [(invocation, jobs)])
    assert report.exported == [] and all("exists already (skip_existing)" in r for r in report.skipped.values())
    assert len(client.search_runs([experiment_id])) == 2


def test_nel_export_with_job_dirs_to_the_server(tmp_path: Path, tracking_uri: str, experiment: str) -> None:
    """``nel export --job-dirs DIR --dest mlflow`` finds the exporter by its entry point and writes the runs."""
    _run_folder(tmp_path / "out", "cccc0003")
    env = {**os.environ, "NEL_HOME": str(tmp_path / "home"), "NEMO_EVALUATOR_TELEMETRY_LEVEL": "0",
           "MY_TRACKING": tracking_uri}  # fmt: skip
    args = ["export", "cccc0003.1", "--job-dirs", str(tmp_path / "out"), "--dest", "mlflow",
            "-o", "export.mlflow.tracking_uri=MY_TRACKING", "-o", f"export.mlflow.experiment_name={experiment}",
            "--log-metrics", "accuracy"]  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "nel_cli", *args], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    client = _client(tracking_uri)
    [run] = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    assert run.data.tags["job_id"] == "cccc0003.1"
    assert set(run.data.metrics) == {"arithmetic_accuracy_accuracy", "arithmetic_accuracy_accuracy_stderr"}
    assert "MY_TRACKING" not in str(run.data.params) and tracking_uri not in str(run.data.params)
