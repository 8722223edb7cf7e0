"""SlurmScheduler's batch commands over a scripted transport: one round trip per call, exact id matching, errors."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs
import pytest

from nel_core.errors import ConfigError, PreflightError, SchedulingError
from nel_core.models.domain import Job, JobState
from nel_core.transport import LocalTransport, Transport, TransportError
from nel_executor_slurm.commands import SlurmScheduler, slurm_job_state
from nel_executor_slurm.config import SlurmExecutionConfig
from nel_executor_slurm.executor import SlurmExecutor
from nel_executor_slurm.transport import open_transport


@attrs.define
class Scripted(Transport):
    """Answers each run() with the next scripted answer and records the argv."""

    answers: list[tuple[int, str, str]]
    calls: list[list[str]] = attrs.Factory(list)

    def run(self, argv: Sequence[str], *, input: str | None = None) -> tuple[int, str, str]:
        self.calls.append([*argv, input] if input is not None else list(argv))
        if not self.answers:
            raise TransportError("the login node does not answer")
        return self.answers.pop(0)

    def put_tree(self, local: Path, remote: str) -> None:
        raise AssertionError("no files expected")

    def fetch(self, files: Mapping[str, Path]) -> list[str]:
        raise AssertionError("no files expected")

    def read_file(self, path: str, offset: int = 0) -> str | None:
        return None


def test_snapshot_matches_ids_exactly_in_one_round_trip() -> None:
    """squeue's live jobs win over sacct; steps and other ids (a successor 1001) are not the job."""
    out = (
        "@@nel-file /j/slurm.chain\nMTAwMAoxMDAxCg==\n@@nel-ids 1000,1001,1002,1003\n"
        "@@nel-squeue\n1002|PENDING\n1001|RUNNING\n@@nel-rc 0\n@@nel-sacct\n"
        "1000|COMPLETED|0:0\n1000.batch|COMPLETED|0:0\n1003|CANCELLED by 0|0:15\n10000|FAILED|1:0\n@@nel-rc 0\n"
    )
    transport = Scripted([(0, out, "")])
    found = SlurmScheduler(transport).snapshot([(None, ["/j/slurm.chain"])], ids=["1003"], id_files=["/j/slurm.chain"])
    assert len(transport.calls) == 1
    assert {k: v.state for k, v in found.jobs.items()} == {
        "1000": "COMPLETED", "1001": "RUNNING", "1002": "PENDING", "1003": "CANCELLED by 0",
    }  # fmt: skip
    assert found.jobs["1000"].exit_code == 0 and found.accounting
    assert found.files == {"/j/slurm.chain": "1000\n1001\n"}


def test_snapshot_falls_back_to_scontrol_without_accounting() -> None:
    """With sacct failing (no slurmdbd), scontrol's record of an ended job answers for it."""
    out = (
        "@@nel-ids 7\n@@nel-squeue\n@@nel-rc 0\n@@nel-sacct\nsacct: error: Problem talking to the database\n"
        "@@nel-rc 1\n@@nel-scontrol\nJobId=7 JobName=x JobState=TIMEOUT Reason=TimeLimit ExitCode=0:15\n@@nel-rc 0\n"
    )
    found = SlurmScheduler(Scripted([(0, out, "")])).snapshot([], ids=["7"])
    assert found.jobs["7"].state == "TIMEOUT" and found.jobs["7"].source == "scontrol"
    assert not found.accounting


def test_snapshot_fails_when_nothing_answers() -> None:
    """Without squeue, sacct and scontrol the snapshot is an error naming the first line they printed."""
    out = (
        "@@nel-ids 1\n@@nel-squeue\nbash: squeue: command not found\n@@nel-rc 127\n"
        "@@nel-sacct\nbash: sacct: command not found\n@@nel-rc 127\n"
    )
    with pytest.raises(SchedulingError, match="squeue: command not found"):
        SlurmScheduler(Scripted([(0, out, "")])).snapshot([], ids=["1"])


def test_snapshot_runs_the_real_script_on_the_login_node(tmp_path: Path, fake_slurm: Path) -> None:
    """The script itself: files read when their condition holds, ids gathered from the chain files."""
    (tmp_path / "slurm.chain").write_text("5\n")
    (tmp_path / "stage.exit").write_text("0\n")
    (tmp_path / "results.yml").write_text("a: 1\n")
    asked = [(None, [str(tmp_path / "slurm.chain"), str(tmp_path / "missing")]),
             (str(tmp_path / "stage.exit"), [str(tmp_path / "results.yml")]),
             (str(tmp_path / "nope"), [str(tmp_path / "stage.exit")])]  # fmt: skip
    found = SlurmScheduler(LocalTransport()).snapshot(asked, id_files=[str(tmp_path / "slurm.chain")])
    assert found.files == {str(tmp_path / "slurm.chain"): "5\n", str(tmp_path / "results.yml"): "a: 1\n"}
    assert found.jobs == {}  # the fake Slurm never ran job 5


