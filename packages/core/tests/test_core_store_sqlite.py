"""SqliteInvocationStore with several processes writing at once (several `nel` commands)."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from nel_core.errors import StoreError
from nel_core.store import SqliteInvocationStore, default_home
from nel_core.testing import make_invocation, make_jobs

WRITERS = 6
PER_WRITER = 15

if "fork" not in multiprocessing.get_all_start_methods():  # pragma: no cover - not Linux
    pytest.skip("needs the fork start method", allow_module_level=True)
_FORK = multiprocessing.get_context("fork")


def _add_many(home: str, writer: int, barrier: object, errors: object) -> None:
    store = SqliteInvocationStore(Path(home))
    barrier.wait()  # type: ignore[attr-defined]
    try:
        for n in range(PER_WRITER):
            invocation = make_invocation(f"{writer:02x}{n:06x}", created_at=float(writer * 100 + n))
            store.add(invocation, make_jobs(invocation, 3))
    except Exception as exc:  # reported to the parent, which fails the test
        errors.put(f"writer {writer}: {type(exc).__name__}: {exc}")  # type: ignore[attr-defined]


def _merge_data(home: str, writer: int, barrier: object, errors: object) -> None:
    store = SqliteInvocationStore(Path(home))
    barrier.wait()  # type: ignore[attr-defined]
    try:
        for n in range(PER_WRITER):
            store.update_invocation_data("shared00", {f"w{writer}-{n}": n})
    except Exception as exc:
        errors.put(f"writer {writer}: {type(exc).__name__}: {exc}")  # type: ignore[attr-defined]


def _run_writers(target: object, home: Path) -> list[str]:
    barrier = _FORK.Barrier(WRITERS)
    errors = _FORK.Queue()
    processes = [
        _FORK.Process(target=target, args=(str(home), w, barrier, errors))  # type: ignore[arg-type]
        for w in range(WRITERS)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert [p.exitcode for p in processes] == [0] * WRITERS
    return found


def test_concurrent_writers_all_recorded(tmp_path: Path) -> None:
    """Processes adding invocations at once all succeed: no 'database is locked', none lost."""
    home = tmp_path / "home"
    assert _run_writers(_add_many, home) == []
    store = SqliteInvocationStore(home)
    assert len(store.invocation_ids()) == WRITERS * PER_WRITER
    assert len(store.list_invocations()) == WRITERS * PER_WRITER
    for invocation_id in list(store.invocation_ids())[:10]:
        assert [job.index for job in store.jobs(invocation_id)] == [0, 1, 2]


def test_concurrent_data_merges_lose_nothing(tmp_path: Path) -> None:
    """Processes merging keys into one invocation's data at once lose none of them."""
    home = tmp_path / "home"
    SqliteInvocationStore(home).add(make_invocation("shared00"), [])
    assert _run_writers(_merge_data, home) == []
    data = SqliteInvocationStore(home).get_invocation("shared00").data
    assert len(data) == WRITERS * PER_WRITER


def test_store_file_is_under_home(tmp_path: Path) -> None:
    """The database lives at <home>/invocations.db, created on the first write."""
    store = SqliteInvocationStore(tmp_path / "h")
    invocation = make_invocation()
    store.add(invocation, make_jobs(invocation, 1))
    assert store.path == tmp_path / "h" / "invocations.db" and store.path.exists()
    store.close()
    assert SqliteInvocationStore(tmp_path / "h").get_invocation(invocation.id) == invocation


def test_default_home() -> None:
    """NEL_HOME names the home; without it, ~/.nel."""
    assert default_home({"NEL_HOME": "/x/y"}) == Path("/x/y")
    assert default_home({}) == Path.home() / ".nel"


def test_corrupt_database_is_a_store_error(tmp_path: Path) -> None:
    """A file that is not a database gives a StoreError naming it, not a sqlite3 traceback."""
    (tmp_path / "invocations.db").write_text("this is not a database" * 100)
    store = SqliteInvocationStore(tmp_path)
    with pytest.raises(StoreError, match="invocations.db"):
        store.invocation_ids()


def test_wal_mode(tmp_path: Path) -> None:
    """The database uses write-ahead logging (readers never block the writer)."""
    store = SqliteInvocationStore(tmp_path)
    store.add(make_invocation(), [])
    mode = sqlite3.connect(tmp_path / "invocations.db").execute("PRAGMA journal_mode").fetchone()
    assert mode[0] == "wal"
