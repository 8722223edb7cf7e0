"""``nel --help`` without importing typer: the text typer renders for it, kept here.

Typer's import alone takes several times a bare interpreter's start. The top-level help is fixed
(NEL's commands are its own; plugins add executors, not commands), so it is kept as text, and
``tests/unit/test_fast_help.py`` checks that it is exactly what typer renders. Narrower terminals
than click's 80 columns (whose wrapping differs) and every other command go through typer.
"""

from __future__ import annotations

import os
import shutil
import sys

__all__ = ["help_text", "program_name", "try_fast_help"]

#: What typer prints after ``Usage: <program> `` for ``--help`` at 80 columns and more.
_BODY = """\
[OPTIONS] COMMAND [ARGS]...

  NEL: launch LLM benchmark evaluations and keep track of them.

Options:
  -v, --verbose  Show tracebacks on errors.
  --version      Print the version and exit.
  --help         Show this message and exit.

Commands:
  run      Run the benchmarks of a config.
  status   Show the state of invocations and jobs (the latest invocation...
  kill     Stop an invocation's jobs (or one job) and the deployment they...
  logs     Print a job's log.
  info     Show an invocation: config, jobs, paths and results.
  resume   Re-run failed or killed jobs in place.
  export   Export finished jobs' results (invocations or single jobs).
  report   Report on runs side by side: scores with intervals, charts,...
  compare  Compare two runs: per sample where both kept scored samples...
  gate     Judge a candidate run against a base run by a release policy:...
  version  Print the version of NEL and of its installed adapters.
  ls       List tasks or runs.
"""


def program_name() -> str:
    """The program's name as click shows it: ``nel``, or ``python -m nel_cli``."""
    main = sys.modules.get("__main__")
    path = sys.argv[0] if sys.argv else ""
    package = getattr(main, "__package__", None)
    if not package:
        return os.path.basename(path)
    name = os.path.splitext(os.path.basename(path))[0]
    module = package if name == "__main__" else f"{package}.{name}"
    return f"python -m {module.lstrip('.')}"


def help_text(program: str) -> str:
    """The top-level help of ``program``, as typer renders it at 80 columns or more."""
    return f"Usage: {program} {_BODY}"


def try_fast_help(argv: list[str]) -> bool:
    """Print the top-level help when ``argv`` asks only for it (and the terminal is wide enough)."""
    if argv != ["--help"] or shutil.get_terminal_size().columns < 80:
        return False
    sys.stdout.write(help_text(program_name()))
    sys.stdout.flush()
    return True
