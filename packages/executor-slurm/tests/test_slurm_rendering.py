"""The sbatch scripts and job scripts of the Slurm executor, checked by content (nothing runs)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from nel_core.catalog import load_catalog
from nel_core.converter import structure_run_config
from nel_core.errors import ConfigError
from nel_core.services.dryrun import render_dry_run
from nel_core.services.launch import make_plan
from nel_core.services.materialize import RenderedFile, render_files
from nel_core.testing import InMemoryInvocationStore, run_config_data
from nel_core.transport import Transport
from nel_executor_slurm.config import SlurmExecutionConfig
from nel_executor_slurm.executor import SlurmExecutor

TASKS = ["nel_bench.arithmetic", "nel_bench.arithmetic", "nel_bench.arithmetic"]


class _Refusing(Transport):
    """A transport that fails the test if anything reaches the cluster."""

    def run(self, argv: Any, *, input: str | None = None) -> tuple[int, str, str]:
        raise AssertionError(f"the cluster was contacted: {argv}")

    def put_tree(self, local: Path, remote: str) -> None:
        raise AssertionError("files were sent to the cluster")

    def fetch(self, files: Any) -> list[str]:
        raise AssertionError("files were fetched from the cluster")

    def read_file(self, path: str, offset: int = 0) -> str | None:
        raise AssertionError(f"{path} was read from the cluster")


def _render(
    tmp_path: Path, server: dict[str, Any] | None = None, *, auxiliary: dict[str, Any] | None = None, **execution: Any
) -> list[RenderedFile]:
    data = run_config_data(str(tmp_path / "out"), tasks=TASKS, url="http://127.0.0.1:9/v1/chat/completions")
    if auxiliary is not None:
        data["auxiliary_deployments"] = auxiliary
    data["execution"] = {
        "type": "slurm", "hostname": "login.example.com", "account": "acct",
        "output_dir": str(tmp_path / "out"), **execution,
    }  # fmt: skip
    if server is not None:
        data["deployment"] = server
        data["env_vars"] = {"HF_TOKEN": "lit:s3cr3t-value-2718"}
    config = structure_run_config(data, SlurmExecutionConfig)
    executor = SlurmExecutor(config.execution, home=tmp_path / "home", transport=_Refusing())
    plan = make_plan(config, executor=executor, catalog=load_catalog(), store=InMemoryInvocationStore())
    return render_files(plan, executor, executor.output_root(), {}, redact=True)


def _sbatch(files: list[RenderedFile]) -> list[str]:
    return [f.text for f in sorted(files, key=lambda f: f.path) if f.path.suffix == ".sbatch"]


def _run_scripts(files: list[RenderedFile]) -> list[str]:
    return [f.text for f in sorted(files, key=lambda f: f.path) if f.path.name == "run.sh"]


LLAMA = {"type": "llama_cpp", "model_path": __file__, "port": 8123}

VLLM = {
    "type": "vllm", "checkpoint_path": "/lustre/models/llama", "served_model_name": "llama",
    "command": "vllm serve /checkpoint --port 8000", "env_vars": {"HF_TOKEN": "host:HF_TOKEN"},
}  # fmt: skip


def test_grouping_gives_one_script_and_one_server_start_per_group(tmp_path: Path) -> None:
    """Three tasks with tasks_per_job 2 give two sbatch scripts, each starting the server once."""
    scripts = _sbatch(_render(tmp_path, VLLM, tasks_per_job=2, container_runtime="pyxis"))
    assert len(scripts) == 2
    assert [s.count("servers+=($!)") for s in scripts] == [1, 1]
    listed = [next(line for line in s.splitlines() if line.startswith("jobs=(")) for s in scripts]
    assert [[Path(d).name for d in line[len("jobs=(") : -1].split()] for line in listed] == [
        ["0-nel_bench.arithmetic", "1-nel_bench.arithmetic"],
        ["2-nel_bench.arithmetic"],
    ]
    assert "-0\n#SBATCH" in scripts[0] and "-1\n#SBATCH" in scripts[1]  # the job names


def test_all_tasks_share_one_job_by_default(tmp_path: Path) -> None:
    """Without tasks_per_job the three tasks run in one sbatch job, the server started once."""
    scripts = _sbatch(_render(tmp_path, VLLM))
    assert len(scripts) == 1 and scripts[0].count("servers+=($!)") == 1
    assert scripts[0].count("-nel_bench.arithmetic") == 3


def test_sbatch_header_holds_every_option(tmp_path: Path) -> None:
    """The header has account, partition, time, nodes, tasks, gres, comment, job name, output,
    --no-requeue and each extra flag (true: bare flag, a value: --key=value, false: left out)."""
    files = _render(
        tmp_path, VLLM, walltime="04:00:00", num_nodes=2, ntasks_per_node=4, gres="gpu:4", gpus_per_node=4,
        sbatch_comment="eval run", sbatch_extra_flags={"exclusive": True, "mem": "0", "overcommit": False},
        deployment={"n_tasks": 2},
    )  # fmt: skip
    (script,) = _sbatch(files)
    header = [line for line in script.splitlines() if line.startswith("#SBATCH")]
    invocation = next(f.path.parent.name for f in files if f.path.suffix == ".sbatch")
    for option in (
        "--account=acct", "--partition=batch", "--time=04:00:00", "--nodes=2", "--ntasks-per-node=4",
        "--gres=gpu:4", "--gpus-per-node=4", "--comment=eval run", "--no-requeue", "--exclusive", "--mem=0",
        f"--job-name=acct-nemo-evaluator-launcher.nel-{invocation}-0",
        f"--output={tmp_path}/out/{invocation}/slurm-0-%j.log",
    ):  # fmt: skip
        assert f"#SBATCH {option}" in header, (option, header)
    assert not any("overcommit" in line for line in header)
    assert "srun --overlap --nodes=2 --ntasks=2" in script  # the server's step spans the job's nodes


def test_a_run_without_deployment_goes_to_the_cpu_partition(tmp_path: Path) -> None:
    """With deployment none and cpu_partition set, the job asks the CPU partition and no GPUs."""
    (script,) = _sbatch(_render(tmp_path, cpu_partition="cpu"))
    assert "#SBATCH --partition=cpu" in script and "--gres" not in script
    assert "servers+=($!)" not in script and "curl" not in script


def test_server_is_health_checked_and_torn_down(tmp_path: Path) -> None:
    """The script waits for the health path with curl until the readiness timeout, fails the
    group's tasks with a reason when the server does not come up, and stops it on exit."""
    (script,) = _sbatch(_render(tmp_path, VLLM, endpoint_readiness_timeout=1200))
    assert "curl --silent --fail --output /dev/null --max-time 5 http://127.0.0.1:8000/health" in script
    assert "deadline=$(( $(date +%s) + 1200 ))" in script
    assert "was not healthy within 1200s" in script and "fail_jobs" in script
    assert "trap teardown EXIT" in script and 'for s in "${servers[@]}"; do stop_group "$s"; done' in script


