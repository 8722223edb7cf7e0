"""``nel gate``: exit codes 0/1/2 for GO/NO-GO/INCONCLUSIVE, a Markdown summary, 3 when it cannot judge."""

from __future__ import annotations

import json
from pathlib import Path

from nel_core.testing import write_run

from .conftest import Nel

SAME = [1.0] * 70 + [0.0] * 30
POLICY = """\
benchmarks:
  - task: nel_bench.capitals
    tier: critical
    min: 0.6
  - task: nel_bench.mini
    required: false
"""


def _runs(root: Path, candidate: list[float | None]) -> tuple[str, str]:
    base = write_run(root, "base0001", {"nel_bench.capitals": SAME})
    cand = write_run(root, "cand0002", {"nel_bench.capitals": candidate})
    return str(base), str(cand)


def test_go_no_go_and_inconclusive_exit_0_1_2_with_a_markdown_summary(nel: Nel) -> None:
    """The verdict is the exit code; stdout is the Markdown summary naming what decided it."""
    policy = nel.write("policy.yaml", POLICY)
    cases = [(SAME, 0, "GO"), ([1.0] * 40 + [0.0] * 60, 1, "NO-GO"), ([1.0] * 69 + [0.0] * 31, 2, "INCONCLUSIVE")]
    for index, (candidate, code, verdict) in enumerate(cases):
        base, cand = _runs(nel.root / str(index), candidate)
        result = nel("gate", "--policy", str(policy), base, cand)
        assert result.returncode == code, result.stdout + result.stderr
        text = result.stdout
        assert text.startswith(f"## Release gate: {verdict}\n")
        assert "| benchmark | tier | score | base | candidate | change | interval | check | result | why |" in text
        assert "| nel_bench.mini | standard |" in text and "| present | SKIPPED |" in text
        if verdict != "GO":
            assert f"**{verdict} because:**\n- nel_bench.capitals (critical, " in text


def test_json_output_and_the_summary_file(nel: Nel) -> None:
    """--format json gives the checks and exit code; --summary appends the Markdown to a file."""
    policy = nel.write("policy.yaml", POLICY)
    base, cand = _runs(nel.root, [1.0] * 40 + [0.0] * 60)
    summary = nel.work / "summary.md"
    summary.write_text("earlier step\n")
    result = nel("gate", "-p", str(policy), base, cand, "--format", "json", "--summary", str(summary))
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["verdict"] == "NO-GO" and data["exit_code"] == 1 and data["policy"] == "policy.yaml"
    assert [c["outcome"] for c in data["checks"]] == ["fail", "fail", "skipped"]
    assert summary.read_text().startswith("earlier step\n## Release gate: NO-GO")


def test_a_gate_that_cannot_judge_exits_3_with_one_line(nel: Nel) -> None:
    """A bad policy (naming file and key), no policy, an unknown run or a missing argument: exit 3, one error."""
    base, cand = _runs(nel.root, SAME)
    bad = nel.write("bad.yaml", "benchmarks:\n  - task: nel_bench.capitals\n    max_drop: lots\n")
    good = nel.write("policy.yaml", POLICY)
    cases = [
        (("gate", "--policy", str(bad), base, cand), f"error: {bad}: benchmarks[0].max_drop: expected a number, got"),
        (("gate", base, cand), "error: --policy FILE is required"),
        (("gate", "--policy", str(good), base, str(nel.root / "nowhere")), "nowhere: no such directory"),
        (("gate", "--policy", str(bad), base), "Missing argument 'CANDIDATE'"),
    ]
    for args, message in cases:
        result = nel(*args)
        assert result.returncode == 3, (args, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr
