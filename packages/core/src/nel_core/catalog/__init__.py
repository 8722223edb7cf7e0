"""The task catalog: NVIDIA's eval-factory tasks plus the benchmarks NEL ships itself."""

from nel_core.catalog._catalog import Catalog, HarnessEntry, TaskEntry, load_catalog

__all__ = ["Catalog", "HarnessEntry", "TaskEntry", "load_catalog"]
