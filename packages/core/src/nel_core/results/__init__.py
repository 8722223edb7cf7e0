"""Results beyond the scores: a job's samples, runs side by side, comparisons and release gates.

Standard library only (with attrs): usable on invocations from the store or on plain job
directories copied from any executor.
"""

from nel_core.results._compare import (
    IMPROVED,
    NO_CHANGE,
    REGRESSED,
    AggregateDelta,
    Comparison,
    Flip,
    PairedDelta,
    compare_runs,
    jobs_by_task,
    primary_score,
)
from nel_core.results._evaluator import evaluator_samples
from nel_core.results._gate import FAIL, GO, INCONCLUSIVE, NO_GO, PASS, SKIPPED, Check, GateResult, evaluate_gate
from nel_core.results._policy import DEFAULT_TIERS, Benchmark, Policy, Tier, load_policy, policy_from_mapping
from nel_core.results._read import LEGACY_NEL_BENCH_SAMPLES, SampleSet, keep_samples, read_samples, write_samples
from nel_core.results._report import REPORT_VERSION, SAMPLE_COLUMNS, report_document
from nel_core.results._runs import JobView, RunView, load_run_dirs, run_view
from nel_core.results._sample import Sample, TokenCounts, prompt_hash, sample_from_record, sample_record

__all__ = [
    "DEFAULT_TIERS",
    "FAIL",
    "GO",
    "IMPROVED",
    "INCONCLUSIVE",
    "LEGACY_NEL_BENCH_SAMPLES",
    "NO_CHANGE",
    "NO_GO",
    "PASS",
    "REGRESSED",
    "REPORT_VERSION",
    "SAMPLE_COLUMNS",
    "SKIPPED",
    "AggregateDelta",
    "Benchmark",
    "Check",
    "Comparison",
    "Flip",
    "GateResult",
    "JobView",
    "PairedDelta",
    "Policy",
    "RunView",
    "Sample",
    "SampleSet",
    "Tier",
    "TokenCounts",
    "compare_runs",
    "evaluate_gate",
    "evaluator_samples",
    "jobs_by_task",
    "keep_samples",
    "load_policy",
    "load_run_dirs",
    "policy_from_mapping",
    "primary_score",
    "prompt_hash",
    "read_samples",
    "report_document",
    "run_view",
    "sample_from_record",
    "sample_record",
    "write_samples",
]
