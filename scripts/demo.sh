#!/usr/bin/env bash
# `make demo`: rs-docker end to end, offline, as root. Starts Debian's
# docker-registry on a free loopback port, pushes an image built here from
# busybox-static, and runs containers from it with a throw-away store.
# Needs `make deps venv` first (the Makefile's demo target does that).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=.venv/bin/python
RSD=.venv/bin/rs-docker

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (namespaces, mounts, cgroups)" >&2; exit 1; }
[ -x "$RSD" ] || { echo "demo: $RSD missing: run 'make deps venv' first" >&2; exit 1; }

WORK=$(mktemp -d /tmp/rs-docker-demo.XXXXXX)
STORE="$WORK/store"

cleanup() {
  "$PY" -m tests.fixtures.registry stop --pid-file "$WORK/registry.pid" || true
  # Never delete through a mount a failed run may have left behind.
  awk -v w="$WORK/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

HOST=$("$PY" -m tests.fixtures.registry serve --data-dir "$WORK/registry" \
         --pid-file "$WORK/registry.pid")
IMAGE="$HOST/demo/busybox:latest"
echo "registry: docker-registry on http://$HOST (storage in $WORK/registry)"
DIGEST=$("$PY" -m tests.fixtures.images push-busybox "$IMAGE")
echo "pushed:   $IMAGE ($DIGEST), built from /bin/busybox"

step rs-docker run --rm "$IMAGE" echo "hello world"
"$RSD" --root "$STORE" run --rm "$IMAGE" echo "hello world"

# PID 1 in its own PID namespace, its own hostname (UTS namespace), and ps
# sees only the container's processes (a fresh /proc).
step rs-docker run --rm "$IMAGE" sh -c 'echo "pid $$ on $(hostname)"; ps'
"$RSD" --root "$STORE" run --rm "$IMAGE" sh -c 'echo "pid $$ on $(hostname)"; ps'

# The exit status of the command is rs-docker's (Docker's rule).
step rs-docker run --rm "$IMAGE" sh -c 'exit 3'
status=0
"$RSD" --root "$STORE" run --rm "$IMAGE" sh -c 'exit 3' || status=$?
echo "exit status: $status"

# Networking (root): a user network with DNS, two containers talking by
# name, and a port published on the host's loopback.
R="$RSD --root $STORE"
WEB='mkdir /www && echo "hello from web" > /www/index.html && httpd -f -p 8080 -h /www'
step rs-docker network create demo-net
$R network create demo-net
step rs-docker run -d --network demo-net --name web -p 127.0.0.1:18080:8080 "$IMAGE" sh -c "'$WEB'"
$R run -d --network demo-net --name web -p 127.0.0.1:18080:8080 "$IMAGE" sh -c "$WEB"
step rs-docker run --rm --network demo-net "$IMAGE" wget -q -O - http://web:8080/
for _ in $(seq 1 25); do
  $R run --rm --network demo-net "$IMAGE" wget -q -O - http://web:8080/ 2>/dev/null && break
  sleep 0.2
done
step "$PY" -c "urllib.request.urlopen('http://127.0.0.1:18080/')  # from the host"
"$PY" -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:18080/', timeout=5).read().decode(), end='')"
$R rm -f web >/dev/null
$R network rm demo-net >/dev/null
