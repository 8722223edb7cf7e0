"""Composition without Hydra gives exactly Hydra's result, and leaves to Hydra what it cannot do."""

from __future__ import annotations

from pathlib import Path

import pytest

from nel_cli.compose import _register_resolvers, _use_libyaml, compose_with_hydra, config_packages
from nel_cli.compose_simple import compose_simple

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))
OVERRIDES = [
    [],
    ["execution.output_dir=/tmp/out"],
    ["execution.output_dir=/tmp/out", "+config.params.limit_samples=10", "deployment.port=8123"],
    ["+evaluation.nemo_evaluator_config.config.params.temperature=0.5", "target.api_endpoint.model_id=m-1"],
]


@pytest.fixture(autouse=True)
def _omegaconf() -> None:
    _use_libyaml()
    _register_resolvers()


@pytest.mark.parametrize("overrides", OVERRIDES, ids=lambda o: " ".join(o) or "none")
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_same_result_as_hydra(example: Path, overrides: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the simple path answers, its config equals Hydra's, key for key."""
    monkeypatch.setenv("NEL_OUTPUT_DIR", "/tmp/from-env")
    packages = config_packages()
    simple = compose_simple(example, overrides, packages)
    try:
        expected = compose_with_hydra(example, overrides, packages)
    except Exception:  # noqa: BLE001 - Hydra refuses it: the simple path must not answer
        assert simple is None
        return
    if simple is not None:
        expected.pop("hydra", None)
        assert simple == expected


def test_the_quickstart_and_its_usual_overrides_take_the_simple_path() -> None:
    """The quickstart with a plain override is composed without Hydra."""
    quickstart = next(p for p in EXAMPLES if p.name == "quickstart.yaml")
    assert compose_simple(quickstart, ["execution.output_dir=/tmp/o"], config_packages()) is not None


@pytest.mark.parametrize(
    "overrides",
    [
        ["deployment=vllm"],  # a group override
        ["execution.output_dir=[a,b]"],  # a list
        ["execution.no_such_key=1"],  # a new key without +
        ["+execution.output_dir=/x"],  # + on a key that exists
        ["execution.output_dir='quoted dir'"],  # quotes
        ["~execution.output_dir"],  # a deletion
    ],
)
def test_what_only_hydra_does_goes_to_hydra(overrides: list[str]) -> None:
    """Group overrides, Hydra's value syntax and errors are left to Hydra (None)."""
    quickstart = next(p for p in EXAMPLES if p.name == "quickstart.yaml")
    assert compose_simple(quickstart, overrides, config_packages()) is None


def test_a_group_file_with_its_own_defaults_goes_to_hydra(tmp_path: Path) -> None:
    """``deployment: vllm_ray`` (whose file has a defaults list) is composed by Hydra."""
    config = tmp_path / "c.yaml"
    config.write_text("defaults:\n  - execution: local\n  - deployment: vllm_ray\n  - _self_\n")
    assert compose_simple(config, [], config_packages()) is None
