"""Regenerate ``data/arithmetic.jsonl``, the arithmetic task's shipped dataset.

The file is committed; this script only documents how it was made and lets a
maintainer rebuild it byte for byte (fixed seed, fixed order).

Usage: python scripts/make_arithmetic_data.py > src/core_evals/nel_bench/data/arithmetic.jsonl
"""

from __future__ import annotations

import json
import random
import sys

# Fixed so that regenerating gives the very same file (reviewable diffs).
SEED = 20250601
COUNT = 80


def _operands(rng: random.Random, op: str) -> tuple[int, int]:
    """Pick operands small enough that a tiny model can plausibly answer."""
    if op == "*":
        return rng.randint(2, 12), rng.randint(2, 12)
    return rng.randint(1, 60), rng.randint(1, 60)


def main() -> int:
    """Write COUNT unique questions, cycling +, -, * so any prefix mixes all three."""
    rng = random.Random(SEED)
    seen: set[tuple[int, str, int]] = set()
    ops = ["+", "-", "*"]
    n = 0
    while n < COUNT:
        op = ops[n % len(ops)]
        a, b = _operands(rng, op)
        if (a, op, b) in seen:
            continue
        seen.add((a, op, b))
        answer = a + b if op == "+" else a - b if op == "-" else a * b
        n += 1
        record = {
            "id": f"arith-{n:03d}",
            "question": f"What is {a} {op} {b}?",
            "answers": [str(answer)],
        }
        sys.stdout.write(json.dumps(record) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
