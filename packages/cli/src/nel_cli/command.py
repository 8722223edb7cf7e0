"""The class of NEL's commands: plain-worded help, and a closed output pipe told apart from a failure.

Typer shows an argument with its Python type (``ID <list[str]>``); NEL's help names it by its
metavar alone. Typer (like click) turns a write into a closed pipe (``nel logs ID | head``) into
a silent exit 1; NEL's commands raise :class:`ReaderGone` instead, which the entry point ends
quietly with 0.
"""

from __future__ import annotations

import select
import sys
from typing import Any

from typer.core import TyperCommand

from nel_core.errors import NelError

__all__ = ["NelCommand", "ReaderGone"]


class ReaderGone(Exception):
    """Whoever read the output closed it (``| head``): the command has nothing more to do."""


def _stdout_closed() -> bool:
    """Whether nobody reads our stdout any more (the write end of a pipe whose reader has gone)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's capture): still read
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(event & select.POLLERR for _, event in poller.poll(0))


def _is_argument(param: Any) -> bool:
    return bool(param.param_type_name == "argument")


def _argument(param: Any, *, usage: bool) -> str:
    """``ID``, ``ID...`` or (in the usage line) ``[ID]...`` for an optional list."""
    name = str(param.metavar or (param.name or "arg").upper())
    if usage and not param.required:
        name = f"[{name}]"
    return name + ("..." if param.nargs != 1 else "")


class NelCommand(TyperCommand):
    """A typer command whose help names arguments by their metavar alone, safe against ``| head``."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            if _stdout_closed():
                raise ReaderGone() from exc
            # Another pipe (a child process, a connection): a failure, which typer would hide.
            raise NelError(f"broken pipe: {exc}") from exc

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        pieces += [_argument(p, usage=True) for p in self.get_params(ctx) if _is_argument(p)]
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments = []
        options = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if _is_argument(param):
                arguments.append((_argument(param, usage=False), record[1]))
            else:
                options.append(record)
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)
