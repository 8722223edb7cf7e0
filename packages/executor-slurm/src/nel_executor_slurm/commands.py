"""The Slurm Scheduler: sbatch, squeue, sacct, scontrol and scancel through a Transport.

:class:`SlurmScheduler` is core's Scheduler port for Slurm (one job per call: submit, states,
find, cancel), and offers what the executor needs beyond it, many jobs per round trip: each
method sends one bash script to the login node, whatever the number of jobs: submitting an
invocation, asking the states of any number of jobs (with what their folders say), cancelling
chains.
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

import attrs

from nel_core.errors import NelError, PreflightError, SchedulingError
from nel_core.models.domain import JobState, StateReport
from nel_core.ports.scheduler import RenderedJob, Scheduler
from nel_core.transport import Transport

__all__ = ["SlurmJob", "SlurmScheduler", "Snapshot", "slurm_job_state"]

#: Slurm's states (squeue's long names, sacct's and scontrol's first word) and what they mean for NEL.
_STATES = {
    "PENDING": JobState.PENDING, "CONFIGURING": JobState.PENDING, "REQUEUED": JobState.PENDING,
    "REQUEUE_HOLD": JobState.PENDING, "REQUEUE_FED": JobState.PENDING, "RESV_DEL_HOLD": JobState.PENDING,
    "SUSPENDED": JobState.PENDING, "RESIZING": JobState.RUNNING, "RUNNING": JobState.RUNNING,
    "COMPLETING": JobState.RUNNING, "STAGE_OUT": JobState.RUNNING, "SIGNALING": JobState.RUNNING,
    "COMPLETED": JobState.SUCCESS, "CANCELLED": JobState.KILLED,
}  # fmt: skip
#: The ends after which a chain's successor takes over (auto-resume).
RESUMABLE = frozenset({"TIMEOUT", "PREEMPTED", "NODE_FAIL"})

_MARK = "@@nel"


@attrs.frozen(kw_only=True)
class SlurmJob:
    """One Slurm job as squeue, sacct or scontrol reported it."""

    id: str
    state: str
    exit_code: int | None = None
    source: str = "squeue"

    @property
    def word(self) -> str:
        """The state's first word (``CANCELLED by 1000`` is CANCELLED)."""
        return self.state.split()[0] if self.state else ""


@attrs.frozen(kw_only=True)
class Snapshot:
    """One round trip's answer: the Slurm jobs, and the files asked for (path -> text; absent: missing)."""

    jobs: dict[str, SlurmJob]
    files: dict[str, str]
    accounting: bool = True


def slurm_job_state(state: str) -> JobState:
    """NEL's state of a Slurm state (``CANCELLED by 1000`` is CANCELLED); unknown ones end as FAILED."""
    return _STATES.get(state.split()[0] if state else "", JobState.FAILED)


def _one_line(text: str, fallback: str) -> str:
    return " ".join(text.split()) or fallback


