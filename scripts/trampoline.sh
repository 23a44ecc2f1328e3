#!/usr/bin/env bash
# Print the machine code of the exec trampoline for ARCH (default: this
# machine's) as hex, from src/rs_docker/runtime/process/trampoline/ARCH.S, for the
# CODE table in src/rs_docker/runtime/process/trampoline/__init__.py. Needs GNU as
# and objcopy for that architecture (binutils, or binutils-ARCH-linux-gnu).
set -euo pipefail
arch=${1:-$(uname -m)}
src="$(dirname "$0")/../src/rs_docker/runtime/process/trampoline/$arch.S"
prefix=""
[ "$arch" = "$(uname -m)" ] || prefix="$arch-linux-gnu-"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${prefix}as" -o "$tmp/t.o" "$src"
"${prefix}objcopy" -O binary -j .text "$tmp/t.o" "$tmp/t.bin"
od -An -v -tx1 "$tmp/t.bin" | tr -d ' \n'
echo
