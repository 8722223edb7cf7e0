"""Plugins: executors, exporters, runtimes, deployment types and config groups from entry points.

The two test distributions are installed as a user installs a plugin: ``tests/fake_executor_plugin``
(executor ``fake`` and its Hydra group ``execution/fake.yaml``) and ``tests/plugin_example``
(runtime ``example-shell``, deployment type ``example_server`` with ``deployment/example_server.yaml``,
exporter ``example-jsonl``). Broken plugins are simulated by adding entry points to the ones
installed, in process.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import pytest
import yaml

from nel_core import plugins
from nel_core.converter import structure
from nel_core.errors import PluginError
from nel_core.models.config import DeploymentConfig
from nel_core.models.domain import ContainerSpec
from nel_core.ports.container_runtime import ContainerRuntime
from nel_core.ports.result_exporter import ResultExporter
from nel_core.testing.contracts import ContainerRuntimeContract, ResultExporterContract

from .conftest import Nel, fake_config


@pytest.fixture(scope="module", autouse=True)
def _example_plugin_installed() -> None:
    """These tests need the example plugin registered through its entry points."""
    if "example_server" not in {ep.name for ep in entry_points(group="nel.deployments")}:
        pytest.fail("the example plugin is not installed: pip install -e tests/plugin_example", pytrace=False)


def plugin_config(out: Path, deployment: str = "example_server", execution: str = "fake") -> str:
    """A config that takes its execution and deployment sections from the plugins' Hydra groups."""
    return textwrap.dedent(
        f"""\
        defaults:
          - execution: {execution}
          - deployment: {deployment}
          - _self_
        execution:
          output_dir: {out}
        deployment:
          command: example-serve --model /models/tiny --port 8123
          port: 8123
        target:
          api_endpoint:
            model_id: tiny-model
        evaluation:
          tasks:
            - name: nel_bench.arithmetic
        """
    )


