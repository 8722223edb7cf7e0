"""Tests of the HTTP client: URL resolution, payloads, retries, failures."""

from __future__ import annotations

import pytest

from core_evals.nel_bench.client import (
    EndpointConfig,
    RequestFailedError,
    complete,
    request,
    resolve_url,
)
from core_evals.nel_bench.concurrency import Limiter, Slot
from core_evals.nel_bench.prompts import COMPLETION_STOP, Prompt, build_prompt, truncate_completion
from core_evals.nel_bench.tasks import load_dataset
from nel_harness_stub import openai_answer


@pytest.mark.parametrize(
    ("url", "endpoint_type", "expected"),
    [
        # nemo-evaluator's default: the full URL of the real endpoint.
        ("http://h:8/v1/chat/completions", "chat", "http://h:8/v1/chat/completions"),
        ("http://h:8/v1/completions", "completions", "http://h:8/v1/completions"),
        ("http://h:8/v1/completions/", "completions", "http://h:8/v1/completions/"),
        # The adapter proxy as rendered into the command: no path at all.
        ("http://localhost:3825", "chat", "http://localhost:3825/chat/completions"),
        ("http://localhost:3825", "completions", "http://localhost:3825/completions"),
        # Client mode with a base URL.
        ("http://h:8/v1/", "chat", "http://h:8/v1/chat/completions"),
    ],
)
def test_resolve_url_accepts_full_proxy_and_base_urls(
    url: str, endpoint_type: str, expected: str
) -> None:
    """Full endpoint URLs stay as given; base URLs get the endpoint path."""
    assert resolve_url(url, endpoint_type) == expected


def test_prompts_differ_by_endpoint_type() -> None:
    """Chat gets an instruction; completions gets a few-shot Q/A prompt with stops."""
    item = load_dataset("capitals")[0]
    chat = build_prompt(item, "chat")
    assert chat.messages and chat.messages[0]["content"].startswith(item.question)
    completion = build_prompt(item, "completions")
    assert completion.text and completion.text.endswith(f"Q: {item.question}\nA:")
    assert completion.stop == COMPLETION_STOP
    with pytest.raises(ValueError):
        build_prompt(item, "embedding")


def test_truncate_completion_cuts_at_the_first_stop() -> None:
    """An invented follow-up question is cut off before scoring."""
    assert (
        truncate_completion(" Rome\nQ: What is the capital of Spain?\nA: Madrid", COMPLETION_STOP)
        == " Rome"
    )


def _config(url: str, endpoint_type: str = "chat", **kwargs: object) -> EndpointConfig:
    return EndpointConfig(url=url, model_id="m", endpoint_type=endpoint_type, timeout=5, **kwargs)  # type: ignore[arg-type]


def test_request_returns_the_token_usage_the_server_reports(stub_server) -> None:
    """The answer's usage comes back as prompt/completion/total tokens; without one, None."""
    usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    server = stub_server(
        lambda path, headers, body: (200, {**openai_answer(body, "x"), "usage": usage})
    )
    answer = request(_config(server.base_url), Prompt(messages=()))
    assert answer.text == "x" and answer.usage == {"prompt": 5, "completion": 2, "total": 7}
    bare = stub_server(lambda path, headers, body: (200, openai_answer(body, "y")))
    assert request(_config(bare.base_url), Prompt(messages=())).usage is None


def test_chat_request_carries_model_sampling_params_and_key(stub_server) -> None:
    """The chat body has model, messages and the set sampling params; the key is a Bearer."""
    server = stub_server(lambda path, headers, body: (200, openai_answer(body, "Paris")))
    config = _config(server.base_url, temperature=0.0, top_p=0.9, max_tokens=8, api_key="sekret")
    prompt = Prompt(messages=({"role": "user", "content": "hi"},))
    assert complete(config, prompt) == "Paris"
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == "Bearer sekret"
    assert request["body"] == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.0,
        "top_p": 0.9,
        "max_tokens": 8,
    }
    assert "sekret" not in repr(config)


def test_completions_request_omits_unset_params_and_sends_stops(stub_server) -> None:
    """Unset sampling params are left to the server; stops are sent and applied."""
    server = stub_server(lambda path, headers, body: (200, openai_answer(body, " 5\n\nQ: more")))
    prompt = Prompt(text="Q: x\nA:", stop=COMPLETION_STOP)
    assert complete(_config(server.base_url, "completions"), prompt) == " 5"
    (request,) = server.requests
    assert request["path"] == "/v1/completions"
    assert "authorization" not in request["headers"]
    assert request["body"] == {"model": "m", "prompt": "Q: x\nA:", "stop": list(COMPLETION_STOP)}


def test_retryable_errors_are_retried_with_backoff(stub_server) -> None:
    """Two 503s then a 200: three attempts, two backoff sleeps, the answer returned."""
    replies = iter([(503, {"error": "busy"}), (503, {"error": "busy"})])
    server = stub_server(
        lambda path, headers, body: next(replies, (200, openai_answer(body, "ok")))
    )
    sleeps: list[float] = []
    config = _config(server.base_url, max_retries=3)
    assert complete(config, Prompt(messages=()), sleep=sleeps.append) == "ok"
    assert len(server.requests) == 3
    assert sleeps == [0.5, 1.0]


