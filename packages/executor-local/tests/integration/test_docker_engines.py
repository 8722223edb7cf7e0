"""The docker runtime and container_job against real engines: Docker Engine and Podman.

Each engine is a parameter, enabled by its socket in an environment variable::

    NEL_TEST_DOCKER_HOST=unix:///tmp/nel-infra/docker.sock \\
    NEL_TEST_PODMAN_HOST=unix:///tmp/nel-infra/podman.sock \\
    pytest -m integration packages/executor-local/tests/integration

Images are never pulled: ``local/busybox:latest`` is imported from the host's static busybox
when the engine does not have it. Containers use host networking (no bridge exists here).
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nel_core.converter import unstructure
from nel_core.errors import ContainerError, PreflightError
from nel_core.models.domain import ContainerSpec, JobState, Mount
from nel_executor_local.runtimes.docker import DockerRuntime

pytestmark = pytest.mark.integration

IMAGE = "local/busybox:latest"
TEST_LABEL = "nel.test"

@pytest.fixture
def labels(engine: str) -> Iterator[dict[str, str]]:
    """Labels unique to this test; every container carrying them is removed afterwards."""
    mine = {TEST_LABEL: uuid.uuid4().hex}
    yield mine
    client = DockerRuntime(base_url=engine)._connect()
    for entry in client.api.containers(all=True, filters={"label": f"{TEST_LABEL}={mine[TEST_LABEL]}"}):
        client.api.remove_container(entry["Id"], force=True)


@pytest.fixture
def runtime(engine: str) -> DockerRuntime:
    """The runtime under test, with a short stop timeout to keep the suite quick."""
    return DockerRuntime(base_url=engine, stop_timeout=2)


def leftovers(engine: str, labels: dict[str, str]) -> list[dict[str, Any]]:
    """Containers with ``labels`` as the SDK sees them, stopped ones included."""
    client = DockerRuntime(base_url=engine)._connect()
    return client.api.containers(all=True, filters={"label": [f"{k}={v}" for k, v in labels.items()]})


def busybox(labels: dict[str, str], script: str, **changes: Any) -> ContainerSpec:
    values: dict[str, Any] = {
        "image": IMAGE,
        "command": ["sh", "-c", script],
        "labels": labels,
        "name": f"nel-test-{labels[TEST_LABEL][:12]}-{uuid.uuid4().hex[:6]}",
    }
    values.update(changes)
    return ContainerSpec(**values)


@pytest.fixture
def host_server() -> Iterator[int]:
    """An HTTP server on the host's 127.0.0.1 (only host networking reaches it); its port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"hello-from-host\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_ping_and_image_names(runtime: DockerRuntime) -> None:
    """The engine answers, and local/busybox is found by short, untagged and prefixed names."""
    runtime.ping()
    for name in (IMAGE, "local/busybox", "localhost/local/busybox:latest"):
        runtime.prepare(ContainerSpec(image=name, command=["true"]))
    with pytest.raises(PreflightError, match="is not present"):
        runtime.prepare(ContainerSpec(image=f"local/never-built-{uuid.uuid4().hex[:8]}:1", command=["true"]))


def test_run_reads_a_bind_mount_writes_results_and_reaches_the_host(
    runtime: DockerRuntime, labels: dict[str, str], host_server: int, tmp_path: Path
) -> None:
    """A container on the host network reads a read-only mount, gets env values, writes /results."""
    data, results = tmp_path / "data", tmp_path / "results"
    data.mkdir()
    results.mkdir()
    (data / "in.txt").write_text("bindmount-data\n")
    script = (
        f"wget -q -O /results/net.txt http://127.0.0.1:{host_server}/ && "
        "cat /data/in.txt > /results/copy.txt && "
        'echo "${NEL_TEST_VALUE:-unset} ${NEL_TEST_ABSENT:-unset}" > /results/env.txt && '
        "(touch /data/written 2>/dev/null && echo writable || echo read-only) > /results/ro.txt"
    )
    spec = busybox(
        labels, script, env_names=["NEL_TEST_VALUE", "NEL_TEST_ABSENT"], workdir="/results",
        mounts=[Mount(source=str(data), target="/data", read_only=True),
                Mount(source=str(results), target="/results")],
    )
    handle = runtime.run(spec, environment={"NEL_TEST_VALUE": "from-environment"})
    assert runtime.wait(handle) == 0, "".join(runtime.logs(handle))
    assert (results / "net.txt").read_text() == "hello-from-host\n"
    assert (results / "copy.txt").read_text() == "bindmount-data\n"
    assert (results / "env.txt").read_text() == "from-environment unset\n"
    assert (results / "ro.txt").read_text() == "read-only\n"
    assert not (data / "written").exists()
    assert runtime.inspect([handle])[handle].state is JobState.SUCCESS


