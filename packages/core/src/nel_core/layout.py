"""The job directory's contract: the names every executor, job script and reader agree on.

An invocation's folder (``<execution.output_dir>/<invocation id>/``) holds ``config.yaml`` (the
config as composed and run, ``lit:`` values redacted) and one folder per job
(``<index>-<task>``, see :func:`nel_core.services.materialize.job_dir_name`). A job's folder holds:

- ``run.sh``: its entry script (written by the executor; sources ``secrets.env``),
- ``run_config.yml``: the harness's run config, passed where the command says ``{run_config}``,
- ``outcome.yml``: how the job's outcome is judged (``max_failure_rate``, from the run config),
- ``secrets.env``: the job's environment values (mode 0600, sourced, never printed),
- ``job.log``: what the job printed (stdout and stderr),
- ``artifacts/``: the harness's output directory (``results.yml`` and friends; the request
  statistics NEL reads, ``nel_requests.json`` or nemo-evaluator's ``eval_factory_metrics.json``,
  see :mod:`nel_core.services.requests`; ``samples.jsonl``, one JSON line per sample, see
  :mod:`nel_core.results`; while it runs, the harness's progress counter,
  ``progress.json`` or nemo-evaluator's ``progress``, see :mod:`nel_core.services.progress`),
- the stage markers, written by the job itself as it goes (see :mod:`nel_core.services.stages`):
  ``stage.pre-start``, ``stage.running``, ``stage.exit`` (the exit code), ``stage.reason`` (why
  it failed, when the job knows), and ``stage.killed`` (written by whoever stops it on purpose),
- ``job.pid``: ``<pid>:<start time>`` of the job's process group on the host that runs it.

The harness command gets a free port for its adapter proxy in ``ADAPTER_PORT``, and
``NEMO_EVALUATOR_TELEMETRY_LEVEL=0``.
"""

from __future__ import annotations

__all__ = [
    "ADAPTER_PORT_VARIABLE",
    "ARTIFACTS_DIR",
    "CONFIG_FILE",
    "CONCURRENCY_FILE",
    "EVAL_FACTORY_METRICS",
    "EXIT",
    "HARNESS_COUNTER_FILE",
    "JOB_LOG",
    "JOB_PID",
    "KILLED",
    "OUTCOME_FILE",
    "PRE_START",
    "PROGRESS_FILE",
    "REASON",
    "REQUESTS_FILE",
    "RESULTS_FILE",
    "RUNNING",
    "RUN_CONFIG_FILE",
    "RUN_CONFIG_PLACEHOLDER",
    "RUN_SCRIPT",
    "SAMPLES_FILE",
    "SECRETS_FILE",
]

#: In the invocation's folder: the config as composed and run (``lit:`` values redacted).
CONFIG_FILE = "config.yaml"
RUN_SCRIPT = "run.sh"
RUN_CONFIG_FILE = "run_config.yml"
#: Where a JobSpec's command names its run config; the executor puts the path as the job sees it.
RUN_CONFIG_PLACEHOLDER = "{run_config}"
SECRETS_FILE = "secrets.env"
OUTCOME_FILE = "outcome.yml"
JOB_LOG = "job.log"
ARTIFACTS_DIR = "artifacts"
RESULTS_FILE = "results.yml"
#: Request statistics a harness may write into its output dir (NEL's benchmark does).
REQUESTS_FILE = "nel_requests.json"
#: The level ``parallelism: auto`` chose behind NEL's gate (another harness than NEL's own).
CONCURRENCY_FILE = "nel_concurrency.json"
#: nemo-evaluator's metrics file; its adapter proxy counts the responses by HTTP status there.
EVAL_FACTORY_METRICS = "eval_factory_metrics.json"
#: In ``artifacts/``: one JSON line per sample (NEL's per-sample format, see
#: :mod:`nel_core.results._sample`), written by NEL's benchmark, or by NEL from nemo-evaluator's
#: cache for other harnesses.
SAMPLES_FILE = "samples.jsonl"
JOB_PID = "job.pid"
ADAPTER_PORT_VARIABLE = "ADAPTER_PORT"
#: In ``artifacts/``: the harness's progress (done, total, failed, times), replaced atomically.
PROGRESS_FILE = "progress.json"
#: In ``artifacts/``: nemo-evaluator's bare count of proxied responses (``progress_tracking``).
HARNESS_COUNTER_FILE = "progress"

PRE_START = "stage.pre-start"
RUNNING = "stage.running"
EXIT = "stage.exit"
KILLED = "stage.killed"
REASON = "stage.reason"
