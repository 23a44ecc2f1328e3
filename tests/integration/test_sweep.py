"""The session-start sweep (tests/fixtures/sweep.py) after a run killed for
real: a child session starts a registry, a detached container, a throw-away
user and a mount in its pytest base directory, and is SIGKILLed; the sweep
removes all of it, and nothing of the session still running."""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures import sweep

pytestmark = pytest.mark.root

KILLED_SESSION = """
import json, os, subprocess, sys, time
from pathlib import Path
from tests.fixtures import sweep
from tests.fixtures.registry import Registry

token = sweep.mark_session()
base = Path(sys.argv[1])
(base / ".lock").write_text(str(os.getpid()))   # as pytest's numbered directory
reg = Registry().start()
store = base / "store"
script = Path(sys.executable).parent / "rs-docker"
subprocess.run([str(script), "--root", str(store), "pull", "-q", sys.argv[2]], check=True,
               capture_output=True)
cid = subprocess.run([str(script), "--root", str(store), "run", "-d", sys.argv[2],
                      "sleep", "1000"], check=True, capture_output=True,
                     text=True).stdout.strip()
subprocess.run(["useradd", "--comment", sweep.USER_COMMENT + token, sys.argv[3]],
               check=True, capture_output=True)
(base / "mnt").mkdir()
subprocess.run(["mount", "-t", "tmpfs", "left", str(base / "mnt")], check=True)
print(json.dumps({"registry": reg.process.pid, "registry_dir": str(reg.base_dir),
                  "cid": cid}), flush=True)
time.sleep(1000)
"""


def running(pid: int) -> bool:
    return sweep.start_time(pid) is not None and \
        Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def mounted(path: Path) -> bool:
    return any(line.split()[4] == str(path)
               for line in Path("/proc/self/mountinfo").read_text().splitlines())


@pytest.fixture
def killed_session(images, tmp_path):
    """What a killed session left, described; its base directory is a
    pytest-of-* one (as pytest's own are) that is removed afterwards."""
    base = Path(f"/tmp/pytest-of-rsdsweep{os.getpid()}/pytest-1")
    base.mkdir(parents=True)
    user = f"rsdrlsweep{os.getpid() % 10000}"
    env = {k: v for k, v in os.environ.items() if k != sweep.SESSION_VAR}
    child = subprocess.Popen([sys.executable, "-c", KILLED_SESSION, str(base),
                              images.busybox.ref, user], stdout=subprocess.PIPE, text=True,
                             env=env, cwd=Path(__file__).parents[2], start_new_session=True)
    try:
        left = json.loads(child.stdout.readline())
        child.send_signal(signal.SIGKILL)   # the killed run: no teardown at all
        child.wait()
        yield {**left, "base": base, "user": user}
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
        if mounted(base / "mnt"):
            subprocess.run(["umount", "--lazy", str(base / "mnt")])
        if user_exists(user):
            sweep.remove_user(user, f"/home/{user}")
        subprocess.run(["rm", "-rf", str(base.parent)])


def test_a_killed_sessions_leftovers_are_swept(killed_session, registry):
    left = killed_session
    cgroups = [d for d in sweep.cgroup_dirs() if d.name == left["cid"]]
    assert cgroups and any(sweep.cgroup_procs(d) for d in cgroups)
    assert running(left["registry"]) and user_exists(left["user"])
    assert mounted(left["base"] / "mnt")

    report = sweep.sweep()

    assert not running(left["registry"]) and not Path(left["registry_dir"]).exists()
    assert not [d for d in cgroups if d.exists()], report
    assert not user_exists(left["user"]) and not mounted(left["base"] / "mnt")
    assert f"removed user {left['user']}" in report
    assert f"unmounted {left['base'] / 'mnt'}" in report
    # the running session's own registry was left alone
    assert registry.process.poll() is None
