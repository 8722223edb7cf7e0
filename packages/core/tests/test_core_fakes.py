"""Behaviours of the fakes beyond their contracts: what tests of other packages rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from nel_core.catalog import load_catalog
from nel_core.converter import structure_run_config
from nel_core.errors import EndpointError, PreflightError
from nel_core.models.domain import ContainerSpec, JobState, Mount
from nel_core.ports.scheduler import RenderedJob
from nel_core.services import launch, make_plan
from nel_core.services.stages import marker_snippets
from nel_core.testing import (
    FakeBackend,
    FakeContainerRuntime,
    FakeEndpointProvider,
    FakeExecutionConfig,
    FakeExecutor,
    FakeScheduler,
    InMemoryInvocationStore,
    run_config_data,
)


def test_runtime_renders_a_docker_command_line() -> None:
    """The fake runtime renders ``docker run`` with env names, mounts, labels, image, command."""
    spec = ContainerSpec(
        image="img:1",
        command=["bash", "-c", "echo hi"],
        env_names=["HF_TOKEN"],
        mounts=[
            Mount(source="/host", target="/results"),
            Mount(source="/d", target="/d", read_only=True),
        ],
        gpus="all",
        workdir="/job",
        labels={"nel.job": "0-a"},
        name="c1",
    )
    argv = FakeContainerRuntime().render(spec)
    assert argv == [
        "docker", "run", "--rm", "--name", "c1", "--network", "host", "--gpus", "all",
        "-e", "HF_TOKEN", "-v", "/host:/results", "-v", "/d:/d:ro", "-w", "/job",
        "--label", "nel.job=0-a", "img:1", "bash", "-c", "echo hi",
    ]  # fmt: skip


def test_unreachable_runtime_fails_preflight(tmp_path: Path) -> None:
    """A fake runtime set unreachable fails the executor's preflight."""
    data = run_config_data(tmp_path / "out")
    config = structure_run_config(data, FakeExecutionConfig)
    backend = FakeBackend(runtime=FakeContainerRuntime(reachable=False))
    executor = FakeExecutor(config.execution, home=tmp_path, backend=backend)
    store = InMemoryInvocationStore()
    plan = make_plan(config, executor=executor, catalog=load_catalog(), store=store)
    with pytest.raises(PreflightError):
        launch(plan, executor=executor, store=store, environ={})


def test_executor_render_is_deterministic_and_marks_stages(tmp_path: Path) -> None:
    """The job script is the same for the same job, and writes the stage markers core reads."""
    data = run_config_data(tmp_path / "out")
    config = structure_run_config(data, FakeExecutionConfig)
    executor = FakeExecutor(config.execution, home=tmp_path, backend=FakeBackend())
    plan = make_plan(
        config, executor=executor, catalog=load_catalog(), store=InMemoryInvocationStore()
    )
    job_dir = tmp_path / "job"
    script = executor.render(plan, plan.jobs[0], job_dir)
    assert script == executor.render(plan, plan.jobs[0], job_dir)
    assert script.startswith("#!/usr/bin/env bash\n")
    for snippet in marker_snippets(str(job_dir)).values():
        assert snippet in script
    assert "docker run --rm" in script
    assert "nemo-evaluator run_eval --run_config /job/run_config.yml" in script
    assert not job_dir.exists()


def test_provider_counts_starts_and_fails_when_not_ready(tmp_path: Path) -> None:
    """The fake provider counts starts and stops, and can be set to never become ready."""
    data = run_config_data(tmp_path, deployment={"type": "sglang"})
    config = structure_run_config(data, FakeExecutionConfig)
    provider = FakeEndpointProvider(ready=False)
    spec = provider.plan(config, config.deployment)
    assert spec is not None and spec.type == "sglang" and spec.served_model_name == "fake-model"
    handle = provider.start(spec, tmp_path)
    with pytest.raises(EndpointError, match="not ready"):
        provider.wait_ready(handle, spec, 5)
    provider.stop(handle)
    provider.stop(handle)
    assert (provider.starts, provider.stops, provider.running) == (1, 1, {})


def test_scheduler_pending_until_started(tmp_path: Path) -> None:
    """With start_pending, jobs stay PENDING until started, then RUNNING until finished."""
    scheduler = FakeScheduler(start_pending=True)
    handle = scheduler.submit(
        RenderedJob(job_id="a.0", job_dir=tmp_path, script=tmp_path / "run.sh")
    )
    assert scheduler.states([handle])[handle].state is JobState.PENDING
    scheduler.start(handle)
    assert scheduler.states([handle])[handle].state is JobState.RUNNING
    scheduler.finish(handle, 4)
    report = scheduler.states([handle])[handle]
    assert (report.state, report.exit_code) == (JobState.FAILED, 4)
    scheduler.finish(handle, 0)  # an ended job does not change
    assert scheduler.states([handle])[handle].exit_code == 4
