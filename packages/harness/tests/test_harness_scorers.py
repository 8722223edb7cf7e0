"""Tests of the scoring functions."""

from __future__ import annotations

import pytest

from core_evals.nel_bench.scorers import (
    SCORERS,
    contains_any,
    exact_first_integer,
    first_integer,
    fold_text,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("73", 73),
        (" 73\n", 73),
        ("The answer is 54.", 54),
        ("-40", -40),
        ("It is \u221240.", -40),
        ("7 + 5 = 12", 7),
        ("12 apples and 3 pears", 12),
        ("1,000", 1),
        ("no digits here", None),
        ("", None),
    ],
)
def test_first_integer_reads_the_first_integer_with_its_sign(text: str, expected: object) -> None:
    """first_integer returns the first (possibly negative) integer, or None."""
    assert first_integer(text) == expected


def test_exact_first_integer_compares_only_the_first_integer() -> None:
    """The arithmetic scorer is right only when the first integer is the answer."""
    assert exact_first_integer("54", ["54"])
    assert exact_first_integer("The result is 54, not 45.", ["54"])
    assert not exact_first_integer("9 * 6 = 54", ["54"])
    assert not exact_first_integer("fifty-four", ["54"])
    assert exact_first_integer("-7", ["-7"])
    assert not exact_first_integer("7", ["-7"])


def test_contains_any_ignores_case_accents_and_whitespace() -> None:
    """The capitals scorer matches case-, accent- and spacing-insensitively."""
    assert contains_any("The capital is PARIS.", ["Paris"])
    assert contains_any("bogota", ["Bogotá"])
    assert contains_any("Asunción, of course", ["Asunción"])
    assert contains_any("Buenos\n  Aires", ["Buenos Aires"])
    assert contains_any("Kiev", ["Kyiv", "Kiev"])
    assert not contains_any("Lyon", ["Paris"])


def test_contains_any_never_matches_an_empty_answer() -> None:
    """A blank accepted answer must not make every response correct."""
    assert not contains_any("anything", ["", "  "])


def test_fold_text_is_idempotent() -> None:
    """Folding twice changes nothing more than folding once."""
    once = fold_text("  Reykjavík  IS ")
    assert once == "reykjavik is"
    assert fold_text(once) == once


def test_scorer_registry_names_both_scorers() -> None:
    """Datasets refer to scorers by these names."""
    assert SCORERS["exact_first_integer"] is exact_first_integer
    assert SCORERS["contains"] is contains_any
