"""Bad input: one ``error:`` line naming the culprit, the right exit code, and nothing left behind.

Every case runs the real CLI in a subprocess and checks the same four things: the exit code (2
for usage and config errors, 1 for failures at run time), that stderr starts with one line
``error: ...`` holding a distinctive part of the message (and, where one helps, a ``hint:``
line), that no traceback is printed, and that nothing was recorded or created: no store
database (or the seeded one unchanged), no output directory, no stray file in the working
directory, and a NEL_HOME the case set up (a file, a read-only folder) left as it was. Stdout
stays empty, but for a dry run, which prints what it would write before saying why the run
would fail.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from .conftest import UNUSED_URL, Nel, fake_config

OUT = "<OUT>"
PORT = "<PORT>"
HOME = "<HOME>"


def fake(*tasks: str, extra: str = "", url: str | None = UNUSED_URL) -> str:
    """A config for the fake executor, its output directory left as a placeholder."""
    return fake_config(OUT, *tasks, extra=extra, url=url)


def local(*tasks: str, deployment: str = "none", url: str | None = UNUSED_URL, extra: str = "") -> str:
    """A config for the local executor (plain processes) through the packaged defaults."""
    head = f"defaults:\n  - execution: local\n  - deployment: {deployment}\n  - _self_\n"
    body = fake(*tasks, url=url, extra=extra).replace("  type: fake\n", "  runtime: process\n")
    return head + body


@dataclass(frozen=True)
class Case:
    """One bad input and what the CLI must answer."""

    id: str
    args: tuple[str, ...]
    code: int
    message: str
    hint: str | None = None
    files: dict[str, str | bytes] = field(default_factory=dict)
    seed: tuple[str, ...] = ()
    #: More substrings the first line must hold (in any order).
    also: tuple[str, ...] = ()
    #: Names of adapters that must NOT be installed for the case to hold (else it is skipped).
    needs_missing: tuple[tuple[str, str], ...] = ()
    #: What NEL_HOME is before the command: a "file", a "read-only" folder, or "below-a-file".
    home: str | None = None
    #: How stdout must begin (a dry run prints its files); None: stdout stays empty.
    stdout: str | None = None


DRY = ("run", "--config", "cfg.yaml", "--dry-run")
RUN = ("run", "--config", "cfg.yaml")

CASES = [
    # ---------------------------------------------------------------- tasks
    Case(
        "misspelled-task",
        DRY,
        2,
        "evaluation.tasks[0].name: unknown task 'simple_evals.mmlu_prp'",
        hint="did you mean simple_evals.mmlu_pro?",
        files={"cfg.yaml": fake("simple_evals.mmlu_prp")},
    ),
    Case(
        "ambiguous-bare-task",
        DRY,
        2,
        "task 'mmlu' is ambiguous: lm-evaluation-harness.mmlu, simple_evals.mmlu",
        hint="write the harness too",
        files={"cfg.yaml": fake("mmlu")},
    ),
    Case(
        "empty-task-list",
        DRY,
        2,
        "evaluation.tasks: no tasks to run",
        files={"cfg.yaml": fake().split("evaluation:")[0] + "evaluation:\n  tasks: []\n"},
    ),
    Case(
        "tasks-not-a-list",
        (*DRY, "-o", "evaluation.tasks=nope"),
        2,
        "evaluation.tasks: expected a list",
        files={"cfg.yaml": fake()},
    ),
    Case(
        "task-filter-not-in-config",
        (*DRY, "-t", "nel_bench.arithmetic"),
        2,
        "-t nel_bench.arithmetic: not among the config's tasks",
        hint="simple_evals.mmlu_pro",
        files={"cfg.yaml": fake("simple_evals.mmlu_pro")},
    ),
    Case(
        "endpoint-type-unsupported",
        DRY,
        2,
        "evaluation.tasks[0].endpoint_type: task simple_evals.mmlu_pro does not support 'completions'",
        hint="chat",
        files={"cfg.yaml": fake("simple_evals.mmlu_pro") + "      endpoint_type: completions\n"},
    ),
    # ---------------------------------------------------------------- harness parameters
    *[
        Case(
            f"param-{name.replace('_', '-')}-{label}",
            DRY,
            2,
            f"evaluation.tasks[0].nemo_evaluator_config.config.params.{name}: {reason}",
            hint=hint,
            files={"cfg.yaml": fake() + f"      nemo_evaluator_config: {{config: {{params: {{{name}: {value}}}}}}}\n"},
        )
        for name, label, value, reason, hint in (
            ("limit_samples", "word", "abc", "'abc' is not an integer >= 1", "a fraction of the dataset"),
            ("limit_samples", "negative", "-5", "-5 is not an integer >= 1", "e.g. 100"),
            ("limit_samples", "zero", "0", "0 is not an integer >= 1", None),
            ("parallelism", "word", "abc", "'abc' is not an integer >= 1", "requests in flight"),
            ("temperature", "word", "hot", "'hot' is not a number >= 0", "0.7"),
            ("max_new_tokens", "negative", "-1", "-1 is not an integer >= 1", None),
            ("request_timeout", "zero", "0", "0 is not an integer >= 1", "seconds"),
            ("top_p", "mapping", "{a: 1}", "a mapping is not a number between 0 and 1", None),
            ("parallelism", "list", "[1, 2]", "a list is not an integer >= 1", None),
            ("extra", "list", "[1]", "a list is not a mapping", "extra: {name: value}"),
            ("task", "number", "5", "5 is not a string", None),
        )
    ],
    Case(
        "param-unknown-name",
        DRY,
        2,
        "evaluation.tasks[0].nemo_evaluator_config.config.params.limti_samples: unknown parameter",
        hint="did you mean 'evaluation.tasks[0].nemo_evaluator_config.config.params.limit_samples'?",
        files={"cfg.yaml": fake() + "      nemo_evaluator_config: {config: {params: {limti_samples: 3}}}\n"},
    ),
    Case(
        "param-unknown-config-key",
        DRY,
        2,
        "evaluation.tasks[0].nemo_evaluator_config.config.parms: unknown key",
        hint="did you mean 'evaluation.tasks[0].nemo_evaluator_config.config.params'?",
        files={"cfg.yaml": fake() + "      nemo_evaluator_config: {config: {parms: {}}}\n"},
    ),
    Case(
        "param-bad-endpoint-type-in-target",
        DRY,
        2,
        "evaluation.tasks[0].nemo_evaluator_config.target.api_endpoint.type: 'chatt' is not one of ",
        files={"cfg.yaml": fake() + "      nemo_evaluator_config: {target: {api_endpoint: {type: chatt}}}\n"},
    ),
    Case(
        "param-evaluation-level",
        DRY,
        2,
        "evaluation.nemo_evaluator_config.config.params.parallelism: 0 is not an integer >= 1",
        files={
            "cfg.yaml": fake().replace(
                "evaluation:\n", "evaluation:\n  nemo_evaluator_config: {config: {params: {parallelism: 0}}}\n"
            )
        },
    ),
    Case(
        "param-through-override",
        (*DRY, "-o", "+config.params.limit_samples=abc"),
        2,
        "config.params.limit_samples: 'abc' is not an integer >= 1",
        hint="fraction",
        files={"cfg.yaml": fake("simple_evals.mmlu_pro", "nel_bench.arithmetic")},
    ),
    Case(
        "param-real-run-records-nothing",
        (*RUN, "-o", "+config.params.request_timeout=0"),
        2,
        "config.params.request_timeout: 0 is not an integer >= 1",
        files={"cfg.yaml": fake()},
    ),
    # ---------------------------------------------------------------- target and deployment
    Case(
        "missing-url-with-deployment-none",
        DRY,
        2,
        "target.api_endpoint.url",
        files={"cfg.yaml": local("nel_bench.arithmetic", url=None)},
    ),
    Case(
        "non-http-url",
        DRY,
        2,
        "target.api_endpoint.url: 'ftp://127.0.0.1:9/v1' is not an http(s) URL",
        files={"cfg.yaml": local("nel_bench.arithmetic", url="ftp://127.0.0.1:9/v1")},
    ),
    Case(
        "unknown-deployment-type",
        DRY,
        2,
        "unknown deployment type 'vlm'",
        hint="did you mean 'vllm'?",
        files={"cfg.yaml": fake(extra="deployment:\n  type: vlm\n")},
    ),
    Case(
        "unknown-deployment-in-defaults",
        DRY,
        2,
        "Could not find 'deployment/vlm'",
        hint="did you mean 'vllm'?",
        files={"cfg.yaml": local("nel_bench.arithmetic", deployment="vlm")},
    ),
    Case(
        "wrong-type-port",
        (*DRY, "-o", "deployment.port=abc"),
        2,
        "deployment.port: expected an integer, got 'abc'",
        files={"cfg.yaml": local("nel_bench.arithmetic", deployment="llama_cpp", url=None)},
    ),
    # ---------------------------------------------------------------- execution
    Case(
        "unset-mandatory-value",
        DRY,
        2,
        "execution.output_dir: required value is not set ('???' in cfg.yaml)",
        hint="-o execution.output_dir=",
        files={"cfg.yaml": local("nel_bench.arithmetic").replace(OUT, "???")},
    ),
    Case(
        "unknown-executor-not-implemented",
        DRY,
        2,
        "execution.type: unknown executor 'lepton' (installed: ",
        hint="the lepton executor is not implemented yet (nel-executor-lepton is a placeholder)",
        also=("fake", "local"),
        files={"cfg.yaml": fake().replace("type: fake", "type: lepton")},
        needs_missing=(("nel.executors", "lepton"),),
    ),
    Case(
        "unknown-executor-misspelled",
        DRY,
        2,
        "unknown executor 'lcoal' (installed: ",
        hint="did you mean 'local'?",
        also=("fake", "local"),
        files={"cfg.yaml": fake().replace("type: fake", "type: lcoal")},
    ),
    Case(
        "execution-type-not-set",
        DRY,
        2,
        "execution.type: not set",
        hint="defaults",
        files={"cfg.yaml": "target:\n  api_endpoint:\n    url: http://127.0.0.1:9/v1\n"},
    ),
    Case(
        "wrong-type-bool",
        (*DRY, "-o", "+execution.fail_preflight=maybe"),
        2,
        "execution.fail_preflight: expected true or false, got 'maybe'",
        files={"cfg.yaml": fake()},
    ),
    # ---------------------------------------------------------------- keys
    Case(
        "unknown-key-did-you-mean",
        DRY,
        2,
        "evaluation.tasks[0].nemo_evaluater_config: unknown key",
        hint="did you mean 'evaluation.tasks[0].nemo_evaluator_config'?",
        files={"cfg.yaml": fake() + "      nemo_evaluater_config: {}\n"},
    ),
    Case(
        "unknown-key-through-override",
        (*DRY, "-o", "+execution.outptu_dir=x"),
        2,
        "execution.outptu_dir: unknown key",
        hint="did you mean 'execution.output_dir'?",
        files={"cfg.yaml": fake()},
    ),
    Case(
        "unknown-top-level-key",
        DRY,
        2,
        "evalutaion: unknown key",
        hint="did you mean 'evaluation'?",
        files={"cfg.yaml": fake(extra="evalutaion: {}\n")},
    ),
    Case(
        "override-of-absent-key",
        (*DRY, "-o", "execution.outptu_dir=x"),
        2,
        "Could not override 'execution.outptu_dir'",
        hint="+execution.outptu_dir=x",
        files={"cfg.yaml": fake()},
    ),
    Case(
        "bad-override-syntax",
        (*DRY, "-o", "a=[1"),
        2,
        "bad override '-o a=[1'",
        hint="key=value",
        files={"cfg.yaml": fake()},
    ),
    Case(
        "unresolvable-interpolation",
        DRY,
        2,
        "execution.output_dir: cannot resolve interpolation",
        files={"cfg.yaml": fake().replace(OUT, "${nosuch.key}")},
    ),
    # ---------------------------------------------------------------- files
    Case(
        "malformed-yaml",
        DRY,
        2,
        "cfg.yaml:3:15: malformed YAML: mapping values are not allowed",
        files={"cfg.yaml": "execution:\n  type: fake\n    output_dir: x\n"},
    ),
    Case(
        "top-level-not-a-mapping",
        DRY,
        2,
        "cfg.yaml: primary config 'cfg' must be a DictConfig",
        files={"cfg.yaml": "- a\n- b\n"},
    ),
    Case("config-file-missing", ("run", "--config", "nothere.yaml"), 2, "config file nothere.yaml does not exist"),
    Case(
        "config-name-missing",
        ("run", "--config-dir", "confs", "--config-name", "nothere"),
        2,
        "config file confs/nothere.yaml does not exist",
    ),
    Case("no-config-given", ("run", "--dry-run"), 2, "no config given", hint="--config FILE"),
    Case(
        "config-and-config-name",
        (*DRY, "--config-name", "other"),
        2,
        "--config cannot be combined with --config-name",
        hint="--config-dir DIR --config-name NAME",
        files={"cfg.yaml": fake()},
    ),
    Case(
        "config-and-config-dir-and-name",
        (*DRY, "--config-dir", ".", "--config-name", "cfg"),
        2,
        "--config cannot be combined with --config-dir and --config-name",
        files={"cfg.yaml": fake()},
    ),
    Case(
        "binary-config-file",
        DRY,
        2,
        "cfg.yaml: not a text file (byte 0xff at offset 2 is not UTF-8)",
        hint="UTF-8",
        files={"cfg.yaml": b"a:\xff\xfe\x00\x01binary"},
    ),
    Case(
        "config-file-with-a-nul",
        DRY,
        2,
        "cfg.yaml: not a YAML file: control characters are not allowed",
        files={"cfg.yaml": "execution:\n  type: fake\x00\n"},
    ),
    # ---------------------------------------------------------------- environment
    Case(
        "unset-host-secret-real-run",
        RUN,
        2,
        "env_vars.HF_TOKEN: host variable NEL_TEST_UNSET_TOKEN is not set",
        hint="export NEL_TEST_UNSET_TOKEN=",
        files={"cfg.yaml": fake(extra="env_vars:\n  HF_TOKEN: host:NEL_TEST_UNSET_TOKEN\n")},
    ),
    Case(
        "unset-api-key-real-run",
        RUN,
        2,
        "host variable NEL_TEST_UNSET_API_KEY is not set",
        files={
            "cfg.yaml": fake().replace("model_id: test-model", "model_id: m\n    api_key_name: NEL_TEST_UNSET_API_KEY")
        },
    ),
    Case(
        "host-prefix-without-name",
        DRY,
        2,
        "env_vars.HF_TOKEN: 'host:' names no variable",
        hint="host:VAR_NAME",
        files={"cfg.yaml": fake(extra="env_vars:\n  HF_TOKEN: 'host:'\n")},
    ),
    Case(
        "env-value-without-prefix",
        DRY,
        2,
        "env_vars.HF_TOKEN: 'HF_TOKEN' has no source prefix",
        hint="write host:HF_TOKEN (read here at launch), lit:<value>, or runtime:HF_TOKEN",
        files={"cfg.yaml": fake(extra="env_vars:\n  HF_TOKEN: HF_TOKEN\n")},
    ),
    Case(
        "env-value-with-unknown-prefix",
        RUN,
        2,
        "env_vars.HF_TOKEN: 'env:HF_TOKEN' has no source prefix",
        hint="write lit:<value> for this very text",
        files={"cfg.yaml": fake(extra="env_vars:\n  HF_TOKEN: env:HF_TOKEN\n")},
    ),
    Case(
        "deployment-env-without-prefix",
        DRY,
        2,
        "deployment.env_vars.HF_HOME: '/data/hf' has no source prefix",
        hint="lit:<value>",
        files={"cfg.yaml": fake(extra="deployment:\n  type: vllm\n  env_vars:\n    HF_HOME: /data/hf\n")},
    ),
    Case(
        "unset-host-variable-dry-run",
        DRY,
        2,
        "env_vars.HF_TOKEN: host variable NEL_TEST_UNSET_TOKEN is not set",
        hint="export NEL_TEST_UNSET_TOKEN=",
        files={
            "cfg.yaml": fake(
                "simple_evals.mmlu_pro",
                "nel_bench.arithmetic",
                extra="env_vars:\n  HF_TOKEN: host:NEL_TEST_UNSET_TOKEN\n",
            )
        },
        stdout="# dry run of invocation ",
    ),
    Case(
        "unset-host-variable-dry-run-json",
        (*DRY, "--json"),
        2,
        "env_vars.HF_TOKEN: host variable NEL_TEST_UNSET_TOKEN is not set",
        files={"cfg.yaml": fake(extra="env_vars:\n  HF_TOKEN: host:NEL_TEST_UNSET_TOKEN\n")},
        stdout="{",
    ),
    # ---------------------------------------------------------------- NEL_HOME
    Case(
        "nel-home-is-a-file-run",
        RUN,
        1,
        f"NEL_HOME {HOME} is not a directory",
        hint="set NEL_HOME to a directory",
        files={"cfg.yaml": fake()},
        home="file",
    ),
    Case("nel-home-is-a-file-status", ("status",), 1, f"NEL_HOME {HOME} is not a directory", home="file"),
    Case("nel-home-is-a-file-ls-runs", ("ls", "runs"), 1, f"NEL_HOME {HOME} is not a directory", home="file"),
    Case(
        "nel-home-below-a-file",
        RUN,
        1,
        f"NEL_HOME {HOME} cannot be created: ",
        also=("is not a directory",),
        files={"cfg.yaml": fake()},
        home="below-a-file",
    ),
    Case(
        "nel-home-read-only-run",
        RUN,
        1,
        f"NEL_HOME {HOME} is not writable",
        hint="set NEL_HOME to a directory you can write",
        files={"cfg.yaml": fake()},
        home="read-only",
    ),
    Case(
        "nel-home-read-only-dry-run",
        DRY,
        1,
        f"NEL_HOME {HOME} is not writable",
        files={"cfg.yaml": fake()},
        home="read-only",
        stdout="# dry run of invocation ",
    ),
    # ---------------------------------------------------------------- run time (exit 1)
    Case(
        "preflight-endpoint-does-not-answer",
        RUN,
        1,
        f"target.api_endpoint.url: http://127.0.0.1:{PORT}/v1/chat/completions does not answer",
        hint="start the model server first",
        files={"cfg.yaml": local("nel_bench.arithmetic", url=f"http://127.0.0.1:{PORT}/v1/chat/completions")},
    ),
    Case(
        "preflight-fails-on-backend",
        (*RUN, "-o", "+execution.fail_preflight=true"),
        1,
        "fake backend is not ready",
        files={"cfg.yaml": fake()},
    ),
    Case(
        "submission-refused",
        (*RUN, "-o", "+execution.fail_submit=true"),
        1,
        "fake scheduler refused the jobs",
        files={"cfg.yaml": fake()},
    ),
    *[
        Case(
            f"unknown-invocation-{command}",
            (command, "deadbeef"),
            1,
            "no invocation matches 'deadbeef'",
            hint="nel ls runs",
        )
        for command in ("status", "kill", "info", "logs", "resume")
    ],
    Case("unknown-job-id", ("logs", "deadbeef.3"), 1, "no job matches 'deadbeef.3'"),
    Case(
        "unknown-id-in-a-store",
        ("info", "0000ffff"),
        1,
        "no invocation matches '0000ffff'",
        seed=("abc10000", "abc20000"),
    ),
    Case(
        "ambiguous-prefix-status",
        ("status", "abc"),
        1,
        "'abc' matches several invocations",
        hint="more characters",
        seed=("abc10000", "abc20000"),
    ),
    Case(
        "ambiguous-prefix-kill",
        ("kill", "abc"),
        1,
        "'abc' matches several invocations",
        seed=("abc10000", "abc20000"),
    ),
    Case("no-runs-recorded", ("status",), 1, "no runs recorded", hint="nel run"),
    # ---------------------------------------------------------------- listings and export
    Case("since-garbage", ("ls", "runs", "--since", "yesterday"), 2, "--since: cannot read 'yesterday'", hint="30m"),
    Case("ls-task-unknown", ("ls", "task", "nosuch_task"), 2, "unknown task 'nosuch_task'", hint="nel ls tasks"),
    Case(
        "ls-task-misspelled",
        ("ls", "task", "mmlu_pr"),
        2,
        "unknown task 'mmlu_pr'",
        hint="simple_evals.mmlu_pro",
    ),
    Case("ls-task-ambiguous", ("ls", "task", "mmlu"), 2, "task 'mmlu' is ambiguous"),
    Case("export-unknown-exporter", ("export", "deadbeef", "--dest", "nosuch"), 2, "--dest: unknown exporter 'nosuch'"),
    Case(
        "export-exporter-misspelled",
        ("export", "deadbeef", "--dest", "mlfow"),
        2,
        "--dest: unknown exporter 'mlfow'",
        hint="did you mean 'mlflow'?",
    ),
    Case("export-unknown-id", ("export", "deadbeef", "--dest", "fake"), 1, "no invocation matches 'deadbeef'"),
    # ---------------------------------------------------------------- command line
    Case("unknown-option", ("status", "--bogus"), 2, "No such option: --bogus", hint="status --help"),
    Case("missing-argument", ("kill",), 2, "Missing argument", hint="kill --help"),
    Case("unknown-command", ("lunch",), 2, "No such command 'lunch'"),
]


def _work_files(nel: Nel) -> set[str]:
    return {str(p.relative_to(nel.work)) for p in nel.work.rglob("*")}


def _set_up_home(nel: Nel, kind: str | None) -> tuple[Path, dict[str, str]]:
    """Make NEL_HOME what the case says; return it and the environment that points there."""
    if kind is None:
        return nel.home, {}
    if kind == "file":
        nel.home.write_text("not a folder\n")
        return nel.home, {}
    if kind == "read-only":
        nel.home.mkdir()
        nel.home.chmod(0o555)
        return nel.home, {}
    assert kind == "below-a-file"
    nel.home.write_text("not a folder\n")
    return nel.home / "nel", {"NEL_HOME": str(nel.home / "nel")}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(nel: Nel, closed_port: int, case: Case) -> None:
    """A bad input gets its exit code and one error line naming it, with nothing recorded or created."""
    for group, name in case.needs_missing:
        if name in {ep.name for ep in entry_points(group=group)}:
            pytest.skip(f"{group} '{name}' is installed here")
    if case.home == "read-only" and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders: run the tests as a user to check this case")
    home, env = _set_up_home(nel, case.home)

    def fill(text: str) -> str:
        return text.replace(OUT, str(nel.out)).replace(PORT, str(closed_port)).replace(HOME, str(home))

    for name, content in case.files.items():
        if isinstance(content, bytes):
            (nel.work / name).write_bytes(content)
        else:
            nel.write(name, fill(content))
    if case.seed:
        nel.seed(*case.seed)
    before_rows = nel.rows()
    before_files = _work_files(nel)
    before_home = sorted(nel.home.rglob("*")) if nel.home.is_dir() else nel.home.exists() and nel.home.read_text()

    result = nel(*[fill(arg) for arg in case.args], env=env)

    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == case.code, output
    lines = result.stderr.splitlines()
    assert lines, f"nothing on stderr; stdout: {result.stdout}"
    assert lines[0].startswith("error: "), result.stderr
    assert fill(case.message) in lines[0], result.stderr
    assert all(part in lines[0] for part in case.also), result.stderr
    # One line for the error, at most one for the hint; nothing else.
    assert all(line.startswith("hint: ") for line in lines[1:]) and len(lines) <= 2, result.stderr
    if case.hint is not None:
        assert len(lines) == 2 and case.hint in lines[1], result.stderr
    if case.stdout is None:
        assert result.stdout == "", result.stdout
    else:
        assert result.stdout.startswith(case.stdout), result.stdout

    # Nothing recorded (a launch that failed after recording removed its record), nothing created.
    empty = {"invocations": [], "jobs": []}
    assert (nel.rows() or empty) == (before_rows or empty)
    if case.home is not None:  # NEL_HOME was set up wrong on purpose: it is left as it was
        after_home = sorted(nel.home.rglob("*")) if nel.home.is_dir() else nel.home.exists() and nel.home.read_text()
        assert after_home == before_home
    elif before_rows is None and nel.rows() is None:  # not even NEL_HOME was created (the store was
        # opened only by failures after the record was written, which leave it empty)
        assert not nel.home.exists(), sorted(str(p.relative_to(nel.home)) for p in nel.home.rglob("*"))
    assert not nel.out.exists(), f"output directory left behind: {sorted(nel.out.rglob('*'))}"
    assert _work_files(nel) == before_files, "files appeared in the working directory"


def test_at_least_70_cases() -> None:
    """The table covers at least 70 distinct bad inputs."""
    assert len({case.id for case in CASES}) == len(CASES) >= 70


def test_verbose_shows_traceback(nel: Nel) -> None:
    """With --verbose a bad input still exits with its code, and the traceback is shown."""
    nel.write("cfg.yaml", fake("simple_evals.mmlu_prp").replace(OUT, str(nel.out)))
    result = nel("--verbose", "run", "--config", "cfg.yaml", "--dry-run")
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert result.stderr.splitlines()[-2].startswith("error: evaluation.tasks[0].name: unknown task")


def test_paths_in_messages_are_the_users(nel: Nel) -> None:
    """A malformed file is named by the path the user typed (resolved), with line and column."""
    path = nel.write("sub/bad.yaml", "a: [1\n")
    result = nel("run", "--config", "sub/bad.yaml")
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: {path.resolve()}:2:1: malformed YAML: "), first
    assert "expected ',' or ']'" in first


def test_seeded_store_is_readable(nel: Nel) -> None:
    """The seeding helper writes a store the CLI reads (so the seeded cases above test real lookups)."""
    nel.seed("abc10000")
    result = nel("ls", "runs", "--json")
    assert result.returncode == 0, result.stderr
    assert "abc10000" in result.stdout
    assert Path(nel.db).exists()
