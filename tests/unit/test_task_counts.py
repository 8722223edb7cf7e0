"""The task counts that the READMEs and the catalog's docstring state are the catalog's own."""

from __future__ import annotations

import re
from collections import Counter

import pytest

import nel_core.catalog
from nel_core.catalog import load_catalog

from .conftest import REPO


def _counts() -> dict[str, int]:
    by_harness = Counter(task.harness for task in load_catalog())
    own = by_harness.pop("nel_bench")
    return {
        "factory_tasks": sum(by_harness.values()),
        "factory_harnesses": len(by_harness),
        "own": own,
        "tasks": sum(by_harness.values()) + own,
        "harnesses": len(by_harness) + 1,
    }


def _texts() -> dict[str, str]:
    return {
        "README.md": (REPO / "README.md").read_text("utf-8"),
        "packages/core/README.md": (REPO / "packages/core/README.md").read_text("utf-8"),
        "nel_core.catalog": nel_core.catalog.__doc__ or "",
    }


@pytest.mark.parametrize("where", sorted(_texts()))
def test_stated_counts_are_the_catalogs(where: str) -> None:
    """Each text states the catalog's eval-factory, own and total counts, and no other task count."""
    text = " ".join(_texts()[where].split())  # counts may be wrapped over lines
    n = _counts()
    assert f"{n['factory_tasks']} eval-factory tasks in {n['factory_harnesses']} harnesses" in text
    assert f"NEL's own {n['own']}" in text
    assert f"{n['tasks']} tasks in {n['harnesses']} harnesses" in text
    stated = {int(m) for m in re.findall(r"\b(\d+) (?:eval-factory )?tasks\b", text)}
    assert stated <= {n["factory_tasks"], n["tasks"]}, stated
