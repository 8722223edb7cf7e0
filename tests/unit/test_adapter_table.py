"""The table of adapters in docs/custom-executor.md is true: every production adapter is listed
with a contract suite subclass that exists and runs in the fast tier."""

from __future__ import annotations

import ast
import importlib.util
from importlib.metadata import entry_points

from nel_core.testing import contracts

from .conftest import REPO

GUIDE = REPO / "docs" / "custom-executor.md"
GROUPS = ("nel.executors", "nel.runtimes", "nel.exporters", "nel.deployments")
#: The suites a port's adapters pass.
SUITES = {
    "Executor": (contracts.ExecutorContract, contracts.FaultInjectionContract),
    "Scheduler": (contracts.SchedulerContract,),
    "ContainerRuntime": (contracts.ContainerRuntimeContract,),
    "EndpointProvider": (contracts.EndpointProviderContract,),
    "InvocationStore": (contracts.InvocationStoreContract,),
    "ResultExporter": (contracts.ResultExporterContract,),
    "Transport": (contracts.TransportContract,),
}


def table_rows() -> list[dict[str, str]]:
    """The rows of the guide's adapter table."""
    text = GUIDE.read_text()
    section = text.split("## NEL's own adapters and their suites", 1)[1]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] not in ("adapter", "---"):
            rows.append(dict(zip(("adapter", "registered", "port", "suite", "test"), cells)))
    return rows


def production_entry_points() -> set[str]:
    """``group: name`` of every installed entry point that a production package registers."""
    found = set()
    for group in GROUPS:
        for ep in entry_points(group=group):
            module = ep.value.split(":")[0]
            if module.startswith(("nel_executor_", "nel_exporter_", "nel_core")) and ".testing" not in module:
                found.add(f"{group}: {ep.name}")
    return found


def test_every_production_entry_point_is_in_the_table() -> None:
    """Each executor, runtime, exporter and deployment type a production package registers is listed."""
    listed = {row["registered"] for row in table_rows()}
    assert production_entry_points() - listed == set()
    assert "nel.executors: local" in listed


def test_every_row_names_a_suite_subclass_in_the_fast_tier() -> None:
    """Each row's test class exists, subclasses the named suite, and sits in a fast-tier file."""
    rows = table_rows()
    assert len(rows) >= 8
    for row in rows:
        path, _, class_name = row["test"].partition("::")
        file = REPO / path
        assert file.is_file(), row
        assert "integration" not in file.parts, row
        tree = ast.parse(file.read_text())
        assert not any("integration" in ast.unparse(node) for node in tree.body if isinstance(node, ast.Assign)
                       and any(getattr(t, "id", "") == "pytestmark" for t in node.targets)), row  # fmt: skip
        suite = getattr(contracts, row["suite"])
        spec = importlib.util.spec_from_file_location(f"adapter_table_{len(path)}_{file.stem}", file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert issubclass(getattr(module, class_name), suite), row
        assert suite in SUITES[row["port"]], row
