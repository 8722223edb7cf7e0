"""Planning: a run config becomes one job per task, served by one endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from nel_core.catalog import load_catalog
from nel_core.converter import structure_run_config
from nel_core.errors import ConfigError, Problems
from nel_core.services.merge import deep_merge
from nel_core.services.plan import HARNESS_VERSION, Plan, plan_run
from nel_core.testing import FakeEndpointProvider, FakeExecutionConfig, run_config_data
from nel_core.testing.strategies import harness_params

URL = "http://10.0.0.7:8000/v1/chat/completions"


def _plan(data: dict[str, Any], task_filter: tuple[str, ...] = (), *, auxiliary: bool = False) -> Plan:
    """Plan ``data``; ``auxiliary``: as an executor that starts auxiliary servers does."""
    config = structure_run_config(data, FakeExecutionConfig)
    return plan_run(
        config,
        catalog=load_catalog(),
        provider=FakeEndpointProvider(),
        invocation_id="0123abcd",
        task_filter=task_filter,
        auxiliary_providers=(
            {name: FakeEndpointProvider() for name in config.auxiliary_deployments} if auxiliary else None
        ),
    )


def _data(tasks: list[Any], **sections: Any) -> dict[str, Any]:
    data = run_config_data("/out", url=URL, model_id="llama-8b", **sections)
    data["evaluation"] = {**data["evaluation"], **sections.pop("evaluation", {}), "tasks": tasks}
    return data


def test_one_job_per_task_in_order() -> None:
    """Every task of the config becomes one job, indexed in config order (repeats allowed)."""
    plan = _plan(
        _data([{"name": "simple_evals.mmlu_pro"}, {"name": "arithmetic"}, {"name": "arithmetic"}])
    )
    assert [(j.index, j.task_name) for j in plan.jobs] == [
        (0, "simple_evals.mmlu_pro"),
        (1, "nel_bench.arithmetic"),
        (2, "nel_bench.arithmetic"),
    ]
    assert plan.invocation_id == "0123abcd"
    assert plan.jobs[0].image.startswith("nvcr.io/nvidia/eval-factory/simple-evals:")
    assert plan.jobs[0].harness == "simple_evals"


def test_run_config_takes_url_and_model_from_the_endpoint() -> None:
    """Each job's run config targets the endpoint's URL and model id, with its task type."""
    job = _plan(_data([{"name": "arithmetic"}])).jobs[0]
    assert job.run_config["target"]["api_endpoint"] == {
        "url": URL,
        "model_id": "llama-8b",
        "type": "chat",
        "adapter_config": {"mode": "client"},
    }
    assert job.run_config["config"]["type"] == "nel_bench.arithmetic"
    assert job.run_config["config"]["output_dir"] == "/results"
    assert "{run_config}" in job.command


def test_started_server_gives_the_url() -> None:
    """With a deployment that starts a server, jobs target that server's endpoint path."""
    data = _data(
        [{"name": "arithmetic", "endpoint_type": "completions"}],
        deployment={"type": "vllm", "port": 8123, "served_model_name": "served"},
    )
    plan = _plan(data)
    assert plan.endpoint_spec is not None and plan.endpoint_spec.port == 8123
    api = plan.jobs[0].run_config["target"]["api_endpoint"]
    assert api["url"] == "http://127.0.0.1:8123/v1/completions"
    assert api["model_id"] == "served"


def test_params_deep_merge_task_wins() -> None:
    """Evaluation-level nemo_evaluator_config merges deeply with the task's; the task wins."""
    evaluation = {
        "nemo_evaluator_config": {
            "config": {"params": {"limit_samples": 10, "parallelism": 4, "extra": {"a": 1, "b": 2}}}
        }
    }
    task = {
        "name": "arithmetic",
        "nemo_evaluator_config": {"config": {"params": {"parallelism": 8, "extra": {"b": 3}}}},
    }
    job = _plan(_data([task, {"name": "capitals"}], evaluation=evaluation)).jobs
    assert job[0].run_config["config"]["params"] == {
        "limit_samples": 10,
        "parallelism": 8,
        "extra": {"a": 1, "b": 3},
    }
    assert job[1].run_config["config"]["params"] == {
        "limit_samples": 10,
        "parallelism": 4,
        "extra": {"a": 1, "b": 2},
    }


