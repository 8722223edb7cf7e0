"""A fake Slurm for the fast tier: ``sbatch``, ``squeue``, ``sacct`` and ``scancel`` on PATH.

Each command is a small script (:func:`install`) that calls :func:`main` here; the state lives in
files under ``FAKE_SLURM_STATE`` (one folder per job id). ``sbatch`` runs the script for real,
detached, through core's HostScheduler (with ``SLURM_JOB_ID`` set); ``squeue`` lists the live jobs,
``sacct`` the ended ones (with a ``.batch`` step line, as Slurm prints it); ``scancel`` sends TERM
to the job's process group and KILLs what is left after a grace period, as Slurm's KillWait does.
``sbatch --dependency=afternotok:ID`` waits (PENDING) for job ID to end, then runs the script when
ID failed or was cancelled and drops itself (CANCELLED) when ID completed, as with
``--kill-on-invalid-dep=yes``.
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


def _exit_file(job: Path) -> Path:
    """Where the host scheduler wrote the job's exit code (a dependent job runs through its wrapper)."""
    return job / "dependent.exit" if (job / "dependent.sh").exists() else job / "job.exit"


def _handle(job: Path) -> str:
    """The job's host handle; a job whose sbatch is still writing it is waited for (sbatch is atomic in Slurm)."""
    deadline = time.monotonic() + 10.0
    while not (job / "handle").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return (job / "handle").read_text().strip()


def _state(job: Path) -> JobState:
    handle = _handle(job)
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
    (job / "original").write_text(positional[0])
    os.environ["SLURM_JOB_ID"] = str(job_id)
    script = _script(job)
    after = next((a.split(":", 1)[1] for a in args if a.startswith("--dependency=afternotok:")), "")
    if after:  # a wrapper waits for the predecessor, then runs the script or drops it
        (job / "waiting").write_text(after)
        script = job / "dependent.sh"
        script.write_text(
            f"{sys.executable} {Path(__file__).parent / 'slurm_fakes.py'} wait {state} {after} {job} || exit 0\n"
            f'rm -f {job / "waiting"}\nexec bash {_script(job)} "$@"\n'
        )
    rendered = RenderedJob(job_id=str(job_id), job_dir=original.parent, script=script, arguments=positional[1:])
    (job / "handle.tmp").write_text(HostScheduler().submit(rendered) + "\n")
    (job / "handle.tmp").rename(job / "handle")
    print(job_id if "--parsable" in args else f"Submitted batch job {job_id}")
    return 0


def squeue(state: Path, args: list[str]) -> int:
    for job_id in _ids(args):
        job = state / job_id
        if job.is_dir() and _state(job).is_active:
            print(f"{job_id}|{'PENDING' if (job / 'waiting').exists() else 'RUNNING'}")
    if not _ids(args) and "--format=%i|%o" in args:  # every live job with its batch script
        for job in sorted(state.iterdir()):
            if job.is_dir() and (job / "original").exists() and _state(job).is_active:
                print(f"{job.name}|{(job / 'original').read_text()}")
    return 0


def sacct(state: Path, args: list[str]) -> int:
    for job_id in _ids(args):
        job = state / job_id
        if not job.is_dir() or _state(job).is_active:
            continue
        exit_file = _exit_file(job)
        code = int(exit_file.read_text()) if exit_file.exists() else 0
        if (job / "job.cancelled").exists():
            name = "CANCELLED by 0"
        elif not exit_file.exists():  # the job's processes were killed outright: its node failed
            name = "NODE_FAIL"
        else:
            name = "COMPLETED" if code == 0 else "FAILED"
        print(f"{job_id}|{name}|{code}:0")
        print(f"{job_id}.batch|{name}|{code}:0")
    return 0


def _named(state: Path, names: set[str]) -> list[str]:
    """The live jobs whose ``#SBATCH --job-name`` is among ``names``."""
    found = []
    for job in state.iterdir():
        if job.is_dir() and _script(job).exists() and _state(job).is_active:
            text = _script(job).read_text()
            if any(f"#SBATCH --job-name={name}\n" in text for name in names):
                found.append(job.name)
    return found


def scancel(state: Path, args: list[str]) -> int:
    names = {n for a in args if a.startswith("--name=") for n in a.split("=", 1)[1].split(",") if n}
    for job_id in [a for a in args if not a.startswith("-")] + _named(state, names):
        job = state / job_id
        if not job.is_dir():
            print(f"scancel: error: Kill job error on job id {job_id}: Invalid job id specified", file=sys.stderr)
            return 1
        if not _state(job).is_active:
            continue
        (job / "job.cancelled").write_text("cancelled\n")
        process = _handle(job).partition("@")[0]
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


def wait(state: Path, predecessor: str, job: Path) -> int:
    """Wait for ``predecessor`` to end: 0 when it did not complete (run), 1 when it did (dropped)."""
    while _state(state / predecessor).is_active:
        time.sleep(0.2)
    exit_file = _exit_file(state / predecessor)
    completed = exit_file.exists() and exit_file.read_text().strip() == "0"
    if completed and not (state / predecessor / "job.cancelled").exists():
        (job / "job.cancelled").write_text("DependencyNeverSatisfied\n")
        return 1
    return 0


def main(name: str, args: list[str]) -> int:
    """Run the fake command ``name``."""
    state = Path(os.environ["FAKE_SLURM_STATE"])
    state.mkdir(parents=True, exist_ok=True)
    return {"sbatch": sbatch, "squeue": squeue, "sacct": sacct, "scancel": scancel}[name](state, args)


if __name__ == "__main__":
    sys.exit(wait(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])))
