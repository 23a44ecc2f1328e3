"""What a container sees of the machine: namespaces, mounts, /dev, /sys,
bind mounts, the overlay root, and what the host sees of the container."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from rs_docker.runtime.process.start import spawn
from tests.fixtures.bundle import make_bundle, run_captured, template_rootfs

pytestmark = pytest.mark.root


def sh(tmp_path, script, **overrides):
    return make_bundle(tmp_path, ["sh", "-c", script], **overrides)


def probe(tmp_path, script, **overrides) -> str:
    result, out, err = run_captured(sh(tmp_path, script, **overrides))
    assert result.exit_code == 0, err
    return out


def test_namespaces_differ_from_the_hosts(tmp_path):
    kinds = ["ipc", "uts", "mnt", "cgroup", "net", "pid"]
    out = probe(tmp_path, "; ".join(f"readlink /proc/self/ns/{k}" for k in kinds))
    inside = out.split()
    outside = [os.readlink(f"/proc/self/ns/{k}") for k in kinds]
    assert len(inside) == len(kinds)
    for k, i, o in zip(kinds, inside, outside, strict=True):
        assert i.startswith(f"{k}:[") and i != o, k


def test_new_network_namespace_has_only_lo_and_it_is_up(tmp_path):
    out = probe(tmp_path, "ip -o link; cat /sys/class/net/lo/flags")
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("1: lo: <LOOPBACK,UP")
    assert int(lines[1], 16) & 1  # IFF_UP


def test_host_mount_table_unchanged_during_and_after(tmp_path):
    before = _mountinfo()
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    c = spawn(sh(tmp_path, "echo up; read x"), stdin=in_r, stdout=out_w)
    os.close(in_r)
    os.close(out_w)
    assert select.select([out_r], [], [], 10)[0] and os.read(out_r, 10) == b"up\n"
    during = _mountinfo()
    os.close(in_w)
    c.wait()
    os.close(out_r)
    assert during == before
    assert _mountinfo() == before


def test_old_root_is_detached(tmp_path):
    out = probe(tmp_path, "cut -d' ' -f5 /proc/self/mountinfo")
    points = [p for p in out.split() if not p.startswith("/sys/fs/cgroup/")]
    assert sorted(points) == ["/", "/dev", "/dev/mqueue", "/dev/pts", "/dev/shm",
                              "/proc", "/sys", "/sys/fs/cgroup"]


def test_dev_has_the_standard_nodes_and_links(tmp_path):
    out = probe(tmp_path, "ls /dev; ls -l /dev/null /dev/ptmx | cut -c1-10; "
                          "echo x > /dev/null; head -c 3 /dev/zero | od -An -tx1; "
                          "head -c 8 /dev/urandom | wc -c; ls /dev/pts; "
                          "readlink /dev/fd; readlink /dev/stdin; echo hi > /dev/shm/a; cat /dev/shm/a")
    lines = out.splitlines()
    names = set(lines[: lines.index("zero") + 1])
    assert {"null", "zero", "full", "random", "urandom", "tty", "fd", "stdin", "stdout",
            "stderr", "ptmx", "pts", "shm", "mqueue"} <= names
    rest = lines[lines.index("zero") + 1:]
    assert rest[0].startswith("crw-rw-rw-") and rest[1].startswith("lrwxrwxrwx")
    assert rest[2].split() == ["00", "00", "00"] and rest[3].strip() == "8"
    assert rest[4] == "ptmx" and rest[5] == "/proc/self/fd" and rest[-1] == "hi"


def test_config_devices_are_made_in_their_own_directories(tmp_path):
    """linux.devices beside the defaults: a node in a directory /dev lacks
    (made for it, then reused by the next) and one replacing a default."""
    devices = [{"path": "/dev/extra/null2", "type": "c", "major": 1, "minor": 3,
                "fileMode": 0o600, "uid": 0, "gid": 0},
               {"path": "/dev/extra/zero2", "type": "c", "major": 1, "minor": 5,
                "fileMode": 0o640, "uid": 0, "gid": 0},
               {"path": "/dev/full", "type": "c", "major": 1, "minor": 3,
                "fileMode": 0o644, "uid": 0, "gid": 0}]
    out = probe(tmp_path, "stat -c '%n %F %a %t:%T' /dev/extra/null2 /dev/extra/zero2 /dev/full",
                linux={"devices": devices})
    assert out.splitlines() == ["/dev/extra/null2 character special file 600 1:3",
                                "/dev/extra/zero2 character special file 640 1:5",
                                "/dev/full character special file 644 1:3"], out


def test_devpts_is_a_new_instance(tmp_path):
    out = probe(tmp_path, "grep ' /dev/pts ' /proc/self/mountinfo")
    assert "newinstance" not in out  # not shown, but its options are ours:
    assert "ptmxmode=666" in out and "gid=5" in out and "mode=620" in out


def test_sys_is_read_only(tmp_path):
    out = probe(tmp_path, "grep ' /sys ' /proc/self/mountinfo | cut -d' ' -f6; "
                          "touch /sys/x 2>&1 || echo refused")
    assert out.splitlines()[0].startswith("ro,") and out.strip().endswith("refused")


def test_sys_fs_cgroup_is_the_containers_own_and_read_only(tmp_path):
    limit = 48 * 1024 * 1024
    out = probe(tmp_path, "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes"
                          " 2>/dev/null; touch /sys/fs/cgroup/x 2>/dev/null || echo refused",
                linux={"resources": {"memory": {"limit": limit}}})
    assert out.split() == [str(limit), "refused"]


def test_bind_mounts_rw_and_ro(tmp_path):
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    (ro / "f").write_text("host\n")
    mounts = [
        {"destination": "/data", "type": "bind", "source": str(rw), "options": ["rbind", "rw"]},
        {"destination": "/ro", "type": "bind", "source": str(ro), "options": ["rbind", "ro"]},
    ]
    out = probe(tmp_path, "echo written > /data/new; cat /ro/f; "
                          "echo no > /ro/f 2>/dev/null || echo refused", mounts=mounts)
    assert out == "host\nrefused\n"
    assert (rw / "new").read_text() == "written\n"
    assert (ro / "f").read_text() == "host\n"


def test_file_bind_mount(tmp_path):
    src = tmp_path / "hosts"
    src.write_text("1.2.3.4 example\n")
    out = probe(tmp_path, "cat /etc/hosts", mounts=[
        {"destination": "/etc/hosts", "type": "bind", "source": str(src), "options": ["bind"]}])
    assert out == "1.2.3.4 example\n"


def test_tmpfs_mount_with_options(tmp_path):
    out = probe(tmp_path, "grep ' /run ' /proc/self/mountinfo", mounts=[
        {"destination": "/run", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "mode=700", "size=1m"]}])
    assert "nosuid" in out and "size=1024k" in out and "mode=700" in out


@pytest.mark.parametrize("link", ["/etc", "../../../../../../../etc"])
def test_symlinked_mount_target_stays_inside_the_rootfs(tmp_path, link):
    """An image's /mnt -> /etc must not send a mount onto the host's /etc."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "f").write_text("mounted\n")
    bundle = sh(tmp_path, "cat /etc/evil/f; cat /mnt/evil/f",
                mounts=[{"destination": "/mnt/evil", "type": "bind", "source": str(data),
                         "options": ["rbind"]}])
    (bundle / "rootfs" / "mnt").rmdir() if (bundle / "rootfs" / "mnt").is_dir() else None
    (bundle / "rootfs" / "mnt").symlink_to(link)
    result, out, err = run_captured(bundle)
    assert result.exit_code == 0, err
    assert out == "mounted\nmounted\n"
    assert not os.path.exists("/etc/evil")
    assert (bundle / "rootfs" / "etc" / "evil").is_dir()


