"""YAML in and out: the one place core uses PyYAML.

NEL writes ``run_config.yml`` for harnesses and reads the ``results.yml`` they write. Both go
through PyYAML's safe loader and dumper: the C ones (libyaml) when PyYAML was built with them,
the pure-Python ones otherwise. Only plain data passes: dicts, lists, str, int, float, bool, None.
"""

from __future__ import annotations

from typing import Any

import yaml

from nel_core.errors import NelError

__all__ = ["YamlError", "dump", "load"]


class YamlError(NelError):
    """A YAML document is malformed; the message says where (line and column)."""


def load(text: str) -> Any:
    """Parse one YAML document into plain Python data (``None`` for an empty document).

    Raises:
        YamlError: when the document is malformed, naming its line and column.
    """
    loader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    try:
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = "; ".join(part for part in (exc.context, exc.problem) if part) or "malformed YAML"
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise YamlError(where + problem) from exc
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow (a NUL, say): the reader gives only its offset, in
        # characters (pure-Python reader) or in UTF-8 bytes (libyaml).
        before = text[: exc.position] if loader is yaml.SafeLoader else _utf8_prefix(text, exc.position)
        raise YamlError(f"{_where(before)}: {exc.reason} (#x{exc.character:x})") from exc
    except yaml.YAMLError as exc:
        raise YamlError(" ".join(str(exc).split())) from exc
    except UnicodeEncodeError as exc:  # a lone surrogate, which libyaml (UTF-8 only) cannot take
        raise YamlError(f"{_where(text[: exc.start])}: not valid text ({exc.reason})") from exc


def _utf8_prefix(text: str, size: int) -> str:
    return text.encode("utf-8", "surrogatepass")[:size].decode("utf-8", "ignore")


def _where(before: str) -> str:
    """``line L, column C`` of the character that follows ``before``."""
    line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
    return f"line {line}, column {column}"


class _SafeDumper(yaml.SafeDumper):
    """PyYAML's pure-Python safe dumper, with strings holding U+0085 written double-quoted.

    That dumper (unlike libyaml's) leaves U+0085 raw inside single quotes, where a reader takes
    it for a line break: the string would not read back equal. Double quotes escape it.
    """

    def represent_str(self, data: str) -> yaml.ScalarNode:
        return self.represent_scalar("tag:yaml.org,2002:str", data, style='"' if "\x85" in data else None)


_SafeDumper.add_representer(str, _SafeDumper.represent_str)


def dump(data: Any) -> str:
    """Render plain data as a block-style YAML document that :func:`load` reads back equal.

    Keys keep their order; strings a reader could take for another type (``NO``, ``1.0``,
    ``null``, ``''``) are quoted.

    Raises:
        TypeError: when ``data`` holds a value that is not plain data (a tuple, an object, ...).
    """
    dumper = yaml.CSafeDumper if yaml.__with_libyaml__ else _SafeDumper
    try:
        return yaml.dump(data, Dumper=dumper, default_flow_style=False, sort_keys=False, allow_unicode=True)
    except yaml.representer.RepresenterError as exc:
        raise TypeError(f"not plain data, cannot be written as YAML: {exc}") from exc