def _error_lines(result: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert lines and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    hint = lines[1] if len(lines) > 1 else ""
    return lines[0], hint


# ----------------------------------------------------------------------------- through the CLI


def test_plugin_config_groups_compose_and_the_plugin_plan_serves(nel: Nel) -> None:
    """``- execution: fake`` and ``- deployment: example_server`` resolve; the dry run shows the plugin's server."""
    nel.write("cfg.yaml", plugin_config(nel.out))
    result = nel("run", "--config", "cfg.yaml", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "on executor 'fake'" in result.stdout
    assert (
        "# deployment: example_server, started once for all jobs: "
        "example-serve --model /models/tiny --port 8123"
    ) in result.stdout
    # The URL comes from the plugin's plan (its endpoints), not from a guess of the executor.
    run_config = yaml.safe_load(result.stdout.split("run_config.yml =====\n", 1)[1].split("=====", 1)[0])
    assert run_config["target"]["api_endpoint"]["url"] == "http://127.0.0.1:8123/v1/chat/completions"
    assert run_config["target"]["api_endpoint"]["model_id"] == "tiny-model"
    assert nel.rows() is None and not nel.out.exists()


def test_plugin_deployment_keys_are_checked(nel: Nel) -> None:
    """A misspelled key of a plugin's deployment is rejected with the plugin class's closest key."""
    nel.write("cfg.yaml", plugin_config(nel.out).replace("  port: 8123\n", "  port: 8123\n  helth_path: /up\n"))
    error, hint = _error_lines(nel("run", "--config", "cfg.yaml", "--dry-run"))
    assert "deployment.helth_path: unknown key" in error
    assert hint == "hint: did you mean 'deployment.health_path'?"


def test_unknown_deployment_type_lists_the_installed_ones(nel: Nel) -> None:
    """An unknown deployment type lists NEL's types and the plugins', and suggests the closest."""
    nel.write("cfg.yaml", fake_config(nel.out, extra="deployment:\n  type: example_srver\n  command: x\n"))
    error, hint = _error_lines(nel("run", "--config", "cfg.yaml", "--dry-run"))
    assert "deployment: unknown deployment type 'example_srver' (installed: " in error
    for name in ("example_server", "none", "vllm", "llama_cpp"):
        assert name in error
    assert hint == "hint: did you mean 'example_server'?"


@pytest.mark.parametrize(
    ("group", "expected"),
    [("execution", ("fake", "local", "slurm/default")), ("deployment", ("example_server", "vllm", "none"))],
)
def test_unknown_group_option_lists_the_plugins_options(nel: Nel, group: str, expected: tuple[str, ...]) -> None:
    """``- <group>: nosuch`` fails with a hint listing the options of NEL and of every plugin."""
    config = plugin_config(nel.out, **{group: "nosuch"})  # type: ignore[arg-type]
    nel.write("cfg.yaml", config)
    error, hint = _error_lines(nel("run", "--config", "cfg.yaml", "--dry-run"))
    assert f"Could not find '{group}/nosuch'" in error
    assert hint.startswith("hint: available: "), hint
    listed = hint.removeprefix("hint: available: ").split(", ")
    assert set(expected) <= set(listed), listed


def test_export_to_the_plugin_exporter_twice_writes_each_job_once(nel: Nel) -> None:
    """``export --dest example-jsonl`` writes one line per job; exporting again adds none."""
    nel.write("cfg.yaml", fake_config(nel.out, "simple_evals.mmlu_pro", "nel_bench.arithmetic"))
    launched = json.loads(nel("run", "--config", "cfg.yaml", "--json").stdout)
    target = nel.root / "exports" / "results.jsonl"
    for _ in range(2):
        result = nel("export", launched["invocation_id"], "--dest", "example-jsonl", "-o", f"path={target}", "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["location"] == str(target)
    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert sorted(r["job_id"] for r in records) == sorted(j["id"] for j in launched["jobs"])
    assert all(r["invocation_id"] == launched["invocation_id"] and r["scores"] for r in records)


def test_version_lists_plugin_parts(nel: Nel) -> None:
    """``nel version`` names the plugins' exporters, runtimes and deployment types."""
    result = nel("version")
    assert result.returncode == 0, result.stderr
    assert "example-jsonl" in result.stdout
    assert re.search(r"^runtimes: .*\bexample-shell\b", result.stdout, flags=re.MULTILINE)
    assert "example_server" in result.stdout


# ----------------------------------------------------------------------------- the registry


@pytest.fixture
def add_entry_point(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str, str], None]]:
    """Add an entry point (group, name, value) to the installed ones; the registry's cache is reset."""
    extra: list[EntryPoint] = []
    installed = plugins.entry_points

    def patched() -> list[EntryPoint]:
        found = installed()
        flat = [e for entries in dict.values(found) for e in entries] if isinstance(found, dict) else list(found)
        return [*flat, *extra]

    def add(group: str, name: str, value: str) -> None:
        extra.append(EntryPoint(name=name, value=value, group=group))
        plugins.clear_cache()

    monkeypatch.setattr(plugins, "entry_points", patched)
    plugins.clear_cache()
    yield add
    plugins.clear_cache()


@pytest.fixture
def raising_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The name of an importable module that raises when imported (a plugin missing a library)."""
    name = f"nel_test_broken_{os.getpid()}_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text("raise RuntimeError('needs libexample.so')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_plugin_that_raises_on_load_is_reported_as_such(
    add_entry_point: Callable[[str, str, str], None], raising_module: str
) -> None:
    """An executor whose module raises on import is a PluginError 'cannot be loaded', not 'unknown'."""
    add_entry_point("nel.executors", "broken", f"{raising_module}:SPEC")
    assert "broken" in plugins.executor_names()
    with pytest.raises(PluginError) as caught:
        plugins.load_executor("broken")
    message = caught.value.message
    assert message.startswith("execution.type: executor 'broken' cannot be loaded from ")
    assert "RuntimeError: needs libexample.so" in message and "unknown" not in message


def test_deployment_plugin_that_raises_fails_structuring_with_its_name(
    add_entry_point: Callable[[str, str, str], None], raising_module: str
) -> None:
    """A deployment type whose plugin raises on load makes structuring fail with a PluginError naming it."""
    add_entry_point("nel.deployments", "broken_server", f"{raising_module}:SPEC")
    with pytest.raises(PluginError, match=r"^deployment: deployment type 'broken_server' cannot be loaded"):
        structure({"type": "none"}, DeploymentConfig, path="deployment")


def test_entry_point_naming_the_wrong_object_cannot_be_loaded(
    add_entry_point: Callable[[str, str, str], None],
) -> None:
    """An entry point whose object is not the group's spec (or is named otherwise) is refused."""
    add_entry_point("nel.executors", "misfiled", "nel_core.testing:FAKE_EXPORTER_SPEC")
    with pytest.raises(PluginError, match=r"expected ExecutorSpec\(name='misfiled'\), found ExporterSpec"):
        plugins.load_executor("misfiled")


def test_plugin_may_not_replace_a_builtin_deployment_type(add_entry_point: Callable[[str, str, str], None]) -> None:
    """A plugin registering a deployment type named like one of NEL's own is an error, not an override."""
    add_entry_point("nel.deployments", "vllm", "nel_plugin_example:DEPLOYMENT_SPEC")
    with pytest.raises(PluginError, match=r"deployment type 'vllm' of .* would replace NEL's own"):
        plugins.deployment_types()


def test_name_registered_twice_is_ambiguous(add_entry_point: Callable[[str, str, str], None]) -> None:
    """Two entry points with one name in a group make loading that name an error naming both."""
    add_entry_point("nel.exporters", "example-jsonl", "elsewhere:SPEC")
    with pytest.raises(PluginError, match=r"'example-jsonl' is registered more than once: .*elsewhere:SPEC"):
        plugins.load_exporter("example-jsonl")


def test_unknown_names_list_the_installed_and_a_suggestion() -> None:
    """An unknown runtime lists the installed ones and suggests the closest name."""
    with pytest.raises(PluginError) as caught:
        plugins.load_runtime("example-shel")
    message = caught.value.message
    assert message.startswith("execution.runtime: unknown container runtime 'example-shel' (installed: ")
    assert "example-shell" in message.partition("(installed: ")[2]
    assert caught.value.hint == "did you mean 'example-shell'?"


@pytest.mark.parametrize(
    ("load", "name", "package"),
    [
        (plugins.load_executor, "lepton", "nel-executor-lepton"),
    ],
)
def test_planned_names_are_not_offered_for_install(load: Callable[[str], Any], name: str, package: str) -> None:
    """A planned exporter or executor is reported as not implemented, never as a package to pip install."""
    with pytest.raises(PluginError) as caught:
        load(name)
    assert caught.value.hint is not None
    assert "pip install" not in caught.value.hint
    assert caught.value.hint.endswith(f"is not implemented yet ({package} is a placeholder)")


def test_config_packages_are_the_plugins() -> None:
    """The config packages of both test plugins and of the Slurm executor are listed, in entry-point name order."""
    expected = ["nel_plugin_example.conf", "nel_test_fake_executor.conf", "nel_executor_slurm.conf"]
    assert plugins.config_packages() == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [("nel_no_such_package_7f3a.conf", "cannot be loaded"), ("my_plugin:conf", "is not a package name")],
)
def test_bad_config_package_is_an_error(
    add_entry_point: Callable[[str, str, str], None], value: str, message: str
) -> None:
    """A ``nel.config`` entry that names no importable package is a PluginError, not a silent skip."""
    add_entry_point("nel.config", "bad", value)
    with pytest.raises(PluginError, match=message):
        plugins.config_packages()


