"""A small OpenAI-compatible client: chat and completions, with retries.

Standard library only (urllib), so the runner works under any Python 3.10+
that can import this package, including a plain PYTHONPATH checkout.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypedDict

from .concurrency import Limiter, Slot
from .prompts import ChatMessage, Prompt, truncate_completion

__all__ = [
    "Completion",
    "EndpointConfig",
    "RequestFailedError",
    "TokenUsage",
    "complete",
    "request",
    "request_body",
    "resolve_url",
]

# Transient by nature: timeouts, rate limiting, server-side failures.
_RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_MAX_BACKOFF_S = 8.0


class RequestFailedError(Exception):
    """A request that still failed after all retries (or could not be retried).

    Args:
        message: What went wrong, for a person.
        url: The URL the request went to.
        status: The HTTP status of the last attempt; None when no HTTP answer came (a
            timeout, a refused or dropped connection) or the answer was a 200 of no use.
    """

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


@dataclass(frozen=True)
class EndpointConfig:
    """Where and how to send requests; built once per run by the runner."""

    url: str
    model_id: str
    endpoint_type: str
    timeout: float = 60.0
    max_retries: int = 3
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    # Kept out of repr so a logged config never shows the key.
    api_key: str | None = field(default=None, repr=False)
    backoff_s: float = 0.5


class TokenUsage(TypedDict):
    """The tokens an answer's ``usage`` reports (each None when the server left it out)."""

    prompt: int | None
    completion: int | None
    total: int | None


@dataclass(frozen=True)
class Completion:
    """One answer: the generated text and the tokens the server says it used."""

    text: str
    usage: TokenUsage | None = None


class _RequestBody(TypedDict, total=False):
    """The JSON body of a chat or completions request; ``model`` is always set."""

    model: str
    messages: list[ChatMessage]
    prompt: str
    stop: list[str]
    temperature: float
    top_p: float
    max_tokens: int


def resolve_url(url: str, endpoint_type: str) -> str:
    """Return the URL to POST to for ``endpoint_type``.

    A URL whose path already ends in ``/completions`` (``/v1/chat/completions``,
    ``/v1/completions``) is used as given: that is what nemo-evaluator's
    ``target.api_endpoint.url`` holds. Anything else is taken as a base URL and
    gets ``/chat/completions`` or ``/completions`` appended; that covers the
    adapter proxy (``http://localhost:3825``, any path is forwarded to the real
    endpoint) and client mode with a base URL (``http://host:8000/v1``).
    """
    path = urllib.parse.urlsplit(url).path.rstrip("/")
    if path.endswith("/completions"):
        return url
    suffix = "/chat/completions" if endpoint_type == "chat" else "/completions"
    return url.rstrip("/") + suffix


def _payload(config: EndpointConfig, prompt: Prompt) -> _RequestBody:
    """Build the JSON body; unset sampling parameters are left to the server."""
    body: _RequestBody = {"model": config.model_id}
    if config.endpoint_type == "chat":
        body["messages"] = list(prompt.messages or ())
    else:
        body["prompt"] = prompt.text or ""
        if prompt.stop:
            body["stop"] = list(prompt.stop)
    if config.temperature is not None:
        body["temperature"] = config.temperature
    if config.top_p is not None:
        body["top_p"] = config.top_p
    if config.max_tokens is not None:
        body["max_tokens"] = config.max_tokens
    return body


def _extract_text(endpoint_type: str, answer: object) -> str:
    """Pull the generated text out of an OpenAI-style response body.

    Raises:
        ValueError: ``answer`` does not have that shape; the message says where.
    """
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not isinstance(choices, list) or not choices:
        raise ValueError("no 'choices' list in the answer")
    choice = choices[0]
    if not isinstance(choice, dict):
        raise ValueError("choices[0] is not an object")
    if endpoint_type == "chat":
        message = choice.get("message")
        if not isinstance(message, dict):
            raise ValueError("choices[0] has no 'message' object")
        text = message.get("content")
    else:
        text = choice.get("text")
    if not text:
        # Some servers send content null (e.g. reasoning-only answers).
        return ""
    if not isinstance(text, str):
        raise ValueError(f"the answer's text is a JSON {type(text).__name__}, not a string")
    return text


