"""What the commands share: NEL_HOME, the store, and building the executor of an invocation."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from nel_core.models.domain import Invocation
from nel_core.ports.executor import Executor, ExecutorSpec
from nel_core.store import SqliteInvocationStore, default_home

__all__ = ["executor_for", "executor_from_config", "home", "store"]


@functools.lru_cache(maxsize=1)
def home() -> Path:
    """``NEL_HOME`` (default ``~/.nel``)."""
    return default_home()


@functools.lru_cache(maxsize=1)
def store() -> SqliteInvocationStore:
    """The invocation store (opened on first use)."""
    return SqliteInvocationStore(home())


def executor_from_config(execution: dict[str, Any]) -> tuple[ExecutorSpec, Executor]:
    """The executor spec and an executor for an ``execution`` mapping."""
    from nel_core.converter import structure
    from nel_core.plugins import load_executor

    spec = load_executor(str(execution.get("type")))
    config = structure(execution, spec.config_type, path="execution")
    return spec, spec.factory(config, home())


_executors: dict[str, Executor] = {}


def executor_for(invocation: Invocation) -> Executor:
    """The executor that ran ``invocation``, rebuilt from its recorded config.

    Invocations recorded with the same execution config share one executor, so that status
    asks a backend once for all of them.
    """
    import json

    execution = dict(invocation.config.get("execution") or {})
    key = json.dumps(execution, sort_keys=True, default=str)
    if key not in _executors:
        _executors[key] = executor_from_config(execution)[1]
    return _executors[key]
