"""Sessions: lint, typecheck, per-package tests, contracts, boundaries, examples, integration, benchmarks.

`nox` runs the default sessions (everything but benchmarks). The integration session needs the
services of `scripts/infra.sh` (its `env` output in the environment); `.ci/run` starts them.
"""

from __future__ import annotations

import os
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
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False

ROOT = Path(__file__).parent
CORE = "packages/core"
CLI = "packages/cli"
LOCAL = "packages/executor-local"
HARNESS = "packages/harness"
SHELLS = ["packages/executor-slurm", "packages/executor-lepton"] + [
    str(p) for p in sorted((ROOT / "packages/exporters").iterdir()) if (p / "pyproject.toml").exists()
]
PACKAGES = [CORE, CLI, LOCAL, HARNESS, *SHELLS]
#: Test-only distributions: plugins installed as a user installs one (tests/unit uses them).
TEST_PLUGINS = ["tests/fake_executor_plugin", "tests/plugin_example"]
TEST_TOOLS = ["pytest>=8", "hypothesis>=6", "pyyaml>=6", "nemo-evaluator==0.1.95"]
TEST_ENV = {"NEMO_EVALUATOR_TELEMETRY_LEVEL": "0", "PYTHONDONTWRITEBYTECODE": "1"}


def _install_all(session: nox.Session) -> None:
    session.install(*TEST_TOOLS)
    session.install(*[arg for p in PACKAGES for arg in ("-e", p)])
    session.install(*[arg for p in TEST_PLUGINS for arg in ("-e", p)])


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff over the whole tree."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on every package: core, the CLI, the adapters, the harness, the test plugins."""
    session.install("mypy>=1.10", "pytest>=8", "hypothesis>=6", "types-PyYAML", "types-docker")
    session.install("nemo-evaluator==0.1.95")  # the harness's types come from its sources
    session.install(*[arg for p in (*PACKAGES, *TEST_PLUGINS) for arg in ("-e", p)])
    packages = [p for p in (*PACKAGES, *TEST_PLUGINS) if p != HARNESS]
    sources = sorted(
        str(s.relative_to(ROOT))
        for p in packages
        for s in (ROOT / p / "src").glob("nel_*")
        if s.is_dir() and not s.name.endswith(".egg-info")
    )
    session.run("mypy", "--strict", *sources)
    session.run("mypy", "--strict", f"{HARNESS}/src/core_evals/nel_bench", f"{HARNESS}/scripts")


@nox.session
def tests(session: nox.Session) -> None:
    """The fast tier of every package: unit tests (seconds, no services)."""
    _install_all(session)
    for package in PACKAGES:
        if list((ROOT / package).glob("tests/test_*.py")):
            session.run(
                "pytest", f"{package}/tests", "-m", "not integration", "-q", "-ra",
                "--ignore", f"{package}/tests/integration", env=TEST_ENV,
            )  # fmt: skip
    session.run("pytest", "tests/unit", "-q", "-ra", env=TEST_ENV)


@nox.session
def contracts(session: nox.Session) -> None:
    """The port contract suites, run against every fake, adapter and test plugin that subclasses them."""
    _install_all(session)
    session.run("pytest", "-q", "-ra", "-k", "Contract", CORE, LOCAL, "tests/unit", "-m", "not integration",
                env=TEST_ENV)  # fmt: skip


@nox.session
def boundaries(session: nox.Session) -> None:
    """Core imports no adapter nor SDK; adapters do not import each other."""
    _install_all(session)
    session.run("pytest", "-q", "-ra", "tests/unit/test_import_boundaries.py", env=TEST_ENV)


@nox.session
def examples(session: nox.Session) -> None:
    """Every file in examples/ dry-runs."""
    _install_all(session)
    tmp = session.create_tmp()
    # A dry run fails while a host: variable the run reads is unset: give the examples' a value.
    env = {**TEST_ENV, "NEL_HOME": os.path.join(tmp, "nel-home"), "NGC_API_KEY": "x", "HF_TOKEN_FOR_GPQA_DIAMOND": "x"}
    for example in sorted((ROOT / "examples").glob("*.yaml")):
        session.run("nel", "run", "--config", str(example), "--dry-run",
                    "-o", f"execution.output_dir={tmp}/out", env=env, silent=True)  # fmt: skip
        session.log(f"dry-run ok: {example.name}")


@nox.session
def integration(session: nox.Session) -> None:
    """The integration tier: real engines, the real harness and a real model server."""
    _install_all(session)
    # The session's venv has nemo-evaluator and nel-harness: the harness's own real-run tests use it.
    env = {**TEST_ENV, "NEL_TEST_HARNESS_VENV": session.virtualenv.location}
    session.run("pytest", "-m", "integration", "-ra", "-v", "--durations=10", *PACKAGES, "tests", env=env)


@nox.session
def benchmarks(session: nox.Session) -> None:
    """Speed of NEL against NeMo Evaluator Launcher 0.2.6, and of the local executor (tables of medians).

    The local-executor part needs the model server of `scripts/infra.sh start llm` (NEL_TEST_LLM_URL).
    """
    _install_all(session)
    session.run("python", "benchmarks/run.py", *session.posargs, env=TEST_ENV)
    if os.environ.get("NEL_TEST_LLM_URL"):
        session.run("python", "benchmarks/local.py", env=TEST_ENV)
    else:
        session.warn("NEL_TEST_LLM_URL is not set: skipping benchmarks/local.py (scripts/infra.sh start llm)")
