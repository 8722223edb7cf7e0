"""The ``gsheets`` exporter: the real gspread client against the stand-in of the Sheets and Drive APIs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pytest
from nel_exporter_gsheets import BASE_COLUMNS, GsheetsExporter

from nel_core.errors import ConfigError, ExportError
from nel_core.ports.result_exporter import ResultExporter
from nel_core.testing.contracts import ResultExporterContract


def _table(exporter: ResultExporter) -> list[dict[str, str]]:
    """The first sheet of the exporter's spreadsheet as rows of header -> cell, read through gspread."""
    assert isinstance(exporter, GsheetsExporter)
    client = exporter.client()
    try:
        values = client.open(exporter.spreadsheet_name).sheet1.get_all_values()
    except Exception as exc:
        if type(exc).__name__ == "SpreadsheetNotFound":
            return []
        raise
    if not values or not any(values[0]):
        return []
    return [dict(zip(values[0], row + [""] * (len(values[0]) - len(row)))) for row in values[1:]]


class TestGsheetsContract(ResultExporterContract):
    """The Google Sheets exporter passes core's exporter contract against the API stand-in."""

    @pytest.fixture
    def exporter(self, sheets: Any) -> ResultExporter:
        return GsheetsExporter({"service_account_file": str(sheets.account)}, http_client=sheets.http_client)

    def stored(self, exporter: ResultExporter) -> list[tuple[str, dict[str, float]]]:
        rows = _table(exporter)
        return [(r["Job ID"], {k: float(v) for k, v in r.items() if k not in BASE_COLUMNS and v}) for r in rows]

    def stored_fields(self, exporter: ResultExporter) -> dict[str, Mapping[str, str]]:
        return {r["Job ID"]: {"invocation_id": r["Invocation ID"], "task": r["Task Name"]} for r in _table(exporter)}


def test_rows_columns_and_no_duplicate(sheets: Any, tmp_path: Any) -> None:
    """A new spreadsheet gets the header and one row per job; new metrics add columns; re-export rewrites rows."""
    contract = TestGsheetsContract()
    settings = {"service_account_file": str(sheets.account), "spreadsheet_name": "Evals"}
    first = contract.items(tmp_path / "a", invocation_id="aaaa0001")
    GsheetsExporter(settings, http_client=sheets.http_client).export(first)
    [book] = sheets.spreadsheets.values()
    assert book["title"] == "Evals"
    values = sheets.sheet_values(book["id"])
    assert values[0] == [*BASE_COLUMNS, "task0_accuracy_accuracy", "task0_accuracy_accuracy_stderr", "task0_f1_macro",
                         "task0_f1_macro_stderr", "task1_accuracy_accuracy", "task1_accuracy_accuracy_stderr",
                         "task1_f1_macro", "task1_f1_macro_stderr"]  # fmt: skip
    assert values[1][:6] == ["", "harness", "harness.task0", "fake", "aaaa0001", "aaaa0001.0"]
    assert values[1][6:] == ["0.25", "0", "0.5", "0"]
    many = contract.items(tmp_path / "b", invocation_id="bbbb0002", count=6)
    exporter = GsheetsExporter(settings, http_client=sheets.http_client)
    exporter.export([*many, first[1]])
    values = sheets.sheet_values(book["id"])
    assert len(values[0]) == 6 + 4 * 6 > 26  # the grid grew past its 26 columns
    assert [row[5] for row in values[1:]] == ["aaaa0001.0", "aaaa0001.1", *[f"bbbb0002.{i}" for i in range(6)]]
    assert len(sheets.spreadsheets) == 1


def test_spreadsheet_by_id_must_exist(sheets: Any, tmp_path: Any) -> None:
    """``spreadsheet_id`` opens that spreadsheet; an id that does not exist is an export error, nothing created."""
    book = sheets.new_spreadsheet("Given")
    settings = {"service_account_file": str(sheets.account), "spreadsheet_id": book["id"]}
    items = TestGsheetsContract().items(tmp_path, count=1)
    report = GsheetsExporter(settings, http_client=sheets.http_client).export(items)
    assert report.location == f"https://docs.google.com/spreadsheets/d/{book['id']}"
    assert sheets.sheet_values(book["id"])[1][5] == items[0].job.id
    missing = {**settings, "spreadsheet_id": "nope"}
    with pytest.raises(ExportError, match="^export.gsheets.spreadsheet_id: no spreadsheet nope"):
        GsheetsExporter(missing, http_client=sheets.http_client).export(items)
    assert len(sheets.spreadsheets) == 1


def test_credentials_are_a_file_reference(sheets: Any, tmp_path: Any) -> None:
    """The service account is read from its file; a missing file is named; no key reaches the sheet."""
    with pytest.raises(ConfigError, match="service_account_file: .*no such file"):
        GsheetsExporter({"service_account_file": str(tmp_path / "none.json")}, http_client=sheets.http_client).client()
    GsheetsExporter({"service_account_file": str(sheets.account)}, http_client=sheets.http_client).export(
        TestGsheetsContract().items(tmp_path, count=1)
    )
    token_calls = [c for c in sheets.calls if c["path"] == "/token"]
    assert token_calls and token_calls[0]["body"]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    written = str([c["body"] for c in sheets.calls if c["path"] != "/token"])
    assert "PRIVATE KEY" not in written and sheets.tokens[0] not in written


def test_unknown_settings_are_named() -> None:
    """A misspelt key fails naming export.gsheets.<key>."""
    with pytest.raises(ConfigError, match=r"^export.gsheets.spreadsheet: unknown setting"):
        GsheetsExporter({"spreadsheet": "x"})


def test_importing_the_package_does_not_import_gspread() -> None:
    """gspread is imported only when an export runs."""
    code = "import sys, nel_exporter_gsheets; print(any(m.split('.')[0] == 'gspread' for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
