"""The cost of driving a Slurm cluster over SSH: NEL beside NeMo Evaluator Launcher 0.2.6, in one run.

Run from the repo root with NEL installed in the running interpreter and the test cluster up
(``scripts/infra.sh start slurm sshd`` and its ``env`` in the environment)::

    python benchmarks/slurm.py [--tasks 50] [--invocations 4] [--repeat 3]

Both programs reach the same login node through the same Host alias of an SSH config (``HOME``
points at a scratch folder holding it) and read the same config file (NeMo Evaluator Launcher's
keys only; ``sbatch_extra_flags.hold`` keeps every submitted job pending, and they are cancelled
at the end). The SSH server is a dedicated OpenSSH instance whose log counts, for each command,
the connections made (each one a login: slow, and a prompt on clusters with MFA), the commands
run and the SFTP sessions opened, counted the same way for both programs. (The reference moves
files with rsync, which runs as a command; NEL with SFTP on its one connection.)

Cases: ``run`` (submitting ``--tasks`` tasks) and ``status`` of ``--invocations`` such runs at once
(``--tasks`` x ``--invocations`` jobs). Reported: median wall time, and the connections, commands
and SFTP sessions of one such command. Nothing is asserted: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import Program, base_env, common_chat_tasks, ensure_reference, log, pick_tasks  # noqa: E402

ALIAS = "nel-bench-cluster"
ENDPOINT = "http://127.0.0.1:9/v1/chat/completions"
#: The cluster folder of both programs' runs (their held jobs are cancelled at the end).
REMOTE = "/tmp/nel-bench-slurm"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_sshd(work: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    """A dedicated sshd that logs every connection, command and SFTP request; its port and log."""
    key = Path(os.environ["NEL_TEST_SSH_KEY"])
    ssh_dir = key.parent
    port = free_port()
    log_file = work / "sshd.log"
    config = work / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {ssh_dir / 'host_ed25519'}\nPidFile {work / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {ssh_dir / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        "LogLevel VERBOSE\nMaxSessions 100\nMaxStartups 100\nSubsystem sftp internal-sftp\n"
    )
    process = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(config), "-E", str(log_file)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process, port, log_file
        time.sleep(0.05)
    raise SystemExit("the benchmark's sshd did not start")


def write_home(home: Path, port: int) -> None:
    """A HOME whose SSH config makes ``nel-bench-cluster`` the login node (known host, key)."""
    key = os.environ["NEL_TEST_SSH_KEY"]
    host_key = (Path(key).parent / "host_ed25519.pub").read_text().split()[:2]
    ssh = home / ".ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    (ssh / "known_hosts").write_text(f"[127.0.0.1]:{port} {' '.join(host_key)}\n")
    (ssh / "config").write_text(
        f"Host {ALIAS}\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile {key}\n"
        f"  UserKnownHostsFile {ssh / 'known_hosts'}\n  StrictHostKeyChecking yes\n  BatchMode yes\n"
    )
    (ssh / "config").chmod(0o600)
    # OpenSSH reads the passwd entry's home, not HOME: an ``ssh`` first on PATH (rsync calls it too)
    # points the reference at this config.
    wrapper = home / "bin" / "ssh"
    wrapper.parent.mkdir(exist_ok=True)
    wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {ssh / "config"} "$@"\n')
    wrapper.chmod(0o755)


def write_config(path: Path, tasks: list[str], output_dir: str) -> Path:
    """One config both programs read: NeMo Evaluator Launcher's Slurm keys, every job held."""
    lines = [
        "defaults:", "  - execution: slurm/default", "  - deployment: none", "  - _self_",
        "execution:", f"  hostname: {ALIAS}", "  username: root",
        f"  account: {os.environ.get('NEL_TEST_SLURM_ACCOUNT', 'nel')}",
        f"  partition: {os.environ.get('NEL_TEST_SLURM_PARTITION', 'debug')}", "  gres: null",
        f"  output_dir: {output_dir}", "  walltime: '00:10:00'", "  sbatch_extra_flags:", "    hold: true",
        "target:", "  api_endpoint:", f"    url: {ENDPOINT}", "    model_id: x", "    api_key_name: API_KEY",
        "evaluation:", "  tasks:", *(f"    - name: {task}" for task in tasks),
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def counts(log_file: Path, start: int) -> dict[str, int]:
    """Connections, commands and SFTP sessions the sshd logged after byte ``start``."""
    with log_file.open("rb") as stream:
        stream.seek(start)
        text = stream.read().decode(errors="replace")
    return {
        "connections": text.count("Accepted publickey"),
        "commands": text.count("Starting session: command"),
        "sftp sessions": text.count("Starting session: subsystem 'sftp'"),
    }


def timed(argv: list[str], env: dict[str, str], log_file: Path) -> tuple[float, dict[str, int], str]:
    start = log_file.stat().st_size
    began = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - began
    time.sleep(0.3)  # let sshd write its last lines
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[-4:])}: exit {done.returncode}: {(done.stderr or done.stdout)[-600:]}")
    return wall, counts(log_file, start), done.stdout


