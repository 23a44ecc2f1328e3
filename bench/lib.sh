# shellcheck shell=bash
# Settings and helpers shared by bench/setup, bench/run and bench/stop.
# Sourced, not run. Every path can be moved with an environment variable.
#
#   $CACHE_DIR/oci     OCI image layout holding the test images (built once; the
#                      layout format and tag names match ../shared/bench, so either
#                      harness can reuse the other's cache)
#   $STATE_DIR         throw-away state: registry storage, podman config + roots,
#                      rs-docker store roots, the crun bundle, pid files
#   $RESULTS_DIR       one directory per run (gitignored), `latest` -> newest

set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT_DIR="$(dirname "$BENCH_DIR")"
CACHE_DIR="${RS_BENCH_CACHE:-/var/tmp/rs-bench-cache}"
LAYOUT="$CACHE_DIR/oci"
STATE_DIR="${RS_BENCH_STATE:-/var/tmp/rs-docker-bench}"
RESULTS_DIR="${RS_BENCH_RESULTS:-$BENCH_DIR/results}"

# Our own loopback registry: not 5000, which ../shared/bench uses.
REGISTRY_PORT="${RS_BENCH_PORT:-5055}"
REGISTRY_ADDR="127.0.0.1:$REGISTRY_PORT"
REGISTRY_PID="$STATE_DIR/registry.pid"

BUSYBOX_REF="$REGISTRY_ADDR/busybox:latest"
DEBIAN_REF="$REGISTRY_ADDR/debian:bookworm"
DEBIAN_PYTHON_REF="$REGISTRY_ADDR/debian-python:bookworm"

# The bench's own helpers (memory.py, summarize.py, the busybox builder) need
# only the standard library.
BENCH_PYTHON="$(command -v /usr/bin/python3 || command -v python3)"

# podman reads these instead of /etc/containers (written by bench/setup), so
# the host's podman configuration is left alone.
PODMAN_DIR="$STATE_DIR/podman"
export CONTAINERS_CONF="$PODMAN_DIR/containers.conf"
export CONTAINERS_STORAGE_CONF="$PODMAN_DIR/storage.conf"
export CONTAINERS_REGISTRIES_CONF="$PODMAN_DIR/registries.conf"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

registry_up() { curl -fsS -o /dev/null "http://$REGISTRY_ADDR/v2/" 2>/dev/null; }

# image_pushed REF: the registry answers for REF's manifest.
image_pushed() {
  local repo=${1#*/}; local name=${repo%:*} tag=${repo##*:}
  curl -fsS -o /dev/null "http://$REGISTRY_ADDR/v2/$name/manifests/$tag" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' 2>/dev/null
}

# layout_tag_exists TAG
layout_tag_exists() { [ -f "$LAYOUT/index.json" ] && umoci ls --layout "$LAYOUT" | grep -qx "$1"; }

# crun 1.8 refuses cgroup "hybrid" mode while cgroup2 (mounted at
# /sys/fs/cgroup/unified) still holds a controller (hugetlb here): "cgroups in
# hybrid mode not supported, drop all controllers from cgroupv2". The wrapper
# runs a command in a private mount namespace where that mount is gone, so crun
# sees pure cgroup v1; the host's mounts are untouched (mount_namespaces(7)).
V1NS=(unshare --mount --propagation private -- sh -c
      'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh)

mkdir -p "$STATE_DIR"
