#!/usr/bin/env bash
# Run rs-docker inside Docker (macOS, Windows, or any host with Docker):
#   ./rs-docker.sh run ubuntu:latest echo hi
# Builds the image from this checkout when it is missing (RS_DOCKER_REBUILD=1
# forces it). The store is the named volume rs-docker-store, so pulled images
# persist between calls. --privileged: rs-docker creates namespaces, mounts
# overlayfs and writes cgroups, which Docker's default confinement forbids.
set -euo pipefail
image=${RS_DOCKER_IMAGE:-rs-docker:local}
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${RS_DOCKER_REBUILD:-}" ] || ! docker image inspect "$image" >/dev/null 2>&1; then
  docker build -q -t "$image" "$here" >&2
fi
flags=(--rm -i --privileged --cgroupns=host -v rs-docker-store:/var/lib/rs-docker)
[ -t 0 ] && [ -t 1 ] && flags+=(-t)
exec docker run "${flags[@]}" "$image" "$@"