def invocation_id(program: str, stdout: str) -> str:
    if program == "nel":
        return str(json.loads(stdout)["invocation_id"])
    found = re.findall(r"\b([0-9a-f]{16})\b", stdout)
    if not found:
        raise RuntimeError(f"no invocation id in the reference's output: {stdout[-400:]}")
    return found[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--invocations", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bench-dir", type=Path, default=Path(os.environ.get("NEL_BENCH_DIR", "/tmp/nel-bench")))
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("NEL_TEST_SSH_KEY"):
        raise SystemExit("no test cluster: run 'scripts/infra.sh start slurm sshd' and eval its env")
    work = Path(tempfile.mkdtemp(prefix="nel-bench-slurm-"))
    sshd, port, log_file = start_sshd(work)
    write_home(work / "home", port)
    env = {**base_env(work / "nel-home"), "HOME": str(work / "home")}
    env["PATH"] = f"{work / 'home' / 'bin'}{os.pathsep}{env['PATH']}"
    nel = Program("nel", [sys.executable, "-m", "nel_cli"])
    programs = [nel]
    if not args.no_reference:
        script, note = ensure_reference(args.bench_dir)
        if script is None:
            log(f"reference unavailable: {note}")
        else:
            programs.append(Program("reference", [str(script)]))
    table: dict[str, dict[str, dict[str, float]]] = {}
    try:
        tasks = pick_tasks(common_chat_tasks(programs, {**env, "HOME": os.environ.get("HOME", "/root")}), args.tasks)
        runs: dict[str, list[str]] = {p.name: [] for p in programs}
        samples: dict[tuple[str, str], list[tuple[float, dict[str, int]]]] = {}
        for round_ in range(max(args.repeat, args.invocations)):
            for program in programs:
                remote = f"{REMOTE}/{program.name}"
                config = write_config(work / f"{program.name}.yaml", tasks, remote)
                json_flag = ["--json"] if program.name == "nel" else []
                wall, seen, out = timed([*program.argv, "run", "--config", str(config), *json_flag], env, log_file)
                runs[program.name].append(invocation_id(program.name, out))
                if round_ < args.repeat:
                    samples.setdefault((f"run {args.tasks} tasks", program.name), []).append((wall, seen))
        for _ in range(args.repeat):
            for program in programs:
                ids = runs[program.name][: args.invocations]
                wall, seen, _ = timed([*program.argv, "status", *ids], env, log_file)
                samples.setdefault((f"status {args.tasks * args.invocations} jobs", program.name), []).append(
                    (wall, seen)
                )
        # The answer must be right, not only quick: every job of NEL's invocations is pending (held).
        answer = subprocess.run([*nel.argv, "status", *runs["nel"][: args.invocations], "--json"], env=env,
                                capture_output=True, text=True, check=True)  # fmt: skip
        states = {job["state"] for inv in json.loads(answer.stdout) for job in inv["jobs"]}
        if states != {"pending"}:
            raise SystemExit(f"NEL's status is wrong: states {sorted(states)} (all jobs are held, so pending)")
        for (case, name), values in samples.items():
            last = values[-1][1]
            table.setdefault(case, {})[name] = {"median": statistics.median(v[0] for v in values), **last}
    finally:
        listed = subprocess.run(["squeue", "-h", "-o", "%i %o"], capture_output=True, text=True).stdout
        ours = [line.split()[0] for line in listed.splitlines() if f" {REMOTE}/" in line]  # only this run's jobs
        if ours:
            subprocess.run(["scancel", *ours], capture_output=True)
        sshd.terminate()
    header = ["case", "program", "median", "connections", "commands", "sftp sessions"]
    rows = [header] + [
        [case, name, f"{v['median'] * 1000:.0f} ms", str(v["connections"]), str(v["commands"]),
         str(v["sftp sessions"])]
        for case, per in table.items() for name, v in per.items()
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    (args.bench_dir / "slurm-results.json").write_text(json.dumps(table, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
