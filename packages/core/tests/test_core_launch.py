"""Launch, materialize and dry run with the FakeExecutor: all or nothing, secrets kept out."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nel_core.catalog import load_catalog
from nel_core.converter import structure_run_config
from nel_core.errors import ConfigError, NelError, PreflightError, Problems, SchedulingError
from nel_core.models.domain import JobState
from nel_core.services import dry_run, dry_run_data, dry_run_text, launch, make_plan, render_dry_run
from nel_core.services.launch import Launched
from nel_core.services.materialize import REDACTED, SECRETS_FILE
from nel_core.services.plan import Plan
from nel_core.testing import (
    FakeBackend,
    FakeExecutionConfig,
    FakeExecutor,
    InMemoryInvocationStore,
    run_config_data,
)

SECRET = "s3cr3t-Value-0xC0FFEE"
LITERAL = "literal-Secret-1234"


def _setup(
    output_dir: Path, tasks: list[str] | None = None, **execution: Any
) -> tuple[Plan, FakeExecutor, InMemoryInvocationStore]:
    data = run_config_data(
        output_dir,
        tasks=tasks or ["nel_bench.arithmetic", "nel_bench.capitals"],
        env_vars={"HF_TOKEN": "host:NEL_TEST_TOKEN", "LIT": f"lit:{LITERAL}", "RT": "runtime:RT"},
    )
    data["execution"].update(execution)
    data["target"]["api_endpoint"]["api_key_name"] = "NEL_TEST_API_KEY"
    config = structure_run_config(data, FakeExecutionConfig)
    executor = FakeExecutor(config.execution, home=output_dir / "home", backend=FakeBackend())
    store = InMemoryInvocationStore()
    plan = make_plan(config, executor=executor, catalog=load_catalog(), store=store)
    return plan, executor, store


ENVIRON = {"NEL_TEST_TOKEN": SECRET, "NEL_TEST_API_KEY": SECRET + "-api"}


def _launch(
    tmp_path: Path, **execution: Any
) -> tuple[Launched, FakeExecutor, InMemoryInvocationStore]:
    plan, executor, store = _setup(tmp_path / "out", **execution)
    return launch(plan, executor=executor, store=store, environ=ENVIRON), executor, store


def test_launch_records_invocation_and_jobs(tmp_path: Path) -> None:
    """A launch submits every job and records the invocation with its jobs and handles."""
    launched, executor, store = _launch(tmp_path, auto_finish=False)
    invocation = store.get_invocation(launched.invocation.id)
    assert invocation.executor == "fake"
    assert invocation.output_dir == str((tmp_path / "out" / invocation.id).resolve())
    jobs = store.jobs(invocation.id)
    assert [job.task_name for job in jobs] == ["nel_bench.arithmetic", "nel_bench.capitals"]
    assert [job.id for job in jobs] == [f"{invocation.id}.0", f"{invocation.id}.1"]
    assert all(job.state is JobState.PENDING for job in jobs)
    assert [job.handle for job in jobs] == ["fake-job-1", "fake-job-2"]
    assert len(executor.scheduler.submitted) == 2
    for job in jobs:
        job_dir = Path(job.job_dir)
        assert {p.name for p in job_dir.iterdir()} >= {"run.sh", "run_config.yml", SECRETS_FILE}


def test_invocation_config_is_the_structured_config(tmp_path: Path) -> None:
    """The recorded config is the run config's plain form, with references not values."""
    launched, _, store = _launch(tmp_path)
    config = store.get_invocation(launched.invocation.id).config
    assert config["execution"]["type"] == "fake"
    assert config["env_vars"]["HF_TOKEN"] == "host:NEL_TEST_TOKEN"


def test_recorded_config_redacts_literal_values(tmp_path: Path) -> None:
    """A lit: value is recorded as lit:<redacted>: its value lives only in the jobs' secrets files."""
    launched, _, store = _launch(tmp_path)
    config = store.get_invocation(launched.invocation.id).config
    assert config["env_vars"] == {"HF_TOKEN": "host:NEL_TEST_TOKEN", "LIT": "lit:<redacted>", "RT": "runtime:RT"}
    assert LITERAL not in json.dumps(config)
    assert all(f"export LIT={LITERAL}" in (Path(j.job_dir) / SECRETS_FILE).read_text() for j in launched.jobs)


@pytest.mark.parametrize("nested", [False, True])
def test_failing_preflight_records_nothing(tmp_path: Path, nested: bool) -> None:
    """A failed preflight raises before anything is recorded or created."""
    output = tmp_path / "a" / "b" / "out" if nested else tmp_path / "out"
    plan, executor, store = _setup(output, fail_preflight=True)
    with pytest.raises(PreflightError):
        launch(plan, executor=executor, store=store, environ=ENVIRON)
    assert store.invocation_ids() == set()
    assert list(tmp_path.iterdir()) == []
    assert executor.scheduler.submitted == []


