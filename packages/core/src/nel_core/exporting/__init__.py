"""What every exporter shares: the row of a job, flat metric names, the ``log_metrics`` filter,
the settings every destination accepts, and which files an export carries.

Exporters (``nel-exporter-*``) build on these so that a job looks the same at every destination:
one row per job id with model, harness, task, executor, invocation and job ids, and every metric
as ``<task>_<metric>_<score>`` (plus ``_stderr`` where the harness reports one).
"""

from nel_core.exporting._artifacts import EXCLUDED_PATTERNS, REQUIRED_ARTIFACTS, artifact_files, log_files
from nel_core.exporting._metrics import STDERR_SUFFIX, MetricFilter, flatten_metrics, metric_key
from nel_core.exporting._rows import ExportRow, build_row, read_run_config
from nel_core.exporting._settings import (
    COMMON_KEYS,
    CommonSettings,
    Settings,
    apply_overrides,
    destination_settings,
)

__all__ = [
    "COMMON_KEYS",
    "EXCLUDED_PATTERNS",
    "REQUIRED_ARTIFACTS",
    "STDERR_SUFFIX",
    "CommonSettings",
    "ExportRow",
    "MetricFilter",
    "Settings",
    "apply_overrides",
    "artifact_files",
    "build_row",
    "destination_settings",
    "flatten_metrics",
    "log_files",
    "metric_key",
    "read_run_config",
]
