"""The package boundaries of DESIGN.md, checked on the source: who may import whom.

- ``nel_core`` imports the standard library, attrs, cattrs and PyYAML only (PyYAML in
  ``nel_core.yaml_io`` alone): never docker, paramiko, requests, Hydra, OmegaConf, typer, the CLI
  or an adapter. ``nel_core.testing`` may also import pytest and Hypothesis.
- An adapter (``packages/executor-*``, ``packages/exporters/*``) imports no other adapter, and
  not the CLI.
- The CLI never imports an adapter by name: it discovers them through entry points.

Imports are read from each module's syntax tree (every ``import`` and ``from ... import``,
at any depth, including ones inside functions, plus ``importlib.import_module("...")`` and
``__import__("...")`` with a literal name), so a lazy import cannot slip through.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .conftest import REPO

PACKAGES = REPO / "packages"
CORE = PACKAGES / "core" / "src" / "nel_core"
CLI = PACKAGES / "cli" / "src" / "nel_cli"

CORE_FORBIDDEN = ("docker", "paramiko", "requests", "hydra", "omegaconf", "typer", "nel_cli")
CORE_ALLOWED_THIRD_PARTY = {"attrs", "attr", "cattrs", "yaml", "nel_core"}
#: The one core module that may import PyYAML: every other one goes through it.
CORE_YAML_MODULE = CORE / "yaml_io.py"
TESTING_ALLOWED_THIRD_PARTY = {"pytest", "_pytest", "hypothesis"}
ADAPTER_PREFIXES = ("nel_executor_", "nel_exporter_")


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """``(line, module)`` for every absolute import in the file at ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                yield node.lineno, node.module
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
                if isinstance(first.value, str) and not first.value.startswith("."):
                    yield node.lineno, first.value


def modules_of(package_dir: Path) -> list[Path]:
    """Every Python file of a package folder."""
    return sorted(p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts)


def adapter_packages() -> dict[str, Path]:
    """Import name -> folder, for every adapter package in the repository."""
    found = {}
    for src in [*PACKAGES.glob("executor-*/src"), *PACKAGES.glob("exporters/*/src")]:
        for folder in src.iterdir():
            if folder.is_dir() and folder.name.startswith(ADAPTER_PREFIXES):
                found[folder.name] = folder
    return found


def _top(module: str) -> str:
    return module.split(".")[0]


def _violations(package_dir: Path, bad: Callable[[Path, str], bool]) -> list[str]:
    found = []
    for path in modules_of(package_dir):
        for line, module in imported_modules(path):
            if bad(path, module):
                found.append(f"{path.relative_to(REPO)}:{line}: imports {module}")
    return found


def test_core_imports_no_sdk_framework_cli_or_adapter() -> None:
    """No nel_core module imports docker, paramiko, requests, Hydra, OmegaConf, typer, the CLI or an adapter."""

    def bad(_: Path, module: str) -> bool:
        return _top(module) in CORE_FORBIDDEN or _top(module).startswith(ADAPTER_PREFIXES)

    assert modules_of(CORE), f"no modules found under {CORE}"
    assert _violations(CORE, bad) == []


def test_core_depends_on_stdlib_attrs_cattrs_and_pyyaml_only() -> None:
    """nel_core imports only the stdlib, attrs, cattrs and PyYAML (nel_core.testing also pytest and Hypothesis)."""

    def bad(path: Path, module: str) -> bool:
        top = _top(module)
        if top in sys.stdlib_module_names or top in CORE_ALLOWED_THIRD_PARTY:
            return False
        return not ("testing" in path.relative_to(CORE).parts and top in TESTING_ALLOWED_THIRD_PARTY)

    assert _violations(CORE, bad) == []


def test_core_imports_pyyaml_in_yaml_io_only() -> None:
    """Only nel_core.yaml_io imports PyYAML; the rest of core reads and writes YAML through it."""

    def bad(path: Path, module: str) -> bool:
        return _top(module) == "yaml" and path != CORE_YAML_MODULE

    assert CORE_YAML_MODULE.exists()
    assert _violations(CORE, bad) == []


def test_core_testing_is_the_only_place_for_test_libraries() -> None:
    """Outside nel_core.testing, no core module imports pytest or Hypothesis."""

    def bad(path: Path, module: str) -> bool:
        in_testing = "testing" in path.relative_to(CORE).parts
        return not in_testing and _top(module) in TESTING_ALLOWED_THIRD_PARTY

    assert _violations(CORE, bad) == []


def test_there_are_adapters_to_check() -> None:
    """The adapter scan finds the executor and exporter packages of the repository."""
    names = set(adapter_packages())
    assert {"nel_executor_local", "nel_executor_slurm", "nel_executor_lepton"} <= names
    assert any(name.startswith("nel_exporter_") for name in names)


@pytest.mark.parametrize("adapter", sorted(adapter_packages()))
def test_adapter_imports_no_other_adapter_nor_cli(adapter: str) -> None:
    """An adapter package imports no other adapter package and not the CLI."""
    folder = adapter_packages()[adapter]

    def bad(_: Path, module: str) -> bool:
        top = _top(module)
        return top == "nel_cli" or (top.startswith(ADAPTER_PREFIXES) and top != adapter)

    assert _violations(folder, bad) == []


def test_cli_never_imports_an_adapter_by_name() -> None:
    """nel_cli imports no nel_executor_* or nel_exporter_* module: adapters come from entry points."""

    def bad(_: Path, module: str) -> bool:
        return _top(module).startswith(ADAPTER_PREFIXES)

    assert modules_of(CLI), f"no modules found under {CLI}"
    assert _violations(CLI, bad) == []


def test_checker_sees_every_form_of_import(tmp_path: Path) -> None:
    """The import scanner finds plain, from-, nested and importlib imports, and skips relative ones."""
    module = tmp_path / "m.py"
    module.write_text(
        "import os, docker.errors\n"
        "from requests import Session\n"
        "from . import sibling\n"
        "def later():\n"
        "    import paramiko\n"
        "    import importlib\n"
        "    importlib.import_module('nel_executor_slurm.spec')\n"
        "    __import__('hydra')\n"
    )
    found = sorted(name for _, name in imported_modules(module))
    assert found == sorted(
        ["os", "docker.errors", "requests", "paramiko", "importlib", "nel_executor_slurm.spec", "hydra"]
    )
