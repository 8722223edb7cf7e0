"""A stand-in OpenAI-compatible completions server of fixed capacity, for benchmarks/throughput.py.

It answers ``/v1/completions`` and ``/v1/chat/completions`` after ``service_s`` seconds with a
fixed text and ``usage`` (``tokens`` completion tokens); with ``capacity`` requests already in
flight it answers 429 at once. ``capacity=0`` means no limit. ``/v1/models`` answers too.

    python benchmarks/standin.py --port 8123 --capacity 2 --service-s 0.05
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StandIn:
    """The server; ``start()`` serves on a thread, ``stop()`` ends it. Counts what it answered."""

    def __init__(self, *, capacity: int, service_s: float, tokens: int = 8, port: int = 0) -> None:
        self.capacity = capacity
        self.service_s = service_s
        self.tokens = tokens
        self.in_flight = 0
        self.answered = 0
        self.throttled = 0
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                self._send(200, {"object": "list", "data": [{"id": "stand-in", "object": "model"}]})

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                with stand_in._lock:
                    if stand_in.capacity and stand_in.in_flight >= stand_in.capacity:
                        stand_in.throttled += 1
                        full = True
                    else:
                        stand_in.in_flight += 1
                        full = False
                if full:
                    self._send(429, {"error": {"message": "server full", "code": 429}})
                    return
                try:
                    time.sleep(stand_in.service_s)
                finally:
                    # The slot is free once the answer is computed, before it is sent (as a model server's).
                    with stand_in._lock:
                        stand_in.in_flight -= 1
                        stand_in.answered += 1
                text = " Paris"
                choice = (
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    if "messages" in request
                    else {"index": 0, "text": text, "finish_reason": "stop"}
                )
                tokens = stand_in.tokens
                usage = {"prompt_tokens": 20, "completion_tokens": tokens, "total_tokens": 20 + tokens}
                self._send(200, {"id": "x", "object": "text_completion", "model": "stand-in",
                                 "choices": [choice], "usage": usage})  # fmt: skip

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        """The base URL (``http://127.0.0.1:PORT/v1``)."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> StandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--capacity", type=int, default=0)
    parser.add_argument("--service-s", type=float, default=0.05)
    args = parser.parse_args()
    server = StandIn(capacity=args.capacity, service_s=args.service_s, port=args.port)
    print(server.url, flush=True)
    server.server.serve_forever()


if __name__ == "__main__":
    main()
