"""The settings of the ``mlflow`` destination (NeMo Evaluator Launcher's ``export.mlflow`` keys)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import attrs

from nel_core.errors import ConfigError
from nel_core.exporting import CommonSettings, Settings

__all__ = ["DEFAULT_EXPERIMENT", "MlflowSettings", "sanitize_key", "sanitize_value"]

DEFAULT_EXPERIMENT = "nemo-evaluator-launcher"
_KEYS = {
    "tracking_uri",
    "experiment_name",
    "run_name",
    "description",
    "tags",
    "extra_metadata",
    "log_config_params",
    "log_config_params_max_depth",
    "skip_existing",
    "exclude_patterns",
}
_INVALID = re.compile(r"[^\w.\-/ ]")
_KEY_MAX = 250
_PARAM_MAX = 6000
_TAG_MAX = 8000


def sanitize_key(key: str) -> str:
    """A metric, param or tag name MLflow accepts (letters, digits, ``_-./`` and spaces)."""
    cleaned = _INVALID.sub("_", key.replace("pass@", "pass_at_")).strip()
    return cleaned[:_KEY_MAX] or "_"


def sanitize_value(value: Any, *, tag: bool = False) -> str:
    """A param or tag value as text MLflow accepts (one line, within its length limit)."""
    text = "null" if value is None else str(value)
    return text.replace("\r", " ").replace("\n", " ")[: _TAG_MAX if tag else _PARAM_MAX]


def _tracking_uri(read: Settings) -> str:
    value = read.text("tracking_uri") or os.environ.get("MLFLOW_TRACKING_URI", "")
    # A value without a scheme names an environment variable holding the URI (a reference).
    if value and "://" not in value and not value.startswith(("file:", "sqlite:", "databricks")):
        value = os.environ.get(value, value)
    if not value:
        raise ConfigError(
            f"{read.where('tracking_uri')}: not set",
            hint="set export.mlflow.tracking_uri (or the name of a variable holding it), or MLFLOW_TRACKING_URI",
        )
    return value


@attrs.frozen(kw_only=True)
class MlflowSettings:
    """Everything the exporter reads from ``export.mlflow``."""

    common: CommonSettings
    tracking_uri: str
    experiment_name: str = DEFAULT_EXPERIMENT
    run_name: str | None = None
    description: str | None = None
    tags: Mapping[str, Any] = attrs.Factory(dict)
    extra_metadata: Mapping[str, Any] = attrs.Factory(dict)
    log_config_params: bool = False
    log_config_params_max_depth: int = 10
    skip_existing: bool = False
    exclude_patterns: tuple[str, ...] = ()

    @classmethod
    def read(cls, values: Mapping[str, Any]) -> MlflowSettings:
        """Check and type ``values``.

        Raises:
            ConfigError: naming ``export.mlflow.<key>`` when a key is unknown or its value wrong.
        """
        read = Settings("mlflow", values, _KEYS)
        return cls(
            common=CommonSettings.read(read),
            tracking_uri=_tracking_uri(read),
            experiment_name=read.text("experiment_name", DEFAULT_EXPERIMENT) or DEFAULT_EXPERIMENT,
            run_name=read.text("run_name"),
            description=read.text("description"),
            tags=read.mapping("tags"),
            extra_metadata=read.mapping("extra_metadata"),
            log_config_params=read.flag("log_config_params", False),
            log_config_params_max_depth=read.integer("log_config_params_max_depth", 10),
            skip_existing=read.flag("skip_existing", False),
            exclude_patterns=tuple(read.strings("exclude_patterns")),
        )


def flatten_config(config: Any, prefix: str = "config", max_depth: int = 10) -> dict[str, str]:
    """A nested config as ``a.b.0.c`` -> text, nothing deeper than ``max_depth`` levels."""
    if max_depth <= 0 or not isinstance(config, (Mapping, list)):
        return {prefix: sanitize_value(config)} if prefix else {}
    items = config.items() if isinstance(config, Mapping) else enumerate(config)
    flat: dict[str, str] = {}
    for key, value in items:
        flat.update(flatten_config(value, f"{prefix}.{key}" if prefix else str(key), max_depth - 1))
    return flat
