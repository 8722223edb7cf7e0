"""Auto-export: each succeeded job goes to the invocation's destinations once, recorded, never breaking status."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

from nel_core.errors import ConfigError, ExportError, PluginError
from nel_core.models.domain import Invocation, Job, JobState
from nel_core.ports.result_exporter import ExporterSpec, ExportItem, ExportReport
from nel_core.services.auto_export import AUTO_EXPORT_KEY, auto_export, check_destinations
from nel_core.testing import FakeResultExporter, InMemoryInvocationStore, make_invocation, make_jobs, write_results


class _Destination(FakeResultExporter):
    """One fake destination behind every exporter the loader builds; it counts what it was given."""

    def __init__(self, *, delay: float = 0.0, fail: bool = False) -> None:
        super().__init__({})
        self.exported: list[str] = []
        self.delay = delay
        self.fail = fail

    def export(self, items: Sequence[ExportItem]) -> ExportReport:
        time.sleep(self.delay)
        if self.fail:
            raise ExportError("memory://fake: the destination refused the results")
        self.exported.extend(item.job.id for item in items)
        return super().export(items)

    def load(self, name: str) -> ExporterSpec:
        if name != "dest":
            raise PluginError(f"execution.auto_export.destinations: unknown exporter '{name}'")

        def factory(settings: dict[str, Any]) -> _Destination:
            if "bogus" in settings:
                raise ConfigError("export.dest.bogus: unknown setting")
            self.settings = settings
            return self

        return ExporterSpec(name="dest", factory=factory, package="test")


def _recorded(tmp_path: Path, destinations: list[str], states: list[JobState], **export: Any) -> tuple[
    InMemoryInvocationStore, Invocation, list[Job]
]:
    config = {"execution": {"type": "fake", "auto_export": {"destinations": destinations}}, "export": export}
    invocation = make_invocation(output_dir=str(tmp_path), config=config)
    jobs = make_jobs(invocation, len(states), states=states, root=tmp_path)
    for job in jobs:
        write_results(Path(job.job_dir) / "artifacts", f"task{job.index}", {"acc": 0.5})
    store = InMemoryInvocationStore()
    store.add(invocation, jobs)
    return store, invocation, jobs


def _outcome(store: InMemoryInvocationStore, job: Job) -> Any:
    return store.get_job(job.id).data.get(AUTO_EXPORT_KEY, {}).get("dest")


def test_each_succeeded_job_is_exported_once_and_recorded(tmp_path: Path) -> None:
    """Succeeded jobs go out with the config's settings; the outcome is recorded; a second pass exports nothing."""
    store, invocation, jobs = _recorded(tmp_path, ["dest"], [JobState.SUCCESS, JobState.SUCCESS],
                                        dest={"location": "memory://here"})  # fmt: skip
    destination = _Destination()
    returned = auto_export(store, invocation, jobs, load=destination.load)
    assert sorted(destination.exported) == [jobs[0].id, jobs[1].id]
    assert destination.settings == {"location": "memory://here"}
    for job in returned:
        assert job.data[AUTO_EXPORT_KEY]["dest"]["location"] == "memory://here"
        assert _outcome(store, job) == job.data[AUTO_EXPORT_KEY]["dest"]
    auto_export(store, invocation, [store.get_job(j.id) for j in jobs], load=destination.load)
    auto_export(store, invocation, jobs, load=destination.load)  # even from stale copies: the store says done
    assert len(destination.exported) == 2


def test_only_succeeded_jobs_go_and_later_ones_follow(tmp_path: Path) -> None:
    """A running job is left alone; once it has succeeded it is exported on the next pass."""
    store, invocation, jobs = _recorded(tmp_path, ["dest"], [JobState.SUCCESS, JobState.RUNNING])
    destination = _Destination()
    auto_export(store, invocation, jobs, load=destination.load)
    assert destination.exported == [jobs[0].id] and _outcome(store, jobs[1]) is None
    store.update_job(attrs.evolve(jobs[1], state=JobState.SUCCESS))
    auto_export(store, invocation, [store.get_job(j.id) for j in jobs], load=destination.load)
    assert destination.exported == [jobs[0].id, jobs[1].id]


def test_a_refusing_destination_is_recorded_not_raised_nor_retried(tmp_path: Path) -> None:
    """A failed export is recorded with its reason (status goes on) and not tried again on its own."""
    store, invocation, jobs = _recorded(tmp_path, ["dest"], [JobState.SUCCESS])
    destination = _Destination(fail=True)
    auto_export(store, invocation, jobs, load=destination.load)
    assert _outcome(store, jobs[0])["error"] == "memory://fake: the destination refused the results"
    destination.fail = False
    auto_export(store, invocation, [store.get_job(jobs[0].id)], load=destination.load)
    assert destination.exported == []


def test_unknown_or_broken_destinations_are_recorded(tmp_path: Path) -> None:
    """An exporter that is not installed, or one that crashes, becomes a recorded error."""
    store, invocation, jobs = _recorded(tmp_path, ["nosuch", "dest"], [JobState.SUCCESS])
    destination = _Destination()
    destination.export = lambda items: 1 / 0  # type: ignore[assignment,method-assign,misc]
    auto_export(store, invocation, jobs, load=destination.load)
    recorded = store.get_job(jobs[0].id).data[AUTO_EXPORT_KEY]
    assert recorded["nosuch"]["error"] == "execution.auto_export.destinations: unknown exporter 'nosuch'"
    assert recorded["dest"]["error"] == "ZeroDivisionError: division by zero"


def test_a_job_without_scores_is_recorded_as_skipped(tmp_path: Path) -> None:
    """A succeeded job whose results are gone is recorded as skipped with the reason."""
    store, invocation, jobs = _recorded(tmp_path, ["dest"], [JobState.SUCCESS])
    (Path(jobs[0].job_dir) / "artifacts" / "results.yml").unlink()
    auto_export(store, invocation, jobs, load=_Destination().load)
    assert _outcome(store, jobs[0])["skipped"] == "the harness wrote no results.yml"


def test_two_commands_at_once_export_a_job_once(tmp_path: Path) -> None:
    """Two status commands learning of the same success at the same time export it once (lock + re-read)."""
    store, invocation, jobs = _recorded(tmp_path, ["dest"], [JobState.SUCCESS])
    destination = _Destination(delay=0.3)
    threads = [threading.Thread(target=auto_export, args=(store, invocation, jobs), kwargs={"load": destination.load})
               for _ in range(2)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert destination.exported == [jobs[0].id]


def test_destinations_are_checked_before_a_run(tmp_path: Path) -> None:
    """check_destinations fails for a destination not installed or with wrong settings, before anything runs."""
    destination = _Destination()
    config: dict[str, Any] = {"execution": {"auto_export": {"destinations": ["dest"]}}, "export": {"dest": {}}}
    check_destinations(config, destination.load)
    assert destination.exported == []
    with pytest.raises(ConfigError, match="export.dest.bogus"):
        check_destinations({**config, "export": {"dest": {"bogus": 1}}}, destination.load)
    with pytest.raises(PluginError, match="unknown exporter 'other'"):
        check_destinations({"execution": {"auto_export": {"destinations": ["other"]}}}, destination.load)
