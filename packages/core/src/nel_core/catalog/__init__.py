"""The task catalog: NVIDIA's eval-factory tasks plus the benchmarks NEL ships itself.

421 eval-factory tasks in 23 harnesses plus NEL's own 3 (harness ``nel_bench``): 424 tasks in
24 harnesses, as ``nel ls tasks`` counts them.
"""

from nel_core.catalog._catalog import Catalog, HarnessEntry, TaskEntry, load_catalog

__all__ = ["Catalog", "HarnessEntry", "TaskEntry", "load_catalog"]
