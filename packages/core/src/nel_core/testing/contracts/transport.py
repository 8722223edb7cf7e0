"""Contract of :class:`~nel_core.transport.Transport`."""

from __future__ import annotations

from pathlib import Path

import pytest

from nel_core.transport import Transport

__all__ = ["TransportContract"]


class TransportContract:
    """What every transport does. Subclass it; provide the ``transport`` and ``remote_dir`` fixtures.

    ``remote_dir`` is an empty folder on the other side (a POSIX path there) that the test may
    fill. The other side needs a POSIX shell, bash and coreutils.
    """

    @pytest.fixture
    def transport(self) -> Transport:
        """Override: the transport under test."""
        raise NotImplementedError("subclasses provide the 'transport' fixture")

    @pytest.fixture
    def remote_dir(self) -> str:
        """Override: an empty folder on the other side."""
        raise NotImplementedError("subclasses provide the 'remote_dir' fixture")

    # -------------------------------------------------------------------------------- tests

    def test_declares_a_name(self, transport: Transport) -> None:
        """A transport has a name."""
        assert isinstance(transport.name, str) and transport.name

    def test_run_gives_exit_code_and_both_streams(self, transport: Transport) -> None:
        """A command's exit code, stdout and stderr come back apart."""
        code, out, err = transport.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
        assert (code, out, err) == (3, "out\n", "err\n")

    def test_arguments_reach_the_command_unchanged(self, transport: Transport) -> None:
        """Spaces, quotes and dollars in arguments are not read by a shell on the way."""
        tricky = ["a b", "it's", "$HOME", '"q"', "*"]
        code, out, _ = transport.run(["printf", "%s\\n", *tricky])
        assert code == 0 and out.splitlines() == tricky

    def test_run_script_runs_bash(self, transport: Transport) -> None:
        """A script runs in bash, in one call."""
        before = transport.round_trips
        code, out, _ = transport.run_script("x=(1 2 3); echo ${#x[@]}")
        assert (code, out) == (0, "3\n")
        assert transport.round_trips == before + 1

    def test_a_large_script_runs(self, transport: Transport) -> None:
        """A script of megabytes (status of thousands of jobs) runs whole, in one call."""
        lines = [f"x{i}=1  # {'-' * 80}" for i in range(20_000)]
        code, out, _ = transport.run_script("\n".join([*lines, "echo ${x19999}"]))
        assert (code, out) == (0, "1\n")

    def test_input_reaches_stdin(self, transport: Transport) -> None:
        """``input`` is the command's stdin, whole."""
        text = "line\n" * 100_000
        code, out, _ = transport.run(["wc", "-c"], input=text)
        assert code == 0 and int(out) == len(text)

    def test_large_output_on_both_streams(self, transport: Transport) -> None:
        """Megabytes on stdout and stderr at once neither block nor get lost."""
        big = "head -c 3000000 /dev/zero | tr '\\0'"
        code, out, err = transport.run_script(f"{big} o; {big} e >&2")
        assert code == 0 and len(out) == 3_000_000 and len(err) == 3_000_000

    def test_put_tree_copies_files_and_modes(self, transport: Transport, remote_dir: str, tmp_path: Path) -> None:
        """Every file of a folder arrives, in nested folders, with its mode (a 0600 file stays 0600)."""
        source = tmp_path / "source"
        (source / "a" / "b").mkdir(parents=True)
        (source / "top.txt").write_text("top\n")
        (source / "a" / "b" / "deep.sh").write_text("#!/bin/sh\necho deep\n")
        (source / "a" / "b" / "deep.sh").chmod(0o755)
        (source / "a" / "secret.env").write_text("TOKEN=x\n")
        (source / "a" / "secret.env").chmod(0o600)
        target = f"{remote_dir}/copy"
        transport.put_tree(source, target)
        assert transport.read_file(f"{target}/top.txt") == "top\n"
        code, out, _ = transport.run(["stat", "-c", "%a %n", f"{target}/a/secret.env", f"{target}/a/b/deep.sh"])
        assert code == 0
        assert out.split() == ["600", f"{target}/a/secret.env", "755", f"{target}/a/b/deep.sh"]
        assert transport.run([f"{target}/a/b/deep.sh"])[1] == "deep\n"

    def test_put_tree_replaces_files(self, transport: Transport, remote_dir: str, tmp_path: Path) -> None:
        """Putting a folder again replaces the files there."""
        source = tmp_path / "source"
        source.mkdir()
        (source / "f.txt").write_text("one\n")
        transport.put_tree(source, remote_dir)
        (source / "f.txt").write_text("two\n")
        transport.put_tree(source, remote_dir)
        assert transport.read_file(f"{remote_dir}/f.txt") == "two\n"

    def test_fetch_copies_and_skips_missing(self, transport: Transport, remote_dir: str, tmp_path: Path) -> None:
        """Fetched files land here; a missing one is skipped and not reported."""
        transport.run_script(f"mkdir -p {remote_dir}/r && printf 'r1\\n' > {remote_dir}/r/one.yml")
        wanted = {
            f"{remote_dir}/r/one.yml": tmp_path / "here" / "one.yml",
            f"{remote_dir}/r/no.yml": tmp_path / "no.yml",
        }
        assert transport.fetch(wanted) == [f"{remote_dir}/r/one.yml"]
        assert (tmp_path / "here" / "one.yml").read_text() == "r1\n"
        assert not (tmp_path / "no.yml").exists()

    def test_read_file_from_an_offset(self, transport: Transport, remote_dir: str) -> None:
        """A file is read whole or from a byte offset; a missing one reads as None."""
        transport.run_script(f"printf 'hello\\nworld\\n' > {remote_dir}/log")
        assert transport.read_file(f"{remote_dir}/log") == "hello\nworld\n"
        assert transport.read_file(f"{remote_dir}/log", offset=6) == "world\n"
        assert transport.read_file(f"{remote_dir}/log", offset=12) == ""
        assert transport.read_file(f"{remote_dir}/missing") is None

    def test_remove_tree(self, transport: Transport, remote_dir: str) -> None:
        """A folder is removed with its contents; removing a missing one is fine."""
        transport.run_script(f"mkdir -p {remote_dir}/gone/x && touch {remote_dir}/gone/x/f")
        transport.remove_tree(f"{remote_dir}/gone")
        transport.remove_tree(f"{remote_dir}/gone")
        assert transport.run(["test", "-e", f"{remote_dir}/gone"])[0] != 0

    def test_usable_after_close(self, transport: Transport) -> None:
        """A closed transport opens its connection again when used."""
        transport.close()
        assert transport.run(["true"])[0] == 0
