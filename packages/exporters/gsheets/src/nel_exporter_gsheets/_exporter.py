"""The ``gsheets`` exporter: one row per job in a Google spreadsheet, updated in place."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, ClassVar

from nel_core.errors import ConfigError, ExportError
from nel_core.exporting import CommonSettings, ExportRow, Settings
from nel_core.ports.result_exporter import ExportItem, ExportReport, ResultExporter

__all__ = ["BASE_COLUMNS", "DEFAULT_SPREADSHEET", "GsheetsExporter"]

#: NeMo Evaluator Launcher's default spreadsheet name.
DEFAULT_SPREADSHEET = "NV-Eval Results"
#: The leading columns of a new sheet, and the row field each one shows.
BASE_COLUMNS = ExportRow.COLUMNS
_KEYS = {"spreadsheet_id", "spreadsheet_name", "service_account_file"}


def _gspread() -> Any:
    """gspread, imported only when the exporter runs."""
    try:
        return importlib.import_module("gspread")
    except ImportError as exc:  # pragma: no cover - the package depends on it
        raise ExportError(f"the gsheets exporter needs gspread: {exc}", hint="pip install gspread") from exc


def _cells(row: ExportRow, header: Sequence[str]) -> list[Any]:
    fields = {column: str(getattr(row, field)) for column, field in BASE_COLUMNS.items()}
    return [fields[name] if name in fields else row.metrics.get(name, "") for name in header]


class GsheetsExporter(ResultExporter):
    """Keeps one row per job in the first sheet of a spreadsheet (NeMo Evaluator Launcher's ``gsheets``).

    The spreadsheet is ``spreadsheet_id``, or the one named ``spreadsheet_name`` (created when
    missing), reached with the service account of ``service_account_file`` (gspread's default
    file otherwise). The header row has ``Model Name``, ``Harness``, ``Task Name``, ``Executor``,
    ``Invocation ID``, ``Job ID`` and one column per flat metric name, growing as new metrics
    come; a job whose id has a row already has that row rewritten, never a second one.

    Args:
        settings: ``export.gsheets``.
        http_client: gspread's HTTP client class to use (tests point it at a stand-in of the API).

    Raises:
        ConfigError: when a setting is unknown or malformed.
    """

    name: ClassVar[str] = "gsheets"

    def __init__(self, settings: dict[str, Any], *, http_client: type | None = None) -> None:
        super().__init__(settings)
        read = Settings(self.name, settings, _KEYS)
        self.common = CommonSettings.read(read)
        self.spreadsheet_id = read.text("spreadsheet_id")
        self.spreadsheet_name = read.text("spreadsheet_name", DEFAULT_SPREADSHEET) or DEFAULT_SPREADSHEET
        self.service_account_file = read.text("service_account_file")
        self.http_client = http_client

    def client(self) -> Any:
        """A gspread client authorized as the service account."""
        gspread = _gspread()
        options: dict[str, Any] = {"http_client": self.http_client} if self.http_client else {}
        if self.service_account_file:
            options["filename"] = self.service_account_file
        try:
            return gspread.service_account(**options)
        except FileNotFoundError as exc:
            raise ConfigError(
                f"export.gsheets.service_account_file: {exc.filename or exc}: no such file",
                hint="give the service account's JSON key file (its path, never its content)",
            ) from exc

    def spreadsheet(self, client: Any) -> Any:
        """The spreadsheet by id, or by name (created when no spreadsheet has it)."""
        gspread = _gspread()
        if self.spreadsheet_id:
            try:
                return client.open_by_key(self.spreadsheet_id)
            except gspread.SpreadsheetNotFound as exc:
                raise ExportError(f"export.gsheets.spreadsheet_id: no spreadsheet {self.spreadsheet_id}") from exc
        try:
            return client.open(self.spreadsheet_name)
        except gspread.SpreadsheetNotFound:
            return client.create(self.spreadsheet_name)

    @staticmethod
    def _write(sheet: Any, rows: Sequence[ExportRow]) -> None:
        values = sheet.get_all_values()
        header = list(values[0]) if values and any(values[0]) else list(BASE_COLUMNS)
        if "Job ID" not in header:
            raise ExportError(f"sheet '{sheet.title}': its first row has no 'Job ID' column")
        added = sorted({name for row in rows for name in row.metrics} - set(header))
        header_changed = added or not values or not any(values[0])
        header.extend(added)
        if len(header) > sheet.col_count:
            sheet.add_cols(len(header) - sheet.col_count)
        if header_changed:
            sheet.update([header], "A1", value_input_option="RAW")
        column = header.index("Job ID")
        at = {r[column]: number for number, r in enumerate(values[1:], start=2) if len(r) > column and r[column]}
        appended = []
        for row in rows:
            if row.job_id in at:
                sheet.update([_cells(row, header)], f"A{at[row.job_id]}", value_input_option="RAW")
            else:
                appended.append(_cells(row, header))
        if appended:
            sheet.append_rows(appended, value_input_option="RAW", table_range="A1")

    def export(self, items: Sequence[ExportItem]) -> ExportReport:
        where = self.spreadsheet_id or self.spreadsheet_name
        if not items:
            return ExportReport(destination=self.name, location=f"spreadsheet {where}")
        gspread = _gspread()
        try:
            spreadsheet = self.spreadsheet(self.client())
            self._write(spreadsheet.sheet1, [item.row for item in items])
        except (gspread.exceptions.GSpreadException, OSError) as exc:
            raise ExportError(f"Google Sheets ({where}): {type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            if type(exc).__module__.startswith(("google.", "requests")):
                raise ExportError(f"Google Sheets ({where}): {type(exc).__name__}: {exc}") from exc
            raise
        return ExportReport(
            destination=self.name, location=str(spreadsheet.url), exported=[item.job.id for item in items]
        )
