"""The gate of ``parallelism: auto`` for other harnesses: its place in nemo-evaluator's chain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from nemo_evaluator.adapters.adapter_config import AdapterConfig

from core_evals.nel_bench.adaptive import GATE, MODULE, main, prepare


def _run_config(
    adapter_config: dict[str, Any] | None = None, output_dir: str = "/results"
) -> dict[str, Any]:
    api_endpoint: dict[str, Any] = {
        "url": "http://127.0.0.1:9/v1/chat/completions",
        "model_id": "m",
        "type": "chat",
    }
    if adapter_config is not None:
        api_endpoint["adapter_config"] = adapter_config
    return {
        "config": {
            "type": "simple_evals.mmlu",
            "output_dir": output_dir,
            "params": {"parallelism": 16},
        },
        "target": {"api_endpoint": api_endpoint},
    }


def _names(config: AdapterConfig) -> list[str]:
    return [i.name for i in config.interceptors]


def test_the_gate_takes_the_endpoints_place_in_nemo_evaluators_default_chain() -> None:
    """No adapter_config: nemo-evaluator's own default chain, with the gate for endpoint."""
    default = _names(AdapterConfig.get_validated_config(_run_config()))
    run_config = _run_config()
    assert prepare(run_config, 8) is True
    prepared = AdapterConfig.get_validated_config(run_config)
    assert _names(prepared) == [GATE if name == "endpoint" else name for name in default]
    gate = next(i for i in prepared.interceptors if i.name == GATE)
    assert gate.config == {"maximum": 8}
    assert MODULE in prepared.discovery.modules
    assert [h.name for h in prepared.post_eval_hooks] == [
        h.name for h in AdapterConfig.get_validated_config(_run_config()).post_eval_hooks
    ]


def test_a_configs_own_chain_and_settings_are_kept() -> None:
    """An explicit chain keeps its interceptors and their order; only endpoint becomes the gate."""
    own = {
        "interceptors": [{"name": "request_logging"}, "endpoint", {"name": "response_logging"}],
        "mode": "server",
    }
    run_config = _run_config(own)
    assert prepare(run_config, 4) is True
    prepared = AdapterConfig.get_validated_config(run_config)
    assert _names(prepared) == ["request_logging", GATE, "response_logging"]
    assert run_config["target"]["api_endpoint"]["adapter_config"]["mode"] == "server"


def test_a_prepared_run_config_is_left_as_it_is() -> None:
    """A resumed job prepares again: nothing changes the second time."""
    run_config = _run_config()
    prepare(run_config, 8)
    once = yaml.safe_dump(run_config)
    assert prepare(run_config, 8) is False
    assert yaml.safe_dump(run_config) == once


def test_a_chain_without_endpoint_is_refused() -> None:
    """NVCF's interceptor replaces endpoint: there is nothing to gate, and prepare says so."""
    with pytest.raises(ValueError, match="no endpoint interceptor"):
        prepare(_run_config({"interceptors": [{"name": "nvcf"}]}), 8)


def test_main_rewrites_the_file_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The job's step: the run config file gains the gate (written whole), and says so on stderr."""
    path = tmp_path / "run_config.yml"
    path.write_text(yaml.safe_dump(_run_config(output_dir=str(tmp_path))))
    assert main([str(path), "--maximum", "6"]) == 0
    assert "at most 6 requests in flight" in capsys.readouterr().err
    interceptors = yaml.safe_load(path.read_text())["target"]["api_endpoint"]["adapter_config"][
        "interceptors"
    ]
    assert {"name": GATE, "enabled": True, "config": {"maximum": 6}} in interceptors
    assert [p.name for p in tmp_path.iterdir()] == ["run_config.yml"]  # no partial file left
