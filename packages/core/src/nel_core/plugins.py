"""Entry-point registries (interim: replaced by the full registry)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any

import attrs

from nel_core.errors import PluginError
from nel_core.models.config import DeploymentConfig, RunConfig
from nel_core.models.domain import EndpointSpec
from nel_core.ports.container_runtime import ContainerRuntime

__all__ = ["DeploymentTypeSpec", "RuntimeSpec", "load_runtime"]


@attrs.frozen(kw_only=True)
class RuntimeSpec:
    """The registration of a container runtime (``nel.runtimes``)."""

    name: str
    factory: Callable[[Mapping[str, Any]], ContainerRuntime]
    package: str
    description: str = ""


@attrs.frozen(kw_only=True)
class DeploymentTypeSpec:
    """The registration of a deployment type (``nel.deployments``)."""

    name: str
    config_type: type[DeploymentConfig]
    plan: Callable[[RunConfig, DeploymentConfig], EndpointSpec | None] | None = None
    package: str = "nel-core"
    description: str = ""


@functools.cache
def _group(group: str) -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=group)}


def load_runtime(name: str, key: str = "execution.runtime") -> RuntimeSpec:
    """The RuntimeSpec registered as ``name``."""
    found = _group("nel.runtimes")
    if name not in found:
        raise PluginError(f"{key}: unknown runtime '{name}' (installed: {', '.join(sorted(found)) or 'none'})")
    spec = found[name].load()
    assert isinstance(spec, RuntimeSpec)
    return spec
