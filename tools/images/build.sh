#!/usr/bin/env bash
# Build the local container images used by tests and dev tooling, without any container registry.
#
#   tools/images/build.sh [kafka|postgres|node|prometheus|all]     (default: all; prometheus only when named)
#
# Result: <repo>/.cache/images.env with KAFKA_IMAGE=..., POSTGRES_IMAGE=..., NODE_IMAGE=...
# (plain KEY=value lines: `set -a; . .cache/images.env; set +a` in bash, or any dotenv loader).
#
# How: `debootstrap --variant=minbase $DEBIAN_SUITE` once (cached as a tarball under
# .cache/images/), then per image: unpack a copy, `apt-get install` Debian packages inside it via
# chroot, run the image's hooks (tools/images/<name>/image.conf), strip docs/apt lists, and
# `docker import` it with ENV/ENTRYPOINT/CMD/... set through `--change`.
#
# Cache rule: every image is tagged pos-local/<name>:<version>-<hash8>, where the hash covers the
# files under tools/images/base/ and tools/images/<name>/, the versions.env values the image uses
# (RECIPE_VARS in image.conf) and BUILD_LOGIC_VERSION below. If that tag exists locally, nothing is
# built. Bump BUILD_LOGIC_VERSION when you change the generic build logic in this file.
#
# Overrides: if KAFKA_IMAGE / POSTGRES_IMAGE / NODE_IMAGE is set in the environment, that image is
# used as is (pulled if not present locally) and not built. Values in the pos-local/ namespace are
# this script's own output (e.g. re-exported from an old images.env) and are NOT treated as
# overrides: the current recipe's tag is resolved/built instead.
#
# Env knobs: IMAGES_FORCE_REBUILD=1 (ignore caches, rebuild base + selected images),
#            DEBIAN_MIRROR / DEBIAN_SECURITY_MIRROR (default: taken from the host's apt sources,
#            else deb.debian.org).
set -euo pipefail

# Bump when the generic logic below changes in a way that affects image contents.
BUILD_LOGIC_VERSION=1

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd)"
CACHE_ROOT="${REPO_ROOT}/.cache"
CACHE="${CACHE_ROOT}/images"
ENV_FILE="${CACHE_ROOT}/images.env"
WORK="${CACHE}/work"
DEB_CACHE="${CACHE}/debs"
ALL_IMAGES=(postgres kafka node)
# Built only when named (`build.sh prometheus`): the compose profile `observability` runs it.
OPTIONAL_IMAGES=(prometheus)

log() { echo "[images] $*" >&2; }
die() { echo "[images] ERROR: $*" >&2; exit 1; }

usage() { echo "usage: $0 [kafka|postgres|node|prometheus|all]" >&2; exit 2; }
[[ $# -le 1 ]] || usage
TARGET="${1:-all}"
case "$TARGET" in
  all) SELECTED=("${ALL_IMAGES[@]}") ;;
  kafka|postgres|node|prometheus) SELECTED=("$TARGET") ;;
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) usage ;;
esac

# shellcheck source=versions.env
. "${SCRIPT_DIR}/versions.env"

# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
T0=$SECONDS
elapsed() { echo "$((SECONDS - ${1:-$T0}))s"; }

run_quiet() { # label, cmd...  -> runs cmd, shows its output only on failure
  local label="$1"; shift
  local out
  out="$(mktemp)"
  if ! "$@" >"$out" 2>&1; then
    tail -n 40 "$out" >&2
    rm -f "$out"
    die "${label} failed (command: $*)"
  fi
  rm -f "$out"
}

upper() { printf '%s' "$1" | tr '[:lower:]' '[:upper:]'; }

