"""The outputs of ``nel report``: one self-contained HTML page, Markdown, and JSON."""

from nel_cli.report._html import render_html
from nel_cli.report._markdown import render_markdown

__all__ = ["render_html", "render_markdown"]
