"""Port: a scheduler (this host's process groups, Slurm, Lepton jobs, ...)."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import attrs

from nel_core.models.domain import StateReport
from nel_core.ports.capabilities import Capability

__all__ = ["RenderedJob", "Scheduler"]


@attrs.frozen(kw_only=True)
class RenderedJob:
    """A job ready to submit: its directory, holding its entry script and files.

    ``arguments`` are passed to the script (a supervisor's job folders, say).
    """

    job_id: str
    job_dir: Path
    script: Path
    arguments: list[str] = attrs.Factory(list)


class Scheduler(abc.ABC):
    """Submits rendered jobs and answers, for many handles in one call, their states."""

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    @abc.abstractmethod
    def submit(self, job: RenderedJob) -> str:
        """Submit ``job``; return the scheduler's handle for it.

        Raises:
            SchedulingError: when the scheduler refuses it.
        """

    @abc.abstractmethod
    def states(self, handles: Sequence[str]) -> dict[str, StateReport]:
        """The states of many jobs in one call; an unreachable backend gives UNKNOWN."""

    def find(self, script: Path) -> str:
        """The handle of the job that runs ``script``, found from the job itself ("" if none).

        A submitter that died between submitting and keeping the handle loses nothing: status
        and kill find the job this way. The default finds nothing.
        """
        return ""

    @abc.abstractmethod
    def cancel(self, handle: str) -> None:
        """Stop a job and everything it started; cancelling an ended job is fine."""

    def logs(self, handle: str, *, follow: bool = False) -> Iterator[str]:
        """Lines of the job's log; with ``follow``, until the job ends (LOG_STREAMING)."""
        from nel_core.errors import SchedulingError

        raise SchedulingError(f"scheduler '{self.name}' cannot show logs")

    def fetch_artifacts(self, handle: str, destination: Path) -> Path:
        """Copy the job's artifacts to ``destination`` (ARTIFACT_COPY)."""
        from nel_core.errors import SchedulingError

        raise SchedulingError(f"scheduler '{self.name}' cannot copy artifacts")
