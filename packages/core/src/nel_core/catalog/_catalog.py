"""Loading and querying the task catalog (package data, read lazily and once)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

import attrs

from nel_core.errors import ConfigError
from nel_core.suggest import suggest

_DATA_FILES = ("eval-factory-tasks.json", "nel-tasks.json")


@attrs.frozen(kw_only=True)
class HarnessEntry:
    """A harness: its container image and, where one exists, its PyPI package."""

    name: str
    container: str
    container_digest: str | None = None
    pip_package: str | None = None
    source: str = ""


@attrs.frozen(kw_only=True)
class TaskEntry:
    """One task of the catalog."""

    harness: str
    name: str
    endpoint_types: list[str]
    defaults: dict[str, Any] = attrs.Factory(dict)
    container: str = ""
    pip_package: str | None = None

    @property
    def qualified_name(self) -> str:
        """``harness.task``: the unambiguous name."""
        return f"{self.harness}.{self.name}"


@attrs.frozen(kw_only=True)
class Catalog:
    """All known tasks, addressable as ``harness.task`` or by a unique bare name."""

    harnesses: dict[str, HarnessEntry]
    tasks: list[TaskEntry]

    def __iter__(self) -> Iterator[TaskEntry]:
        return iter(self.tasks)

    def __len__(self) -> int:
        return len(self.tasks)

    @functools.cached_property
    def _by_qualified(self) -> dict[str, TaskEntry]:
        return {t.qualified_name: t for t in self.tasks}

    @functools.cached_property
    def _by_bare(self) -> dict[str, list[TaskEntry]]:
        index: dict[str, list[TaskEntry]] = {}
        for task in self.tasks:
            index.setdefault(task.name, []).append(task)
        return index

    def find(self, name: str) -> TaskEntry | None:
        """The task called ``name`` (qualified, or bare and unique), else None.

        Raises:
            ConfigError: when a bare name is ambiguous.
        """
        if name in self._by_qualified:
            return self._by_qualified[name]
        matches = self._by_bare.get(name, [])
        if len(matches) > 1:
            names = ", ".join(t.qualified_name for t in matches)
            raise ConfigError(
                f"task '{name}' is ambiguous: {names}",
                hint=f"write the harness too, e.g. '{matches[0].qualified_name}'",
            )
        return matches[0] if matches else None

    def resolve(self, name: str) -> TaskEntry:
        """The task called ``name``.

        Raises:
            ConfigError: when the name is unknown (with the closest names) or ambiguous.
        """
        found = self.find(name)
        if found is not None:
            return found
        close = suggest(name, list(self._by_qualified) + list(self._by_bare))
        if close is not None and close in self._by_bare:
            close = " or ".join(t.qualified_name for t in self._by_bare[close])
        hint = f"did you mean {close}?" if close else "run 'nel ls tasks' to list the tasks"
        raise ConfigError(f"unknown task '{name}'", hint=hint)


@functools.lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The packaged catalog (eval-factory tasks first, then NEL's own)."""
    harnesses: dict[str, HarnessEntry] = {}
    tasks: list[TaskEntry] = []
    data_dir = resources.files("nel_core.catalog").joinpath("data")
    for file_name in _DATA_FILES:
        # One name per joinpath: Traversable.joinpath takes several only from Python 3.11.
        text = data_dir.joinpath(file_name).read_text("utf-8")
        data = json.loads(text)
        for raw in data["harnesses"]:
            harnesses[raw["name"]] = HarnessEntry(source=data.get("source", ""), **raw)
        for raw in data["tasks"]:
            harness = harnesses[raw["harness"]]
            tasks.append(
                TaskEntry(
                    harness=raw["harness"],
                    name=raw["name"],
                    endpoint_types=list(raw["endpoint_types"]),
                    defaults=dict(raw.get("defaults", {})),
                    container=harness.container,
                    pip_package=harness.pip_package,
                )
            )
    return Catalog(harnesses=harnesses, tasks=tasks)
