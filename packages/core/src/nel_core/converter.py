"""The one cattrs converter of NEL, and config structuring with dotted-path errors.

Unknown keys are rejected; every structuring error becomes a :class:`ConfigError` whose message
names the dotted path of the offending key (``evaluation.tasks[2].nemo_evaluator_config``) and,
for a misspelled key, the closest valid one. ``deployment`` sections are structured with the
config class of their ``type``: NEL's own, or an installed plugin's (:mod:`nel_core.plugins`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn
from cattrs.v import format_exception

from nel_core.errors import ConfigError, NelError
from nel_core.models.config import DeploymentConfig, ExecutionConfig, Rate, RunConfig
from nel_core.plugins import deployment_types
from nel_core.suggest import suggest

__all__ = ["converter", "structure", "structure_run_config", "unstructure"]

T = TypeVar("T")

converter = cattrs.Converter(forbid_extra_keys=True)


def _structure_deployment(value: Any, _: type) -> DeploymentConfig:
    if not isinstance(value, Mapping):
        raise ConfigError(f"expected a mapping, got {type(value).__name__}")
    kind = value.get("type")
    # NEL's own types and every installed plugin's (nel.deployments), each with its config class.
    types = deployment_types()
    spec = types.get(str(kind))
    if spec is None:
        installed = ", ".join(sorted(types))
        close = suggest(str(kind), types)
        raise ConfigError(
            f"unknown deployment type {kind!r} (installed: {installed})",
            hint=f"did you mean '{close}'?" if close else None,
        )
    return converter.structure(value, spec.config_type)


converter.register_structure_hook_func(lambda t: t is DeploymentConfig, _structure_deployment)


def _structure_str(value: Any, _: type) -> str:
    # Scalars become strings (YAML reads `FOO: 1` as an int); collections are errors, not "[1]".
    if isinstance(value, (str, int, float, bool)):
        return str(value)
    raise ConfigError(f"expected a string, got {type(value).__name__}")


def _is_list(t: Any) -> bool:
    return getattr(t, "__origin__", None) is list


def _structure_list(value: Any, cls: Any) -> list[Any]:
    # cattrs would happily iterate a string or a mapping; a config list must be a list.
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ConfigError(f"expected a list, got {type(value).__name__}")
    (item_type,) = cls.__args__
    items = []
    for index, item in enumerate(value):
        try:
            items.append(converter.structure(item, item_type))
        except Exception as exc:  # noqa: BLE001 - re-raised below, annotated with its index
            _add_note(exc, IterableValidationNote(f"list item {index}", index, item_type))
            raise IterableValidationError("list item failed", [exc], cls) from None
    return items


def _add_note(exc: BaseException, note: str) -> None:
    # BaseException.add_note is Python 3.11+; __notes__ is what it sets, on 3.10 too.
    setattr(exc, "__notes__", [*getattr(exc, "__notes__", []), note])  # noqa: B010


def _structure_bool(value: Any, _: type) -> bool:
    # bool("false") is True: accept only real booleans and their usual spellings.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLEAN_WORDS:
        return _BOOLEAN_WORDS[value.strip().lower()]
    raise ConfigError(f"expected true or false, got {value!r}")


_BOOLEAN_WORDS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def _structure_int(value: Any, _: type) -> int:
    # int(1.5) is 1 and int(True) is 1: a count or a port must be written as an integer.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ConfigError(f"expected an integer, got {value!r}")


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ConfigError(f"expected a number, got {value!r}")


def _structure_rate(value: Any, _: type) -> Rate:
    # NaN fails the range check too (every comparison with it is false).
    number = _structure_float(value, float)
    if not 0.0 <= number <= 1.0:
        raise ConfigError(f"expected a number between 0 and 1, got {value!r}")
    return Rate(number)


def _structure_int_or_str(value: Any, _: Any) -> int | str | None:
    if value is None or isinstance(value, (int, str)) and not isinstance(value, bool):
        return value
    raise ConfigError(f"expected a number or a string, got {type(value).__name__}")


converter.register_structure_hook(str, _structure_str)
converter.register_structure_hook_func(lambda t: t == (int | str | None), _structure_int_or_str)
converter.register_structure_hook(bool, _structure_bool)
converter.register_structure_hook(int, _structure_int)
converter.register_structure_hook(float, _structure_float)
converter.register_structure_hook(Rate, _structure_rate)
converter.register_structure_hook_func(_is_list, _structure_list)
_structure_base_execution = make_dict_structure_fn(
    ExecutionConfig, converter, _cattrs_forbid_extra_keys=True
)


def _structure_execution(value: Any, cls: type) -> ExecutionConfig:
    # structure_run_config structures `execution` with the executor's own type beforehand.
    if isinstance(value, ExecutionConfig):
        return value
    return _structure_base_execution(value, cls)


converter.register_structure_hook_func(lambda t: t is ExecutionConfig, _structure_execution)


def _unstructure_by_runtime_type(base: type) -> Any:
    # Fields typed with a base class (execution, deployment) hold subclasses: unstructure those.
    plain: Any = make_dict_unstructure_fn(base, converter)

    def hook(obj: Any) -> Any:
        return plain(obj) if type(obj) is base else converter.unstructure(obj, type(obj))

    return hook


def _is_exactly(base: type) -> Any:
    return lambda t: t is base


for _base in (DeploymentConfig, ExecutionConfig):
    converter.register_unstructure_hook_func(_is_exactly(_base), _unstructure_by_runtime_type(_base))


def structure(data: Any, cls: type[T], *, path: str = "") -> T:
    """Structure ``data`` into ``cls``; errors become one ConfigError naming the dotted path.

    Raises:
        ConfigError: on an unknown key, a missing key or a value of the wrong type.
        PluginError: when the plugin of a deployment type cannot be loaded.
    """
    try:
        return converter.structure(data, cls)
    except NelError as exc:  # a ConfigError, or a PluginError from a deployment type's plugin
        raise type(exc)(f"{path or 'config'}: {exc.message}", hint=exc.hint) from None
    except (ClassValidationError, IterableValidationError, ForbiddenExtraKeysError) as exc:
        raise _first_error(exc, cls, path) from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path or 'config'}: {exc}") from None


def unstructure(obj: Any) -> Any:
    """Plain-data form of a model (mappings, lists, scalars)."""
    return converter.unstructure(obj)


def structure_run_config(data: Mapping[str, Any], execution_type: type[ExecutionConfig]) -> RunConfig:
    """Structure a composed config into a RunConfig, ``execution`` with the executor's config type.

    Raises:
        ConfigError: naming the dotted path of the first problem found.
    """
    if not isinstance(data, Mapping):
        raise ConfigError("config: expected a mapping at the top level")
    execution = data.get("execution") or {}
    if not isinstance(execution, Mapping):
        raise ConfigError("execution: expected a mapping")
    execution = structure(dict(execution), execution_type, path="execution")
    data = dict(data)
    if isinstance(data.get("evaluation"), list):
        # NeMo Evaluator Launcher's packaged default writes `evaluation: []`: a bare task list.
        data["evaluation"] = {"tasks": data["evaluation"]}
    # The executor's config is structured first (with its own type); the rest passes it through.
    return structure({**data, "execution": execution}, RunConfig)


def _join(path: str, tail: str) -> str:
    if not path:
        return tail
    if tail.startswith("["):
        return path + tail
    return f"{path}.{tail}"


def _first_error(exc: BaseException, cls: Any, path: str) -> NelError:
    """Walk cattrs' exception groups down to the first leaf and name its path."""
    while isinstance(exc, (ClassValidationError, IterableValidationError)):
        # A misspelled key is also a missing one: report the spelling, it comes with a hint.
        inner = next(
            (e for e in exc.exceptions if isinstance(e, ForbiddenExtraKeysError)),
            exc.exceptions[0],
        )
        step = ""
        for note in getattr(inner, "__notes__", []):
            name = getattr(note, "name", None)
            index = getattr(note, "index", None)
            if name is not None:
                step = f".{name}"
                cls = getattr(note, "type", None)
            elif isinstance(index, int):
                step = f"[{index}]"
            elif isinstance(index, str):  # a mapping key (a plain str note has a method here)
                step = f".{index}"
        path = f"{path}{step}" if path or step.startswith("[") else step.lstrip(".")
        exc = inner
    path = path.lstrip(".")
    if isinstance(exc, ForbiddenExtraKeysError):
        key = min(exc.extra_fields)
        valid = [a.name for a in attrs.fields(exc.cl)] if attrs.has(exc.cl) else []
        close = suggest(key, valid)
        where = _join(path, key)
        hint = f"did you mean '{_join(path, close)}'?" if close else (
            f"valid keys: {', '.join(valid)}" if valid else None
        )
        return ConfigError(f"{where}: unknown key", hint=hint)
    if isinstance(exc, NelError):
        return type(exc)(f"{path or 'config'}: {exc.message}", hint=exc.hint)
    if isinstance(exc, KeyError):
        return ConfigError(f"{path or exc.args[0]}: required key is missing")
    if isinstance(exc, AttributeError) and "keys" in str(exc):
        return ConfigError(f"{path or 'config'}: expected a mapping")
    message = format_exception(exc, cls)
    return ConfigError(f"{path or 'config'}: {message}")
