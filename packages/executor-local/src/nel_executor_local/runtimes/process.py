"""The ``process`` runtime: the harness command without a container, in a cached venv.

One virtual environment per set of requirements (e.g. ``nemo-evaluator==0.1.95`` plus the
harness package), created once under ``NEL_HOME/venvs`` and reused. Harness packages installed
beside NEL itself (such as NEL's own ``nel-harness``) are not fetched: their ``core_evals``
folders are copied once under ``NEL_HOME/harnesses`` and put on ``PYTHONPATH``.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from nel_core.errors import ContainerError
from nel_core.models.domain import ContainerSpec
from nel_core.ports.container_runtime import ContainerRuntime

__all__ = ["ProcessRuntime", "VenvManager"]

_READY = ".nel-ready"


def _log(message: str) -> None:
    print(f"[nel] {message}", file=sys.stderr, flush=True)


class VenvManager:
    """Creates and caches virtual environments under ``<home>/venvs``."""

    def __init__(self, home: Path) -> None:
        self.root = home / "venvs"

    def path_for(self, requirements: Sequence[str]) -> Path:
        """Where the venv of ``requirements`` lives (whether or not it exists yet)."""
        key = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:12]
        return self.root / key

    def is_ready(self, requirements: Sequence[str]) -> bool:
        """Whether the venv of ``requirements`` is complete."""
        return (self.path_for(requirements) / _READY).exists()

    def ensure(self, requirements: Sequence[str], *, label: str) -> Path:
        """The venv of ``requirements``, created on first use (with progress on stderr).

        Raises:
            ContainerError: when pip cannot install the requirements.
        """
        venv = self.path_for(requirements)
        if (venv / _READY).exists():
            return venv
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f"{venv.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another nel may be building the same venv
            if (venv / _READY).exists():
                return venv
            shutil.rmtree(venv, ignore_errors=True)
            started = time.monotonic()
            _log(f"creating the environment of {label} once: {venv}")
            _log("  installing " + " ".join(requirements))
            self._run([sys.executable, "-m", "venv", str(venv)], venv)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
            find_links = os.environ.get("NEL_PIP_FIND_LINKS")
            if find_links:
                pip += ["--find-links", find_links]
            self._run([*pip, *requirements], venv)
            (venv / _READY).write_text("\n".join(requirements) + "\n")
            _log(f"  ready in {time.monotonic() - started:.0f}s")
        return venv

    @staticmethod
    def _run(argv: list[str], venv: Path) -> None:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert process.stdout is not None
        tail: list[str] = []
        for line in process.stdout:
            tail = (tail + [line.rstrip()])[-15:]
            if line.startswith(("Collecting", "Successfully installed", "Building")):
                _log("  " + line.strip()[:120])
        if process.wait() != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise ContainerError(
                f"cannot create the environment {venv}: {' '.join(argv[-3:])} failed",
                hint="\n".join(tail[-5:]),
            )


def local_harness_path(home: Path, package: str, *, install: bool = False) -> Path | None:
    """Where the ``core_evals`` folders of ``package`` (installed beside NEL) are copied.

    Returns the folder to put on PYTHONPATH, or None when the package is not installed here.
    The copy is made only with ``install`` (a dry run computes the path and writes nothing).
    """
    from importlib import metadata

    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None
    target = home / "harnesses" / f"{package}-{dist.version}"
    if not install or (target / _READY).exists():
        return target
    frameworks = sorted(
        {str(f).split("/")[1] for f in dist.files or () if str(f).startswith("core_evals/")}
    )
    for name in frameworks or _editable_frameworks():
        spec = importlib.util.find_spec(f"core_evals.{name}")
        if not (spec and spec.submodule_search_locations):
            continue
        source = Path(list(spec.submodule_search_locations)[0])
        destination = target / "core_evals" / source.name
        shutil.rmtree(destination, ignore_errors=True)
        shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__"))
    (target / _READY).write_text(package + "\n")
    return target


def _editable_frameworks() -> list[str]:
    # Editable installs list no files under core_evals/: look at the namespace instead.
    spec = importlib.util.find_spec("core_evals")
    names: set[str] = set()
    for location in (spec.submodule_search_locations or []) if spec else []:
        names.update(p.name for p in Path(location).iterdir() if (p / "framework.yml").exists())
    return sorted(names)


class ProcessRuntime(ContainerRuntime):
    """Runs the command on the host, in the venv given by the spec's workdir-free environment."""

    name: ClassVar[str] = "process"

    def __init__(self, venv: Path | None = None) -> None:
        self.venv = venv

    def render(self, spec: ContainerSpec) -> list[str]:
        # The command runs as is; the job script puts the venv's bin first on PATH.
        return list(spec.command)
