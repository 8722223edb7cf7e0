"""Deployment defaults from the machine: usable CPUs (affinity, cgroup quota) and the server settings chosen."""

from __future__ import annotations

from pathlib import Path

import attrs

from nel_core.catalog import load_catalog
from nel_core.converter import structure_run_config
from nel_core.deployments import plan_llama_cpp
from nel_core.deployments.tuning import HostCpus, host_cpus, server_slots, tune_deployment, tuning_data
from nel_core.models.config import LlamaCppDeployment, VllmDeployment
from nel_core.services.plan import plan_run
from nel_core.testing import FakeEndpointProvider, FakeExecutionConfig, run_config_data


def _cgroup(tmp_path: Path, line: str, files: dict[str, str]) -> Path:
    (tmp_path / "self").write_text(line + "\n")
    for name, text in files.items():
        path = tmp_path / "fs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_affinity_without_quota(tmp_path: Path) -> None:
    """Without a cgroup quota the usable CPUs are those of the affinity mask."""
    root = _cgroup(tmp_path, "0::/user.slice", {"user.slice/cpu.max": "max 100000\n"})
    cpus = host_cpus(affinity=lambda: {0, 1, 2, 3}, proc_cgroup=root / "self", cgroup_root=root / "fs")
    assert (cpus.count, cpus.quota) == (4, None)


def test_cgroup_v2_quota_of_a_parent_caps_the_count(tmp_path: Path) -> None:
    """A cgroup v2 quota of a parent folder caps the CPUs; a fraction rounds down."""
    root = _cgroup(
        tmp_path,
        "0::/a/b",
        {"a/cpu.max": "250000 100000\n", "a/b/cpu.max": "max 100000\n"},
    )
    cpus = host_cpus(affinity=lambda: set(range(8)), proc_cgroup=root / "self", cgroup_root=root / "fs")
    assert (cpus.quota, cpus.count) == (2.5, 2)


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    """A cgroup v1 CFS quota is read from the cpu controller's folder; -1 means none."""
    root = _cgroup(
        tmp_path,
        "4:cpu,cpuacct:/docker/x\n3:memory:/docker/x",
        {
            "cpu,cpuacct/docker/x/cpu.cfs_quota_us": "100000\n",
            "cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000\n",
            "cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
            "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
        },
    )
    cpus = host_cpus(affinity=lambda: {0, 1, 2}, proc_cgroup=root / "self", cgroup_root=root / "fs")
    assert cpus.count == 1


def test_tiny_quota_still_gives_one_thread() -> None:
    """A quota below one CPU still runs one thread."""
    assert HostCpus(affinity=4, quota=0.5).count == 1


def test_llama_cpp_defaults_follow_the_cpus() -> None:
    """Unset llama.cpp threads and batch come from the CPUs and reach the server's command line."""
    tuned, tuning = tune_deployment(LlamaCppDeployment(model_package="m"), HostCpus(affinity=3))
    assert tuning is not None
    assert tuning.values == {"n_threads": 3, "n_threads_batch": 3, "n_batch": 512}
    assert tuning.slots == 1
    command = plan_llama_cpp(None, tuned).command  # type: ignore[arg-type]
    assert "--n_threads 3 --n_threads_batch 3 --n_batch 512" in command


def test_explicit_values_win() -> None:
    """Values set in the config are kept, and the reason says so."""
    deployment = LlamaCppDeployment(model_package="m", n_threads=1, n_batch=64, n_ctx=32)
    tuned, tuning = tune_deployment(deployment, HostCpus(affinity=8))
    assert tuning is not None
    assert (tuned.n_threads, tuned.n_threads_batch, tuned.n_batch) == (1, 1, 64)  # type: ignore[attr-defined]
    assert "n_threads, n_batch" in tuning.reason


def test_remote_host_leaves_unset_values_to_the_server() -> None:
    """When the server runs elsewhere nothing is guessed from this host's CPUs."""
    deployment = LlamaCppDeployment(model_package="m")
    tuned, tuning = tune_deployment(deployment, None)
    assert tuned == deployment
    assert tuning is not None and tuning.values == {}
    assert "--n_threads" not in plan_llama_cpp(None, tuned).command  # type: ignore[arg-type]


def test_gpu_server_slots_from_its_command() -> None:
    """A GPU server's slots are its --max-num-seqs (or the like), else vLLM's default."""
    assert server_slots("vllm serve /c --max-num-seqs 64 --port 8000") == 64
    assert server_slots("python -m sglang.launch_server --max-running-requests=12") == 12
    assert server_slots("vllm serve /c") == 256
    _, tuning = tune_deployment(VllmDeployment(command="vllm serve /c --max-num-seqs 8"), HostCpus(affinity=2))
    assert tuning is not None and tuning.slots == 8
    assert tuning_data(tuning)["server_tuning"]["slots"] == 8


def test_plan_records_the_chosen_values_in_its_config() -> None:
    """The plan's config (what the invocation records) holds the chosen values, not nulls."""
    data = run_config_data("/out", url="http://h:1/v1/completions", model_id="m")
    config = structure_run_config(data, FakeExecutionConfig)
    config = attrs.evolve(config, deployment=LlamaCppDeployment(model_package="m"))
    plan = plan_run(
        config,
        catalog=load_catalog(),
        provider=FakeEndpointProvider(),
        invocation_id="0123abcd",
        cpus=HostCpus(affinity=2),
    )
    assert plan.config.deployment.n_threads == 2  # type: ignore[attr-defined]
    assert plan.tuning is not None and plan.tuning.slots == 1
