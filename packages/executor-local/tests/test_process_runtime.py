"""The process runtime's shared caches under NEL_HOME: built once, under a lock, published whole."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from nel_core.models.domain import ContainerSpec
from nel_executor_local.runtimes.process import ProcessRuntime, local_harness_path


def _copy(home: str) -> str:
    path = local_harness_path(Path(home), "nel-harness", install=True)
    assert path is not None
    return str(path)


def test_eight_processes_copy_the_harness_once_and_whole(tmp_path: Path) -> None:
    """Eight processes asking at once for the harness copy all get a complete one, and only one exists."""
    with multiprocessing.get_context("fork").Pool(8) as pool:
        paths = pool.map(_copy, [str(tmp_path)] * 8)
    assert len(set(paths)) == 1
    copy = Path(paths[0])
    assert (copy / "core_evals" / "nel_bench" / "framework.yml").is_file()
    assert (copy / ".nel-ready").is_file()
    assert sorted(p.name for p in copy.parent.iterdir() if not p.name.endswith(".lock")) == [copy.name]


def test_a_requirement_that_is_no_harness_is_installed_by_pip(tmp_path: Path) -> None:
    """Only bare names of harness packages installed beside NEL are copied; others go to the venv."""
    assert local_harness_path(tmp_path, "nemo-evaluator==0.1.95") is None
    assert local_harness_path(tmp_path, "attrs") is None  # installed, but ships no core_evals
    assert local_harness_path(tmp_path, "nel-harness") is not None


def test_render_puts_the_environment_first_without_values(tmp_path: Path) -> None:
    """render() runs the command with the venv's bin first on PATH and the harness copy on PYTHONPATH."""
    runtime = ProcessRuntime(tmp_path)
    spec = ContainerSpec(image="unused", command=["sh", "-c", "echo hi"], requirements=["pkg==1", "nel-harness"])
    argv = runtime.render(spec)
    assert argv[-3:] == ["sh", "-c", "echo hi"]
    assert str(runtime.venvs.path_for(["pkg==1"]) / "bin") in argv[2]
    assert "nel-harness-" in argv[2] and "PYTHONPATH" in argv[2]