def _usage(answer: object) -> TokenUsage | None:
    """The answer's ``usage`` (OpenAI's prompt, completion and total tokens); None without one."""
    usage = answer.get("usage") if isinstance(answer, dict) else None
    if not isinstance(usage, dict):
        return None

    def count(key: str) -> int | None:
        value = usage.get(key)
        valid = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return value if valid else None

    return {
        "prompt": count("prompt_tokens"),
        "completion": count("completion_tokens"),
        "total": count("total_tokens"),
    }


def _post_once(url: str, body: _RequestBody, headers: dict[str, str], timeout: float) -> object:
    """POST once and return the decoded JSON answer, whatever its shape.

    urllib's errors are raised as they come: the caller decides on retry.
    """
    request = urllib.request.Request(
        url, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer: object = json.loads(response.read().decode("utf-8"))
        return answer


@contextlib.contextmanager
def _slot(limiter: Limiter | None) -> Iterator[Slot]:
    if limiter is None:
        yield Slot()
    else:
        with limiter.slot() as slot:
            yield slot


def complete(
    config: EndpointConfig,
    prompt: Prompt,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Send one prompt and return the generated text (see :func:`request`).

    Raises:
        RequestFailedError: no usable answer; the message says why.
    """
    return request(config, prompt, sleep=sleep).text


def request_body(config: EndpointConfig, prompt: Prompt) -> dict[str, object]:
    """The JSON body :func:`request` sends for ``prompt`` (what a cache keys answers by)."""
    return dict(_payload(config, prompt))


def request(
    config: EndpointConfig,
    prompt: Prompt,
    *,
    sleep: Callable[[float], None] = time.sleep,
    limiter: Limiter | None = None,
) -> Completion:
    """Send one prompt and return the generated text with the tokens it used.

    Retries up to ``config.max_retries`` times (so 1 + max_retries attempts) on
    connection errors, timeouts and retryable HTTP statuses, with exponential
    backoff; other HTTP errors (400, 401, 404, ...) fail at once. Each attempt
    holds a slot of ``limiter`` (none: no limit here) and reports how it went;
    the backoff between attempts holds none. A throttled attempt (429, 503)
    that made the limiter lower its limit is retried at once and does not count
    as a retry: the lower limit is the back-off.

    Raises:
        RequestFailedError: no usable answer; the message says why.
    """
    url = resolve_url(config.url, config.endpoint_type)
    body = _payload(config, prompt)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    attempts = 1 + max(0, config.max_retries)
    last_error = "no attempt made"
    last_status: int | None = None
    failed = 0  # attempts that count against max_retries
    sent = 0
    eased = False
    while failed < attempts:
        if failed and not eased:
            sleep(min(config.backoff_s * 2 ** (failed - 1), _MAX_BACKOFF_S))
        eased = False
        sent += 1
        try:
            with _slot(limiter) as slot:
                try:
                    answer = _post_once(url, body, headers, config.timeout)
                except urllib.error.HTTPError as exc:
                    slot.status = exc.code
                    raise
                usage = _usage(answer)
                slot.tokens = usage["completion"] if usage else None
        except urllib.error.HTTPError as exc:
            try:
                detail = exc.read(300).decode("utf-8", "replace").strip()
            except OSError:
                # The error body is only a hint; losing it must not hide the status.
                detail = ""
            last_error, last_status = f"HTTP {exc.code} from {url}: {detail}", exc.code
            if exc.code not in _RETRY_STATUSES:
                raise RequestFailedError(last_error, url=url, status=exc.code) from exc
            # A throttle the limiter answered with a lower limit was its probe's cost, not the
            # endpoint's failure: retried at once, and not counted (the limit only goes down).
            eased = slot.eased
            failed += 0 if eased else 1
            continue
        except (
            urllib.error.URLError,
            http.client.HTTPException,
            TimeoutError,
            ConnectionError,
        ) as exc:
            reason = getattr(exc, "reason", exc)
            last_error, last_status = f"{type(exc).__name__} for {url}: {reason}", None
            failed += 1
            continue
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            last_error, last_status = f"non-JSON answer from {url}: {exc}", None
            failed += 1
            continue
        try:
            text = _extract_text(config.endpoint_type, answer)
        except ValueError as exc:
            # A 200 without choices will not get better by asking again.
            raise RequestFailedError(f"unexpected answer shape from {url}: {exc}", url=url) from exc
        text = truncate_completion(text, prompt.stop) if prompt.stop else text
        return Completion(text=text, usage=usage)
    message = f"{last_error} (after {sent} attempts)"
    raise RequestFailedError(message, url=url, status=last_status)
