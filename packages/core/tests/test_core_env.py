"""Env values: precedence of the layers and resolution of host:, lit: and runtime: references."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from nel_core.env import EnvValue, merge_env, parse_env_value, resolve_env, unset_variables
from nel_core.errors import ConfigError, Problems
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
    """Every variable resolves to a value (host:, lit:) or a runtime reference, never both."""
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
    with pytest.raises(ConfigError) as caught:
        resolve_env({name: f"host:{variable}"}, {})
    assert caught.value.message == f"env_vars.{name}: host variable {variable} is not set"


def test_every_unset_variable_is_named_once() -> None:
    """Several unset host variables are all named, each once however many keys read it."""
    env = {"A": "host:NEL_X", "B": "host:NEL_Y", "C": "host:NEL_X", "D": "lit:v"}
    assert list(unset_variables(env, {"NEL_Z": "1"})) == ["NEL_X", "NEL_Y"]
    with pytest.raises(Problems) as caught:
        resolve_env(env, {})
    assert [p.message for p in caught.value.problems] == [
        "env_vars.A: host variable NEL_X is not set",
        "env_vars.B: host variable NEL_Y is not set",
    ]


@given(names, st.text(max_size=20))
def test_lit_is_taken_as_written(name: str, value: str) -> None:
    """A lit: value is used verbatim, colons and all, without reading the environment."""
    assert resolve_env({name: f"lit:{value}"}, {}) == ({name: value}, {})


@given(st.text(min_size=1, max_size=20))
def test_values_without_a_prefix_are_refused(raw: str) -> None:
    """A value without a known prefix is refused (as NeMo Evaluator Launcher refuses it), naming the key."""
    assume(raw.partition(":")[0] not in ("host", "lit", "runtime") or ":" not in raw)
    with pytest.raises(ConfigError) as caught:
        parse_env_value(raw, key="env_vars.X")
    assert caught.value.message == f"env_vars.X: {raw!r} has no source prefix"
    assert caught.value.hint is not None and "lit:" in caught.value.hint


def test_missing_prefix_hint_suggests_each_source() -> None:
    """A bare variable name gets a hint spelling out host:, lit: and runtime: for it."""
    with pytest.raises(ConfigError) as caught:
        parse_env_value("HF_TOKEN", key="env_vars.HF_TOKEN")
    assert caught.value.message == "env_vars.HF_TOKEN: 'HF_TOKEN' has no source prefix"
    assert caught.value.hint == "write host:HF_TOKEN (read here at launch), lit:<value>, or runtime:HF_TOKEN"


@given(names)
def test_prefixed_values_parse(variable: str) -> None:
    """host:, lit: and runtime: values parse to their kind and value."""
    for kind in ("host", "lit", "runtime"):
        assert parse_env_value(f"{kind}:{variable}") == EnvValue(kind=kind, value=variable)


@pytest.mark.parametrize("raw", ["host:", "runtime:", ""])
def test_parse_rejects_empty_names(raw: str) -> None:
    """A reference naming no variable is a ConfigError."""
    with pytest.raises(ConfigError):
        parse_env_value(raw)


def test_env_value_repr_hides_the_value() -> None:
    """The repr of a parsed reference never shows its value (it may be a literal secret)."""
    assert "s3cr3t" not in repr(parse_env_value("lit:s3cr3t"))
