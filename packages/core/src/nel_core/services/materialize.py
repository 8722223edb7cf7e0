"""Materialize: each job's directory with its script, run config, outcome settings and secrets file.

Secrets never reach a script: every env value of a job goes into ``secrets.env`` (mode 0600),
which the job's script sources. A dry run materializes with every value redacted.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from nel_core.converter import unstructure
from nel_core.env import parse_env_value, resolve_env, unset_variables
from nel_core.errors import ConfigError, NelError, Problems
from nel_core.layout import ARTIFACTS_DIR, CONFIG_FILE, OUTCOME_FILE, RUN_CONFIG_FILE, RUN_SCRIPT, SECRETS_FILE
from nel_core.models.domain import JobSpec
from nel_core.ports.executor import Executor
from nel_core.ports.scheduler import RenderedJob
from nel_core.services.crash import crash_point
from nel_core.services.ids import job_id
from nel_core.services.merge import deep_merge
from nel_core.services.plan import Plan
from nel_core.services.redact import redacted_config
from nel_core.yaml_io import dump

__all__ = [
    "DEPLOYMENT_SECRETS_FILE",
    "REDACTED",
    "SECRETS_FILE",
    "RenderedFile",
    "job_dir_name",
    "materialize",
    "partial_dir",
    "render_files",
    "secrets_text",
    "unset_problems",
]

DEPLOYMENT_SECRETS_FILE = "deployment.env"
REDACTED = "<redacted>"


def job_dir_name(spec: JobSpec) -> str:
    """The folder of a job inside its invocation's folder: ``<n>-<task>``."""
    return f"{spec.index}-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", spec.task_name)


def secrets_text(env: Mapping[str, str], environ: Mapping[str, str], *, redact: bool) -> str:
    """The content of a job's secrets file: shell ``export`` lines.

    With ``redact`` (dry runs) no value is written, and an unset ``host:`` variable is shown
    as such instead of failing (:func:`unset_problems` lists them).

    Raises:
        ConfigError: when a ``host:`` variable is not set (unless ``redact``).
    """
    if redact:
        environ = _redacted_environ(env, environ)
    values, runtime = resolve_env(env, environ)
    lines = ["# Environment values (secret: never print this file), sourced where the job or server runs."]
    for name, value in sorted(values.items()):
        if redact and parse_env_value(env[name]).kind == "lit":
            value = REDACTED  # a literal is a value too: dry runs show none
        lines.append(f"export {name}={shlex.quote(value)}")
    for name, variable in sorted(runtime.items()):
        # Read where the job runs, from that machine's own environment.
        lines.append(f'export {name}="${{{variable}}}"')
    return "\n".join(lines) + "\n"


