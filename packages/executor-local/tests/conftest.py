"""Fixtures of the local executor's tests: the container engines of the test services."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile

import pytest

from nel_core.errors import PreflightError
from nel_core.models.domain import ContainerSpec
from nel_executor_local.runtimes.docker import DockerRuntime

#: Engine name -> the variable holding its socket (set by `scripts/infra.sh env`).
ENGINES = {"docker": "NEL_TEST_DOCKER_HOST", "podman": "NEL_TEST_PODMAN_HOST"}
IMAGE = "local/busybox:latest"


def _busybox_rootfs_tar() -> bytes:
    """A rootfs with the host's static busybox and every applet linked (about 2 MB)."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(busybox):
        pytest.skip("local/busybox:latest is missing and no static busybox is here to build it")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for folder, mode in (("bin", 0o755), ("etc", 0o755), ("tmp", 0o1777), ("root", 0o700)):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for applet in applets.stdout.split():
            if applet != "busybox":
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type, link.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(link)
        passwd = b"root:x:0:0:root:/root:/bin/sh\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(passwd)
        tar.addfile(info, io.BytesIO(passwd))
    return buffer.getvalue()


@pytest.fixture(scope="module", params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest) -> str:
    """The socket of one engine, with local/busybox:latest on it."""
    variable = ENGINES[request.param]
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set: no {request.param} socket to test against")
    runtime = DockerRuntime(base_url=url)
    runtime.ping()
    try:
        runtime.prepare(ContainerSpec(image=IMAGE, command=["true"]))
    except PreflightError:
        client = runtime._connect()
        client.api.import_image_from_data(
            _busybox_rootfs_tar(), repository=IMAGE.split(":")[0], tag="latest",
            changes=['CMD ["sh"]'],
        )
        runtime.prepare(ContainerSpec(image=IMAGE, command=["true"]))
    return url


