"""What `rs-docker run` must not import (issue 6): each of these modules costs
milliseconds on every container start (`python -X importtime`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.root

# dataclasses pulls in inspect: ~10-14 ms together; click and requests are
# kept off by cli/fast.py and the lazy registry imports; typing (~3 ms, plus
# ~40 us a NamedTuple field) and collections (~1.5 ms, plus an eval a class)
# by rs_docker.values' @record, platform (~1.6 ms) by os.uname. pathlib (which imports
# re, urllib.parse, ipaddress, fnmatch, warnings: ~8 ms) by str paths; json
# (imports re: ~6 ms) by jsonio; re (enum, functools: ~5 ms), datetime,
# contextlib, threading, signal (its enums: _signal has the same calls),
# socket (_socket), subprocess, shutil, tempfile, hashlib by hand-written or
# lazy code. What only some runs need is imported where they need it:
# -v/--mount parsing, the error report. The run here is its store's first:
# the one-time rootfs driver probe (container/rootfs.py) is on it too.
NOT_ON_RUN_PATH = (
    "dataclasses", "inspect", "click", "requests", "typing", "platform", "collections",
    "pathlib", "re", "json", "datetime", "contextlib", "threading", "signal", "enum",
    "functools", "urllib", "urllib.parse", "ipaddress", "fnmatch", "warnings", "socket",
    "selectors", "tempfile", "shutil", "hashlib", "subprocess",
    "rs_docker.models.mount_flags", "rs_docker.cli.errors_out",
    "rs_docker.cli.templates", "rs_docker.cli.gotemplate", "rs_docker.models.filters",
)


def imported_by_run(rsd, ref: str) -> tuple[int, set[str]]:
    """Exit status and every module a plain `run --rm IMAGE true` imports,
    through the console script's own entry point (which ends in os._exit,
    so the list comes from -X importtime rather than sys.modules)."""
    code = ("import sys\nfrom rs_docker.cli.fast import main\n"
            f"sys.argv = ['rs-docker', '--root', {str(rsd.root)!r}, 'run', '--rm',"
            f" '--network', 'none', {ref!r}, 'true']\nmain()\n")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                          text=True, timeout=60, env=rsd.base_env)
    modules = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
               if line.startswith("import time:") and "|" in line}
    return proc.returncode, modules


def test_run_imports_none_of_the_slow_modules(rsd, images):
    rsd("pull", images.busybox.ref, check=True)
    code, modules = imported_by_run(rsd, images.busybox.ref)
    assert code == 0
    assert "rs_docker.runtime.process.start" in modules  # the list is the run's own
    assert sorted(set(NOT_ON_RUN_PATH) & modules) == []
