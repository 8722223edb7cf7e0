"""Contract of :class:`~nel_core.ports.InvocationStore`."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from nel_core.errors import NotFoundError, StoreError
from nel_core.models.domain import Invocation, Job, JobState
from nel_core.ports.invocation_store import InvocationStore
from nel_core.testing._builders import make_invocation, make_jobs

__all__ = ["InvocationStoreContract"]


class InvocationStoreContract:
    """What every invocation store does. Subclass it and provide the ``store`` fixture.

    The fixture gives an empty store. Override :meth:`reopen` when a store has state outside
    the Python object (a file, a server), so that the suite checks that a second handle (as
    another ``nel`` process would open) sees what the first one wrote.
    """

    @pytest.fixture
    def store(self) -> InvocationStore:
        """Override: an empty store under test."""
        raise NotImplementedError("subclasses provide the 'store' fixture")

    def reopen(self, store: InvocationStore) -> InvocationStore:
        """Another handle onto the records of ``store`` (default: ``store`` itself)."""
        return store

    # ------------------------------------------------------------------------------ helpers

    def _add(
        self,
        store: InvocationStore,
        invocation_id: str,
        count: int = 2,
        *,
        executor: str = "fake",
        created_at: float = 1_700_000_000.0,
        config: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
    ) -> tuple[Invocation, list[Job]]:
        invocation = make_invocation(
            invocation_id, executor=executor, created_at=created_at, config=config, data=data
        )
        jobs = make_jobs(invocation, count)
        store.add(invocation, jobs)
        return invocation, jobs

    # -------------------------------------------------------------------------------- tests

    def test_empty_store_has_no_invocations(self, store: InvocationStore) -> None:
        """A new store lists nothing and finds nothing."""
        assert store.invocation_ids() == set()
        assert store.list_invocations() == []
        assert store.jobs("0123abcd") == []
        with pytest.raises(NotFoundError):
            store.get_invocation("0123")

    def test_added_invocation_reads_back_equal(self, store: InvocationStore) -> None:
        """An added invocation and its jobs read back equal, also through a second handle."""
        invocation, jobs = self._add(store, "aaaa1111", config={"a": [1, {"b": None}]})
        for reader in (store, self.reopen(store)):
            assert reader.get_invocation("aaaa1111") == invocation
            assert reader.jobs("aaaa1111") == jobs
            assert reader.invocation_ids() == {"aaaa1111"}

    def test_unique_prefix_finds_invocation(self, store: InvocationStore) -> None:
        """A prefix that only one invocation id starts with finds it."""
        self._add(store, "abcd0001")
        self._add(store, "abef0002")
        assert store.get_invocation("abc").id == "abcd0001"
        assert store.get_invocation("abe").id == "abef0002"

    def test_ambiguous_prefix_fails(self, store: InvocationStore) -> None:
        """A prefix of several invocation ids raises NotFoundError saying so."""
        self._add(store, "abcd0001")
        self._add(store, "abef0002")
        with pytest.raises(NotFoundError, match="several"):
            store.get_invocation("ab")

    def test_unknown_and_empty_ids_fail(self, store: InvocationStore) -> None:
        """An id that matches nothing, or an empty one, raises NotFoundError."""
        self._add(store, "abcd0001")
        for key in ("ffff", "", "abcd0001x"):
            with pytest.raises(NotFoundError):
                store.get_invocation(key)
            with pytest.raises(NotFoundError):
                store.get_job(key or ".")

    def test_wildcards_in_prefix_match_literally(self, store: InvocationStore) -> None:
        """Characters that are wildcards somewhere (``%``, ``_``, ``*``) match only themselves."""
        self._add(store, "abcd0001")
        for key in ("%", "_", "*", "abcd%", "abc_"):
            with pytest.raises(NotFoundError):
                store.get_invocation(key)

    def test_jobs_are_ordered_by_index(self, store: InvocationStore) -> None:
        """jobs() gives an invocation's jobs in index order, whatever the order they were added."""
        invocation = make_invocation("cafe0001")
        jobs = make_jobs(invocation, 12)
        store.add(invocation, list(reversed(jobs)))
        assert [job.index for job in store.jobs("cafe0001")] == list(range(12))

    def test_jobs_of_one_invocation_only(self, store: InvocationStore) -> None:
        """jobs() gives only the jobs of the invocation asked for."""
        self._add(store, "aaaa0001", 2)
        self._add(store, "bbbb0002", 3)
        assert {job.invocation_id for job in store.jobs("bbbb0002")} == {"bbbb0002"}
        assert len(store.jobs("bbbb0002")) == 3

    def test_get_job_by_id_and_prefix(self, store: InvocationStore) -> None:
        """A job is found by its full id and by a unique prefix of it."""
        _, jobs = self._add(store, "beef0001", 2)
        assert store.get_job("beef0001.1") == jobs[1]
        assert store.get_job("beef0001.0") == jobs[0]

    def test_exact_job_id_wins_over_longer_ids(self, store: InvocationStore) -> None:
        """``<id>.1`` names job 1 even though ``<id>.10`` starts with it."""
        _, jobs = self._add(store, "beef0001", 12)
        assert store.get_job("beef0001.1") == jobs[1]
        with pytest.raises(NotFoundError, match="several"):
            store.get_job("beef0001.")

    def test_update_job_persists(self, store: InvocationStore) -> None:
        """update_job replaces the recorded job; every handle reads the new version."""
        _, jobs = self._add(store, "dead0001", 2)
        changed = attrs.evolve(
            jobs[1],
            state=JobState.FAILED,
            reason="the harness exited with code 1",
            exit_code=1,
            handle="h-2",
            updated_at=1_700_000_100.0,
            data={"node": "n1"},
        )
        store.update_job(changed)
        for reader in (store, self.reopen(store)):
            assert reader.get_job(changed.id) == changed
            assert reader.jobs("dead0001") == [jobs[0], changed]

    def test_update_job_without_time_stamps_it(self, store: InvocationStore) -> None:
        """A job recorded with updated_at 0 gets the current time."""
        _, jobs = self._add(store, "dead0001", 1)
        store.update_job(attrs.evolve(jobs[0], state=JobState.RUNNING, updated_at=0.0))
        assert store.get_job(jobs[0].id).updated_at > 1_600_000_000

    def test_duplicate_id_fails_and_keeps_the_first(self, store: InvocationStore) -> None:
        """Adding an invocation id that is taken raises StoreError and changes nothing."""
        invocation, jobs = self._add(store, "feed0001", 2, executor="first")
        again = make_invocation("feed0001", executor="second")
        with pytest.raises(StoreError):
            store.add(again, make_jobs(again, 3))
        assert store.get_invocation("feed0001") == invocation
        assert store.jobs("feed0001") == jobs

    def test_list_is_newest_first(self, store: InvocationStore) -> None:
        """list_invocations gives newest first."""
        for index, created in enumerate((30.0, 10.0, 20.0)):
            self._add(store, f"0000000{index}", created_at=created)
        assert [inv.created_at for inv in store.list_invocations()] == [30.0, 20.0, 10.0]

    def test_list_filters_by_time_and_executor(self, store: InvocationStore) -> None:
        """since keeps invocations created at or after it; executor keeps that executor's."""
        self._add(store, "00000001", created_at=10.0, executor="local")
        self._add(store, "00000002", created_at=20.0, executor="slurm")
        self._add(store, "00000003", created_at=30.0, executor="local")
        assert [i.id for i in store.list_invocations(since=20.0)] == ["00000003", "00000002"]
        assert [i.id for i in store.list_invocations(executor="local")] == [
            "00000003",
            "00000001",
        ]
        assert [i.id for i in store.list_invocations(since=15.0, executor="local")] == ["00000003"]
        assert store.list_invocations(executor="lepton") == []

    def test_update_invocation_data_merges(self, store: InvocationStore) -> None:
        """update_invocation_data merges keys into the invocation's data."""
        self._add(store, "0a0a0001", data={"a": 1, "b": 2})
        store.update_invocation_data("0a0a0001", {"b": 3, "c": [4]})
        for reader in (store, self.reopen(store)):
            assert reader.get_invocation("0a0a0001").data == {"a": 1, "b": 3, "c": [4]}

    def test_update_invocation_data_of_unknown_id_fails(self, store: InvocationStore) -> None:
        """update_invocation_data of an unknown invocation raises NotFoundError."""
        with pytest.raises(NotFoundError):
            store.update_invocation_data("nothere1", {"a": 1})

    def test_resolve_invocation_or_job(self, store: InvocationStore) -> None:
        """resolve() of an invocation prefix gives all its jobs; of a job id, that job."""
        invocation, jobs = self._add(store, "0b0b0001", 3)
        assert store.resolve("0b0b") == (invocation, jobs)
        assert store.resolve("0b0b0001.2") == (invocation, [jobs[2]])

    def test_records_do_not_alias_callers_objects(self, store: InvocationStore) -> None:
        """Changing a dict after adding it does not change what was recorded."""
        invocation, jobs = self._add(store, "0c0c0001", 1, data={"k": [1]})
        invocation.data["k"].append(2)
        jobs[0].data["index"] = 99
        assert store.get_invocation("0c0c0001").data == {"k": [1]}
        assert store.get_job("0c0c0001.0").data == {"index": 0}

    def test_status_reads_back(self, store: InvocationStore) -> None:
        """An invocation's status is recorded as given; one built without it reads 'submitted'."""
        submitting = attrs.evolve(make_invocation("0d0d0001"), status="submitting")
        store.add(submitting, make_jobs(submitting, 1))
        self._add(store, "0d0d0002")
        for reader in (store, self.reopen(store)):
            assert reader.get_invocation("0d0d0001") == submitting
            assert reader.get_invocation("0d0d0002").status == "submitted"

    def test_set_invocation_status_persists(self, store: InvocationStore) -> None:
        """set_invocation_status changes that invocation's status only; every handle reads it."""
        invocation = attrs.evolve(make_invocation("0e0e0001", data={"k": 1}), status="submitting")
        jobs = make_jobs(invocation, 2)
        store.add(invocation, jobs)
        other, _ = self._add(store, "0e0e0002")
        for status in ("submitted", "failed_to_submit"):
            store.set_invocation_status("0e0e0001", status)
            for reader in (store, self.reopen(store)):
                assert reader.get_invocation("0e0e0001") == attrs.evolve(invocation, status=status)
                assert reader.jobs("0e0e0001") == jobs
                assert reader.get_invocation("0e0e0002") == other

    def test_set_invocation_status_of_unknown_id_fails(self, store: InvocationStore) -> None:
        """set_invocation_status of an id that is not recorded (a prefix included) raises NotFoundError."""
        self._add(store, "0f0f0001")
        for key in ("nothere1", "0f0f"):
            with pytest.raises(NotFoundError):
                store.set_invocation_status(key, "failed_to_submit")
        assert store.get_invocation("0f0f0001").status == "submitted"

    def test_remove_deletes_invocation_and_its_jobs(self, store: InvocationStore) -> None:
        """remove() deletes the invocation and its jobs, keeps the others, and frees the id."""
        invocation, jobs = self._add(store, "1a1a0001", 3)
        other, other_jobs = self._add(store, "1a1a0002", 2)
        store.remove("1a1a0001")
        for reader in (store, self.reopen(store)):
            assert reader.invocation_ids() == {"1a1a0002"}
            assert reader.list_invocations() == [other]
            assert reader.jobs("1a1a0001") == []
            assert reader.jobs("1a1a0002") == other_jobs
            with pytest.raises(NotFoundError):
                reader.get_invocation("1a1a0001")
            with pytest.raises(NotFoundError):
                reader.get_job("1a1a0001.0")
        store.add(invocation, jobs)
        assert store.resolve("1a1a0001") == (invocation, jobs)

    def test_remove_of_unknown_id_changes_nothing(self, store: InvocationStore) -> None:
        """remove() of an id that is not recorded, or of a mere prefix, deletes nothing."""
        invocation, jobs = self._add(store, "1b1b0001", 2)
        store.remove("nothere1")
        store.remove("1b1b")
        assert store.resolve("1b1b0001") == (invocation, jobs)
