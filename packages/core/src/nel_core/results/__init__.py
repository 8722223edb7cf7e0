"""Results beyond the scores: a job's samples, runs side by side, comparisons and release gates.

Standard library only (with attrs): usable on invocations from the store or on plain job
directories copied from any executor.
"""

from nel_core.results._evaluator import evaluator_samples
from nel_core.results._read import LEGACY_NEL_BENCH_SAMPLES, SampleSet, keep_samples, read_samples, write_samples
from nel_core.results._sample import Sample, TokenCounts, prompt_hash, sample_from_record, sample_record

__all__ = [
    "LEGACY_NEL_BENCH_SAMPLES",
    "Sample",
    "SampleSet",
    "TokenCounts",
    "evaluator_samples",
    "keep_samples",
    "prompt_hash",
    "read_samples",
    "sample_from_record",
    "sample_record",
    "write_samples",
]