@pytest.mark.parametrize("code", [0, 1, 7])
def test_exit_codes_and_logs(runtime: DockerRuntime, labels: dict[str, str], code: int) -> None:
    """wait() returns the exit code; inspect() says SUCCESS or FAILED with the code; logs are kept."""
    handle = runtime.run(busybox(labels, f"echo out-{code}; echo err-{code} >&2; exit {code}"))
    assert runtime.wait(handle) == code
    report = runtime.inspect([handle])[handle]
    assert report.exit_code == code
    if code == 0:
        assert report.state is JobState.SUCCESS
    else:
        assert (report.state, report.reason) == (JobState.FAILED, f"container exited with code {code}")
    output = "".join(runtime.logs(handle))
    assert f"out-{code}" in output and f"err-{code}" in output


def test_find_matches_all_labels_including_stopped(runtime: DockerRuntime, labels: dict[str, str]) -> None:
    """find() returns the containers carrying every given label, exited ones too."""
    both = runtime.run(busybox({**labels, "nel.job": "a"}, "true"))
    other = runtime.run(busybox({**labels, "nel.job": "b"}, "sleep 300"))
    runtime.wait(both)
    assert sorted(runtime.find(labels)) == sorted([both, other])
    assert runtime.find({**labels, "nel.job": "a"}) == [both]
    assert runtime.find({**labels, "nel.job": "zzz"}) == []
    runtime.stop(other)


def test_stop_of_a_long_running_container_leaves_nothing(
    runtime: DockerRuntime, labels: dict[str, str]
) -> None:
    """stop() ends a running `sleep 300` and removes it; stopping it again is fine."""
    handle = runtime.run(busybox(labels, "sleep 300"))
    assert runtime.inspect([handle])[handle].state is JobState.RUNNING
    runtime.stop(handle)
    assert runtime.find(labels) == []
    assert leftovers(runtime.url, labels) == []
    report = runtime.inspect([handle])[handle]
    assert (report.state, report.reason) == (JobState.FAILED, "container is gone")
    runtime.stop(handle)


def test_missing_image_is_an_error_not_a_pull(runtime: DockerRuntime, labels: dict[str, str]) -> None:
    """run() of an image the engine lacks raises ContainerError at once and leaves no container."""
    with pytest.raises(ContainerError, match="is not present"):
        runtime.run(busybox(labels, "true", image=f"local/never-built-{uuid.uuid4().hex[:8]}:1"))
    assert leftovers(runtime.url, labels) == []


def test_failed_start_leaves_no_container(runtime: DockerRuntime, labels: dict[str, str]) -> None:
    """run() of a command that cannot start raises ContainerError and removes what it created."""
    with pytest.raises(ContainerError, match="cannot start"):
        runtime.run(busybox(labels, "", command=["/no/such/program"]))
    assert leftovers(runtime.url, labels) == []


def _container_json(engine: str, spec: ContainerSpec, job_dir: Path) -> Path:
    path = job_dir / "container.json"
    path.write_text(json.dumps({"docker_host": engine, "spec": unstructure(spec)}))
    return path


def _container_job(path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "NEL_TEST_VALUE": "job-env-value"}
    return subprocess.Popen(
        [sys.executable, "-m", "nel_executor_local.container_job", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def test_container_job_writes_results_and_exits_with_the_code(
    engine: str, labels: dict[str, str], tmp_path: Path
) -> None:
    """container_job streams the logs, passes env values, writes results and exits with the code."""
    results = tmp_path / "artifacts"
    results.mkdir()
    script = 'echo line-one; echo "$NEL_TEST_VALUE" > /results/env.txt; echo done > /results/out.txt; exit 3'
    spec = busybox(labels, script, env_names=["NEL_TEST_VALUE"],
                   mounts=[Mount(source=str(results), target="/results")])
    job = _container_job(_container_json(engine, spec, tmp_path))
    stdout, stderr = job.communicate(timeout=120)
    assert job.returncode == 3, stderr
    assert "line-one" in stdout
    assert (results / "out.txt").read_text() == "done\n"
    assert (results / "env.txt").read_text() == "job-env-value\n"
    assert leftovers(engine, labels) == []


def test_container_job_sigterm_stops_and_removes_the_container(
    engine: str, labels: dict[str, str], tmp_path: Path
) -> None:
    """SIGTERM to container_job stops and removes its running container, then it exits 143."""
    job = _container_job(_container_json(engine, busybox(labels, "echo started; sleep 300"), tmp_path))
    assert job.stdout is not None
    assert job.stdout.readline().strip() == "started"  # logs arrive while the container runs
    assert len(leftovers(engine, labels)) == 1
    job.send_signal(signal.SIGTERM)
    job.wait(timeout=60)
    assert job.returncode == 143
    assert leftovers(engine, labels) == []
