"""Config errors: one line naming the dotted path, with a did-you-mean hint where one helps."""

from __future__ import annotations

from typing import Any

import pytest

from nel_core.converter import structure_run_config
from nel_core.errors import ConfigError
from nel_core.models.config import ExecutionConfig
from nel_core.testing import FakeExecutionConfig


def _error(**sections: Any) -> ConfigError:
    data = {"execution": {"type": "fake", "output_dir": "out"}, **sections}
    with pytest.raises(ConfigError) as caught:
        structure_run_config(data, FakeExecutionConfig)
    return caught.value


def test_misspelled_task_key_names_path_and_suggests() -> None:
    """A misspelled key in a task names its dotted path and suggests the right key there."""
    error = _error(evaluation={"tasks": [{"name": "a", "nemo_evaluater_config": {}}]})
    assert error.message == "evaluation.tasks[0].nemo_evaluater_config: unknown key"
    assert error.hint == "did you mean 'evaluation.tasks[0].nemo_evaluator_config'?"


def test_misspelled_key_in_a_later_list_item() -> None:
    """The index in the path is the index of the offending item."""
    error = _error(evaluation={"tasks": [{"name": "a"}, {"name": "b", "containr": "img"}]})
    assert error.message == "evaluation.tasks[1].containr: unknown key"
    assert error.hint == "did you mean 'evaluation.tasks[1].container'?"


def test_misspelled_nested_keys() -> None:
    """Unknown keys deep in sections are named with their full path."""
    error = _error(target={"api_endpoint": {"model_idd": "m"}})
    assert error.message == "target.api_endpoint.model_idd: unknown key"
    assert error.hint == "did you mean 'target.api_endpoint.model_id'?"
    error = _error(deployment={"type": "vllm", "prot": 1})
    assert (error.message, error.hint) == (
        "deployment.prot: unknown key",
        "did you mean 'deployment.port'?",
    )


def test_unknown_key_without_a_close_one_lists_valid_keys() -> None:
    """An unknown key close to nothing gets the list of valid keys as its hint."""
    error = _error(target={"zzzzzz": 1})
    assert error.message == "target.zzzzzz: unknown key"
    assert error.hint == "valid keys: api_endpoint"


def test_misspelled_execution_key() -> None:
    """The executor's own section reports unknown keys with its path too."""
    with pytest.raises(ConfigError) as caught:
        structure_run_config({"execution": {"type": "x", "outptu_dir": "o"}}, ExecutionConfig)
    assert caught.value.message == "execution.outptu_dir: unknown key"
    assert caught.value.hint == "did you mean 'execution.output_dir'?"


def test_misspelled_required_key_is_reported_as_misspelled() -> None:
    """A misspelled required key is reported as the unknown key (with a hint), not as missing."""
    error = _error(evaluation={"tasks": [{"nmae": "mmlu"}]})
    assert error.message == "evaluation.tasks[0].nmae: unknown key"
    assert error.hint == "did you mean 'evaluation.tasks[0].name'?"


def test_missing_required_key() -> None:
    """A missing required key is named with its path."""
    error = _error(evaluation={"tasks": [{"container": "img"}]})
    assert error.message == "evaluation.tasks[0].name: required key is missing"
    with pytest.raises(ConfigError, match=r"^execution\.output_dir: required key is missing$"):
        structure_run_config({"execution": {"type": "x"}}, ExecutionConfig)


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        (
            {"evaluation": {"tasks": [{"name": ["a"]}]}},
            "evaluation.tasks[0].name: expected a string, got list",
        ),
        ({"evaluation": {"tasks": "mmlu"}}, "evaluation.tasks: expected a list, got str"),
        ({"evaluation": {"tasks": 5}}, "evaluation.tasks: expected a list, got int"),
        ({"env_vars": {"A": [1]}}, "env_vars.A: expected a string, got list"),
        (
            {"evaluation": {"tasks": [{"name": "a", "env_vars": {"X": {"y": 1}}}]}},
            "evaluation.tasks[0].env_vars.X: expected a string, got dict",
        ),
        (
            {"target": {"api_endpoint": {"url": {"a": 1}}}},
            "target.api_endpoint.url: expected a string, got dict",
        ),
        (
            {"deployment": {"type": "vllm", "port": "abc"}},
            "deployment.port: expected an integer, got 'abc'",
        ),
        (
            {"deployment": {"type": "vllm", "tensor_parallel_size": 1.5}},
            "deployment.tensor_parallel_size: expected an integer, got 1.5",
        ),
        (
            {"deployment": {"type": "vllm", "port": True}},
            "deployment.port: expected an integer, got True",
        ),
        (
            {"deployment": {"type": "vllm", "gpu_memory_utilization": "lots"}},
            "deployment.gpu_memory_utilization: expected a number, got 'lots'",
        ),
        ({"deployment": "vllm"}, "deployment: expected a mapping, got str"),
        ({"evaluation": "x"}, "evaluation: expected a mapping"),
        ({"export": {"x": 3}}, "export.x: expected a mapping"),
    ],
)
def test_wrong_types_name_the_key(sections: dict[str, Any], message: str) -> None:
    """A value of the wrong type is one error naming its dotted path and what was expected."""
    assert _error(**sections).message == message


