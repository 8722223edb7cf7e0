"""``nel compare BASE CANDIDATE``: a verdict with its evidence, as text, Markdown or JSON."""

from __future__ import annotations

import json
from pathlib import Path

from nel_core.testing import ERROR, write_run

from .conftest import Nel


def _pair(root: Path) -> tuple[Path, Path]:
    capitals = [1.0] * 40 + [0.0] * 20
    base = write_run(root, "base0001", {"nel_bench.capitals": capitals, "nel_bench.mini": [1.0] * 10})
    candidate = write_run(
        root, "cand0002", {"nel_bench.capitals": [1.0] * 28 + [0.0] * 12 + [1.0] * 2 + [0.0] * 17 + [ERROR],
                           "nel_bench.mini": [1.0] * 10},
        model="other",
    )  # fmt: skip
    return base, candidate


def test_text_comparison_lists_tasks_flips_and_the_verdict(nel: Nel) -> None:
    """Text output: the paired table, the scores, the flipped samples, and the verdict last."""
    base, candidate = _pair(nel.root)
    result = nel("compare", str(base), str(candidate), "--flips", "3")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("compare base0001 (test-model) -> cand0002 (other), 95% confidence")
    row = next(line for line in text.splitlines() if line.startswith("nel_bench.capitals  59"))
    assert row.split()[-1] == "regressed" and " 12 " in row and " 2 " in row and " 1 " in row
    assert "nel_bench.capitals: 12 worse in the candidate (first 3):" in text
    assert "nel_bench.capitals: 2 better in the candidate:" in text
    assert "capitals-0028  1 -> 0" in text and "capitals-0031" not in text
    assert text.rstrip().endswith("verdict: regressed")


def test_markdown_and_json_say_the_same(nel: Nel) -> None:
    """--format md gives Markdown tables; --format json the comparison's data with its verdict."""
    base, candidate = _pair(nel.root)
    markdown = nel("compare", str(base), str(candidate), "--format", "md").stdout
    assert markdown.startswith("## nel compare: base0001") and "| nel_bench.capitals | 59 |" in markdown
    data = json.loads(nel("compare", str(base), str(candidate), "--format", "json").stdout)
    assert data["verdict"] == "regressed" and data["base"] == "base0001" and data["candidate"] == "cand0002"
    capitals = data["paired"][0]
    counts = (capitals["task"], capitals["regressed"], capitals["improved"], capitals["errors"])
    assert counts == ("nel_bench.capitals", 12, 2, 1)
    assert len(capitals["flips"]) == 14 and data["paired"][1]["verdict"] == "no significant difference"


def test_bad_options_are_one_line_errors(nel: Nel) -> None:
    """A confidence out of range, an unknown format or a missing run fail with one error line."""
    base, candidate = _pair(nel.root)
    cases = [
        (("--confidence", "1.5"), "--confidence 1.5"),
        (("--format", "xml"), "--format xml"),
    ]
    for extra, message in cases:
        result = nel("compare", str(base), str(candidate), *extra)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    result = nel("compare", str(base), str(nel.root / "missing"))
    assert result.returncode == 1 and "missing: no such directory" in result.stderr
