"""The invocation store's schema: its version and the ordered, in-place steps between versions.

The version is the database's ``PRAGMA user_version``. Version 0 is the schema NEL wrote before it
versioned the file (a new, empty file is version 0 too); step ``n`` of :data:`_MIGRATIONS` takes a
database from version ``n`` to ``n + 1``. Steps are only ever appended: a released step never
changes, since databases in users' homes have already gone through it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from nel_core.errors import StoreError

__all__ = ["SCHEMA_VERSION", "check_version", "migrate", "schema_version"]

# The tables as NEL created them before the file had a version: every database starts from these.
_ORIGINAL_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS invocations (
    id TEXT PRIMARY KEY,
    executor TEXT NOT NULL,
    output_dir TEXT NOT NULL,
    created_at REAL NOT NULL,
    config TEXT NOT NULL,
    data TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    invocation_id TEXT NOT NULL REFERENCES invocations(id),
    idx INTEGER NOT NULL,
    task_name TEXT NOT NULL,
    executor TEXT NOT NULL,
    job_dir TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    handle TEXT NOT NULL,
    exit_code INTEGER,
    updated_at REAL NOT NULL,
    data TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS jobs_by_invocation ON jobs(invocation_id, idx)",
    "CREATE INDEX IF NOT EXISTS invocations_by_time ON invocations(created_at)",
)


def _add_invocation_status(db: sqlite3.Connection) -> None:
    """0 -> 1: an invocation's launch status; invocations recorded before it were submitted."""
    db.execute("ALTER TABLE invocations ADD COLUMN status TEXT NOT NULL DEFAULT 'submitted'")


_MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_add_invocation_status,)

#: The schema version this code reads and writes.
SCHEMA_VERSION = len(_MIGRATIONS)


def schema_version(db: sqlite3.Connection) -> int:
    """The schema version recorded in the database file."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def check_version(db: sqlite3.Connection, path: Path | str) -> int:
    """The database's schema version, when this code can read it (now or after migrating).

    Raises:
        StoreError: when a newer NEL wrote the database.
    """
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"invocation store {path} was written by a newer NEL (schema version {version}; this"
            f" one knows up to {SCHEMA_VERSION}): upgrade NEL to use it",
            hint="install the newer NEL, or point NEL_HOME at another folder",
        )
    return version


def migrate(db: sqlite3.Connection, path: Path | str) -> int:
    """Bring the database to :data:`SCHEMA_VERSION` in one write transaction.

    ``db`` must be in autocommit mode (``isolation_level=None``): the steps and the new version
    commit together or not at all.

    Args:
        db: The open database.
        path: Where it is, for messages.

    Returns:
        How many steps this call applied (0 when the database was current).

    Raises:
        StoreError: when a newer NEL wrote the database (it is left untouched).
        sqlite3.Error: when a step fails (the database is left at its old version).
    """
    if check_version(db, path) == SCHEMA_VERSION:
        return 0
    db.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while this one waited for the lock: read again.
        version = check_version(db, path)
        if version == 0:
            for statement in _ORIGINAL_SCHEMA:
                db.execute(statement)
        for step in _MIGRATIONS[version:]:
            step(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return SCHEMA_VERSION - version
