"""The nel_bench task registry and its shipped datasets.

A task draws its items from one or more datasets (JSON Lines files shipped as
package data); each dataset names its scorer and how to phrase its prompts.
Nothing is read at import time: ``load_items`` reads the files when called.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "DATASETS",
    "TASKS",
    "DatasetSpec",
    "Item",
    "TaskSpec",
    "load_dataset",
    "load_items",
    "select_items",
]


@dataclass(frozen=True)
class DatasetSpec:
    """One shipped dataset: its file, scorer, and prompt phrasing.

    Attributes:
        name: dataset name, also the item's ``subset`` in mixed tasks.
        filename: file under ``core_evals/nel_bench/data/``.
        scorer: key into ``scorers.SCORERS``.
        chat_instruction: appended to the question for chat endpoints.
        fewshot: (question, answer) pairs prefixed to completions prompts; none of
            them may occur in the dataset (a test checks this).
    """

    name: str
    filename: str
    scorer: str
    chat_instruction: str
    fewshot: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TaskSpec:
    """One task as nemo-evaluator addresses it (``nel_bench.<name>``)."""

    name: str
    description: str
    datasets: tuple[str, ...]


@dataclass(frozen=True)
class Item:
    """One benchmark question with its accepted answers."""

    id: str
    question: str
    answers: tuple[str, ...]
    subset: str
    scorer: str


DATASETS: dict[str, DatasetSpec] = {
    "arithmetic": DatasetSpec(
        name="arithmetic",
        filename="arithmetic.jsonl",
        scorer="exact_first_integer",
        chat_instruction="Reply with only the number.",
        # Operands outside the dataset's ranges, so no shot leaks an answer.
        fewshot=(("What is 70 + 5?", "75"), ("What is 64 - 71?", "-7"), ("What is 13 * 3?", "39")),
    ),
    "capitals": DatasetSpec(
        name="capitals",
        filename="capitals.jsonl",
        scorer="contains",
        chat_instruction="Reply with only the name of the city.",
        fewshot=(
            ("What is the capital of Malta?", "Valletta"),
            ("What is the capital of Cyprus?", "Nicosia"),
        ),
    ),
}

TASKS: dict[str, TaskSpec] = {
    "arithmetic": TaskSpec(
        name="arithmetic",
        description="Small-integer +, -, * questions; exact match on the first integer.",
        datasets=("arithmetic",),
    ),
    "capitals": TaskSpec(
        name="capitals",
        description="Capital cities; case- and accent-insensitive contains.",
        datasets=("capitals",),
    ),
    "mini": TaskSpec(
        name="mini",
        description="arithmetic and capitals interleaved, one of each in turn.",
        datasets=("arithmetic", "capitals"),
    ),
}


def load_dataset(name: str) -> list[Item]:
    """Read one shipped dataset into items, in file order.

    Raises:
        KeyError: the dataset name is unknown.
        ValueError: a line is not a valid record (names the file and line).
    """
    spec = DATASETS[name]
    # importlib.resources works for an installed wheel, an editable install and a
    # plain folder on PYTHONPATH alike.
    text = resources.files(__package__).joinpath("data").joinpath(spec.filename).read_text("utf-8")
    items = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            answers = tuple(str(a) for a in record["answers"])
            items.append(
                Item(
                    id=str(record["id"]),
                    question=str(record["question"]),
                    answers=answers,
                    subset=spec.name,
                    scorer=spec.scorer,
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{spec.filename}:{lineno}: bad record: {exc}") from exc
    return items


def load_items(task: str) -> list[Item]:
    """Return the items of ``task``; a mixed task interleaves its datasets.

    Interleaving (a1, c1, a2, c2, ...) means any ``limit_samples`` prefix of a mixed
    task samples every dataset, not just the first one.

    Raises:
        KeyError: the task is unknown (message lists the known ones).
    """
    if task not in TASKS:
        raise KeyError(f"unknown nel_bench task {task!r}; known: {', '.join(sorted(TASKS))}")
    per_dataset = [load_dataset(name) for name in TASKS[task].datasets]
    items: list[Item] = []
    for position in range(max(len(d) for d in per_dataset)):
        items.extend(d[position] for d in per_dataset if position < len(d))
    return items


def select_items(items: Sequence[Item], limit: int | float | None) -> list[Item]:
    """Apply nemo-evaluator's ``limit_samples`` to ``items``.

    None means all; an integer (or a float >= 1) keeps that many leading items; a
    float in (0, 1) keeps that fraction, rounded up, as lm-eval-harness does.

    Raises:
        ValueError: the limit is zero or negative.
    """
    if limit is None:
        return list(items)
    if limit <= 0:
        raise ValueError(f"limit_samples must be positive, got {limit}")
    if isinstance(limit, float) and limit < 1:
        count = math.ceil(len(items) * limit)
    else:
        count = int(limit)
    return list(items[:count])