@given(harness_params(), harness_params())
def test_params_merge_property(shared: dict[str, Any], own: dict[str, Any]) -> None:
    """For any params, a job's params are the evaluation's deep-merged with the task's."""
    evaluation = {"nemo_evaluator_config": {"config": {"params": shared}}}
    task = {"name": "arithmetic", "nemo_evaluator_config": {"config": {"params": own}}}
    job = _plan(_data([task], evaluation=evaluation)).jobs[0]
    assert job.run_config["config"]["params"] == deep_merge(shared, own)
    for key, value in own.items():
        if not isinstance(value, dict):
            assert job.run_config["config"]["params"][key] == value


def test_target_overrides_from_nemo_evaluator_config() -> None:
    """nemo_evaluator_config.target merges over the planned target (e.g. adapter_config)."""
    task = {
        "name": "arithmetic",
        "nemo_evaluator_config": {
            "target": {"api_endpoint": {"adapter_config": {"mode": "client"}}}
        },
    }
    api = _plan(_data([task])).jobs[0].run_config["target"]["api_endpoint"]
    assert api["adapter_config"] == {"mode": "client"} and api["url"] == URL


def test_unknown_nemo_evaluator_key_fails() -> None:
    """nemo_evaluator_config holds only config and target."""
    task = {"name": "arithmetic", "nemo_evaluator_config": {"params": {"x": 1}}}
    with pytest.raises(ConfigError, match=r"^evaluation\.tasks\[0\]\.nemo_evaluator_config\.params: unknown key"):
        _plan(_data([task]))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit_samples": "abc"}, "limit_samples: 'abc' is not an integer >= 1"),
        ({"limit_samples": -5}, "limit_samples: -5 is not an integer >= 1"),
        ({"limit_samples": 0}, "limit_samples: 0 is not an integer >= 1"),
        ({"parallelism": "abc"}, "parallelism: 'abc' is not an integer >= 1"),
        ({"parallelism": True}, "parallelism: true is not an integer >= 1"),
        ({"temperature": "hot"}, "temperature: 'hot' is not a number >= 0"),
        ({"top_p": 1.5}, "top_p: 1.5 is not a number between 0 and 1"),
        ({"max_new_tokens": -1}, "max_new_tokens: -1 is not an integer >= 1"),
        ({"max_retries": -1}, "max_retries: -1 is not an integer >= 0"),
        ({"request_timeout": 0}, "request_timeout: 0 is not an integer >= 1"),
        ({"task": 5}, "task: 5 is not a string"),
        ({"extra": [1]}, "extra: a list is not a mapping"),
        ({"limti_samples": 3}, "limti_samples: unknown parameter"),
    ],
)
def test_bad_harness_parameter_names_its_path(params: dict[str, Any], message: str) -> None:
    """A bad value in a task's config.params fails while planning, naming the key's dotted path."""
    task = {"name": "arithmetic", "nemo_evaluator_config": {"config": {"params": params}}}
    with pytest.raises(ConfigError) as caught:
        _plan(_data([task]))
    assert caught.value.message == f"evaluation.tasks[0].nemo_evaluator_config.config.params.{message}"


def test_fraction_and_numeric_strings_are_valid_parameters() -> None:
    """limit_samples may be a fraction, and numbers written as strings are read as nemo-evaluator reads them."""
    params = {"limit_samples": 0.25, "parallelism": "4", "temperature": "0.5", "extra": {"any": [1]}}
    task = {"name": "arithmetic", "nemo_evaluator_config": {"config": {"params": params}}}
    assert _plan(_data([task])).jobs[0].run_config["config"]["params"] == params


def test_every_bad_parameter_is_named_once() -> None:
    """Bad values in several layers and tasks are all reported; one shared by every task is named once, where it is."""
    evaluation = {"nemo_evaluator_config": {"config": {"params": {"temperature": "hot"}}}}
    tasks = [
        {"name": "arithmetic", "nemo_evaluator_config": {"config": {"params": {"parallelism": 0}}}},
        {"name": "capitals", "nemo_evaluator_config": {"config": {"params": {"limit_samples": -1}}}},
    ]
    with pytest.raises(Problems) as caught:
        _plan(_data(tasks, evaluation=evaluation))
    assert [p.message.split(":")[0] for p in caught.value.problems] == [
        "evaluation.nemo_evaluator_config.config.params.temperature",
        "evaluation.tasks[0].nemo_evaluator_config.config.params.parallelism",
        "evaluation.tasks[1].nemo_evaluator_config.config.params.limit_samples",
    ]
    assert caught.value.exit_code == 2


