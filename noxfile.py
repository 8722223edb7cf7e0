"""Sessions: lint, typecheck, per-package tests, contracts, boundaries, examples, integration, benchmarks.

`nox` runs the default sessions (everything but benchmarks). The integration session needs the
services of `scripts/infra.sh` (its `env` output in the environment); `.ci/run` starts them.

Every session but lint runs in one shared virtualenv, `.nox/nel`: NEL's packages (editable), the
test plugins, the test tools and the type checker. It is built once and rebuilt only when what it
was built from changes (a pyproject, the harness's version, the tool list, the Python); lint has
its own small one, `.nox/lint-tools`. Editable installs make source edits visible without a rebuild.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import nox

nox.options.sessions = [
    "lint",
    "typecheck",
    "tests",
    "contracts",
    "boundaries",
    "examples",
    "integration",
]
nox.options.error_on_missing_interpreters = False

ROOT = Path(__file__).parent
CORE = "packages/core"
CLI = "packages/cli"
LOCAL = "packages/executor-local"
HARNESS = "packages/harness"
SSH = "packages/ssh"
SLURM = "packages/executor-slurm"
EXPORTERS = [str(p) for p in sorted((ROOT / "packages/exporters").iterdir()) if (p / "pyproject.toml").exists()]
SHELLS = ["packages/executor-slurm", "packages/executor-lepton", *EXPORTERS]
PACKAGES = [CORE, CLI, LOCAL, HARNESS, SSH, *SHELLS]
#: Test-only distributions: plugins installed as a user installs one (tests/unit uses them).
TEST_PLUGINS = ["tests/fake_executor_plugin", "tests/plugin_example"]
# SciPy only checks NEL's own statistics (nel_core.results.stats), which never import it.
# google-api-python-client: Google's discovery documents, against which the Sheets stand-in is checked.
TEST_TOOLS = [
    "pytest>=8", "hypothesis>=6", "pyyaml>=6", "nemo-evaluator==0.1.95", "scipy>=1.11", "google-api-python-client",
]  # fmt: skip
# nemo-evaluator is also what types the harness (from its sources).
TYPE_TOOLS = ["mypy>=1.10", "types-PyYAML", "types-docker", "types-paramiko"]
TEST_ENV = {"NEMO_EVALUATOR_TELEMETRY_LEVEL": "0", "PYTHONDONTWRITEBYTECODE": "1"}
#: The build backend of every package, installed first so editable builds need no isolated env each.
BUILD_BACKEND = "setuptools>=77"
#: The harness's version is read from its sources (dynamic metadata): a change re-installs it.
HARNESS_VERSION_FILE = f"{HARNESS}/src/core_evals/nel_bench/__init__.py"
ENV_DIR = ROOT / ".nox"
NEL_ENV = ENV_DIR / "nel"
_OUTER_PATH = os.environ.get("PATH", os.defpath)


def _fingerprint(requirements: Sequence[str], editables: Sequence[str]) -> str:
    """What an environment is built from: a change of any part means a rebuild."""
    files = [f"{p}/pyproject.toml" for p in editables]
    if HARNESS in editables:
        files.append(HARNESS_VERSION_FILE)
    return json.dumps(
        {
            "python": [sys.executable, sys.version],
            "requirements": list(requirements),
            "editables": list(editables),
            "files": {f: hashlib.sha256((ROOT / f).read_bytes()).hexdigest() for f in files},
        },
        indent=1,
    )


def _environment(session: nox.Session, venv: Path, requirements: Sequence[str], editables: Sequence[str] = ()) -> None:
    """Build ``venv`` unless it was built from the same inputs, then run this session's commands in it.

    The sessions are declared with ``venv_backend="none"`` and nox finds their programs on PATH, so
    putting the venv's ``bin`` first is what makes ``session.run("pytest", ...)`` use it.
    """
    stamp = venv / ".nel-built-from.json"
    wanted = _fingerprint(requirements, editables)
    ENV_DIR.mkdir(exist_ok=True)
    with open(ENV_DIR / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another nox may be building the same environment
        if stamp.exists() and stamp.read_text() == wanted:
            session.log(f"{venv.relative_to(ROOT)} is up to date")
        else:
            session.log(f"building {venv.relative_to(ROOT)} (once; again only when its inputs change)")
            session.run(sys.executable, "-m", "venv", "--clear", str(venv))
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
            session.run(*pip, *requirements, *([BUILD_BACKEND] if editables else []))
            if editables:
                session.run(*pip, "--no-build-isolation", *[arg for p in editables for arg in ("-e", p)])
            # Written last: an interrupted build leaves no stamp and is rebuilt next time.
            stamp.write_text(wanted)
    os.environ["PATH"] = os.pathsep.join([str(venv / "bin"), _OUTER_PATH])
    os.environ["VIRTUAL_ENV"] = str(venv)


def _nel_environment(session: nox.Session) -> None:
    """The shared environment of every session but lint."""
    _environment(session, NEL_ENV, [*TEST_TOOLS, *TYPE_TOOLS], [*PACKAGES, *TEST_PLUGINS])


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """Ruff over the whole tree."""
    _environment(session, ENV_DIR / "lint-tools", ["ruff>=0.6"])
    session.run("ruff", "check", ".")


@nox.session(venv_backend="none")
def typecheck(session: nox.Session) -> None:
    """mypy --strict on every package: core, the CLI, the adapters, the harness, the test plugins."""
    _nel_environment(session)
    packages = [p for p in (*PACKAGES, *TEST_PLUGINS) if p != HARNESS]
    sources = sorted(
        str(s.relative_to(ROOT))
        for p in packages
        for s in (ROOT / p / "src").glob("nel_*")
        if s.is_dir() and not s.name.endswith(".egg-info")
    )
    session.run("mypy", "--strict", *sources)
    session.run("mypy", "--strict", f"{HARNESS}/src/core_evals/nel_bench", f"{HARNESS}/scripts")


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """The fast tier of every package: unit tests (seconds, no services)."""
    _nel_environment(session)
    for package in PACKAGES:
        if list((ROOT / package).glob("tests/test_*.py")):
            session.run(
                "pytest", f"{package}/tests", "-m", "not integration", "-q", "-ra",
                "--ignore", f"{package}/tests/integration", env=TEST_ENV,
            )  # fmt: skip
    session.run("pytest", "tests/unit", "-q", "-ra", env=TEST_ENV)


@nox.session(venv_backend="none")
def contracts(session: nox.Session) -> None:
    """The port contract suites, run against every fake, adapter and test plugin that subclasses them."""
    _nel_environment(session)
    session.run("pytest", "-q", "-ra", "-k", "Contract", CORE, LOCAL, SSH, SLURM, *EXPORTERS, "tests/unit",
                "-m", "not integration", env=TEST_ENV)  # fmt: skip


@nox.session(venv_backend="none")
def boundaries(session: nox.Session) -> None:
    """Core imports no adapter nor SDK; adapters do not import each other."""
    _nel_environment(session)
    session.run("pytest", "-q", "-ra", "tests/unit/test_import_boundaries.py", env=TEST_ENV)


@nox.session(venv_backend="none")
def examples(session: nox.Session) -> None:
    """Every file in examples/ dry-runs."""
    _nel_environment(session)
    tmp = os.path.abspath(session.create_tmp())  # a remote executor (slurm) needs an absolute output_dir
    # A dry run fails while a host: variable the run reads is unset: give every one the examples read a value.
    examples = sorted((ROOT / "examples").glob("*.yaml"))
    variables = {name for e in examples for name in re.findall(r"host:([A-Za-z_][A-Za-z0-9_]*)", e.read_text())}
    env = {**TEST_ENV, "NEL_HOME": os.path.join(tmp, "nel-home"), **{name: "x" for name in variables}}
    for example in examples:
        session.run("nel", "run", "--config", str(example), "--dry-run",
                    "-o", f"execution.output_dir={tmp}/out", env=env, silent=True)  # fmt: skip
        session.log(f"dry-run ok: {example.name}")


@nox.session(venv_backend="none")
def integration(session: nox.Session) -> None:
    """The integration tier: real engines, the real harness, a real model server and MLflow server.

    The exporters' clients (MLflow's ``mlflow-skinny``, ...) come with their packages; the MLflow
    server itself runs from its own venv (``scripts/infra.sh start mlflow``).
    """
    _nel_environment(session)
    # The session's venv has nemo-evaluator and nel-harness: the harness's own real-run tests use it.
    env = {**TEST_ENV, "NEL_TEST_HARNESS_VENV": str(NEL_ENV)}
    session.run("pytest", "-m", "integration", "-ra", "-v", "--durations=10", *PACKAGES, "tests", env=env)


@nox.session(venv_backend="none")
def benchmarks(session: nox.Session) -> None:
    """Speed of NEL against NeMo Evaluator Launcher 0.2.6 (CLI, Slurm), of `nel report`, of the local executor,
    throughput.

    The local-executor part needs the model server of `scripts/infra.sh start llm` (NEL_TEST_LLM_URL);
    the Slurm part the cluster and sshd of `scripts/infra.sh start slurm sshd`;
    the throughput part starts its own llama.cpp server from that recipe's venv and model (or skips it).
    """
    _nel_environment(session)
    session.run("python", "benchmarks/run.py", *session.posargs, env=TEST_ENV)
    session.run("python", "benchmarks/report.py", env=TEST_ENV)
    if os.environ.get("NEL_TEST_LLM_URL"):
        session.run("python", "benchmarks/local.py", env=TEST_ENV)
    else:
        session.warn("NEL_TEST_LLM_URL is not set: skipping benchmarks/local.py (scripts/infra.sh start llm)")
    if os.environ.get("NEL_TEST_SSH_KEY") and os.environ.get("NEL_TEST_SLURM_ACCOUNT"):
        session.run("python", "benchmarks/slurm.py", env=TEST_ENV)
    else:
        session.warn("no test cluster: skipping benchmarks/slurm.py (scripts/infra.sh start slurm sshd)")
    session.run("python", "benchmarks/throughput.py", env=TEST_ENV)
