"""SlurmCommands over a scripted transport: one round trip per call, exact id matching, errors."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs
import pytest

from nel_core.errors import PreflightError, SchedulingError
from nel_core.models.domain import Job, JobState
from nel_executor_slurm.commands import SlurmCommands, slurm_job_state
from nel_executor_slurm.config import SlurmExecutionConfig
from nel_executor_slurm.executor import SlurmExecutor
from nel_executor_slurm.transport import LocalTransport, Transport, TransportError, open_transport


@attrs.define
class Scripted(Transport):
    """Answers each run() with the next scripted answer and records the argv."""

    answers: list[tuple[int, str, str]]
    calls: list[list[str]] = attrs.Factory(list)

    def run(self, argv: Sequence[str]) -> tuple[int, str, str]:
        self.calls.append(list(argv))
        if not self.answers:
            raise TransportError("the login node does not answer")
        return self.answers.pop(0)

    def put_files(self, files: Mapping[str, str]) -> None:
        raise AssertionError("no files expected")

    def read_file(self, path: str) -> str | None:
        return None


def test_query_matches_ids_exactly_in_one_round_trip() -> None:
    """squeue's live jobs win over sacct; steps and other ids (a successor 1001) are not the job."""
    out = (
        "1002|PENDING\n1001|RUNNING\n@@nel-sacct@@ 0\n"
        "1000|COMPLETED|0:0\n1000.batch|COMPLETED|0:0\n1003|CANCELLED by 0|0:15\n10000|FAILED|1:0\n"
        "@@nel-end@@ 0\n"
    )
    transport = Scripted([(0, out, "")])
    found = SlurmCommands(transport).query(["1000", "1002", "1003"])
    assert len(transport.calls) == 1
    assert {k: v.state for k, v in found.items()} == {"1000": "COMPLETED", "1002": "PENDING", "1003": "CANCELLED by 0"}
    assert found["1000"].exit_code == 0


def test_query_fails_when_neither_command_answers() -> None:
    """Without squeue and sacct the query is an error naming the first line they printed."""
    out = "bash: squeue: command not found\n@@nel-sacct@@ 127\nbash: sacct: command not found\n@@nel-end@@ 127\n"
    with pytest.raises(SchedulingError, match="squeue: command not found"):
        SlurmCommands(Scripted([(0, out, "")])).query(["1"])


def test_slurm_states_map_to_job_states() -> None:
    """Slurm's pending, running, ended and cancelled states map to NEL's; the rest is a failure."""
    assert slurm_job_state("PENDING") is JobState.PENDING
    assert slurm_job_state("COMPLETING") is JobState.RUNNING
    assert slurm_job_state("COMPLETED") is JobState.SUCCESS
    assert slurm_job_state("CANCELLED by 1000") is JobState.KILLED
    assert slurm_job_state("TIMEOUT") is JobState.FAILED and slurm_job_state("NODE_FAIL") is JobState.FAILED


def test_submit_sends_every_script_at_once_and_undoes_a_partial_submission() -> None:
    """All sbatch calls go in one round trip; when one fails, the ones before it are cancelled."""
    transport = Scripted([(0, "11\n12;cluster\n", "")])
    assert SlurmCommands(transport).submit([("/a.sbatch", []), ("/b.sbatch", ["/job 1"])]) == ["11", "12"]
    assert len(transport.calls) == 1 and "sbatch --parsable /b.sbatch '/job 1'" in transport.calls[0][-1]
    failing = Scripted([(1, "21\n", "sbatch: error: invalid partition specified: gpu\n"), (0, "", "")])
    with pytest.raises(SchedulingError, match="sbatch: sbatch: error: invalid partition specified: gpu"):
        SlurmCommands(failing).submit([("/a.sbatch", []), ("/b.sbatch", [])])
    assert failing.calls[1] == ["scancel", "21"]


def test_check_names_the_missing_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Preflight on a login node without sbatch says which command is missing."""
    for program in ("bash", "dirname"):  # a login node with a shell but no Slurm
        (tmp_path / program).symlink_to(shutil.which(program) or program)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PreflightError, match="no 'sbatch' on PATH of the login node"):
        SlurmCommands(LocalTransport()).check(str(tmp_path))


def test_check_refuses_an_output_dir_that_is_not_writable(tmp_path: Path, fake_slurm: Path) -> None:
    """Preflight fails when the nearest existing parent of output_dir is not a writable folder."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(PreflightError, match="is not a writable folder"):
        SlurmCommands(LocalTransport()).check(str(blocker / "out"))
    SlurmCommands(LocalTransport()).check(str(tmp_path / "new" / "out"))
    assert not (tmp_path / "new").exists()


def test_a_remote_host_needs_the_ssh_transport() -> None:
    """A remote hostname fails preflight with a clear error; localhost and ssh false run here."""
    with pytest.raises(PreflightError, match="needs the SSH transport") as caught:
        open_transport("login.example.com", local=False)
    assert caught.value.hint is not None and "execution.ssh=false" in caught.value.hint
    assert isinstance(open_transport("localhost", local=True), LocalTransport)
    config = SlurmExecutionConfig(hostname="login.example.com", account="a", output_dir="/o", ssh=False)
    assert config.on_login_node
    assert SlurmExecutionConfig(hostname="localhost", account="a", output_dir="/o").on_login_node


def test_states_are_unknown_when_the_cluster_cannot_be_asked(tmp_path: Path) -> None:
    """An unreachable login node gives UNKNOWN with the reason for every job, never FAILED."""
    config = SlurmExecutionConfig(hostname="localhost", account="a", output_dir=str(tmp_path))
    executor = SlurmExecutor(config, home=tmp_path, transport=Scripted([]))
    jobs = [
        Job(id=f"inv.{i}", invocation_id="inv", index=i, task_name="t", executor="slurm",
            job_dir=str(tmp_path / f"{i}-t"), state=JobState.RUNNING, updated_at=0.0, handle="77")
        for i in range(2)
    ]  # fmt: skip
    reports = executor.states(jobs)
    assert {r.state for r in reports.values()} == {JobState.UNKNOWN}
    assert all("the login node does not answer" in (r.reason or "") for r in reports.values())