def test_problems_of_different_kinds_come_together() -> None:
    """An unknown task, a bad parameter and an env value without a prefix are all named by one attempt."""
    tasks = [
        {"name": "nel_bench.arithmetc"},
        {"name": "capitals", "nemo_evaluator_config": {"config": {"params": {"parallelism": "x"}}}},
    ]
    with pytest.raises(Problems) as caught:
        _plan(_data(tasks, env_vars={"HF_TOKEN": "HF_TOKEN"}))
    messages = [p.message for p in caught.value.problems]
    assert len(messages) == 3, messages
    assert messages[0].startswith("evaluation.tasks[0].name: unknown task")
    assert messages[1].startswith("evaluation.tasks[1].nemo_evaluator_config.config.params.parallelism: 'x'")
    assert messages[2] == "env_vars.HF_TOKEN: 'HF_TOKEN' has no source prefix"


def test_endpoint_type_must_be_supported() -> None:
    """A task asked for an endpoint type it does not support fails naming both."""
    completions_only = next(
        t for t in load_catalog() if t.endpoint_types == ["completions"]
    ).qualified_name
    with pytest.raises(ConfigError) as caught:
        _plan(_data([{"name": "arithmetic"}, {"name": completions_only, "endpoint_type": "chat"}]))
    assert caught.value.message.startswith("evaluation.tasks[1].endpoint_type:")
    assert completions_only in caught.value.message
    assert caught.value.hint == "it supports: completions"


def test_endpoint_type_defaults() -> None:
    """Without endpoint_type a job uses target.api_endpoint.type, else the task's first type."""
    jobs = _plan(_data([{"name": "arithmetic"}])).jobs
    assert jobs[0].endpoint_type == "chat"
    data = _data([{"name": "arithmetic"}])
    data["target"]["api_endpoint"]["type"] = "completions"
    assert _plan(data).jobs[0].endpoint_type == "completions"


def test_task_filter_keeps_named_tasks() -> None:
    """``-t`` keeps the tasks named (as written, qualified or bare), keeping their indexes dense."""
    tasks = [{"name": "arithmetic"}, {"name": "simple_evals.mmlu_pro"}, {"name": "capitals"}]
    plan = _plan(_data(tasks), task_filter=("nel_bench.capitals", "mmlu_pro"))
    assert [job.task_name for job in plan.jobs] == ["simple_evals.mmlu_pro", "nel_bench.capitals"]
    assert [job.index for job in plan.jobs] == [0, 1]


def test_task_filter_of_a_missing_task_fails() -> None:
    """``-t`` naming a task not in the config fails listing the config's tasks."""
    with pytest.raises(ConfigError, match="-t gsm8k: not among the config's tasks") as caught:
        _plan(_data([{"name": "arithmetic"}]), task_filter=("gsm8k",))
    assert caught.value.hint == "tasks in the config: arithmetic"


def test_unknown_task_names_its_index() -> None:
    """An unknown task fails naming evaluation.tasks[i].name, with a suggestion."""
    with pytest.raises(ConfigError) as caught:
        _plan(_data([{"name": "arithmetic"}, {"name": "simple_evals.mmlu_pr"}]))
    assert caught.value.message == "evaluation.tasks[1].name: unknown task 'simple_evals.mmlu_pr'"
    assert caught.value.hint == "did you mean simple_evals.mmlu_pro?"


def test_no_tasks_fails() -> None:
    """A config without tasks fails saying so."""
    with pytest.raises(ConfigError, match="evaluation.tasks: no tasks"):
        _plan(_data([]))


def test_any_image_and_task_with_a_container() -> None:
    """A task with its own container need not be in the catalog."""
    job = _plan(_data([{"name": "mine.custom_task", "container": "registry/me:1"}])).jobs[0]
    assert (job.task_name, job.image, job.harness) == ("mine.custom_task", "registry/me:1", "mine")


@pytest.mark.parametrize("missing", ["url", "model_id"])
def test_deployment_none_needs_url_and_model(missing: str) -> None:
    """With deployment none, a missing url or model_id is named in the error."""
    data = _data([{"name": "arithmetic"}])
    del data["target"]["api_endpoint"][missing]
    with pytest.raises(ConfigError, match=f"target.api_endpoint.{missing}"):
        _plan(data)


