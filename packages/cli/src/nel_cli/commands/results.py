"""Runs for ``nel report``, ``compare`` and ``gate``: from the store (refreshed) or from plain folders."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from nel_cli import context

if TYPE_CHECKING:
    from nel_core.results import RunView

__all__ = ["load_runs", "looks_like_path"]


def looks_like_path(arg: str) -> bool:
    """Whether an argument names a folder rather than an id: it has a slash, or is ``.``/``..``/``~``."""
    return os.sep in arg or "/" in arg or arg in (".", "..") or arg.startswith("~")


def _from_store(arg: str) -> RunView:
    from nel_core.results import run_view
    from nel_core.services import refresh

    store = context.store()
    invocation, jobs = store.resolve(arg)
    refreshed = refresh(store, context.executor_for, [(invocation, jobs)])
    return run_view(invocation, refreshed)


def _one(arg: str) -> RunView:
    from nel_core.errors import NotFoundError
    from nel_core.results import load_run_dirs

    if looks_like_path(arg):
        return load_run_dirs([arg])[0]
    try:
        return _from_store(arg)
    except NotFoundError:
        # Not an id: a folder of the current directory named like one, else the store's error.
        if Path(arg).is_dir():
            return load_run_dirs([arg])[0]
        raise


def _unique(runs: list[RunView]) -> list[RunView]:
    """Two runs read under one id (the same folder name twice): the later ones get ``#2``, ``#3``."""
    seen: dict[str, int] = {}
    unique = []
    for run in runs:
        seen[run.id] = seen.get(run.id, 0) + 1
        unique.append(run if seen[run.id] == 1 else attrs.evolve(run, id=f"{run.id}#{seen[run.id]}"))
    return unique


def load_runs(ids: Sequence[str], job_dirs: Sequence[str] = (), *, latest: bool = False) -> list[RunView]:
    """The runs that ``ids`` (invocation or job ids, or folders) and ``job_dirs`` (folders) name.

    With neither and ``latest``, the latest recorded invocation.

    Raises:
        NotFoundError: an id matches nothing, a folder holds no job, or there is nothing at all.
    """
    from nel_core.errors import NotFoundError
    from nel_core.results import load_run_dirs

    runs = [_one(arg) for arg in ids] + load_run_dirs(job_dirs)
    if not runs and latest:
        newest = context.store().list_invocations()[:1]
        if newest:
            runs = [_from_store(newest[0].id)]
    if not runs:
        raise NotFoundError("no runs recorded", hint="name invocation ids, or folders with --job-dirs")
    return _unique(runs)
