"""Plugins: the parts that installed distributions register through entry points.

NEL never imports an adapter by name. A distribution registers its parts under five
entry-point groups, and each entry names a small object; heavy imports belong in the
factories those objects hold, which run only when the part is used:

``nel.executors``
    an :class:`~nel_core.ports.executor.ExecutorSpec`, selected by ``execution.type``.
``nel.exporters``
    an :class:`~nel_core.ports.result_exporter.ExporterSpec`, selected by ``nel export --dest``.
``nel.runtimes``
    a :class:`RuntimeSpec`: a container runtime an executor can run its jobs with.
``nel.deployments``
    a :class:`DeploymentTypeSpec`: a ``deployment.type`` with its config class and, where it
    starts a server, the backend-neutral plan of that server.
``nel.config``
    the name of an importable package (``my_plugin.conf``) holding Hydra config groups
    (``execution/<name>.yaml``, ``deployment/<name>.yaml``), so that ``- execution: <name>``
    works in a config's defaults list.

In a plugin's ``pyproject.toml``::

    [project.entry-points."nel.deployments"]
    my_server = "my_plugin.deployment:SPEC"

    [project.entry-points."nel.config"]
    my_plugin = "my_plugin.conf"

Nothing is read at import time: entry points are listed on first use and cached
(:func:`clear_cache` forgets them). An unknown name is a :class:`~nel_core.errors.PluginError`
naming the installed ones and the package that provides the missing one, or saying that it is
not implemented yet (or the closest name); a plugin whose object cannot be imported is a
PluginError saying so, never "unknown".
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Callable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

import attrs

from nel_core.errors import PluginError
from nel_core.models.config import DEPLOYMENT_TYPES, DeploymentConfig, RunConfig
from nel_core.models.domain import EndpointSpec
from nel_core.ports.container_runtime import ContainerRuntime
from nel_core.ports.executor import ExecutorSpec
from nel_core.ports.result_exporter import ExporterSpec
from nel_core.suggest import suggest

__all__ = [
    "CONFIG_GROUP",
    "DEPLOYMENT_GROUP",
    "EXECUTOR_GROUP",
    "EXPORTER_GROUP",
    "RUNTIME_GROUP",
    "DeploymentTypeSpec",
    "RuntimeSpec",
    "clear_cache",
    "config_packages",
    "deployment_type_names",
    "deployment_types",
    "executor_names",
    "exporter_names",
    "load_executor",
    "load_exporter",
    "load_runtime",
    "runtime_names",
]

EXECUTOR_GROUP = "nel.executors"
EXPORTER_GROUP = "nel.exporters"
RUNTIME_GROUP = "nel.runtimes"
DEPLOYMENT_GROUP = "nel.deployments"
CONFIG_GROUP = "nel.config"

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class RuntimeSpec:
    """The registration of a container runtime (``nel.runtimes``).

    Args:
        name: The runtime's name, as configs and executors spell it.
        factory: Options (e.g. ``{"docker_host": ...}``) -> a runtime; heavy imports inside.
        package: The distribution that provides it (named in errors).
    """

    name: str
    factory: Callable[[Mapping[str, Any]], ContainerRuntime]
    package: str
    description: str = ""


@attrs.frozen(kw_only=True)
class DeploymentTypeSpec:
    """The registration of a deployment type (``nel.deployments``).

    Args:
        name: The ``deployment.type`` value that selects it.
        config_type: The class its ``deployment`` section is structured into (unknown keys
            rejected); a subclass of :class:`~nel_core.models.config.DeploymentConfig`.
        plan: The server it starts, as a backend-neutral spec (None: the executor plans it).
        package: The distribution that provides it.
    """

    name: str
    config_type: type[DeploymentConfig]
    plan: Callable[[RunConfig, DeploymentConfig], EndpointSpec | None] | None = None
    package: str = "nel-core"
    description: str = ""


@attrs.frozen(kw_only=True)
class _Group:
    group: str
    kind: str
    spec_type: type[Any]
    #: Names NEL knows of -> the distribution that provides them, for "pip install ..." hints.
    providers: Mapping[str, str] = attrs.Factory(dict)
    #: Names NEL plans -> their placeholder distribution, which registers nothing yet.
    planned: Mapping[str, str] = attrs.Factory(dict)


_EXECUTORS = _Group(
    group=EXECUTOR_GROUP,
    kind="executor",
    spec_type=ExecutorSpec,
    providers={"local": "nel-executor-local", "slurm": "nel-executor-slurm"},
    planned={"lepton": "nel-executor-lepton"},
)
_EXPORTERS = _Group(
    group=EXPORTER_GROUP,
    kind="exporter",
    spec_type=ExporterSpec,
    providers={
        "local": "nel-exporter-local",
        "mlflow": "nel-exporter-mlflow",
        "wandb": "nel-exporter-wandb",
        "gsheets": "nel-exporter-gsheets",
    },
)
_RUNTIMES = _Group(
    group=RUNTIME_GROUP,
    kind="container runtime",
    spec_type=RuntimeSpec,
    providers={"docker": "nel-executor-local", "podman": "nel-executor-local", "process": "nel-executor-local"},
)
_DEPLOYMENTS = _Group(group=DEPLOYMENT_GROUP, kind="deployment type", spec_type=DeploymentTypeSpec)

# A dotted Python package name: it goes into Hydra's search path as pkg://<name>.
_PACKAGE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


@functools.cache
def _all_entry_points() -> dict[str, tuple[EntryPoint, ...]]:
    """Every installed entry point by group: the installed distributions are read once."""
    installed: Any = entry_points()
    # Python 3.11 and older: a mapping of group to entry points (newer: the entry points). dict's
    # own values() skips the deprecation warning of that mapping's.
    if isinstance(installed, dict):
        installed = [entry for entries in dict.values(installed) for entry in entries]
    by_group: dict[str, list[EntryPoint]] = {}
    for entry in installed:
        by_group.setdefault(entry.group, []).append(entry)
    return {group: tuple(entries) for group, entries in by_group.items()}


@functools.cache
def _registered(group: str) -> dict[str, tuple[EntryPoint, ...]]:
    found: dict[str, list[EntryPoint]] = {}
    for entry in _all_entry_points().get(group, ()):
        found.setdefault(entry.name, []).append(entry)
    return {name: tuple(entries) for name, entries in found.items()}


def clear_cache() -> None:
    """Forget what was discovered (after installing a plugin in a running process, in tests)."""
    _all_entry_points.cache_clear()
    _registered.cache_clear()
    _deployment_types.cache_clear()
    _config_packages.cache_clear()


def _origin(entry: EntryPoint) -> str:
    dist = getattr(entry, "dist", None)
    return f"{entry.value} ({dist.name})" if dist is not None else entry.value


def _load(group: _Group, name: str, key: str) -> Any:
    where = f"{key}: " if key else ""
    entries = _registered(group.group).get(name)
    if not entries:
        raise _unknown(group, name, key, sorted(_registered(group.group)))
    if len(entries) > 1:
        raise PluginError(
            f"{where}{group.kind} '{name}' is registered more than once: "
            + ", ".join(_origin(e) for e in entries),
            hint="uninstall all but one of those packages",
        )
    entry = entries[0]
    try:
        spec = entry.load()
    except Exception as exc:  # a broken plugin must not look like a missing one
        raise PluginError(
            f"{where}{group.kind} '{name}' cannot be loaded from {_origin(entry)}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(spec, group.spec_type) or spec.name != name:
        found = f"{type(spec).__name__}(name={getattr(spec, 'name', None)!r})"
        raise PluginError(
            f"{where}{group.kind} '{name}' cannot be loaded from {_origin(entry)}: "
            f"expected {group.spec_type.__name__}(name={name!r}), found {found}"
        )
    return spec


def _unknown(group: _Group, name: str, key: str, installed: list[str]) -> PluginError:
    package = group.providers.get(name)
    if package:
        hint: str | None = f"install it: pip install {package}"
    elif name in group.planned:
        hint = f"the {name} {group.kind} is not implemented yet ({group.planned[name]} is a placeholder)"
    else:
        close = suggest(name, [*installed, *group.providers, *group.planned])
        hint = f"did you mean '{close}'?" if close else None
    listed = ", ".join(installed) or "none"
    return PluginError(f"{key}: unknown {group.kind} '{name}' (installed: {listed})", hint=hint)


def executor_names() -> list[str]:
    """Names of the installed executors."""
    return sorted(_registered(EXECUTOR_GROUP))


def exporter_names() -> list[str]:
    """Names of the installed exporters."""
    return sorted(_registered(EXPORTER_GROUP))


def runtime_names() -> list[str]:
    """Names of the container runtimes registered through ``nel.runtimes``."""
    return sorted(_registered(RUNTIME_GROUP))


def deployment_type_names() -> list[str]:
    """Names of the deployment types: NEL's own and the installed plugins' (nothing is loaded)."""
    return sorted({*DEPLOYMENT_TYPES, *_registered(DEPLOYMENT_GROUP)})


def load_executor(name: str, key: str = "execution.type") -> ExecutorSpec:
    """The ExecutorSpec registered as ``name``.

    Args:
        key: What the user wrote ``name`` as, for the error message.

    Raises:
        PluginError: naming the installed executors and the package that provides ``name``,
            or saying that the plugin cannot be loaded.
    """
    spec: ExecutorSpec = _load(_EXECUTORS, name, key)
    return spec


def load_exporter(name: str, key: str = "--dest") -> ExporterSpec:
    """The ExporterSpec registered as ``name``.

    Raises:
        PluginError: as :func:`load_executor`.
    """
    spec: ExporterSpec = _load(_EXPORTERS, name, key)
    return spec


def load_runtime(name: str, key: str = "execution.runtime") -> RuntimeSpec:
    """The RuntimeSpec registered as ``name``; ``spec.factory(options)`` makes the runtime.

    Raises:
        PluginError: as :func:`load_executor`.
    """
    spec: RuntimeSpec = _load(_RUNTIMES, name, key)
    return spec


def deployment_types() -> dict[str, DeploymentTypeSpec]:
    """Every deployment type: NEL's own (with core's backend-neutral plans) and the plugins'.

    Raises:
        PluginError: when a plugin cannot be loaded, or would replace one of NEL's own types.
    """
    return dict(_deployment_types())


@functools.cache
def _deployment_types() -> dict[str, DeploymentTypeSpec]:
    from nel_core.deployments import BUILTIN_PLANS

    types = {
        name: DeploymentTypeSpec(name=name, config_type=cls, plan=BUILTIN_PLANS[name], description=_summary(cls))
        for name, cls in DEPLOYMENT_TYPES.items()
    }
    for name, entries in sorted(_registered(DEPLOYMENT_GROUP).items()):
        if name in types:
            raise PluginError(
                f"deployment type '{name}' of {_origin(entries[0])} would replace NEL's own",
                hint="a plugin may not override a built-in deployment type: give it another name",
            )
        # No key in the message: the converter prefixes the dotted path of the deployment.
        spec: DeploymentTypeSpec = _load(_DEPLOYMENTS, name, "")
        if not (isinstance(spec.config_type, type) and issubclass(spec.config_type, DeploymentConfig)):
            raise PluginError(
                f"deployment type '{name}' of {_origin(entries[0])}: its config_type "
                f"{spec.config_type!r} is not a subclass of DeploymentConfig"
            )
        types[name] = spec
    return types


def _summary(cls: type) -> str:
    return (cls.__doc__ or "").strip().partition("\n")[0]


def config_packages() -> list[str]:
    """The packages of Hydra config groups that plugins register (``nel.config``), in name order.

    Raises:
        PluginError: when an entry's value is not the name of an importable package.
    """
    return list(_config_packages())


@functools.cache
def _config_packages() -> tuple[str, ...]:
    packages: list[str] = []
    for name, entries in sorted(_registered(CONFIG_GROUP).items()):
        for entry in entries:
            package = entry.value.strip()
            if not _PACKAGE_NAME.fullmatch(package):
                raise PluginError(
                    f"config package '{name}' of {_origin(entry)}: '{package}' is not a package name",
                    hint="the entry point's value is an importable package, e.g. my_plugin.conf",
                )
            if not _is_package(package):
                raise PluginError(
                    f"config package '{name}' cannot be loaded from {_origin(entry)}: "
                    f"no importable package '{package}'"
                )
            if package not in packages:
                packages.append(package)
    return tuple(packages)


def _is_package(name: str) -> bool:
    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError):  # find_spec imports the parents, which may be missing
        return False
    return found is not None and found.submodule_search_locations is not None