def test_env_layers_and_api_key() -> None:
    """A job's env merges top-level, evaluation and task env_vars, plus the api key name."""
    data = _data(
        [{"name": "arithmetic", "env_vars": {"B": "lit:task"}}],
        env_vars={"A": "host:A", "B": "host:B"},
        evaluation={"env_vars": {"C": "runtime:C"}},
    )
    data["target"]["api_endpoint"]["api_key_name"] = "MY_KEY"
    job = _plan(data).jobs[0]
    assert job.env == {"MY_KEY": "host:MY_KEY", "A": "host:A", "B": "lit:task", "C": "runtime:C"}
    assert job.run_config["target"]["api_endpoint"]["api_key_name"] == "MY_KEY"


def test_bad_env_reference_fails_at_plan_time() -> None:
    """An env value naming no variable fails while planning, naming the variable's key."""
    with pytest.raises(ConfigError, match="env_vars.X"):
        _plan(_data([{"name": "arithmetic"}], env_vars={"X": "host:"}))


def test_pip_requirements_and_dataset_mounts() -> None:
    """Jobs list the harness pins for plain processes and mount their dataset read-only."""
    task = {"name": "arithmetic", "dataset_dir": "/data/set", "dataset_mount_path": "/ds"}
    job = _plan(_data([task])).jobs[0]
    assert job.pip_requirements == [HARNESS_VERSION, "nel-harness"]
    assert [(m.source, m.target, m.read_only) for m in job.mounts] == [("/data/set", "/ds", True)]


def test_plan_reads_nothing_from_disk(tmp_path: Path) -> None:
    """Planning creates no directory (the output dir stays absent)."""
    data = run_config_data(tmp_path / "out")
    _plan(data)
    assert not (tmp_path / "out").exists()


JUDGE = {"type": "vllm", "checkpoint_path": "/models/judge", "served_model_name": "judge", "port": 8001}


def _plan_with_judge(data: dict[str, Any], providers: bool = True) -> Plan:
    return _plan(data, auxiliary=providers)


def test_auxiliary_servers_are_planned_and_jobs_get_their_urls() -> None:
    """Each auxiliary deployment becomes a server of the plan; every job learns its URL and model."""
    tasks = [{"name": "arithmetic"}, {"name": "arithmetic"}]
    plan = _plan_with_judge(_data(tasks, auxiliary_deployments={"judge": JUDGE}))
    spec = plan.auxiliary_specs["judge"]
    assert (spec.type, spec.port, spec.served_model_name) == ("vllm", 8001, "judge")
    assert spec.labels["nel.role"] == "auxiliary.judge" and spec.labels["nel.invocation"] == "0123abcd"
    for job in plan.jobs:
        assert job.env["NEL_AUXILIARY_JUDGE_URL"] == "lit:http://127.0.0.1:8001"
        assert job.env["NEL_AUXILIARY_JUDGE_MODEL_ID"] == "lit:judge"


def test_an_executor_without_auxiliary_servers_refuses_them_by_name() -> None:
    """No executor support: one clear error naming the key, never a judge silently left out."""
    with pytest.raises(ConfigError, match=r"auxiliary_deployments\.judge: the fake executor does not start"):
        _plan_with_judge(_data([{"name": "arithmetic"}], auxiliary_deployments={"judge": JUDGE}), providers=False)


def test_auxiliary_servers_need_ports_of_their_own() -> None:
    """The servers share the jobs' host: a judge on the deployment's port is refused, naming both."""
    data = _data([{"name": "arithmetic"}], auxiliary_deployments={"judge": {**JUDGE, "port": 8000}})
    data["deployment"] = {"type": "vllm", "checkpoint_path": "/models/m", "served_model_name": "m", "port": 8000}
    with pytest.raises(ConfigError, match=r"auxiliary_deployments\.judge\.port: 8000 is deployment\.port too"):
        _plan_with_judge(data)


def test_an_auxiliary_deployment_must_start_a_server() -> None:
    """``type: none`` is no server to start: refused by name."""
    data = _data([{"name": "arithmetic"}], auxiliary_deployments={"judge": {"type": "none"}})
    for providers in (True, False):  # whether the executor starts auxiliary servers or not
        with pytest.raises(ConfigError, match=r"auxiliary_deployments\.judge\.type: 'none' is no server"):
            _plan_with_judge(data, providers=providers)
