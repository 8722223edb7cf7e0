"""Services of NEL: they work through the ports only."""

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
