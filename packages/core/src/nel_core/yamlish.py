"""A small YAML reader and writer for the files NEL exchanges with harnesses.

Core depends on the standard library only, yet it must write ``run_config.yml`` and read
``results.yml``. Both are simple block-style documents, so a subset suffices: block mappings
and sequences, flow ``{}``/``[]`` (of scalars), and plain, single- and double-quoted scalars.
The writer quotes every string and gives every float a dot or exponent that YAML 1.1 readers
(PyYAML) recognise, so ``1e-07`` never comes back as a string.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["YamlError", "dump", "load"]


class YamlError(ValueError):
    """The text uses YAML this reader does not support, or is malformed."""


# --------------------------------------------------------------------------------------- writer


def dump(data: Any) -> str:
    """Render ``data`` (mappings, sequences, scalars) as block-style YAML."""
    lines: list[str] = []
    _emit(data, 0, lines)
    return "\n".join(lines) + "\n"


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    return _NON_PRINTABLE.sub(_escape, json.dumps(str(value), ensure_ascii=False))


# Characters YAML does not allow raw (or reads as line breaks) that JSON leaves unescaped.
_NON_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _emit(value: Any, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, Mapping):
        if not value:
            lines.append(pad + "{}")
        for key, item in value.items():
            head = f"{pad}{_key(str(key))}:"
            if isinstance(item, (Mapping, list, tuple)) and item:
                lines.append(head)
                _emit(item, indent + 2, lines)
            else:
                lines.append(f"{head} {_inline(item)}")
    elif isinstance(value, (list, tuple)):
        if not value:
            lines.append(pad + "[]")
        for item in value:
            if isinstance(item, (Mapping, list, tuple)) and item:
                lines.append(pad + "-")
                _emit(item, indent + 2, lines)
            else:
                lines.append(f"{pad}- {_inline(item)}")
    else:
        lines.append(pad + _scalar(value))


# Plain words a YAML 1.1 reader (PyYAML) takes for booleans or null.
_YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*$")


def _key(key: str) -> str:
    # Plain where a reader cannot mistake it for another type (true, null, 1.5, ...).
    if _PLAIN_KEY.fullmatch(key) and key not in _SPECIAL and key.lower() not in _YAML11_WORDS:
        return key
    return _scalar(key)


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, (list, tuple)):
        return "[]"
    return _scalar(value)


# --------------------------------------------------------------------------------------- reader

_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL = {
    "null": None, "Null": None, "NULL": None, "~": None, "": None,
    "true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
    ".nan": math.nan, ".NaN": math.nan, ".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf,
}  # fmt: skip


def load(text: str) -> Any:
    """Parse a YAML document of the supported subset into Python objects.

    Raises:
        YamlError: on syntax this reader does not support, with the line number.
    """
    lines = []
    # Only \n (and \r\n) end lines: str.splitlines() would also split at \x85 or \u2028.
    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        stripped = _strip_comment(raw).rstrip()
        if not stripped.strip() or stripped.strip() in ("---", "..."):
            continue
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YamlError(f"line {number}: tabs are not allowed for indentation")
        lines.append((number, len(stripped) - len(stripped.lstrip(" ")), stripped.strip()))
    if not lines:
        return None
    value, end = _block(lines, 0, lines[0][1])
    if end != len(lines):
        raise YamlError(f"line {lines[end][0]}: unexpected indentation")
    return value


def _strip_comment(line: str) -> str:
    i = 0
    while i < len(line):
        char = line[i]
        if char in "'\"" and (i == 0 or line[i - 1] in " \t[{,:-"):
            end = _quoted_end(line, i)
            if end < 0:
                return line  # unterminated: left for the scalar parser to report
            i = end + 1
            continue
        if char == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
        i += 1
    return line


def _quoted_end(text: str, start: int) -> int:
    """Index of the quote closing the quoted scalar opening at ``start``, or -1."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        char = text[i]
        if quote == '"' and char == "\\":
            i += 2
            continue
        if char == quote:
            if quote == "'" and text[i + 1 : i + 2] == "'":
                i += 2  # '' is an escaped single quote
                continue
            return i
        i += 1
    return -1


def _block(lines: list[tuple[int, int, str]], i: int, indent: int) -> tuple[Any, int]:
    if lines[i][2].startswith("- ") or lines[i][2] == "-":
        return _sequence(lines, i, indent)
    if _split_key(lines[i][2], lines[i][0]) is None:
        if i + 1 < len(lines) and lines[i + 1][1] >= indent:
            raise YamlError(f"line {lines[i][0]}: multi-line scalars are not supported")
        return _parse_scalar(lines[i][2], lines[i][0]), i + 1
    return _mapping(lines, i, indent)


