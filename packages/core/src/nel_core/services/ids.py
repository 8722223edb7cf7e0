"""Invocation and job ids: 8 hex characters, and ``<invocation>.<n>``."""

from __future__ import annotations

import secrets
from collections.abc import Callable

__all__ = ["job_id", "new_invocation_id"]


def new_invocation_id(taken: Callable[[str], bool] = lambda _: False) -> str:
    """A fresh 8-hex-character id for which ``taken`` is false."""
    while True:
        candidate = secrets.token_hex(4)
        if not taken(candidate):
            return candidate


def job_id(invocation_id: str, index: int) -> str:
    """The id of the ``index``-th job (0-based) of an invocation."""
    return f"{invocation_id}.{index}"
