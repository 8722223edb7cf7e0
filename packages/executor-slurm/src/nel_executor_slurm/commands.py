"""Slurm's commands (sbatch, squeue, sacct, scancel) through a Transport, many jobs per round trip.

Each method sends one shell line to the login node, whatever the number of jobs: submitting an
invocation, asking the states of any number of jobs, cancelling them.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

import attrs

from nel_core.errors import PreflightError, SchedulingError
from nel_core.models.domain import JobState
from nel_executor_slurm.transport import Transport

__all__ = ["SlurmCommands", "SlurmJob", "slurm_job_state"]

_SACCT = "@@nel-sacct@@"
#: Slurm's states (squeue's long names, sacct's first word) and what they mean for NEL.
_STATES = {
    "PENDING": JobState.PENDING, "CONFIGURING": JobState.PENDING, "REQUEUED": JobState.PENDING,
    "REQUEUE_HOLD": JobState.PENDING, "REQUEUE_FED": JobState.PENDING, "RESV_DEL_HOLD": JobState.PENDING,
    "SUSPENDED": JobState.PENDING, "RESIZING": JobState.RUNNING, "RUNNING": JobState.RUNNING,
    "COMPLETING": JobState.RUNNING, "STAGE_OUT": JobState.RUNNING, "SIGNALING": JobState.RUNNING,
    "COMPLETED": JobState.SUCCESS, "CANCELLED": JobState.KILLED,
}  # fmt: skip


@attrs.frozen(kw_only=True)
class SlurmJob:
    """One Slurm job as squeue or sacct reported it."""

    id: str
    state: str
    exit_code: int | None = None


def slurm_job_state(state: str) -> JobState:
    """NEL's state of a Slurm state (``CANCELLED by 1000`` is CANCELLED); unknown ones end as FAILED."""
    return _STATES.get(state.split()[0] if state else "", JobState.FAILED)


class SlurmCommands:
    """sbatch, squeue, sacct and scancel on the login node, one round trip per call."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def _shell(self, script: str) -> tuple[int, str, str]:
        return self.transport.run(["bash", "-c", script])

    def check(self, output_dir: str) -> None:
        """Slurm's commands are on PATH and ``output_dir`` (or its nearest existing parent) is writable.

        Raises:
            PreflightError: naming the missing command or the folder.
        """
        script = (
            "for c in sbatch squeue sacct scancel; do command -v \"$c\" >/dev/null "
            "|| { echo \"no '$c' on PATH of the login node\"; exit 3; }; done; "
            f"d={shlex.quote(output_dir)}; while [ ! -e \"$d\" ]; do d=$(dirname \"$d\"); done; "
            "[ -d \"$d\" ] && [ -w \"$d\" ] || { echo \"$d is not a writable folder\"; exit 4; }"
        )
        code, out, err = self._shell(script)
        if code != 0:
            raise PreflightError(f"execution: {(out or err).strip() or f'the check exited with {code}'}")

    def submit(self, scripts: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
        """Submit each (script, arguments) with ``sbatch --parsable``; return the job ids in order.

        When one submission fails, those before it are cancelled again.

        Raises:
            SchedulingError: with sbatch's own error.
        """
        lines = [f"sbatch --parsable {shlex.join([script, *arguments])} || exit $?" for script, arguments in scripts]
        code, out, err = self._shell("\n".join(lines))
        ids = [line.split(";")[0].strip() for line in out.splitlines() if line.strip()]
        if code != 0 or len(ids) != len(scripts):
            if ids:
                self.cancel(ids)
            why = " ".join(err.split()) or f"sbatch exited with code {code}"
            raise SchedulingError(f"sbatch: {why}")
        return ids

    def query(self, ids: Sequence[str]) -> dict[str, SlurmJob]:
        """The jobs Slurm knows among ``ids``: squeue for live ones, sacct for ended ones.

        Ids are matched exactly (a job's steps and array members are not the job). An id that
        neither knows is left out.

        Raises:
            TransportError: when the login node cannot be asked.
            SchedulingError: when neither squeue nor sacct answers.
        """
        if not ids:
            return {}
        listed = ",".join(ids)
        script = (
            f"squeue --noheader --format='%i|%T' --jobs={listed} 2>&1; echo \"{_SACCT} $?\"; "
            f"sacct --noheader --parsable2 --allocations --format=JobID,State,ExitCode --jobs={listed} 2>&1; "
            "echo \"@@nel-end@@ $?\""
        )
        _, out, err = self._shell(script)
        head, _, tail = out.partition(_SACCT)
        squeue_ok = tail.split(maxsplit=1)[:1] == ["0"]
        sacct_ok = "@@nel-end@@ 0" in tail
        if not squeue_ok and not sacct_ok:
            why = " ".join((head.strip().splitlines() or [err.strip()])[:1]) or "no answer"
            raise SchedulingError(f"squeue and sacct failed: {why}")
        wanted = set(ids)
        found: dict[str, SlurmJob] = {}
        for line in tail.splitlines()[1:] if sacct_ok else ():
            parts = line.strip().split("|")
            if len(parts) == 3 and parts[0] in wanted:
                code = parts[2].split(":")[0]
                found[parts[0]] = SlurmJob(id=parts[0], state=parts[1], exit_code=int(code) if code.isdigit() else None)
        for line in head.splitlines() if squeue_ok else ():
            parts = line.strip().split("|")
            if len(parts) == 2 and parts[0] in wanted:  # a live job: squeue's word is the newest
                found[parts[0]] = SlurmJob(id=parts[0], state=parts[1])
        return found

    def cancel(self, ids: Sequence[str]) -> None:
        """``scancel`` the jobs (pending or running); cancelling an ended one is fine.

        Raises:
            SchedulingError: with scancel's own error.
        """
        if not ids:
            return
        code, _, err = self.transport.run(["scancel", *ids])
        if code != 0 and "Invalid job id" not in err:
            raise SchedulingError(f"scancel: {' '.join(err.split()) or f'exit code {code}'}")