class SlurmScheduler(Scheduler):
    """sbatch, squeue, sacct, scontrol and scancel on the login node, one round trip per call.

    A job's handle is its Slurm job id. Its log is what its script writes (the executor's jobs
    write ``job.log``): no LOG_STREAMING here.
    """

    name: ClassVar[str] = "slurm"

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    # ---------------------------------------------------------------------------- the port

    def submit(self, job: RenderedJob) -> str:
        """``sbatch`` the job's script with its arguments, its output beside the script."""
        output = f"--output={job.script.parent / job.script.stem}-%j.log"
        return self.submit_many([(str(job.script), [output], job.arguments, [])], chain_file="")[0]

    def states(self, handles: Sequence[str]) -> dict[str, StateReport]:
        if not handles:
            return {}
        try:
            found = self.snapshot([], ids=list(handles)).jobs
        except NelError as exc:
            return {h: StateReport(state=JobState.UNKNOWN, reason=f"Slurm cannot be asked: {exc.message}")
                    for h in handles}  # fmt: skip
        reports = {}
        for handle in handles:
            job = found.get(handle)
            if job is None:
                reports[handle] = StateReport(state=JobState.UNKNOWN, reason=f"Slurm knows no job {handle}")
                continue
            state = slurm_job_state(job.state)
            reason = "" if state in (JobState.SUCCESS, JobState.PENDING, JobState.RUNNING) else job.state
            reports[handle] = StateReport(state=state, reason=reason, exit_code=job.exit_code)
        return reports

    def find(self, script: Path) -> str:
        """The id of the live job whose batch script is ``script`` (squeue's command column)."""
        code, out, _ = self.transport.run(["squeue", "--noheader", "--format=%i|%o"])
        matches = [line.split("|", 1)[0] for line in out.splitlines() if line.partition("|")[2] == str(script)]
        return matches[-1] if code == 0 and matches else ""

    def cancel(self, handle: str) -> None:
        self.cancel_many([handle])

    # ------------------------------------------------------------- many jobs, one round trip

    def check(self, output_dir: str) -> str:
        """Slurm's commands are on PATH and ``output_dir`` (or its nearest existing parent) is writable.

        Returns:
            The nearest existing folder of ``output_dir`` (itself when it exists).

        Raises:
            PreflightError: naming the missing command or the folder.
        """
        script = (
            "for c in sbatch squeue sacct scancel; do command -v \"$c\" >/dev/null "
            "|| { echo \"no '$c' on PATH of the login node\"; exit 3; }; done; "
            f"d={shlex.quote(output_dir)}; while [ ! -e \"$d\" ]; do d=$(dirname \"$d\"); done; "
            "[ -d \"$d\" ] && [ -w \"$d\" ] || { echo \"$d is not a writable folder\"; exit 4; }; "
            'echo "$d"'
        )
        code, out, err = self.transport.run_script(script)
        if code != 0:
            raise PreflightError(f"execution: {(out or err).strip() or f'the check exited with {code}'}")
        return out.strip()

    def submit_many(
        self, scripts: Sequence[tuple[str, Sequence[str], Sequence[str], Sequence[str]]], *, chain_file: str
    ) -> list[str]:
        """Submit each (script, sbatch options, arguments, job folders) with ``sbatch --parsable``;
        return the job ids, in one round trip.

        Each id is written as the first line of ``chain_file`` in the script's job folders (when
        one is named). When one submission fails, those before it are cancelled again.

        Raises:
            SchedulingError: with sbatch's own error, in one line.
        """
        lines = []
        for script, options, arguments, job_dirs in scripts:
            chains = " ".join(shlex.quote(f"{d}/{chain_file}") for d in job_dirs) if chain_file else ""
            lines.append(f"id=$(sbatch --parsable {shlex.join([*options, script, *arguments])}) || exit $?")
            lines.append(f'id=${{id%%;*}}; echo "$id"; for f in {chains}; do echo "$id" > "$f"; done')
        code, out, err = self.transport.run_script("\n".join(lines))
        ids = [line.strip() for line in out.splitlines() if line.strip()]
        if code != 0 or len(ids) != len(scripts):
            if ids:
                self.cancel_many(ids)
            raise SchedulingError(f"sbatch: {_one_line(err.replace('sbatch: error:', ''), f'exit code {code}')}")
        return ids

    def snapshot(
        self,
        files: Sequence[tuple[str | None, Sequence[str]]],
        *,
        ids: Sequence[str] = (),
        id_files: Sequence[str] = (),
    ) -> Snapshot:
        """In one round trip: files' texts, then the Slurm jobs of ``ids`` and of the ids listed in ``id_files``.

        ``files`` holds (condition, paths): the paths are read when the condition file exists
        (or always, for None). squeue answers for live jobs, sacct for ended ones; when
        accounting is off (sacct fails), ``scontrol show job`` answers for the jobs Slurm still
        remembers. Ids are matched exactly (a job's steps and array members are not the job).

        Raises:
            TransportError: when the login node cannot be asked.
            SchedulingError: when neither squeue nor sacct nor scontrol answers.
        """
        lines = [
            "emit() { for f in \"$@\"; do if [ -f \"$f\" ]; then "
            f'echo "{_MARK}-file $f"; base64 -w0 "$f"; echo; fi; done; }}'
        ]
        for condition, paths in files:
            emit = "emit " + " ".join(shlex.quote(p) for p in paths)
            lines.append(emit if condition is None else f"if [ -e {shlex.quote(condition)} ]; then {emit}; fi")
        quoted_ids = " ".join(shlex.quote(i) for i in ids)
        listed = " ".join(shlex.quote(f) for f in id_files)
        script = "\n".join(lines) + f"""
ids=$( (printf '%s\\n' {quoted_ids}; cat {listed} /dev/null 2>/dev/null) | grep -E '^[0-9_]+$' | sort -u | paste -sd, -)
echo "{_MARK}-ids $ids"
[ -n "$ids" ] || exit 0
echo "{_MARK}-squeue"; squeue --noheader --format='%i|%T' --jobs="$ids" 2>&1; echo "{_MARK}-rc $?"
echo "{_MARK}-sacct"; sacct --noheader --parsable2 --allocations --format=JobID,State,ExitCode --jobs="$ids" 2>&1
rc=$?; echo "{_MARK}-rc $rc"
if [ "$rc" -ne 0 ]; then
  echo "{_MARK}-scontrol"
  for id in ${{ids//,/ }}; do scontrol --oneliner show job "$id" 2>/dev/null; done; echo "{_MARK}-rc 0"
fi
"""
        _, out, err = self.transport.run_script(script)
        return _parse_snapshot(out, err)

    def cancel_many(self, ids: Sequence[str]) -> None:
        """``scancel`` the jobs (pending or running) in one round trip; cancelling an ended one is fine.

        Raises:
            SchedulingError: with scancel's own error.
        """
        if ids:
            self._scancel_script(f"ids={shlex.quote(' '.join(ids))}")

    def cancel_chains(
        self,
        groups: Sequence[tuple[str, Sequence[str]]],
        *,
        markers: Mapping[str, str],
        chain_file: str,
        current_file: str,
        ended: Sequence[str],
        extra_ids: Sequence[str] = (),
    ) -> None:
        """In one round trip: write the ``markers`` (path -> text) where missing, then cancel every
        link of the chains of each group (sbatch job name, job folders) whose jobs have all ended
        (a file of ``ended`` in each folder): the ids in the folders, and every job of the group's
        name (a successor queued a moment ago, not yet written down).

        A group with a job still to run keeps its Slurm job: the script skips the killed ones.
        ``extra_ids`` are cancelled when no folder tells of them (a launch that died early).

        Raises:
            SchedulingError: with scancel's own error.
        """
        lines = [
            f"p={shlex.quote(p)}; "
            f'if [ -d "$(dirname "$p")" ] && [ ! -e "$p" ]; then echo {shlex.quote(t)} > "$p"; fi'
            for p, t in markers.items()
        ]
        lines.append("ids=" + shlex.quote(" ".join(extra_ids)))
        lines.append('names=""')
        for name, dirs in groups:
            quoted = " ".join(shlex.quote(d) for d in dirs)
            ended_test = " || ".join(f'[ -e "$d/{name}" ]' for name in ended)
            lines.append(
                f"all=1; for d in {quoted}; do {{ [ ! -d \"$d\" ] || {ended_test}; }} || all=0; done; "
                f"if [ $all = 1 ]; then for d in {quoted}; do "
                f'ids="$ids $(cat "$d/{chain_file}" "$d/{current_file}" 2>/dev/null)"; done; '
                + (f'names="$names,"{shlex.quote(name)}; ' if name else "")
                + "fi"
            )
        self._scancel_script("\n".join(lines))

    def _scancel_script(self, prelude: str) -> None:
        script = (
            f"{prelude}\n"
            "ids=$(printf '%s\\n' $ids | grep -E '^[0-9_]+$' | sort -u)\n"
            'names=${names:-}; names=${names#,}\n'
            "rc=0\n"
            'if [ -n "$names" ]; then scancel --name="$names" || rc=$?; fi\n'
            'if [ -n "$ids" ]; then\n'
            "  scancel $ids 2>&1 | grep -v -e 'Invalid job id' -e 'already completing or completed' >&2\n"
            '  s=${PIPESTATUS[0]}; [ "$s" = 0 ] || rc=$s\n'
            "fi\n"
            "exit $rc\n"
        )
        code, _, err = self.transport.run_script(script)
        if code != 0 and err.strip():
            raise SchedulingError(f"scancel: {_one_line(err, f'exit code {code}')}")


