"""Fast tests of the docker runtime: no engine needed (stub clients, nonexistent sockets)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from nel_core.errors import PreflightError
from nel_core.models.domain import ContainerSpec, JobState, Mount
from nel_core.ports.capabilities import Capability
from nel_executor_local.runtimes.docker import DockerRuntime

NO_ENGINE = "unix:///nonexistent/nel-test/docker.sock"


def spec(**changes: Any) -> ContainerSpec:
    values: dict[str, Any] = {
        "image": "local/busybox:latest",
        "command": ["sh", "-c", "echo hi > /results/out.txt"],
        "env_names": ["HF_TOKEN", "ADAPTER_PORT"],
        "mounts": [
            Mount(source="/jobs/j0", target="/job", read_only=True),
            Mount(source="/jobs/j0/artifacts", target="/results"),
        ],
        "labels": {"nel.invocation": "inv1", "nel.job": "inv1.0"},
        "name": "nel-inv1-0",
    }
    values.update(changes)
    return ContainerSpec(**values)


def pairs(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]


def test_name_and_capabilities() -> None:
    """The runtime is called docker and declares that it runs containers directly, with mounts and GPUs."""
    assert DockerRuntime.name == "docker"
    assert DockerRuntime.capabilities == frozenset({Capability.DIRECT_RUN, Capability.MOUNTS, Capability.GPU})


def test_render_starts_with_docker_run_rm_and_ends_with_image_and_command() -> None:
    """render() gives `docker run --rm ... image cmd...` with the command as separate arguments."""
    argv = DockerRuntime().render(spec())
    assert argv[:3] == ["docker", "run", "--rm"]
    assert argv[-4:] == ["local/busybox:latest", "sh", "-c", "echo hi > /results/out.txt"]
    assert pairs(argv, "--name") == ["nel-inv1-0"]
    assert pairs(argv, "--network") == ["host"]


def test_render_labels_and_mounts() -> None:
    """Every label becomes --label k=v; mounts become -v src:dst, with :ro when read-only."""
    argv = DockerRuntime().render(spec())
    assert pairs(argv, "--label") == ["nel.invocation=inv1", "nel.job=inv1.0"]
    assert pairs(argv, "-v") == ["/jobs/j0:/job:ro", "/jobs/j0/artifacts:/results"]


def test_render_passes_env_names_never_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Env vars appear as `-e NAME` only; their values never reach the argv."""
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    argv = DockerRuntime().render(spec())
    assert pairs(argv, "-e") == ["HF_TOKEN", "ADAPTER_PORT"]
    assert not any("hf_secret_value" in a for a in argv)
    assert not any("=" in a for a in pairs(argv, "-e"))


@pytest.mark.parametrize(
    ("gpus", "flag"),
    [(None, None), (0, None), ("all", "all"), (2, "2"), ("1", "1"), ("3", "3"),
     ("0,1", '"device=0,1"'), ("device=2", "device=2")],
)
def test_render_gpu_flags(gpus: int | str | None, flag: str | None) -> None:
    """GPUs render as --gpus all / N / device list, and not at all when none are asked for."""
    argv = DockerRuntime().render(spec(gpus=gpus))
    assert pairs(argv, "--gpus") == ([flag] if flag else [])


def test_render_workdir_and_default_command() -> None:
    """A workdir renders as -w; an empty command leaves the image's own."""
    argv = DockerRuntime().render(spec(workdir="/job", command=[]))
    assert pairs(argv, "-w") == ["/job"]
    assert argv[-1] == "local/busybox:latest"
    assert "-w" not in DockerRuntime().render(spec())


def test_render_targets_the_configured_engine() -> None:
    """With a base_url, the command line names that engine (`docker --host URL run ...`)."""
    argv = DockerRuntime(base_url="unix:///tmp/x/podman.sock").render(spec())
    assert argv[:4] == ["docker", "--host", "unix:///tmp/x/podman.sock", "run"]


