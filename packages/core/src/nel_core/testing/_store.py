"""An in-memory InvocationStore with the semantics of SqliteInvocationStore."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from typing import Any, TypeVar

import attrs

from nel_core.errors import NotFoundError, StoreError
from nel_core.models.domain import Invocation, Job
from nel_core.ports.invocation_store import InvocationStore

__all__ = ["InMemoryInvocationStore"]

_T = TypeVar("_T")


class InMemoryInvocationStore(InvocationStore):
    """Invocations and jobs in dicts, guarded by a lock.

    Like the SQLite store it copies what it records through JSON (so later changes to a
    caller's dicts do not leak in, and data that SQLite could not store fails here too), stamps
    jobs without ``updated_at`` with the current time, and matches ids by unique prefix.
    """

    def __init__(self) -> None:
        self._invocations: dict[str, Invocation] = {}
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def add(self, invocation: Invocation, jobs: Sequence[Job]) -> None:
        copied = _copy_invocation(invocation)
        copied_jobs = [_copy_job(job) for job in jobs]
        with self._lock:
            if invocation.id in self._invocations:
                raise StoreError(f"invocation id {invocation.id} is already recorded")
            taken = [job.id for job in copied_jobs if job.id in self._jobs]
            if taken or len({job.id for job in copied_jobs}) != len(copied_jobs):
                raise StoreError(f"invocation {invocation.id}: job ids already recorded: {taken}")
            self._invocations[invocation.id] = copied
            self._jobs.update((job.id, job) for job in copied_jobs)

    def invocation_ids(self) -> set[str]:
        with self._lock:
            return set(self._invocations)

    def get_invocation(self, id_or_prefix: str) -> Invocation:
        with self._lock:
            found = [inv for key, inv in self._invocations.items() if key.startswith(id_or_prefix)]
        return _one(found, id_or_prefix, "invocation")

    def list_invocations(
        self, *, since: float | None = None, executor: str | None = None
    ) -> list[Invocation]:
        with self._lock:
            found = [
                inv
                for inv in self._invocations.values()
                if (since is None or inv.created_at >= since)
                and (executor is None or inv.executor == executor)
            ]
        return sorted(found, key=lambda inv: inv.created_at, reverse=True)

    def jobs(self, invocation_id: str) -> list[Job]:
        with self._lock:
            found = [job for job in self._jobs.values() if job.invocation_id == invocation_id]
        return sorted(found, key=lambda job: job.index)

    def get_job(self, id_or_prefix: str) -> Job:
        with self._lock:
            exact = self._jobs.get(id_or_prefix)
            found = [job for key, job in self._jobs.items() if key.startswith(id_or_prefix)]
        return exact if exact is not None else _one(found, id_or_prefix, "job")

    def update_job(self, job: Job) -> None:
        with self._lock:
            if job.id in self._jobs:  # like SQL's UPDATE: an unknown id changes nothing
                self._jobs[job.id] = _copy_job(job)

    def update_invocation_data(self, invocation_id: str, data: dict[str, Any]) -> None:
        with self._lock:
            invocation = self._invocations.get(invocation_id)
            if invocation is None:
                raise NotFoundError(f"no invocation {invocation_id}")
            merged = json.loads(json.dumps({**invocation.data, **data}))
            self._invocations[invocation_id] = attrs.evolve(invocation, data=merged)

    def set_invocation_status(self, invocation_id: str, status: str) -> None:
        with self._lock:
            invocation = self._invocations.get(invocation_id)
            if invocation is None:
                raise NotFoundError(f"no invocation {invocation_id}")
            self._invocations[invocation_id] = attrs.evolve(invocation, status=status)

    def remove(self, invocation_id: str) -> None:
        with self._lock:
            self._invocations.pop(invocation_id, None)
            self._jobs = {
                key: job for key, job in self._jobs.items() if job.invocation_id != invocation_id
            }


def _copy_invocation(invocation: Invocation) -> Invocation:
    return attrs.evolve(
        invocation,
        config=json.loads(json.dumps(invocation.config)),
        data=json.loads(json.dumps(invocation.data)),
    )


def _copy_job(job: Job) -> Job:
    return attrs.evolve(
        job, updated_at=job.updated_at or time.time(), data=json.loads(json.dumps(job.data))
    )


def _one(found: list[_T], key: str, kind: str) -> _T:
    if not key or not found:
        raise NotFoundError(
            f"no {kind} matches '{key}'", hint="run 'nel ls runs' to list invocations"
        )
    if len(found) > 1:
        raise NotFoundError(
            f"'{key}' matches several {kind}s", hint="type more characters of the id"
        )
    return found[0]