class _HalvingLimiter(Limiter):
    """Halves its limit on each throttle, as an adaptive limiter backing off does."""

    def _observe(self, slot: Slot, latency: float) -> None:
        if slot.status == 429:
            self.limit = max(1, self.limit // 2)


def test_a_throttle_the_limiter_answered_is_retried_at_once_and_not_counted(stub_server) -> None:
    """429s that lowered the limit (4, 2, 1) cost no sleep and no retry: max_retries=0 will do."""
    replies = iter([(429, {"error": "full"}), (429, {"error": "full"})])
    server = stub_server(
        lambda path, headers, body: next(replies, (200, openai_answer(body, "ok")))
    )
    sleeps: list[float] = []
    limiter = _HalvingLimiter(4)
    config = _config(server.base_url, max_retries=0)
    answer = request(config, Prompt(messages=()), sleep=sleeps.append, limiter=limiter)
    assert answer.text == "ok"
    assert len(server.requests) == 3
    assert sleeps == []
    assert limiter.limit == 1


def test_a_throttle_at_the_lowest_limit_backs_off_and_counts(stub_server) -> None:
    """When the limit cannot go lower, a 429 is an ordinary retry: back-off sleeps, then failure."""
    server = stub_server(lambda path, headers, body: (429, {"error": "full"}))
    sleeps: list[float] = []
    config = _config(server.base_url, max_retries=2)
    with pytest.raises(RequestFailedError, match="HTTP 429.*after 3 attempts"):
        request(config, Prompt(messages=()), sleep=sleeps.append, limiter=_HalvingLimiter(1))
    assert sleeps == [0.5, 1.0]
    assert len(server.requests) == 3


def test_retries_run_out_into_request_failed(stub_server) -> None:
    """max_retries=2 means three attempts, then RequestFailedError with the last status."""
    server = stub_server(lambda path, headers, body: (500, {"error": "boom"}))
    with pytest.raises(RequestFailedError, match="HTTP 500.*after 3 attempts"):
        complete(_config(server.base_url, max_retries=2), Prompt(messages=()), sleep=lambda s: None)
    assert len(server.requests) == 3


def test_request_failed_keeps_the_last_status_and_the_url(stub_server, free_dead_url: str) -> None:
    """A failed request names the URL it called and its last HTTP status (None if no answer)."""
    server = stub_server(lambda path, headers, body: (503, {"error": "overloaded"}))
    with pytest.raises(RequestFailedError) as failed:
        complete(_config(server.base_url, max_retries=1), Prompt(messages=()), sleep=lambda s: None)
    assert (failed.value.status, failed.value.url) == (503, server.base_url + "/chat/completions")
    with pytest.raises(RequestFailedError) as refused:
        complete(_config(free_dead_url, max_retries=0), Prompt(messages=()), sleep=lambda s: None)
    assert (refused.value.status, refused.value.url) == (None, free_dead_url + "/chat/completions")


def test_client_errors_are_not_retried(stub_server) -> None:
    """A 400 (bad request) fails at once: asking again cannot help."""
    server = stub_server(lambda path, headers, body: (400, {"error": "bad model"}))
    with pytest.raises(RequestFailedError, match="HTTP 400.*bad model"):
        complete(_config(server.base_url), Prompt(messages=()), sleep=lambda s: None)
    assert len(server.requests) == 1


def test_unreachable_endpoint_fails_after_retries(free_dead_url: str) -> None:
    """Connection refused is retried, then reported as RequestFailedError."""
    sleeps: list[float] = []
    with pytest.raises(RequestFailedError, match="after 2 attempts"):
        complete(_config(free_dead_url, max_retries=1), Prompt(messages=()), sleep=sleeps.append)
    assert sleeps == [0.5]


def test_answer_without_choices_fails_without_retry(stub_server) -> None:
    """A 200 whose body has no choices is a failure, not retried."""
    server = stub_server(lambda path, headers, body: (200, {"unexpected": True}))
    with pytest.raises(RequestFailedError, match="unexpected answer shape"):
        complete(_config(server.base_url), Prompt(messages=()), sleep=lambda s: None)
    assert len(server.requests) == 1


def test_null_chat_content_reads_as_empty_text(stub_server) -> None:
    """content: null (reasoning-only answers) is an empty response, not a crash."""
    server = stub_server(
        lambda path, headers, body: (200, {"choices": [{"message": {"content": None}}]})
    )
    assert complete(_config(server.base_url), Prompt(messages=())) == ""


@pytest.mark.parametrize(
    ("endpoint_type", "answer"),
    [
        ("chat", {"choices": [{"message": {"content": ["Paris"]}}]}),
        ("completions", {"choices": [{"text": 5}]}),
    ],
)
def test_answer_text_that_is_not_a_string_fails_without_retry(
    stub_server, endpoint_type: str, answer: dict
) -> None:
    """A 200 whose text is not a JSON string is a failed request naming the type, not retried."""
    server = stub_server(lambda path, headers, body: (200, answer))
    with pytest.raises(RequestFailedError, match="unexpected answer shape.*not a string"):
        complete(_config(server.base_url, endpoint_type), Prompt(), sleep=lambda s: None)
    assert len(server.requests) == 1