def test_import_does_not_import_the_sdk() -> None:
    """Importing the runtime (and container_job) loads no docker SDK and contacts nothing."""
    code = (
        "import sys, nel_executor_local.runtimes.docker, nel_executor_local.container_job;"
        "print('docker' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_ping_names_the_socket_when_nothing_answers() -> None:
    """ping() raises PreflightError with one line naming the socket and the OS's reason."""
    with pytest.raises(PreflightError) as caught:
        DockerRuntime(base_url=NO_ENGINE).ping()
    message = caught.value.message
    assert message == f"no container engine answers at {NO_ENGINE}: No such file or directory"
    assert isinstance(caught.value.__cause__, Exception)


def test_inspect_is_unknown_when_the_engine_is_unreachable() -> None:
    """inspect() of an unreachable engine reports UNKNOWN with the reason, never FAILED."""
    reports = DockerRuntime(base_url=NO_ENGINE).inspect(["abc", "def"])
    assert set(reports) == {"abc", "def"}
    assert all(r.state is JobState.UNKNOWN and NO_ENGINE in r.reason for r in reports.values())


class _StubImages:
    def __init__(self, found: set[str]) -> None:
        self.found = found

    def get(self, name: str) -> object:
        if name not in self.found:
            raise docker.errors.ImageNotFound(f"no such image: {name}")
        return object()


class _StubApi:
    def __init__(self, tags: list[str], states: dict[str, dict[str, Any]]) -> None:
        self.tags = tags
        self.states = states

    def images(self) -> list[dict[str, Any]]:
        return [{"RepoTags": [tag]} for tag in self.tags]

    def inspect_container(self, handle: str) -> dict[str, Any]:
        if handle not in self.states:
            raise docker.errors.NotFound(f"no such container: {handle}")
        return {"State": self.states[handle]}


class _StubClient:
    def __init__(self, tags: list[str] | None = None, states: dict[str, dict[str, Any]] | None = None) -> None:
        self.images = _StubImages(set())
        self.api = _StubApi(tags or [], states or {})


@pytest.mark.parametrize(
    ("listed", "asked", "present"),
    [
        ("localhost/local/busybox:latest", "local/busybox:latest", True),
        ("docker.io/local/busybox:latest", "local/busybox", True),
        ("docker.io/library/python:3.12", "python:3.12", True),
        ("localhost/local/busybox:latest", "localhost/local/busybox", True),
        ("localhost/local/busybox:1", "local/busybox:latest", False),
        ("localhost/other/busybox:latest", "local/busybox:latest", False),
    ],
)
def test_prepare_finds_images_by_prefixed_names(listed: str, asked: str, present: bool) -> None:
    """prepare() accepts short names matching the localhost/ and docker.io/ names Podman gives
    imported images, and refuses a missing image with a PreflightError naming it."""
    runtime = DockerRuntime(base_url=NO_ENGINE)
    runtime._client = _StubClient(tags=[listed])
    if present:
        runtime.prepare(spec(image=asked))
    else:
        with pytest.raises(PreflightError, match=f"image {asked} is not present"):
            runtime.prepare(spec(image=asked))


def test_inspect_maps_container_states() -> None:
    """running -> RUNNING, exit 0 -> SUCCESS, exit N -> FAILED with the code, missing -> gone."""
    runtime = DockerRuntime(base_url=NO_ENGINE)
    runtime._client = _StubClient(states={
        "r": {"Status": "running", "ExitCode": 0},
        "ok": {"Status": "exited", "ExitCode": 0},
        "bad": {"Status": "exited", "ExitCode": 3},
        "new": {"Status": "created", "ExitCode": 0},
        "nostart": {"Status": "created", "ExitCode": 127, "Error": "exec: nope: not found"},
    })
    reports = runtime.inspect(["r", "ok", "bad", "new", "nostart", "missing"])
    assert reports["r"].state is JobState.RUNNING
    assert (reports["ok"].state, reports["ok"].exit_code) == (JobState.SUCCESS, 0)
    assert (reports["bad"].state, reports["bad"].reason, reports["bad"].exit_code) == (
        JobState.FAILED, "container exited with code 3", 3)
    assert reports["new"].state is JobState.PENDING
    assert reports["nostart"].state is JobState.FAILED
    assert reports["nostart"].reason.startswith("container exited with code 127: exec: nope")
    assert (reports["missing"].state, reports["missing"].reason) == (
        JobState.FAILED, "container is gone")


def test_container_job_rejects_a_bad_file(tmp_path: Path) -> None:
    """container_job exits 2 with one line when its container.json cannot be read."""
    bad = tmp_path / "container.json"
    bad.write_text("{not json")
    out = subprocess.run(
        [sys.executable, "-m", "nel_executor_local.container_job", str(bad)],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 2
    assert "cannot read" in out.stderr and "Traceback" not in out.stderr


def test_container_job_without_engine_exits_125(tmp_path: Path) -> None:
    """container_job exits 125 (as `docker run` does) when no engine answers, naming the socket."""
    from nel_core.converter import unstructure

    job = tmp_path / "container.json"
    job.write_text(json.dumps({"docker_host": NO_ENGINE, "spec": unstructure(spec())}))
    out = subprocess.run(
        [sys.executable, "-m", "nel_executor_local.container_job", str(job)],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 125
    assert NO_ENGINE in out.stderr and "Traceback" not in out.stderr
