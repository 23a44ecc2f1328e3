"""No container runs unsupervised (issue 10 items 1 and 6), for real:

- a foreground `run` killed with SIGKILL takes its container with it (PID 1
  has PR_SET_PDEATHSIG), and `rm -f` then removes every cgroup directory;
- a detached container's monitor killed with SIGKILL: the same, and the
  record reads Exited;
- the monitor keeps supervising when the store's filesystem is full (it
  died of ENOSPC writing the json-file log);
- `rm -f` removes the cgroup directories even when the container made
  cgroups of its own below them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from tests.conftest import DockerConfig, Rsd
from tests.fixtures.cli import busybox_store, ok, wait_for

pytestmark = pytest.mark.root

CGROUP_ROOT = "/sys/fs/cgroup"


rs = busybox_store("supervision")


def raw_record(runner, cid: str) -> dict:
    return json.loads((runner.root / "containers" / cid / "container.json").read_text())


def cgroup_dirs(cid: str) -> list[str]:
    """Every directory named `cid` in every hierarchy under /sys/fs/cgroup
    (v1 controllers, name=systemd, the unified dir), with what is below them."""
    found = []
    for top, dirs, _files in os.walk(CGROUP_ROOT):
        depth = top[len(CGROUP_ROOT):].count("/")
        if os.path.basename(top) == cid:
            found.append(top)
        if depth >= 4:
            dirs[:] = []
    return found


def pids_in(dirs: list[str]) -> set[int]:
    pids = set()
    for d in dirs:
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                pids.update(int(p) for p in f.read().split())
        except OSError:
            pass
    return pids


def gone(pid: int) -> bool:
    """No such process, or only its zombie (it has exited)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def container_id(runner, name: str) -> str:
    out = runner("ps", "-aq", "--no-trunc", "--filter", f"name=^{name}$").stdout.split()
    return out[0] if out else ""


def kill_foreground_run(rs, busybox, name: str) -> str:
    """Start `run --name NAME busybox sleep 300` in the foreground, SIGKILL
    the `run` once its container runs, check the container died with it;
    the container's id."""
    run = subprocess.Popen([str(rs.script), "--root", str(rs.root), "run", "--name", name,
                            busybox, "sleep", "300"], env=rs.base_env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: container_id(rs, name))
        cid = container_id(rs, name)
        assert wait_for(lambda: pids_in(cgroup_dirs(cid)))
        dirs = cgroup_dirs(cid)
        (pid1,) = pids_in(dirs)
        assert any("/unified/" in d for d in dirs) and len(dirs) > 2, dirs
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    assert wait_for(lambda: gone(pid1)), "the container outlived its `run`"
    assert not pids_in(cgroup_dirs(cid))
    return cid


def test_foreground_run_killed_takes_its_container_and_rm_removes_the_cgroups(rs, busybox):
    cid = kill_foreground_run(rs, busybox, "sv-fg")
    if container_id(rs, "sv-fg"):
        assert ok(rs("rm", "-f", cid)) == cid + "\n"
    assert container_id(rs, "sv-fg") == ""
    assert cgroup_dirs(cid) == []


def test_prune_removes_the_cgroups_of_a_killed_foreground_run(rs, busybox):
    cid = kill_foreground_run(rs, busybox, "sv-prune")
    assert cgroup_dirs(cid)
    assert cid in ok(rs("container", "prune", "-f"))
    assert container_id(rs, "sv-prune") == ""
    assert cgroup_dirs(cid) == []


def test_killed_monitor_takes_its_container_then_rm_removes_the_cgroups(rs, busybox):
    cid = ok(rs("run", "-d", busybox, "sleep", "300")).strip()
    doc = raw_record(rs, cid)
    pid1, monitor = doc["State"]["Pid"], doc["RsDocker"]["MonitorPid"]
    assert pids_in(cgroup_dirs(cid)) == {pid1}
    os.kill(monitor, signal.SIGKILL)
    # Without any rs-docker command looking: the kernel kills PID 1.
    assert wait_for(lambda: gone(pid1)), "the container outlived its monitor"
    row = ok(rs("ps", "-a", "--filter", f"id={cid}"))
    assert "Exited (137)" in row, row
    assert cid[:12] not in ok(rs("ps"))
    assert ok(rs("rm", cid)) == cid + "\n"
    assert cgroup_dirs(cid) == []
    assert not (rs.root / "containers" / cid).exists()


def ignored_signals(pid: int) -> set[int]:
    with open(f"/proc/{pid}/status") as f:
        mask = int(next(line.split()[1] for line in f if line.startswith("SigIgn:")), 16)
    return {n for n in range(1, 65) if mask & (1 << (n - 1))}


def test_the_monitor_outlives_hangups_broken_pipes_and_file_size_limits(rs, busybox):
    cid = ok(rs("run", "-d", busybox, "sh", "-c",
                "trap 'exit 3' TERM; while true; do sleep 0.1; done")).strip()
    monitor = raw_record(rs, cid)["RsDocker"]["MonitorPid"]
    foreseeable = {signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE,
                   signal.SIGTTIN, signal.SIGTTOU, signal.SIGXFSZ}
    assert foreseeable <= ignored_signals(monitor)
    for sig in foreseeable:
        os.kill(monitor, sig)
    assert ok(rs("stop", cid)) == cid + "\n"
    assert ok(rs("wait", cid)) == "3\n"  # recorded by the monitor, not reconciled (137)
    assert ok(rs("rm", cid)) == cid + "\n"


