"""Auto-export: each job goes to ``execution.auto_export.destinations`` once it has succeeded.

It runs where core records states (:func:`nel_core.services.status.refresh`), so it works the
same for every executor: whichever command first learns that a job succeeded (``nel run
--wait``, ``status``, ``ls runs``, ``info``, ``export``) exports it. Each destination's settings
are the ``export.<dest>`` block of the invocation's config: references to credentials (names of
environment variables, paths of files), read from this process's environment when the export
runs, never values written anywhere.

A job is exported to a destination once: the outcome (where it went, or why it did not) is
recorded in the job's ``data`` under ``auto_export.<dest>``, under a lock on the invocation, so
two commands at the same time do not both export it. A failed export is not retried on its own;
``nel export ID --dest NAME`` exports again.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from nel_core.errors import NelError
from nel_core.models.domain import Invocation, Job, JobState
from nel_core.ports.invocation_store import InvocationStore
from nel_core.ports.result_exporter import ExporterSpec

__all__ = ["AUTO_EXPORT_KEY", "LOCK_FILE", "auto_export", "check_destinations", "destinations"]

#: The key of :attr:`Job.data` holding each destination's outcome.
AUTO_EXPORT_KEY = "auto_export"
#: In the invocation's folder: held while its jobs are being auto-exported.
LOCK_FILE = ".auto_export.lock"

LoadExporter = Callable[[str], ExporterSpec]


def destinations(invocation: Invocation) -> list[str]:
    """The invocation's ``execution.auto_export.destinations``."""
    execution = invocation.config.get("execution")
    auto = execution.get("auto_export") if isinstance(execution, Mapping) else None
    names = auto.get("destinations") if isinstance(auto, Mapping) else None
    return [str(name) for name in names] if isinstance(names, list) else []


def check_destinations(config: Mapping[str, Any], load: LoadExporter | None = None) -> None:
    """Check, before a run starts, that each auto-export destination is installed and its settings valid.

    The exporters are built from the config's ``export.<dest>`` blocks (nothing is exported).

    Raises:
        PluginError: when a destination is not installed.
        ConfigError: when its settings are wrong (an unknown key, a missing tracking URI, ...).
    """
    from nel_core.exporting import destination_settings

    loader = load or _default_loader
    for name in destinations(Invocation(id="", executor="", output_dir="", created_at=0.0, config=dict(config))):
        loader(name).factory(destination_settings(config, name))


def _outcomes(job: Job) -> Mapping[str, Any]:
    recorded = job.data.get(AUTO_EXPORT_KEY)
    return recorded if isinstance(recorded, Mapping) else {}


def _waiting(job: Job, names: Sequence[str]) -> bool:
    return job.state is JobState.SUCCESS and any(name not in _outcomes(job) for name in names)


@contextlib.contextmanager
def _locked(invocation: Invocation) -> Iterator[None]:
    folder = Path(invocation.output_dir)
    try:
        handle = open(folder / LOCK_FILE, "a")  # noqa: SIM115 - held for the block below
    except OSError:
        yield  # a folder not on this host: the store's record alone keeps exports single
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _default_loader(name: str) -> ExporterSpec:
    from nel_core.plugins import load_exporter

    return load_exporter(name, key="execution.auto_export.destinations")


def _export_to(
    name: str, invocation: Invocation, jobs: Sequence[Job], load: LoadExporter
) -> dict[str, dict[str, Any]]:
    """Each job's outcome at one destination."""
    # Imported here: status imports this module, and listings must not load PyYAML for nothing.
    from nel_core.exporting import destination_settings
    from nel_core.services.export import ExportFailed, export_results

    now = time.time()
    try:
        exporter = load(name).factory(destination_settings(invocation.config, name))
        report = export_results(exporter, [(invocation, jobs)])
    except ExportFailed as exc:
        report = exc.report
    except NelError as exc:
        return {job.id: {"at": now, "error": exc.message} for job in jobs}
    except Exception as exc:  # noqa: BLE001 - a broken plugin must not break status
        return {job.id: {"at": now, "error": f"{type(exc).__name__}: {exc}"} for job in jobs}
    outcomes: dict[str, dict[str, Any]] = {}
    for job in jobs:
        if job.id in report.exported:
            outcomes[job.id] = {"at": now, "location": report.location}
        elif job.id in report.failed:
            outcomes[job.id] = {"at": now, "error": report.failed[job.id]}
        else:
            outcomes[job.id] = {"at": now, "skipped": report.skipped.get(job.id, "not exported")}
    return outcomes


def auto_export(
    store: InvocationStore,
    invocation: Invocation,
    jobs: Sequence[Job],
    *,
    load: LoadExporter = _default_loader,
) -> list[Job]:
    """Export the succeeded ``jobs`` not yet exported to the invocation's destinations; record it.

    Returns:
        ``jobs``, those exported now carrying their recorded outcome.
    """
    names = destinations(invocation)
    if not names or not any(_waiting(job, names) for job in jobs):
        return list(jobs)
    current = {job.id: job for job in jobs}
    with _locked(invocation):
        # Read again under the lock: another command may have exported them meanwhile.
        for job in jobs:
            if _waiting(job, names):
                current[job.id] = store.get_job(job.id)
        for name in names:
            todo = [job for job in current.values() if job.state is JobState.SUCCESS and name not in _outcomes(job)]
            if not todo:
                continue
            for job_id, outcome in _export_to(name, invocation, todo, load).items():
                job = current[job_id]
                data = {**job.data, AUTO_EXPORT_KEY: {**_outcomes(job), name: outcome}}
                current[job_id] = attrs.evolve(job, data=data)
                store.update_job(current[job_id])
    return [current[job.id] for job in jobs]
