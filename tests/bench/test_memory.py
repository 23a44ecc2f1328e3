"""bench/memory.py against real PID namespaces: `unshare --pid --fork` plays
the monitor, its child `sleep` the container's init."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

MEMORY = Path(__file__).resolve().parents[2] / "bench" / "memory.py"

pytestmark = pytest.mark.root


@pytest.fixture
def tool(tmp_path):
    """A fake `run -d`: starts `unshare --pid --fork sleep N` detached, prints an id;
    its `rm` kills the unshare process by the pid it printed (--kill-child takes
    the container with it, as a real `rm -f` does)."""
    start = tmp_path / "start"
    start.write_text("#!/bin/sh\nsetsid unshare --pid --fork --kill-child \"$@\" </dev/null >/dev/null 2>&1 &\n"
                     "echo $!\n")
    remove = tmp_path / "remove"
    remove.write_text("#!/bin/sh\nkill -9 \"$@\"\n")
    start.chmod(0o755)
    remove.chmod(0o755)
    return start, remove


def test_finds_monitors_outside_the_namespace_and_cleans_up(tool, tmp_path):
    start, remove = tool
    out = tmp_path / "m.json"
    r = subprocess.run([sys.executable, str(MEMORY), "--label", "fake", "--n", "3",
                        "--start", f"{start} sleep 1987", "--remove", str(remove),
                        "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    m = json.loads(out.read_text())
    assert m["n"] == 3 and m["processes_per_container"] == 1
    assert m["comm"] == ["unshare"]
    assert all(c["rss_kib"] > 0 and c["pss_kib"] > 0 for c in m["per_container"])
    assert m["rss_kib_sum"] == sum(c["rss_kib"] for c in m["per_container"])
    left = subprocess.run(["pgrep", "-f", "^sleep 1987$"], capture_output=True, text=True)
    assert left.stdout == ""


def test_a_tool_that_cannot_start_is_one_line_and_exit_1(tmp_path):
    r = subprocess.run([sys.executable, str(MEMORY), "--label", "broken", "--n", "2",
                        "--start", "sh -c 'echo no such command: run >&2; exit 2' sleep 1988",
                        "--remove", "true", "--out", str(tmp_path / "m.json")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].endswith("no such command: run")
    assert not (tmp_path / "m.json").exists()
