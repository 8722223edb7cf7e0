"""Test helpers for nel-harness: a loopback OpenAI-compatible stub and an answer key.

Named uniquely (not ``conftest``) so that ``import`` finds this module even when
pytest collects several packages' tests in one run.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Responder", "StubServer", "answer_key", "asked_question", "openai_answer"]


# A responder gets (path, headers, body) and returns (status, json body).
Responder = Callable[[str, dict, dict], "tuple[int, dict]"]


class StubServer:
    """An OpenAI-compatible stub on 127.0.0.1 that records every request."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                with stub._lock:
                    stub.requests.append({"path": self.path, "headers": headers, "body": body})
                status, answer = stub.responder(self.path, headers, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                """Keep test output quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval keeps shutdown (and so each test) fast.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT/v1."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> StubServer:
        """Serve in a daemon thread; return self for chaining."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()


def openai_answer(body: dict, text: str) -> dict:
    """Shape ``text`` as a chat or completions response, matching the request."""
    if "messages" in body:
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}
    return {"choices": [{"index": 0, "text": text}]}


@functools.lru_cache(maxsize=1)
def _answers_by_question() -> dict:
    """Map every dataset question to its first accepted answer (read once)."""
    from core_evals.nel_bench.tasks import DATASETS, load_dataset

    return {item.question: item.answers[0] for name in DATASETS for item in load_dataset(name)}


def asked_question(body: dict) -> str:
    """The dataset question a chat or completions request asks (last one in the prompt)."""
    if "messages" in body:
        content = body["messages"][-1]["content"]
        return content.split("?")[0] + "?"
    last = body["prompt"].rsplit("Q: ", 1)[-1]
    return last.split("\n")[0]


def answer_key(body: dict) -> str:
    """The correct reply to a request, for a stub model that always knows."""
    return _answers_by_question()[asked_question(body)]
