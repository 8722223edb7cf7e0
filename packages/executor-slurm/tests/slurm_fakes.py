"""A fake Slurm for the fast tier: ``sbatch``, ``squeue``, ``sacct`` and ``scancel`` on PATH.

Each command is a small script (:func:`install`) that calls :func:`main` here; the state lives in
files under ``FAKE_SLURM_STATE`` (one folder per job id). ``sbatch`` runs the script for real,
detached, through core's HostScheduler (with ``SLURM_JOB_ID`` set); ``squeue`` lists the live jobs,
``sacct`` the ended ones (with a ``.batch`` step line, as Slurm prints it); ``scancel`` sends TERM
to the job's process group and KILLs what is left after a grace period, as Slurm's KillWait does.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from nel_core.host.processes import signal_group
from nel_core.host.scheduler import HostScheduler
from nel_core.models.domain import JobState
from nel_core.ports.scheduler import RenderedJob

COMMANDS = ("sbatch", "squeue", "sacct", "scancel")
#: Seconds scancel waits for a job's processes before it KILLs them (Slurm's KillWait).
KILL_WAIT = 15.0


def install(bin_dir: Path) -> None:
    """Write the four commands into ``bin_dir`` (put it first on PATH, and set FAKE_SLURM_STATE)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).parent
    for name in COMMANDS:
        path = bin_dir / name
        path.write_text(
            f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(here)!r})\n"
            f"from slurm_fakes import main\nsys.exit(main({name!r}, sys.argv[1:]))\n"
        )
        path.chmod(0o755)


def _ids(args: list[str]) -> list[str]:
    listed = next((a.split("=", 1)[1] for a in args if a.startswith("--jobs=")), "")
    return [i for i in listed.split(",") if i]


def _script(job: Path) -> Path:
    return job / "job.sbatch"


def _state(job: Path) -> JobState:
    handle = (job / "handle").read_text().strip()
    return HostScheduler().states([handle])[handle].state


def sbatch(state: Path, args: list[str]) -> int:
    positional = [a for a in args if not a.startswith("--")]
    if not positional or not Path(positional[0]).is_file():
        print(f"sbatch: error: Unable to open file {positional[0] if positional else ''}", file=sys.stderr)
        return 1
    original = Path(positional[0]).resolve()
    with open(state / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        counter = state / "next"
        job_id = int(counter.read_text()) if counter.exists() else 1000
        counter.write_text(f"{job_id + 1}\n")
    job = state / str(job_id)
    job.mkdir()
    shutil.copy(original, _script(job))
    os.environ["SLURM_JOB_ID"] = str(job_id)
    rendered = RenderedJob(job_id=str(job_id), job_dir=original.parent, script=_script(job), arguments=positional[1:])
    (job / "handle").write_text(HostScheduler().submit(rendered) + "\n")
    print(job_id if "--parsable" in args else f"Submitted batch job {job_id}")
    return 0


def squeue(state: Path, args: list[str]) -> int:
    for job_id in _ids(args):
        job = state / job_id
        if job.is_dir() and _state(job).is_active:
            print(f"{job_id}|RUNNING")
    return 0


def sacct(state: Path, args: list[str]) -> int:
    for job_id in _ids(args):
        job = state / job_id
        if not job.is_dir() or _state(job).is_active:
            continue
        exit_file = job / "job.exit"
        code = int(exit_file.read_text()) if exit_file.exists() else 0
        if (job / "job.cancelled").exists():
            name = "CANCELLED by 0"
        else:
            name = "COMPLETED" if code == 0 else "FAILED"
        print(f"{job_id}|{name}|{code}:0")
        print(f"{job_id}.batch|{name}|{code}:0")
    return 0


def scancel(state: Path, args: list[str]) -> int:
    for job_id in (a for a in args if not a.startswith("-")):
        job = state / job_id
        if not job.is_dir():
            print(f"scancel: error: Kill job error on job id {job_id}: Invalid job id specified", file=sys.stderr)
            return 1
        if not _state(job).is_active:
            continue
        (job / "job.cancelled").write_text("cancelled\n")
        process = (job / "handle").read_text().strip().partition("@")[0]
        signal_group(process, signal.SIGTERM)
        group = int(process.split(":")[0])
        deadline = time.monotonic() + KILL_WAIT
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.killpg(group, signal.SIGKILL)
    return 0


def main(name: str, args: list[str]) -> int:
    """Run the fake command ``name``."""
    state = Path(os.environ["FAKE_SLURM_STATE"])
    state.mkdir(parents=True, exist_ok=True)
    return {"sbatch": sbatch, "squeue": squeue, "sacct": sacct, "scancel": scancel}[name](state, args)