@pytest.mark.parametrize(
    ("runtime", "job_line", "server_line"),
    [
        ("pyxis", "srun --overlap --nodes=1 --ntasks=1 --container-image=localhost/nel/nel-bench:latest",
         "srun --overlap --nodes=1 --ntasks=1 --container-image=vllm/vllm-openai:latest "
         "--container-mounts=/lustre/models/llama:/checkpoint:ro"),
        ("charliecloud", "ch-run --bind=", "ch-run --bind=/lustre/models/llama:/checkpoint vllm/vllm-openai:latest --"),
        ("apptainer", "apptainer exec --bind=", "apptainer exec --nv --bind=/lustre/models/llama:/checkpoint:ro"),
        ("docker", "docker run --rm --network=host", "docker run --rm --network=host"),
    ],
)  # fmt: skip
def test_each_container_runtime_renders_jobs_and_server(
    tmp_path: Path, runtime: str, job_line: str, server_line: str
) -> None:
    """Each runtime runs the harness in its image with /job and /results mounted, and the server in its own."""
    files = _render(tmp_path, VLLM, container_runtime=runtime)
    (script,) = _sbatch(files)
    assert server_line in script, script
    for run in _run_scripts(files):
        line = next(line for line in run.splitlines() if "run_config" in line)
        assert line.startswith(job_line), line
        assert ":/job" in line and "/artifacts:/results" in line
        assert "/job/run_config.yml" in line


