"""The Slurm executor against a real cluster: slurmctld, slurmd, slurmdbd (MariaDB), munge, over OpenSSH.

`nel` reaches the login node through a Host alias of an SSH config (key, port, known_hosts), as
root and as an unprivileged user. Jobs run the real nemo-evaluator harness (runtime none, from
the cluster's venv) against the real llama.cpp server that each sbatch job starts itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import REPO, free_port, wait_for

from nel_core.ports.scheduler import Scheduler
from nel_core.testing.contracts import SchedulerContract
from nel_executor_slurm.commands import SlurmScheduler
from nel_ssh import SshTarget, SshTransport

pytestmark = pytest.mark.integration

Nel = Callable[..., subprocess.CompletedProcess[str]]
NEEDED = ("SSH_HOST", "SSH_PORT", "SSH_KEY", "SSH_KNOWN_HOSTS", "SSH_USER_NONROOT", "SLURM_PARTITION",
          "SLURM_ACCOUNT", "CLUSTER_VENV", "GGUF")  # fmt: skip

CONFIG = """
defaults:
  - execution: slurm/default
  - deployment: llama_cpp
  - _self_
execution:
  hostname: nel-test-cluster
  username: {user}
  ssh_config_file: {ssh_config}
  account: {account}
  partition: {partition}
  gres: null
  walltime: "{walltime}"
  max_walltime: "{max_walltime}"
  sbatch_extra_flags: {{}}
  output_dir: {output_dir}
  container_runtime: none
  venv: {venv}
deployment:
  model_path: {gguf}
  port: {port}
evaluation:
  nemo_evaluator_config:
    config:
      params: {{limit_samples: {limit}, parallelism: 1, max_retries: 1, request_timeout: 60, max_new_tokens: 16,
                temperature: 0.0}}
  tasks:
{tasks}
"""


@pytest.fixture(scope="module")
def cluster() -> dict[str, str]:
    """The test cluster's variables (``scripts/infra.sh env slurm sshd``)."""
    values = {name: os.environ.get(f"NEL_TEST_{name}", "") for name in NEEDED}
    if not all(values.values()):
        pytest.skip("no test cluster: run 'scripts/infra.sh start slurm sshd' and eval its env")
    return values


@pytest.fixture
def ssh_config(cluster: dict[str, str], tmp_path: Path) -> Path:
    """An SSH client config whose Host alias ``nel-test-cluster`` is the test login node."""
    path = tmp_path / "ssh_config"
    path.write_text(
        f"Host nel-test-cluster\n  HostName {cluster['SSH_HOST']}\n  Port {cluster['SSH_PORT']}\n"
        f"  IdentityFile {cluster['SSH_KEY']}\n  UserKnownHostsFile {cluster['SSH_KNOWN_HOSTS']}\n"
    )
    return path


def squeue(name: str) -> list[str]:
    """Ids of the jobs in squeue whose name holds ``name`` (an invocation id)."""
    out = subprocess.run(["squeue", "--noheader", "--format=%i %j"], capture_output=True, text=True, check=True)
    return [line.split()[0] for line in out.stdout.splitlines() if name in line]


