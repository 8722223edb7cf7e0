"""The ``mlflow`` exporter: one MLflow run per job, found again by its job id."""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from nel_core.errors import ExportError
from nel_core.exporting import artifact_files, log_files
from nel_core.ports.result_exporter import ExportItem, ExportReport, ResultExporter
from nel_exporter_mlflow._settings import MlflowSettings, flatten_config, sanitize_key, sanitize_value

__all__ = ["MlflowExporter"]


def _sdk(module: str) -> Any:
    """An MLflow module, imported only when the exporter runs (``mlflow-skinny``)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - the package depends on it
        message = f"the mlflow exporter needs MLflow's client: {exc}"
        raise ExportError(message, hint="pip install mlflow-skinny") from exc


class MlflowExporter(ResultExporter):
    """Logs each finished job as an MLflow run (NeMo Evaluator Launcher's ``mlflow`` destination).

    A run per job in ``experiment_name``: tags (invocation_id, job_id, task_name, benchmark,
    harness, executor, model, and ``tags``), params (invocation_id, executor, model,
    ``extra_metadata``, and with ``log_config_params`` the flattened run config), the row's
    metrics, and artifacts: the result files under ``<harness>.<task>/artifacts``, the run config
    as ``config.yaml`` and, with ``copy_logs``, the logs under ``<harness>.<task>/logs``.

    Exporting a job again finds its run by the ``job_id`` tag and logs into it (new metric values
    become the latest; MLflow keeps params as first logged), unless ``skip_existing``.

    Raises:
        ConfigError: when a setting is unknown or malformed, or no tracking URI is given.
    """

    name: ClassVar[str] = "mlflow"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self.options = MlflowSettings.read(settings)

    def client(self) -> Any:
        """MLflow's client for the tracking URI."""
        return _sdk("mlflow.tracking").MlflowClient(tracking_uri=self.options.tracking_uri)

    def experiment_id(self, client: Any) -> str:
        """The experiment's id, creating it when missing."""
        experiment = client.get_experiment_by_name(self.options.experiment_name)
        if experiment is not None:
            return str(experiment.experiment_id)
        try:
            return str(client.create_experiment(self.options.experiment_name))
        except Exception:  # another exporter created it meanwhile
            experiment = client.get_experiment_by_name(self.options.experiment_name)
            if experiment is None:
                raise
            return str(experiment.experiment_id)

    @staticmethod
    def find_run(client: Any, experiment_id: str, job_id: str) -> Any | None:
        """The run of ``job_id`` in the experiment, or None."""
        runs = client.search_runs([experiment_id], filter_string=f"tags.job_id = '{job_id}'", max_results=1)
        return runs[0] if runs else None

    def _tags(self, item: ExportItem) -> dict[str, str]:
        row = item.row
        tags: dict[str, Any] = {
            "invocation_id": row.invocation_id,
            "job_id": row.job_id,
            "task_name": row.task,
            "benchmark": row.task.partition(".")[2] or row.task,
            "harness": row.harness,
            "executor": row.executor,
            "model": row.model,
            "mlflow.runName": self.options.run_name or f"eval-{row.invocation_id}-{row.task}",
        }
        if self.options.description:
            tags["mlflow.note.content"] = self.options.description
        tags.update({k: v for k, v in self.options.tags.items() if v is not None})
        return {sanitize_key(k): sanitize_value(v, tag=True) for k, v in tags.items() if v != ""}

    def _params(self, item: ExportItem) -> dict[str, str]:
        params: dict[str, Any] = {
            "invocation_id": item.row.invocation_id,
            "executor": item.row.executor,
            "model": item.row.model,
        }
        params.update(self.options.extra_metadata)
        if self.options.log_config_params:
            params.update(flatten_config(item.invocation.config, max_depth=self.options.log_config_params_max_depth))
        return {sanitize_key(k): sanitize_value(v) for k, v in params.items()}

    def _log(self, client: Any, run_id: str, existing_params: dict[str, str], item: ExportItem) -> None:
        entities = _sdk("mlflow.entities")
        now = int(time.time() * 1000)
        params = {k: v for k, v in self._params(item).items() if k not in existing_params}
        client.log_batch(
            run_id,
            metrics=[entities.Metric(sanitize_key(k), v, now, 0) for k, v in item.row.metrics.items()],
            params=[entities.Param(k, v) for k, v in params.items()],
            tags=[entities.RunTag(k, v) for k, v in self._tags(item).items()],
        )
        root = f"{item.row.harness}.{item.row.task.partition('.')[2] or item.row.task}".strip(".")
        common = self.options.common
        if common.copy_artifacts:
            files = artifact_files(
                item.artifacts_dir, only_required=common.only_required, exclude=self.options.exclude_patterns
            )
            for path, name in files:
                folder = "/".join([root, "artifacts", *name.split("/")[:-1]])
                client.log_artifact(run_id, str(path), folder)
        client.log_dict(run_id, item.invocation.config, "config.yaml")
        if common.copy_logs:
            for path, name in log_files(item.job_dir):
                client.log_artifact(run_id, str(path), "/".join([root, "logs", *name.split("/")[:-1]]))

    def export(self, items: Sequence[ExportItem]) -> ExportReport:
        # The report is printed and recorded (auto-export): never with credentials of the URI.
        shown = re.sub(r"//[^/@]*@", "//", self.options.tracking_uri.rstrip("/"))
        location = f"{shown} (experiment {self.options.experiment_name})"
        if not items:
            return ExportReport(destination=self.name, location=location)
        client = self.client()
        try:
            experiment_id = self.experiment_id(client)
        except Exception as exc:
            raise ExportError(f"MLflow at {shown}: {type(exc).__name__}: {exc}") from exc
        exported: list[str] = []
        skipped: dict[str, str] = {}
        failed: dict[str, str] = {}
        for item in items:
            run_id = None
            try:
                found = self.find_run(client, experiment_id, item.job.id)
                if found is not None and self.options.skip_existing:
                    skipped[item.job.id] = f"run {found.info.run_id} exists already (skip_existing)"
                    continue
                if found is None:
                    run_id = client.create_run(experiment_id, tags={"job_id": item.job.id}).info.run_id
                    params: dict[str, str] = {}
                else:
                    run_id = found.info.run_id
                    client.update_run(run_id, status="RUNNING")
                    params = dict(found.data.params)
                self._log(client, run_id, params, item)
                client.set_terminated(run_id, "FINISHED")
                exported.append(item.job.id)
            except Exception as exc:  # noqa: BLE001 - one job's failure is reported, the others go on
                failed[item.job.id] = f"{type(exc).__name__}: {exc}"
                if run_id is not None:
                    try:
                        client.set_terminated(run_id, "FAILED")
                    except Exception:  # noqa: BLE001, S110 - the failure above is what the user needs
                        pass
        return ExportReport(
            destination=self.name, location=location, exported=exported, skipped=skipped, failed=failed
        )
