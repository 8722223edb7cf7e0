"""Round trips of the config model and the catalog entries through the one converter."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nel_core.catalog import HarnessEntry, TaskEntry, load_catalog
from nel_core.converter import converter, structure, structure_run_config, unstructure
from nel_core.models.config import DeploymentConfig, ExecutionConfig, RunConfig
from nel_core.plugins import deployment_types
from nel_core.testing import FakeExecutionConfig
from nel_core.testing.strategies import (
    config_mappings,
    deployment_mappings,
    harness_entries,
    task_entries,
)


@settings(deadline=None)
@given(config_mappings(FakeExecutionConfig))
def test_run_config_round_trips(data: dict[str, Any]) -> None:
    """Any valid config mapping structures, unstructures and structures again to an equal config."""
    config = structure_run_config(data, FakeExecutionConfig)
    plain = unstructure(config)
    again = structure_run_config(plain, FakeExecutionConfig)
    assert again == config
    assert unstructure(again) == plain


@settings(deadline=None)
@given(config_mappings(ExecutionConfig, executor="local"))
def test_run_config_round_trips_with_the_base_execution(data: dict[str, Any]) -> None:
    """With the base ExecutionConfig the round trip holds as well."""
    config = structure_run_config(data, ExecutionConfig)
    assert structure_run_config(unstructure(config), ExecutionConfig) == config


@given(deployment_mappings())
def test_deployment_keeps_its_type(data: dict[str, Any]) -> None:
    """A deployment (NEL's own type or a plugin's) structures into the class of its ``type`` and back."""
    deployment = structure(data, DeploymentConfig, path="deployment")
    assert type(deployment) is deployment_types()[data["type"]].config_type
    plain = unstructure(deployment)
    assert plain["type"] == data["type"]
    assert structure(plain, DeploymentConfig) == deployment


@given(config_mappings(FakeExecutionConfig))
def test_unstructured_config_is_plain_data(data: dict[str, Any]) -> None:
    """An unstructured config holds only dicts, lists and scalars (it is stored as JSON)."""

    def plain(value: Any) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, (str, int, float, bool))

    assert plain(unstructure(structure_run_config(data, FakeExecutionConfig)))


def test_execution_keeps_its_executor_type() -> None:
    """The execution section keeps the executor's own keys through a round trip."""
    data = {"execution": {"type": "fake", "output_dir": "o", "jobs_succeed": False}}
    config = structure_run_config(data, FakeExecutionConfig)
    assert isinstance(config.execution, FakeExecutionConfig)
    assert unstructure(config)["execution"]["jobs_succeed"] is False


def test_defaults_fill_a_minimal_config() -> None:
    """A config naming only execution gets deployment none and empty sections."""
    config = structure_run_config({"execution": {"type": "x", "output_dir": "o"}}, ExecutionConfig)
    assert config == RunConfig(execution=ExecutionConfig(type="x", output_dir="o"))
    assert config.deployment.type == "none"


def test_bare_task_list_is_accepted() -> None:
    """``evaluation: [...]`` (NeMo Evaluator Launcher's default) is read as the task list."""
    data = {"execution": {"type": "x", "output_dir": "o"}, "evaluation": [{"name": "t"}]}
    config = structure_run_config(data, ExecutionConfig)
    assert [task.name for task in config.evaluation.tasks] == ["t"]


@given(task_entries())
def test_task_entry_round_trips(entry: TaskEntry) -> None:
    """A catalog task entry survives unstructure then structure through the converter."""
    assert converter.structure(converter.unstructure(entry), TaskEntry) == entry


@given(harness_entries())
def test_harness_entry_round_trips(entry: HarnessEntry) -> None:
    """A catalog harness entry survives unstructure then structure through the converter."""
    assert converter.structure(converter.unstructure(entry), HarnessEntry) == entry


def test_every_packaged_entry_round_trips() -> None:
    """Every task and harness of the packaged catalog round-trips through the converter."""
    catalog = load_catalog()
    for task in catalog.tasks:
        assert converter.structure(converter.unstructure(task), TaskEntry) == task
    for harness in catalog.harnesses.values():
        assert converter.structure(converter.unstructure(harness), HarnessEntry) == harness


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), ("false", False), ("No", False), ("on", True)],
)
def test_booleans_accept_their_spellings(raw: object, expected: bool) -> None:
    """Booleans accept true/false and the usual spellings, and nothing else."""
    data = {"execution": {"type": "fake", "output_dir": "o", "jobs_succeed": raw}}
    assert structure_run_config(data, FakeExecutionConfig).execution.jobs_succeed is expected


@given(st.integers(min_value=1, max_value=65535))
def test_integers_accept_integral_values(port: int) -> None:
    """An integer key takes an int, an integral float or a numeric string alike."""
    for raw in (port, float(port), str(port)):
        deployment = structure({"type": "vllm", "port": raw}, DeploymentConfig)
        assert deployment.port == port  # type: ignore[attr-defined]
