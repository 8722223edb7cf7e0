"""Composition without Hydra gives exactly Hydra's result, and leaves to Hydra what it cannot do."""

from __future__ import annotations

from pathlib import Path

import pytest

from nel_cli.compose import _register_resolvers, _use_libyaml, compose_with_hydra, config_packages
from nel_cli.compose_simple import compose_plain, compose_simple, plain_loader

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
    plain = compose_plain(example, overrides, packages)
    try:
        expected = compose_with_hydra(example, overrides, packages)
    except Exception:  # noqa: BLE001 - Hydra refuses it: the simple paths must not answer
        assert simple is None and plain is None
        return
    expected.pop("hydra", None)
    for answer in (simple, plain):
        if answer is not None:
            assert answer == expected


def test_plain_configs_skip_omegaconf_and_agree_with_hydra(tmp_path: Path) -> None:
    """A config without interpolations is composed by PyYAML alone, as Hydra composes it."""
    config = tmp_path / "plain.yaml"
    config.write_text(
        "defaults: [{execution: local}, {deployment: none}, _self_]\n"
        "execution: {output_dir: out, mode: parallel}\n"
        "target: {api_endpoint: {url: 'http://h:1/v1/chat/completions', model_id: m}}\n"
        "evaluation: {tasks: [{name: simple_evals.mmlu_pro}],\n"
        "             nemo_evaluator_config: {config: {params: {top_p: 1e-3}}}}\n"
    )
    overrides = ["execution.output_dir=/tmp/o", "+evaluation.nemo_evaluator_config.config.params.limit_samples=0.5"]
    plain = compose_plain(config, overrides, config_packages())
    assert plain is not None
    expected = compose_with_hydra(config, overrides, config_packages())
    expected.pop("hydra", None)
    assert plain == expected


def test_plain_loader_reads_scalars_as_omegaconf_does() -> None:
    """YAML 1.2 floats, no timestamps, duplicate keys refused: the same values as OmegaConf's loader."""
    import yaml
    from omegaconf._utils import get_yaml_loader

    text = "a: 1e3\nb: .5\nc: 2001-12-14\nd: 1_000\ne: .inf\nf: yes\ng: 0x1F\nh: 012\ni: 1:20\nj: ~\n"
    assert yaml.load(text, Loader=plain_loader()) == yaml.load(text, Loader=get_yaml_loader())  # noqa: S506
    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.load("a: 1\na: 2\n", Loader=plain_loader())  # noqa: S506


def test_the_quickstart_and_its_usual_overrides_take_the_simple_path() -> None:
    """The quickstart with a plain override is composed without Hydra (with OmegaConf: it interpolates)."""
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
    for example in EXAMPLES:
        assert compose_simple(example, overrides, config_packages()) is None
        assert compose_plain(example, overrides, config_packages()) is None


def test_a_group_file_with_its_own_defaults_goes_to_hydra(tmp_path: Path) -> None:
    """``deployment: vllm_ray`` (whose file has a defaults list) is composed by Hydra."""
    config = tmp_path / "c.yaml"
    config.write_text("defaults:\n  - execution: local\n  - deployment: vllm_ray\n  - _self_\n")
    assert compose_simple(config, [], config_packages()) is None
    assert compose_plain(config, [], config_packages()) is None
