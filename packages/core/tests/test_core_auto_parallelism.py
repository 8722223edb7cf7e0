"""``parallelism: auto``: accepted as a harness parameter, planned per harness, recorded per job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs

from nel_core.catalog import load_catalog
from nel_core.converter import structure_run_config
from nel_core.deployments.tuning import HostCpus
from nel_core.layout import CONCURRENCY_FILE, EVAL_FACTORY_METRICS, REQUESTS_FILE
from nel_core.models.config import LlamaCppDeployment
from nel_core.params import check_params
from nel_core.services.plan import AUTO_MAXIMUM, Plan, plan_run
from nel_core.services.requests import clear_request_stats, read_request_stats
from nel_core.services.status import request_data
from nel_core.testing import FakeEndpointProvider, FakeExecutionConfig, run_config_data


def _plan(tasks: list[str], *, llama: bool) -> Plan:
    data = run_config_data("/out", url="http://h:1/v1/completions", model_id="m")
    data["evaluation"] = {
        **data["evaluation"],
        "nemo_evaluator_config": {"config": {"params": {"parallelism": "auto"}}},
        "tasks": [{"name": name} for name in tasks],
    }
    config = structure_run_config(data, FakeExecutionConfig)
    if llama:
        config = attrs.evolve(config, deployment=LlamaCppDeployment(model_package="m"))
    return plan_run(
        config,
        catalog=load_catalog(),
        provider=FakeEndpointProvider(),
        invocation_id="0123abcd",
        cpus=HostCpus(affinity=2),
    )


def _params(plan: Plan, index: int) -> dict[str, Any]:
    params: dict[str, Any] = plan.jobs[index].run_config["config"]["params"]
    return params


def test_auto_is_a_valid_parallelism_and_other_words_are_not() -> None:
    """``auto`` passes the parameter check; another word is refused with the hint."""
    assert check_params({"parallelism": "auto"}, "p") == []
    (problem,) = check_params({"parallelism": "fast"}, "p")
    assert "p.parallelism" in problem.message and "auto" in (problem.hint or "")


def test_nel_bench_adapts_up_to_the_servers_slots() -> None:
    """NEL's runner gets auto with the llama.cpp server's one slot as its maximum."""
    plan = _plan(["nel_bench.capitals"], llama=True)
    assert _params(plan, 0)["parallelism"] == 1
    assert _params(plan, 0)["extra"] == {"parallelism": "auto"}


def test_unknown_slots_and_other_harnesses() -> None:
    """Without known slots the maximum is AUTO_MAXIMUM; other harnesses send that many at once."""
    plan = _plan(["nel_bench.capitals", "simple_evals.mmlu"], llama=False)
    assert _params(plan, 0) == {"parallelism": AUTO_MAXIMUM, "extra": {"parallelism": "auto"}}
    assert _params(plan, 1)["parallelism"] == AUTO_MAXIMUM
    assert "extra" not in _params(plan, 1)


def test_other_harnesses_run_behind_nels_gate() -> None:
    """Another harness's job prepares the gate (nel-harness) with the maximum, then runs run_eval on
    the same run config, also where the gate is missing; NEL's own runner needs no gate."""
    plan = _plan(["nel_bench.capitals", "simple_evals.mmlu"], llama=True)
    bench, other = plan.jobs
    assert bench.command == "nemo-evaluator run_eval --run_config {run_config}"
    assert "core_evals.nel_bench.adaptive" not in bench.command
    prepare = "python3 -m core_evals.nel_bench.adaptive {run_config} --maximum 1"
    assert prepare in other.command
    assert other.command.endswith("fi; nemo-evaluator run_eval --run_config {run_config}")
    assert "nel-harness" in other.pip_requirements and other.pip_requirements[0].startswith("nemo-evaluator==")


def test_a_fixed_parallelism_needs_no_gate() -> None:
    """Without auto, no job prepares anything and no harness gains a requirement."""
    data = run_config_data("/out", url="http://h:1/v1/completions", model_id="m")
    data["evaluation"] = {**data["evaluation"], "tasks": [{"name": "simple_evals.mmlu"}]}
    config = structure_run_config(data, FakeExecutionConfig)
    plan = plan_run(config, catalog=load_catalog(), provider=FakeEndpointProvider(), invocation_id="0123abcd")
    (job,) = plan.jobs
    assert job.command == "nemo-evaluator run_eval --run_config {run_config}"
    assert "nel-harness" not in job.pip_requirements


def test_the_gates_choice_reaches_the_jobs_data(tmp_path: Path) -> None:
    """For another harness, the proxy's response counts and the gate's level and tokens/s combine."""
    metrics = {"response_stats": {"count": 60, "status_codes": {"200": 60}}}
    (tmp_path / EVAL_FACTORY_METRICS).write_text(json.dumps(metrics))
    gate = {"mode": "auto", "parallelism": 2, "tokens_per_s": 267.6, "maximum": 8, "requests": 60}
    (tmp_path / CONCURRENCY_FILE).write_text(json.dumps(gate))
    data = request_data(read_request_stats(tmp_path))
    assert (data["parallelism"], data["tokens_per_s"], data["requests"]) == (2, 267.6, 60)
    (tmp_path / CONCURRENCY_FILE).write_text("{broken")
    data = request_data(read_request_stats(tmp_path))
    assert data["requests"] == 60 and data.get("parallelism") is None
    clear_request_stats(tmp_path)
    assert not (tmp_path / CONCURRENCY_FILE).exists()


def test_chosen_concurrency_and_tokens_per_second_reach_the_jobs_data(tmp_path: Path) -> None:
    """What the runner wrote (parallelism, tokens/s) is read back into the job's data."""
    document = {"requests": 4, "failed": 0, "first_error": None, "parallelism": 2, "tokens_per_s": 41.5}
    (tmp_path / REQUESTS_FILE).write_text(json.dumps(document))
    data = request_data(read_request_stats(tmp_path))
    assert (data["parallelism"], data["tokens_per_s"], data["requests"]) == (2, 41.5, 4)


def test_nel_bench_runs_without_the_adapter_proxy_unless_configured() -> None:
    """NEL's benchmark gets nemo-evaluator's client mode; other harnesses keep the proxy."""
    plan = _plan(["nel_bench.capitals", "simple_evals.mmlu"], llama=False)
    assert plan.jobs[0].run_config["target"]["api_endpoint"]["adapter_config"] == {"mode": "client"}
    assert "adapter_config" not in plan.jobs[1].run_config["target"]["api_endpoint"]
