"""Fixtures for the CLI's tests: the real program in a subprocess, with its own NEL_HOME and cwd.

Every test runs ``python -m nel_cli`` (the same entry point as the ``nel`` script) with
``NEL_HOME`` and the working directory in a fresh temporary directory, so nothing a test does
reaches the user's ``~/.nel`` or the repository, and what a command leaves behind can be checked.
The fake executor and exporter come from the test distribution in ``tests/fake_executor_plugin``,
discovered through entry points like any adapter.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: A value no test environment holds, for proving that secrets never reach output.
SECRET_VALUE = "s3cr3t-value-that-must-never-be-printed-7f3a9c"


#: The URL configs point at when the test never reaches it (port 9 is "discard").
UNUSED_URL = "http://127.0.0.1:9/v1/chat/completions"


def fake_config(out: str | Path, *tasks: str, extra: str = "", url: str | None = UNUSED_URL) -> str:
    """A config for the fake executor (no defaults list: the file says everything).

    Args:
        out: ``execution.output_dir``.
        tasks: Task names (default: ``simple_evals.mmlu_pro``).
        extra: YAML appended at the top level (dedented).
        url: ``target.api_endpoint.url``; None leaves out the whole target.
    """
    target = f"target:\n  api_endpoint:\n    url: {url}\n    model_id: test-model\n" if url else ""
    names = "".join(f"    - name: {name}\n" for name in tasks or ("simple_evals.mmlu_pro",))
    head = f"execution:\n  type: fake\n  output_dir: {out}\n{target}evaluation:\n  tasks:\n{names}"
    return head + textwrap.dedent(extra)


class Nel:
    """Runs the CLI in a subprocess inside one test's sandbox.

    Attributes:
        root: The test's temporary directory.
        home: ``NEL_HOME`` of every command (not created by this fixture).
        work: The working directory of every command (created, empty).
        out: The ``execution.output_dir`` tests put in their configs (not created).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.work = root / "work"
        self.out = root / "out"
        self.work.mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NEL_")}
        self.env.update(
            NEL_HOME=str(self.home),
            NEMO_EVALUATOR_TELEMETRY_LEVEL="0",
            PYTHONDONTWRITEBYTECODE="1",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
            COLUMNS="200",
        )

    @property
    def db(self) -> Path:
        """The invocation store's database file."""
        return self.home / "invocations.db"

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run ``nel ARGS``; return the finished process (never raises on a non-zero exit)."""
        return subprocess.run(
            [sys.executable, "-m", "nel_cli", *args],
            cwd=cwd or self.work,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def write(self, name: str, text: str) -> Path:
        """Write a file into the working directory; its path."""
        path = self.work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def rows(self) -> dict[str, list[tuple[object, ...]]] | None:
        """Every row of the store's tables, or None when the database does not exist."""
        if not self.db.exists():
            return None
        with sqlite3.connect(self.db) as connection:
            return {
                table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall())
                for table in ("invocations", "jobs")
            }

    def seed(self, *invocation_ids: str) -> None:
        """Record invocations (two jobs each) directly in the store, as earlier runs would have."""
        from nel_core.store import SqliteInvocationStore
        from nel_core.testing import make_invocation, make_jobs

        store = SqliteInvocationStore(self.home)
        for index, invocation_id in enumerate(invocation_ids):
            invocation = make_invocation(
                invocation_id, created_at=1_700_000_000.0 + index, output_dir=str(self.root / "seeded")
            )
            store.add(invocation, make_jobs(invocation))
        store.close()


@pytest.fixture(scope="session")
def _fake_plugin_installed() -> None:
    """The tests need the fake executor registered through its entry point."""
    names = {ep.name for ep in entry_points(group="nel.executors")}
    if "fake" not in names:
        pytest.fail(
            "the fake executor is not registered: pip install -e tests/fake_executor_plugin",
            pytrace=False,
        )


@pytest.fixture
def nel(tmp_path: Path, _fake_plugin_installed: None) -> Nel:
    """The CLI, sandboxed in this test's temporary directory."""
    return Nel(tmp_path)


@pytest.fixture
def closed_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


PROCS_CONFIG = """
defaults:
  - execution: procs
  - _self_
execution:
  output_dir: {out}
target:
  api_endpoint:
    url: {url}
    model_id: stub
evaluation:
  nemo_evaluator_config:
    config:
      params: {{limit_samples: {samples}, parallelism: 1, max_retries: 0, request_timeout: 30}}
  tasks:
    - name: nel_bench.capitals
      endpoint_type: completions
"""


def procs_config(out: Path, url: str, samples: int = 3) -> str:
    """A run of nel_bench.capitals on the procs executor of tests/plugin_example against ``url``."""
    return PROCS_CONFIG.format(out=out, url=url, samples=samples)


class _StandIn(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible completions endpoint answering " Paris" after ``delay`` seconds."""

    delay = 0.0

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self._answer({"data": [{"id": "stub"}]})

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(type(self).delay)
        self._answer({"choices": [{"index": 0, "text": " Paris", "finish_reason": "stop"}]})

    def _answer(self, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stand_in() -> Iterator[type[_StandIn]]:
    """The stand-in model endpoint: its completions URL in ``.url``; set ``.delay`` to slow it."""
    handler = type("StandIn", (_StandIn,), {"delay": 0.0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}/v1/completions"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()
