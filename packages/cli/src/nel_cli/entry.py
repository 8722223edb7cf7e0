"""The console scripts' entry point: ``nel --help`` answered before typer is imported."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Run the program (:func:`nel_cli.main.main`), or print its help at once."""
    from nel_cli.fast_help import try_fast_help

    if try_fast_help(sys.argv[1:]):
        sys.exit(0)
    from nel_cli.main import main as run

    run()
