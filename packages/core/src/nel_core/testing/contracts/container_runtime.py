"""Contract of :class:`~nel_core.ports.ContainerRuntime`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from nel_core.errors import ContainerError
from nel_core.models.domain import ContainerSpec, JobState, Mount, StateReport
from nel_core.ports.capabilities import Capability
from nel_core.ports.container_runtime import ContainerRuntime

__all__ = ["ContainerRuntimeContract"]


class ContainerRuntimeContract:
    """What every container runtime does. Subclass it and provide the ``runtime`` fixture.

    Rendering is checked for every runtime; running, inspecting, finding and stopping only for
    runtimes that declare DIRECT_RUN (the others must refuse them with ContainerError). The
    containers run :attr:`image` with ``sh -c``; a runtime whose containers do not run their
    command (a fake) overrides :meth:`let_exit`.
    """

    #: An image with ``sh`` that the runtime can start without pulling over the internet.
    image = "busybox:latest"
    #: Whether rendered command lines name the image (false for a runtime without containers).
    renders_image = True
    #: Whether rendered command lines name mount sources (false without containers).
    renders_mounts = True
    #: Seconds to wait for a container to change state before the test fails.
    timeout = 60.0
    poll_interval = 0.1

    @pytest.fixture
    def runtime(self) -> ContainerRuntime:
        """Override: the runtime under test."""
        raise NotImplementedError("subclasses provide the 'runtime' fixture")

    @pytest.fixture
    def labels(self, runtime: ContainerRuntime) -> Iterator[dict[str, str]]:
        """Labels unique to one test; its containers are stopped when it ends."""
        labels = {"nel.contract": uuid.uuid4().hex[:12]}
        yield labels
        if Capability.DIRECT_RUN in runtime.capabilities:
            for handle in runtime.find(labels):
                runtime.stop(handle)

    # -------------------------------------------------------------------------------- hooks

    def spec(self, command: str, labels: dict[str, str], tmp_path: Path) -> ContainerSpec:
        """A container running ``sh -c command``, with one mount, one env name and ``labels``."""
        return ContainerSpec(
            image=self.image,
            command=["sh", "-c", command],
            env_names=["NEL_CONTRACT_SECRET"],
            mounts=[Mount(source=str(tmp_path), target="/contract", read_only=True)],
            workdir="/",
            labels=dict(labels),
            network="host",
        )

    def let_exit(self, runtime: ContainerRuntime, handle: str, exit_code: int) -> None:
        """Make a container started with ``exit <exit_code>`` end (default: it ends by itself)."""

    def let_print(self, runtime: ContainerRuntime, handle: str, text: str) -> None:
        """Make a container started with ``echo <text>`` print it (default: it prints by itself)."""

    def unknown_handle(self) -> str:
        """A handle this runtime never issued."""
        return "nel-contract-no-such-container"

    def wait_for(self, runtime: ContainerRuntime, handle: str, *, active: bool) -> StateReport:
        """Poll ``inspect`` until the container is (or is no longer) active."""
        deadline = time.monotonic() + self.timeout
        while True:
            report = runtime.inspect([handle])[handle]
            if report.state.is_active == active:
                return report
            if time.monotonic() > deadline:
                pytest.fail(f"container {handle} still {report} after {self.timeout} s")
            time.sleep(self.poll_interval)

    def _direct(self, runtime: ContainerRuntime) -> None:
        if Capability.DIRECT_RUN not in runtime.capabilities:
            pytest.skip("the runtime does not declare DIRECT_RUN")

    # ---------------------------------------------------------------------- render (all)

    def test_declares_name_and_capabilities(self, runtime: ContainerRuntime) -> None:
        """A runtime has a name and declares its capabilities as Capability values."""
        assert isinstance(runtime.name, str) and runtime.name
        assert all(isinstance(c, Capability) for c in runtime.capabilities)

    def test_render_ends_with_the_command(
        self, runtime: ContainerRuntime, labels: dict[str, str], tmp_path: Path
    ) -> None:
        """The rendered argv is strings and ends with the spec's command, arguments intact."""
        spec = self.spec("echo 'two words' && exit 0", labels, tmp_path)
        argv = runtime.render(spec)
        assert argv and all(isinstance(arg, str) for arg in argv)
        assert argv[-len(spec.command) :] == spec.command

    def test_render_names_image_and_mounts(
        self, runtime: ContainerRuntime, labels: dict[str, str], tmp_path: Path
    ) -> None:
        """The rendered argv names the image and every mount source."""
        argv = runtime.render(self.spec("true", labels, tmp_path))
        if self.renders_image:
            assert any(self.image in arg for arg in argv), argv
        if self.renders_mounts:
            assert any(str(tmp_path) in arg for arg in argv), argv

    def test_render_is_deterministic(
        self, runtime: ContainerRuntime, labels: dict[str, str], tmp_path: Path
    ) -> None:
        """Rendering the same spec twice gives the same argv."""
        spec = self.spec("true", labels, tmp_path)
        assert runtime.render(spec) == runtime.render(spec)

    def test_render_holds_no_env_value(
        self,
        runtime: ContainerRuntime,
        labels: dict[str, str],
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Env variables are passed by name: their values never appear in the argv."""
        monkeypatch.setenv("NEL_CONTRACT_SECRET", "s3cr3t-value-2718")
        argv = runtime.render(self.spec("true", labels, tmp_path))
        assert not any("s3cr3t-value-2718" in arg for arg in argv), argv

    def test_direct_calls_refused_without_direct_run(
        self, runtime: ContainerRuntime, labels: dict[str, str], tmp_path: Path
    ) -> None:
        """A runtime without DIRECT_RUN refuses run/inspect/stop/find with ContainerError."""
        if Capability.DIRECT_RUN in runtime.capabilities:
            pytest.skip("the runtime declares DIRECT_RUN")
        with pytest.raises(ContainerError):
            runtime.run(self.spec("true", labels, tmp_path))
        with pytest.raises(ContainerError):
            runtime.inspect(["x"])
        with pytest.raises(ContainerError):
            runtime.stop("x")
        with pytest.raises(ContainerError):
            runtime.find(labels)
        with pytest.raises(ContainerError):
            runtime.wait("x")
        with pytest.raises(ContainerError):
            list(runtime.logs("x"))

    def test_prepare_twice_is_fine(
        self, runtime: ContainerRuntime, labels: dict[str, str], tmp_path: Path
    ) -> None:
        """prepare() of a spec the runtime can run succeeds, and a second call finds it done."""
        spec = self.spec("true", labels, tmp_path)
        runtime.prepare(spec)
        runtime.prepare(spec)

    # ----------------------------------------------------------------- direct (DIRECT_RUN)

    def test_run_then_stop(
        self, runtime: ContainerRuntime, labels: dict[str, str], tmp_path: Path
    ) -> None:
        """A started container is active and found by its labels; once stopped, neither."""
        self._direct(runtime)
        handle = runtime.run(self.spec("sleep 300", labels, tmp_path))
        assert isinstance(handle, str) and handle
        self.wait_for(runtime, handle, active=True)
        assert handle in runtime.find(labels)
        runtime.stop(handle)
        assert not runtime.inspect([handle])[handle].state.is_active
        assert handle not in runtime.find(labels)
        runtime.stop(handle)  # stopping a gone container is fine

    def test_exit_codes_are_reported(
        self, runtime: ContainerRuntime, labels: dict[str, str], tmp_path: Path
    ) -> None:
        """A container exiting 0 is SUCCESS; one exiting 3 is FAILED with exit code 3."""
        self._direct(runtime)
        ok = runtime.run(self.spec("exit 0", labels, tmp_path))
        bad = runtime.run(self.spec("exit 3", labels, tmp_path))
        self.let_exit(runtime, ok, 0)
        self.let_exit(runtime, bad, 3)
        assert self.wait_for(runtime, ok, active=False).state is JobState.SUCCESS
        report = self.wait_for(runtime, bad, active=False)
        assert (report.state, report.exit_code) == (JobState.FAILED, 3)

    def test_inspect_many_in_one_call(
        self, runtime: ContainerRuntime, labels: dict[str, str], tmp_path: Path
    ) -> None:
        """One inspect() call answers for every handle; a handle never issued is UNKNOWN."""
        self._direct(runtime)
        handles = [runtime.run(self.spec("sleep 300", labels, tmp_path)) for _ in range(3)]
        assert len(set(handles)) == 3
        unknown = self.unknown_handle()
        reports = runtime.inspect([*handles, unknown])
        assert set(reports) == {*handles, unknown}
        assert reports[unknown].state is JobState.UNKNOWN
        assert sorted(runtime.find(labels)) == sorted(handles)

    def test_find_needs_every_label(
        self, runtime: ContainerRuntime, labels: dict[str, str], tmp_path: Path
    ) -> None:
        """find() gives only containers carrying all the labels asked, with those values."""
        self._direct(runtime)
        handle = runtime.run(self.spec("sleep 300", {**labels, "nel.role": "contract"}, tmp_path))
        assert runtime.find({**labels, "nel.role": "contract"}) == [handle]
        assert runtime.find({**labels, "nel.role": "other"}) == []
        assert runtime.find({"nel.contract": "no-such-value"}) == []

    def test_wait_returns_the_exit_code_and_logs_hold_the_output(
        self, runtime: ContainerRuntime, labels: dict[str, str], tmp_path: Path
    ) -> None:
        """wait() blocks until the container ends and gives its exit code; logs() hold its output."""
        self._direct(runtime)
        handle = runtime.run(self.spec("echo nel-contract-output; exit 4", labels, tmp_path))
        self.let_print(runtime, handle, "nel-contract-output\n")
        self.let_exit(runtime, handle, 4)
        assert runtime.wait(handle) == 4
        assert "nel-contract-output" in "".join(runtime.logs(handle))