def test_deployment_types_hold_core_and_plugin_types() -> None:
    """NEL's own types come with core's server plans; the plugin's carries its config class and plan."""
    types = plugins.deployment_types()
    assert types["vllm"].plan is not None and types["vllm"].package == "nel-core"
    assert types["none"].plan is not None
    example = types["example_server"]
    assert example.package == "nel-plugin-example" and example.plan is not None
    assert example.config_type.__name__ == "ExampleServerDeployment"


def test_discovery_imports_no_plugin() -> None:
    """Importing nel_core.plugins and listing names imports no plugin module."""
    probe = (
        "import sys; from nel_core import plugins; "
        "plugins.executor_names(); plugins.runtime_names(); plugins.deployment_type_names(); "
        "print(sorted(m for m in sys.modules if m.startswith(('nel_plugin_example', 'nel_test_fake'))))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- the example runtime


def test_example_runtime_render_runs_for_real(tmp_path: Path) -> None:
    """The rendered argv runs the spec's command in its workdir, with env names passed through."""
    runtime = plugins.load_runtime("example-shell").factory({})
    spec = ContainerSpec(
        image="unused",
        command=["sh", "-c", 'printf "%s|" "$GREETING" "$(pwd)" "$@"', "argv0", "two words", "x"],
        env_names=["GREETING"],
        workdir=str(tmp_path),
    )
    argv = runtime.render(spec)
    assert argv[:2] == ["sh", "-c"]
    result = subprocess.run(argv, env={**os.environ, "GREETING": "hello"}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"hello|{tmp_path}|two words|x|"


# ----------------------------------------------------------------------------- contracts


class TestExampleShellRuntimeContract(ContainerRuntimeContract):
    """The example plugin's runtime passes core's ContainerRuntime contract (render only: no DIRECT_RUN)."""

    renders_image = False
    renders_mounts = False

    @pytest.fixture
    def runtime(self) -> ContainerRuntime:
        return plugins.load_runtime("example-shell").factory({})


class TestExampleJsonlExporterContract(ResultExporterContract):
    """The example plugin's exporter passes core's ResultExporter contract."""

    @pytest.fixture
    def exporter(self, tmp_path: Path) -> ResultExporter:
        factory: Any = plugins.load_exporter("example-jsonl").factory
        exporter: ResultExporter = factory({"path": str(tmp_path / "dest" / "results.jsonl")})
        return exporter

    def stored(self, exporter: ResultExporter) -> list[tuple[str, dict[str, float]]]:
        path = Path(exporter.settings["path"])
        lines = path.read_text().splitlines() if path.exists() else []
        return [(record["job_id"], record["scores"]) for record in map(json.loads, lines)]

    def stored_fields(self, exporter: ResultExporter) -> dict[str, Mapping[str, str]]:
        path = Path(exporter.settings["path"])
        records = map(json.loads, path.read_text().splitlines())
        return {r["job_id"]: {"invocation_id": r["invocation_id"], "task": r["task"]} for r in records}
