"""The harness config NeMo Evaluator reads (``nemo_evaluator_config``): its keys, types and ranges.

nemo-evaluator defines these keys in its pydantic models (``EvaluationConfig``, ``ConfigParams``,
``EvaluationTarget``, ``ApiEndpoint`` in ``nemo_evaluator.api.api_dataclasses``). Core carries
them here as data, so a bad value is refused while planning, before anything is recorded, rather
than by the harness once the job runs; a test checks this data against those models.

Every value accepted here is accepted by nemo-evaluator too. Some it would accept are refused
here because no harness can use them: a ``parallelism`` of 0, ``true`` for a count, ``nan``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from nel_core.errors import ConfigError
from nel_core.suggest import suggest

__all__ = [
    "API_ENDPOINT",
    "AUTO",
    "CONFIG",
    "ENDPOINT_TYPES",
    "PARAMS",
    "TARGET",
    "Rule",
    "check_evaluator_config",
    "check_params",
]

#: ``integer`` and ``number`` as nemo-evaluator reads them; ``count`` is an integer or a
#: fraction (limit_samples); ``section`` is a mapping whose keys have rules of their own.
Kind = Literal["integer", "number", "count", "string", "boolean", "choice", "mapping", "strings", "section"]


@attrs.frozen(kw_only=True)
class Rule:
    """What one key of the harness config holds.

    Args:
        name: The key.
        kind: Its type (see ``Kind``).
        minimum: The smallest value allowed (numbers).
        maximum: The largest value allowed (numbers).
        choices: The values allowed (``choice``), or words a number may be replaced by.
        hint: Said when the value is refused.
    """

    name: str
    kind: Kind
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    hint: str | None = None


#: ``parallelism: auto``: NEL finds the concurrency (see :mod:`nel_core.services.plan`).
AUTO = "auto"

#: ``config.params`` (nemo-evaluator's ``ConfigParams``).
PARAMS: tuple[Rule, ...] = (
    Rule(
        name="limit_samples",
        kind="count",
        minimum=1,
        hint="limit_samples is a count of samples (e.g. 100) or a fraction of the dataset between 0 and 1 (e.g. 0.1)",
    ),
    Rule(name="max_new_tokens", kind="integer", minimum=1),
    Rule(name="max_retries", kind="integer", minimum=0),
    Rule(
        name="parallelism",
        kind="integer",
        minimum=1,
        choices=(AUTO,),
        hint="parallelism is the number of requests in flight, or auto (found while the run goes)",
    ),
    Rule(name="task", kind="string"),
    Rule(name="temperature", kind="number", minimum=0, hint="temperature is a number such as 0 or 0.7"),
    Rule(name="request_timeout", kind="integer", minimum=1, hint="request_timeout is in seconds"),
    Rule(name="top_p", kind="number", minimum=0, maximum=1),
    Rule(name="extra", kind="mapping", hint="extra holds the harness's own parameters: extra: {name: value}"),
)

#: ``config`` (nemo-evaluator's ``EvaluationConfig``).
CONFIG: tuple[Rule, ...] = (
    Rule(name="output_dir", kind="string"),
    Rule(name="params", kind="section"),
    Rule(name="supported_endpoint_types", kind="strings"),
    Rule(name="type", kind="string"),
)

#: The endpoint types nemo-evaluator knows (its ``EndpointType``).
ENDPOINT_TYPES = ("undefined", "chat", "completions", "vlm", "embedding")

#: ``target.api_endpoint`` (nemo-evaluator's ``ApiEndpoint``).
API_ENDPOINT: tuple[Rule, ...] = (
    Rule(name="api_key", kind="string", hint="api_key is deprecated: write api_key_name"),
    Rule(name="api_key_name", kind="string"),
    Rule(name="model_id", kind="string"),
    Rule(name="stream", kind="boolean"),
    Rule(name="type", kind="choice", choices=ENDPOINT_TYPES),
    Rule(name="url", kind="string"),
    Rule(name="adapter_config", kind="mapping"),
)

#: ``target`` (nemo-evaluator's ``EvaluationTarget``).
TARGET: tuple[Rule, ...] = (Rule(name="api_endpoint", kind="section"),)

_SECTIONS: dict[str, tuple[Rule, ...]] = {"params": PARAMS, "api_endpoint": API_ENDPOINT}
_TOP: dict[str, tuple[Rule, ...]] = {"config": CONFIG, "target": TARGET}

_EXACT_FLOAT = 2**53
# The spellings of numbers that nemo-evaluator (pydantic) reads from a string, ASCII only.
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def check_evaluator_config(data: Any, where: str) -> list[ConfigError]:
    """Every problem of one ``nemo_evaluator_config`` mapping (``config`` and ``target``).

    Args:
        data: The mapping as written (one layer: the evaluation's or a task's).
        where: Its dotted path, e.g. ``evaluation.tasks[0].nemo_evaluator_config``.

    Returns:
        One ConfigError per bad key, each naming its dotted path; empty when all is well.
    """
    if not isinstance(data, Mapping):
        return [ConfigError(f"{where}: expected a mapping, got {_shown(data)}")]
    problems = []
    for key, value in data.items():
        rules = _TOP.get(str(key))
        if rules is None:
            problems.append(_unknown(where, str(key), _TOP, "nemo_evaluator_config holds 'config' and 'target'"))
        else:
            problems += _check_section(value, rules, f"{where}.{key}")
    return problems


def check_params(params: Any, where: str) -> list[ConfigError]:
    """Every problem of a ``config.params`` mapping at ``where`` (its dotted path)."""
    return _check_section(params, PARAMS, where)


def _check_section(data: Any, rules: tuple[Rule, ...], where: str) -> list[ConfigError]:
    if data is None:
        return []
    if not isinstance(data, Mapping):
        return [ConfigError(f"{where}: expected a mapping, got {_shown(data)}")]
    by_name = {rule.name: rule for rule in rules}
    problems = []
    for key, value in data.items():
        rule = by_name.get(str(key))
        if rule is None:
            kind = "parameter" if rules is PARAMS else "key"
            problems.append(_unknown(where, str(key), by_name, f"valid {kind}s: " + ", ".join(by_name), kind))
        elif rule.kind == "section":
            problems += _check_section(value, _SECTIONS[rule.name], f"{where}.{key}")
        else:
            problem = _check_value(rule, value)
            if problem is not None:
                problems.append(ConfigError(f"{where}.{key}: {problem}", hint=rule.hint))
    return problems


def _unknown(where: str, key: str, valid: Mapping[str, Any], fallback: str, kind: str = "key") -> ConfigError:
    close = suggest(key, valid)
    hint = f"did you mean '{where}.{close}'?" if close else fallback
    return ConfigError(f"{where}.{key}: unknown {kind}", hint=hint)


def _check_value(rule: Rule, value: Any) -> str | None:
    """Why ``value`` does not fit ``rule``, or None when it does (null always fits: unset)."""
    if value is None:
        return None
    shown = _shown(value)
    if rule.kind in ("integer", "count", "number"):
        if isinstance(value, str) and value in rule.choices:
            return None
        number = _number(value, integer=rule.kind == "integer")
        if rule.kind == "count" and isinstance(number, float) and 0 < number < 1:
            return None  # a fraction of the dataset
        if number is None or not _in_range(rule, number):
            return f"{shown} is not {_expected(rule)}"
        return None
    if rule.kind in ("string", "choice"):
        if not isinstance(value, str):
            return f"{shown} is not a string"
        if rule.choices and value not in rule.choices:
            return f"{shown} is not one of {', '.join(rule.choices)}"
        return None
    if rule.kind == "boolean":
        return None if isinstance(value, bool) else f"{shown} is not true or false"
    if rule.kind == "strings":
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
        return None if ok else f"{shown} is not a list of strings"
    return None if isinstance(value, Mapping) else f"{shown} is not a mapping"


def _number(value: Any, *, integer: bool) -> int | float | None:
    """``value`` as nemo-evaluator reads it (numbers, or strings spelling them), else None."""
    if isinstance(value, bool):
        return None  # YAML's `true` is no count, though pydantic would read it as 1
    if isinstance(value, str):
        text = value
        if _INTEGER.fullmatch(text):
            return int(text)
        if integer or not _NUMBER.fullmatch(text):
            return None
        value = float(text)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        if integer:  # an integer written as a float, and exactly one (pydantic refuses larger ones)
            return int(value) if value.is_integer() and abs(value) <= _EXACT_FLOAT else None
        return value
    return None


def _in_range(rule: Rule, number: float) -> bool:
    return (rule.minimum is None or number >= rule.minimum) and (rule.maximum is None or number <= rule.maximum)


def _expected(rule: Rule) -> str:
    what = "a number" if rule.kind == "number" else "an integer"
    low, high = (_plain(bound) for bound in (rule.minimum, rule.maximum))
    if low is not None and high is not None:
        return f"{what} between {low} and {high}"
    if low is not None:
        return f"{what} >= {low}"
    if high is not None:
        return f"{what} <= {high}"
    return what


def _plain(bound: float | None) -> str | None:
    if bound is None:
        return None
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _shown(value: Any) -> str:
    """A value as the user wrote it: strings quoted, anything else as YAML would read it."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
