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
import shlex
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
        started = last = time.monotonic()
        for line in process.stdout:
            tail = (tail + [line.rstrip()])[-15:]
            if time.monotonic() - last >= 30:  # a heartbeat, not pip's every line
                last = time.monotonic()
                _log(f"  still installing ({last - started:.0f}s)")
        if process.wait() != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise ContainerError(
                f"cannot create the environment {venv}: {' '.join(argv[-3:])} failed",
                hint="\n".join(tail[-5:]),
            )


def local_harness_path(home: Path, requirement: str, *, install: bool = False) -> Path | None:
    """Where the ``core_evals`` folders of a harness package installed beside NEL are copied.

    Returns the folder to put on PYTHONPATH, or None when ``requirement`` is not a bare name of
    a harness package installed here. The copy is made only with ``install`` (a dry run computes
    the path and writes nothing), under a lock, and published by an atomic rename: concurrent
    first runs all find it complete.
    """
    from importlib import metadata

    if not requirement or any(c in requirement for c in "<>=!~[]@; "):
        return None
    try:
        dist = metadata.distribution(requirement)
    except metadata.PackageNotFoundError:
        return None
    frameworks = sorted(
        {str(f).split("/")[1] for f in dist.files or () if str(f).startswith("core_evals/") and str(f).count("/") > 1}
    )
    if not frameworks and "editable" in (dist.read_text("direct_url.json") or ""):
        frameworks = _editable_frameworks()
    if not frameworks:
        return None
    target = home / "harnesses" / f"{requirement}-{dist.version}"
    if not install or (target / _READY).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another nel may be copying the same harness
        if (target / _READY).exists():
            return target
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        for name in frameworks:
            spec = importlib.util.find_spec(f"core_evals.{name}")
            if not (spec and spec.submodule_search_locations):
                continue
            source = Path(list(spec.submodule_search_locations)[0])
            shutil.copytree(source, partial / "core_evals" / source.name, ignore=shutil.ignore_patterns("__pycache__"))
        (partial / _READY).write_text(requirement + "\n")
        shutil.rmtree(target, ignore_errors=True)  # an incomplete copy of an older NEL
        os.rename(partial, target)
    return target


def _editable_frameworks() -> list[str]:
    # Editable installs list no files under core_evals/: look at the namespace instead.
    spec = importlib.util.find_spec("core_evals")
    names: set[str] = set()
    for location in (spec.submodule_search_locations or []) if spec else []:
        names.update(p.name for p in Path(location).iterdir() if (p / "framework.yml").exists())
    return sorted(names)


class ProcessRuntime(ContainerRuntime):
    """Runs a spec's command on the host, without a container, in the environment of its requirements.

    The spec's ``requirements`` are pip-installed once into a cached venv (its ``bin`` goes
    first on PATH); requirements that are installed beside NEL itself (NEL's ``nel-harness``)
    are put on PYTHONPATH from a copy instead. Env values come from the caller's environment;
    mounts do not exist here (no MOUNTS capability): jobs use host paths.

    Args:
        home: ``NEL_HOME``, under which environments and harness copies are cached.
    """

    name: ClassVar[str] = "process"

    def __init__(self, home: Path) -> None:
        self.home = home
        self.venvs = VenvManager(home)

    def _split(self, spec: ContainerSpec) -> tuple[list[str], list[str]]:
        """(pip requirements, harness packages installed beside NEL) of ``spec``."""
        local = [r for r in spec.requirements if local_harness_path(self.home, r) is not None]
        return [r for r in spec.requirements if r not in local], local

    def render(self, spec: ContainerSpec) -> list[str]:
        pip, local = self._split(spec)
        exports = []
        if pip:
            exports.append(f'export PATH={shlex.quote(str(self.venvs.path_for(pip) / "bin"))}:"$PATH"')
        paths = [str(local_harness_path(self.home, package)) for package in local]
        if paths:
            joined = shlex.quote(":".join(paths))
            exports.append(f"export PYTHONPATH={joined}${{PYTHONPATH:+:$PYTHONPATH}}")
        if spec.workdir:
            exports.append(f"cd {shlex.quote(spec.workdir)}")
        if not exports:
            return list(spec.command)
        return ["sh", "-c", "; ".join(exports) + '; exec "$@"', "nel-process", *spec.command]

    def prepare(self, spec: ContainerSpec) -> None:
        pip, local = self._split(spec)
        if pip:
            self.venvs.ensure(pip, label=" ".join(pip))
        for package in local:
            local_harness_path(self.home, package, install=True)
