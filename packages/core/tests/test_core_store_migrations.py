"""SqliteInvocationStore's schema versions: old files migrate in place, newer ones are refused.

``fixtures/invocations-original-schema.db`` was written by the store as it was before the schema
had a version (``user_version`` 0, no ``status`` column): two invocations, three jobs.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import shutil
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import attrs
import pytest

from nel_core.errors import StoreError
from nel_core.models.domain import Invocation, Job, JobState
from nel_core.store import SCHEMA_VERSION, SqliteInvocationStore, _migrations
from nel_core.testing import make_invocation, make_jobs

FIXTURE = Path(__file__).parent / "fixtures" / "invocations-original-schema.db"

if "fork" not in multiprocessing.get_all_start_methods():  # pragma: no cover - not Linux
    pytest.skip("needs the fork start method", allow_module_level=True)
_FORK = multiprocessing.get_context("fork")

ORIGINAL_INVOCATIONS = [
    Invocation(
        id="e5f6a7b8",
        executor="slurm",
        output_dir="/lustre/ユーザー/e5f6a7b8",
        created_at=1717300000.0,
        config={"execution": {"type": "slurm", "account": "ñandú"}},
        data={"sbatch": ["812345"], "host": "login-01"},
    ),
    Invocation(
        id="a1b2c3d4",
        executor="local",
        output_dir="/runs/2024-06-01/a1b2c3d4",
        created_at=1717200000.25,
        config={
            "execution": {"type": "local"},
            "target": {
                "api_endpoint": {"model_id": "llama-3.1-8b", "url": "http://127.0.0.1:8000/v1"}
            },
            "evaluation": {"tasks": [{"name": "mmlu_pro"}, {"name": "gsm8k"}]},
            "note": "Ärger über Größe",
        },
        data={"runtime": "docker", "labels": {"nel.invocation": "a1b2c3d4"}},
    ),
]
ORIGINAL_JOBS = {
    "a1b2c3d4": [
        Job(
            id="a1b2c3d4.0",
            invocation_id="a1b2c3d4",
            index=0,
            task_name="lm-eval.mmlu_pro_日本語",
            executor="local",
            job_dir="/runs/2024-06-01/a1b2c3d4/0-mmlu_pro",
            state=JobState.SUCCESS,
            handle="pgid:4242",
            exit_code=0,
            updated_at=1717203600.0,
            data={"container": "nel-a1b2c3d4-0", "scores": {"acc": 0.5}},
        ),
        Job(
            id="a1b2c3d4.1",
            invocation_id="a1b2c3d4",
            index=1,
            task_name="simple-evals.gsm8k_français",
            executor="local",
            job_dir="/runs/2024-06-01/a1b2c3d4/1-gsm8k",
            state=JobState.FAILED,
            reason="the harness was killed (out of memory — OOM)",
            handle="pgid:4243",
            exit_code=137,
            updated_at=1717203700.0,
        ),
    ],
    "e5f6a7b8": [
        Job(
            id="e5f6a7b8.0",
            invocation_id="e5f6a7b8",
            index=0,
            task_name="helm.médecine_ελληνικά",
            executor="slurm",
            job_dir="/lustre/ユーザー/e5f6a7b8/0-med",
            state=JobState.RUNNING,
            handle="812345",
            updated_at=1717300100.0,
            data={"remote_dir": "/lustre/ユーザー/e5f6a7b8/0-med"},
        ),
    ],
}


def _old_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(FIXTURE, home / "invocations.db")
    return home


def _query(home: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(home / "invocations.db", isolation_level=None)) as db:
        return db.execute(sql).fetchall()


def _user_version(home: Path) -> int:
    return int(_query(home, "PRAGMA user_version")[0][0])


def _columns(home: Path, table: str) -> list[str]:
    return [row[1] for row in _query(home, f"PRAGMA table_info({table})")]


def _count_steps(
    monkeypatch: pytest.MonkeyPatch, counted: Callable[[], None], delay: float = 0.0
) -> None:
    """Wrap every migration step so that ``counted`` runs each time one is applied."""

    def wrap(step: Callable[[sqlite3.Connection], None]) -> Callable[[sqlite3.Connection], None]:
        def counting(db: sqlite3.Connection) -> None:
            counted()
            time.sleep(delay)  # hold the lock long enough for other openers to queue up behind it
            step(db)

        return counting

    monkeypatch.setattr(_migrations, "_MIGRATIONS", tuple(map(wrap, _migrations._MIGRATIONS)))


def test_fixture_is_the_original_schema() -> None:
    """The committed fixture is unversioned, has no status column and no WAL side files."""
    assert FIXTURE.stat().st_size < 64 * 1024
    db = sqlite3.connect(f"file:{FIXTURE}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert "status" not in [row[1] for row in db.execute("PRAGMA table_info(invocations)")]
    finally:
        db.close()
    assert not FIXTURE.with_name(FIXTURE.name + "-wal").exists()


def test_original_database_migrates_and_reads_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every invocation and job of an original-schema file reads back whole; it migrates once."""
    home = _old_home(tmp_path)
    applied: list[int] = []
    _count_steps(monkeypatch, lambda: applied.append(1))
    store = SqliteInvocationStore(home)
    assert store.list_invocations() == ORIGINAL_INVOCATIONS
    assert {inv.status for inv in ORIGINAL_INVOCATIONS} == {"submitted"}
    for invocation_id, jobs in ORIGINAL_JOBS.items():
        assert store.jobs(invocation_id) == jobs
        for job in jobs:
            assert store.get_job(job.id) == job
    store.close()
    assert _user_version(home) == SCHEMA_VERSION
    assert "status" in _columns(home, "invocations")
    assert len(applied) == SCHEMA_VERSION
    schema = _query(home, "SELECT sql FROM sqlite_master ORDER BY name")

    again = SqliteInvocationStore(home)
    assert again.get_invocation("a1b2") == ORIGINAL_INVOCATIONS[1]
    again.close()
    assert len(applied) == SCHEMA_VERSION
    assert _query(home, "SELECT sql FROM sqlite_master ORDER BY name") == schema


