"""The ``docker`` runtime: Docker Engine, or Podman's Docker-compatible socket, via the docker SDK.

The SDK is imported and its client created on first use, never at import time. Containers
run detached with host networking, so that they reach servers on the host's 127.0.0.1; images
are never pulled (a missing image is an error).
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from nel_core.errors import ContainerError, PreflightError
from nel_core.models.domain import ContainerSpec, JobState, StateReport
from nel_core.ports.capabilities import Capability
from nel_core.ports.container_runtime import ContainerRuntime

__all__ = ["DockerRuntime", "PodmanRuntime"]

_DEFAULT_HOST = "unix:///var/run/docker.sock"
# Registry prefixes an engine may put before an image's short name: Podman names images
# imported through its own CLI ``localhost/...`` and through the compat API ``docker.io/...``.
_IMPLICIT_PREFIXES = ("localhost/", "docker.io/library/", "docker.io/", "library/")


def _why(exc: BaseException) -> str:
    """One line saying why a call failed: the engine's explanation, else the innermost OS error."""
    explanation = getattr(exc, "explanation", None)
    if explanation:
        return str(explanation).strip().splitlines()[0]
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        nested = [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
        current = current.__cause__ or current.__context__ or (nested[0] if nested else None)
    # requests' errors are OSErrors too; the builtin one at the bottom says it plainly.
    builtin = [e for e in chain if isinstance(e, OSError) and type(e).__module__ == "builtins"]
    if builtin:
        return builtin[-1].strerror or str(builtin[-1]) or type(builtin[-1]).__name__
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _normalize(reference: str) -> str:
    """An image reference without implicit registry prefixes, with ``:latest`` when untagged."""
    name = reference
    for prefix in _IMPLICIT_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    if "@" not in name and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name


def _state(attrs: Mapping[str, Any]) -> StateReport:
    """A container's state as a job state."""
    state = attrs.get("State") or {}
    status = str(state.get("Status", "")).lower()
    code = int(state.get("ExitCode") or 0)
    error = str(state.get("Error") or "").strip()
    if status in ("running", "paused", "restarting"):
        return StateReport(state=JobState.RUNNING)
    if status == "created" and not error and code == 0:
        return StateReport(state=JobState.PENDING)
    if status in ("exited", "dead", "created", "stopped"):
        if code == 0 and not error:
            return StateReport(state=JobState.SUCCESS, exit_code=0)
        reason = f"container exited with code {code}"
        if state.get("OOMKilled"):
            reason += " (out of memory)"
        elif error:
            reason += f": {error.splitlines()[0]}"
        return StateReport(state=JobState.FAILED, reason=reason, exit_code=code)
    return StateReport(state=JobState.UNKNOWN, reason=f"container is in state '{status}'")


class DockerRuntime(ContainerRuntime):
    """Runs containers on a Docker Engine or on Podman's Docker-compatible socket.

    Args:
        base_url: The engine's socket, e.g. ``unix:///run/podman/podman.sock``; default:
            ``DOCKER_HOST``, else the engine's default socket.
        stop_timeout: Seconds :meth:`stop` gives a container between SIGTERM and SIGKILL.
        timeout: Seconds any single API call may take (log streams and waits excepted).
    """

    name: ClassVar[str] = "docker"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.DIRECT_RUN, Capability.MOUNTS, Capability.GPU}
    )
    #: The socket used when neither ``base_url`` nor ``DOCKER_HOST`` names one.
    default_host: ClassVar[str] = _DEFAULT_HOST

    def __init__(self, base_url: str | None = None, *, stop_timeout: int = 5, timeout: int = 30) -> None:
        self.base_url = base_url
        self.stop_timeout = stop_timeout
        self.timeout = timeout
        self._client: Any = None

    @property
    def url(self) -> str:
        """The socket this runtime talks to."""
        return self.base_url or os.environ.get("DOCKER_HOST") or self.default_host

    # ------------------------------------------------------------------ the shell face

    def render(self, spec: ContainerSpec) -> list[str]:
        """``docker [--host URL] run --rm ...`` for ``spec``: env by name only, never values."""
        host = self.base_url or (None if os.environ.get("DOCKER_HOST") else self._implicit_host())
        argv = ["docker", *(["--host", host] if host else []), "run", "--rm"]
        if spec.name:
            argv += ["--name", spec.name]
        for key, value in spec.labels.items():
            argv += ["--label", f"{key}={value}"]
        if spec.network:
            argv += ["--network", spec.network]
        for mount in spec.mounts:
            argv += ["-v", f"{mount.source}:{mount.target}" + (":ro" if mount.read_only else "")]
        for env_name in spec.env_names:
            argv += ["-e", env_name]
        gpus = self._gpus_flag(spec.gpus)
        if gpus:
            argv += ["--gpus", gpus]
        if spec.workdir:
            argv += ["-w", spec.workdir]
        return [*argv, *spec.extra_args, spec.image, *spec.command]

    def _implicit_host(self) -> str | None:
        """The socket to name on a command line when nothing else names one (the CLI's own default: none)."""
        return None if self.default_host == _DEFAULT_HOST else self.default_host

    @staticmethod
    def _gpus_flag(gpus: int | str | None) -> str | None:
        if gpus is None or gpus == 0 or gpus == "":
            return None
        text = str(gpus)
        if text == "all" or text.isdigit():
            return text
        devices = text.removeprefix("device=")
        # The CLI parses --gpus as CSV: a list of devices must be quoted inside the value.
        return f'"device={devices}"' if "," in devices else f"device={devices}"

    @staticmethod
    def _device_request(gpus: str) -> Any:
        from docker.types import DeviceRequest

        if gpus == "all" or gpus.isdigit():
            return DeviceRequest(count=-1 if gpus == "all" else int(gpus), capabilities=[["gpu"]])
        devices = gpus.strip('"').removeprefix("device=").split(",")
        return DeviceRequest(device_ids=devices, capabilities=[["gpu"]])

    # ------------------------------------------------------------------ the API face

    def _connect(self) -> Any:
        if self._client is None:
            import docker

            try:
                if self.base_url or not os.environ.get("DOCKER_HOST"):
                    self._client = docker.DockerClient(base_url=self.url, timeout=self.timeout)
                else:
                    self._client = docker.from_env(timeout=self.timeout)
            except Exception as exc:  # the SDK raises DockerException or requests' errors
                raise ContainerError(f"no container engine answers at {self.url}: {_why(exc)}") from exc
        return self._client

    def _fail(self, what: str, exc: Exception) -> ContainerError:
        return ContainerError(f"{what} on {self.url}: {_why(exc)}")

    def ping(self) -> None:
        """Check that an engine answers at the socket.

        Raises:
            PreflightError: naming the socket and why it does not answer.
        """
        hint = "start Docker or `podman system service`, or set execution.docker_host / DOCKER_HOST"
        try:
            self._connect().ping()
        except ContainerError as exc:
            raise PreflightError(exc.message, hint=hint) from exc
        except Exception as exc:  # the SDK raises its APIError or requests' errors
            raise PreflightError(f"no container engine answers at {self.url}: {_why(exc)}", hint=hint) from exc

    def prepare(self, spec: ContainerSpec) -> None:
        """Check that the spec's image is on the engine (it is never pulled).

        Raises:
            PreflightError: when the image is missing or the engine cannot be asked.
        """
        try:
            present = self._image_present(spec.image)
        except ContainerError as exc:
            raise PreflightError(exc.message, hint=exc.hint) from exc
        if not present:
            raise PreflightError(
                f"image {spec.image} is not present on {self.url}",
                hint="build or pull it first, or set execution.runtime=process",
            )

    def _image_present(self, image: str) -> bool:
        """Whether ``image`` is on the engine (never pulls); short names match prefixed ones.

        Raises:
            ContainerError: when the engine cannot be asked.
        """
        import docker.errors

        client = self._connect()
        try:
            client.images.get(image)
            return True
        except docker.errors.ImageNotFound:
            pass
        except Exception as exc:
            raise self._fail(f"cannot look up image {image}", exc) from exc
        wanted = _normalize(image)
        try:
            listed = client.api.images()
        except Exception as exc:
            raise self._fail("cannot list images", exc) from exc
        return any(_normalize(tag) == wanted for entry in listed for tag in entry.get("RepoTags") or ())

    def run(self, spec: ContainerSpec, environment: Mapping[str, str] | None = None) -> str:
        """Create and start ``spec`` detached; return the container's id.

        Env values come from ``environment`` (default: this process's environment) for each
        of ``spec.env_names``; a name without a value is left unset, as ``docker run -e`` does.

        Raises:
            ContainerError: when the image is missing (it is never pulled) or the engine refuses.
        """
        import docker.errors

        if spec.extra_args:
            raise ContainerError(
                "extra docker arguments (execution.extra_docker_args) need the docker command line",
                hint="run the spec with render() instead",
            )
        source = os.environ if environment is None else environment
        options: dict[str, Any] = {
            "command": list(spec.command) or None,
            "name": spec.name,
            "labels": dict(spec.labels),
            "network_mode": spec.network or None,
            "volumes": [f"{m.source}:{m.target}:{'ro' if m.read_only else 'rw'}" for m in spec.mounts],
            "environment": {n: source[n] for n in spec.env_names if n in source},
            "working_dir": spec.workdir,
            "detach": True,
        }
        gpus = self._gpus_flag(spec.gpus)
        if gpus:
            options["device_requests"] = [self._device_request(gpus)]
        client = self._connect()
        try:
            # create + start, not containers.run(): run() pulls an image it does not find.
            container = client.containers.create(spec.image, **options)
        except docker.errors.ImageNotFound as exc:
            raise ContainerError(
                f"image {spec.image} is not present on {self.url}",
                hint="build or import it first; NEL never pulls images",
            ) from exc
        except Exception as exc:
            raise self._fail(f"cannot create a container of {spec.image}", exc) from exc
        try:
            container.start()
        except Exception as exc:
            self._remove(container.id)
            raise self._fail(f"cannot start a container of {spec.image}", exc) from exc
        return str(container.id)

    def inspect(self, handles: Sequence[str]) -> dict[str, StateReport]:
        """States of the containers; UNKNOWN (with the reason) when the engine cannot be asked."""
        import docker.errors

        try:
            client = self._connect()
        except ContainerError as exc:
            return {h: StateReport(state=JobState.UNKNOWN, reason=exc.message) for h in handles}
        reports: dict[str, StateReport] = {}
        for handle in handles:
            try:
                reports[handle] = _state(client.api.inspect_container(handle))
            except docker.errors.NotFound:
                reports[handle] = StateReport(state=JobState.FAILED, reason="container is gone")
            except Exception as exc:
                reason = f"cannot inspect the container on {self.url}: {_why(exc)}"
                reports[handle] = StateReport(state=JobState.UNKNOWN, reason=reason)
        return reports

    def wait(self, handle: str) -> int:
        """Block until the container ends; return its exit code.

        Raises:
            ContainerError: when the container is gone or the engine fails.
        """
        client = self._connect()
        try:
            result = client.api.wait(handle)
        except Exception as exc:
            raise self._fail(f"cannot wait for container {handle[:12]}", exc) from exc
        return int(result.get("StatusCode", 1))

    def stop(self, handle: str) -> None:
        """Stop the container (SIGTERM, SIGKILL after ``stop_timeout``) and remove it; gone is fine.

        Raises:
            ContainerError: when the engine fails.
        """
        import docker.errors

        client = self._connect()
        try:
            client.api.stop(handle, timeout=self.stop_timeout)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            if not self._benign(exc):
                raise self._fail(f"cannot stop container {handle[:12]}", exc) from exc
        except Exception as exc:
            raise self._fail(f"cannot stop container {handle[:12]}", exc) from exc
        self._remove(handle, strict=True)

    def _remove(self, handle: str, *, strict: bool = False) -> None:
        import docker.errors

        try:
            self._connect().api.remove_container(handle, force=True)
        except docker.errors.NotFound:
            pass
        except Exception as exc:
            if strict and not (isinstance(exc, docker.errors.APIError) and self._benign(exc)):
                raise self._fail(f"cannot remove container {handle[:12]}", exc) from exc

    @staticmethod
    def _benign(exc: Any) -> bool:
        # The engine already removing the container is what we wanted.
        text = str(getattr(exc, "explanation", "") or exc).lower()
        return exc.status_code == 404 or (exc.status_code == 409 and "in progress" in text)

    def find(self, labels: Mapping[str, str]) -> list[str]:
        """Ids of all containers (stopped ones too) that carry all ``labels``.

        Raises:
            ContainerError: when the engine cannot be asked.
        """
        client = self._connect()
        wanted = {str(k): str(v) for k, v in labels.items()}
        filters = {"label": [f"{k}={v}" for k, v in wanted.items()]} if wanted else None
        try:
            listed = client.api.containers(all=True, filters=filters)
        except Exception as exc:
            raise self._fail("cannot list containers", exc) from exc
        # Checked here too: engines have differed on whether several label filters AND or OR.
        return [
            str(entry["Id"])
            for entry in listed
            if all((entry.get("Labels") or {}).get(k) == v for k, v in wanted.items())
        ]

    def logs(self, handle: str, *, follow: bool = False) -> Iterator[str]:
        """The container's output (stdout and stderr), as it comes when ``follow``.

        Raises:
            ContainerError: when the container is gone or the engine fails.
        """
        client = self._connect()
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            for chunk in client.api.logs(handle, stdout=True, stderr=True, stream=True, follow=follow):
                text = decoder.decode(chunk)
                if text:
                    yield text
        except Exception as exc:
            raise self._fail(f"cannot read the logs of container {handle[:12]}", exc) from exc
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail


class PodmanRuntime(DockerRuntime):
    """Podman through its Docker-compatible socket (``podman system service``)."""

    name: ClassVar[str] = "podman"
    default_host: ClassVar[str] = "unix:///run/podman/podman.sock"
