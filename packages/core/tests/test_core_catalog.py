"""The task catalog: eval-factory's tasks plus NEL's own, found by qualified or bare name."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources

import pytest

from nel_core.catalog import Catalog, TaskEntry, load_catalog
from nel_core.errors import ConfigError


def _eval_factory() -> dict[str, list[dict[str, object]]]:
    path = resources.files("nel_core.catalog").joinpath("data").joinpath("eval-factory-tasks.json")
    data: dict[str, list[dict[str, object]]] = json.loads(path.read_text("utf-8"))
    return data


def test_eval_factory_tasks_are_all_there() -> None:
    """The catalog holds eval-factory's 421 tasks in 23 harnesses."""
    catalog = load_catalog()
    data = _eval_factory()
    assert len(data["tasks"]) == 421
    assert len(data["harnesses"]) == 23
    names = {f"{t['harness']}.{t['name']}" for t in data["tasks"]}
    assert len(names) == 421
    assert names <= {task.qualified_name for task in catalog}


def test_nels_own_benchmarks_are_there() -> None:
    """NEL's offline benchmarks (harness nel_bench) follow eval-factory's tasks."""
    catalog = load_catalog()
    own = [task for task in catalog if task.harness == "nel_bench"]
    assert {"nel_bench.arithmetic", "nel_bench.capitals"} <= {t.qualified_name for t in own}
    assert len(catalog) == 421 + len(own)
    assert catalog.tasks[-len(own) :] == own
    assert catalog.harnesses["nel_bench"].pip_package == "nel-harness"


def test_every_task_is_complete() -> None:
    """Every task has a harness entry, a container and at least one endpoint type."""
    catalog = load_catalog()
    for task in catalog:
        assert task.harness in catalog.harnesses
        assert task.container == catalog.harnesses[task.harness].container
        assert task.endpoint_types, task.qualified_name


def test_qualified_names_are_unique() -> None:
    """No two tasks share a qualified name."""
    counts = Counter(task.qualified_name for task in load_catalog())
    assert [name for name, n in counts.items() if n > 1] == []


def test_lookup_by_qualified_name() -> None:
    """A qualified name finds its task."""
    task = load_catalog().resolve("simple_evals.mmlu_pro")
    assert (task.harness, task.name) == ("simple_evals", "mmlu_pro")
    assert task.container.startswith("nvcr.io/nvidia/eval-factory/simple-evals:")


def test_lookup_by_unique_bare_name() -> None:
    """A bare name that only one harness has finds that task."""
    catalog = load_catalog()
    bare = Counter(task.name for task in catalog)
    unique = next(task for task in catalog if bare[task.name] == 1)
    assert catalog.resolve(unique.name) == unique
    assert catalog.resolve("arithmetic").qualified_name == "nel_bench.arithmetic"


def test_ambiguous_bare_name_lists_candidates() -> None:
    """A bare name of several harnesses' tasks (mmlu) fails listing every candidate."""
    catalog = load_catalog()
    candidates = sorted(task.qualified_name for task in catalog if task.name == "mmlu")
    assert len(candidates) > 1
    with pytest.raises(ConfigError) as caught:
        catalog.resolve("mmlu")
    assert "ambiguous" in caught.value.message
    for name in candidates:
        assert name in caught.value.message
    assert caught.value.hint is not None and candidates[0].split(".")[0] in caught.value.hint


def test_unknown_name_suggests_the_closest() -> None:
    """A misspelled name fails with a did-you-mean hint."""
    with pytest.raises(ConfigError, match="unknown task 'simple_evals.mmlu_pr'") as caught:
        load_catalog().resolve("simple_evals.mmlu_pr")
    assert caught.value.hint == "did you mean simple_evals.mmlu_pro?"


def test_misspelled_ambiguous_bare_name_suggests_qualified_names() -> None:
    """A misspelled bare name whose fix is ambiguous suggests each qualified name."""
    with pytest.raises(ConfigError) as caught:
        load_catalog().resolve("mmlu_prx")
    assert caught.value.hint is not None
    assert "simple_evals.mmlu_pro" in caught.value.hint


def test_unknown_name_far_from_everything() -> None:
    """A name close to nothing points at 'nel ls tasks'."""
    with pytest.raises(ConfigError) as caught:
        load_catalog().resolve("zzzzzzzzzzzzzzzz")
    assert caught.value.hint is not None and "ls tasks" in caught.value.hint


def test_find_returns_none_for_unknown() -> None:
    """find() gives None for an unknown name instead of raising."""
    assert load_catalog().find("no_such_task_anywhere") is None


def test_catalog_is_loaded_once() -> None:
    """The packaged catalog is read once and shared."""
    assert load_catalog() is load_catalog()


def test_small_catalog_semantics() -> None:
    """A hand-made catalog resolves qualified, unique bare and ambiguous names alike."""
    tasks = [
        TaskEntry(harness="h1", name="a", endpoint_types=["chat"]),
        TaskEntry(harness="h2", name="a", endpoint_types=["chat"]),
        TaskEntry(harness="h2", name="b", endpoint_types=["completions"]),
    ]
    catalog = Catalog(harnesses={}, tasks=tasks)
    assert catalog.resolve("h2.a") is tasks[1]
    assert catalog.resolve("b") is tasks[2]
    with pytest.raises(ConfigError, match="h1.a, h2.a"):
        catalog.resolve("a")
