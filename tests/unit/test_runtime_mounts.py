"""Pure parts of runtime.mounts: option parsing, the mount plan, path
confinement inside the rootfs."""

from __future__ import annotations

import os

import pytest

from rs_docker.errors import RuntimeFailure
from rs_docker.linux import constants as C
from rs_docker.runtime.rootfs.mounts import parse_options, plan, secure_join


def test_parse_options_flags_propagation_and_data():
    o = parse_options(["rbind", "ro", "nosuid", "rprivate", "size=1m", "mode=755"])
    assert o.flags == C.MS_BIND | C.MS_REC | C.MS_RDONLY | C.MS_NOSUID
    assert o.propagation == C.MS_PRIVATE | C.MS_REC
    assert o.data == "size=1m,mode=755"
    assert o.bind


def test_later_options_win():
    assert parse_options(["ro", "rw"]).flags == 0
    assert parse_options(["nosuid", "suid", "noexec"]).flags == C.MS_NOEXEC
    assert parse_options(None) == parse_options([])


def test_plan_defaults_then_config_mounts_in_order():
    root, mounts = plan({"mounts": [{"destination": "/data", "type": "bind", "source": "/x"},
                                    {"destination": "/a", "type": "tmpfs"}]},
                        userns=False, netns=True)
    assert root is None
    dests = [m["destination"] for m in mounts]
    assert dests == ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/data", "/a"]
    assert mounts[5]["type"] == "sysfs"


def test_plan_config_entry_replaces_the_default_in_place():
    shm = {"destination": "/dev/shm/", "type": "tmpfs", "source": "shm", "options": ["size=1g"]}
    _, mounts = plan({"mounts": [shm]}, userns=False, netns=True)
    assert mounts[3] is shm and len(mounts) == 6


def test_plan_root_entry_is_the_rootfs():
    overlay = {"destination": "/", "type": "overlay", "source": "overlay",
               "options": ["lowerdir=/l", "upperdir=/u", "workdir=/w"]}
    root, mounts = plan({"mounts": [overlay]}, userns=False, netns=True)
    assert root is overlay and all(m["destination"] != "/" for m in mounts)


def test_plan_sys_is_bound_in_a_user_namespace_without_netns():
    _, mounts = plan({}, userns=True, netns=False)
    assert mounts[5]["type"] == "bind" and "ro" in mounts[5]["options"]


def test_plan_rejects_relative_destination():
    with pytest.raises(RuntimeFailure, match="destination must be absolute"):
        plan({"mounts": [{"destination": "data", "type": "tmpfs"}]}, userns=False, netns=True)


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "abs").symlink_to("/etc")
    (r / "rel").symlink_to("../../../../etc")
    (r / "chain").symlink_to("abs/sub")
    (r / "loop").symlink_to("loop")
    return str(r)


@pytest.mark.parametrize("unsafe, inside", [
    ("/etc/x", "etc/x"),
    ("/abs/x", "etc/x"),
    ("/rel/x", "etc/x"),
    ("/../../etc", "etc"),
    ("/chain/y", "etc/sub/y"),
    ("missing/../etc", "etc"),
    ("/", ""),
])
def test_secure_join_stays_inside(root, unsafe, inside):
    assert secure_join(root, unsafe) == (os.path.join(root, inside) if inside else root)


def test_secure_join_symlink_loop(root):
    with pytest.raises(OSError, match="too many levels"):
        secure_join(root, "/loop/x")


HYBRID = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
"""
V2 = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"


def test_cgroup_hierarchies_of_a_hybrid_and_a_v2_host():
    from rs_docker.runtime.cgroups.mount import host_hierarchies

    assert host_hierarchies(HYBRID) == [("cgroup", "cpu,cpuacct", "cpu,cpuacct"),
                                        ("cgroup", "none,name=systemd", "systemd"),
                                        ("cgroup2", "", "unified")]
    assert host_hierarchies(V2) == [("cgroup2", "", "")]


def test_plan_cgroup_mount_only_with_a_cgroup_namespace():
    _, without = plan({}, userns=False, netns=True)
    _, with_ns = plan({}, userns=False, netns=True, cgroupns=True)
    assert "/sys/fs/cgroup" not in [m["destination"] for m in without]
    assert with_ns[-1]["type"] == "cgroup" and "ro" in with_ns[-1]["options"]


def test_mounts_not_nested_with_the_cgroup_one_go_before_it():
    from rs_docker.runtime.rootfs.mounts import cgroup_last

    def m(dest, kind="bind"):
        return {"destination": dest, "type": kind}

    given = [m("/proc", "proc"), m("/sys", "sysfs"), m("/sys/fs/cgroup", "cgroup"),
             m("/etc/hosts"), m("/sys/fs/cgroup/x"), m("/data"), m("/data/sub"), m("/sys/")]
    ordered, go_at = cgroup_last(given)
    assert [x["destination"] for x in ordered] == [
        "/proc", "/sys", "/etc/hosts", "/data", "/data/sub",       # before the cgroup join
        "/sys/fs/cgroup", "/sys/fs/cgroup/x", "/sys/"]              # config order kept
    assert go_at == 5
    assert cgroup_last([m("/proc", "proc")]) == ([m("/proc", "proc")], 1)


def test_host_links_are_the_symlinks_beside_the_hierarchies(tmp_path):
    from rs_docker.runtime.cgroups.mount import host_links

    (tmp_path / "cpu,cpuacct").mkdir()
    (tmp_path / "memory").mkdir()
    os.symlink("cpu,cpuacct", tmp_path / "cpu")
    os.symlink("cpu,cpuacct", tmp_path / "cpuacct")
    assert sorted(host_links(str(tmp_path))) == [("cpu", "cpu,cpuacct"),
                                                 ("cpuacct", "cpu,cpuacct")]
    assert host_links(str(tmp_path / "missing")) == []