def _redacted_environ(env: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    shown = {}
    for name, raw in env.items():
        ref = parse_env_value(raw, key=f"env_vars.{name}")
        if ref.kind != "host":
            continue
        if ref.value in environ:
            shown[ref.value] = REDACTED
        else:
            shown[ref.value] = f"<unset: host variable {ref.value}>"
    return shown


def _deployment_env(plan: Plan) -> dict[str, str]:
    """The servers' own env values (the deployment's, then the auxiliary ones'), for those the run starts.

    One ``deployment.env`` serves them all; a variable two servers set differently is refused.
    """
    env: dict[str, str] = {}
    servers = [("deployment", plan.config.deployment)] if plan.endpoint_spec is not None else []
    servers += [
        (f"auxiliary_deployments.{name}", plan.config.auxiliary_deployments[name]) for name in plan.auxiliary_specs
    ]
    for key, deployment in servers:
        for name, raw in (getattr(deployment, "env_vars", None) or {}).items():
            if env.setdefault(name, raw) != raw:
                raise ConfigError(
                    f"{key}.env_vars.{name}: {raw!r} differs from another server's value {env[name]!r}",
                    hint="the servers of a run share one environment file: give the variable one value",
                )
    return env


def unset_problems(plan: Plan, environ: Mapping[str, str]) -> list[ConfigError]:
    """One problem per ``host:`` variable that the run needs and ``environ`` does not set.

    A variable that several jobs (or the deployment) need is named once, at its first key.
    """
    found: dict[str, ConfigError] = {}
    layers = [(spec.env, "env_vars") for spec in plan.jobs] + [(_deployment_env(plan), "deployment.env_vars")]
    for env, where in layers:
        for variable, problem in unset_variables(env, environ, where=where).items():
            found.setdefault(variable, problem)
    return list(found.values())


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


@attrs.frozen(kw_only=True)
class RenderedFile:
    """One file of a materialized invocation: where, what, and its permission bits."""

    path: Path
    text: str
    mode: int = 0o644


def render_files(
    plan: Plan, executor: Executor, root: Path, environ: Mapping[str, str], *, redact: bool = False
) -> list[RenderedFile]:
    """Every file of the invocation under ``root/<invocation id>``, rendered in memory.

    Raises:
        ConfigError: when a job's env refers to an unset host variable (unless ``redact``);
            Problems naming each one when several are unset.
    """
    if not redact:
        Problems.raise_any(unset_problems(plan, environ))
    invocation_dir = root / plan.invocation_id
    # The config as composed and run, beside its jobs (`nel info` shows the store's copy).
    config_text = dump(redacted_config(unstructure(plan.config)))
    files: list[RenderedFile] = [RenderedFile(path=invocation_dir / CONFIG_FILE, text=config_text)]
    # How every job's outcome is judged once it ends (read back by stages.read_markers).
    outcome = dump({"max_failure_rate": plan.config.evaluation.max_failure_rate})  # the same for every job
    for spec in plan.jobs:
        job_dir = invocation_dir / job_dir_name(spec)
        paths = executor.job_paths(spec, job_dir)
        run_config = deep_merge(spec.run_config, {"config": {"output_dir": paths.results_dir}})
        files += [
            RenderedFile(path=job_dir / RUN_SCRIPT, text=executor.render(plan, spec, job_dir), mode=0o755),
            RenderedFile(path=job_dir / RUN_CONFIG_FILE, text=dump(run_config)),
            RenderedFile(path=job_dir / OUTCOME_FILE, text=outcome),
            RenderedFile(
                path=job_dir / SECRETS_FILE,
                text=secrets_text(spec.env, environ, redact=redact),
                mode=0o600,
            ),
        ]
    deployment_env = _deployment_env(plan)
    if deployment_env:
        # The model server's own environment: secret like a job's, read only by the server.
        text = secrets_text(deployment_env, environ, redact=redact)
        files.append(RenderedFile(path=invocation_dir / DEPLOYMENT_SECRETS_FILE, text=text, mode=0o600))
    for relative, text in executor.render_invocation(plan, invocation_dir).items():
        mode = 0o755 if text.startswith("#!") else 0o644
        files.append(RenderedFile(path=invocation_dir / relative, text=text, mode=mode))
    return files


def partial_dir(root: Path, invocation_id: str) -> Path:
    """Where an invocation's folder is written before it is renamed into place."""
    return root / f".{invocation_id}.partial"


def materialize(
    plan: Plan,
    executor: Executor,
    root: Path,
    environ: Mapping[str, str],
    files: Sequence[RenderedFile] | None = None,
) -> list[RenderedJob]:
    """Write every job's directory under ``root/<invocation id>``; return the rendered jobs.

    ``files`` are the invocation's files when they were rendered already (see :func:`render_files`).

    The files go into a hidden temporary folder first, renamed into place once complete: the
    invocation's folder is either whole or absent.

    Raises:
        ConfigError: when a job's env refers to an unset host variable (before anything is written).
        NelError: when a file cannot be written (naming it, e.g. a full disk).
    """
    if files is None:
        files = render_files(plan, executor, root, environ)
    invocation_dir = root / plan.invocation_id
    temp = partial_dir(root, plan.invocation_id)
    rendered = []
    try:
        temp.mkdir(parents=True)
        for spec in plan.jobs:
            job_dir = invocation_dir / job_dir_name(spec)
            (temp / job_dir.name / ARTIFACTS_DIR).mkdir(parents=True)
            rendered.append(
                RenderedJob(job_id=job_id(plan.invocation_id, spec.index), job_dir=job_dir, script=job_dir / RUN_SCRIPT)
            )
        for file in files:
            path = temp / file.path.relative_to(invocation_dir)
            path.parent.mkdir(parents=True, exist_ok=True)
            if file.mode == 0o600:
                _write_private(path, file.text)
            else:
                path.write_text(file.text)
                path.chmod(file.mode)
        crash_point("writing")
        os.rename(temp, invocation_dir)
    except OSError as exc:
        shutil.rmtree(temp, ignore_errors=True)
        where = exc.filename or temp
        raise NelError(f"cannot write {where}: {exc.strerror or exc}", hint="check execution.output_dir") from exc
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return rendered
