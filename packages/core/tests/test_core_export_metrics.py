"""Flat metric names and the ``log_metrics`` filter, over arbitrary results structures."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nel_core.errors import ConfigError, ExportError
from nel_core.exporting import MetricFilter, flatten_metrics, metric_key
from nel_core.models.results import JobResults

names = st.text(alphabet="abcxyz_.-09", min_size=1, max_size=6)
numbers = st.floats(allow_nan=False, allow_infinity=False, width=32)
junk = st.one_of(st.none(), st.text(max_size=3), st.booleans(), st.lists(st.integers(), max_size=2))
stats = st.one_of(junk, st.dictionaries(st.sampled_from(["stderr", "count"]), st.one_of(numbers, junk)))
score_bodies = st.one_of(st.fixed_dictionaries({"value": numbers}, optional={"stats": stats}), junk)
metric_bodies = st.one_of(st.fixed_dictionaries({"scores": st.dictionaries(names, score_bodies, max_size=3)}), junk)
task_bodies = st.one_of(st.fixed_dictionaries({"metrics": st.dictionaries(names, metric_bodies, max_size=3)}), junk)
documents = st.fixed_dictionaries(
    {"results": st.fixed_dictionaries({}, optional={
        "tasks": st.one_of(st.dictionaries(names, task_bodies, max_size=3), junk),
        "groups": st.one_of(st.dictionaries(names, task_bodies, max_size=2), junk),
    })}
)  # fmt: skip


def _stderr(stats: Any) -> float | None:
    value = stats.get("stderr") if isinstance(stats, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@given(documents)
def test_every_score_is_under_its_flat_name_or_the_clash_is_reported(document: dict[str, Any]) -> None:
    """Each score appears as <task>_<metric>_<score> (stderr beside it), unless two names clash."""
    results = JobResults.from_mapping(document)
    expected: dict[str, set[float]] = {}
    for score in results.scores:
        expected.setdefault(metric_key(score), set()).add(score.value)
        stderr = _stderr(score.stats)
        if stderr is not None:
            expected.setdefault(metric_key(score) + "_stderr", set()).add(stderr)
    clash = any(len(values) > 1 for values in expected.values())
    if clash:
        with pytest.raises(ExportError, match="stands for both"):
            flatten_metrics(results)
        return
    flat = flatten_metrics(results)
    assert set(flat) == set(expected)
    for key, values in expected.items():
        assert flat[key] == next(iter(values))


@given(documents, st.lists(names, max_size=3))
def test_the_filter_keeps_a_subset_and_stderr_follows_its_metric(document: dict[str, Any], patterns: list[str]) -> None:
    """The filter keeps only matching metrics, all of them without patterns, and a stderr with its metric."""
    try:
        flat = flatten_metrics(JobResults.from_mapping(document))
    except ExportError:
        return
    kept = MetricFilter(patterns=tuple(patterns)).apply(flat)
    assert kept.items() <= flat.items()
    if not patterns:
        assert kept == flat
    for key in flat:
        if key.endswith("_stderr") and key[: -len("_stderr")] in flat:
            assert (key in kept) == (key[: -len("_stderr")] in kept)


def test_flat_names_of_a_harness_document() -> None:
    """A typical results.yml gives <task>_<metric>_<score> and _stderr names, groups included."""
    document = {
        "results": {
            "tasks": {"mmlu": {"metrics": {"acc": {"scores": {"micro": {"value": 0.5, "stats": {"stderr": 0.01}}}}}}},
            "groups": {"stem": {"metrics": {"acc": {"scores": {"acc": {"value": 0.25}}}}}},
        }
    }
    assert flatten_metrics(JobResults.from_mapping(document)) == {
        "mmlu_acc_micro": 0.5,
        "mmlu_acc_micro_stderr": 0.01,
        "stem_acc_acc": 0.25,
    }


@pytest.mark.parametrize(
    ("patterns", "kept"),
    [
        (("accuracy",), {"t_accuracy_accuracy", "t_accuracy_accuracy_stderr"}),
        (("ACC",), {"t_accuracy_accuracy", "t_accuracy_accuracy_stderr"}),
        (("*_macro",), {"t_f1_macro"}),
        (("t_f1_*", "accuracy"), {"t_f1_macro", "t_accuracy_accuracy", "t_accuracy_accuracy_stderr"}),
        (("bleu",), set()),
    ],
)
def test_patterns_match_substrings_or_whole_names(patterns: tuple[str, ...], kept: set[str]) -> None:
    """A plain pattern matches part of a name (any case); a glob the whole name."""
    metrics = {"t_accuracy_accuracy": 0.5, "t_accuracy_accuracy_stderr": 0.1, "t_f1_macro": 0.2}
    assert set(MetricFilter(patterns=patterns).apply(metrics)) == kept


def test_log_metrics_setting_forms() -> None:
    """``log_metrics`` is a list of patterns or one comma-separated string; anything else is named."""
    assert MetricFilter.from_setting(["a", "b"]).patterns == ("a", "b")
    assert MetricFilter.from_setting("a, b").patterns == ("a", "b")
    assert MetricFilter.from_setting(None).patterns == ()
    with pytest.raises(ConfigError, match=r"^export.local.log_metrics: expected a list"):
        MetricFilter.from_setting(3, "export.local.log_metrics")


def test_nan_scores_do_not_clash_with_themselves() -> None:
    """A NaN score reported twice under one name is one metric, not a clash."""
    body = {"metrics": {"m": {"scores": {"s": {"value": math.nan}}}}}
    flat = flatten_metrics(JobResults.from_mapping({"results": {"tasks": {"t": body}, "groups": {"t": body}}}))
    assert list(flat) == ["t_m_s"] and math.isnan(flat["t_m_s"])
