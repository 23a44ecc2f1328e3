"""linux.mountinfo: the one parser of /proc/[pid]/mountinfo (proc(5))."""

from __future__ import annotations

from rs_docker.linux import mountinfo
from rs_docker.linux.mountinfo import MountEntry

# Optional fields (shared:N, master:N), a bind mount of a subdirectory
# (root not "/"), escaped paths, a line cut short, a line without "-".
SAMPLE = r"""25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:14 master:3 - cgroup cgroup rw,cpu,cpuacct
41 30 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
52 25 8:1 /srv/data /mnt/my\040data rw - ext4 /dev/sda1 rw
53 25 0:5 / /a\134040\011c\012 rw - tmpfs none rw
54 25 0:6 / /short
55 25 0:7 / /no-separator rw tmpfs none rw
"""


def test_every_well_formed_line_in_order():
    entries = mountinfo.parse(SAMPLE)
    assert [e.mount_point for e in entries] == [
        "/", "/sys/fs/cgroup", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/unified",
        "/mnt/my data", "/a\\040\tc\n"]  # \134 is the backslash itself


def test_fields_after_the_optional_ones():
    entries = mountinfo.parse(SAMPLE)
    assert entries[2] == MountEntry("/sys/fs/cgroup/cpu,cpuacct", "/", "cgroup",
                                    ("rw", "cpu", "cpuacct"))
    assert entries[3].fstype == "cgroup2" and entries[3].super_options == ("rw", "nsdelegate")
    assert entries[4].root == "/srv/data" and entries[4].fstype == "ext4"


def test_this_process_sees_its_root():
    assert any(e.mount_point == "/" for e in mountinfo.read())
