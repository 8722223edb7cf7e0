"""The commands of the CLI, run for real in subprocesses: listings, help, dry runs, runs, control.

Runs use the fake executor (registered by ``tests/fake_executor_plugin`` under the entry point
``nel.executors: fake``): its jobs play out at once in their own directories, so a whole
``run`` → ``ls runs`` → ``status`` → ``info`` → ``logs`` → ``kill`` cycle takes seconds.
"""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from nel_cli import __version__

from .conftest import REPO, SECRET_VALUE, Nel, fake_config

EVAL_FACTORY_TASKS = 421
EVAL_FACTORY_HARNESSES = 23
HEAVY_MODULES = ("hydra", "omegaconf", "yaml", "docker", "paramiko", "requests", "pydantic")


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _sections(dry_run_output: str) -> dict[str, str]:
    """The files a dry run prints: ``===== <path> =====`` headers, each followed by its text."""
    parts = re.split(r"^===== (.+) =====$", dry_run_output, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts), 2)}


def _run_configs(dry_run_output: str) -> dict[str, dict[str, Any]]:
    """Each job's run_config.yml of a dry run, by job folder (``<n>-<task>``)."""
    return {
        Path(path).parent.name: yaml.safe_load(text)
        for path, text in _sections(dry_run_output).items()
        if path.endswith("/run_config.yml")
    }


def _launch(
    nel: Nel, *args: str, tasks: tuple[str, ...] = ("simple_evals.mmlu_pro", "nel_bench.arithmetic")
) -> dict[str, Any]:
    nel.write("cfg.yaml", fake_config(nel.out, *tasks))
    return _json(nel("run", "--config", "cfg.yaml", "--json", *args))


# ----------------------------------------------------------------------------- listings


def test_ls_tasks_json_lists_every_eval_factory_task_and_nel_own(nel: Nel) -> None:
    """``ls tasks --json`` lists the 421 eval-factory tasks of 23 harnesses plus NEL's nel_bench tasks."""
    tasks = _json(nel("ls", "tasks", "--json"))
    names = [t["task"] for t in tasks]
    assert len(names) == len(set(names)), "duplicate task names"
    own = [t for t in tasks if t["harness"] == "nel_bench"]
    factory = [t for t in tasks if t["harness"] != "nel_bench"]
    assert len(factory) == EVAL_FACTORY_TASKS
    assert len({t["harness"] for t in factory}) == EVAL_FACTORY_HARNESSES
    assert own and all(t["task"].startswith("nel_bench.") for t in own)
    assert len(tasks) == EVAL_FACTORY_TASKS + len(own)
    assert all(t["task"] == f"{t['harness']}.{t['name']}" and t["endpoint_types"] for t in tasks)
    assert "simple_evals.mmlu_pro" in names and "nel_bench.arithmetic" in names


def test_ls_tasks_table_matches_json(nel: Nel) -> None:
    """The ``ls tasks`` table has one row per task (the same tasks as --json) and a count line."""
    tasks = {t["task"] for t in _json(nel("ls", "tasks", "--json"))}
    result = nel("ls", "tasks")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.rstrip("\n").splitlines()
    assert lines[0].split() == ["task", "endpoint", "container"]
    rows = [line.split()[0] for line in lines[2:] if line.strip()][:-1]
    assert set(rows) == tasks and len(rows) == len(tasks)
    assert re.fullmatch(rf"{len(tasks)} tasks in \d+ harnesses", lines[-1])


def test_ls_task_shows_one_task(nel: Nel) -> None:
    """``ls task simple_evals.mmlu_pro`` shows its harness, endpoint types, container and defaults."""
    result = nel("ls", "task", "simple_evals.mmlu_pro")
    assert result.returncode == 0, result.stderr
    assert "task: simple_evals.mmlu_pro" in result.stdout
    assert "harness: simple_evals" in result.stdout
    assert "endpoint_types: chat" in result.stdout
    data = _json(nel("ls", "task", "simple_evals.mmlu_pro", "--json"))
    assert data["task"] == "simple_evals.mmlu_pro"
    assert data["container"].startswith("nvcr.io/nvidia/eval-factory/simple-evals:")
    assert data["defaults"]["task"] == "mmlu_pro"


def test_ls_runs_on_empty_store_creates_nothing(nel: Nel) -> None:
    """``ls runs`` with nothing recorded prints an empty list and does not create the store."""
    assert _json(nel("ls", "runs", "--json")) == []
    result = nel("ls", "runs")
    assert result.returncode == 0 and "no runs recorded" in result.stdout
    assert not nel.home.exists()


