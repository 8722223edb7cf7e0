"""Discovery of executors and exporters through entry points (never imported by name)."""

from __future__ import annotations

import functools
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from nel_core.errors import PluginError
from nel_core.suggest import suggest

__all__ = ["executor_names", "exporter_names", "load_executor", "load_exporter"]

EXECUTOR_GROUP = "nel.executors"
EXPORTER_GROUP = "nel.exporters"

# Where the adapters NEL knows of live, to name the package a missing one needs.
_PROVIDERS = {
    EXECUTOR_GROUP: {
        "local": "nel-executor-local",
        "slurm": "nel-executor-slurm",
        "lepton": "nel-executor-lepton",
    },
    EXPORTER_GROUP: {
        "local": "nel-exporter-local",
        "mlflow": "nel-exporter-mlflow",
        "wandb": "nel-exporter-wandb",
        "gsheets": "nel-exporter-gsheets",
    },
}


@functools.cache
def _entry_points(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def executor_names() -> list[str]:
    """Names of the installed executors."""
    return sorted(_entry_points(EXECUTOR_GROUP))


def exporter_names() -> list[str]:
    """Names of the installed exporters."""
    return sorted(_entry_points(EXPORTER_GROUP))


def _load(group: str, kind: str, name: str, key: str) -> Any:
    found = _entry_points(group)
    if name not in found:
        installed = ", ".join(sorted(found)) or "none"
        package = _PROVIDERS[group].get(name)
        if package:
            hint = f"install it: pip install {package}"
        else:
            close = suggest(name, list(found) + list(_PROVIDERS[group]))
            hint = f"did you mean '{close}'?" if close else None
        raise PluginError(f"{key}: unknown {kind} '{name}' (installed: {installed})", hint=hint)
    try:
        return found[name].load()
    except Exception as exc:  # a broken plugin must not look like a missing one
        raise PluginError(f"{kind} '{name}' cannot be loaded: {exc}") from exc


def load_executor(name: str, key: str = "execution.type") -> Any:
    """The ExecutorSpec registered as ``name``.

    Raises:
        PluginError: naming the installed executors and the package that provides ``name``.
    """
    return _load(EXECUTOR_GROUP, "executor", name, key)


def load_exporter(name: str, key: str = "--dest") -> Any:
    """The ExporterSpec registered as ``name``."""
    return _load(EXPORTER_GROUP, "exporter", name, key)
