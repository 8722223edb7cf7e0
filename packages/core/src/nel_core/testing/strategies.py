"""Hypothesis strategies for NEL's config model, env references and plain data (needs Hypothesis).

Config strategies are derived from the attrs models themselves, so a key added to a model is
generated (and round-tripped by the tests) without touching this module.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Union

import attrs
from hypothesis import strategies as st

from nel_core.catalog import HarnessEntry, TaskEntry
from nel_core.models.config import DeploymentConfig, ExecutionConfig, Rate, RunConfig
from nel_core.plugins import deployment_types

__all__ = [
    "config_mappings",
    "deployment_mappings",
    "env_references",
    "harness_entries",
    "harness_params",
    "json_values",
    "mapping_for",
    "names",
    "scalars",
    "task_entries",
    "value_for",
]

#: Short identifiers: keys, variable names, task names.
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)

#: Scalars of plain data: what YAML and JSON files hold.
scalars: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)

#: Nested dicts (string keys) and lists of scalars.
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def value_for(annotation: Any) -> st.SearchStrategy[Any]:
    """Plain data that structures into ``annotation`` (a type of the config model).

    Raises:
        TypeError: for a type this module does not know how to generate.
    """
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return json_values
    if annotation is str:
        return st.text(max_size=20)
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.integers(min_value=-(2**31), max_value=2**31)
    if annotation is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if annotation is Rate:
        return st.floats(min_value=0.0, max_value=1.0)
    if origin in (Union, types.UnionType):
        return st.one_of(*(value_for(arg) for arg in args))
    if annotation is type(None):
        return st.none()
    if origin is list:
        return st.lists(value_for(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=10), value_for(args[1]), max_size=3)
    if annotation is DeploymentConfig:
        return deployment_mappings()
    if isinstance(annotation, type) and attrs.has(annotation):
        return mapping_for(annotation)
    raise TypeError(f"no strategy for {annotation!r}")


def mapping_for(cls: type, **fixed: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Mappings that structure into the attrs class ``cls``: every required key, some optional.

    Args:
        fixed: Strategies for some keys (always present) in place of the generated ones.
    """
    hints = typing.get_type_hints(cls)
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in attrs.fields(cls):
        if field.name in fixed:
            required[field.name] = fixed[field.name]
        elif field.default is attrs.NOTHING:
            required[field.name] = value_for(hints[field.name])
        else:
            optional[field.name] = value_for(hints[field.name])
    return st.fixed_dictionaries(required, optional=optional)


def deployment_mappings(*types_: str) -> st.SearchStrategy[dict[str, Any]]:
    """``deployment`` sections of the given types (default: every installed type, plugins' too)."""
    specs = deployment_types()
    chosen = types_ or tuple(sorted(specs))
    return st.one_of(*(mapping_for(specs[name].config_type, type=st.just(name)) for name in chosen))


def config_mappings(
    execution_type: type[ExecutionConfig] = ExecutionConfig, executor: str = "fake"
) -> st.SearchStrategy[dict[str, Any]]:
    """Whole run configs as Hydra would compose them, ``execution`` of ``execution_type``."""
    execution = mapping_for(execution_type, type=st.just(executor))
    hints = typing.get_type_hints(RunConfig)
    deployments = st.dictionaries(names, deployment_mappings(), max_size=2)
    optional = {
        name: value_for(hints[name]) for name in ("target", "evaluation", "env_vars", "export")
    }
    optional["deployment"] = deployment_mappings()
    optional["auxiliary_deployments"] = deployments
    return st.fixed_dictionaries({"execution": execution}, optional=optional)


def env_references(variables: st.SearchStrategy[str] = names) -> st.SearchStrategy[str]:
    """Env values as written in configs: ``host:VAR``, ``lit:value``, ``runtime:VAR``."""
    return st.one_of(
        variables.map(lambda v: f"host:{v}"),
        st.text(max_size=12).map(lambda v: f"lit:{v}"),
        variables.map(lambda v: f"runtime:{v}"),
    )


def harness_params() -> st.SearchStrategy[dict[str, Any]]:
    """Valid ``config.params`` mappings: some of NeMo Evaluator's parameters, any ``extra``."""
    return st.fixed_dictionaries(
        {},
        optional={
            "limit_samples": st.integers(1, 10**6) | st.floats(0.001, 0.999),
            "parallelism": st.integers(1, 64),
            "max_new_tokens": st.integers(1, 32768),
            "max_retries": st.integers(0, 10),
            "request_timeout": st.integers(1, 3600),
            "temperature": st.floats(0, 2),
            "top_p": st.floats(0, 1),
            "extra": st.dictionaries(names, json_values, max_size=4),
        },
    )


def task_entries() -> st.SearchStrategy[TaskEntry]:
    """Catalog task entries."""
    return st.builds(
        TaskEntry,
        harness=names,
        name=names,
        endpoint_types=st.lists(st.sampled_from(["chat", "completions", "vlm"]), max_size=3),
        defaults=st.dictionaries(names, json_values, max_size=4),
        container=st.text(max_size=20),
        pip_package=st.none() | st.text(max_size=20),
    )


def harness_entries() -> st.SearchStrategy[HarnessEntry]:
    """Catalog harness entries."""
    return st.builds(
        HarnessEntry,
        name=names,
        container=st.text(max_size=20),
        container_digest=st.none() | st.text(max_size=20),
        pip_package=st.none() | st.text(max_size=20),
        source=st.text(max_size=20),
    )
