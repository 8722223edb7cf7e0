"""An OpenAI-compatible endpoint that fails a chosen fraction of requests, on cue.

Request ``k`` (counted from 0, in arrival order, over chat and completions alike) fails with
``503 Service Unavailable`` exactly when ``floor((k + 1) * rate) > floor(k * rate)``: over any
``n`` requests that is ``floor(n * rate)`` failures, spread evenly, whatever the order the
harness sends them in. The others get a one-word answer. ``GET`` answers 200 (health checks).

Run it as a thread (:class:`FailingEndpoint`) or as a program::

    python failing_endpoint.py --port 8123 --fail 9/10
"""

from __future__ import annotations

import argparse
import json
import threading
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["FailingEndpoint", "fails"]


def fails(index: int, rate: Fraction) -> bool:
    """Whether request ``index`` (0-based) fails at failure ``rate``."""
    return int((index + 1) * rate) > int(index * rate)


class FailingEndpoint:
    """The endpoint on 127.0.0.1: ``start()``, then ``url``, ``served`` and ``failed``."""

    def __init__(self, rate: Fraction | str, *, port: int = 0, answer: str = "Paris") -> None:
        self.rate = Fraction(rate)
        self.served = 0
        self.failed = 0
        lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                self._send(200, {"object": "list", "data": [{"id": "nobody", "object": "model"}]})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                self.rfile.read(length)
                with lock:
                    index = endpoint.served
                    endpoint.served += 1
                    failing = fails(index, endpoint.rate)
                    endpoint.failed += failing
                if failing:
                    self._send(503, {"error": {"message": "overloaded", "type": "unavailable"}})
                elif self.path.rstrip("/").endswith("chat/completions"):
                    message = {"role": "assistant", "content": answer}
                    self._send(200, {"object": "chat.completion", "choices": [
                        {"index": 0, "message": message, "finish_reason": "stop"}]})  # fmt: skip
                else:
                    self._send(200, {"object": "text_completion", "choices": [
                        {"index": 0, "text": answer, "finish_reason": "stop"}]})  # fmt: skip

            def _send(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                """Quiet: the tests read the counters, not a log."""

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self.server.server_address[1])

    def url(self, path: str = "/v1/completions") -> str:
        """The URL of ``path`` on this endpoint."""
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> FailingEndpoint:
        """Serve in a daemon thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fail", default="0", help="failure rate, e.g. 9/10 or 0.01")
    args = parser.parse_args()
    FailingEndpoint(args.fail, port=args.port).server.serve_forever()


if __name__ == "__main__":
    main()
