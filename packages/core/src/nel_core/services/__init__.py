"""Services of NEL: they work through the ports only.

Each name is imported from its module when first used: a command pays only for the services it
runs (a dry run never imports status, results or export).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nel_core.services.control import kill, resume
    from nel_core.services.dryrun import DryRun, dry_run, dry_run_data, dry_run_text, render_dry_run
    from nel_core.services.export import ExportFailed, export_item, export_results
    from nel_core.services.job_dirs import jobs_from_dirs, select_jobs
    from nel_core.services.launch import Launched, launch, make_plan
    from nel_core.services.materialize import materialize, render_files
    from nel_core.services.plan import HARNESS_VERSION, Plan, plan_run
    from nel_core.services.progress import Progress, read_progress
    from nel_core.services.redact import redacted_config
    from nel_core.services.stages import Markers, combine, read_markers, read_results
    from nel_core.services.status import ExecutorFor, refresh

#: Where each public name lives.
_HOMES = {
    "kill": "control",
    "resume": "control",
    "DryRun": "dryrun",
    "dry_run": "dryrun",
    "dry_run_data": "dryrun",
    "dry_run_text": "dryrun",
    "render_dry_run": "dryrun",
    "export_results": "export",
    "ExportFailed": "export",
    "export_item": "export",
    "jobs_from_dirs": "job_dirs",
    "select_jobs": "job_dirs",
    "Launched": "launch",
    "launch": "launch",
    "make_plan": "launch",
    "materialize": "materialize",
    "render_files": "materialize",
    "HARNESS_VERSION": "plan",
    "Plan": "plan",
    "plan_run": "plan",
    "Progress": "progress",
    "read_progress": "progress",
    "redacted_config": "redact",
    "Markers": "stages",
    "combine": "stages",
    "read_markers": "stages",
    "read_results": "stages",
    "ExecutorFor": "status",
    "refresh": "status",
}

__all__ = [
    "HARNESS_VERSION",
    "DryRun",
    "ExportFailed",
    "ExecutorFor",
    "Launched",
    "Markers",
    "Plan",
    "Progress",
    "combine",
    "dry_run",
    "dry_run_data",
    "dry_run_text",
    "export_item",
    "export_results",
    "jobs_from_dirs",
    "kill",
    "launch",
    "make_plan",
    "materialize",
    "plan_run",
    "read_markers",
    "read_progress",
    "read_results",
    "redacted_config",
    "refresh",
    "render_dry_run",
    "render_files",
    "resume",
    "select_jobs",
]


class _Services(types.ModuleType):
    """This package, whose names that are also submodules' (``launch``, ``materialize``) stay functions."""

    def __setattr__(self, name: str, value: Any) -> None:
        # Importing submodule ``launch`` binds it here as an attribute: keep the function instead.
        if isinstance(value, types.ModuleType) and _HOMES.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Services


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'nel_core.services' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"nel_core.services.{home}"), name)
    globals()[name] = value
    return value
