#!/usr/bin/env bash
# The unit suite on every CPython newer than the venv's that this machine has
# (pyenv's versions, python3.N on PATH): pyproject.toml claims >= 3.11, and
# src/rs_docker/cpython.py's fallbacks serve where a private module changed.
# Each interpreter gets its own venv, .venv-pyX.Y; none found is not an error.
set -euo pipefail
cd "$(dirname "$0")/.."
own=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
declare -A seen=([$own]=1)
found=0
for py in /root/.pyenv/versions/3.*/bin/python3 $(compgen -c python3. | sort -u); do
  command -v "$py" >/dev/null 2>&1 || continue
  ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2] if sys.version_info >= (3, 11) else "old")' 2>/dev/null) || continue
  [ -n "$ver" ] && [ "$ver" != old ] && [ -z "${seen[$ver]:-}" ] || continue
  seen[$ver]=1
  found=1
  venv=".venv-py$ver"
  echo "== unit tests on Python $ver ($py)"
  [ -x "$venv/bin/pytest" ] || { "$py" -m venv "$venv" && "$venv/bin/pip" install -q --upgrade pip \
    && "$venv/bin/pip" install -q -e '.[test]'; }
  "$venv/bin/pytest" -q -p no:cacheprovider tests/unit
done
[ "$found" = 1 ] || echo "no CPython newer than $own here: unit tests ran on $own only"
