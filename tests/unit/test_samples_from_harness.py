"""NEL's benchmark writes its samples where, and as, core's reader and the report expect them."""

from __future__ import annotations

from pathlib import Path

from core_evals.nel_bench import SAMPLES_FILE
from core_evals.nel_bench.runner import main

from nel_core.layout import SAMPLES_FILE as LAYOUT_SAMPLES_FILE
from nel_core.results import read_samples


def test_nel_bench_samples_read_back_through_core(tmp_path: Path, stand_in: type) -> None:
    """The runner's samples.jsonl (answers " Paris") reads as scored samples: Paris right, the rest wrong."""
    assert SAMPLES_FILE == LAYOUT_SAMPLES_FILE
    argv = ["--task", "capitals", "--output-dir", str(tmp_path), "--model-url", stand_in.url, "--model-id", "m",
            "--model-type", "completions", "--limit-samples", "3", "--max-retries", "0"]  # fmt: skip
    assert main(argv) == 0
    found = read_samples(tmp_path)
    assert found.source == "samples.jsonl" and found.skipped == 0
    assert [(s.id, s.outcome, s.expected) for s in found.samples] == [
        ("cap-001", "correct", ["Paris"]),
        ("cap-002", "wrong", ["Rome"]),
        ("cap-003", "wrong", ["Madrid"]),
    ]
    assert all(s.task == "capitals" and s.prompt and s.prompt_hash and s.latency_s is not None for s in found.samples)
