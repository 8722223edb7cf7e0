"""Reading an exporter's settings (``export.<dest>`` of the config, then ``-o`` overrides).

Every exporter reads NeMo Evaluator Launcher's keys; those every destination shares are
:data:`COMMON_KEYS`. An unknown key is an error naming ``export.<dest>.<key>`` (with a
suggestion), never silently ignored.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import attrs

from nel_core.errors import ConfigError
from nel_core.exporting._metrics import MetricFilter
from nel_core.suggest import suggest

__all__ = ["COMMON_KEYS", "CommonSettings", "Settings", "apply_overrides", "destination_settings"]

#: Keys every exporter accepts (NeMo Evaluator Launcher's ``ExportConfig`` and its ``copy_artifacts``).
COMMON_KEYS = frozenset({"copy_logs", "only_required", "copy_artifacts", "log_metrics", "job_dirs"})


class Settings:
    """Typed access to one destination's settings; every error names ``export.<dest>.<key>``.

    Args:
        dest: The destination's name (``local``, ``mlflow``, ...).
        values: Its settings.
        known: Its own keys besides :data:`COMMON_KEYS`.

    Raises:
        ConfigError: when ``values`` holds a key that is not known.
    """

    def __init__(self, dest: str, values: Mapping[str, Any], known: Collection[str]) -> None:
        self.dest = dest
        self.values = dict(values)
        allowed = set(known) | COMMON_KEYS
        for key in self.values:
            if key not in allowed:
                close = suggest(key, sorted(allowed))
                raise ConfigError(
                    f"{self.where(key)}: unknown setting",
                    hint=f"did you mean '{close}'?" if close else "known: " + ", ".join(sorted(allowed)),
                )

    def where(self, key: str) -> str:
        """``export.<dest>.<key>``, as errors name a setting."""
        return f"export.{self.dest}.{key}"

    def text(self, key: str, default: str | None = None) -> str | None:
        """A string setting (numbers are taken as their text)."""
        value = self.values.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ConfigError(f"{self.where(key)}: expected a string, got {value!r}")
        return str(value)

    def flag(self, key: str, default: bool) -> bool:
        """A boolean setting (``true``/``false``, also as text)."""
        value = self.values.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{self.where(key)}: expected true or false, got {value!r}")

    def integer(self, key: str, default: int) -> int:
        """A whole-number setting."""
        value = self.values.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(f"{self.where(key)}: expected a whole number, got {value!r}")
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{self.where(key)}: expected a whole number, got {value!r}") from None

    def strings(self, key: str) -> list[str]:
        """A list of strings (one string counts as a list of one)."""
        value = self.values.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
            return [str(v) for v in value]
        raise ConfigError(f"{self.where(key)}: expected a list of strings, got {value!r}")

    def mapping(self, key: str) -> dict[str, Any]:
        """A mapping setting (``tags``, ``extra_metadata``)."""
        value = self.values.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"{self.where(key)}: expected a mapping, got {value!r}")
        return {str(k): v for k, v in value.items()}

    def choice(self, key: str, choices: Collection[str], default: str | None) -> str | None:
        """One of ``choices``."""
        value = self.text(key, default)
        if value is not None and value not in choices:
            raise ConfigError(f"{self.where(key)}: expected one of {', '.join(sorted(choices))}, got {value!r}")
        return value


@attrs.frozen(kw_only=True)
class CommonSettings:
    """The settings every destination shares, with NeMo Evaluator Launcher's defaults.

    Args:
        copy_logs: Also export the job's logs.
        only_required: Export only the result files that matter (``results.yml`` and friends),
            not every file the harness left (caches excluded either way).
        copy_artifacts: Export result files at all (where the destination keeps files).
        metric_filter: The ``log_metrics`` patterns.
    """

    copy_logs: bool = False
    only_required: bool = True
    copy_artifacts: bool = True
    metric_filter: MetricFilter = MetricFilter()

    @classmethod
    def read(cls, settings: Settings) -> CommonSettings:
        """The common settings of ``settings``.

        Raises:
            ConfigError: naming the key whose value is wrong.
        """
        return cls(
            copy_logs=settings.flag("copy_logs", False),
            only_required=settings.flag("only_required", True),
            copy_artifacts=settings.flag("copy_artifacts", True),
            metric_filter=MetricFilter.from_setting(
                settings.values.get("log_metrics"), settings.where("log_metrics")
            ),
        )


def destination_settings(config: Mapping[str, Any], dest: str) -> dict[str, Any]:
    """The ``export.<dest>`` block of a run config (empty when it has none)."""
    export = config.get("export")
    block = export.get(dest) if isinstance(export, Mapping) else None
    return _copy(block) if isinstance(block, Mapping) else {}


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _value(text: str) -> Any:
    """``-o`` values as YAML reads them (``true``, ``10``, ``[a, b]``, ``{k: v}``); else the text."""
    from nel_core.yaml_io import YamlError, load

    try:
        value = load(text)
    except YamlError:
        return text
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, dict)) and text.lstrip()[:1] in ("[", "{"):
        return value
    return text


def apply_overrides(settings: Mapping[str, Any], dest: str, overrides: Sequence[str]) -> dict[str, Any]:
    """``settings`` with ``-o`` overrides applied, as NeMo Evaluator Launcher's ``export -o`` does.

    An override is ``export.<dest>.<key>=<value>`` (dotted keys reach into mappings: ``tags.team=x``;
    a ``+``/``++`` prefix is accepted, ``~export.<dest>.<key>`` removes the key) or, shorter,
    ``<key>=<value>``. Overrides of another destination (``export.<other>.*``) are ignored.

    Raises:
        ConfigError: when an override is not ``key=value``.
    """
    result: dict[str, Any] = _copy(settings)
    for item in overrides:
        text = item.lstrip("+")
        remove = text.startswith("~")
        text = text.removeprefix("~")
        key, sep, raw = text.partition("=")
        key = key.strip()
        if (not sep and not remove) or not key:
            raise ConfigError(f"-o {item}: expected key=value (or export.{dest}.key=value)")
        if key.startswith("export."):
            _, _, rest = key.partition(".")
            named, _, key = rest.partition(".")
            if named != dest:
                continue
            if not key:
                raise ConfigError(f"-o {item}: expected export.{dest}.key=value")
        *parents, leaf = key.split(".")
        target = result
        for part in parents:
            inner = target.get(part)
            if not isinstance(inner, dict):
                inner = {}
                target[part] = inner
            target = inner
        if remove:
            target.pop(leaf, None)
        else:
            target[leaf] = _value(raw)
    return result