# ----------------------------------------------------------------------------- help, version, imports


def test_help_lists_commands(nel: Nel) -> None:
    """``--help`` exits 0 and lists every command."""
    result = nel("--help")
    assert result.returncode == 0, result.stderr
    for command in ("run", "status", "kill", "logs", "info", "resume", "export", "ls", "version"):
        assert re.search(rf"^\s+{command}\s", result.stdout, flags=re.MULTILINE), command


def test_version(nel: Nel) -> None:
    """``--version`` prints the version; ``version`` adds the installed executors and exporters."""
    result = nel("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"nel {__version__}"
    result = nel("version")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^executors: .*\bfake\b", result.stdout, flags=re.MULTILINE)
    assert re.search(r"^executors: .*\blocal\b", result.stdout, flags=re.MULTILINE)


@pytest.mark.parametrize("script", ["nel", "nemo-evaluator-launcher"])
def test_console_scripts(nel: Nel, script: str) -> None:
    """Both console scripts (``nel`` and ``nemo-evaluator-launcher``) run the same program."""
    path = Path(sys.executable).parent / script
    if not path.exists():
        pytest.skip(f"{script} is not installed next to {sys.executable}")
    result = subprocess.run([str(path), "--version"], capture_output=True, text=True, env=nel.env, cwd=nel.work)
    assert result.returncode == 0 and result.stdout.strip() == f"nel {__version__}", result.stderr


_IMPORTS_PROBE = textwrap.dedent(
    """\
    import json, sys
    report = sys.argv.pop(1)
    from nel_cli.main import main
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    with open(report, "w") as handle:
        json.dump({"code": code, "modules": sorted(sys.modules)}, handle)
    """
)


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("--version",),
        ("ls", "tasks"),
        ("ls", "task", "simple_evals.mmlu_pro"),
        ("ls", "runs"),
        ("version",),
        ("report", "--help"),
        ("compare", "--help"),
        ("gate", "--help"),
    ],
    ids=lambda args: " ".join(args),
)
def test_light_commands_import_no_heavy_library(nel: Nel, args: tuple[str, ...]) -> None:
    """Help, version and listings import neither Hydra/OmegaConf, PyYAML, pydantic nor any backend SDK."""
    report = nel.root / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTS_PROBE, str(report), *args],
        capture_output=True, text=True, env=nel.env, cwd=nel.work,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(report.read_text())
    assert data["code"] in (0, None), result.stderr
    heavy = sorted(m for m in data["modules"] if m.split(".")[0] in HEAVY_MODULES)
    assert not heavy, f"nel {' '.join(args)} imported {heavy[:10]}"
    assert "nel_cli.main" in data["modules"]  # the probe really ran the program


# ----------------------------------------------------------------------------- dry run


