"""Scoring functions for nel_bench tasks: pure, deterministic, no I/O."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

__all__ = [
    "SCORERS",
    "Scorer",
    "contains_any",
    "exact_first_integer",
    "first_integer",
    "fold_text",
]

# A scorer takes the model's response and the accepted answers; True means correct.
Scorer = Callable[[str, Sequence[str]], bool]

# Models write minus as U+2212 or en/em dashes often enough to matter.
_MINUS_SIGNS = {"\u2212": "-", "\u2013": "-", "\u2014": "-", "\ufe63": "-", "\uff0d": "-"}
_INTEGER = re.compile(r"-?\d+")


def first_integer(text: str) -> int | None:
    """Return the first integer written in ``text``, or None if there is none.

    Thousands separators are not understood ("1,000" gives 1): the arithmetic
    task's answers are small, and guessing separators would misread lists.
    """
    for sign, ascii_minus in _MINUS_SIGNS.items():
        text = text.replace(sign, ascii_minus)
    match = _INTEGER.search(text)
    return int(match.group(0)) if match else None


def exact_first_integer(response: str, answers: Sequence[str]) -> bool:
    """Score correct when the response's first integer equals an accepted answer."""
    got = first_integer(response)
    if got is None:
        return False
    return any(got == int(answer) for answer in answers)


def fold_text(text: str) -> str:
    """Lower-case ``text`` and strip accents, so "Bogotá" and "BOGOTA" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def contains_any(response: str, answers: Sequence[str]) -> bool:
    """Score correct when the folded response contains any folded accepted answer."""
    haystack = fold_text(response)
    return any(fold_text(answer) in haystack for answer in answers if answer.strip())


# Names used by the task registry (tasks.py) and written into the samples file.
SCORERS: dict[str, Scorer] = {
    "exact_first_integer": exact_first_integer,
    "contains": contains_any,
}
