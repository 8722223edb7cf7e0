"""Fixtures of the Slurm executor's fast tier: a fake Slurm on PATH."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from slurm_fakes import install


@pytest.fixture
def fake_slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """sbatch, squeue, sacct and scancel on PATH, their state under the returned folder."""
    install(tmp_path / "fake-bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'fake-bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM_STATE", str(tmp_path / "fake-slurm"))
    return tmp_path / "fake-slurm"
