"""The default InvocationStore: SQLite under ``NEL_HOME`` (``~/.nel`` unless set).

WAL journaling and a busy timeout make it safe for several ``nel`` processes at once; the
database is opened lazily, on first use, never at import time.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nel_core.errors import NotFoundError, StoreError
from nel_core.models.domain import Invocation, Job, JobState
from nel_core.ports.invocation_store import InvocationStore

__all__ = ["SqliteInvocationStore", "default_home"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS invocations (
    id TEXT PRIMARY KEY,
    executor TEXT NOT NULL,
    output_dir TEXT NOT NULL,
    created_at REAL NOT NULL,
    config TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
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
);
CREATE INDEX IF NOT EXISTS jobs_by_invocation ON jobs(invocation_id, idx);
CREATE INDEX IF NOT EXISTS invocations_by_time ON invocations(created_at);
"""


_OPEN_TIMEOUT = 30.0


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """``NEL_HOME``, or ``~/.nel``."""
    env = os.environ if environ is None else environ
    return Path(env.get("NEL_HOME") or Path.home() / ".nel")


class SqliteInvocationStore(InvocationStore):
    """Invocations and jobs in ``<home>/invocations.db``."""

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / "invocations.db"
        self._connection: sqlite3.Connection | None = None

    @contextmanager
    def _db(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        if self._connection is None:
            if not write and not self.path.exists():
                # Nothing recorded yet, and reading must not create files: read an empty store.
                empty = sqlite3.connect(":memory:")
                empty.executescript(_SCHEMA)
                yield empty
                return
            self._connection = self._open()
        try:
            if write:
                with self._connection:
                    # Lock before the first read: a read-modify-write (update_invocation_data)
                    # must not interleave with another process's, or one update is lost.
                    self._connection.execute("BEGIN IMMEDIATE")
                    yield self._connection
            else:
                yield self._connection
        except sqlite3.Error as exc:
            raise StoreError(f"invocation store {self.path}: {exc}") from exc

    def _open(self) -> sqlite3.Connection:
        deadline = time.monotonic() + _OPEN_TIMEOUT
        while True:
            try:
                return self._connect()
            except sqlite3.OperationalError as exc:
                # Creating the file and switching it to WAL may meet another process doing the
                # same; SQLite answers "locked" at once there, without its busy handler.
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise StoreError(f"cannot open invocation store {self.path}: {exc}") from exc
                time.sleep(random.uniform(0.01, 0.1))
            except (OSError, sqlite3.Error) as exc:
                raise StoreError(f"cannot open invocation store {self.path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=_OPEN_TIMEOUT, isolation_level=None)
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(_OPEN_TIMEOUT * 1000)}")
            # WAL is a property of the file: only its first user switches it.
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.executescript(_SCHEMA)
        except BaseException:
            connection.close()
            raise
        connection.isolation_level = "IMMEDIATE"  # writers take the lock up front
        return connection

    def close(self) -> None:
        """Close the database connection (it reopens on next use)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # ------------------------------------------------------------------------------- writing

    def add(self, invocation: Invocation, jobs: Sequence[Job]) -> None:
        with self._db(write=True) as db:
            try:
                db.execute(
                    "INSERT INTO invocations VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        invocation.id,
                        invocation.executor,
                        invocation.output_dir,
                        invocation.created_at,
                        json.dumps(invocation.config),
                        json.dumps(invocation.data),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"invocation id {invocation.id} is already recorded") from exc
            db.executemany("INSERT INTO jobs VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", map(_job_row, jobs))

    def update_job(self, job: Job) -> None:
        with self._db(write=True) as db:
            db.execute(
                "UPDATE jobs SET state=?, reason=?, handle=?, exit_code=?, updated_at=?, data=?"
                " WHERE id=?",
                (
                    job.state.value,
                    job.reason,
                    job.handle,
                    job.exit_code,
                    job.updated_at or time.time(),
                    json.dumps(job.data),
                    job.id,
                ),
            )

    def update_invocation_data(self, invocation_id: str, data: dict[str, Any]) -> None:
        with self._db(write=True) as db:
            row = db.execute("SELECT data FROM invocations WHERE id=?", (invocation_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no invocation {invocation_id}")
            merged = {**json.loads(row[0]), **data}
            db.execute(
                "UPDATE invocations SET data=? WHERE id=?", (json.dumps(merged), invocation_id)
            )

    # ------------------------------------------------------------------------------- reading

    def invocation_ids(self) -> set[str]:
        with self._db() as db:
            return {row[0] for row in db.execute("SELECT id FROM invocations")}

    def get_invocation(self, id_or_prefix: str) -> Invocation:
        with self._db() as db:
            rows = db.execute(
                "SELECT * FROM invocations WHERE id LIKE ? ESCAPE '\\' LIMIT 2",
                (_prefix(id_or_prefix),),
            ).fetchall()
        return _invocation(_one(rows, id_or_prefix, "invocation"))

    def list_invocations(
        self, *, since: float | None = None, executor: str | None = None
    ) -> list[Invocation]:
        query = "SELECT * FROM invocations WHERE 1=1"
        params: list[Any] = []
        if since is not None:
            query += " AND created_at >= ?"
            params.append(since)
        if executor is not None:
            query += " AND executor = ?"
            params.append(executor)
        with self._db() as db:
            rows = db.execute(query + " ORDER BY created_at DESC", params).fetchall()
        return [_invocation(row) for row in rows]

    def jobs(self, invocation_id: str) -> list[Job]:
        with self._db() as db:
            rows = db.execute(
                "SELECT * FROM jobs WHERE invocation_id=? ORDER BY idx", (invocation_id,)
            ).fetchall()
        return [_job(row) for row in rows]

    def get_job(self, id_or_prefix: str) -> Job:
        with self._db() as db:
            rows = db.execute(
                "SELECT * FROM jobs WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY id = ? DESC LIMIT 2",
                (id_or_prefix, _prefix(id_or_prefix), id_or_prefix),
            ).fetchall()
        if len(rows) == 2 and rows[0][0] == id_or_prefix:
            rows = rows[:1]
        return _job(_one(rows, id_or_prefix, "job"))


def _prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _one(rows: list[Any], key: str, kind: str) -> Any:
    if not key or not rows:
        raise NotFoundError(f"no {kind} matches '{key}'", hint="run 'nel ls runs' to list invocations")
    if len(rows) > 1:
        raise NotFoundError(f"'{key}' matches several {kind}s", hint="type more characters of the id")
    return rows[0]


def _invocation(row: Any) -> Invocation:
    return Invocation(
        id=row[0],
        executor=row[1],
        output_dir=row[2],
        created_at=row[3],
        config=json.loads(row[4]),
        data=json.loads(row[5]),
    )


def _job_row(job: Job) -> tuple[Any, ...]:
    return (
        job.id,
        job.invocation_id,
        job.index,
        job.task_name,
        job.executor,
        job.job_dir,
        job.state.value,
        job.reason,
        job.handle,
        job.exit_code,
        job.updated_at or time.time(),
        json.dumps(job.data),
    )


def _job(row: Any) -> Job:
    return Job(
        id=row[0],
        invocation_id=row[1],
        index=row[2],
        task_name=row[3],
        executor=row[4],
        job_dir=row[5],
        state=JobState(row[6]),
        reason=row[7],
        handle=row[8],
        exit_code=row[9],
        updated_at=row[10],
        data=json.loads(row[11]),
    )
