"""NEL_HOME as the store sees it: whether the database can live there, and its file modes."""

from __future__ import annotations

import os
from pathlib import Path

from nel_core.errors import StoreError

__all__ = ["HOME_HINT", "home_problem", "make_private"]

HOME_HINT = "set NEL_HOME to a directory you can write (NEL keeps its invocation store and caches there)"
#: The database file and the journal files SQLite keeps beside it.
_DB_SUFFIXES = ("", "-wal", "-shm")


def home_problem(home: Path, database: Path) -> StoreError | None:
    """What keeps ``home`` (NEL_HOME) from holding ``database``, or None; creates nothing."""
    if home.exists() and not home.is_dir():
        return StoreError(f"NEL_HOME {home} is not a directory", hint=HOME_HINT)
    existing = next((p for p in (home, *home.parents) if p.exists()), None)
    if existing is None:
        return None
    if not existing.is_dir():
        return StoreError(f"NEL_HOME {home} cannot be created: {existing} is not a directory", hint=HOME_HINT)
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "is not writable" if existing == home else f"cannot be created: {existing} is not writable"
        return StoreError(f"NEL_HOME {home} {what}", hint=HOME_HINT)
    if existing == home and database.exists() and not os.access(database, os.R_OK | os.W_OK):
        return StoreError(f"NEL_HOME {home}: {database.name} is not writable", hint=HOME_HINT)
    return None


def make_private(database: Path) -> None:
    """Create ``database`` readable by its owner only, and narrow an older one's mode.

    SQLite gives its journal files (``-wal``, ``-shm``) the mode of the database file.
    """
    if not database.exists():
        database.touch(mode=0o600)
    for suffix in _DB_SUFFIXES:
        file = database.with_name(database.name + suffix)
        try:
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)
        except OSError:  # absent, or another user's: SQLite says what it can do with it
            continue
