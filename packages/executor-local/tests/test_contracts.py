"""Every adapter of nel-executor-local against its port's contract suite (the fast tier).

The docker and podman runtimes need the engines of the test services (``scripts/infra.sh``,
sockets in NEL_TEST_DOCKER_HOST / NEL_TEST_PODMAN_HOST); CI starts them before this tier.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

from nel_core.converter import structure_run_config
from nel_core.deployments import ExternalEndpoint, plan_container_server
from nel_core.models.config import ExecutionConfig, RunConfig
from nel_core.models.domain import ContainerSpec, JobState
from nel_core.ports.container_runtime import ContainerRuntime
from nel_core.ports.endpoint_provider import EndpointProvider
from nel_core.ports.executor import ExecutorSpec
from nel_core.testing import run_config_data
from nel_core.testing.contracts import (
    ContainerRuntimeContract,
    EndpointProviderContract,
    ExecutorContract,
    FaultInjectionContract,
)
from nel_executor_local.runtimes.docker import DockerRuntime, PodmanRuntime
from nel_executor_local.runtimes.process import ProcessRuntime
from nel_executor_local.server import LocalServer
from nel_executor_local.spec import SPEC


class _LocalExecution:
    """The local executor with the process runtime: a detached supervisor per invocation."""

    @pytest.fixture
    def executor_spec(self, home: Path, monkeypatch: pytest.MonkeyPatch) -> ExecutorSpec:
        monkeypatch.setenv("NEL_HOME", str(home))  # the detached supervisor's home too
        return SPEC

    @pytest.fixture
    def execution(self, tmp_path: Path) -> dict[str, Any]:
        return {
            "type": "local",
            "output_dir": str(tmp_path / "out"),
            "runtime": "process",
            "mode": "parallel",
            "max_parallel": 2,
        }


class TestProcessRuntimeContract(ContainerRuntimeContract):
    """No container: the command on the host (rendering only; no DIRECT_RUN)."""

    renders_image = False
    renders_mounts = False

    @pytest.fixture
    def runtime(self, tmp_path: Path) -> ContainerRuntime:
        return ProcessRuntime(tmp_path / "home")


class TestDockerRuntimeContract(ContainerRuntimeContract):
    """The docker and podman runtimes against their engines of the test services."""

    image = "local/busybox:latest"

    @pytest.fixture
    def runtime(self, engine: str, request: pytest.FixtureRequest) -> ContainerRuntime:
        """The engine's own runtime class; a 1 s stop timeout keeps the suite's cleanup quick."""
        runtime_class = PodmanRuntime if request.node.callspec.params["engine"] == "podman" else DockerRuntime
        return runtime_class(base_url=engine, stop_timeout=1)

    def test_inspect_many_in_one_call(
        self, runtime: ContainerRuntime, labels: dict[str, str], tmp_path: Path
    ) -> None:
        """One inspect() answers for every handle; an id the engine lacks is FAILED, gone.

        Overrides the suite, which wants UNKNOWN for a never-issued handle: an engine cannot
        tell a never-issued id from a removed container, and this runtime reports the latter
        as FAILED "container is gone" (UNKNOWN is kept for an engine that does not answer).
        """
        handles = [runtime.run(self.spec("sleep 300", labels, tmp_path)) for _ in range(3)]
        unknown = self.unknown_handle()
        reports = runtime.inspect([*handles, unknown])
        assert all(reports[h].state.is_active for h in handles)
        assert (reports[unknown].state, reports[unknown].reason) == (JobState.FAILED, "container is gone")
        assert sorted(runtime.find(labels)) == sorted(handles)


def test_podman_runtime_renders_the_podman_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a socket given, the podman runtime's command line talks to Podman's, not Docker's."""
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    argv = PodmanRuntime().render(ContainerSpec(image="busybox", command=["true"]))
    assert argv[:3] == ["docker", "--host", "unix:///run/podman/podman.sock"]


class TestExternalEndpointContract(EndpointProviderContract):  # core's, as this executor uses it
    """``deployment: none``: the target URL as written."""

    @pytest.fixture
    def provider(self) -> EndpointProvider:
        return ExternalEndpoint()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TestLocalServerContract(EndpointProviderContract):
    """A generic deployment on this host: Python's own HTTP server as the model server."""

    ready_timeout = 30.0

    @pytest.fixture
    def provider(self, tmp_path: Path) -> EndpointProvider:
        home = tmp_path / "home"
        return LocalServer(
            plan_container_server,
            host=ProcessRuntime(home),
            containers=DockerRuntime(),
            readiness_timeout=self.ready_timeout,
        )

    def config(self, tmp_path: Path) -> RunConfig:
        deployment = {
            "type": "generic",
            "image": None,
            "command": f"{sys.executable} -m http.server {_free_port()} --bind 127.0.0.1",
            "served_model_name": "contract-model",
            "endpoints": {"chat": "/v1/chat/completions", "completions": "/v1/completions", "health": "/"},
        }
        data = run_config_data(tmp_path / "out", executor="local", deployment=deployment)
        config = structure_run_config(data, ExecutionConfig)
        port = int(str(deployment["command"]).split()[-3])
        return attrs.evolve(config, deployment=attrs.evolve(config.deployment, port=port))


class TestLocalExecutorContract(_LocalExecution, ExecutorContract):
    """The local executor against the Executor contract."""


class TestLocalExecutorFaultsContract(_LocalExecution, FaultInjectionContract):
    """The local executor under crashes, failing stores and a supervisor killed outright."""
