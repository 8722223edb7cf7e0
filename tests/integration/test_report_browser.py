"""The HTML report in a real headless Chromium: it loads cleanly, shows its tables and charts, filters samples."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from chromium import Browser

from nel_core.testing import ERROR, write_run

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """Three runs of two tasks (wrong answers, failed requests, a failed job) reported by `nel report`."""
    capitals = [[1.0] * 30 + [0.0] * 10, [1.0] * 35 + [0.0] * 4 + [ERROR], [1.0] * 38 + [0.0] * 2]
    arithmetic = [[0.0] * 5 + [1.0] * 5, [1.0] * 10, [ERROR] * 10]
    tasks = [{"nel_bench.capitals": capitals[n], "nel_bench.arithmetic": arithmetic[n]} for n in range(3)]
    runs = [write_run(tmp_path, f"run0000{n + 1}", tasks[n]) for n in range(3)]
    page = tmp_path / "report.html"
    dirs = [arg for run in runs for arg in ("--job-dirs", str(run))]
    args = [sys.executable, "-m", "nel_cli", "report", *dirs, "-o", str(page)]
    result = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return page


def _rows(browser: Browser) -> list[str]:
    return browser.evaluate(  # type: ignore[no-any-return]
        "Array.from(document.querySelectorAll('#samples-table tbody tr.sample')).map(r => r.dataset.outcome)"
    )


def _set(browser: Browser, selector: str, value: str, event: str) -> None:
    browser.evaluate(
        f"(() => {{ const e = document.querySelector({selector!r}); e.value = {value!r};"
        f" e.dispatchEvent(new Event({event!r}, {{bubbles: true}})); }})()"
    )


def test_report_page_loads_without_errors_and_its_drill_down_filters(report: Path, tmp_path: Path) -> None:
    """No console error; a score table and a chart per score; wrong-only, errors-only and search filter samples."""
    with Browser() as browser:
        browser.open(report)
        assert browser.evaluate("document.body.dataset.ready") == "true"
        assert browser.console_errors() == []
        assert browser.evaluate("document.querySelectorAll('#runs-table thead th').length") == 4
        rows = "Array.from(document.querySelectorAll('#scores-table tbody tr')).map(r => r.dataset.metric)"
        scores = browser.evaluate(rows)
        assert scores == ["capitals.accuracy.correct", "arithmetic.accuracy.correct"]
        assert browser.evaluate("document.querySelectorAll('#charts svg.chart').length") == 2
        assert browser.evaluate("document.querySelectorAll('#charts svg.chart circle.point').length") == 5
        infra = browser.evaluate("Array.from(document.querySelectorAll('#scores-table .infra')).map(e => e.innerText)")
        assert infra == ["1 failed request", "10 failed requests"]
        failed = "Array.from(document.querySelectorAll('#scores-table .state-failed')).map(e => e.textContent)"
        assert browser.evaluate(failed) == ["failed"]

        # The first task opens on the first run: 40 samples, 10 of them wrong.
        assert browser.evaluate("document.getElementById('sample-task').textContent") == "nel_bench.capitals"
        assert len(_rows(browser)) == 40
        _set(browser, "#sample-filter", "wrong", "change")
        assert _rows(browser) == ["wrong"] * 10
        _set(browser, "#sample-run", "run00002.0", "change")
        _set(browser, "#sample-filter", "errors", "change")
        assert _rows(browser) == ["error"]
        badge = browser.evaluate("document.querySelector('#samples-table tbody tr .badge').textContent")
        assert badge == "request failed"
        _set(browser, "#sample-filter", "all", "change")
        _set(browser, "#sample-search", "capitals-0007", "input")
        assert browser.evaluate(
            "Array.from(document.querySelectorAll('#samples-table tbody tr.sample')).map(r => r.dataset.id)"
        ) == ["capitals-0007"]
        browser.evaluate("document.querySelector('#task-list button[data-task=\"nel_bench.arithmetic\"]').click()")
        assert browser.evaluate("document.getElementById('sample-task').textContent") == "nel_bench.arithmetic"
        assert browser.console_errors() == []
        shot = browser.screenshot(tmp_path / "report.png")
    assert shot.read_bytes().startswith(PNG) and shot.stat().st_size > 10_000
