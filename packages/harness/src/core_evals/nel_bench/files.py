"""Files a reader never sees half-written."""

from __future__ import annotations

import os
import threading
from pathlib import Path

__all__ = ["replace_text"]


def replace_text(path: Path, text: str) -> None:
    """Write ``text`` beside ``path`` (named for this process and thread), then rename it over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    staging.write_text(text, "utf-8")
    os.replace(staging, path)
