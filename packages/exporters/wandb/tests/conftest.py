"""W&B in offline mode with every file it writes inside the test's own folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

_DIRS = ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_CONFIG_DIR", "WANDB_ARTIFACT_DIR")


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``WANDB_MODE=offline`` with W&B's folders in ``tmp_path/wandb-home`` (its runs under ``wandb/``)."""
    home = tmp_path / "wandb-home"
    home.mkdir()
    for name in _DIRS:
        monkeypatch.setenv(name, str(home))
    for name, value in {"WANDB_MODE": "offline", "WANDB_CONSOLE": "off", "WANDB_SILENT": "true",
                        "WANDB_X_DISABLE_STATS": "true"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    yield home
