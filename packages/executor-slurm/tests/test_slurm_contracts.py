"""The Slurm executor and its container runtimes against core's contract suites (the fast tier).

The executor runs on the login node (local transport) against a fake Slurm whose sbatch really
runs the scripts on this host, with container_runtime none.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from nel_core.host.processes import signal_group
from nel_core.models.domain import Job
from nel_core.ports.container_runtime import ContainerRuntime
from nel_core.ports.executor import Executor, ExecutorSpec
from nel_core.ports.scheduler import Scheduler
from nel_core.testing.contracts import (
    ContainerRuntimeContract,
    ExecutorContract,
    FaultInjectionContract,
    SchedulerContract,
)
from nel_core.transport import LocalTransport
from nel_executor_slurm.commands import SlurmScheduler
from nel_executor_slurm.runtimes import (
    ApptainerRuntime,
    CharliecloudRuntime,
    DockerCliRuntime,
    NoContainerRuntime,
    PyxisRuntime,
)
from nel_executor_slurm.spec import SPEC


class TestSlurmExecutorContract(ExecutorContract):
    """Whole runs through sbatch scripts on the login node, every task of a run in one Slurm job."""

    @pytest.fixture
    def executor_spec(self) -> ExecutorSpec:
        return SPEC

    @pytest.fixture
    def execution(self, tmp_path: Path, fake_slurm: Path) -> dict[str, Any]:
        return {
            "type": "slurm",
            "hostname": "localhost",
            "account": "nel",
            "output_dir": str(tmp_path / "out"),
            "container_runtime": "none",
            "gres": None,
        }


class TestSlurmExecutorFaultsContract(TestSlurmExecutorContract, FaultInjectionContract):
    """The Slurm executor under crashes, failing stores, full disks and a job that dies with its node.

    A chain of one link (max_walltime = walltime): a job whose node fails is not resumed here, so
    that it ends as the suite expects; resumption is shown on the real cluster.
    """

    @pytest.fixture
    def execution(self, tmp_path: Path, fake_slurm: Path) -> dict[str, Any]:
        return {
            "type": "slurm", "hostname": "localhost", "account": "nel", "output_dir": str(tmp_path / "out"),
            "container_runtime": "none", "gres": None, "walltime": "01:00:00", "max_walltime": "01:00:00",
        }  # fmt: skip

    def kill_supervision(self, executor: Executor, job: Job) -> str:
        """Kill the sbatch job outright, as a node failure does: its script and every process it started."""
        state = Path(os.environ["FAKE_SLURM_STATE"]) / job.handle
        script = (state / "handle").read_text().strip()
        for pid_file in Path(job.job_dir).parent.glob("*/job.pid"):
            signal_group(pid_file.read_text().strip(), signal.SIGKILL)
        signal_group(script.partition("@")[0], signal.SIGKILL)
        return script.partition("@")[0]


class TestSlurmSchedulerContract(SchedulerContract):
    """sbatch, squeue, sacct and scancel of the fake Slurm, on the login node."""

    finds_jobs = True

    @pytest.fixture
    def scheduler(self, fake_slurm: Path) -> Scheduler:
        return SlurmScheduler(LocalTransport())

    def unknown_handle(self) -> str:
        return "999999"


class TestPyxisRuntimeContract(ContainerRuntimeContract):
    """pyxis renders an srun step in an enroot container."""

    @pytest.fixture
    def runtime(self) -> ContainerRuntime:
        return PyxisRuntime()


class TestCharliecloudRuntimeContract(ContainerRuntimeContract):
    """Charliecloud renders ch-run of an image in the user's storage."""

    @pytest.fixture
    def runtime(self) -> ContainerRuntime:
        return CharliecloudRuntime()


class TestApptainerRuntimeContract(ContainerRuntimeContract):
    """Apptainer renders apptainer exec of a docker:// image."""

    @pytest.fixture
    def runtime(self) -> ContainerRuntime:
        return ApptainerRuntime(mount_home=False)


class TestDockerCliRuntimeContract(ContainerRuntimeContract):
    """Docker on the compute node renders docker run --rm."""

    @pytest.fixture
    def runtime(self) -> ContainerRuntime:
        return DockerCliRuntime()


class TestNoContainerRuntimeContract(ContainerRuntimeContract):
    """Without a container the command runs on the node, from its working directory."""

    renders_image = False
    renders_mounts = False

    @pytest.fixture
    def runtime(self) -> ContainerRuntime:
        return NoContainerRuntime()
