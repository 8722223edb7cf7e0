"""The composed config of a run: kept beside its jobs and shown by `nel info`, secrets redacted."""

from __future__ import annotations

import json

import yaml

from .conftest import SECRET_VALUE, Nel, fake_config


def test_run_keeps_the_composed_config_and_info_shows_it(nel: Nel) -> None:
    """config.yaml in the invocation folder and `nel info` hold the config as run, lit: values redacted."""
    config = nel.write("run.yaml", fake_config(nel.out, extra=f"env_vars:\n  TOKEN: lit:{SECRET_VALUE}\n"))
    result = nel("run", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    invocation = json.loads(result.stdout)["invocation_id"]
    kept = yaml.safe_load((nel.out / invocation / "config.yaml").read_text())
    assert kept["env_vars"] == {"TOKEN": "lit:<redacted>"}
    assert kept["execution"]["type"] == "fake"
    info = nel("info", invocation)
    assert "config (as composed and run" in info.stdout and "TOKEN: lit:<redacted>" in info.stdout
    assert json.loads(nel("info", invocation, "--json").stdout)["config"] == kept
    assert SECRET_VALUE not in info.stdout + (nel.out / invocation / "config.yaml").read_text()
