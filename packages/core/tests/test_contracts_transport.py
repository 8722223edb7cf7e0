"""The local transport (NEL on the login node itself) against core's transport contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from nel_core.testing.contracts import TransportContract
from nel_core.transport import LocalTransport, Transport, TransportError


class TestLocalTransportContract(TransportContract):
    """Commands run as subprocesses here; files are copied here."""

    @pytest.fixture
    def transport(self) -> Transport:
        return LocalTransport()

    @pytest.fixture
    def remote_dir(self, tmp_path: Path) -> str:
        folder = tmp_path / "remote"
        folder.mkdir()
        return str(folder)


def test_missing_program_is_a_transport_error() -> None:
    """A program that does not exist is an error naming it, not an exit code."""
    with pytest.raises(TransportError, match="no-such-program"):
        LocalTransport().run(["no-such-program"])


def test_put_tree_onto_itself_changes_nothing(tmp_path: Path) -> None:
    """Putting a folder where it already is (the login node's own files) copies nothing."""
    (tmp_path / "f").write_text("x")
    LocalTransport().put_tree(tmp_path, str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]
