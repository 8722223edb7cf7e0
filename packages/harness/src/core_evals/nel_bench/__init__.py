"""NEL's offline benchmark harness, discovered by nemo-evaluator as ``nel_bench``.

The package lives in the ``core_evals`` namespace (no ``__init__.py`` one level
up) because that is where ``nemo-evaluator`` looks for harnesses: any
``core_evals/<pkg>/framework.yml`` on ``sys.path``, installed or on PYTHONPATH.

Modules:
    scorers: pure scoring functions (first integer, contains).
    tasks: the task registry, shipped datasets and prompt building.
    client: the OpenAI-compatible HTTP client (stdlib only, with retries).
    aggregate: per-sample scores to the results structure.
    progress: the progress file the runner keeps while it runs.
    concurrency: fixed and adaptive limits of the requests in flight.
    adaptive: the gate of ``parallelism: auto`` for other harnesses (an adapter interceptor).
    files: files written whole (beside, then renamed over).
    runner: the command that ``framework.yml`` runs.
    output: ``parse_output(output_dir)``, called by nemo-evaluator.
"""

__all__ = ["PROGRESS_FILE", "REQUESTS_FILE", "RESULTS_FILE", "SAMPLES_FILE", "__version__"]

__version__ = "0.1.1"

# File names the runner writes into config.output_dir and output.py reads back.
RESULTS_FILE = "nel_bench_results.json"
# One JSON line per sample in NEL's per-sample format (id, task, prompt, prompt_hash, expected,
# response, score, latency_s, tokens, error): NEL's reports read it by this name.
SAMPLES_FILE = "samples.jsonl"
# The request counts NEL reads to tell a failing endpoint from a weak model (its name and
# shape are NEL's, see aggregate.RequestCounts; this package does not import NEL).
REQUESTS_FILE = "nel_requests.json"
# Rewritten as samples finish (see progress.py); NEL's status reads it by this name.
PROGRESS_FILE = "progress.json"
