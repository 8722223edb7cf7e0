"""The store's NEL_HOME: a folder that is a file or cannot be written is named; the database is private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from nel_core.errors import StoreError
from nel_core.store import SqliteInvocationStore
from nel_core.testing import InMemoryInvocationStore, make_invocation, make_jobs


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_and_journal_files_are_private(tmp_path: Path) -> None:
    """invocations.db and its -wal and -shm files are created readable by their owner only (0600)."""
    store = SqliteInvocationStore(tmp_path / "home")
    invocation = make_invocation("abcd0001")
    store.add(invocation, make_jobs(invocation))
    files = sorted(p.name for p in (tmp_path / "home").iterdir())
    assert files == ["invocations.db", "invocations.db-shm", "invocations.db-wal"]
    assert {name: _mode(tmp_path / "home" / name) for name in files} == dict.fromkeys(files, 0o600)
    store.close()


def test_an_older_database_is_made_private(tmp_path: Path) -> None:
    """A database an older NEL left readable by everyone is narrowed to 0600 when opened."""
    home = tmp_path / "home"
    store = SqliteInvocationStore(home)
    invocation = make_invocation("abcd0001")
    store.add(invocation, make_jobs(invocation))
    store.close()
    (home / "invocations.db").chmod(0o644)
    reopened = SqliteInvocationStore(home)
    assert reopened.get_invocation("abcd").id == "abcd0001"
    assert _mode(home / "invocations.db") == 0o600
    reopened.close()


def test_home_that_is_a_file_is_named(tmp_path: Path) -> None:
    """NEL_HOME pointing at a file fails reads and writes alike with one error naming it."""
    home = tmp_path / "home"
    home.write_text("not a folder")
    store = SqliteInvocationStore(home)
    for action in (store.check_writable, store.invocation_ids, lambda: store.add(make_invocation("x"), [])):
        with pytest.raises(StoreError) as caught:
            action()
        assert caught.value.message == f"NEL_HOME {home} is not a directory"
        assert caught.value.hint is not None and "NEL_HOME" in caught.value.hint
    assert home.read_text() == "not a folder"


def test_home_under_a_file_is_named(tmp_path: Path) -> None:
    """NEL_HOME below a file cannot be created: the error names NEL_HOME and the file in the way."""
    (tmp_path / "file").write_text("")
    home = tmp_path / "file" / "home"
    with pytest.raises(StoreError) as caught:
        SqliteInvocationStore(home).add(make_invocation("abcd0001"), [])
    assert caught.value.message == f"NEL_HOME {home} cannot be created: {tmp_path / 'file'} is not a directory"


def test_read_only_home_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A NEL_HOME the user cannot write is named before anything is tried (root writes anywhere, so access is faked)."""
    home = tmp_path / "home"
    home.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if Path(path) == home else real_access(path, mode))
    store = SqliteInvocationStore(home)
    with pytest.raises(StoreError) as caught:
        store.check_writable()
    assert caught.value.message == f"NEL_HOME {home} is not writable"
    assert list(home.iterdir()) == []


def test_check_writable_creates_nothing(tmp_path: Path) -> None:
    """Checking a NEL_HOME that does not exist yet passes and creates nothing."""
    SqliteInvocationStore(tmp_path / "a" / "home").check_writable()
    assert list(tmp_path.iterdir()) == []


def test_other_stores_have_nothing_to_check() -> None:
    """The port's default check passes: a store without a folder has nothing that could be in the way."""
    assert InMemoryInvocationStore().check_writable() is None