def test_runtime_none_runs_the_harness_from_the_shared_venv(tmp_path: Path) -> None:
    """container_runtime none runs the command on the node, the venv's bin first on PATH, host paths."""
    files = _render(tmp_path, container_runtime="none", venv="/shared/envs/harness")
    for run in _run_scripts(files):
        assert 'export PATH=/shared/envs/harness/bin:"$PATH"' in run
        assert "srun" not in run and "/job/" not in run
        assert f"{tmp_path}/out/" in run and "/run_config.yml" in run


def test_runtime_none_refuses_a_server_image(tmp_path: Path) -> None:
    """A deployment with an image cannot start without a container runtime: a config error."""
    with pytest.raises(ConfigError, match="container_runtime: 'none' cannot start the vllm server"):
        _render(tmp_path, VLLM, container_runtime="none")


def test_secrets_stay_out_of_every_script(tmp_path: Path) -> None:
    """No secret value appears in a script; jobs source secrets.env, the server deployment.env (0600)."""
    files = _render(tmp_path, VLLM)
    scripts = [f for f in files if f.path.suffix == ".sbatch" or f.path.name == "run.sh"]
    assert scripts and not any("s3cr3t-value-2718" in f.text for f in scripts)
    assert all(". ./secrets.env" in f.text for f in scripts if f.path.name == "run.sh")
    assert ". ./deployment.env" in _sbatch(files)[0]
    assert {f.mode for f in files if f.path.name in ("secrets.env", "deployment.env")} == {0o600}


def test_dry_run_contacts_nothing_and_redacts(tmp_path: Path) -> None:
    """A dry run renders every script for a remote host without contacting it; values are redacted."""
    data = run_config_data(str(tmp_path / "out"), tasks=TASKS[:2], url="http://127.0.0.1:9/v1/chat/completions")
    data["execution"] = {"type": "slurm", "hostname": "login.example.com", "account": "a", "output_dir": "/remote"}
    data["env_vars"] = {"TOKEN": "lit:s3cr3t-value-2718"}
    config = structure_run_config(data, SlurmExecutionConfig)
    executor = SlurmExecutor(config.execution, home=tmp_path, transport=_Refusing())
    plan = make_plan(config, executor=executor, catalog=load_catalog(), store=InMemoryInvocationStore())
    shown = render_dry_run(plan, executor, {})
    assert "slurm-0.sbatch" in shown and "#SBATCH --account=a" in shown
    assert "s3cr3t-value-2718" not in shown and "<redacted>" in shown
    assert not (tmp_path / "out").exists()


def test_every_rendered_script_is_valid_bash(tmp_path: Path) -> None:
    """bash -n accepts every sbatch and job script, with one server instance or several behind haproxy."""
    files = [*_render(tmp_path / "a", VLLM), *_render(tmp_path / "b", VLLM, num_nodes=4, num_instances=2),
             *_render(tmp_path / "c")]  # fmt: skip
    for file in files:
        if file.path.suffix == ".sbatch" or file.path.name == "run.sh":
            checked = subprocess.run(["bash", "-n"], input=file.text, capture_output=True, text=True)
            assert checked.returncode == 0, f"{file.path}: {checked.stderr}"


def test_several_instances_sit_behind_haproxy(tmp_path: Path) -> None:
    """num_instances 2 on 4 nodes: two srun steps on nodes 0-1 and 2-3, health-checked, haproxy in front
    (in proxy.image), and the jobs reach the proxy's port."""
    files = _render(tmp_path, VLLM, num_nodes=4, num_instances=2, container_runtime="pyxis")
    (script,) = _sbatch(files)
    for relative in (0, 2):
        assert f"srun --overlap --nodes=2 --relative={relative} --ntasks=2 --container-image=vllm/vllm-openai" in script
        health = f'"http://${{nodes[{relative}]}}:8000/health"'
        assert f"curl --silent --fail --output /dev/null --max-time 5 {health}" in script
    assert "    server node1 ${nodes[0]}:8000 check\n    server node2 ${nodes[2]}:8000 check" in script
    assert "bind *:5009" in script and "option httpchk GET /health" in script
    assert "--container-image=haproxy:latest" in script and "haproxy -f /nel-proxy/proxy.cfg" in script
    assert "http://127.0.0.1:5009/health" in script
    configs = [f.text for f in files if f.path.name == "run_config.yml"]
    assert configs and all("url: http://127.0.0.1:5009/" in c for c in configs)


