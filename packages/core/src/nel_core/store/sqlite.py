"""The default InvocationStore: SQLite under ``NEL_HOME`` (``~/.nel`` unless set).

WAL journaling and a busy timeout make it safe for several ``nel`` processes at once; the
database is opened lazily, on first use, never at import time. The database and its journal
files are readable by their owner only (mode 0600): the records hold no secret value, but
they do hold paths, commands and variable names. Opening a database written by an
older NEL migrates it in place (see :mod:`nel_core.store._migrations`). Rows are read and written
by column name, so a column added later never shifts what the others mean.
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
from nel_core.store._home import HOME_HINT, home_problem, make_private
from nel_core.store._migrations import check_version, migrate

__all__ = ["SqliteInvocationStore", "default_home"]

_INVOCATION_COLUMNS = ("id", "executor", "output_dir", "created_at", "config", "data", "status")
_JOB_COLUMNS = (
    "id",
    "invocation_id",
    "idx",
    "task_name",
    "executor",
    "job_dir",
    "state",
    "reason",
    "handle",
    "exit_code",
    "updated_at",
    "data",
)
_SELECT_INVOCATIONS = f"SELECT {', '.join(_INVOCATION_COLUMNS)} FROM invocations"
_SELECT_JOBS = f"SELECT {', '.join(_JOB_COLUMNS)} FROM jobs"

_OPEN_TIMEOUT = 30.0


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """``NEL_HOME``, or ``~/.nel``."""
    env = os.environ if environ is None else environ
    return Path(env.get("NEL_HOME") or Path.home() / ".nel")


class SqliteInvocationStore(InvocationStore):
    """Invocations and jobs in ``<home>/invocations.db``."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.path = self.home / "invocations.db"
        self._connection: sqlite3.Connection | None = None

    def check_writable(self) -> None:
        """Check that the store could record a run, creating nothing.

        Raises:
            StoreError: naming NEL_HOME when it is not a directory or cannot be written.
        """
        problem = home_problem(self.home, self.path)
        if problem is not None:
            raise problem

    @contextmanager
    def _db(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        if self._connection is None:
            if self.home.exists() and not self.home.is_dir():
                raise StoreError(f"NEL_HOME {self.home} is not a directory", hint=HOME_HINT)
            if not write and not self.path.exists():
                # Nothing recorded yet, and reading must not create files: read an empty store.
                empty = sqlite3.connect(":memory:", isolation_level=None)
                empty.row_factory = sqlite3.Row
                try:
                    migrate(empty, ":memory:")
                    yield empty
                finally:
                    empty.close()
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
                    raise self._open_error(exc) from exc
                time.sleep(random.uniform(0.01, 0.1))
            except (OSError, sqlite3.Error) as exc:
                raise self._open_error(exc) from exc

    def _open_error(self, exc: Exception) -> StoreError:
        # NEL_HOME itself is the usual culprit (a file, a read-only folder): name it.
        problem = home_problem(self.home, self.path)
        return problem or StoreError(f"cannot open invocation store {self.path}: {exc}")

    def _connect(self) -> sqlite3.Connection:
        self.home.mkdir(parents=True, exist_ok=True)
        make_private(self.path)
        connection = sqlite3.connect(self.path, timeout=_OPEN_TIMEOUT, isolation_level=None)
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(_OPEN_TIMEOUT * 1000)}")
            # A newer NEL's file is refused before anything is written, even the journal mode.
            check_version(connection, self.path)
            # WAL is a property of the file: only its first user switches it.
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            migrate(connection, self.path)
        except BaseException:
            connection.close()
            raise
        connection.row_factory = sqlite3.Row
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
                db.execute(_insert("invocations", _INVOCATION_COLUMNS), _invocation_row(invocation))
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"invocation id {invocation.id} is already recorded") from exc
            db.executemany(_insert("jobs", _JOB_COLUMNS), map(_job_row, jobs))

    def update_job(self, job: Job) -> None:
        with self._db(write=True) as db:
            db.execute(
                "UPDATE jobs SET state=:state, reason=:reason, handle=:handle,"
                " exit_code=:exit_code, updated_at=:updated_at, data=:data WHERE id=:id",
                _job_row(job),
            )

    def update_invocation_data(self, invocation_id: str, data: dict[str, Any]) -> None:
        with self._db(write=True) as db:
            row = db.execute("SELECT data FROM invocations WHERE id=?", (invocation_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no invocation {invocation_id}")
            merged = {**json.loads(row["data"]), **data}
            db.execute(
                "UPDATE invocations SET data=? WHERE id=?", (json.dumps(merged), invocation_id)
            )

    def set_invocation_status(self, invocation_id: str, status: str) -> None:
        with self._db(write=True) as db:
            cursor = db.execute(
                "UPDATE invocations SET status=? WHERE id=?", (status, invocation_id)
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"no invocation {invocation_id}")

    def remove(self, invocation_id: str) -> None:
        with self._db(write=True) as db:
            db.execute("DELETE FROM jobs WHERE invocation_id=?", (invocation_id,))
            db.execute("DELETE FROM invocations WHERE id=?", (invocation_id,))

    # ------------------------------------------------------------------------------- reading

    def invocation_ids(self) -> set[str]:
        with self._db() as db:
            return {row["id"] for row in db.execute("SELECT id FROM invocations")}

    def get_invocation(self, id_or_prefix: str) -> Invocation:
        with self._db() as db:
            rows = db.execute(
                _SELECT_INVOCATIONS + " WHERE id LIKE ? ESCAPE '\\' LIMIT 2",
                (_prefix(id_or_prefix),),
            ).fetchall()
        return _invocation(_one(rows, id_or_prefix, "invocation"))

    def list_invocations(
        self, *, since: float | None = None, executor: str | None = None
    ) -> list[Invocation]:
        query = _SELECT_INVOCATIONS + " WHERE 1=1"
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
                _SELECT_JOBS + " WHERE invocation_id=? ORDER BY idx", (invocation_id,)
            ).fetchall()
        return [_job(row) for row in rows]

    def get_job(self, id_or_prefix: str) -> Job:
        with self._db() as db:
            rows = db.execute(
                _SELECT_JOBS + " WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY id = ? DESC LIMIT 2",
                (id_or_prefix, _prefix(id_or_prefix), id_or_prefix),
            ).fetchall()
        if len(rows) == 2 and rows[0]["id"] == id_or_prefix:
            rows = rows[:1]
        return _job(_one(rows, id_or_prefix, "job"))


def _insert(table: str, columns: Sequence[str]) -> str:
    names = ", ".join(columns)
    values = ", ".join(f":{column}" for column in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({values})"


def _prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _one(rows: list[Any], key: str, kind: str) -> Any:
    if not key or not rows:
        raise NotFoundError(f"no {kind} matches '{key}'", hint="run 'nel ls runs' to list invocations")
    if len(rows) > 1:
        raise NotFoundError(f"'{key}' matches several {kind}s", hint="type more characters of the id")
    return rows[0]


def _invocation_row(invocation: Invocation) -> dict[str, Any]:
    return {
        "id": invocation.id,
        "executor": invocation.executor,
        "output_dir": invocation.output_dir,
        "created_at": invocation.created_at,
        "config": json.dumps(invocation.config),
        "data": json.dumps(invocation.data),
        "status": invocation.status,
    }


def _invocation(row: sqlite3.Row) -> Invocation:
    return Invocation(
        id=row["id"],
        executor=row["executor"],
        output_dir=row["output_dir"],
        created_at=row["created_at"],
        config=json.loads(row["config"]),
        data=json.loads(row["data"]),
        status=row["status"],
    )


def _job_row(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "invocation_id": job.invocation_id,
        "idx": job.index,
        "task_name": job.task_name,
        "executor": job.executor,
        "job_dir": job.job_dir,
        "state": job.state.value,
        "reason": job.reason,
        "handle": job.handle,
        "exit_code": job.exit_code,
        "updated_at": job.updated_at or time.time(),
        "data": json.dumps(job.data),
    }


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        invocation_id=row["invocation_id"],
        index=row["idx"],
        task_name=row["task_name"],
        executor=row["executor"],
        job_dir=row["job_dir"],
        state=JobState(row["state"]),
        reason=row["reason"],
        handle=row["handle"],
        exit_code=row["exit_code"],
        updated_at=row["updated_at"],
        data=json.loads(row["data"]),
    )