def test_slurm_states_map_to_job_states() -> None:
    """Slurm's pending, running, ended and cancelled states map to NEL's; the rest is a failure."""
    assert slurm_job_state("PENDING") is JobState.PENDING
    assert slurm_job_state("COMPLETING") is JobState.RUNNING
    assert slurm_job_state("COMPLETED") is JobState.SUCCESS
    assert slurm_job_state("CANCELLED by 1000") is JobState.KILLED
    assert slurm_job_state("TIMEOUT") is JobState.FAILED and slurm_job_state("NODE_FAIL") is JobState.FAILED


def test_submit_sends_every_script_at_once_and_undoes_a_partial_submission() -> None:
    """All sbatch calls go in one round trip; when one fails, the ones before it are cancelled."""
    transport = Scripted([(0, "11\n12\n", "")])
    submitted = SlurmScheduler(transport).submit_many(
        [("/a.sbatch", [], [], ["/a/0"]), ("/b.sbatch", [], ["/job 1"], ["/job 1"])], chain_file="slurm.chain"
    )
    assert submitted == ["11", "12"]
    assert len(transport.calls) == 1 and "sbatch --parsable /b.sbatch '/job 1'" in transport.calls[0][-1]
    assert "'/job 1/slurm.chain'" in transport.calls[0][-1]
    failing = Scripted([(1, "21\n", "sbatch: error: invalid partition specified: gpu\n"), (0, "", "")])
    with pytest.raises(SchedulingError, match="^sbatch: invalid partition specified: gpu$"):
        SlurmScheduler(failing).submit_many([("/a.sbatch", [], [], []), ("/b.sbatch", [], [], [])], chain_file="c")
    assert "scancel $ids" in failing.calls[1][-1] and "ids=21" in failing.calls[1][-1]


def test_check_names_the_missing_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Preflight on a login node without sbatch says which command is missing."""
    for program in ("bash", "dirname"):  # a login node with a shell but no Slurm
        (tmp_path / program).symlink_to(shutil.which(program) or program)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PreflightError, match="no 'sbatch' on PATH of the login node"):
        SlurmScheduler(LocalTransport()).check(str(tmp_path))


def test_check_refuses_an_output_dir_that_is_not_writable(tmp_path: Path, fake_slurm: Path) -> None:
    """Preflight fails when the nearest existing parent of output_dir is not a writable folder."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(PreflightError, match="is not a writable folder"):
        SlurmScheduler(LocalTransport()).check(str(blocker / "out"))
    SlurmScheduler(LocalTransport()).check(str(tmp_path / "new" / "out"))
    assert not (tmp_path / "new").exists()


def test_a_remote_host_goes_over_ssh_and_localhost_runs_here(tmp_path: Path) -> None:
    """A remote hostname gets the SSH transport (not connected yet); localhost and ssh false run here."""
    from nel_ssh import SshTransport

    remote = SlurmExecutionConfig(
        hostname="login.example.com", username="u", account="a", output_dir="/o", ssh_port=2200,
        ssh_config_file=str(tmp_path / "none"),
    )  # fmt: skip
    transport = open_transport(remote)
    assert isinstance(transport, SshTransport) and transport.connections == 0
    assert (transport.target.host, transport.target.port, transport.target.user) == ("login.example.com", 2200, "u")
    config = SlurmExecutionConfig(hostname="login.example.com", account="a", output_dir="/o", ssh=False)
    assert config.on_login_node and isinstance(open_transport(config), LocalTransport)
    assert SlurmExecutionConfig(hostname="localhost", account="a", output_dir="/o").on_login_node


def test_a_remote_output_dir_must_be_absolute(tmp_path: Path) -> None:
    """Over SSH, output_dir is a cluster path: a relative one is refused, naming the key."""
    config = SlurmExecutionConfig(hostname="login.example.com", account="a", output_dir="results")
    with pytest.raises(ConfigError, match="execution.output_dir: 'results' must be an absolute path"):
        SlurmExecutor(config, home=tmp_path)


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
