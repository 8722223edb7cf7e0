"""The report as one self-contained HTML file: its data, style and script inline, nothing fetched.

The page opens from disk with no server and no network: the report's document
(:func:`nel_core.results.report_document`) sits in a ``<script type="application/json">``
element, and the inline script draws the tables, the charts (SVG) and the sample browser from
it. Every text from a run is set as text, never parsed as markup.
"""

from __future__ import annotations

import html
import json
import time
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["render_html"]

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p>{subtitle}</p>
</header>
<main>
<section id="runs">
<h2>Runs</h2>
<div class="scroll"><table id="runs-table"></table></div>
<p class="note">Failed requests are the endpoint's failures (HTTP errors, timeouts), counted apart
from wrong answers.</p>
</section>
<section id="scores">
<h2>Scores</h2>
<div class="scroll"><table id="scores-table"></table></div>
<p class="note">Brackets: the {confidence} confidence interval (Wilson's for a proportion, else
value &plusmn; z &times; stderr).</p>
</section>
<section>
<h2>Each score across runs</h2>
<div id="charts"></div>
</section>
<section id="tasks">
<h2>Samples by task</h2>
<div id="drill">
<ul id="task-list"></ul>
<div id="sample-panel" hidden>
<h3 id="sample-task"></h3>
<div class="controls">
<label>run <select id="sample-run"></select></label>
<label>show <select id="sample-filter">
<option value="all">all samples</option>
<option value="wrong">wrong answers only</option>
<option value="errors">failed requests only</option>
<option value="correct">right answers only</option>
</select></label>
<input id="sample-search" type="search" placeholder="search id, prompt, response, expected, error">
<span id="sample-count" class="note"></span>
</div>
<p id="sample-note" class="note"></p>
<div class="scroll"><table id="samples-table">
<thead><tr><th>id</th><th>outcome</th><th>score</th><th>expected</th><th>response</th><th>error</th><th>prompt</th><th>latency</th><th>tokens</th></tr></thead>
<tbody></tbody>
</table></div>
<button id="sample-more" type="button" hidden>show more</button>
</div>
</div>
</section>
</main>
<script type="application/json" id="nel-report-data">{data}</script>
<script>{js}</script>
</body>
</html>
"""


@cache
def _asset(name: str) -> str:
    return resources.files("nel_cli.report").joinpath(name).read_text(encoding="utf-8")


def _json_for_script(document: Any) -> str:
    # Inside <script>, "</" could end the element and "<!--" open a comment: escape "<" (and the
    # line separators JavaScript once refused in strings). JSON.parse reads the escapes back.
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def render_html(document: dict[str, Any], *, title: str = "NEL report") -> str:
    """The HTML page of a report document."""
    runs = document.get("runs", [])
    generated = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(document.get("generated_at") or time.time()))
    subtitle = f"{len(runs)} run(s), {len(document.get('jobs', []))} job(s); generated {generated}"
    return _PAGE.format(
        title=html.escape(title),
        subtitle=html.escape(subtitle),
        confidence=html.escape(f"{document.get('confidence', 0.95):.0%}"),
        css=_asset("report.css"),
        js=_asset("report.js"),
        data=_json_for_script(document),
    )
