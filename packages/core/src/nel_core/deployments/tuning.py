"""Deployment defaults that use the machine: the CPUs this process may use, and server settings from them.

A llama.cpp server on CPU is fastest with one thread per CPU it may really run on: the CPUs of its
affinity mask, capped by a cgroup CPU quota (a container's ``--cpus``, a Slurm or systemd slice).
llama-cpp-python 0.3.36 holds one lock over its model, so it answers one request at a time: its
parallel slots are 1 whatever the client sends. Explicit config values always win.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from nel_core.models.config import DeploymentConfig, LlamaCppDeployment

__all__ = ["HostCpus", "ServerTuning", "host_cpus", "server_slots", "tune_deployment", "tuning_data"]

#: llama-cpp-python's own batch size (``n_batch``): prompts of an evaluation fit in one batch.
LLAMA_CPP_BATCH = 512
#: What vLLM and SGLang run at once unless told otherwise (vLLM's ``--max-num-seqs`` default).
GPU_SERVER_SLOTS = 256
_SLOT_FLAGS = re.compile(r"--(?:max-num-seqs|max-running-requests|max_batch_size|max-batch-size)[= ](\d+)")


@attrs.frozen(kw_only=True)
class HostCpus:
    """The CPUs this process may use: its affinity mask and, where one is set, a cgroup quota.

    Args:
        affinity: CPUs in the scheduling affinity mask (``os.sched_getaffinity``).
        quota: CPUs' worth of time the cgroup allows per period (None: no quota).
    """

    affinity: int
    quota: float | None = None

    @property
    def count(self) -> int:
        """Whole CPUs to run threads on: a fractional quota rounds down (at least one)."""
        if self.quota is None:
            return self.affinity
        return max(1, min(self.affinity, math.floor(self.quota)))

    def describe(self) -> str:
        """One phrase saying where :attr:`count` comes from."""
        quota = "no cgroup quota" if self.quota is None else f"cgroup quota {self.quota:g} CPUs"
        return f"{self.count} CPU(s): affinity {self.affinity}, {quota}"


@attrs.frozen(kw_only=True)
class ServerTuning:
    """The settings chosen for a deployment's server, and why (shown in the dry run, recorded)."""

    values: dict[str, int]
    slots: int | None
    reason: str


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _cgroup_quota(proc_cgroup: Path, root: Path) -> float | None:
    """The tightest CPU quota over this process's cgroup and its parents (v2, else v1), in CPUs."""
    text = _read(proc_cgroup) or ""
    quotas: list[float] = []
    for line in text.splitlines():
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":  # cgroup v2: one unified hierarchy
            for folder in _ancestors(root, path):
                fields = (_read(folder / "cpu.max") or "").split()
                if len(fields) == 2 and fields[0] != "max":
                    quotas.append(int(fields[0]) / int(fields[1]))
        elif "cpu" in controllers.split(","):
            for mount in (root / controllers, root / "cpu,cpuacct", root / "cpu"):
                for folder in _ancestors(mount, path):
                    quota = (_read(folder / "cpu.cfs_quota_us") or "").strip()
                    period = (_read(folder / "cpu.cfs_period_us") or "").strip()
                    if quota.lstrip("-").isdigit() and period.isdigit() and int(quota) > 0:
                        quotas.append(int(quota) / int(period))
                if quotas:
                    break
    return min(quotas) if quotas else None


def _ancestors(root: Path, path: str) -> list[Path]:
    """``root/path`` and each parent up to ``root`` (a container sees its own cgroup as ``/``)."""
    parts = [p for p in path.strip().split("/") if p]
    return [root.joinpath(*parts[:n]) for n in range(len(parts), -1, -1)]


def host_cpus(
    *,
    affinity: Callable[[], set[int]] | None = None,
    proc_cgroup: Path = Path("/proc/self/cgroup"),
    cgroup_root: Path = Path("/sys/fs/cgroup"),
) -> HostCpus:
    """The CPUs this process may use (read from the host: call it when planning, never at import)."""
    if affinity is not None:
        count = len(affinity())
    elif hasattr(os, "sched_getaffinity"):
        count = len(os.sched_getaffinity(0))
    else:  # macOS, Windows: no affinity mask
        count = os.cpu_count() or 1
    return HostCpus(affinity=max(1, count), quota=_cgroup_quota(proc_cgroup, cgroup_root))


def server_slots(command: str) -> int | None:
    """The requests a GPU server runs at once, from its command line (its own default if unset)."""
    found = _SLOT_FLAGS.findall(command)
    return int(found[-1]) if found else GPU_SERVER_SLOTS


def tuning_data(tuning: ServerTuning | None) -> dict[str, Any]:
    """What an invocation records of its server's chosen settings (nothing when none were chosen)."""
    if tuning is None:
        return {}
    return {"server_tuning": {"values": dict(tuning.values), "slots": tuning.slots, "reason": tuning.reason}}


def tune_deployment(
    deployment: DeploymentConfig, cpus: HostCpus | None
) -> tuple[DeploymentConfig, ServerTuning | None]:
    """Fill a deployment's unset machine-dependent settings; explicit values are kept.

    Args:
        cpus: The CPUs of the host the server runs on; None when that host is not this one
            (a llama.cpp server then keeps its own defaults for what the config leaves unset).

    Returns:
        The deployment with every chosen value set, and what was chosen (None for a type
        NEL has no defaults for, or ``deployment: none``).
    """
    if isinstance(deployment, LlamaCppDeployment):
        if cpus is None:
            given = {k: getattr(deployment, k) for k in ("n_threads", "n_threads_batch", "n_batch")}
            values = {k: v for k, v in given.items() if v}
            return deployment, ServerTuning(values=values, slots=1, reason="the server's host decides the rest")
        chosen = {
            "n_threads": deployment.n_threads or cpus.count,
            "n_threads_batch": deployment.n_threads_batch or deployment.n_threads or cpus.count,
            "n_batch": deployment.n_batch or min(LLAMA_CPP_BATCH, deployment.n_ctx),
        }
        explicit = [k for k in chosen if getattr(deployment, k)]
        reason = f"from {cpus.describe()}" + (f"; set in the config: {', '.join(explicit)}" if explicit else "")
        tuned = attrs.evolve(
            deployment,
            n_threads=chosen["n_threads"],
            n_threads_batch=chosen["n_threads_batch"],
            n_batch=chosen["n_batch"],
        )
        return tuned, ServerTuning(values=chosen, slots=1, reason=reason)
    command = getattr(deployment, "command", None)
    if deployment.type in ("vllm", "sglang", "trtllm", "nim") and command:
        slots = server_slots(str(command))
        return deployment, ServerTuning(values={}, slots=slots, reason="the server's batch limit")
    return deployment, None
