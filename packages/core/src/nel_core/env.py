"""Environment values of jobs: ``host:VAR``, ``lit:value`` and ``runtime:VAR``.

Values stay references until a job is materialized: ``host:`` is read from the launching
process's environment then, ``lit:`` is taken as written, and ``runtime:`` is read by the job
itself from the environment it runs in (a Slurm node, a Lepton pod). A value without one of
these prefixes is refused, as NeMo Evaluator Launcher refuses it: ``HF_TOKEN`` could mean the
variable or the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

import attrs

from nel_core.errors import ConfigError, Problems

__all__ = ["EnvValue", "merge_env", "parse_env_value", "resolve_env", "unset_variables"]

Kind = Literal["host", "lit", "runtime"]
_PREFIXES: tuple[Kind, ...] = ("host", "lit", "runtime")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@attrs.frozen(kw_only=True)
class EnvValue:
    """One parsed environment reference."""

    kind: Kind
    value: str = attrs.field(repr=False)

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def parse_env_value(raw: str, *, key: str = "env_vars") -> EnvValue:
    """Parse ``host:VAR``, ``lit:value`` or ``runtime:VAR``.

    Args:
        raw: The value as written in the config.
        key: Its dotted path, for the error message.

    Raises:
        ConfigError: on a value without a prefix, or a prefix naming no variable.
    """
    text = str(raw)
    kind, sep, rest = text.partition(":")
    if sep and kind in _PREFIXES:
        if kind != "lit" and not rest:
            raise ConfigError(f"{key}: '{text}' names no variable", hint=f"write '{kind}:VAR_NAME'")
        return EnvValue(kind=kind, value=rest)
    if not text:
        raise ConfigError(f"{key}: empty value", hint="write 'host:VAR', 'lit:value' or 'runtime:VAR'")
    if _VARIABLE.fullmatch(text):
        hint = f"write host:{text} (read here at launch), lit:<value>, or runtime:{text}"
    else:
        hint = "write lit:<value> for this very text, or host:VAR / runtime:VAR to read a variable"
    raise ConfigError(f"{key}: {text!r} has no source prefix", hint=hint)


def merge_env(*layers: Mapping[str, str], api_key_name: str | None = None) -> dict[str, str]:
    """Merge env layers, later ones winning (top-level < evaluation < task).

    The endpoint's ``api_key_name`` is added as ``host:<name>`` unless a layer already sets it.
    """
    merged: dict[str, str] = {}
    if api_key_name:
        merged[api_key_name] = f"host:{api_key_name}"
    for layer in layers:
        merged.update({str(k): str(v) for k, v in layer.items()})
    return merged


def unset_variables(
    env: Mapping[str, str], environ: Mapping[str, str], *, where: str = "env_vars"
) -> dict[str, ConfigError]:
    """The ``host:`` variables of ``env`` that ``environ`` does not set, each with its error.

    Args:
        where: The dotted path of ``env`` (its keys are named under it).

    Returns:
        Variable name -> a ConfigError naming the first key that needs it.
    """
    problems: dict[str, ConfigError] = {}
    for name, raw in env.items():
        ref = parse_env_value(raw, key=f"{where}.{name}")
        if ref.kind == "host" and ref.value not in environ and ref.value not in problems:
            problems[ref.value] = ConfigError(
                f"{where}.{name}: host variable {ref.value} is not set",
                hint=f"export {ref.value}=... before running, or use 'lit:' or 'runtime:'",
            )
    return problems


def resolve_env(
    env: Mapping[str, str], environ: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Resolve references for a job about to be materialized.

    Returns:
        ``(values, runtime)``: values to write to the job's secrets file, and job variables
        that the job reads from its own environment (name -> variable name there).

    Raises:
        ConfigError: when a ``host:`` variable is not set in ``environ`` (Problems when several are not).
    """
    Problems.raise_any(list(unset_variables(env, environ).values()))
    values: dict[str, str] = {}
    runtime: dict[str, str] = {}
    for name, raw in env.items():
        ref = parse_env_value(raw, key=f"env_vars.{name}")
        if ref.kind == "runtime":
            runtime[name] = ref.value
        else:
            values[name] = ref.value if ref.kind == "lit" else environ[ref.value]
    return values, runtime
