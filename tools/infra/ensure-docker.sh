#!/usr/bin/env bash
# Make sure a working Docker daemon is reachable.
#
#   tools/infra/ensure-docker.sh            # fast path: exit 0 as soon as `docker info` answers
#   tools/infra/ensure-docker.sh --verify   # additionally prove that containers run on the default
#                                           # bridge and that `docker run -p` ports answer on 127.0.0.1
#
# When no daemon answers and we are root on Debian/Ubuntu (apt), this script:
#   1. installs what is missing: docker.io docker-compose debootstrap busybox-static
#      (busybox-static only feeds the tiny probe image used for the port check; no registry needed;
#      plus apparmor when the kernel enforces AppArmor, cgroupfs-mount when no cgroup fs is mounted),
#      running `apt-get update` only when the package lists cannot satisfy the install;
#   2. starts dockerd in the background (no systemd needed, works without a TTY, e.g. in CI),
#      logging to <repo>/.cache/dockerd.log, and waits up to DOCKERD_START_TIMEOUT (60) seconds;
#   3. verifies that a container on the default bridge network can publish a port that is
#      reachable from the host on 127.0.0.1 (Testcontainers relies on exactly that).
#      If the default daemon fails that check and the log shows iptables (nf_tables) errors,
#      it retries with iptables-legacy put first on dockerd's PATH (no host-wide change).
#      `--iptables=false` is never used: it silently breaks port publishing.
#
# Environment:
#   DOCKERD_FLAGS          extra flags for dockerd (default: none; the plain defaults work on
#                          Debian 12 with the nf_tables iptables backend)
#   DOCKERD_START_TIMEOUT  seconds to wait for the daemon (default 60)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd)"
CACHE_DIR="${REPO_ROOT}/.cache"
DOCKERD_LOG="${CACHE_DIR}/dockerd.log"
START_TIMEOUT="${DOCKERD_START_TIMEOUT:-60}"
PROBE_IMAGE="pos-local/probe:busybox"

log() { echo "[docker] $*" >&2; }
die() { echo "[docker] ERROR: $*" >&2; exit 1; }

VERIFY=0
for arg in "$@"; do
  case "$arg" in
    --verify) VERIFY=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument: $arg (usage: $0 [--verify])" ;;
  esac
done

