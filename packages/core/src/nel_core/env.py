"""Environment values of jobs: ``host:VAR``, ``lit:value`` and ``runtime:VAR``.

Values stay references until a job is materialized: ``host:`` is read from the launching
process's environment then, ``lit:`` is taken as written, and ``runtime:`` is read by the job
itself from the environment it runs in (a Slurm node, a Lepton pod). A bare value is a host
variable name, as in NeMo Evaluator Launcher's configs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

from nel_core.errors import ConfigError

__all__ = ["EnvValue", "merge_env", "parse_env_value", "resolve_env"]

Kind = Literal["host", "lit", "runtime"]
_PREFIXES: tuple[Kind, ...] = ("host", "lit", "runtime")


@attrs.frozen(kw_only=True)
class EnvValue:
    """One parsed environment reference."""

    kind: Kind
    value: str = attrs.field(repr=False)

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def parse_env_value(raw: str, *, key: str = "env_vars") -> EnvValue:
    """Parse ``host:VAR``, ``lit:value``, ``runtime:VAR`` or a bare host variable name.

    Raises:
        ConfigError: on an empty variable name.
    """
    kind, sep, rest = str(raw).partition(":")
    if sep and kind in _PREFIXES:
        if kind != "lit" and not rest:
            raise ConfigError(f"{key}: '{raw}' names no variable", hint=f"write '{kind}:VAR_NAME'")
        return EnvValue(kind=kind, value=rest)
    if not str(raw):
        raise ConfigError(f"{key}: empty value", hint="write 'host:VAR', 'lit:value' or 'runtime:VAR'")
    return EnvValue(kind="host", value=str(raw))


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


def resolve_env(
    env: Mapping[str, str], environ: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Resolve references for a job about to be materialized.

    Returns:
        ``(values, runtime)``: values to write to the job's secrets file, and job variables
        that the job reads from its own environment (name -> variable name there).

    Raises:
        ConfigError: when a ``host:`` variable is not set in ``environ``.
    """
    values: dict[str, str] = {}
    runtime: dict[str, str] = {}
    for name, raw in env.items():
        ref = parse_env_value(raw, key=f"env_vars.{name}")
        if ref.kind == "lit":
            values[name] = ref.value
        elif ref.kind == "runtime":
            runtime[name] = ref.value
        elif ref.value in environ:
            values[name] = environ[ref.value]
        else:
            raise ConfigError(
                f"env_vars.{name}: host variable {ref.value} is not set",
                hint=f"export {ref.value}=... before running, or use 'lit:' or 'runtime:'",
            )
    return values, runtime
