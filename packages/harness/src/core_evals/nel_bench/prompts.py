"""Prompt building for chat and completions endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from .tasks import DATASETS, Item

__all__ = ["COMPLETION_STOP", "ChatMessage", "Prompt", "build_prompt", "truncate_completion"]

# A base model continuing a Q/A few-shot prompt goes on to invent the next
# question; stopping there keeps "contains" from crediting an invented answer.
COMPLETION_STOP: tuple[str, ...] = ("\nQ:", "\n\n")


class ChatMessage(TypedDict):
    """One message of a chat request."""

    role: str
    content: str


@dataclass(frozen=True)
class Prompt:
    """What to send for one item: chat messages or a completions prompt."""

    messages: tuple[ChatMessage, ...] | None = None
    text: str | None = None
    stop: tuple[str, ...] = ()


def build_prompt(item: Item, endpoint_type: str) -> Prompt:
    """Build the request prompt for ``item`` on a ``chat`` or ``completions`` endpoint.

    Raises:
        ValueError: the endpoint type is neither chat nor completions.
    """
    spec = DATASETS[item.subset]
    if endpoint_type == "chat":
        content = f"{item.question} {spec.chat_instruction}"
        return Prompt(messages=({"role": "user", "content": content},))
    if endpoint_type == "completions":
        shots = "".join(f"Q: {q}\nA: {a}\n\n" for q, a in spec.fewshot)
        return Prompt(text=f"{shots}Q: {item.question}\nA:", stop=COMPLETION_STOP)
    raise ValueError(f"nel_bench supports chat and completions endpoints, not {endpoint_type!r}")


def truncate_completion(text: str, stop: tuple[str, ...]) -> str:
    """Cut ``text`` at the first stop sequence; servers that ignore ``stop`` exist."""
    cut = len(text)
    for marker in stop:
        index = text.find(marker)
        if index != -1:
            cut = min(cut, index)
    return text[:cut]