docker_answers() { command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------------
# Probe: run a container that publishes a port on a random host port, fetch from 127.0.0.1.
# ---------------------------------------------------------------------------------------------
ensure_probe_image() {
  docker image inspect "$PROBE_IMAGE" >/dev/null 2>&1 && return 0
  local bb
  bb="$(command -v busybox || true)"
  if [[ -z "$bb" ]] || ! file_is_static "$bb"; then
    [[ -x /bin/busybox ]] && file_is_static /bin/busybox && bb=/bin/busybox
  fi
  if [[ -z "$bb" ]] || ! file_is_static "$bb"; then
    log "cannot verify port publishing: a statically linked busybox is needed (apt-get install busybox-static)"
    return 1
  fi
  local tmp
  tmp="$(mktemp -d)"
  mkdir -p "$tmp/bin" "$tmp/www" "$tmp/tmp"
  cp "$bb" "$tmp/bin/busybox"
  echo "pos-probe-ok" >"$tmp/www/index.html"
  tar --numeric-owner -C "$tmp" -c . |
    docker import -c 'CMD ["/bin/busybox","httpd","-f","-p","8080","-h","/www"]' -c 'EXPOSE 8080' - "$PROBE_IMAGE" >/dev/null
  rm -rf "$tmp"
}

file_is_static() {
  # ldd prints "not a dynamic executable" (exit 1) for static binaries
  ! ldd "$1" >/dev/null 2>&1
}

http_get_localhost() { # port -> body on stdout
  local port="$1" resp
  # shellcheck disable=SC2016 # $0 is expanded by the inner bash
  resp="$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"; printf "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3; cat <&3' "$port" 2>/dev/null)" || return 1
  printf '%s' "$resp"
}

verify_port_publishing() {
  ensure_probe_image || return 1
  local cid port ok=1
  cid="$(docker run -d --rm -p 8080 "$PROBE_IMAGE" 2>&1)" || { log "docker run failed: $cid"; return 1; }
  for _ in $(seq 1 50); do
    port="$(docker port "$cid" 8080/tcp 2>/dev/null | sed -n 's/^0\.0\.0\.0:\([0-9]*\)$/\1/p' | head -n1)"
    [[ -n "$port" ]] || port="$(docker port "$cid" 8080/tcp 2>/dev/null | head -n1 | sed 's/.*://')"
    if [[ -n "$port" ]] && http_get_localhost "$port" | grep -q pos-probe-ok; then ok=0; break; fi
    sleep 0.2
  done
  if [[ $ok -ne 0 ]]; then
    log "container started but published port ${port:-?} is not reachable on 127.0.0.1"
  fi
  docker rm -f "$cid" >/dev/null 2>&1 || true
  return $ok
}

# ---------------------------------------------------------------------------------------------
# Fast path
# ---------------------------------------------------------------------------------------------
if docker_answers; then
  if [[ $VERIFY -eq 1 ]]; then
    verify_port_publishing || die "docker answers, but published ports are not reachable from the host (see above)"
  fi
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# Can we fix it ourselves?
# ---------------------------------------------------------------------------------------------
os_id=""
if [[ -r /etc/os-release ]]; then
  # shellcheck disable=SC1091
  os_id="$(. /etc/os-release; echo "${ID:-} ${ID_LIKE:-}")"
fi

if [[ -S /var/run/docker.sock ]] && [[ "$(id -u)" -ne 0 ]] && ! [[ -w /var/run/docker.sock ]]; then
  die "a Docker daemon seems to run (/var/run/docker.sock exists) but this user may not use it.
  Fix: add yourself to the docker group (sudo usermod -aG docker \"\$USER\", then log in again)
  or run as root."
fi
if [[ "$(id -u)" -ne 0 ]]; then
  die "no Docker daemon answers (\`docker info\` failed) and this script can only install/start one as root.
  Fix: run it as root (sudo $0), or install and start Docker yourself:
    Debian/Ubuntu: sudo apt-get install docker.io docker-compose debootstrap busybox-static && sudo dockerd &
    other systems: https://docs.docker.com/engine/install/"
fi
if ! command -v apt-get >/dev/null 2>&1 || [[ " $os_id " != *" debian "* && " $os_id " != *" ubuntu "* ]]; then
  die "no Docker daemon answers and this is not a Debian/Ubuntu system with apt (os: ${os_id:-unknown}).
  Fix: install Docker Engine (dockerd + docker CLI + docker-compose) and debootstrap with your package manager, start dockerd, then re-run."
fi

# ---------------------------------------------------------------------------------------------
# Install missing packages
# ---------------------------------------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }
apt_has_candidate() { local c; c="$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p')"; [[ -n "$c" && "$c" != "(none)" ]]; }

cgroups_mounted() { grep -qE '^[^ ]+ /sys/fs/cgroup(/[^ ]*)? cgroup2? ' /proc/self/mounts; }
apparmor_enabled() { [[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" == Y ]]; }

wanted=(docker.io docker-compose debootstrap busybox-static iptables)
# dockerd needs apparmor_parser when the kernel has AppArmor enabled (docker-default profile)
apparmor_enabled && wanted+=(apparmor)
# without systemd nobody may have mounted the cgroup hierarchies
cgroups_mounted || wanted+=(cgroupfs-mount)
missing=()
for p in "${wanted[@]}"; do
  pkg_installed "$p" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  need_update=0
  for p in "${missing[@]}"; do apt_has_candidate "$p" || need_update=1; done
  if [[ $need_update -eq 1 ]]; then
    log "apt-get update"
    apt-get update -qq >/dev/null || die "apt-get update failed (is a Debian/Ubuntu mirror reachable?)"
  fi
  log "installing: ${missing[*]}"
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>"${TMPDIR:-/tmp}/ensure-docker-apt.err"; then
    # stale lists (404 on a superseded .deb): refresh once and retry
    apt-get update -qq >/dev/null || true
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>"${TMPDIR:-/tmp}/ensure-docker-apt.err" ||
      { cat "${TMPDIR:-/tmp}/ensure-docker-apt.err" >&2; die "apt-get install ${missing[*]} failed"; }
  fi
  rm -f "${TMPDIR:-/tmp}/ensure-docker-apt.err"
  # the package's init script may already have started a daemon
  if docker_answers; then
    verify_port_publishing || die "dockerd was started by the package, but published ports are not reachable from 127.0.0.1"
    exit 0
  fi
fi
command -v dockerd >/dev/null 2>&1 || die "dockerd not found even after installing docker.io"
if ! cgroups_mounted; then
  log "mounting cgroup hierarchies (cgroupfs-mount)"
  cgroupfs-mount >/dev/null 2>&1 || die "no cgroup filesystem is mounted and cgroupfs-mount failed"
fi
command -v docker >/dev/null 2>&1 || die "docker CLI not found even after installing docker.io"

# ---------------------------------------------------------------------------------------------
# Start dockerd (background, no systemd)
# ---------------------------------------------------------------------------------------------
mkdir -p "$CACHE_DIR"
DOCKERD_PID=""

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

clear_stale_pidfiles() {
  local f pid
  for f in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
    [[ -f "$f" ]] || continue
    pid="$(cat "$f" 2>/dev/null || true)"
    if ! pid_alive "$pid"; then rm -f "$f"; fi
  done
}

stop_our_dockerd() {
  pid_alive "$DOCKERD_PID" || return 0
  kill "$DOCKERD_PID" 2>/dev/null || true
  for _ in $(seq 1 50); do pid_alive "$DOCKERD_PID" || return 0; sleep 0.2; done
  kill -9 "$DOCKERD_PID" 2>/dev/null || true
}

start_dockerd() { # $1 = label, $2 = PATH prefix (may be empty); extra flags from DOCKERD_FLAGS
  local label="$1" path_prefix="$2"
  clear_stale_pidfiles
  if [[ -f /var/run/docker.pid ]]; then
    die "another dockerd (pid $(cat /var/run/docker.pid)) is running but does not answer \`docker info\`; stop it first"
  fi
  log "starting dockerd (${label}); log: ${DOCKERD_LOG}"
  {
    echo "===== $(date -u +%FT%TZ) ensure-docker: starting dockerd (${label}) flags: ${DOCKERD_FLAGS:-<none>}"
  } >>"$DOCKERD_LOG"
  local -a flags=()
  # shellcheck disable=SC2206
  [[ -n "${DOCKERD_FLAGS:-}" ]] && flags=(${DOCKERD_FLAGS})
  local -a launcher=(nohup)
  command -v setsid >/dev/null 2>&1 && launcher=(setsid nohup)
  PATH="${path_prefix:+${path_prefix}:}${PATH}" "${launcher[@]}" dockerd "${flags[@]}" \
    </dev/null >>"$DOCKERD_LOG" 2>&1 &
  DOCKERD_PID=$!
  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if docker_answers; then return 0; fi
    pid_alive "$DOCKERD_PID" || break
    sleep 0.5
  done
  log "dockerd did not come up within ${START_TIMEOUT}s; last log lines:"
  tail -n 15 "$DOCKERD_LOG" >&2 || true
  stop_our_dockerd
  return 1
}

try_attempt() { # label, path_prefix
  start_dockerd "$1" "$2" || return 1
  if verify_port_publishing; then
    return 0
  fi
  log "port publishing check failed with ${1}; stopping this dockerd"
  stop_our_dockerd
  return 1
}

if try_attempt "default flags" ""; then
  exit 0
fi

# Fallback: kernels/sandboxes where the nf_tables backend of iptables fails but legacy works.
if command -v iptables-legacy >/dev/null 2>&1 && grep -qiE 'iptables|nf_tables|NAT chain' "$DOCKERD_LOG"; then
  shim="${CACHE_DIR}/iptables-legacy-shim"
  mkdir -p "$shim"
  for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    src="$(command -v "${t/iptables/iptables-legacy}" 2>/dev/null || true)"
    [[ -n "$src" ]] && ln -sf "$src" "$shim/$t"
  done
  if try_attempt "iptables-legacy backend" "$shim"; then
    log "NOTE: dockerd needed the iptables-legacy backend on this machine"
    exit 0
  fi
fi

die "could not get a working Docker daemon (see ${DOCKERD_LOG}).
  Check: kernel support for overlayfs, bridge and iptables NAT; try DOCKERD_FLAGS (e.g. --storage-driver=vfs)."
