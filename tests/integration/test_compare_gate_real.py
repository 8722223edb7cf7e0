"""compare and gate on real runs: NEL's benchmark against the llama.cpp model at two temperatures.

Greedy decoding (temperature 0) answers the same twice: no flip, no difference, GO. Sampling at
temperature 2 loses right answers: the paired comparison says regressed and the gate NO-GO.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_config

pytestmark = pytest.mark.integration

CONFIG = """
defaults:
  - execution: local
  - deployment: none
  - _self_
execution:
  output_dir: ${{oc.env:NEL_OUTPUT_DIR}}
  runtime: process
target:
  api_endpoint:
    url: {url}/completions
    model_id: {model}
evaluation:
  nemo_evaluator_config:
    config:
      params: {{parallelism: 2, request_timeout: 120, max_new_tokens: 16, temperature: 0.0}}
  tasks:
    - name: nel_bench.capitals
      endpoint_type: completions
"""
POLICY = """
benchmarks:
  - task: nel_bench.capitals
    tier: critical
    min: 0.5
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Three invocations of nel_bench.capitals (74 samples): temperature 0 twice, then temperature 2."""
    url, model = os.environ.get("NEL_TEST_LLM_URL"), os.environ.get("NEL_TEST_LLM_MODEL")
    if not url or not model:
        pytest.skip("NEL_TEST_LLM_URL and NEL_TEST_LLM_MODEL are set by scripts/infra.sh env")
    root = tmp_path_factory.mktemp("temperatures")
    config = write_config(root / "capitals.yaml", CONFIG.format(url=url.rstrip("/"), model=model))
    home = Path(os.environ.get("NEL_TEST_HOME", "/tmp/nel-integration-home"))
    env = {**os.environ, "NEL_HOME": str(home), "NEL_OUTPUT_DIR": str(root / "out")}
    env["NEMO_EVALUATOR_TELEMETRY_LEVEL"] = "0"
    ids = {}
    for name, temperature in (("greedy", 0.0), ("greedy_again", 0.0), ("hot", 2.0)):
        override = f"evaluation.nemo_evaluator_config.config.params.temperature={temperature}"
        result = subprocess.run([*_nel(), "run", "--config", str(config), "-o", override, "--wait", "--json"],
                                env=env, cwd=root, capture_output=True, text=True, timeout=600)  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        ids[name] = json.loads(result.stdout)["invocation_id"]
    ids["root"], ids["home"] = str(root), str(home)
    return ids


def _nel() -> list[str]:
    return [sys.executable, "-m", "nel_cli"]


def _run(runs: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEL_HOME": runs["home"], "NEMO_EVALUATOR_TELEMETRY_LEVEL": "0"}
    return subprocess.run([*_nel(), *args], env=env, cwd=runs["root"], capture_output=True, text=True, timeout=120)


def test_the_same_greedy_run_twice_is_no_difference_and_go(runs: dict[str, str]) -> None:
    """Two greedy runs: every sample paired, no flip, no significant difference; the gate says GO (exit 0)."""
    data = json.loads(_run(runs, "compare", runs["greedy"], runs["greedy_again"], "--format", "json").stdout)
    (paired,) = data["paired"]
    assert (paired["task"], paired["n"], paired["binary"]) == ("nel_bench.capitals", 74, True)
    assert paired["regressed"] + paired["improved"] <= 2 and data["verdict"] == "no significant difference"
    policy = Path(runs["root"]) / "policy.yaml"
    policy.write_text(POLICY)
    gate = _run(runs, "gate", "--policy", str(policy), runs["greedy"], runs["greedy_again"])
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert gate.stdout.startswith("## Release gate: GO")


def test_sampling_at_temperature_two_regresses_and_the_gate_says_no_go(runs: dict[str, str]) -> None:
    """Temperature 2 against greedy: more right->wrong flips, McNemar significant, regressed; NO-GO (exit 1)."""
    data = json.loads(_run(runs, "compare", runs["greedy"], runs["hot"], "--format", "json").stdout)
    (paired,) = data["paired"]
    assert paired["regressed"] > paired["improved"] and paired["p_value"] < 0.05
    assert paired["high"] < 0 and data["verdict"] == "regressed"
    flipped = [f for f in paired["flips"] if f["base_score"] == 1.0]
    assert flipped and all(f["base_response"] != f["candidate_response"] for f in flipped)
    text = _run(runs, "compare", runs["greedy"], runs["hot"]).stdout
    assert "nel_bench.capitals: " in text and "worse in the candidate" in text and text.rstrip().endswith("regressed")
    policy = Path(runs["root"]) / "policy.yaml"
    policy.write_text(POLICY)
    gate = _run(runs, "gate", "--policy", str(policy), runs["greedy"], runs["hot"], "--format", "json")
    assert gate.returncode == 1, gate.stdout + gate.stderr
    result = json.loads(gate.stdout)
    assert result["verdict"] == "NO-GO"
    drop = next(c for c in result["checks"] if c["rule"] == "drop <= 0.000")
    assert drop["outcome"] == "fail" and drop["evidence"] == "paired per sample (74 pairs)"


def test_a_required_benchmark_the_runs_lack_is_inconclusive(runs: dict[str, str]) -> None:
    """A policy requiring a task neither run ran cannot be judged: INCONCLUSIVE (exit 2), saying which."""
    policy = Path(runs["root"]) / "policy-more.yaml"
    policy.write_text(POLICY + "  - task: nel_bench.arithmetic\n")
    gate = _run(runs, "gate", "--policy", str(policy), runs["greedy"], runs["greedy_again"])
    assert gate.returncode == 2, gate.stdout + gate.stderr
    assert "- nel_bench.arithmetic (standard, required): no job of this task in the candidate run" in gate.stdout


def test_the_report_of_the_three_runs_lists_them_side_by_side(runs: dict[str, str]) -> None:
    """`nel report` of the three invocations writes one page with their samples (3 x 74)."""
    result = _run(runs, "report", runs["greedy"], runs["greedy_again"], runs["hot"], "-o", "temperatures.html")
    assert result.returncode == 0, result.stderr
    assert "3 run(s), 3 job(s), 222 sample(s)" in result.stdout