def test_migrated_database_takes_new_records(tmp_path: Path) -> None:
    """After migrating, the store adds, updates, sets statuses and removes as on a new file."""
    home = _old_home(tmp_path)
    store = SqliteInvocationStore(home)
    invocation = attrs.evolve(make_invocation("c0ffee01"), status="submitting")
    store.add(invocation, make_jobs(invocation, 2))
    store.set_invocation_status("c0ffee01", "submitted")
    store.set_invocation_status("a1b2c3d4", "failed_to_submit")
    store.remove("e5f6a7b8")
    reopened = SqliteInvocationStore(home)
    assert reopened.get_invocation("c0ffee01").status == "submitted"
    assert reopened.get_invocation("a1b2c3d4").status == "failed_to_submit"
    assert reopened.invocation_ids() == {"c0ffee01", "a1b2c3d4"}
    assert reopened.jobs("e5f6a7b8") == []


def test_new_database_is_created_at_the_current_version(tmp_path: Path) -> None:
    """A store's first write creates a file already at the current schema version."""
    store = SqliteInvocationStore(tmp_path)
    store.add(make_invocation(), [])
    store.close()
    assert _user_version(tmp_path) == SCHEMA_VERSION
    assert _columns(tmp_path, "invocations")[-1] == "status"


def test_newer_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    """A file from a newer schema gives a StoreError asking for an upgrade; its bytes stay the same."""
    writer = SqliteInvocationStore(tmp_path)
    writer.add(make_invocation("abcd0001"), [])
    writer.close()
    _query(tmp_path, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    _query(tmp_path, "PRAGMA journal_mode = DELETE")
    before = hashlib.sha256((tmp_path / "invocations.db").read_bytes()).hexdigest()

    store = SqliteInvocationStore(tmp_path)
    with pytest.raises(StoreError, match="written by a newer NEL.*upgrade"):
        store.invocation_ids()
    with pytest.raises(StoreError, match="newer NEL"):
        store.add(make_invocation("abcd0002"), [])
    store.close()
    assert hashlib.sha256((tmp_path / "invocations.db").read_bytes()).hexdigest() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["invocations.db"]
    assert _user_version(tmp_path) == SCHEMA_VERSION + 1


def test_failed_migration_leaves_the_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step that fails rolls the whole migration back; the next open migrates the file."""
    home = _old_home(tmp_path)
    real_steps = _migrations._MIGRATIONS

    def half_done(db: sqlite3.Connection) -> None:
        real_steps[0](db)
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(_migrations, "_MIGRATIONS", (half_done, *real_steps[1:]))
    with pytest.raises(StoreError, match="disk I/O error"):
        SqliteInvocationStore(home).invocation_ids()
    assert _user_version(home) == 0
    assert "status" not in _columns(home, "invocations")

    monkeypatch.setattr(_migrations, "_MIGRATIONS", real_steps)
    assert SqliteInvocationStore(home).list_invocations() == ORIGINAL_INVOCATIONS
    assert _user_version(home) == SCHEMA_VERSION


def test_columns_are_read_and_written_by_name(tmp_path: Path) -> None:
    """Tables whose columns come in another order, with one this code does not know, work alike."""
    with closing(sqlite3.connect(tmp_path / "invocations.db", isolation_level=None)) as db:
        db.execute(
            "CREATE TABLE invocations (status TEXT NOT NULL DEFAULT 'submitted',"
            " later TEXT NOT NULL DEFAULT '', data TEXT NOT NULL, config TEXT NOT NULL,"
            " created_at REAL NOT NULL, output_dir TEXT NOT NULL, executor TEXT NOT NULL,"
            " id TEXT PRIMARY KEY)"
        )
        db.execute(
            "CREATE TABLE jobs (data TEXT NOT NULL, updated_at REAL NOT NULL, exit_code INTEGER,"
            " later INTEGER NOT NULL DEFAULT 7, handle TEXT NOT NULL, reason TEXT NOT NULL,"
            " state TEXT NOT NULL, job_dir TEXT NOT NULL, executor TEXT NOT NULL,"
            " task_name TEXT NOT NULL, idx INTEGER NOT NULL, invocation_id TEXT NOT NULL,"
            " id TEXT PRIMARY KEY)"
        )
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    store = SqliteInvocationStore(tmp_path)
    invocation = attrs.evolve(make_invocation("5ca1ab1e", data={"d": 1}), status="submitting")
    jobs = make_jobs(invocation, 2)
    store.add(invocation, jobs)
    changed = attrs.evolve(jobs[1], state=JobState.FAILED, exit_code=3, reason="r", handle="h")
    store.update_job(changed)
    store.set_invocation_status("5ca1ab1e", "submitted")
    assert store.get_invocation("5ca1") == attrs.evolve(invocation, status="submitted")
    assert store.jobs("5ca1ab1e") == [jobs[0], changed]
    assert store.get_job("5ca1ab1e.1") == changed


def _open_and_read(home: str, barrier: object, errors: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    try:
        store = SqliteInvocationStore(Path(home))
        found = store.invocation_ids()
        if found != {"a1b2c3d4", "e5f6a7b8"}:
            errors.put(f"read {sorted(found)}")  # type: ignore[attr-defined]
    except Exception as exc:  # reported to the parent, which fails the test
        errors.put(f"{type(exc).__name__}: {exc}")  # type: ignore[attr-defined]


def test_concurrent_openers_migrate_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Processes opening an original-schema file at once all succeed; its steps run only once."""
    home = _old_home(tmp_path)
    applied = _FORK.Value("i", 0)

    def count() -> None:
        with applied.get_lock():
            applied.value += 1

    _count_steps(monkeypatch, count, delay=0.3)
    openers = 4
    barrier = _FORK.Barrier(openers)
    errors = _FORK.Queue()
    processes = [
        _FORK.Process(target=_open_and_read, args=(str(home), barrier, errors))
        for _ in range(openers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []
    assert [p.exitcode for p in processes] == [0] * openers
    assert applied.value == SCHEMA_VERSION
    assert _user_version(home) == SCHEMA_VERSION
    assert SqliteInvocationStore(home).list_invocations() == ORIGINAL_INVOCATIONS
