"""``parallelism: auto``: accepted as a harness parameter, planned per harness, recorded per job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs

from nel_core.catalog import load_catalog
from nel_core.converter import structure_run_config
from nel_core.deployments.tuning import HostCpus
from nel_core.layout import REQUESTS_FILE
from nel_core.models.config import LlamaCppDeployment
from nel_core.params import check_params
from nel_core.services.plan import AUTO_MAXIMUM, Plan, plan_run
from nel_core.services.requests import read_request_stats
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
    """Without known slots the maximum is AUTO_MAXIMUM; other harnesses run at that count."""
    plan = _plan(["nel_bench.capitals", "simple_evals.mmlu"], llama=False)
    assert _params(plan, 0) == {"parallelism": AUTO_MAXIMUM, "extra": {"parallelism": "auto"}}
    assert _params(plan, 1)["parallelism"] == AUTO_MAXIMUM
    assert "extra" not in _params(plan, 1)


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