def sacct(ids: list[str]) -> dict[str, str]:
    """Slurm job id -> state, from the accounting database."""
    out = subprocess.run(
        ["sacct", "--noheader", "--parsable2", "--allocations", "--format=JobID,State", f"--jobs={','.join(ids)}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(line.split("|", 1) for line in out.stdout.splitlines() if "|" in line)


class Cluster:
    """Runs `nel` against the test cluster as one user, with that user's output dir there."""

    def __init__(self, nel: Nel, cluster: dict[str, str], ssh_config: Path, tmp_path: Path, user: str) -> None:
        self.nel, self.env, self.ssh_config, self.tmp_path, self.user = nel, cluster, ssh_config, tmp_path, user
        home = "/tmp" if user == "root" else f"/home/{user}"
        self.output_dir = f"{home}/nel-slurm-test-{uuid.uuid4().hex[:8]}"

    def config(self, tasks: list[str], *, limit: int = 3, walltime: str = "00:10:00", max_walltime: str = "01:00:00",
               **changes: str) -> Path:  # fmt: skip
        listed = "\n".join(f"    - name: {t}\n      endpoint_type: completions" for t in tasks)
        values = {
            "user": self.user, "ssh_config": str(self.ssh_config), "account": self.env["SLURM_ACCOUNT"],
            "partition": self.env["SLURM_PARTITION"], "walltime": walltime, "max_walltime": max_walltime,
            "output_dir": self.output_dir, "venv": self.env["CLUSTER_VENV"], "gguf": self.env["GGUF"],
            "port": str(free_port()), "limit": str(limit), "tasks": listed, **changes,
        }  # fmt: skip
        path = self.tmp_path / f"slurm-{uuid.uuid4().hex[:6]}.yaml"
        path.write_text(CONFIG.format(**values))
        return path

    def run(self, config: Path, *args: str) -> str:
        """Submit; return the invocation id."""
        result = self.nel("run", "--config", str(config), "--json", *args, timeout=1200)
        return str(json.loads(result.stdout)["invocation_id"])

    def jobs(self, invocation: str) -> list[dict[str, object]]:
        return [job for inv in json.loads(self.nel("status", invocation, "--json").stdout) for job in inv["jobs"]]

    def states(self, invocation: str) -> list[str]:
        return [str(job["state"]) for job in self.jobs(invocation)]

    def wait_ended(self, invocation: str, timeout: float = 600) -> list[str]:
        wait_for(lambda: all(s in ("success", "failed", "killed") for s in self.states(invocation)), timeout,
                 f"the jobs of {invocation} to end")  # fmt: skip
        return self.states(invocation)


def slow(config: Path, *, seconds: int) -> Path:
    """``config`` with each task sleeping ``seconds`` first (``evaluation.pre_cmd``)."""
    config.write_text(config.read_text().replace("evaluation:\n", f"evaluation:\n  pre_cmd: sleep {seconds}\n", 1))
    return config


@pytest.fixture(params=["root", "user"])
def on_cluster(request: pytest.FixtureRequest, nel: Nel, cluster: dict[str, str], ssh_config: Path,
               tmp_path: Path) -> Iterator[Cluster]:  # fmt: skip
    """`nel` on the test cluster as root, then as the unprivileged user."""
    user = "root" if request.param == "root" else cluster["SSH_USER_NONROOT"]
    yield Cluster(nel, cluster, ssh_config, tmp_path, user)


@pytest.fixture
def as_root(nel: Nel, cluster: dict[str, str], ssh_config: Path, tmp_path: Path) -> Cluster:
    return Cluster(nel, cluster, ssh_config, tmp_path, "root")


class TestSlurmSchedulerOnTheClusterContract(SchedulerContract):
    """Core's Scheduler suite against the real cluster, over SSH: sbatch, squeue, sacct, scancel."""

    finds_jobs = True
    timeout = 120.0
    poll_interval = 0.5

    @pytest.fixture
    def scheduler(self, cluster: dict[str, str]) -> Iterator[Scheduler]:
        target = SshTarget(
            alias="nel-test-cluster", host=cluster["SSH_HOST"], port=int(cluster["SSH_PORT"]), user="root",
            identity_files=(cluster["SSH_KEY"],), known_hosts=(cluster["SSH_KNOWN_HOSTS"],),
        )  # fmt: skip
        transport = SshTransport(target)
        yield SlurmScheduler(transport)
        transport.close()

    def unknown_handle(self) -> str:
        return "99999999"


def test_submit_status_logs_results_with_one_deployment(on_cluster: Cluster) -> None:
    """Three tasks in one sbatch job: the server starts once, every task succeeds, results come back."""
    invocation = on_cluster.run(on_cluster.config(["nel_bench.capitals", "nel_bench.mini", "nel_bench.capitals"]))
    assert on_cluster.wait_ended(invocation) == ["success"] * 3
    remote = f"{on_cluster.output_dir}/{invocation}"
    deployment_log = Path(f"{remote}/slurm-0-deployment.log").read_text()
    assert deployment_log.count("starting the llama_cpp server") == 1
    owner = int(subprocess.check_output(["id", "-u", on_cluster.user]))
    assert Path(f"{remote}/0-nel_bench.capitals/job.log").stat().st_uid == owner  # the job ran as that user
    info = json.loads(on_cluster.nel("info", invocation, "--json").stdout)
    assert info["cluster_dir"] == remote and info["cluster"] == "nel-test-cluster"
    assert info["jobs"][1]["scores"], "the results came back"
    local = Path(info["output_dir"])
    assert local != Path(remote) and (local / "0-nel_bench.capitals" / "artifacts" / "results.yml").is_file()
    logs = on_cluster.nel("logs", f"{invocation}.1").stdout
    assert "nel_bench" in logs or "nemo_evaluator" in logs
    wait_for(lambda: squeue(invocation) == [], 60, "the sbatch job to end")  # it tears the server down


def test_kill_cancels_a_running_job_and_its_queued_successor(as_root: Cluster) -> None:
    """Kill while the first task runs: every job of the invocation is killed and nothing stays in squeue."""
    invocation = as_root.run(as_root.config(["nel_bench.capitals"] * 4, limit=20))
    wait_for(lambda: "running" in as_root.states(invocation), 300, "a task to run")
    assert len(squeue(invocation)) == 2  # the running link and its pre-queued successor
    as_root.nel("kill", invocation)
    assert set(as_root.states(invocation)) == {"killed"}
    wait_for(lambda: squeue(invocation) == [], 60, "squeue to drop the invocation's jobs")


def test_timeout_resumes_by_itself_and_completes(as_root: Cluster) -> None:
    """A 1-minute walltime that cannot hold the run: the job times out, its successor resumes and completes.

    Each task first sleeps 25 s (``evaluation.pre_cmd``): four of them outlast one link (Slurm
    ends it 60-95 s in) whatever the machine's speed."""
    tasks = ["nel_bench.capitals", "nel_bench.mini"] * 2
    config = slow(as_root.config(tasks, limit=6, walltime="00:01:00", max_walltime="00:06:00"), seconds=25)
    invocation = as_root.run(config)
    assert as_root.wait_ended(invocation, timeout=480) == ["success"] * len(tasks)
    wait_for(lambda: squeue(invocation) == [], 60, "the last link to end")  # it tears the server down
    remote = Path(f"{as_root.output_dir}/{invocation}")
    chain = (remote / "0-nel_bench.capitals" / "slurm.chain").read_text().split()
    states = sacct(chain)
    assert states[chain[0]] == "TIMEOUT" and "COMPLETED" in states.values(), states
    # Each job's handle is the link that ran it to its end: the last tasks ran in a resubmission.
    jobs = as_root.jobs(invocation)
    ran_in = [(remote / Path(str(j["job_dir"])).name / "slurm.id").read_text().strip() for j in jobs]
    assert [j["handle"] for j in jobs] == ran_in
    assert jobs[0]["handle"] == chain[0] and jobs[-1]["handle"] != chain[0]


def test_kill_after_a_resume_cancels_the_newest_link(as_root: Cluster) -> None:
    """Once the chain has moved to a resubmitted job, kill cancels that one and nothing stays queued."""
    invocation = as_root.run(slow(as_root.config(["nel_bench.capitals"] * 6, limit=5, walltime="00:01:00"), seconds=25))
    first = str(as_root.jobs(invocation)[0]["handle"])
    wait_for(lambda: {str(j["handle"]) for j in as_root.jobs(invocation)} != {first}, 300, "a resubmission")
    as_root.nel("kill", invocation)
    states = as_root.states(invocation)
    assert "killed" in states and set(states) <= {"killed", "success"}, states  # tasks done before kill stay done
    wait_for(lambda: squeue(invocation) == [], 60, "squeue to drop the invocation's jobs")


def _restart(component: str) -> None:
    subprocess.run([str(REPO / "scripts" / "infra.sh"), "start", component], check=True, capture_output=True)


def test_status_without_accounting_falls_back_to_scontrol(as_root: Cluster) -> None:
    """With slurmdbd stopped, status still tells a finished run's states (scontrol and the markers)."""
    invocation = as_root.run(as_root.config(["nel_bench.capitals"]))
    wait_for(lambda: squeue(invocation) == [], 300, "the job to leave squeue")
    pid = int(Path("/tmp/nel-infra/slurm/slurmdbd.pid").read_text())
    os.kill(pid, 15)
    try:
        wait_for(lambda: subprocess.run(["sacct", "-n"], capture_output=True).returncode != 0, 30, "sacct to fail")
        jobs = as_root.jobs(invocation)
        assert [j["state"] for j in jobs] == ["success"], jobs
    finally:
        _restart("slurm")


def test_status_with_sshd_stopped_is_unknown_with_the_reason(as_root: Cluster) -> None:
    """An unreachable login node gives UNKNOWN with the SSH error, never FAILED; the run goes on."""
    invocation = as_root.run(as_root.config(["nel_bench.capitals"], limit=10))
    subprocess.run([str(REPO / "scripts" / "infra.sh"), "stop", "sshd"], check=True, capture_output=True)
    try:
        jobs = as_root.jobs(invocation)
        assert {j["state"] for j in jobs} == {"unknown"}
        assert "cannot connect: connection refused" in str(jobs[0]["reason"])
    finally:
        _restart("sshd")
    assert as_root.wait_ended(invocation) == ["success"]


def _recorded(nel: Nel) -> set[str]:
    return {str(run["invocation_id"]) for run in json.loads(nel("ls", "runs", "--json").stdout)}


@pytest.mark.parametrize(
    ("user", "change", "message"),
    [
        ("root", {"partition": "no-such-partition"}, "sbatch: invalid partition specified: no-such-partition"),
        ("root", {"account": "no-such-account"}, "Invalid account or account/partition combination specified"),
        ("user", {"output_dir": "/root/nel-results"}, "/root is not a writable folder"),
    ],
    ids=["partition", "account", "output-dir"],
)
def test_bad_cluster_input_is_refused_and_leaves_nothing(
    nel: Nel, cluster: dict[str, str], ssh_config: Path, tmp_path: Path, user: str, change: dict[str, str],
    message: str,
) -> None:  # fmt: skip
    """sbatch's or the check's own error in one line; nothing recorded, nothing left on the cluster."""
    on = Cluster(nel, cluster, ssh_config, tmp_path, "root" if user == "root" else cluster["SSH_USER_NONROOT"])
    before = _recorded(nel)
    result = nel("run", "--config", str(on.config(["nel_bench.capitals"], **change)), check=False)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) <= 2  # the error and its hint
    assert _recorded(nel) == before
    assert not Path(change.get("output_dir", on.output_dir)).exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("Port", "{free}", "cannot connect: connection refused"),
        ("IdentityFile", "{wrong}", "the server refused the keys offered"),
        ("UserKnownHostsFile", "{empty}", "is not in known_hosts"),
    ],
    ids=["unreachable", "wrong-key", "unknown-host-key"],
)
def test_bad_ssh_setup_is_refused_and_leaves_nothing(
    as_root: Cluster, tmp_path: Path, option: str, value: str, message: str
) -> None:
    """An unreachable host, a wrong key or an unknown host key: a clear error before anything is recorded."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "wrong")], check=True)
    (tmp_path / "empty").write_text("")
    bad = value.format(free=free_port(), wrong=tmp_path / "wrong", empty=tmp_path / "empty")
    lines = [f"  {option} {bad}" if line.strip().startswith(option + " ") else line
             for line in as_root.ssh_config.read_text().splitlines()]  # fmt: skip
    (tmp_path / "bad_config").write_text("\n".join(lines) + "\n")
    before = _recorded(as_root.nel)
    started = time.monotonic()
    config = as_root.config(["nel_bench.capitals"], ssh_config=str(tmp_path / "bad_config"))
    result = as_root.nel("run", "--config", str(config), check=False)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and time.monotonic() - started < 30
    assert _recorded(as_root.nel) == before
    assert not Path(as_root.output_dir).exists()
