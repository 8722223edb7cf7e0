"""Commands and files on the machine that runs an executor's jobs: a :class:`Transport`.

An executor whose jobs run elsewhere (a Slurm cluster's login node, a remote host) reaches that
machine through a transport: it runs commands there and moves files both ways, over one
connection for the whole CLI command. :class:`LocalTransport` is this machine (NEL on the login
node itself); the SSH transport lives in the ``nel-ssh`` package (paramiko), so that any executor
can use it without importing another executor.

Paths on the other side are POSIX strings; paths here are :class:`~pathlib.Path`.
"""

from __future__ import annotations

import abc
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from nel_core.errors import SchedulingError

__all__ = ["LocalTransport", "Transport", "TransportError", "copy_atomically"]


class TransportError(SchedulingError):
    """The other machine could not be reached, or could not run a command or move a file."""


class Transport(abc.ABC):
    """Runs commands and moves files on another machine, over one connection.

    ``round_trips`` counts the exchanges that waited for the other side (a command, a file
    moved): what a slow link makes a user wait for.
    """

    name: ClassVar[str]
    round_trips: int = 0

    @abc.abstractmethod
    def run(self, argv: Sequence[str], *, input: str | None = None) -> tuple[int, str, str]:
        """Run ``argv`` there, ``input`` on its stdin; return its exit code, stdout and stderr.

        Raises:
            TransportError: when the command cannot be run at all (no connection, no program).
        """

    def run_script(self, script: str) -> tuple[int, str, str]:
        """Run a bash script there in one round trip (on bash's stdin: a script of any size)."""
        return self.run(["bash", "-s"], input=script)

    @abc.abstractmethod
    def put_tree(self, local: Path, remote: str) -> None:
        """Copy the files of the folder ``local`` to ``remote`` there, keeping their modes.

        Each file is replaced atomically; folders are created as needed. A file mode 0600
        here is never readable by others there, not even for an instant.
        """

    @abc.abstractmethod
    def fetch(self, files: Mapping[str, Path]) -> list[str]:
        """Copy files from there (remote path -> local path); return the remote paths copied.

        A file missing there is skipped; each local file is replaced atomically.
        """

    @abc.abstractmethod
    def read_file(self, path: str, offset: int = 0) -> str | None:
        """The text of a file there from byte ``offset`` (None when it does not exist)."""

    def remove_tree(self, path: str) -> None:
        """Remove a folder there with everything in it (nothing when it does not exist)."""
        code, _, err = self.run(["rm", "-rf", "--", path])
        if code != 0:
            raise TransportError(f"cannot remove {path}: {' '.join(err.split()) or f'exit code {code}'}")

    def close(self) -> None:  # noqa: B027 - a transport without a connection has nothing to close
        """Close the connection (a later call opens it again)."""


def copy_atomically(source: Path, target: Path) -> None:
    """Copy ``source`` over ``target`` (mode included) through a temporary file and a rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(source, temp)
        os.chmod(temp, source.stat().st_mode & 0o7777)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


class LocalTransport(Transport):
    """This machine is the other side: commands run as subprocesses, files are copied here."""

    name: ClassVar[str] = "local"

    def run(self, argv: Sequence[str], *, input: str | None = None) -> tuple[int, str, str]:
        self.round_trips += 1
        stdin = subprocess.DEVNULL if input is None else None
        try:
            done = subprocess.run(list(argv), capture_output=True, text=True, stdin=stdin, input=input, check=False)
        except OSError as exc:
            raise TransportError(f"cannot run {argv[0]}: {exc.strerror or exc}") from exc
        return done.returncode, done.stdout, done.stderr

    def put_tree(self, local: Path, remote: str) -> None:
        target = Path(remote)
        if target.resolve() == local.resolve():
            return  # the folder already is where it must be
        try:
            for path in sorted(local.rglob("*")):
                if path.is_file():
                    copy_atomically(path, target / path.relative_to(local))
        except OSError as exc:
            raise TransportError(f"cannot copy {local} to {remote}: {exc.strerror or exc}") from exc

    def fetch(self, files: Mapping[str, Path]) -> list[str]:
        copied = []
        for remote, local in files.items():
            source = Path(remote)
            if source.resolve() == local.resolve():
                copied += [remote] if source.is_file() else []
                continue
            try:
                copy_atomically(source, local)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise TransportError(f"cannot copy {remote}: {exc.strerror or exc}") from exc
            copied.append(remote)
        return copied

    def read_file(self, path: str, offset: int = 0) -> str | None:
        try:
            with open(path, "rb") as stream:
                stream.seek(offset)
                return stream.read().decode(errors="replace")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TransportError(f"cannot read {path}: {exc.strerror or exc}") from exc

    def remove_tree(self, path: str) -> None:
        shutil.rmtree(path, ignore_errors=True)
