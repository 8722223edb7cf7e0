"""The CLI's edges with people and pipes: dry-run JSON, Ctrl-C while waiting, ``| head``, help words.

Each test runs the real program in a subprocess (see ``conftest.py``), with the fake executor.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import SECRET_VALUE, Nel, fake_config

LITERAL = SECRET_VALUE + "-literal"


def _launched(nel: Nel, *args: str) -> dict[str, Any]:
    nel.write("cfg.yaml", fake_config(nel.out, "simple_evals.mmlu_pro", "nel_bench.arithmetic"))
    result = nel("run", "--config", "cfg.yaml", "--json", *args)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


# ----------------------------------------------------------------------------- dry run as JSON


def test_dry_run_json_holds_files_endpoint_deployment_and_problems(nel: Nel) -> None:
    """``run --dry-run --json`` prints one JSON document (secrets redacted), exits 2 and names the problem."""
    extra = f"env_vars:\n  HF_TOKEN: host:NEL_TEST_SECRET\n  LIT: lit:{LITERAL}\n  GONE: host:NEL_TEST_UNSET\n"
    nel.write("cfg.yaml", fake_config(nel.out, "simple_evals.mmlu_pro", "nel_bench.arithmetic", extra=extra))
    result = nel("run", "--config", "cfg.yaml", "--dry-run", "--json", env={"NEL_TEST_SECRET": SECRET_VALUE})
    assert result.returncode == 2, result.stderr
    assert SECRET_VALUE not in result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["executor"] == "fake" and data["jobs"] == 2
    assert data["endpoint"]["base_url"] == "http://127.0.0.1:9/v1/chat/completions"
    assert data["endpoint"]["model_id"] == "test-model"
    assert data["deployment"] is None
    assert data["output_dir"] == str(nel.out / data["invocation_id"])
    names = {Path(f["path"]).relative_to(nel.out / data["invocation_id"]).as_posix() for f in data["files"]}
    assert names >= {
        f"{job}/{name}"
        for job in ("0-simple_evals.mmlu_pro", "1-nel_bench.arithmetic")
        for name in ("run.sh", "run_config.yml", "secrets.env")
    }
    secrets = next(f for f in data["files"] if f["path"].endswith("secrets.env"))
    assert secrets["mode"] == "0600" and "export LIT='<redacted>'" in secrets["text"]
    assert data["problems"] == [
        {
            "message": "env_vars.GONE: host variable NEL_TEST_UNSET is not set",
            "hint": "export NEL_TEST_UNSET=... before running, or use 'lit:' or 'runtime:'",
        }
    ]
    assert data["ok"] is False
    assert result.stderr.splitlines()[0] == "error: env_vars.GONE: host variable NEL_TEST_UNSET is not set"
    assert not nel.out.exists() and not nel.home.exists()


def test_dry_run_json_of_a_sound_run(nel: Nel) -> None:
    """A dry run that finds nothing wrong prints its JSON with no problems and exits 0, stderr empty."""
    nel.write("cfg.yaml", fake_config(nel.out, extra="deployment:\n  type: vllm\n  served_model_name: served\n"))
    result = nel("run", "--config", "cfg.yaml", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert data["problems"] == [] and data["ok"] is True
    assert data["deployment"]["type"] == "vllm" and data["deployment"]["served_model_name"] == "served"
    assert data["endpoint"]["model_id"] == "served"


def test_dry_run_lists_every_problem_of_the_config(nel: Nel) -> None:
    """A config with several mistakes gets one error line for each, and no traceback."""
    extra = "env_vars:\n  HF_TOKEN: HF_TOKEN\n"
    config = fake_config(nel.out, "simple_evals.mmlu_prp", "nel_bench.arithmetic", extra=extra)
    config = config.replace(
        "    - name: nel_bench.arithmetic\n",
        "    - name: nel_bench.arithmetic\n      nemo_evaluator_config: {config: {params: {limit_samples: abc}}}\n",
    )
    nel.write("cfg.yaml", config)
    result = nel("run", "--config", "cfg.yaml", "--dry-run")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert [e.split(":")[1].strip() for e in errors] == [
        "evaluation.tasks[0].name",
        "evaluation.tasks[1].nemo_evaluator_config.config.params.limit_samples",
        "env_vars.HF_TOKEN",
    ]
    assert all(line.startswith(("error: ", "hint: ")) for line in result.stderr.splitlines())
    assert result.stdout == ""


# ----------------------------------------------------------------------------- the record


def test_literal_values_never_reach_the_store(nel: Nel) -> None:
    """A lit: value is recorded as lit:<redacted>; the store's files are private (0600); the job still gets it."""
    nel.write("cfg.yaml", fake_config(nel.out, extra=f"env_vars:\n  LIT: lit:{LITERAL}\n"))
    result = nel("run", "--config", "cfg.yaml", "--json")
    assert result.returncode == 0, result.stderr
    launched = json.loads(result.stdout)
    for path in nel.home.glob("invocations.db*"):
        assert LITERAL.encode() not in path.read_bytes(), path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    with sqlite3.connect(nel.db) as connection:
        (config,) = connection.execute("SELECT config FROM invocations").fetchone()
    assert json.loads(config)["env_vars"] == {"LIT": "lit:<redacted>"}
    info = json.loads(nel("info", launched["invocation_id"], "--json").stdout)
    assert LITERAL not in json.dumps(info)
    secrets = Path(launched["jobs"][0]["job_dir"]) / "secrets.env"
    assert f"export LIT={LITERAL}" in secrets.read_text()


