"""The class of NEL's commands: plain-worded help, and a closed output pipe told apart from a failure.

Typer shows an argument with its Python type (``ID <list[str]>``); NEL's help names it by its
metavar alone. Typer (like click) turns a write into a closed pipe (``nel logs ID | head``) into
a silent exit 1; NEL's commands raise :class:`ReaderGone` instead, which the entry point ends
quietly with 0.
"""

from __future__ import annotations

import dataclasses
import select
import sys
import types
import typing
from collections.abc import Callable
from typing import Any

from typer.core import TyperCommand, TyperGroup

try:  # typer's runtime coercion (typer >= 0.2x builds a pydantic TypeAdapter per parameter)
    from typer._coercion import RuntimeParam as _RuntimeParam
except ImportError:  # an older typer lets click convert: nothing to spare
    _RuntimeParam = None  # type: ignore[assignment,misc]

from nel_core.errors import NelError

__all__ = ["NelCommand", "NelGroup", "ReaderGone"]


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


def _integer(value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError("Input should be a valid integer, unable to parse string as an integer") from None


def _number(value: Any) -> float:
    try:
        return float(str(value).strip())
    except ValueError:
        raise ValueError("Input should be a valid number, unable to parse string as a number") from None


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "t", "yes", "y", "on"):
        return True
    if text in ("0", "false", "f", "no", "n", "off"):
        return False
    raise ValueError("Input should be a valid boolean, unable to interpret input")


_PLAIN: dict[Any, Callable[[Any], Any]] = {str: str, int: _integer, float: _number, bool: _boolean}


def _plain_type(annotation: Any) -> tuple[Callable[[Any], Any], bool] | None:
    """(conversion, is a list) for ``str``/``int``/``float``, optional or in a list; else None."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kept = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(kept) != 1:
            return None
        annotation = kept[0]
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation) or (None,)
        return (_PLAIN[item], True) if item in _PLAIN else None
    return (_PLAIN[annotation], False) if annotation in _PLAIN else None


if _RuntimeParam is not None:

    @dataclasses.dataclass(frozen=True)
    class _PlainParam(_RuntimeParam):
        """Coercion of a plain value without pydantic (whose import alone takes 0.2-0.3 s)."""

        convert: Callable[[Any], Any] = str
        is_list: bool = False

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            from typer import BadParameter

            try:
                if self.is_list:
                    return [self.convert(item) for item in value]
                return self.convert(value)
            except ValueError as exc:
                raise BadParameter(str(exc), ctx=ctx, param=param) from None


def _spare_pydantic(params: list[Any]) -> None:
    """Give each parameter of a plain type a coercion that needs no pydantic (others keep typer's)."""
    if _RuntimeParam is None:
        return
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", True) is not None:
            continue
        info = descriptor.parameter_info
        bounded = getattr(info, "min", None) is not None or getattr(info, "max", None) is not None
        if descriptor.file_annotation is not None or bounded:
            continue
        plain = _plain_type(descriptor.annotation)
        if plain is not None:
            param._runtime_param = _PlainParam(
                annotation=descriptor.annotation, parameter_info=info, convert=plain[0], is_list=plain[1]
            )


class NelCommand(TyperCommand):
    """A typer command whose help names arguments by their metavar alone, safe against ``| head``.

    Its plain parameters (text, whole numbers, numbers, lists of text) are coerced without
    pydantic: typer would import it, and build a schema per parameter, on every start.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        _spare_pydantic(self.get_params(ctx))
        return super().parse_args(ctx, args)

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


class NelGroup(TyperGroup):
    """A typer group whose own options are coerced without pydantic (see :class:`NelCommand`)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        _spare_pydantic(self.get_params(ctx))
        return super().parse_args(ctx, args)
