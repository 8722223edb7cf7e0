"""The settings of the ``wandb`` destination (NeMo Evaluator Launcher's ``export.wandb`` keys)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from nel_core.errors import ConfigError
from nel_core.exporting import CommonSettings, Settings

__all__ = ["LOG_MODES", "WandbSettings", "safe_name"]

LOG_MODES = ("per_task", "multi_task")
_KEYS = {
    "entity", "project", "log_mode", "name", "group", "job_type", "tags", "description", "extra_metadata", "run_id",
}  # fmt: skip
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def safe_name(text: str) -> str:
    """A run id or artifact name W&B accepts (letters, digits, ``_.-``)."""
    return _UNSAFE.sub("-", text).strip("-.") or "run"


@attrs.frozen(kw_only=True)
class WandbSettings:
    """Everything the exporter reads from ``export.wandb``."""

    common: CommonSettings
    entity: str
    project: str
    log_mode: str = "per_task"
    name: str | None = None
    group: str | None = None
    job_type: str = "evaluation"
    tags: tuple[str, ...] = ()
    description: str | None = None
    extra_metadata: Mapping[str, Any] = attrs.Factory(dict)
    run_id: str | None = None

    @classmethod
    def read(cls, values: Mapping[str, Any]) -> WandbSettings:
        """Check and type ``values``.

        Raises:
            ConfigError: naming ``export.wandb.<key>`` when a key is unknown, missing or wrong.
        """
        read = Settings("wandb", values, _KEYS)
        required = {key: read.text(key) for key in ("entity", "project")}
        for key, value in required.items():
            if not value:
                raise ConfigError(f"{read.where(key)}: not set", hint="W&B needs export.wandb.entity and .project")
        return cls(
            common=CommonSettings.read(read),
            entity=str(required["entity"]),
            project=str(required["project"]),
            log_mode=read.choice("log_mode", LOG_MODES, "per_task") or "per_task",
            name=read.text("name"),
            group=read.text("group"),
            job_type=read.text("job_type", "evaluation") or "evaluation",
            tags=tuple(read.strings("tags")),
            description=read.text("description"),
            extra_metadata=read.mapping("extra_metadata"),
            run_id=read.text("run_id"),
        )