def test_dry_run_prints_jobs_redacts_secrets_and_leaves_nothing(nel: Nel) -> None:
    """A dry run prints every job's files with secret values redacted, records nothing, creates nothing."""
    config = fake_config(
        nel.out,
        "simple_evals.mmlu_pro",
        "nel_bench.arithmetic",
        extra="""\
        env_vars:
          HF_TOKEN: host:NEL_TEST_SECRET
          LITERAL: lit:{secret}
          ON_NODE: runtime:NODE_VARIABLE
        """.format(secret=SECRET_VALUE + "-lit"),
    ).replace("model_id: test-model", "model_id: test-model\n    api_key_name: NEL_TEST_API_KEY")
    nel.write("cfg.yaml", config)
    env = {"NEL_TEST_SECRET": SECRET_VALUE, "NEL_TEST_API_KEY": SECRET_VALUE + "-key"}
    result = nel("run", "--config", "cfg.yaml", "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    assert SECRET_VALUE not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr

    header = result.stdout.splitlines()[0]
    assert re.fullmatch(r"# dry run of invocation [0-9a-f]{8}: 2 job\(s\) on executor 'fake'", header)
    sections = _sections(result.stdout)
    for job in ("0-simple_evals.mmlu_pro", "1-nel_bench.arithmetic"):
        paths = {Path(p).name for p in sections if Path(p).parent.name == job}
        assert {"run.sh", "run_config.yml", "secrets.env"} <= paths, paths
        secrets = next(text for p, text in sections.items() if p.endswith(f"{job}/secrets.env"))
        assert "export HF_TOKEN='<redacted>'" in secrets
        assert "export NEL_TEST_API_KEY='<redacted>'" in secrets
        assert "export LITERAL='<redacted>'" in secrets
        assert 'export ON_NODE="${NODE_VARIABLE}"' in secrets
        script = next(text for p, text in sections.items() if p.endswith(f"{job}/run.sh"))
        assert script.startswith("#!")
    # Shown where a run would write them, yet nothing is there.
    assert str(nel.out) in result.stdout
    assert not nel.out.exists()
    assert not nel.home.exists()
    assert sorted(p.name for p in nel.work.iterdir()) == ["cfg.yaml"]


def test_dry_run_fails_naming_each_unset_host_variable_once(nel: Nel) -> None:
    """A dry run with unset ``host:`` variables prints its files, then one error per variable, and exits 2."""
    extra = "env_vars:\n  HF_TOKEN: host:NEL_TEST_UNSET\n  OTHER: host:NEL_TEST_UNSET_TOO\n"
    nel.write("cfg.yaml", fake_config(nel.out, "simple_evals.mmlu_pro", "nel_bench.arithmetic", extra=extra))
    result = nel("run", "--config", "cfg.yaml", "--dry-run")
    assert result.returncode == 2, result.stderr
    assert result.stdout.startswith("# dry run of invocation ")
    assert "<unset: host variable NEL_TEST_UNSET>" in result.stdout
    errors = [line for line in result.stderr.splitlines() if not line.startswith("hint: ")]
    assert errors == [
        "error: env_vars.HF_TOKEN: host variable NEL_TEST_UNSET is not set",
        "error: env_vars.OTHER: host variable NEL_TEST_UNSET_TOO is not set",
    ]
    assert "Traceback" not in result.stderr and "warning" not in result.stderr
    assert not nel.out.exists() and not nel.home.exists()


def test_params_override_applies_to_every_task(nel: Nel) -> None:
    """``-o +config.params.limit_samples=10`` sets limit_samples in every task's run_config.yml, over the file's."""
    config = fake_config(
        nel.out, "simple_evals.mmlu_pro", "nel_bench.arithmetic", "lm-evaluation-harness.ifeval"
    ).replace(
        "evaluation:\n",
        "evaluation:\n  nemo_evaluator_config:\n    config:\n      params: {limit_samples: 5, parallelism: 3}\n",
    )
    # The last task sets its own limit too: the override still wins.
    config = config.replace(
        "    - name: lm-evaluation-harness.ifeval\n",
        "    - name: lm-evaluation-harness.ifeval\n"
        "      nemo_evaluator_config: {config: {params: {limit_samples: 2}}}\n",
    )
    nel.write("cfg.yaml", config)
    plain = _run_configs(_dry_run(nel))
    assert {job: rc["config"]["params"].get("limit_samples") for job, rc in plain.items()} == {
        "0-simple_evals.mmlu_pro": 5,
        "1-nel_bench.arithmetic": 5,
        "2-lm-evaluation-harness.ifeval": 2,
    }
    overridden = _run_configs(_dry_run(nel, "-o", "+config.params.limit_samples=10"))
    assert len(overridden) == 3
    for job, run_config in overridden.items():
        assert run_config["config"]["params"]["limit_samples"] == 10, job
        assert run_config["config"]["params"]["parallelism"] == 3, job  # the rest is kept


def _dry_run(nel: Nel, *args: str) -> str:
    result = nel("run", "--config", "cfg.yaml", "--dry-run", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (("simple_evals.mmlu_pro",), ["simple_evals.mmlu_pro"]),
        (
            ("nel_bench.arithmetic", "lm-evaluation-harness.ifeval"),
            ["nel_bench.arithmetic", "lm-evaluation-harness.ifeval"],
        ),
        (("arithmetic",), ["nel_bench.arithmetic"]),
    ],
    ids=["one", "two", "bare-name"],
)
def test_task_filter_selects_tasks(nel: Nel, selection: tuple[str, ...], expected: list[str]) -> None:
    """``-t`` runs only the named tasks of the config (qualified or bare names), in config order."""
    nel.write(
        "cfg.yaml",
        fake_config(nel.out, "simple_evals.mmlu_pro", "nel_bench.arithmetic", "lm-evaluation-harness.ifeval"),
    )
    args = [arg for name in selection for arg in ("-t", name)]
    output = _dry_run(nel, *args)
    assert f": {len(expected)} job(s) on executor 'fake'" in output.splitlines()[0]
    tasks = [rc["config"]["type"] for _, rc in sorted(_run_configs(output).items())]
    assert tasks == expected


# ----------------------------------------------------------------------------- examples


