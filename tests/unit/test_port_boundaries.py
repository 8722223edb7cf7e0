"""Adapters meet each other through the ports only, checked on the source.

An adapter class (a subclass of a port in ``nel_core.ports``, defined in an adapter package or
in core's own adapters) may have public methods its port lacks: they are its own business.
No module other than the one defining that class may call them (nor its private ones): code elsewhere holds the
adapter as its port, and calls only what the port declares.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

from nel_core import ports

from .conftest import REPO

PORTS = (
    ports.ContainerRuntime,
    ports.EndpointProvider,
    ports.Executor,
    ports.InvocationStore,
    ports.ResultExporter,
    ports.Scheduler,
)
#: Packages whose classes implement ports: the adapters, and core's production adapters.
ADAPTER_PACKAGES = ("nel_executor_local", "nel_core.deployments", "nel_core.host", "nel_core.store")
SOURCES = [REPO / "packages" / "executor-local" / "src", REPO / "packages" / "core" / "src"]


def adapter_classes() -> list[type]:
    """Every class of the adapter packages that implements a port."""
    found: list[type] = []
    for package_name in ADAPTER_PACKAGES:
        package = importlib.import_module(package_name)
        names = [package_name] + [
            info.name for info in pkgutil.walk_packages(package.__path__, package_name + ".")
            if not info.name.endswith(("__main__", ".supervise", ".container_job"))
        ]  # fmt: skip
        for name in names:
            module = importlib.import_module(name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__ == name and any(issubclass(cls, port) and cls is not port for port in PORTS):
                    found.append(cls)
    return found


def extras(cls: type) -> set[str]:
    """The methods and properties of ``cls`` (private ones too) that none of its ports declares."""
    port_names = {name for port in PORTS if issubclass(cls, port) for name in dir(port)}
    names = set()
    for klass in cls.__mro__:
        if klass in PORTS or klass is object:
            continue
        for name, value in vars(klass).items():
            if name.startswith("__") or name in port_names:
                continue
            if inspect.isfunction(value) or isinstance(value, (property, staticmethod, classmethod)):
                names.add(name)
    return names


def violations(sources: dict[Path, str], owned: dict[str, set[Path]]) -> list[str]:
    """Calls of ``owned`` method names (name -> files of the classes that have it) elsewhere."""
    found = []
    for path, text in sources.items():
        for node in ast.walk(ast.parse(text)):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name = node.func.attr
            receiver = node.func.value
            if name in owned and path not in owned[name]:
                if isinstance(receiver, ast.Name) and receiver.id in ("self", "cls", "super"):
                    continue
                found.append(f"{path}:{node.lineno}: .{name}() is not in any port")
    return found


def owned_methods() -> dict[str, set[Path]]:
    owned: dict[str, set[Path]] = {}
    for cls in adapter_classes():
        path = Path(inspect.getfile(cls)).resolve()
        for name in extras(cls):
            owned.setdefault(name, set()).add(path)
    return owned


def test_there_are_adapter_classes_to_check() -> None:
    """The check sees the local executor's adapters and core's own."""
    names = {cls.__name__ for cls in adapter_classes()}
    assert {"LocalExecutor", "LocalServer", "DockerRuntime", "ProcessRuntime"} <= names
    assert {"ExternalEndpoint", "HostScheduler", "SqliteInvocationStore"} <= names


def test_adapters_call_each_other_through_ports_only() -> None:
    """No module calls a public method of another module's adapter class that its port lacks."""
    sources = {
        path.resolve(): path.read_text()
        for root in SOURCES
        for path in sorted(root.rglob("*.py"))
        if "__pycache__" not in path.parts and "testing" not in path.parts
    }
    assert violations(sources, owned_methods()) == []


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("runtime.container_spec(plan, spec, job_dir)", True),
        ("executor.runtime.render(spec)", False),
        ("self.container_spec(plan, spec, job_dir)", False),
        ("scheduler.submit(job)", False),
        ("runtime._image_present(image)", True),
    ],
)
def test_checker_flags_a_call_outside_the_port(source: str, flagged: bool) -> None:
    """The checker flags a non-port method called from another module, and nothing else."""
    owned = owned_methods()
    assert "container_spec" in owned  # LocalExecutor's own helper, not in the Executor port
    found = violations({Path("/elsewhere.py"): source}, owned)
    assert bool(found) is flagged, found
