"""nel-exporter-local: finished jobs' results to local JSON or CSV files, with copies of their files.

Registered as ``local`` in the ``nel.exporters`` entry-point group; it needs nothing beyond
nel-core and the standard library.
"""

from nel_core.ports.result_exporter import ExporterSpec
from nel_exporter_local._exporter import DEFAULT_OUTPUT_DIR, LocalExporter

__all__ = ["DEFAULT_OUTPUT_DIR", "EXPORTER_SPEC", "LocalExporter"]

#: The registration (entry point ``nel.exporters: local``).
EXPORTER_SPEC = ExporterSpec(
    name="local",
    factory=LocalExporter,
    package="nel-exporter-local",
    description="JSON or CSV summary of every job, with copies of result files and logs",
)