def test_config_dir_and_name_with_repository_examples(nel: Nel) -> None:
    """``run --config-dir examples --config-name local_basic --dry-run`` works from the repository root."""
    # What Hydra or a relative output_dir would leave in the working directory.
    strays = [REPO / name for name in ("outputs", "multirun", ".hydra", "nel-results")]
    before = ([p.exists() for p in strays], sorted(p.name for p in (REPO / "examples").iterdir()))
    result = nel(
        "run", "--config-dir", "examples", "--config-name", "local_basic", "--dry-run",
        "-o", f"execution.output_dir={nel.out}", cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "on executor 'local'" in result.stdout.splitlines()[0]
    assert [rc["config"]["type"] for rc in _run_configs(result.stdout).values()] == ["nel_bench.arithmetic"]
    assert not nel.out.exists()
    assert not nel.db.exists()
    after = ([p.exists() for p in strays], sorted(p.name for p in (REPO / "examples").iterdir()))
    assert after == before, "the dry run wrote into the repository"


@pytest.mark.parametrize("example", sorted(p.name for p in (REPO / "examples").glob("*.yaml")))
def test_every_example_dry_runs(nel: Nel, example: str) -> None:
    """Every example config dry-runs (given the host variables it reads), recording nothing and writing nothing."""
    args = ("run", "--config", str(REPO / "examples" / example), "--dry-run", "-o", f"execution.output_dir={nel.out}")
    # A dry run fails while a variable the run reads is unset: it says which, in its JSON.
    report = json.loads(nel(*args, "--json").stdout)
    unset = [re.search(r"host variable (\S+) is not set", p["message"]) for p in report["problems"]]
    assert all(unset), report["problems"]
    result = nel(*args, env={match.group(1): "dry-run-value" for match in unset if match})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# dry run of invocation ")
    assert _run_configs(result.stdout)
    assert not nel.out.exists()
    assert not nel.home.exists(), sorted(str(p.relative_to(nel.home)) for p in nel.home.rglob("*"))[:5]


# ----------------------------------------------------------------------------- a run and its control


def test_run_records_invocation_and_status_info_logs_follow(nel: Nel) -> None:
    """A run with the fake executor is recorded; ls runs, status, info and logs then describe it."""
    env = {"NEL_TEST_SECRET": SECRET_VALUE}
    nel.write(
        "cfg.yaml",
        fake_config(
            nel.out,
            "simple_evals.mmlu_pro",
            "nel_bench.arithmetic",
            extra="env_vars:\n  HF_TOKEN: host:NEL_TEST_SECRET\n",
        ),
    )
    result = nel("run", "--config", "cfg.yaml", "--json", env=env)
    launched = _json(result)
    invocation_id = launched["invocation_id"]
    assert re.fullmatch(r"[0-9a-f]{8}", invocation_id)
    assert [j["id"] for j in launched["jobs"]] == [f"{invocation_id}.0", f"{invocation_id}.1"]
    assert launched["output_dir"] == str(nel.out / invocation_id)
    assert nel.db.exists()

    runs = _json(nel("ls", "runs", "--json"))
    assert [r["invocation_id"] for r in runs] == [invocation_id]
    assert runs[0]["executor"] == "fake" and runs[0]["tasks"] == ["simple_evals.mmlu_pro", "nel_bench.arithmetic"]
    assert _json(nel("ls", "runs", "--json", "--since", "1h"))[0]["invocation_id"] == invocation_id
    assert _json(nel("ls", "runs", "--json", "--executor", "local")) == []

    status = _json(nel("status", invocation_id, "--json"))
    assert [[j["state"] for j in inv["jobs"]] for inv in status] == [["success", "success"]]
    assert _json(nel("status", "--json"))[0]["invocation_id"] == invocation_id  # latest by default
    assert _json(nel("status", invocation_id[:4], "--json"))[0]["invocation_id"] == invocation_id  # prefix

    info = _json(nel("info", invocation_id, "--json"))
    assert info["executor"] == "fake" and info["output_dir"] == str(nel.out / invocation_id)
    assert all(job["scores"] for job in info["jobs"]), info["jobs"]
    text = nel("info", invocation_id)
    assert text.returncode == 0 and f"invocation_id: {invocation_id}" in text.stdout

    logs = nel("logs", f"{invocation_id}.1")
    assert logs.returncode == 0 and "fake job ended with exit code 0" in logs.stdout

    plain_status = nel("status", invocation_id)
    assert plain_status.returncode == 0 and "success" in plain_status.stdout

    # The secret reached the job's private file, and nothing else.
    for job in launched["jobs"]:
        secrets = Path(job["job_dir"]) / "secrets.env"
        assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
        assert SECRET_VALUE in secrets.read_text()
        assert SECRET_VALUE not in (Path(job["job_dir"]) / "run.sh").read_text()
    assert SECRET_VALUE.encode() not in nel.db.read_bytes()
    assert SECRET_VALUE not in result.stdout + result.stderr


def test_run_prints_next_commands(nel: Nel) -> None:
    """Without --json, run prints the invocation, its jobs and the next commands to type."""
    nel.write("cfg.yaml", fake_config(nel.out))
    result = nel("run", "--config", "cfg.yaml")
    assert result.returncode == 0, result.stderr
    invocation_id = re.search(r"^invocation ([0-9a-f]{8}): 1 job\(s\) on 'fake'$", result.stdout, re.MULTILINE)
    assert invocation_id, result.stdout
    assert f"nel status {invocation_id.group(1)}" in result.stdout


def test_run_wait_reports_scores(nel: Nel) -> None:
    """``run --wait`` waits for the jobs and prints each job's scores."""
    nel.write("cfg.yaml", fake_config(nel.out, "nel_bench.arithmetic"))
    result = nel("run", "--config", "cfg.yaml", "--wait")
    assert result.returncode == 0, result.stderr
    assert re.search(r"\.0\s+nel_bench\.arithmetic\s+success\s+\S*accuracy\S*\s+1\.0000", result.stdout), result.stdout


def test_kill_and_resume_running_jobs(nel: Nel) -> None:
    """``kill`` stops running jobs (state killed); ``resume`` re-submits them; kill then has nothing to do."""
    launched = _launch(nel, "-o", "+execution.auto_finish=false")
    invocation_id = launched["invocation_id"]
    killed = nel("kill", invocation_id)
    assert killed.returncode == 0, killed.stderr
    assert f"killed {invocation_id}.0" in killed.stdout and f"killed {invocation_id}.1" in killed.stdout
    states = [j["state"] for j in _json(nel("status", invocation_id, "--json"))[0]["jobs"]]
    assert states == ["killed", "killed"]
    assert all((Path(j["job_dir"]) / "stage.killed").exists() for j in launched["jobs"])

    resumed = nel("resume", f"{invocation_id}.0")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed {invocation_id}.0" in resumed.stdout and f"{invocation_id}.1" not in resumed.stdout


def test_kill_of_finished_invocation_says_so(nel: Nel) -> None:
    """``kill`` of an invocation whose jobs have ended exits 0 and says there is nothing to kill."""
    invocation_id = _launch(nel)["invocation_id"]
    result = nel("kill", invocation_id)
    assert result.returncode == 0, result.stderr
    assert "nothing to kill" in result.stdout


def test_resume_of_successful_invocation_is_refused(nel: Nel) -> None:
    """``resume`` with no failed or killed job exits 1 with one error line."""
    invocation_id = _launch(nel)["invocation_id"]
    result = nel("resume", invocation_id)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_failed_jobs_are_reported(nel: Nel) -> None:
    """Jobs that fail show state failed in status; ``run --wait`` exits 1."""
    nel.write("cfg.yaml", fake_config(nel.out, "nel_bench.arithmetic"))
    result = nel("run", "--config", "cfg.yaml", "--wait", "-o", "+execution.jobs_succeed=false")
    assert result.returncode == 1, result.stderr
    runs = _json(nel("ls", "runs", "--json"))
    states = _json(nel("status", runs[0]["invocation_id"], "--json"))[0]["jobs"]
    assert [j["state"] for j in states] == ["failed"]


def test_export_with_fake_exporter(nel: Nel) -> None:
    """``export ID --dest fake --json`` exports every successful job of the invocation."""
    launched = _launch(nel)
    report = _json(nel("export", launched["invocation_id"], "--dest", "fake", "--json"))
    assert report["destination"] == "fake"
    assert sorted(report["exported"]) == sorted(j["id"] for j in launched["jobs"])
    refused = nel("export", launched["invocation_id"], "--dest", "fake", "-o", "fail=true")
    assert refused.returncode == 1 and refused.stderr.startswith("error: "), refused.stderr
    # Settings are typed as YAML reads them: "false" is false, not a non-empty string.
    accepted = nel("export", launched["invocation_id"], "--dest", "fake", "-o", "fail=false", "-o", "location=x://y")
    assert accepted.returncode == 0, accepted.stderr
    assert "x://y" in accepted.stdout