def test_several_instances_without_containers_use_srun_and_the_nodes_haproxy(tmp_path: Path) -> None:
    """Runtime none: each instance is an srun step running the server's command; haproxy from the node."""
    files = _render(tmp_path, LLAMA, num_nodes=2, num_instances=2, container_runtime="none",
                    proxy={"config": {"haproxy_port": 6000, "health_check_path": "/v1/models"}})  # fmt: skip
    (script,) = _sbatch(files)
    assert "srun --overlap --nodes=1 --relative=1 --ntasks=1 bash -c" in script
    assert "exec haproxy -f " in script and "/proxy.cfg" in script and "bind *:6000" in script
    assert "option httpchk GET /v1/models" in script


def test_instances_must_divide_the_nodes(tmp_path: Path) -> None:
    """num_nodes that num_instances does not divide is a config error naming both keys."""
    expected = r"execution.num_nodes \(3\) must be a multiple of execution.num_instances \(2\)"
    with pytest.raises(ConfigError, match=expected):
        _render(tmp_path, VLLM, num_nodes=3, num_instances=2)


JUDGE = {
    "type": "vllm", "checkpoint_path": "/lustre/models/judge", "served_model_name": "judge", "port": 8001,
    "command": "vllm serve /checkpoint --port 8001", "env_vars": {"JUDGE_TOKEN": "host:JUDGE_TOKEN"},
}  # fmt: skip


def test_an_auxiliary_server_starts_once_beside_the_model_server(tmp_path: Path) -> None:
    """A judge starts after the model server in each sbatch job, in its container, on its own port and
    log, is health-checked, torn down with the rest, and its URL reaches every task's environment."""
    mounts = {"deployment": {"/lustre/cache": "/cache"}, "auxiliary": {"/lustre/rubrics": "/rubrics"}}
    files = _render(tmp_path, VLLM, auxiliary={"judge": JUDGE}, mounts=mounts)
    (script,) = _sbatch(files)
    judge_line = next(line for line in script.splitlines() if "--port 8001" in line and "setsid" in line)
    assert "/lustre/rubrics:/rubrics" in judge_line and "/lustre/cache" not in judge_line
    main, judge = script.index("starting the vllm server"), script.index("starting the auxiliary deployment judge")
    assert main < judge < script.index('run_job "$dir"')
    assert script.count("vllm serve /checkpoint --port 8001") == 1
    assert "--container-mounts=/lustre/models/judge:/checkpoint:ro" in script
    assert "curl --silent --fail --output /dev/null --max-time 5 http://127.0.0.1:8001/health" in script
    assert ">> slurm-0-judge.log" in script and "the auxiliary deployment judge (vllm) exited before" in script
    assert "servers+=($!)" in script[judge:]  # the teardown stops it with the model server
    secrets = [f.text for f in files if f.path.name == "secrets.env"]
    assert len(secrets) == len(TASKS) and all("NEL_AUXILIARY_JUDGE_URL" in text for text in secrets)
    assert "JUDGE_TOKEN" in next(f.text for f in files if f.path.name == "deployment.env")
    assert "JUDGE_TOKEN" not in script


def test_an_auxiliary_server_alone_deploys_and_is_valid_bash(tmp_path: Path) -> None:
    """Without a model deployment (an external endpoint), the judge still starts, on the GPU partition."""
    files = _render(tmp_path, auxiliary={"judge": JUDGE}, cpu_partition="cpu")
    (script,) = _sbatch(files)
    assert "starting the auxiliary deployment judge" in script and "--partition=cpu" not in script
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


def test_two_servers_on_one_port_are_refused(tmp_path: Path) -> None:
    """The judge on the model server's port: refused by key before anything is written."""
    with pytest.raises(ConfigError, match=r"auxiliary_deployments\.judge\.port: 8000 is deployment\.port too"):
        _render(tmp_path, VLLM, auxiliary={"judge": {**JUDGE, "port": 8000}})
    assert not (tmp_path / "out").exists()


def test_auxiliary_mounts_are_refused_by_their_own_key_for_a_server_on_the_node(tmp_path: Path) -> None:
    """mounts.auxiliary for a judge without an image names mounts.auxiliary, not the deployment's key."""
    judge = {**LLAMA, "port": 8124}
    with pytest.raises(ConfigError, match=r"^execution\.mounts\.auxiliary: the llama_cpp server runs on the node"):
        _render(tmp_path, VLLM, auxiliary={"judge": judge}, mounts={"auxiliary": {"/lustre/r": "/r"}})
