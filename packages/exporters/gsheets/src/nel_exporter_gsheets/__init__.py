"""nel-exporter-gsheets: one row per finished job in a Google spreadsheet.

Registered as ``gsheets`` in the ``nel.exporters`` entry-point group. gspread is imported only
when an export runs, never when this package is imported.
"""

from nel_core.ports.result_exporter import ExporterSpec
from nel_exporter_gsheets._exporter import BASE_COLUMNS, DEFAULT_SPREADSHEET, GsheetsExporter

__all__ = ["BASE_COLUMNS", "DEFAULT_SPREADSHEET", "EXPORTER_SPEC", "GsheetsExporter"]

#: The registration (entry point ``nel.exporters: gsheets``).
EXPORTER_SPEC = ExporterSpec(
    name="gsheets",
    factory=GsheetsExporter,
    package="nel-exporter-gsheets",
    description="one row per job in a Google spreadsheet, columns growing with new metrics",
)
