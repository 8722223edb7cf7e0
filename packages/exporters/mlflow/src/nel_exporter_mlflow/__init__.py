"""nel-exporter-mlflow: each finished job as a run of an MLflow tracking server.

Registered as ``mlflow`` in the ``nel.exporters`` entry-point group. MLflow's client
(``mlflow-skinny``) is imported only when an export runs, never when this package is imported.
"""

from nel_core.ports.result_exporter import ExporterSpec
from nel_exporter_mlflow._exporter import MlflowExporter
from nel_exporter_mlflow._settings import DEFAULT_EXPERIMENT, MlflowSettings

__all__ = ["DEFAULT_EXPERIMENT", "EXPORTER_SPEC", "MlflowExporter", "MlflowSettings"]

#: The registration (entry point ``nel.exporters: mlflow``).
EXPORTER_SPEC = ExporterSpec(
    name="mlflow",
    factory=MlflowExporter,
    package="nel-exporter-mlflow",
    description="one MLflow run per job: tags, params, metrics and artifacts",
)
