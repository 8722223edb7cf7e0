"""Core's harness-config rules agree with nemo-evaluator's own pydantic models, and name what they refuse.

nel_core may not import nemo-evaluator or pydantic, so it carries the keys, types and ranges of
``config``, ``config.params`` and ``target.api_endpoint`` as data (:mod:`nel_core.params`).
These tests hold that data against nemo-evaluator 0.1.95's models, so the two cannot drift.
"""

from __future__ import annotations

import typing
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nemo_evaluator.api.api_dataclasses import (
    ApiEndpoint,
    ConfigParams,
    EndpointType,
    EvaluationConfig,
    EvaluationTarget,
)
from pydantic import BaseModel, ValidationError

from nel_core.params import (
    API_ENDPOINT,
    CONFIG,
    ENDPOINT_TYPES,
    PARAMS,
    TARGET,
    Rule,
    check_evaluator_config,
    check_params,
)
from nel_core.testing.strategies import harness_params, json_values

SECTIONS: list[tuple[tuple[Rule, ...], type[BaseModel]]] = [
    (PARAMS, ConfigParams),
    (CONFIG, EvaluationConfig),
    (TARGET, EvaluationTarget),
    (API_ENDPOINT, ApiEndpoint),
]
#: What each kind of rule must be in the pydantic model (all fields there are optional).
ANNOTATIONS: dict[str, Any] = {
    "integer": typing.Optional[int],
    "number": typing.Optional[float],
    "count": typing.Union[int, float, None],
    "string": typing.Optional[str],
    "boolean": typing.Optional[bool],
    "strings": typing.Optional[list[str]],
    "choice": typing.Optional[EndpointType],
}


def _model_of(annotation: Any) -> Any:
    """The one non-None member of ``Optional[X]``."""
    members = [a for a in typing.get_args(annotation) if a is not type(None)]
    assert len(members) == 1, annotation
    return members[0]


@pytest.mark.parametrize(("rules", "model"), SECTIONS, ids=[m.__name__ for _, m in SECTIONS])
def test_rules_name_exactly_the_models_fields(rules: tuple[Rule, ...], model: type[BaseModel]) -> None:
    """Every field of nemo-evaluator's model has a rule in core, and no rule names a field it lacks."""
    assert [r.name for r in rules] == list(model.model_fields)


@pytest.mark.parametrize(("rules", "model"), SECTIONS, ids=[m.__name__ for _, m in SECTIONS])
def test_rule_kinds_match_the_models_types(rules: tuple[Rule, ...], model: type[BaseModel]) -> None:
    """Each rule's kind is the type nemo-evaluator gives that field (a nested model for a section)."""
    for rule in rules:
        annotation = model.model_fields[rule.name].annotation
        if rule.kind in ANNOTATIONS:
            assert annotation == ANNOTATIONS[rule.kind], rule.name
        elif rule.kind == "section":
            assert issubclass(_model_of(annotation), BaseModel), rule.name
        else:  # a mapping: a plain dict, or a model read from one
            inner = _model_of(annotation)
            assert typing.get_origin(inner) is dict or issubclass(inner, BaseModel), rule.name


def test_endpoint_types_are_nemo_evaluators() -> None:
    """The endpoint types core allows are exactly nemo-evaluator's EndpointType values."""
    assert set(ENDPOINT_TYPES) == {t.value for t in EndpointType}


#: Values of every shape, numbers spelled as strings among them.
numeric_text = st.from_regex(r"\A[+-]?[0-9]{1,4}(\.[0-9]{0,3})?([eE][+-]?[0-9])?\Z")
any_value = st.one_of(
    json_values,
    numeric_text,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["abc", "hot", "", " 10", "1_0", "nan", "inf", "0x10", "١٠"]),
)


def _pydantic_accepts(model: type[BaseModel], data: dict[str, Any]) -> bool:
    try:
        model(**data)
    except (ValidationError, ValueError):
        return False
    return True


