"""Plan: a run config becomes jobs (one per task) and the deployment that serves them all."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from nel_core.catalog import Catalog, TaskEntry
from nel_core.deployments.tuning import HostCpus, ServerTuning, tune_deployment
from nel_core.env import merge_env, parse_env_value
from nel_core.errors import ConfigError, NelError, Problems
from nel_core.layout import RUN_CONFIG_PLACEHOLDER
from nel_core.models.config import RunConfig, TaskConfig
from nel_core.models.domain import Endpoint, EndpointSpec, JobSpec, Mount
from nel_core.params import AUTO, check_evaluator_config
from nel_core.ports.endpoint_provider import EndpointProvider
from nel_core.services.merge import deep_merge

__all__ = [
    "ADAPTIVE_HARNESSES",
    "AUTO_MAXIMUM",
    "HARNESS_VERSION",
    "NEL_HARNESS",
    "SELF_CONTAINED_HARNESSES",
    "Plan",
    "auxiliary_env",
    "plan_run",
]

#: The NeMo Evaluator release a plain-process runtime installs (0.2.x breaks offline benchmarks).
HARNESS_VERSION = "nemo-evaluator==0.1.95"
_COMMAND = "nemo-evaluator run_eval --run_config {run_config}"
#: The most requests in flight ``parallelism: auto`` tries when the server's slots are unknown.
AUTO_MAXIMUM = 16
#: The harnesses whose runner adapts its concurrency; others run ``auto`` behind NEL's gate.
ADAPTIVE_HARNESSES = frozenset({"nel_bench"})
#: The package of NEL's own benchmark, which also holds the gate of ``parallelism: auto``.
NEL_HARNESS = "nel-harness"
#: The gate's module (nel-harness): it puts an adaptive limit into the job's adapter chain.
_GATE_MODULE = "core_evals.nel_bench.adaptive"
#: Harnesses that count their requests and cache their answers themselves: nemo-evaluator's
#: adapter proxy (a process started per job, a hop and disk writes per request) is left out
#: for them (its ``client`` mode) unless the config sets an ``adapter_config``.
SELF_CONTAINED_HARNESSES = frozenset({"nel_bench"})


@attrs.frozen(kw_only=True)
class Plan:
    """What a run will do: its jobs and the one deployment (if any) that serves them all."""

    invocation_id: str
    config: RunConfig
    jobs: list[JobSpec]
    endpoint: Endpoint
    endpoint_spec: EndpointSpec | None = None
    #: The server settings chosen from the machine (None: the deployment type has none).
    tuning: ServerTuning | None = None
    #: The auxiliary servers (``auxiliary_deployments``) by name, started beside the deployment.
    auxiliary_specs: dict[str, EndpointSpec] = attrs.Factory(dict)


def plan_run(
    config: RunConfig,
    *,
    catalog: Catalog,
    provider: EndpointProvider,
    invocation_id: str,
    task_filter: Sequence[str] = (),
    cpus: HostCpus | None = None,
    auxiliary_providers: Mapping[str, EndpointProvider] | None = None,
) -> Plan:
    """Turn ``config`` into a :class:`Plan`.

    Every task, harness config, env value and the endpoint are checked before anything fails,
    so that one attempt names every problem.

    Args:
        task_filter: Run only the tasks with these names (as written or qualified).
        cpus: The CPUs of the host the deployment's server runs on, where that is this host:
            unset server settings are chosen from them (the plan's config holds the choice).
        auxiliary_providers: A provider per ``auxiliary_deployments`` entry, from an executor
            that starts them (None: it does not, and any auxiliary deployment is an error).

    Raises:
        ConfigError: on an unknown or ambiguous task, a missing endpoint, a bad harness
            parameter, a bad env value; Problems naming each one when there are several.
    """
    problems: list[NelError] = []
    deployment, tuning = tune_deployment(config.deployment, cpus)
    config = attrs.evolve(config, deployment=deployment)
    tasks = _select(config.evaluation.tasks, task_filter, catalog, problems)
    problems += check_evaluator_config(config.evaluation.nemo_evaluator_config, "evaluation.nemo_evaluator_config")
    for index, task, _ in tasks:
        where = f"evaluation.tasks[{index}].nemo_evaluator_config"
        problems += check_evaluator_config(task.nemo_evaluator_config, where)
    for name, raw in (getattr(config.deployment, "env_vars", None) or {}).items():
        problems += _env_problem(raw, f"deployment.env_vars.{name}")
    endpoint_spec = endpoint = None
    try:
        endpoint_spec = provider.plan(config, config.deployment)
        if endpoint_spec is not None:
            # The server's container (where it has one) says which invocation it serves.
            labels = {**endpoint_spec.labels, "nel.invocation": invocation_id, "nel.role": "deployment"}
            endpoint_spec = attrs.evolve(endpoint_spec, labels=labels)
        endpoint = provider.endpoint(config, endpoint_spec)
    except NelError as exc:
        problems.append(exc)
    auxiliary_specs = _plan_auxiliaries(config, auxiliary_providers, invocation_id, endpoint_spec, problems)
    jobs = []
    for job_index, (index, task, entry) in enumerate(tasks):
        try:
            job = _job_spec(job_index, index, task, entry, config, endpoint, problems, tuning)
        except NelError as exc:
            problems.append(exc)
            continue
        if job is not None:
            jobs.append(attrs.evolve(job, env={**auxiliary_env(auxiliary_specs), **job.env}))
    Problems.raise_any(problems)
    assert endpoint is not None  # else its error was raised just above
    return Plan(
        invocation_id=invocation_id,
        config=config,
        jobs=jobs,
        endpoint=endpoint,
        endpoint_spec=endpoint_spec,
        tuning=tuning,
        auxiliary_specs=auxiliary_specs,
    )


_AUXILIARY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def auxiliary_env(specs: Mapping[str, EndpointSpec]) -> dict[str, str]:
    """What a job learns of the auxiliary servers: ``NEL_AUXILIARY_<NAME>_URL`` (the server's
    base URL on the job's own host) and ``NEL_AUXILIARY_<NAME>_MODEL_ID`` (its served name)."""
    env = {}
    for name, spec in specs.items():
        prefix = f"NEL_AUXILIARY_{name.upper()}"
        env[f"{prefix}_URL"] = f"lit:http://127.0.0.1:{spec.port}"
        env[f"{prefix}_MODEL_ID"] = f"lit:{spec.served_model_name}"
    return env


def _plan_auxiliaries(
    config: RunConfig,
    providers: Mapping[str, EndpointProvider] | None,
    invocation_id: str,
    main: EndpointSpec | None,
    problems: list[NelError],
) -> dict[str, EndpointSpec]:
    """Each auxiliary deployment's server; its problems are added to ``problems``.

    The servers start on the jobs' host beside the deployment, so every port must differ.
    """
    specs: dict[str, EndpointSpec] = {}
    ports = {main.port: "deployment.port"} if main is not None else {}
    for name, deployment in config.auxiliary_deployments.items():
        key = f"auxiliary_deployments.{name}"
        if not _AUXILIARY_NAME.fullmatch(name):
            problems.append(ConfigError(f"{key}: the name must be letters, digits and _ (a variable's name)"))
            continue
        if not deployment.starts_server:
            problems.append(ConfigError(f"{key}.type: '{deployment.type}' is no server to start"))
            continue
        provider = (providers or {}).get(name)
        if provider is None:
            problems.append(
                ConfigError(
                    f"{key}: the {config.execution.type} executor does not start auxiliary servers",
                    hint="run on an executor that does (slurm), or point the task at a running server",
                )
            )
            continue
        for variable, raw in (getattr(deployment, "env_vars", None) or {}).items():
            problems += _env_problem(raw, f"{key}.env_vars.{variable}")
        try:
            spec = provider.plan(config, deployment)
        except NelError as exc:
            problems.append(exc)
            continue
        if spec is None:
            problems.append(ConfigError(f"{key}.type: '{deployment.type}' is no server to start"))
            continue
        if spec.port in ports:
            problems.append(
                ConfigError(
                    f"{key}.port: {spec.port} is {ports[spec.port]} too (the servers share the jobs' host)",
                    hint=f"set {key}.port to another port",
                )
            )
            continue
        ports[spec.port] = f"{key}.port"
        labels = {**spec.labels, "nel.invocation": invocation_id, "nel.role": f"auxiliary.{name}"}
        specs[name] = attrs.evolve(spec, labels=labels)
    return specs


def _select(
    tasks: Sequence[TaskConfig], task_filter: Sequence[str], catalog: Catalog, problems: list[NelError]
) -> list[tuple[int, TaskConfig, TaskEntry]]:
    """The tasks to run, each with its position in the config and its catalog entry.

    A task that cannot be resolved is left out, its problem added to ``problems``.
    """
    if not tasks:
        raise ConfigError("evaluation.tasks: no tasks to run", hint="add '- name: <task>' under evaluation.tasks")
    resolved = []
    for index, task in enumerate(tasks):
        try:
            resolved.append((index, task, _entry(task, catalog)))
        except ConfigError as exc:
            problems.append(ConfigError(f"evaluation.tasks[{index}].name: {exc.message}", hint=exc.hint))
    if not task_filter or len(resolved) < len(tasks):
        return resolved
    wanted = set(task_filter)
    chosen = [
        (index, task, entry)
        for index, task, entry in resolved
        if task.name in wanted or entry.qualified_name in wanted or entry.name in wanted
    ]
    missing = wanted - {n for _, t, e in chosen for n in (t.name, e.qualified_name, e.name)}
    if missing:
        names = ", ".join(sorted(missing))
        raise ConfigError(
            f"-t {names}: not among the config's tasks",
            hint="tasks in the config: " + ", ".join(t.name for _, t, _ in resolved),
        )
    return chosen


def _env_problem(raw: str, key: str) -> list[NelError]:
    try:
        parse_env_value(raw, key=key)
    except ConfigError as exc:
        return [exc]
    return []


def _entry(task: TaskConfig, catalog: Catalog) -> TaskEntry:
    if task.container:
        # A config may name any image and task; the catalog only fills in what it knows.
        known = catalog.find(task.name)
        harness, _, name = task.name.rpartition(".")
        base = known or TaskEntry(harness=harness or "custom", name=name, endpoint_types=["chat", "completions"])
        return attrs.evolve(base, container=task.container)
    return catalog.resolve(task.name)


def _job_spec(
    job_index: int,
    index: int,
    task: TaskConfig,
    entry: TaskEntry,
    config: RunConfig,
    endpoint: Endpoint | None,
    problems: list[NelError],
    tuning: ServerTuning | None = None,
) -> JobSpec | None:
    """The job of the task at ``index`` in the config; env problems are added to ``problems``.

    Returns:
        The job, or None without an endpoint (whose problem was recorded already).

    Raises:
        ConfigError: when the task does not support its endpoint type.
    """
    where = f"evaluation.tasks[{index}]"
    api = config.target.api_endpoint
    endpoint_type = task.endpoint_type or api.type or entry.endpoint_types[0]
    if entry.endpoint_types and endpoint_type not in entry.endpoint_types:
        raise ConfigError(
            f"{where}.endpoint_type: task {entry.qualified_name} does not support '{endpoint_type}'",
            hint="it supports: " + ", ".join(entry.endpoint_types),
        )
    env = merge_env(config.env_vars, config.evaluation.env_vars, task.env_vars, api_key_name=api.api_key_name)
    for name, raw in env.items():
        problems += _env_problem(raw, f"env_vars.{name}")
    if endpoint is None:
        return None
    evaluator = deep_merge(config.evaluation.nemo_evaluator_config, task.nemo_evaluator_config)
    run_config = _run_config(entry, evaluator, endpoint, endpoint_type, api.api_key_name)
    if entry.harness in SELF_CONTAINED_HARNESSES:
        run_config["target"]["api_endpoint"].setdefault("adapter_config", {"mode": "client"})
    gate = _resolve_auto(run_config, entry.harness, tuning.slots if tuning else None)
    mounts = []
    if task.dataset_dir:
        mounts.append(Mount(source=task.dataset_dir, target=task.dataset_mount_path, read_only=True))
    requirements = [HARNESS_VERSION] + ([entry.pip_package] if entry.pip_package else [])
    if gate is not None and NEL_HARNESS not in requirements:
        requirements.append(NEL_HARNESS)
    return JobSpec(
        index=job_index,
        task_name=entry.qualified_name,
        harness=entry.harness,
        image=entry.container,
        command=_COMMAND if gate is None else _gated_command(gate),
        run_config=run_config,
        endpoint_type=endpoint_type,
        env=env,
        pip_requirements=requirements,
        pre_cmd="\n".join(c for c in (config.evaluation.pre_cmd, task.pre_cmd) if c),
        post_cmd="\n".join(c for c in (task.post_cmd, config.evaluation.post_cmd) if c),
        mounts=mounts,
    )


def _resolve_auto(run_config: dict[str, Any], harness: str, slots: int | None) -> int | None:
    """``parallelism: auto`` as the harness reads it: a count every harness accepts.

    That count is the server's parallel slots (``AUTO_MAXIMUM`` when unknown): NEL's own
    runner starts at one request in flight and adapts up to it (``extra.parallelism: auto``);
    another harness sends that many at once into nemo-evaluator's adapter proxy, where NEL's
    gate lets through as many as the server serves best (see :func:`_gated_command`).

    Returns:
        The gate's maximum when the job needs the gate; None otherwise.
    """
    params = run_config["config"].setdefault("params", {})
    if params.get("parallelism") != AUTO:
        return None
    params["parallelism"] = slots or AUTO_MAXIMUM
    if harness in ADAPTIVE_HARNESSES:
        params["extra"] = {**(params.get("extra") or {}), "parallelism": AUTO}
        return None
    return int(params["parallelism"])


def _gated_command(maximum: int) -> str:
    """The harness command behind NEL's gate (nel-harness's ``core_evals.nel_bench.adaptive``).

    Before ``run_eval`` the gate's module rewrites the run config's adapter chain (nemo-evaluator's
    own, with the gate in the place of its ``endpoint`` interceptor; once: a resumed job keeps it).
    Where the harness's environment has no nel-harness (a container image of its own), the job
    says so and runs with ``maximum`` requests in flight throughout.
    """
    found = f"import importlib.util as u, sys; sys.exit(u.find_spec({_GATE_MODULE!r}) is None)"
    missing = (
        f"[nel] parallelism auto: {NEL_HARNESS} is not installed where this harness runs: "
        f"{maximum} requests in flight throughout"
    )
    return (
        f'if python3 -c "{found}" 2>/dev/null; then python3 -m {_GATE_MODULE} {RUN_CONFIG_PLACEHOLDER} '
        f"--maximum {maximum}; else echo {shlex.quote(missing)} >&2; fi; {_COMMAND}"
    )


def _run_config(
    entry: TaskEntry,
    evaluator: dict[str, Any],
    endpoint: Endpoint,
    endpoint_type: str,
    api_key_name: str | None,
) -> dict[str, Any]:
    # The keys and values of ``evaluator`` were checked by plan_run (nel_core.params).
    api_endpoint: dict[str, Any] = {
        "url": endpoint.url_for(endpoint_type),
        "model_id": endpoint.model_id,
        "type": endpoint_type,
    }
    if api_key_name:
        api_endpoint["api_key_name"] = api_key_name
    target = deep_merge({"api_endpoint": api_endpoint}, evaluator.get("target") or {})
    harness_config = deep_merge(
        {"type": entry.qualified_name, "output_dir": "/results", "params": {}},
        evaluator.get("config") or {},
    )
    return {"config": harness_config, "target": target}
