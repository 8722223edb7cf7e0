"""Tests of the shipped datasets, the task registry and framework.yml."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from core_evals.nel_bench.scorers import SCORERS, fold_text
from core_evals.nel_bench.tasks import DATASETS, TASKS, load_dataset, load_items, select_items

_ARITH = re.compile(r"^What is (\d+) ([+*-]) (\d+)\?$")


def test_datasets_hold_at_least_100_items_with_unique_ids() -> None:
    """All datasets together have >= 100 items, >= 60 each, ids unique across all."""
    items = [item for name in DATASETS for item in load_dataset(name)]
    assert len(items) >= 100
    for name in DATASETS:
        assert len(load_dataset(name)) >= 60, name
    ids = [item.id for item in items]
    assert len(ids) == len(set(ids))


def test_questions_are_unique_and_answers_nonempty() -> None:
    """No dataset repeats a question, and every item has a non-blank answer."""
    for name in DATASETS:
        items = load_dataset(name)
        assert len({item.question for item in items}) == len(items), name
        assert all(item.answers and all(a.strip() for a in item.answers) for item in items)
        assert all(item.scorer in SCORERS for item in items)


def test_arithmetic_answers_are_correct_small_integer_results() -> None:
    """Every arithmetic answer is the true result of its +, - or * question."""
    ops = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
    seen_ops = set()
    for item in load_dataset("arithmetic"):
        match = _ARITH.match(item.question)
        assert match, item.question
        a, op, b = int(match.group(1)), match.group(2), int(match.group(3))
        seen_ops.add(op)
        assert item.answers == (str(ops[op](a, b)),), item.id
        assert max(a, b) <= 100
    assert seen_ops == {"+", "-", "*"}


def test_no_question_gives_away_its_answer() -> None:
    """An echoed question never scores: no accepted answer occurs in its question."""
    for item in load_dataset("capitals"):
        for answer in item.answers:
            assert fold_text(answer) not in fold_text(item.question), item.id


def test_fewshot_examples_are_not_dataset_questions() -> None:
    """Completions few-shot examples do not leak answers of the dataset."""
    for name, spec in DATASETS.items():
        questions = {item.question for item in load_dataset(name)}
        assert spec.fewshot, name
        assert not questions & {q for q, _ in spec.fewshot}, name


def test_mini_interleaves_arithmetic_and_capitals() -> None:
    """A prefix of mini samples both datasets, alternately."""
    items = load_items("mini")
    assert [item.subset for item in items[:4]] == ["arithmetic", "capitals"] * 2
    assert len(items) == len(load_dataset("arithmetic")) + len(load_dataset("capitals"))


def test_unknown_task_lists_the_known_ones() -> None:
    """An unknown task name fails with the list of tasks."""
    with pytest.raises(KeyError, match="arithmetic"):
        load_items("nope")


@pytest.mark.parametrize(("limit", "expected"), [(None, 10), (3, 3), (3.0, 3), (0.25, 3), (50, 10)])
def test_select_items_applies_limit_samples(limit: object, expected: int) -> None:
    """limit_samples keeps a leading count, or a fraction rounded up."""
    assert len(select_items(list(range(10)), limit)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", [0, -1, -0.5])
def test_select_items_rejects_non_positive_limits(limit: float) -> None:
    """A zero or negative limit is an error, not an empty run."""
    with pytest.raises(ValueError):
        select_items([1, 2], limit)  # type: ignore[list-item]


def _framework() -> dict:
    yaml = pytest.importorskip("yaml")
    text = resources.files("core_evals.nel_bench").joinpath("framework.yml").read_text("utf-8")
    return yaml.safe_load(text)


def test_framework_yml_lists_every_task_for_chat_and_completions() -> None:
    """framework.yml declares exactly the registry's tasks, each for both endpoint types."""
    framework = _framework()
    assert framework["framework"]["name"] == framework["framework"]["pkg_name"] == "nel_bench"
    declared = {}
    for evaluation in framework["evaluations"]:
        config = evaluation["defaults"]["config"]
        declared[config["type"]] = config
        assert config["params"]["task"] == config["type"] == evaluation["name"]
        assert config["supported_endpoint_types"] == ["chat", "completions"]
    assert set(declared) == set(TASKS)


def test_framework_command_uses_every_param() -> None:
    """The command template references each default param (nemo-evaluator warns otherwise)."""
    framework = _framework()
    command = framework["defaults"]["command"]
    params = set(framework["defaults"]["config"]["params"]) - {"extra"} | {"task"}
    used = set(re.findall(r"config\.params\.(\w+)", command))
    assert params <= used
    for target_key in ("url", "model_id", "type", "api_key_name"):
        assert f"target.api_endpoint.{target_key}" in command
