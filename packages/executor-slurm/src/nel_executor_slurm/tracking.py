"""How the Slurm executor tells a job's state: its chain of Slurm jobs, its markers, its local copy.

One status round trip asks (:func:`snapshot_request`) for each job's chain of Slurm ids
(``slurm.chain``), the link that runs it (``slurm.id``) and, over SSH, its stage markers, its
progress and, once it has ended, its results and log. :func:`job_report` then brings the local
copy in step and combines Slurm's word on the job's current link with the job's own markers.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from nel_core.layout import (
    ARTIFACTS_DIR,
    EVAL_FACTORY_METRICS,
    EXIT,
    HARNESS_COUNTER_FILE,
    JOB_LOG,
    KILLED,
    PRE_START,
    PROGRESS_FILE,
    REASON,
    REQUESTS_FILE,
    RESULTS_FILE,
    RUNNING,
    SAMPLES_FILE,
)  # fmt: skip
from nel_core.models.domain import Job, JobState, StateReport
from nel_core.services.stages import combine, read_markers
from nel_executor_slurm.commands import RESUMABLE, SlurmJob, Snapshot, slurm_job_state
from nel_executor_slurm.sbatch import CHAIN_FILE, CURRENT_FILE

__all__ = ["MARKERS", "PROGRESS", "RESULTS", "job_report", "snapshot_request"]

#: A job's stage markers, mirrored from the cluster as they are there.
MARKERS = (PRE_START, RUNNING, EXIT, REASON, KILLED)
#: What comes back of a job while it runs (its progress) and once it has ended (results, log).
PROGRESS = (f"{ARTIFACTS_DIR}/{PROGRESS_FILE}", f"{ARTIFACTS_DIR}/{HARNESS_COUNTER_FILE}")
RESULTS = (
    f"{ARTIFACTS_DIR}/{RESULTS_FILE}", f"{ARTIFACTS_DIR}/{REQUESTS_FILE}",
    f"{ARTIFACTS_DIR}/{EVAL_FACTORY_METRICS}", f"{ARTIFACTS_DIR}/{SAMPLES_FILE}", JOB_LOG,
)  # fmt: skip


def snapshot_request(job_dirs: list[str], *, mirrored: bool) -> list[tuple[str | None, list[str]]]:
    """The files a status round trip reads of each job folder (cluster paths), with their conditions."""
    asked: list[tuple[str | None, list[str]]] = []
    for remote in job_dirs:
        asked.append((None, [f"{remote}/{CHAIN_FILE}", f"{remote}/{CURRENT_FILE}"]))
        if mirrored:
            asked.append((None, [f"{remote}/{name}" for name in (*MARKERS, *PROGRESS)]))
            asked.append((f"{remote}/{EXIT}", [f"{remote}/{name}" for name in RESULTS]))
    return asked


def job_report(job: Job, remote: str, snapshot: Snapshot, *, mirrored: bool, max_walltime: str) -> StateReport:
    """The job's state, with the chain's newest id as its handle when it moved on."""
    if mirrored:
        _mirror(Path(job.job_dir), remote, snapshot)
    job_dir = Path(job.job_dir)
    scheduled, current, newest = _scheduled(job, remote, snapshot, max_walltime)
    markers = read_markers(job_dir)
    if scheduled.reason.startswith("resuming"):  # the markers are those of the interrupted link
        markers = attrs.evolve(markers, pre_start=False, running=False)
    report = combine(scheduled, markers, job_dir / ARTIFACTS_DIR)
    # A job that has ended keeps the link that ran it, whatever successor its chain queued.
    handle = current if report.state.is_terminal else newest
    return attrs.evolve(report, handle=handle if handle and handle != job.handle else None)


def _mirror(local: Path, remote: str, snapshot: Snapshot) -> None:
    """Bring the local copy of a job's folder in step with the cluster's (markers as they are there)."""
    local.mkdir(parents=True, exist_ok=True)
    for name in (*MARKERS, *PROGRESS, *RESULTS):
        text = snapshot.files.get(f"{remote}/{name}")
        if text is not None:
            target = local / name
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f".{target.name}.tmp")
            temp.write_text(text)
            temp.replace(target)
        elif name in MARKERS:
            (local / name).unlink(missing_ok=True)


def _scheduled(job: Job, remote: str, snapshot: Snapshot, max_walltime: str) -> tuple[StateReport, str, str]:
    """What the job's chain of Slurm jobs says of it, its current link's id, and the chain's newest id."""
    chain = (snapshot.files.get(f"{remote}/{CHAIN_FILE}") or "").split() or ([job.handle] if job.handle else [])
    current = (snapshot.files.get(f"{remote}/{CURRENT_FILE}") or "").strip() or (chain[0] if chain else "")
    if not current:
        return StateReport(state=JobState.FAILED, reason="it was never submitted", inferred=True), "", ""
    later = chain[chain.index(current) + 1 :] if current in chain else []
    live = [i for i in later if i in snapshot.jobs and slurm_job_state(snapshot.jobs[i].state).is_active]
    queued = live[-1] if live else ""
    link = snapshot.jobs.get(current)
    report = _link_state(current, link, queued, accounting=snapshot.accounting, max_walltime=max_walltime)
    # The chain's newest id: the running link's, or once it has ended for want of time (or
    # node), its queued successor's; a successor of a completed link is never run.
    resuming = queued and (link is None or link.word in RESUMABLE)
    return report, current, (queued if resuming else current)


def _link_state(
    current: str, link: SlurmJob | None, queued: str, *, accounting: bool, max_walltime: str
) -> StateReport:
    if link is None:
        if queued:
            return StateReport(state=JobState.PENDING, reason=f"resuming: Slurm job {queued} is queued")
        why = f"Slurm job {current} is known neither to squeue nor to sacct"
        if not accounting:
            why = f"Slurm job {current} is no longer listed (accounting is off: sacct does not answer)"
        return StateReport(state=JobState.FAILED, reason=why, inferred=True)
    state = slurm_job_state(link.state)
    if state.is_active:
        return StateReport(state=JobState.PENDING)  # RUNNING once the task's own marker says so
    if queued and link.word in RESUMABLE:
        return StateReport(
            state=JobState.PENDING, reason=f"resuming: Slurm job {current} ended ({link.word}), {queued} continues"
        )
    if state is JobState.KILLED:
        return StateReport(state=JobState.KILLED, reason=f"Slurm job {current} was cancelled")
    why = f"Slurm job {current} ended ({link.state}) before this task finished"
    if link.word in RESUMABLE:
        why += f"; max_walltime {max_walltime} leaves no time to resume it"
    return StateReport(state=JobState.FAILED, reason=why, exit_code=link.exit_code)
