"""How the Slurm executor reaches the login node: a :class:`Transport` (commands and files).

:class:`LocalTransport` runs on this machine, for NEL on the login node itself
(``hostname: localhost`` or ``execution.ssh: false``: login nodes with MFA make SSH to oneself
impossible). The SSH transport (paramiko, one connection per CLI command) is not part of this
release: :func:`open_transport` says so for a remote host.
"""

from __future__ import annotations

import abc
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from nel_core.errors import PreflightError, SchedulingError

__all__ = ["LocalTransport", "Transport", "TransportError", "open_transport"]


class TransportError(SchedulingError):
    """The login node could not be reached or could not run a command."""


class Transport(abc.ABC):
    """Runs commands and moves files on the cluster's login node."""

    @abc.abstractmethod
    def run(self, argv: Sequence[str]) -> tuple[int, str, str]:
        """Run ``argv`` there; return its exit code, stdout and stderr.

        Raises:
            TransportError: when the command cannot be run at all (no connection, no program).
        """

    @abc.abstractmethod
    def put_files(self, files: Mapping[str, str]) -> None:
        """Write many text files there at once (path -> text), each replaced atomically."""

    @abc.abstractmethod
    def read_file(self, path: str) -> str | None:
        """The text of a file there (None when it does not exist)."""


class LocalTransport(Transport):
    """This machine is the login node: commands run as subprocesses, files are local."""

    def run(self, argv: Sequence[str]) -> tuple[int, str, str]:
        try:
            done = subprocess.run(list(argv), capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
        except OSError as exc:
            raise TransportError(f"cannot run {argv[0]}: {exc.strerror or exc}") from exc
        return done.returncode, done.stdout, done.stderr

    def put_files(self, files: Mapping[str, str]) -> None:
        for name, text in files.items():
            path = Path(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            temp.write_text(text)
            os.replace(temp, path)

    def read_file(self, path: str) -> str | None:
        try:
            return Path(path).read_text(errors="replace")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TransportError(f"cannot read {path}: {exc.strerror or exc}") from exc


def open_transport(hostname: str, *, local: bool) -> Transport:
    """The transport to ``hostname``.

    Raises:
        PreflightError: for a remote host (the SSH transport is not available yet).
    """
    if local:
        return LocalTransport()
    raise PreflightError(
        f"execution.hostname: reaching {hostname} needs the SSH transport, which this release of "
        "nel-executor-slurm does not have yet",
        hint="run NEL on the login node with execution.ssh=false (or hostname: localhost)",
    )