def test_rm_f_removes_the_cgroups_of_a_running_container(rs, busybox):
    cid = ok(rs("run", "-d", busybox, "sleep", "300")).strip()
    dirs = cgroup_dirs(cid)
    assert len(dirs) > 2 and pids_in(dirs), dirs
    assert ok(rs("rm", "-f", cid)) == cid + "\n"
    assert cgroup_dirs(cid) == []


# A privileged container (systemd in a container does this) mounts its cgroup
# hierarchies and makes child cgroups, one holding a process: the
# container's directories are no longer leaves.
NESTED = ("mkdir -p /tmp/p /tmp/u && mount -t cgroup -o pids none /tmp/p && "
          "mount -t cgroup2 none /tmp/u && mkdir /tmp/p/sub /tmp/u/sub || exit 1; "
          "sleep 300 & echo $! > /tmp/p/sub/cgroup.procs && "
          "echo $! > /tmp/u/sub/cgroup.procs && touch /tmp/ready; ")


def test_rm_f_removes_cgroups_the_container_made_below_its_own(rs, busybox):
    cid = ok(rs("run", "-d", "--privileged", busybox, "sh", "-c", NESTED + "wait")).strip()
    assert wait_for(lambda: rs("exec", cid, "test", "-e", "/tmp/ready").returncode == 0)
    nested = [d for d in cgroup_dirs(cid) if os.path.isdir(os.path.join(d, "sub"))]
    assert len(nested) == 2, cgroup_dirs(cid)
    assert ok(rs("rm", "-f", cid)) == cid + "\n"
    assert cgroup_dirs(cid) == []


def cgroup_dirs_of_short_id(short: str) -> list[str]:
    return [d for h in os.listdir(CGROUP_ROOT)
            if os.path.isdir(os.path.join(CGROUP_ROOT, h, "rs-docker"))
            for d in os.listdir(os.path.join(CGROUP_ROOT, h, "rs-docker")) if d.startswith(short)]


def test_run_rm_removes_cgroups_the_container_made_below_its_own(rs, busybox):
    proc = rs("run", "--rm", "--name", "sv-nested-rm", "--privileged", busybox, "sh", "-c",
              NESTED + "ls /tmp/p/sub/cgroup.procs; hostname")
    assert proc.returncode == 0, proc.stderr
    listed, short = proc.stdout.split()
    assert listed == "/tmp/p/sub/cgroup.procs" and len(short) == 12
    assert container_id(rs, "sv-nested-rm") == ""
    assert cgroup_dirs_of_short_id(short) == []


@pytest.fixture
def full_store(tmp_path, images):
    """A store on a 16 MiB tmpfs (busybox pulled), torn down after."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)], check=True)
    (tmp_path / "cfg").mkdir()
    runner = Rsd(mnt, DockerConfig(tmp_path / "cfg"))
    try:
        ok(runner("pull", images.busybox.ref))
        yield runner
    finally:
        ids = runner("ps", "-aq", "--no-trunc").stdout.split()
        if ids:
            runner("rm", "-f", *ids)
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(directory) -> None:
    """Write a file in `directory` until its filesystem refuses (ENOSPC)."""
    chunk = b"\0" * 65536
    with open(os.path.join(directory, "filler"), "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError as e:
            assert e.errno == 28, e  # ENOSPC
    with open(os.path.join(directory, "filler2"), "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0")
        except OSError:
            pass


def test_the_monitor_keeps_supervising_when_the_log_filesystem_is_full(full_store, busybox,
                                                                       tmp_path):
    rs = full_store
    ctl = tmp_path / "ctl"
    ctl.mkdir()
    # first line, then wait; then ~10 MB of output (more than the tmpfs holds
    # once filled), then wait; then exit 7.
    script = ("echo first; while [ ! -e /ctl/go ]; do sleep 0.05; done; "
              "yes 'output the full store cannot take' | head -n 300000; echo last; "
              "touch /ctl/wrote; while [ ! -e /ctl/exit ]; do sleep 0.05; done; exit 7")
    cid = ok(rs("run", "-d", "-v", f"{ctl}:/ctl", busybox, "sh", "-c", script)).strip()
    monitor = raw_record(rs, cid)["RsDocker"]["MonitorPid"]
    assert wait_for(lambda: "first" in rs("logs", cid).stdout)
    fill(rs.root)
    (ctl / "go").touch()
    assert wait_for(lambda: (ctl / "wrote").exists(), timeout=60)
    assert not gone(monitor), "the monitor died of the full filesystem"
    (ctl / "exit").touch()
    assert ok(rs("wait", cid)) == "7\n"
    row = ok(rs("ps", "-a", "--filter", f"id={cid}"))
    assert "Exited (7)" in row, row
    logs = rs("logs", cid)
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout.startswith("first\n")
    # What could not be written is dropped whole: every entry is valid JSON.
    for line in (rs.root / "containers" / cid / f"{cid}-json.log").read_text().splitlines():
        json.loads(line)
    assert raw_record(rs, cid)["RsDocker"].get("LogDropped", {}).get("bytes", 0) > 0
    os.unlink(rs.root / "filler")
    os.unlink(rs.root / "filler2")
    assert ok(rs("rm", cid)) == cid + "\n"
    assert cgroup_dirs(cid) == []
