"""nel-exporter-wandb: finished jobs' results to Weights & Biases runs.

Registered as ``wandb`` in the ``nel.exporters`` entry-point group. The W&B SDK is imported only
when an export runs, never when this package is imported.
"""

from nel_core.ports.result_exporter import ExporterSpec
from nel_exporter_wandb._exporter import WandbExporter
from nel_exporter_wandb._settings import LOG_MODES, WandbSettings

__all__ = ["EXPORTER_SPEC", "LOG_MODES", "WandbExporter", "WandbSettings"]

#: The registration (entry point ``nel.exporters: wandb``).
EXPORTER_SPEC = ExporterSpec(
    name="wandb",
    factory=WandbExporter,
    package="nel-exporter-wandb",
    description="a W&B run per job (per_task) or per invocation (multi_task): metrics, config, artifact",
)
