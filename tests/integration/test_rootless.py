"""Rootless: `rs-docker pull` and `run` as an unprivileged user, end to end.

Each test module run creates throw-away users (useradd with a home; one
with /etc/subuid and /etc/subgid ranges, one without) and removes them,
their ranges and their homes at the end. Commands run as the user through
runuser(1) with a clean environment, so the store is the user's
$HOME/.local/share/rs-docker, as for a real user.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.fixtures import userenv
from tests.fixtures.cli import ok
from tests.fixtures.rootless import SUB_COUNT, SUB_START, pulled_busybox, throwaway_user

pytestmark = pytest.mark.root


@pytest.fixture(scope="module", params=["subids", "single"])
def user(request):
    with throwaway_user(f"rsdrl{request.param[:3]}{os.getpid() % 10000}",
                        request.param == "subids") as u:
        yield u


@pytest.fixture(scope="module")
def pulled(user, images):
    return pulled_busybox(user, images)


def test_pull_as_the_user_fills_its_own_store(user, pulled):
    assert user.store.is_dir()
    owners = {(p.stat().st_uid) for p in user.store.rglob("*") if not p.is_symlink()}
    # Unpacked as the user: every file of the store is the user's.
    assert owners == {user.uid}
    assert ok(user.rsd("images")).count("busybox") == 1
    # /home/app is 1000:1000 in the layer tar: the owner is kept in an xattr.
    apps = [p for p in (user.store / "layers").glob("*/home/app")]
    assert apps and os.getxattr(apps[0], "user.rsdocker.override_stat") == b"1000:1000:755"


def test_id_inside_is_mapped_root(user, pulled):
    out = ok(user.rsd("run", "--rm", pulled, "sh", "-c", "id; cat /proc/self/uid_map"))
    lines = out.splitlines()
    assert lines[0] == "uid=0(root) gid=0(root) groups=0(root)"
    maps = [line.split() for line in lines[1:]]
    assert maps[0] == ["0", str(user.uid), "1"]
    if user.subids:
        assert maps[1] == ["1", str(SUB_START["subids"]), str(SUB_COUNT)]
    else:
        assert len(maps) == 1


def test_bind_mount_writes_as_the_user(user, pulled):
    data = user.home / "data"
    assert user.sh(f"mkdir -p {data}").returncode == 0
    ok(user.rsd("run", "--rm", "-v", f"{data}:/data", pulled, "sh", "-c",
                "echo hi > /data/written"))
    st = (data / "written").stat()
    assert (st.st_uid, st.st_gid) == (user.uid, user.gid)
    assert (data / "written").read_text() == "hi\n"


def test_rm_leaves_nothing_behind(user, pulled):
    # A 0555 directory owned by container uid 1000 (a subuid) or root:
    # --rm must still remove the container's whole directory.
    who = "1000:1000" if user.subids else "0:0"
    ok(user.rsd("run", "--rm", pulled, "sh", "-c",
                f"mkdir -p /srv/x && touch /srv/x/f && chown -R {who} /srv && "
                "chmod 555 /srv/x"))
    containers = user.store / "containers"
    assert not containers.exists() or os.listdir(containers) == []
    with open("/proc/self/mountinfo") as f:
        assert str(user.home) not in f.read()


def test_other_users_need_a_range(user, pulled):
    proc = user.rsd("run", "--rm", "-u", "1000", pulled, "id", "-u")
    if user.subids:
        assert ok(proc) == "1000\n"
    else:
        assert proc.returncode == 125
        assert proc.stderr.strip().splitlines()[-1].startswith(
            "rs-docker: rootless: container uid 1000 is not mapped")


def test_network_none(user, pulled):
    out = ok(user.rsd("run", "--rm", "--network", "none", pulled, "cat", "/proc/net/dev"))
    names = [line.split(":")[0].strip() for line in out.splitlines()[2:]]
    assert names == ["lo"]


def test_limits_without_a_writable_cgroup(user, pulled):
    """Without a delegated cgroup the container runs without one; a limit
    asked for is refused in one line rather than silently ignored."""
    assert ok(user.rsd("run", "--rm", pulled, "true")) == ""
    proc = user.rsd("run", "--rm", "--memory", "64m", pulled, "sh", "-c",
                    "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || "
                    "cat /sys/fs/cgroup/memory.max")
    if proc.returncode == 0:
        # a host that delegates a cgroup to the user: the limit is applied
        assert proc.stdout == f"{64 << 20}\n"
    else:
        assert (proc.returncode, proc.stdout) == (125, "")
        [line] = proc.stderr.splitlines()
        assert re.fullmatch(r"rs-docker: rootless: resource limits need a writable cgroup: "
                            r"cgroups: creating /sys/fs/cgroup/\S+: permission denied", line), line


def test_user_namespaces_disabled_is_one_line(user, pulled):
    """In a user namespace whose max_user_namespaces is 0 (per namespace,
    namespaces(7)), the user cannot create one: exit 125 with one line."""
    code = f"""
import os, sys
from rs_docker.linux import constants as C, syscalls
r, w = os.pipe()
r2, w2 = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w)
    syscalls.unshare(C.CLONE_NEWUSER)
    os.write(w2, b'u')
    os.read(r, 1)
    open('/proc/sys/user/max_user_namespaces', 'w').write('0')
    os.setgroups([])
    os.setresgid({user.gid}, {user.gid}, {user.gid})
    os.setresuid({user.uid}, {user.uid}, {user.uid})
    os.execv('/usr/bin/env', {user.env()!r} + [{str(userenv.shared_script())!r}, 'run', '--rm',
             {pulled!r}, 'true'])
os.close(r)
os.read(r2, 1)
for kind in ('uid', 'gid'):
    open(f'/proc/{{pid}}/{{kind}}_map', 'w').write('0 0 4294967295')
os.write(w, b'x')
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd="/")
    assert proc.returncode == 125, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "rs-docker: rootless: user namespaces are disabled on this host")