@pytest.mark.parametrize("nested", [False, True])
def test_failing_submit_leaves_no_directory(tmp_path: Path, nested: bool) -> None:
    """A submission that fails after materializing removes every directory it created."""
    output = tmp_path / "a" / "b" / "out" if nested else tmp_path / "out"
    plan, executor, store = _setup(output, fail_submit=True)
    with pytest.raises(SchedulingError):
        launch(plan, executor=executor, store=store, environ=ENVIRON)
    assert store.invocation_ids() == set()
    assert list(tmp_path.iterdir()) == []


def test_failing_submit_keeps_an_existing_output_dir(tmp_path: Path) -> None:
    """An output directory that existed before a failed launch stays, with what it held."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    plan, executor, store = _setup(tmp_path / "out", fail_submit=True)
    with pytest.raises(SchedulingError):
        launch(plan, executor=executor, store=store, environ=ENVIRON)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]


def test_unset_host_variable_records_nothing(tmp_path: Path) -> None:
    """A host: variable that is not set fails the launch, naming it, leaving nothing behind."""
    plan, executor, store = _setup(tmp_path / "out")
    with pytest.raises(ConfigError, match="NEL_TEST_TOKEN"):
        launch(plan, executor=executor, store=store, environ={"NEL_TEST_API_KEY": "k"})
    assert store.invocation_ids() == set()
    assert list(tmp_path.iterdir()) == []
    assert executor.scheduler.submitted == []


def test_secrets_file_is_private_and_holds_the_values(tmp_path: Path) -> None:
    """secrets.env is mode 0600 and exports the resolved values and runtime references."""
    launched, _, _ = _launch(tmp_path)
    for job in launched.jobs:
        secrets = Path(job.job_dir) / SECRETS_FILE
        assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
        text = secrets.read_text()
        assert f"export HF_TOKEN={SECRET}" in text
        assert f"export NEL_TEST_API_KEY={SECRET}-api" in text
        assert f"export LIT={LITERAL}" in text
        assert 'export RT="${RT}"' in text


def test_no_secret_outside_the_secrets_file(tmp_path: Path) -> None:
    """No secret value appears in any other file, in the store, or in the scheduler's logs."""
    launched, executor, store = _launch(tmp_path)
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file() and path.name != SECRETS_FILE:
            text = path.read_text()
            assert SECRET not in text, path
    recorded = json.dumps(
        [store.get_invocation(launched.invocation.id).config, [j.data for j in launched.jobs]]
    )
    assert SECRET not in recorded
    for job in executor.scheduler.jobs.values():
        assert SECRET not in "".join(job.log)


def test_run_script_sources_secrets_and_passes_names(tmp_path: Path) -> None:
    """run.sh sources secrets.env, passes env by name (-e NAME) and is valid bash."""
    launched, _, _ = _launch(tmp_path)
    script = Path(launched.jobs[0].job_dir) / "run.sh"
    text = script.read_text()
    assert ". ./secrets.env" in text
    assert "-e HF_TOKEN" in text and "-e NEL_TEST_API_KEY" in text
    assert SECRET not in text and LITERAL not in text
    assert stat.S_IMODE(script.stat().st_mode) & 0o100
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_run_config_points_at_the_results_dir(tmp_path: Path) -> None:
    """Each job's run_config.yml targets the endpoint and writes into the job's results dir."""
    from nel_core.yaml_io import load

    launched, _, _ = _launch(tmp_path)
    run_config = load((Path(launched.jobs[0].job_dir) / "run_config.yml").read_text())
    assert run_config["config"]["output_dir"] == "/results"
    assert run_config["config"]["type"] == "nel_bench.arithmetic"
    assert run_config["target"]["api_endpoint"]["api_key_name"] == "NEL_TEST_API_KEY"


def test_dry_run_redacts_and_leaves_nothing(tmp_path: Path) -> None:
    """A dry run prints every file with secrets redacted, touches no backend, records nothing."""
    plan, executor, store = _setup(tmp_path / "out")
    text = render_dry_run(plan, executor, ENVIRON)
    assert SECRET not in text and LITERAL not in text
    assert REDACTED in text
    assert "run.sh" in text and "run_config.yml" in text and SECRETS_FILE in text
    assert f"dry run of invocation {plan.invocation_id}: 2 job(s)" in text
    assert not (tmp_path / "out").exists()
    assert store.invocation_ids() == set()
    assert executor.scheduler.submitted == [] and executor.backend.provider.starts == 0