# ----------------------------------------------------------------------------- Ctrl-C and closed pipes


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_while_waiting_says_the_jobs_go_on(nel: Nel) -> None:
    """Ctrl-C during ``run --wait`` exits 130 with one line: the jobs go on, and how to stop them."""
    nel.write("cfg.yaml", fake_config(nel.out))
    process = subprocess.Popen(
        [sys.executable, "-m", "nel_cli", "run", "--config", "cfg.yaml", "--wait", "-o", "+execution.auto_finish=no"],
        cwd=nel.work,
        env={**nel.env, "PYTHONFAULTHANDLER": "1"},  # SIGABRT prints every thread's stack
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: a test run started in the background (`cmd &` in a script) has
        # SIGINT ignored, and Python leaves an inherited SIG_IGN as it is.
        preexec_fn=_default_sigint,
    )
    assert process.stderr is not None
    progress = process.stderr.readline()  # the first progress line: it is waiting now
    assert re.match(r"\[\d\d:\d\d:\d\d\] [0-9a-f]{8}\.0\b", progress), progress
    process.send_signal(signal.SIGINT)
    try:
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        stdout, stderr = process.communicate(timeout=30)
        pytest.fail(f"still running 60 s after SIGINT; where it was:\n{stderr}\n{stdout}")
    invocation_id = re.search(r"^invocation ([0-9a-f]{8})", stdout, re.MULTILINE)
    assert invocation_id, stdout
    ident = invocation_id.group(1)
    assert process.returncode == 130, stderr
    # Progress lines may come before it; the one error line says what goes on and how to stop it.
    assert [line for line in stderr.splitlines() if not line.startswith("[")] == [
        f"error: interrupted: the jobs of {ident} go on running; stop them with 'nel kill {ident}', "
        f"follow them with 'nel status {ident}'"
    ]
    assert stderr.endswith("\n") and "Traceback" not in stderr
    assert json.loads(nel("ls", "runs", "--json").stdout)[0]["invocation_id"] == ident


def _closed_pipe_run(nel: Nel, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``nel ARGS`` writing into a pipe whose reader has already gone (as ``| head`` leaves it)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "nel_cli", *args],
            cwd=nel.work,
            env=nel.env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "command",
    [("status",), ("status", "--json"), ("ls", "runs"), ("ls", "tasks"), ("logs", "{id}.0"), ("info", "{id}")],
    ids=lambda c: " ".join(c),
)
def test_closed_pipe_ends_quietly_with_success(nel: Nel, command: tuple[str, ...]) -> None:
    """A command whose reader closed the pipe (``nel logs ID | head``) exits 0 and prints nothing on stderr."""
    invocation_id = _launched(nel)["invocation_id"]
    result = _closed_pipe_run(nel, *[part.format(id=invocation_id) for part in command])
    assert (result.returncode, result.stderr) == (0, "")


