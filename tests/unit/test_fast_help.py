"""``nel --help`` answered without typer: the same text as typer's, and no typer import."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from nel_cli.fast_help import help_text

from .conftest import Nel


def _typer_help(program: str, monkeypatch: pytest.MonkeyPatch) -> str:
    from nel_cli.main import app

    monkeypatch.setenv("COLUMNS", "80")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        app(["--help"], prog_name=program)
    return out.getvalue()


@pytest.mark.parametrize("program", ["nel", "nemo-evaluator-launcher", "python -m nel_cli"])
def test_kept_text_is_what_typer_renders(program: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kept help equals typer's rendering at 80 columns (regenerate it when commands change)."""
    assert help_text(program) == _typer_help(program, monkeypatch)


def test_help_imports_neither_typer_nor_the_commands(nel: Nel) -> None:
    """`python -m nel_cli --help` prints typer's text having imported no typer (wide terminal)."""
    probe = (
        "import json, runpy, sys\n"
        "sys.argv = ['nel_cli', '--help']\n"
        "try:\n    runpy.run_module('nel_cli', run_name='__main__', alter_sys=True)\n"
        "except SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=nel.env, cwd=nel.work)
    modules = json.loads(result.stderr.strip().splitlines()[-1])
    assert not [m for m in modules if m.split(".")[0] in ("typer", "click", "nel_core")]
    assert result.stdout.startswith("Usage: ") and "Commands:" in result.stdout


def test_narrow_terminal_goes_through_typer(nel: Nel) -> None:
    """Below 80 columns click wraps differently: typer renders the help itself."""
    env = {**nel.env, "COLUMNS": "60"}
    result = subprocess.run(
        [sys.executable, "-m", "nel_cli", "--help"], capture_output=True, text=True, env=env, cwd=nel.work
    )
    assert result.returncode == 0
    assert max(len(line) for line in result.stdout.splitlines()) <= 60


def test_dry_run_of_a_plain_config_needs_no_hydra(nel: Nel) -> None:
    """A dry run of the quickstart with a plain override imports neither Hydra nor pydantic."""
    quickstart = Path(__file__).parents[2] / "examples" / "quickstart.yaml"
    probe = (
        "import json, sys\n"
        "from nel_cli.main import main\n"
        "try:\n    main()\n"
        "except SystemExit as exc:\n    code = exc.code\n"
        "print(json.dumps([code, sorted(sys.modules)]), file=sys.stderr)\n"
    )
    argv = [sys.executable, "-c", probe, "run", "--config", str(quickstart), "--dry-run",
            "-o", f"execution.output_dir={nel.out}"]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, env=nel.env, cwd=nel.work)
    code, modules = json.loads(result.stderr.strip().splitlines()[-1])
    assert code in (0, None), result.stderr
    assert "# dry run of invocation" in result.stdout
    assert not [m for m in modules if m.split(".")[0] in ("hydra", "pydantic")]
