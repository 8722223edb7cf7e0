"""Port: the record of invocations and their jobs."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

from nel_core.models.domain import Invocation, Job

__all__ = ["InvocationStore"]


class InvocationStore(abc.ABC):
    """Where invocations and jobs are recorded; safe for several processes at once."""

    @abc.abstractmethod
    def add(self, invocation: Invocation, jobs: Sequence[Job]) -> None:
        """Record an invocation and its jobs atomically.

        Raises:
            StoreError: when the id is already taken.
        """

    @abc.abstractmethod
    def invocation_ids(self) -> set[str]:
        """All recorded invocation ids."""

    @abc.abstractmethod
    def get_invocation(self, id_or_prefix: str) -> Invocation:
        """The invocation whose id starts with ``id_or_prefix``.

        Raises:
            NotFoundError: when none or several match.
        """

    @abc.abstractmethod
    def list_invocations(
        self, *, since: float | None = None, executor: str | None = None
    ) -> list[Invocation]:
        """Invocations, newest first, optionally created after ``since`` or by one executor."""

    @abc.abstractmethod
    def jobs(self, invocation_id: str) -> list[Job]:
        """The jobs of one invocation, in order."""

    @abc.abstractmethod
    def get_job(self, id_or_prefix: str) -> Job:
        """The job whose id starts with ``id_or_prefix`` (``<invocation>.<n>``).

        Raises:
            NotFoundError: when none or several match.
        """

    @abc.abstractmethod
    def update_job(self, job: Job) -> None:
        """Replace the recorded job with ``job`` (same id)."""

    @abc.abstractmethod
    def update_invocation_data(self, invocation_id: str, data: dict[str, Any]) -> None:
        """Merge ``data`` into the invocation's executor data."""

    @abc.abstractmethod
    def set_invocation_status(self, invocation_id: str, status: str) -> None:
        """Record how far the invocation's launch got (see :class:`Invocation`'s ``status``).

        Raises:
            NotFoundError: when no invocation has that id.
        """

    @abc.abstractmethod
    def remove(self, invocation_id: str) -> None:
        """Delete the invocation with that exact id and its jobs (an unknown id changes nothing).

        A launch that failed before anything started rolls its record back with this.
        """

    def check_writable(self) -> None:
        """Check, creating nothing, that :meth:`add` could record a run (a launch asks first).

        The default has nothing to check.

        Raises:
            StoreError: naming what keeps the store from recording (a folder that is a file, ...).
        """

    def resolve(self, id_or_prefix: str) -> tuple[Invocation, list[Job]]:
        """An invocation id (or prefix) or a job id: the invocation and the jobs it names.

        Raises:
            NotFoundError: when nothing matches.
        """
        if "." in id_or_prefix:
            job = self.get_job(id_or_prefix)
            return self.get_invocation(job.invocation_id), [job]
        invocation = self.get_invocation(id_or_prefix)
        return invocation, self.jobs(invocation.id)