@given(st.sampled_from(PARAMS), any_value)
def test_what_core_accepts_nemo_evaluator_accepts(rule: Rule, value: Any) -> None:
    """A parameter value core lets through is one nemo-evaluator's ConfigParams reads too."""
    if not check_params({rule.name: value}, "params"):
        assert _pydantic_accepts(ConfigParams, {rule.name: value}), (rule.name, value)


@given(st.sampled_from([r for r in (*CONFIG, *API_ENDPOINT) if r.kind != "section"]), any_value)
def test_config_and_endpoint_values_core_accepts_are_valid(rule: Rule, value: Any) -> None:
    """A config or target.api_endpoint value core lets through is one nemo-evaluator's models read too."""
    model: type[BaseModel] = EvaluationConfig if rule in CONFIG else ApiEndpoint
    where = {"config": {rule.name: value}} if rule in CONFIG else {"target": {"api_endpoint": {rule.name: value}}}
    if rule.name == "adapter_config" and isinstance(value, dict) and value:
        return  # a mapping of the adapter's own settings: nemo-evaluator checks those itself
    if not check_evaluator_config(where, "nemo_evaluator_config"):
        assert _pydantic_accepts(model, {rule.name: value}), (rule.name, value)


@given(harness_params())
def test_valid_params_pass_both(params: dict[str, Any]) -> None:
    """Generated valid parameters pass core's check and nemo-evaluator's model alike."""
    assert check_params(params, "params") == []
    assert _pydantic_accepts(ConfigParams, params)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit_samples", "abc"),
        ("parallelism", "abc"),
        ("temperature", "hot"),
        ("max_new_tokens", 1.5),
        ("request_timeout", [1]),
        ("extra", [1]),
        ("task", 5),
        ("top_p", {"a": 1}),
    ],
)
def test_wrong_types_are_refused_by_both(name: str, value: Any) -> None:
    """A value of the wrong type is refused by core and by nemo-evaluator alike."""
    assert check_params({name: value}, "params")
    assert not _pydantic_accepts(ConfigParams, {name: value})


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("limit_samples", 0, "0 is not an integer >= 1"),
        ("limit_samples", -5, "-5 is not an integer >= 1"),
        ("limit_samples", True, "true is not an integer >= 1"),
        ("parallelism", 0, "0 is not an integer >= 1"),
        ("max_new_tokens", -1, "-1 is not an integer >= 1"),
        ("request_timeout", 0, "0 is not an integer >= 1"),
        ("temperature", float("nan"), "nan is not a number >= 0"),
        ("top_p", 2, "2 is not a number between 0 and 1"),
    ],
)
def test_values_no_harness_can_use_are_refused(name: str, value: Any, reason: str) -> None:
    """Values nemo-evaluator would pass on but no harness can use (0 requests in flight, ...) are refused."""
    (problem,) = check_params({name: value}, "p")
    assert problem.message == f"p.{name}: {reason}"


def test_unknown_keys_get_a_suggestion() -> None:
    """A misspelled key at any level is named with its dotted path and the closest valid key."""
    data = {"config": {"parms": {}, "params": {"paralelism": 2}}, "target": {"api_endpoint": {"modle_id": "m"}}}
    problems = check_evaluator_config(data, "n")
    assert [(p.message, p.hint) for p in problems] == [
        ("n.config.parms: unknown key", "did you mean 'n.config.params'?"),
        ("n.config.params.paralelism: unknown parameter", "did you mean 'n.config.params.parallelism'?"),
        ("n.target.api_endpoint.modle_id: unknown key", "did you mean 'n.target.api_endpoint.model_id'?"),
    ]


def test_sections_must_be_mappings() -> None:
    """A section written as a scalar or a list is named as such."""
    assert [p.message for p in check_evaluator_config({"config": {"params": 5}}, "n")] == [
        "n.config.params: expected a mapping, got 5"
    ]
    assert [p.message for p in check_evaluator_config([1], "n")] == ["n: expected a mapping, got a list"]
