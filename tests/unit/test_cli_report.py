"""``nel report``: one self-contained HTML page, Markdown or JSON, from the store or from folders."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from nel_core.models.domain import JobState
from nel_core.store import SqliteInvocationStore
from nel_core.testing import ERROR, make_invocation, make_jobs, write_run

from .conftest import Nel
from .test_cli_commands import _IMPORTS_PROBE

HOSTILE = "</script><script>document.title='pwned'</script><!--"


def _two_runs(root: Path) -> tuple[Path, Path]:
    base = write_run(
        root, "base0001", {"nel_bench.capitals": [1.0] * 20 + [0.0] * 10, "nel_bench.arithmetic": [1.0, 0.0]}
    )
    candidate = write_run(
        root, "cand0002", {"nel_bench.capitals": [1.0] * 28 + [0.0] + [ERROR], "nel_bench.arithmetic": [ERROR, ERROR]},
        model="other-model",
    )  # fmt: skip
    return base, candidate


def _embedded(page: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="nel-report-data">(.*?)</script>', page, re.S)
    assert match, "no data element"
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def test_html_report_is_one_self_contained_file(nel: Nel) -> None:
    """The page inlines its style, script and data: no URL to fetch, no external reference."""
    base, candidate = _two_runs(nel.root)
    result = nel("report", "--job-dirs", str(base), "--job-dirs", str(candidate), "-o", "r.html")
    assert result.returncode == 0, result.stderr
    assert re.match(r"wrote r\.html \([\d,]+ bytes\): 2 run\(s\), 4 job\(s\), 64 sample\(s\)", result.stdout)
    page = (nel.work / "r.html").read_text()
    assert "<style>" in page and "<script>" in page
    assert not re.search(r"<link\b|\bsrc\s*=|@import|url\(", page)
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page.split('id="nel-report-data"')[0])
    data = _embedded(page)
    assert [run["id"] for run in data["runs"]] == ["base0001", "cand0002"]  # type: ignore[index]
    assert len(data["samples"]["base0001.0"]) == 30  # type: ignore[index]


def test_text_from_a_run_cannot_break_out_of_the_page(nel: Nel) -> None:
    """A response holding </script> and markup stays data: escaped in the page, intact when parsed."""
    run = write_run(nel.root, "evil0001", {"t.x": [1.0]})
    samples = run / "0-t.x" / "artifacts" / "samples.jsonl"
    record = json.loads(samples.read_text())
    record["response"] = HOSTILE
    samples.write_text(json.dumps(record) + "\n")
    assert nel("report", str(run), "-o", "r.html").returncode == 0
    page = (nel.work / "r.html").read_text()
    assert HOSTILE not in page and page.count("</script>") == 2
    assert _embedded(page)["samples"]["evil0001.0"][0][5] == HOSTILE  # type: ignore[index]


def test_markdown_report_shows_runs_scores_and_failures_apart(nel: Nel) -> None:
    """Markdown puts runs side by side and lists failed jobs and the endpoint's failed requests."""
    base, candidate = _two_runs(nel.root)
    result = nel("report", str(base), str(candidate), "--format", "md")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "|  | base0001 | cand0002 |" in text
    assert "| model | test-model | other-model |" in text
    assert "| nel_bench.capitals | capitals.accuracy.correct | 0.667 [" in text
    failures = text.split("## Failures")[1].split("## Samples")[0]
    assert "cand0002.1 | nel_bench.arithmetic | failed" in failures and "2 of 2" in failures
    assert "cand0002.0 | nel_bench.capitals | success" in failures and "1 of 30" in failures


def test_json_report_is_the_document_with_its_samples(nel: Nel) -> None:
    """--format json prints the report's document; --no-samples leaves the rows out."""
    base, _ = _two_runs(nel.root)
    data = json.loads(nel("report", str(base), "--format", "json").stdout)
    assert data["version"] == 1 and data["jobs"][0]["samples"]["wrong"] == 10
    assert data["sample_columns"][:3] == ["id", "subset", "outcome"] and len(data["samples"]["base0001.0"]) == 30
    lean = json.loads(nel("report", str(base), "--format", "json", "--no-samples").stdout)
    assert lean["samples"] == {}


def test_recorded_invocations_are_reported_by_id(nel: Nel) -> None:
    """An invocation id (or prefix) from the store reads its jobs' folders; the latest one by default."""
    source = write_run(nel.root, "source", {"nel_bench.capitals": [1.0, 0.0]})
    invocation = make_invocation("abcd1234", output_dir=str(nel.root / "out"))
    (job,) = make_jobs(invocation, 1, states=[JobState.SUCCESS], root=nel.root / "out")
    shutil.rmtree(job.job_dir)
    shutil.copytree(source / "0-nel_bench.capitals", job.job_dir)
    store = SqliteInvocationStore(nel.home)
    store.add(invocation, [job])
    store.close()
    for args in (("abcd",), ()):
        data = json.loads(nel("report", *args, "--format", "json").stdout)
        assert [(r["id"], r["source"]) for r in data["runs"]] == [("abcd1234", "store")]
        assert data["jobs"][0]["samples"]["count"] == 2


def test_bad_arguments_are_one_line_errors(nel: Nel) -> None:
    """An unknown format, an unknown id and a folder without jobs each fail with one error line."""
    cases = [
        (("report", "--format", "pdf", str(nel.root)), "--format pdf: expected one of html, md, json"),
        (("report", "ffff9999"), "ffff9999"),
        (("report", "--job-dirs", str(nel.work)), "no job folder"),
    ]
    for args, message in cases:
        result = nel(*args)
        assert result.returncode != 0 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_report_imports_no_hydra(nel: Nel) -> None:
    """Reporting on folders needs neither Hydra nor any backend SDK."""
    base, _ = _two_runs(nel.root)
    probe = nel.root / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTS_PROBE, str(probe), "report", str(base), "-o", str(nel.root / "r.html")],
        capture_output=True, text=True, env=nel.env, cwd=nel.work,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    modules = json.loads(probe.read_text())["modules"]
    assert not [m for m in modules if m.split(".")[0] in ("hydra", "omegaconf", "docker", "paramiko", "requests")]