def test_dry_run_shows_unset_variables_and_lists_each_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dry run shows an unset host variable as such and lists it once among its problems, printing nothing."""
    plan, executor, _ = _setup(tmp_path / "out")
    result = dry_run(plan, executor, {})
    assert "<unset: host variable NEL_TEST_TOKEN>" in dry_run_text(result)
    # Two jobs need each variable: each is named once, at its key.
    assert [p.message for p in result.problems] == [
        "env_vars.NEL_TEST_API_KEY: host variable NEL_TEST_API_KEY is not set",
        "env_vars.HF_TOKEN: host variable NEL_TEST_TOKEN is not set",
    ]
    assert capsys.readouterr() == ("", "")
    assert dry_run(plan, executor, ENVIRON).problems == []


def test_dry_run_data_is_plain_json_with_secrets_redacted(tmp_path: Path) -> None:
    """The dry run's data holds every file (redacted), the endpoint, the deployment and the problems."""
    plan, executor, _ = _setup(tmp_path / "out")
    data = json.loads(json.dumps(dry_run_data(dry_run(plan, executor, {"NEL_TEST_TOKEN": SECRET}))))
    text = json.dumps(data)
    assert SECRET not in text and LITERAL not in text
    assert data["invocation_id"] == plan.invocation_id and data["jobs"] == 2
    assert data["endpoint"]["base_url"] == plan.endpoint.base_url
    assert data["deployment"] is None
    secrets = [f for f in data["files"] if f["path"].endswith(SECRETS_FILE)]
    assert len(secrets) == 2 and all(f["mode"] == "0600" for f in secrets)
    assert data["problems"] == [
        {
            "message": "env_vars.NEL_TEST_API_KEY: host variable NEL_TEST_API_KEY is not set",
            "hint": "export NEL_TEST_API_KEY=... before running, or use 'lit:' or 'runtime:'",
        }
    ]
    assert data["ok"] is False


def test_launch_names_every_unset_variable(tmp_path: Path) -> None:
    """A launch with several unset host variables names each of them at once, recording nothing."""
    plan, executor, store = _setup(tmp_path / "out")
    with pytest.raises(Problems) as caught:
        launch(plan, executor=executor, store=store, environ={})
    assert len(caught.value.problems) == 2
    assert store.invocation_ids() == set()


def test_dry_run_names_the_deployment(tmp_path: Path) -> None:
    """A dry run of a deployed model says what is started once for all jobs."""
    data = run_config_data(tmp_path / "out", deployment={"type": "vllm", "served_model_name": "m"})
    config = structure_run_config(data, FakeExecutionConfig)
    executor = FakeExecutor(config.execution, home=tmp_path, backend=FakeBackend())
    plan = make_plan(
        config, executor=executor, catalog=load_catalog(), store=InMemoryInvocationStore()
    )
    text = render_dry_run(plan, executor, {})
    assert "# deployment: vllm, started once for all jobs" in text


def test_one_deployment_serves_all_jobs(tmp_path: Path) -> None:
    """A launch with a deployed model starts one server for all of its jobs."""
    data = run_config_data(
        tmp_path / "out",
        tasks=["nel_bench.arithmetic", "nel_bench.capitals"],
        deployment={"type": "vllm", "served_model_name": "m"},
    )
    config = structure_run_config(data, FakeExecutionConfig)
    backend = FakeBackend()
    executor = FakeExecutor(config.execution, home=tmp_path, backend=backend)
    store = InMemoryInvocationStore()
    plan = make_plan(config, executor=executor, catalog=load_catalog(), store=store)
    launch(plan, executor=executor, store=store, environ={})
    assert backend.provider.starts == 1
    assert len(backend.scheduler.submitted) == 2


def test_fresh_ids_avoid_taken_ones(tmp_path: Path) -> None:
    """make_plan never reuses an invocation id the store holds."""
    _, executor, store = _setup(tmp_path / "out")
    ids = set()
    for _ in range(20):
        plan, _, _ = _setup(tmp_path / "out")
        plan = make_plan(plan.config, executor=executor, catalog=load_catalog(), store=store)
        launch(plan, executor=executor, store=store, environ=ENVIRON)
        ids.add(plan.invocation_id)
    assert len(ids) == 20 and store.invocation_ids() == ids


def test_errors_are_nel_errors(tmp_path: Path) -> None:
    """Every failure of launch is a NelError (the CLI prints it without a traceback)."""
    plan, executor, store = _setup(tmp_path / "out", fail_preflight=True)
    with pytest.raises(NelError):
        launch(plan, executor=executor, store=store, environ=ENVIRON)