# Unmount everything below $1 (deepest first). Never follows into the host.
umount_below() {
  local root m
  root="$(readlink -f "$1")"
  [[ -n "$root" && "$root" != "/" ]] || return 0
  while read -r m; do
    [[ -n "$m" ]] || continue
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done < <(awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
}

safe_rm_tree() {
  local dir="$1"
  [[ -e "$dir" ]] || return 0
  umount_below "$dir"
  local root
  root="$(readlink -f "$dir")"
  if awk -v r="$root" '$2 == r || index($2, r "/") == 1 { found=1 } END { exit !found }' /proc/self/mounts; then
    die "refusing to delete ${dir}: something is still mounted below it"
  fi
  rm -rf --one-file-system "$dir"
}

cleanup_on_exit() {
  local rc=$?
  [[ -d "$WORK" ]] && umount_below "$WORK"
  if [[ $rc -ne 0 && -d "$WORK" ]]; then
    log "build failed; partial root filesystems left in ${WORK} (removed on the next run)"
  fi
}
trap cleanup_on_exit EXIT

chroot_run() { # rootfs, cmd...
  local rootfs="$1"; shift
  chroot "$rootfs" /usr/bin/env -i \
    HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true LANG=C.UTF-8 \
    "$@"
}

# ----------------------------------------------------------------------------------------------
# recipe hashing / naming
# ----------------------------------------------------------------------------------------------
hash_files() { # dirs/files relative to SCRIPT_DIR...
  (cd "$SCRIPT_DIR" && find "$@" -type f ! -name '*.swp' ! -name '*~' ! -name '.#*' -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum)
}

base_hash() {
  { echo "logic=${BUILD_LOGIC_VERSION}"; echo "DEBIAN_SUITE=${DEBIAN_SUITE}"; hash_files base; } |
    sha256sum | cut -c1-64
}

load_recipe() { # name -> sets IMAGE_* vars and hook functions from <name>/image.conf
  local name="$1"
  unset IMAGE_REPO IMAGE_VERSION RECIPE_VARS IMAGE_PACKAGES IMAGE_CHANGES
  unset -f image_pre_install image_post_install image_smoke_test 2>/dev/null || true
  RECIPE_DIR="${SCRIPT_DIR}/${name}"
  [[ -f "${RECIPE_DIR}/image.conf" ]] || die "missing ${RECIPE_DIR}/image.conf"
  # shellcheck disable=SC1090
  . "${RECIPE_DIR}/image.conf"
  : "${IMAGE_REPO:?image.conf must set IMAGE_REPO}" "${IMAGE_VERSION:?image.conf must set IMAGE_VERSION}"
}

recipe_hash() { # name (recipe loaded)
  local name="$1" v
  {
    echo "logic=${BUILD_LOGIC_VERSION}"
    for v in DEBIAN_SUITE "${RECIPE_VARS[@]}"; do echo "${v}=${!v}"; done
    hash_files base "$name"
  } | sha256sum | cut -c1-64
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# ----------------------------------------------------------------------------------------------
# prerequisites
# ----------------------------------------------------------------------------------------------
ensure_build_tools() {
  [[ "$(id -u)" -eq 0 ]] || die "building images needs root (debootstrap + chroot). Run: sudo $0 ${TARGET}
  or use prebuilt images by exporting KAFKA_IMAGE / POSTGRES_IMAGE / NODE_IMAGE (see tools/images/README.md)."
  local missing=() p
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || missing+=(debian-archive-keyring)
  command -v flock >/dev/null 2>&1 || missing+=(util-linux)
  if [[ -n "${NEEDS_BUILD[kafka]:-}" ]]; then
    command -v mvn >/dev/null 2>&1 || missing+=(maven)
  fi
  if [[ -n "${NEEDS_BUILD[node]:-}" ]]; then
    command -v npm >/dev/null 2>&1 || missing+=(npm)
  fi
  [[ ${#missing[@]} -eq 0 ]] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing tools: ${missing[*]} (install them; apt-get is not available here)"
  log "installing build tools: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  for p in "${missing[@]}"; do
    if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      run_quiet "apt-get update" apt-get update -qq
      break
    fi
  done
  run_quiet "apt-get install ${missing[*]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

detect_mirrors() {
  local m=""
  if [[ -z "${DEBIAN_MIRROR:-}" ]]; then
    m="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*\(http[^[:space:]]*\/debian\)\/\{0,1\}[[:space:]]*$/\1/p' | head -n1)"
    [[ -n "$m" ]] || m="$(sed -n 's/^deb[[:space:]]\{1,\}\(http[^[:space:]]*\/debian\)\/\{0,1\}[[:space:]].*/\1/p' /etc/apt/sources.list 2>/dev/null | head -n1)"
    DEBIAN_MIRROR="${m:-http://deb.debian.org/debian}"
  fi
  if [[ -z "${DEBIAN_SECURITY_MIRROR:-}" ]]; then
    m="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*\(http[^[:space:]]*\/debian-security\)\/\{0,1\}[[:space:]]*$/\1/p' | head -n1)"
    DEBIAN_SECURITY_MIRROR="${m:-http://deb.debian.org/debian-security}"
  fi
}

# ----------------------------------------------------------------------------------------------
# base root filesystem (debootstrap, cached as a tarball)
# ----------------------------------------------------------------------------------------------
BASE_TAR=""
ensure_base() {
  [[ -n "$BASE_TAR" ]] && return 0
  local h
  h="$(base_hash)"
  BASE_TAR="${CACHE}/rootfs-${DEBIAN_SUITE}-minbase-${h:0:12}.tar"
  if [[ -f "$BASE_TAR" && "${IMAGES_FORCE_REBUILD:-0}" != 1 ]]; then
    return 0
  fi
  detect_mirrors
  local t=$SECONDS dir="${WORK}/base"
  log "debootstrap --variant=minbase ${DEBIAN_SUITE} (mirror ${DEBIAN_MIRROR}) ..."
  safe_rm_tree "$dir"
  mkdir -p "$dir"
  run_quiet "debootstrap" debootstrap --variant=minbase \
    --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    "$DEBIAN_SUITE" "$dir" "$DEBIAN_MIRROR"
  # apt/dpkg policy for all images
  install -m 0644 "${SCRIPT_DIR}/base/dpkg-nodoc.cfg" "$dir/etc/dpkg/dpkg.cfg.d/01-pos-nodoc"
  install -m 0644 "${SCRIPT_DIR}/base/apt.conf" "$dir/etc/apt/apt.conf.d/01-pos"
  rm -f "$dir/etc/apt/sources.list"
  cat >"$dir/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: ${DEBIAN_MIRROR}
Suites: ${DEBIAN_SUITE} ${DEBIAN_SUITE}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_SECURITY_MIRROR}
Suites: ${DEBIAN_SUITE}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cp -L /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
  # package lists are kept in the cached base (images drop them), so image builds skip `apt-get update`
  run_quiet "apt-get update (base)" chroot_run "$dir" apt-get update -qq
  run_quiet "apt-get upgrade (base)" chroot_run "$dir" apt-get -y -qq -o Dpkg::Options::=--force-confold dist-upgrade
  chroot_run "$dir" apt-get clean
  rm -rf "$dir/var/log/"* "$dir/var/cache/debconf/"*-old "$dir/var/lib/dpkg/"*-old
  mkdir -p "$CACHE"
  tar --numeric-owner --xattrs -C "$dir" -cf "${BASE_TAR}.tmp" .
  mv -f "${BASE_TAR}.tmp" "$BASE_TAR"
  # old base tarballs
  find "$CACHE" -maxdepth 1 -name "rootfs-*.tar" ! -path "$BASE_TAR" -delete
  safe_rm_tree "$dir"
  log "base rootfs ready ($(du -h "$BASE_TAR" | cut -f1), $(elapsed "$t"))"
}

# ----------------------------------------------------------------------------------------------
# one image
# ----------------------------------------------------------------------------------------------
apt_install_in() { # rootfs, packages...
  local rootfs="$1"; shift
  [[ $# -gt 0 ]] || return 0
  local args=(apt-get install -y -qq -o Dpkg::Options::=--force-confold "$@")
  if ! chroot_run "$rootfs" "${args[@]}" >"${rootfs}.apt.log" 2>&1; then
    # stale package lists (superseded .deb -> 404): refresh once and retry
    run_quiet "apt-get update" chroot_run "$rootfs" apt-get update -qq
    if ! chroot_run "$rootfs" "${args[@]}" >"${rootfs}.apt.log" 2>&1; then
      tail -n 40 "${rootfs}.apt.log" >&2
      die "apt-get install $* failed"
    fi
  fi
  rm -f "${rootfs}.apt.log"
}

strip_rootfs() { # rootfs
  local r="$1"
  chroot_run "$r" apt-get clean
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/debconf/*-old \
    "$r"/var/lib/dpkg/*-old "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/groff/* \
    "$r"/usr/share/lintian/* "$r"/usr/share/linda/* "$r"/tmp/* "$r"/var/tmp/* "$r"/root/.cache \
    "$r"/root/.wget-hsts "$r"/usr/sbin/policy-rc.d
  find "$r/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete 2>/dev/null || true
  find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  find "$r/var/log" -type f -delete 2>/dev/null || true
  find "$r" -xdev -name '__pycache__' -type d -prune -exec rm -rf {} + 2>/dev/null || true
  : >"$r/etc/resolv.conf"
  [[ -f "$r/etc/machine-id" ]] && : >"$r/etc/machine-id"
  return 0
}

build_one() { # name (recipe loaded), final tag, hash
  local name="$1" tag="$2" hash="$3" t=$SECONDS
  ensure_base
  local rootfs="${WORK}/${name}"
  log "building ${tag} ..."
  safe_rm_tree "$rootfs"
  mkdir -p "$rootfs"
  tar --numeric-owner --xattrs -C "$rootfs" -xpf "$BASE_TAR"
  mount -t proc proc "$rootfs/proc"
  cp -L /etc/resolv.conf "$rootfs/etc/resolv.conf" 2>/dev/null || true
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 0755 "$rootfs/usr/sbin/policy-rc.d"

  # reuse downloaded .debs across builds
  mkdir -p "$DEB_CACHE"
  find "$DEB_CACHE" -maxdepth 1 -name '*.deb' -exec cp -l -t "$rootfs/var/cache/apt/archives/" {} + 2>/dev/null ||
    find "$DEB_CACHE" -maxdepth 1 -name '*.deb' -exec cp -t "$rootfs/var/cache/apt/archives/" {} + 2>/dev/null || true

  # shellcheck disable=SC2034 # used by the image.conf hooks
  ROOTFS="$rootfs"
  if declare -F image_pre_install >/dev/null; then image_pre_install; fi
  apt_install_in "$rootfs" "${IMAGE_PACKAGES[@]}"
  if declare -F image_post_install >/dev/null; then image_post_install; fi

  find "$rootfs/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -exec cp -n -t "$DEB_CACHE/" {} + 2>/dev/null || true
  strip_rootfs "$rootfs"
  umount_below "$rootfs"

  local -a changes=(--change "LABEL org.opencontainers.image.title=${IMAGE_REPO}"
    --change "LABEL pos.recipe-hash=${hash}" --change "LABEL pos.image-version=${IMAGE_VERSION}")
  local c
  for c in "${IMAGE_CHANGES[@]}"; do changes+=(--change "$c"); done
  local tmp_tag="${IMAGE_REPO}:building-${hash:0:8}"
  tar --numeric-owner --xattrs -C "$rootfs" --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' -c . |
    docker import "${changes[@]}" --message "tools/images/build.sh ${name} ${hash:0:8}" - "$tmp_tag" >/dev/null ||
    die "docker import of ${name} failed"

  if declare -F image_smoke_test >/dev/null; then
    if ! image_smoke_test "$tmp_tag"; then
      docker rmi -f "$tmp_tag" >/dev/null 2>&1 || true
      die "smoke test of ${name} failed"
    fi
  fi
  local prev_id
  prev_id="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)" # forced rebuild
  docker tag "$tmp_tag" "$tag"
  docker rmi "$tmp_tag" >/dev/null
  [[ -n "$prev_id" ]] && { docker rmi "$prev_id" >/dev/null 2>&1 || true; }
  safe_rm_tree "$rootfs"

  # drop older builds of this image (ignore ones still used by containers)
  local old
  while read -r old; do
    [[ -n "$old" && "$old" != "$tag" ]] || continue
    docker rmi "$old" >/dev/null 2>&1 || true
  done < <(docker images "${IMAGE_REPO}" --format '{{.Repository}}:{{.Tag}}' 2>/dev/null)
  log "built ${tag} ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1000/1000}'), $(elapsed "$t"))"
}

# ----------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------
"${SCRIPT_DIR}/../infra/ensure-docker.sh" || die "no usable Docker daemon (tools/infra/ensure-docker.sh failed)"
mkdir -p "$CACHE"

declare -A RESOLVED=()
declare -A NEEDS_BUILD=()

# pass 1: overrides and cache hits (no root needed)
for name in "${SELECTED[@]}"; do
  var="$(upper "$name")_IMAGE"
  override="${!var:-}"
  if [[ -n "$override" && "$override" != pos-local/* ]]; then
    if ! image_exists "$override"; then
      log "${var}=${override}: pulling"
      docker pull -q "$override" >/dev/null || die "${var}=${override} is not available locally and docker pull failed.
  Unset ${var} to build the local image instead, or load it with docker load."
    fi
    RESOLVED[$name]="$override"
    continue
  fi
  load_recipe "$name"
  h="$(recipe_hash "$name")"
  tag="${IMAGE_REPO}:${IMAGE_VERSION}-${h:0:8}"
  if [[ -n "$override" && "$override" != "$tag" ]]; then
    log "ignoring ${var}=${override} (an older local build); using the current recipe: ${tag}"
  fi
  if image_exists "$tag" && [[ "${IMAGES_FORCE_REBUILD:-0}" != 1 ]]; then
    RESOLVED[$name]="$tag"
  else
    NEEDS_BUILD[$name]="$tag $h"
  fi
done

if [[ ${#NEEDS_BUILD[@]} -gt 0 ]]; then
  ensure_build_tools
  exec 9>"${CACHE}/.lock"
  if ! flock -n 9; then
    log "waiting for another build.sh to finish (lock ${CACHE}/.lock) ..."
    flock -w 3600 9 || die "timed out waiting for the build lock"
  fi
  for name in "${SELECTED[@]}"; do
    [[ -n "${NEEDS_BUILD[$name]:-}" ]] || continue
    read -r tag h <<<"${NEEDS_BUILD[$name]}"
    load_recipe "$name"
    if image_exists "$tag" && [[ "${IMAGES_FORCE_REBUILD:-0}" != 1 ]]; then
      RESOLVED[$name]="$tag" # built by a concurrent run while we waited
      continue
    fi
    build_one "$name" "$tag" "$h"
    RESOLVED[$name]="$tag"
  done
  safe_rm_tree "$WORK"
fi

# images.env: every image we can name right now (selected ones + other current builds / overrides)
tmp_env="$(mktemp "${CACHE_ROOT}/images.env.XXXXXX")"
{
  echo "# Generated by tools/images/build.sh - do not edit. Container images for tests/dev."
  for name in "${ALL_IMAGES[@]}" "${OPTIONAL_IMAGES[@]}"; do
    var="$(upper "$name")_IMAGE"
    val="${RESOLVED[$name]:-}"
    if [[ -z "$val" ]]; then
      override="${!var:-}"
      if [[ -n "$override" && "$override" != pos-local/* ]]; then
        val="$override"
      else
        load_recipe "$name"
        h="$(recipe_hash "$name")"
        tag="${IMAGE_REPO}:${IMAGE_VERSION}-${h:0:8}"
        image_exists "$tag" && val="$tag"
      fi
    fi
    [[ -n "$val" ]] && echo "${var}=${val}"
  done
} >"$tmp_env"
chmod 0644 "$tmp_env"
mv -f "$tmp_env" "$ENV_FILE"

if [[ ${#NEEDS_BUILD[@]} -gt 0 ]]; then
  log "done in $(elapsed); wrote ${ENV_FILE#"${REPO_ROOT}"/}"
fi
