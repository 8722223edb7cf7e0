"""The config as it is recorded: ``lit:`` env values replaced, so no secret reaches the store.

A ``lit:`` value is a value, perhaps a secret: it goes only into the job's ``secrets.env``
(mode 0600). ``host:`` and ``runtime:`` values are variable names and stay as written, so the
record still says where each value came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED_LITERAL", "redacted_config"]

#: What a recorded ``lit:`` value reads.
REDACTED_LITERAL = "lit:<redacted>"
_ENV_KEY = "env_vars"


def redacted_config(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the plain-data config ``data`` with every ``lit:`` value of an ``env_vars`` redacted.

    ``env_vars`` mappings are found at any depth (top level, evaluation, tasks, deployment,
    an executor's own sections). ``data`` is left unchanged.
    """
    return {str(key): _redacted(key, value) for key, value in data.items()}


def _redacted(key: object, value: Any) -> Any:
    if key == _ENV_KEY and isinstance(value, Mapping):
        return {name: _literal_redacted(raw) for name, raw in value.items()}
    if isinstance(value, Mapping):
        return {k: _redacted(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(None, item) for item in value]
    return value


def _literal_redacted(raw: Any) -> Any:
    if isinstance(raw, str) and raw.startswith("lit:"):
        return REDACTED_LITERAL
    return raw