def test_overlay_root_writes_land_in_upper(tmp_path):
    lower1 = tmp_path / "lower1"
    shutil.copytree(template_rootfs(), lower1, symlinks=True)
    lower2 = tmp_path / "lower2"
    (lower2 / "etc").mkdir(parents=True)
    (lower2 / "etc" / "motd").write_text("from lower2\n")
    upper, work = tmp_path / "upper", tmp_path / "work"
    upper.mkdir()
    work.mkdir()
    root = {"destination": "/", "type": "overlay", "source": "overlay",
            "options": [f"lowerdir={lower2}:{lower1}", f"upperdir={upper}", f"workdir={work}"]}
    bundle = make_bundle(tmp_path, ["sh", "-c", "cat /etc/motd; echo new > /etc/motd; "
                                                "echo x > /created; rm /bin/true; cat /etc/motd"],
                         rootfs=False, mounts=[root])
    result, out, err = run_captured(bundle)
    assert result.exit_code == 0, err
    assert out == "from lower2\nnew\n"
    assert (upper / "created").read_text() == "x\n"
    assert (upper / "etc" / "motd").read_text() == "new\n"
    assert (lower2 / "etc" / "motd").read_text() == "from lower2\n"
    assert (lower1 / "bin" / "true").is_symlink() and not (lower1 / "created").exists()
    assert not os.listdir(bundle / "rootfs")  # the mount vanished with the container


def test_readonly_root(tmp_path):
    out = probe(tmp_path, "touch /x 2>/dev/null || echo refused; "
                          "echo ok > /dev/shm/y && cat /dev/shm/y",
                root={"readonly": True})
    assert out == "refused\nok\n"


def test_proc_shows_only_the_containers_pids(tmp_path):
    out = probe(tmp_path, "ls /proc | grep -E '^[0-9]+$'; true")
    pids = [int(p) for p in out.split()]
    assert 1 in pids and max(pids) < 10  # sh, ls, grep: never the host's


def test_user_namespace_maps_root(tmp_path):
    # Root mapped to 100000 cannot cross pytest's 0700 directories: use one it can.
    tmp_path = Path(tempfile.mkdtemp(prefix="rs-docker-userns-"))
    os.chmod(tmp_path, 0o711)
    try:
        _user_namespace_maps_root(tmp_path)
    finally:
        shutil.rmtree(tmp_path)


def _user_namespace_maps_root(tmp_path):
    ns = [{"type": t} for t in ("user", "pid", "network", "ipc", "uts", "mount")]
    bundle = sh(tmp_path, "id -u; cat /proc/self/uid_map; ls /dev/null; ip -o link | wc -l",
                linux={"namespaces": ns,
                       "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                       "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]})
    subprocess.run(["chown", "-R", "100000:100000", str(bundle / "rootfs")], check=True)
    result, out, err = run_captured(bundle)
    assert result.exit_code == 0, err
    lines = out.splitlines()
    assert lines[0] == "0" and lines[1].split() == ["0", "100000", "65536"]
    assert lines[2] == "/dev/null" and lines[3].strip() == "1"


def _mountinfo() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return f.read().splitlines()