def _parse_snapshot(out: str, err: str) -> Snapshot:
    files: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    codes: dict[str, int] = {}
    section = ""
    lines = iter(out.splitlines())
    for line in lines:
        if line.startswith(f"{_MARK}-file "):
            path = line.split(" ", 1)[1]
            files[path] = base64.b64decode(next(lines, "")).decode(errors="replace")
            continue
        if line.startswith(f"{_MARK}-rc "):
            codes[section] = int(line.split()[1]) if line.split()[1:2] and line.split()[1].isdigit() else 1
            continue
        if line.startswith(f"{_MARK}-"):
            section = line[len(_MARK) + 1 :].split()[0]
            sections[section] = [line.partition(" ")[2]] if section == "ids" else []
            continue
        if section:
            sections.setdefault(section, []).append(line)
    wanted = set(",".join(sections.get("ids", [""])).split(",")) - {""}
    if not wanted:
        return Snapshot(jobs={}, files=files)
    found: dict[str, SlurmJob] = {}
    if codes.get("sacct") == 0:
        for line in sections.get("sacct", []):
            parts = line.strip().split("|")
            if len(parts) == 3 and parts[0] in wanted:
                code = parts[2].split(":")[0]
                found[parts[0]] = SlurmJob(
                    id=parts[0], state=parts[1], exit_code=int(code) if code.isdigit() else None, source="sacct"
                )
    for line in sections.get("scontrol", []):
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        if fields.get("JobId") in wanted and "JobState" in fields:
            code = fields.get("ExitCode", "").split(":")[0]
            found[fields["JobId"]] = SlurmJob(
                id=fields["JobId"], state=fields["JobState"], exit_code=int(code) if code.isdigit() else None,
                source="scontrol",
            )  # fmt: skip
    if codes.get("squeue") == 0:
        for line in sections.get("squeue", []):
            parts = line.strip().split("|")
            if len(parts) == 2 and parts[0] in wanted:  # a live job: squeue's word is the newest
                found[parts[0]] = SlurmJob(id=parts[0], state=parts[1])
    if codes.get("squeue") != 0 and codes.get("sacct") != 0 and "scontrol" not in sections:
        why = next((line for line in sections.get("squeue", []) if line.strip()), err.strip() or "no answer")
        raise SchedulingError(f"squeue and sacct failed: {_one_line(why, 'no answer')}")
    return Snapshot(jobs=found, files=files, accounting=codes.get("sacct") == 0)
