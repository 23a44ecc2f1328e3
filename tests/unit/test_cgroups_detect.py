import pytest

from rs_docker.errors import RuntimeFailure
from rs_docker.runtime.cgroups.detect import (
    Hierarchy,
    cgroup_dir,
    detect,
    parse_proc_cgroup,
)

# This VM: v1 controllers, a cgroup2 mount at unified/ holding only hugetlb.
HYBRID = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
# Debian 11 / systemd with legacy hierarchy: co-mounted cpu,cpuacct, optional fields.
V1 = """\
25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:14 - cgroup cgroup rw,cpu,cpuacct
34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory
"""
V2 = """\
25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
29 25 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 \
rw,nsdelegate,memory_recursiveprot
"""


def test_hybrid_is_v1_plus_a_unified_mount():
    layout = detect(HYBRID)
    assert layout.mode == "hybrid"
    assert set(layout.v1) == {"cpu", "cpuacct", "memory", "pids"}  # name=systemd ignored
    assert layout.unified.mount_point == "/sys/fs/cgroup/unified"


def test_v1_with_co_mounted_controllers():
    layout = detect(V1)
    assert layout.mode == "v1" and layout.unified is None
    assert layout.v1["cpu"] == layout.v1["cpuacct"]
    assert layout.v1["cpu"].mount_point == "/sys/fs/cgroup/cpu,cpuacct"


def test_v2_unified():
    layout = detect(V2)
    assert layout.mode == "v2" and layout.v1 == {}
    assert layout.unified.mount_point == "/sys/fs/cgroup"


def test_only_mounts_below_the_given_root_count(tmp_path):
    with pytest.raises(RuntimeFailure, match=f"no cgroup filesystem mounted at {tmp_path}"):
        detect(HYBRID, tmp_path)


def test_proc_self_cgroup():
    own = parse_proc_cgroup("4:memory:/process_api/x\n3:cpu,cpuacct:/\n0::/user.slice\n")
    assert own == {"memory": "/process_api/x", "cpu": "/", "cpuacct": "/",
                   "": "/user.slice"}


def test_relative_paths_go_below_our_own_cgroup_absolute_ones_from_the_root():
    h = Hierarchy("/sys/fs/cgroup/memory", "/", frozenset({"memory"}))
    assert cgroup_dir(h, "/process_api/x", "rs-docker/abc") == \
        "/sys/fs/cgroup/memory/process_api/x/rs-docker/abc"
    assert cgroup_dir(h, "/process_api/x", "/rs-docker/abc") == \
        "/sys/fs/cgroup/memory/rs-docker/abc"


def test_mount_root_is_stripped_and_dot_dot_refused():
    h = Hierarchy("/sys/fs/cgroup", "/kubepods/pod1", frozenset())
    assert cgroup_dir(h, "/kubepods/pod1", "c1") == "/sys/fs/cgroup/c1"
    with pytest.raises(RuntimeFailure, match="invalid cgroups path"):
        cgroup_dir(h, "/", "../../escape")
