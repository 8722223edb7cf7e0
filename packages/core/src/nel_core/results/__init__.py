"""Results beyond the scores: a job's samples, runs side by side, comparisons and release gates.

Standard library only (with attrs): usable on invocations from the store or on plain job
directories copied from any executor.
"""

from nel_core.results._evaluator import evaluator_samples
from nel_core.results._read import LEGACY_NEL_BENCH_SAMPLES, SampleSet, keep_samples, read_samples, write_samples
from nel_core.results._report import REPORT_VERSION, SAMPLE_COLUMNS, report_document
from nel_core.results._runs import JobView, RunView, load_run_dirs, run_view
from nel_core.results._sample import Sample, TokenCounts, prompt_hash, sample_from_record, sample_record

__all__ = [
    "LEGACY_NEL_BENCH_SAMPLES",
    "REPORT_VERSION",
    "SAMPLE_COLUMNS",
    "JobView",
    "RunView",
    "Sample",
    "SampleSet",
    "TokenCounts",
    "evaluator_samples",
    "keep_samples",
    "load_run_dirs",
    "prompt_hash",
    "read_samples",
    "report_document",
    "run_view",
    "sample_from_record",
    "sample_record",
    "write_samples",
]