def _mapping(lines: list[tuple[int, int, str]], i: int, indent: int) -> tuple[Any, int]:
    result: dict[Any, Any] = {}
    while i < len(lines) and lines[i][1] == indent:
        number, _, text = lines[i]
        split = _split_key(text, number)
        if split is None:
            raise YamlError(f"line {number}: expected 'key: value'")
        key, rest = split
        i += 1
        if rest:
            # A plain scalar may go on over more-indented lines (PyYAML folds long values).
            # Not after a block scalar (|, >) or an anchor: _parse_scalar refuses those.
            plain = rest[:1] not in "'\"[{|>&*!"
            while plain and i < len(lines) and lines[i][1] > indent:
                if _split_key(lines[i][2], lines[i][0]) is not None:
                    raise YamlError(f"line {lines[i][0]}: unexpected indentation")
                rest += " " + lines[i][2]
                i += 1
            result[key] = _parse_scalar(rest, number)
        elif i < len(lines) and (
            lines[i][1] > indent or (lines[i][1] == indent and lines[i][2].startswith("-"))
        ):
            result[key], i = _block(lines, i, lines[i][1])
        else:
            result[key] = None
    if i < len(lines) and lines[i][1] > indent:
        raise YamlError(f"line {lines[i][0]}: unexpected indentation")
    return result, i


def _sequence(lines: list[tuple[int, int, str]], i: int, indent: int) -> tuple[Any, int]:
    result: list[Any] = []
    while i < len(lines) and lines[i][1] == indent and lines[i][2].startswith("-"):
        number, _, text = lines[i]
        rest = text[1:].strip()
        if not rest:
            i += 1
            if i < len(lines) and lines[i][1] > indent:
                item, i = _block(lines, i, lines[i][1])
            else:
                item = None
            result.append(item)
            continue
        # "- key: value" opens a mapping whose keys sit at the column after "- ".
        inner = indent + (len(text) - len(rest))
        lines[i] = (number, inner, rest)
        if _split_key(rest, number) is not None:
            item, i = _mapping(lines, i, inner)
        else:
            item, i = _parse_scalar(rest, number), i + 1
        result.append(item)
    return result, i


def _split_key(text: str, number: int) -> tuple[str, str] | None:
    if text[:1] in "'\"":
        end = _quoted_end(text, 0)
        if end < 0:
            raise YamlError(f"line {number}: unterminated quoted string")
        after = text[end + 1 :]
        if after.startswith(":") and (len(after) == 1 or after[1] == " "):
            return str(_parse_scalar(text[: end + 1], number)), after[1:].strip()
        return None
    if text[:1] in "[{":
        return None
    match = re.match(r"([^:]+?):(?: (.*)|$)", text)
    if not match:
        return None
    return match.group(1).strip(), (match.group(2) or "").strip()


def _parse_scalar(text: str, number: int) -> Any:
    if text in ("|", ">", "|-", ">-", "|+", ">+") or text[:1] in "&*!":
        raise YamlError(f"line {number}: unsupported YAML construct {text!r}")
    if text.startswith('"'):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise YamlError(f"line {number}: bad double-quoted string") from exc
    if text.startswith("'"):
        if len(text) < 2 or not text.endswith("'"):
            raise YamlError(f"line {number}: unterminated quoted string")
        return text[1:-1].replace("''", "'")
    if text.startswith(("[", "{")):
        return _flow(text, number)
    if text in _SPECIAL:
        return _SPECIAL[text]
    if _INT.match(text):
        return int(text.replace("_", ""))
    if _FLOAT.match(text) and any(c.isdigit() for c in text):
        return float(text.replace("_", ""))
    return text


def _flow(text: str, number: int) -> Any:
    value, end = _flow_value(text, 0, number)
    if text[end:].strip():
        raise YamlError(f"line {number}: unexpected text after a flow collection")
    return value


def _flow_value(text: str, i: int, number: int) -> tuple[Any, int]:
    """Parse a flow collection or scalar starting at ``text[i]``; return it and where it ends."""
    while i < len(text) and text[i] == " ":
        i += 1
    if i < len(text) and text[i] in "[{":
        closing = "]" if text[i] == "[" else "}"
        items: list[Any] = []
        mapping: dict[Any, Any] = {}
        i += 1
        while True:
            while i < len(text) and text[i] in " ,":
                i += 1
            if i >= len(text):
                raise YamlError(f"line {number}: unterminated flow collection")
            if text[i] == closing:
                return (items if closing == "]" else mapping), i + 1
            if closing == "]":
                item, i = _flow_value(text, i, number)
                items.append(item)
                continue
            key, i = _flow_value(text, i, number)
            while i < len(text) and text[i] == " ":
                i += 1
            if i >= len(text) or text[i] != ":":
                raise YamlError(f"line {number}: expected ':' in flow mapping")
            mapping[key], i = _flow_value(text, i + 1, number)
    start = i
    if i < len(text) and text[i] in "'\"":
        end = _quoted_end(text, i)  # honours \" and \\ (a string may end in a backslash)
        if end < 0:
            raise YamlError(f"line {number}: unterminated quoted string")
        i = end + 1
    else:
        while i < len(text) and text[i] not in ",]}" and not (
            text[i] == ":" and (i + 1 == len(text) or text[i + 1] in " ,]}")
        ):
            i += 1
    return _parse_scalar(text[start:i].strip(), number), i
