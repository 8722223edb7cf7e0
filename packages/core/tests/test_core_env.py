"""Env values: precedence of the layers and resolution of host:, lit: and runtime: references."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from nel_core.env import EnvValue, merge_env, parse_env_value, resolve_env
from nel_core.errors import ConfigError
from nel_core.testing.strategies import env_references, names

layers = st.dictionaries(names, env_references(), max_size=5)


@given(layers, layers, layers)
def test_later_layers_win(
    top: dict[str, str], evaluation: dict[str, str], task: dict[str, str]
) -> None:
    """Each variable takes its value from the last layer setting it (top < evaluation < task)."""
    merged = merge_env(top, evaluation, task)
    assert set(merged) == set(top) | set(evaluation) | set(task)
    for name, value in merged.items():
        expected = task.get(name, evaluation.get(name, top.get(name)))
        assert value == expected


@given(layers, layers, names)
def test_api_key_name_is_added_unless_set(
    top: dict[str, str], task: dict[str, str], key: str
) -> None:
    """The endpoint's api_key_name becomes ``host:<name>`` unless a layer sets that variable."""
    merged = merge_env(top, task, api_key_name=key)
    if key in top or key in task:
        assert merged[key] == task.get(key, top.get(key))
    else:
        assert merged[key] == f"host:{key}"
    assert set(merged) == set(top) | set(task) | {key}


@given(layers)
def test_no_api_key_name_adds_nothing(top: dict[str, str]) -> None:
    """Without api_key_name the merge holds exactly the layers' variables."""
    assert merge_env(top, api_key_name=None) == top
    assert merge_env(top, api_key_name="") == top


@given(
    st.dictionaries(names, env_references(), max_size=6),
    st.dictionaries(names, st.text(max_size=8)),
)
def test_resolve_splits_values_and_runtime(env: dict[str, str], environ: dict[str, str]) -> None:
    """Every variable resolves to a value (host:, lit:, bare) or a runtime reference, never both."""
    needed = {ref.value for ref in map(parse_env_value, env.values()) if ref.kind == "host"}
    environ = {**{var: f"value-of-{var}" for var in needed}, **environ}
    values, runtime = resolve_env(env, environ)
    assert set(values) | set(runtime) == set(env)
    assert not set(values) & set(runtime)
    for name, raw in env.items():
        ref = parse_env_value(raw)
        if ref.kind == "host":
            assert values[name] == environ[ref.value]
        elif ref.kind == "lit":
            assert values[name] == ref.value
        else:
            assert runtime[name] == ref.value


@given(names, names)
def test_unset_host_variable_names_it(name: str, variable: str) -> None:
    """A host: reference to an unset variable is a ConfigError naming the variable and the key."""
    for raw in (f"host:{variable}", variable):
        with pytest.raises(ConfigError) as caught:
            resolve_env({name: raw}, {})
        assert variable in caught.value.message
        assert f"env_vars.{name}" in caught.value.message


@given(names, st.text(max_size=20))
def test_lit_is_taken_as_written(name: str, value: str) -> None:
    """A lit: value is used verbatim, colons and all, without reading the environment."""
    assert resolve_env({name: f"lit:{value}"}, {}) == ({name: value}, {})


@given(st.text(max_size=20))
def test_parse_bare_values_are_host_names(raw: str) -> None:
    """A value without a known prefix is the name of a host variable."""
    assume(raw and raw.partition(":")[0] not in ("host", "lit", "runtime"))
    assert parse_env_value(raw) == EnvValue(kind="host", value=raw)


@pytest.mark.parametrize("raw", ["host:", "runtime:", ""])
def test_parse_rejects_empty_names(raw: str) -> None:
    """A reference naming no variable is a ConfigError."""
    with pytest.raises(ConfigError):
        parse_env_value(raw)


def test_env_value_repr_hides_the_value() -> None:
    """The repr of a parsed reference never shows its value (it may be a literal secret)."""
    assert "s3cr3t" not in repr(parse_env_value("lit:s3cr3t"))