def test_head_of_a_long_log(nel: Nel) -> None:
    """``nel logs ID | head -1`` gives the first line and exits 0 however long the log is."""
    launched = _launched(nel)
    log = Path(launched["jobs"][0]["job_dir"]) / "job.log"
    log.write_text("".join(f"line {n}\n" for n in range(200_000)))
    command = f"{sys.executable} -m nel_cli logs {launched['jobs'][0]['id']} | head -1; exit ${{PIPESTATUS[0]}}"
    result = subprocess.run(
        ["bash", "-c", command], cwd=nel.work, env=nel.env, capture_output=True, text=True, timeout=120
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "line 0\n", "")


# ----------------------------------------------------------------------------- words people read


def test_ls_task_omits_absent_fields(nel: Nel) -> None:
    """``ls task`` shows no field without a value (no ``None``); JSON keeps every key for programs."""
    result = nel("ls", "task", "nel_bench.arithmetic")
    assert result.returncode == 0, result.stderr
    assert "None" not in result.stdout and "container_digest" not in result.stdout
    assert "pip_package: nel-harness" in result.stdout
    data = json.loads(nel("ls", "task", "nel_bench.arithmetic", "--json").stdout)
    assert data["container_digest"] is None


HELP = [
    ("run",), ("status",), ("kill",), ("logs",), ("info",), ("resume",), ("export",), ("version",),
    ("ls", "tasks"), ("ls", "task"), ("ls", "runs"),
]  # fmt: skip


@pytest.mark.parametrize("command", HELP, ids=lambda c: " ".join(c))
def test_help_reads_as_plain_words(nel: Nel, command: tuple[str, ...]) -> None:
    """No command's help shows a Python type (``<str>``, ``<list[str]>``) or typer's braces."""
    result = nel(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert not re.search(r"<\w+(\[[\w, ]+\])?>|\{\w+\}", result.stdout), result.stdout


def test_help_names_arguments_and_values(nel: Nel) -> None:
    """Help names what each argument and option takes: ID, FILE, KEY=VALUE, TASK."""
    run = nel("run", "--help").stdout
    assert "--config FILE" in run and "--override KEY=VALUE" in run and "--task TASK" in run
    # (run as `python -m nel_cli`, the usage line names the program so)
    assert nel("status", "--help").stdout.startswith("Usage: python -m nel_cli status [OPTIONS] [ID]...\n")
    assert nel("export", "--help").stdout.startswith("Usage: python -m nel_cli export [OPTIONS] [ID]...\n")
    kill = nel("kill", "--help").stdout
    assert kill.startswith("Usage: python -m nel_cli kill [OPTIONS] ID\n"), kill
    assert re.search(r"^  ID +Invocation or job id", kill, re.M), kill


def test_interrupting_any_command_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C in any command (click reports it as an abort) exits 130 with one line, no traceback."""
    import typer

    from nel_cli import main as program

    def interrupted(**_: Any) -> None:
        raise typer.Abort()

    monkeypatch.setattr(program, "app", interrupted)
    with pytest.raises(SystemExit) as caught:
        program.main()
    assert caught.value.code == 130
    assert capsys.readouterr() == ("", "interrupted\n")


def test_a_broken_pipe_other_than_stdout_is_an_error() -> None:
    """A broken pipe to something other than our reader (a child, a connection) fails; it is not hidden."""
    import typer

    from nel_cli.command import NelCommand
    from nel_core.errors import NelError

    app = typer.Typer()

    @app.command(cls=NelCommand)
    def talk() -> None:
        raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(NelError, match="broken pipe"):
        app([], standalone_mode=False)