def test_string_false_is_not_true() -> None:
    """A boolean written as an unrecognised string is an error, not silently true."""
    with pytest.raises(ConfigError, match=r"^execution\.jobs_succeed: expected true or false"):
        structure_run_config(
            {"execution": {"type": "fake", "output_dir": "o", "jobs_succeed": "maybe"}},
            FakeExecutionConfig,
        )


def test_unknown_deployment_type_suggests_the_closest() -> None:
    """An unknown deployment type lists the installed ones and suggests the closest."""
    error = _error(deployment={"type": "vlm"})
    assert error.message.startswith("deployment: unknown deployment type 'vlm' (installed: ")
    for known in ("none", "vllm", "sglang", "nim", "trtllm", "generic", "llama_cpp"):
        assert known in error.message
    assert error.hint == "did you mean 'vllm'?"


def test_unknown_auxiliary_deployment_names_its_entry() -> None:
    """Errors inside a mapping of deployments name the entry's key in the path."""
    error = _error(auxiliary_deployments={"judge": {"type": "vllm", "prot": 1}})
    assert error.message == "auxiliary_deployments.judge.prot: unknown key"
    assert error.hint == "did you mean 'auxiliary_deployments.judge.port'?"


def test_top_level_must_be_a_mapping() -> None:
    """A config that is not a mapping is refused at the top level."""
    with pytest.raises(ConfigError, match="top level"):
        structure_run_config(["x"], ExecutionConfig)  # type: ignore[arg-type]


def test_error_messages_are_one_line() -> None:
    """Every error message above is a single line (the CLI prints it after 'error: ')."""
    error = _error(evaluation={"tasks": [{"name": "a", "nemo_evaluater_config": {}}]})
    assert "\n" not in error.message and "\n" not in (error.hint or "")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "expected a number between 0 and 1, got 1.5"),
        (-0.01, "expected a number between 0 and 1, got -0.01"),
        (float("nan"), "expected a number between 0 and 1, got nan"),
        ("often", "expected a number, got 'often'"),
        (True, "expected a number, got True"),
        (None, "expected a number, got None"),
        ([0.1], "expected a number, got [0.1]"),
    ],
)
def test_max_failure_rate_out_of_range_or_not_a_number(value: Any, message: str) -> None:
    """evaluation.max_failure_rate must be a number in [0, 1]: one line naming the key otherwise."""
    error = _error(evaluation={"tasks": [{"name": "a"}], "max_failure_rate": value})
    assert error.message == f"evaluation.max_failure_rate: {message}"
    assert "\n" not in error.message


@pytest.mark.parametrize(("value", "rate"), [(0, 0.0), (1, 1.0), ("0.25", 0.25), (0.05, 0.05)])
def test_max_failure_rate_accepts_the_unit_interval(value: Any, rate: float) -> None:
    """Numbers from 0 to 1 (and their spellings as YAML strings) are accepted as they are."""
    data = {"execution": {"type": "fake", "output_dir": "out"}, "evaluation": {"max_failure_rate": value}}
    assert structure_run_config(data, FakeExecutionConfig).evaluation.max_failure_rate == rate


def test_max_failure_rate_defaults_to_five_percent() -> None:
    """Unset, a job may have 5% of its requests fail."""
    data = {"execution": {"type": "fake", "output_dir": "out"}}
    assert structure_run_config(data, FakeExecutionConfig).evaluation.max_failure_rate == 0.05
