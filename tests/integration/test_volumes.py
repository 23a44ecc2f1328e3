"""Volumes through the console script, as a user types them: named and
anonymous volumes (`-v`, `--mount type=volume`, the image's VOLUME), the
copy-up of the image's content (owners, modes, symlinks; `nocopy`),
`--volumes-from`, relative binds, `rm -v` and `run --rm`, inspect's
Mounts, and hostile images whose VOLUME path is a symlink aimed at the
host: the copy-up must neither read nor write a host file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import module_rsd_removing
from tests.fixtures import oci
from tests.fixtures.cli import ok
from tests.fixtures.images import ImageSpec, Layer, busybox_layer, default_config, push

pytestmark = pytest.mark.root

# The image with VOLUMEs: /data holds files of other owners and modes, a
# symlink and a hard link; /empty has nothing in it.
VOLUME_LAYER = [
    oci.directory("data", mode=0o750, uid=1000, gid=1000),
    oci.file("data/owned", "owned by app\n", mode=0o640, uid=1000, gid=29),
    oci.file("data/setgid", "x\n", mode=0o2755),
    oci.symlink("data/link", "/etc/passwd"),
    oci.hardlink("data/hard", "data/owned"),
    oci.directory("data/sub", mode=0o700, uid=1000, gid=1000),
    oci.file("data/sub/deep", "deep\n"),
    oci.directory("empty"),
]


def volume_config() -> dict:
    return {**default_config(), "Volumes": {"/data": {}, "/empty": {}}}


@pytest.fixture(scope="module")
def volume_image(pusher) -> str:
    spec = ImageSpec([busybox_layer(), Layer.from_entries(VOLUME_LAYER)], volume_config())
    return push(pusher, "volumes/withvolume", "latest", spec).ref


@pytest.fixture(scope="module")
def rs(images, volume_image, tmp_path_factory):
    yield from module_rsd_removing(tmp_path_factory, "volumes", images.busybox.ref,
                                   volume_image)


def inspect(rs, what: str, *args) -> list:
    return json.loads(ok(rs(*args, "inspect", what)))


def volume_names(rs) -> set[str]:
    return set(ok(rs("volume", "ls", "-q")).split())


# -- the example ---------------------------------------------------------

def test_named_volume_keeps_data_between_containers(rs, busybox):
    ok(rs("run", "--rm", "-v", "data:/d", busybox, "sh", "-c", "echo x >/d/f"))
    assert ok(rs("run", "--rm", "-v", "data:/d", busybox, "cat", "/d/f")) == "x\n"
    assert "data" in volume_names(rs)
    vol = json.loads(ok(rs("volume", "inspect", "data")))[0]
    assert vol["Name"] == "data" and vol["Driver"] == "local" and vol["Scope"] == "local"
    assert Path(vol["Mountpoint"], "f").read_text() == "x\n"
    assert vol["Mountpoint"] == str(rs.root / "volumes" / "data" / "_data")


def test_read_only_volume(rs, busybox):
    proc = rs("run", "--rm", "-v", "rodata:/d:ro", busybox, "sh", "-c", "echo x >/d/f")
    assert proc.returncode != 0
    assert "Read-only file system" in proc.stderr
    proc = rs("run", "--rm", "--mount", "type=volume,src=rodata,dst=/d,readonly", busybox,
              "touch", "/d/f")
    assert proc.returncode != 0


def test_inspect_mounts(rs, busybox, tmp_path):
    cid = ok(rs("create", "-v", "shown:/v:ro", "-v", f"{tmp_path}:/b", "-v", "/anon",
                busybox, "true")).strip()
    mounts = {m["Destination"]: m for m in inspect(rs, cid)[0]["Mounts"]}
    assert mounts["/v"] == {"Type": "volume", "Name": "shown",
                            "Source": str(rs.root / "volumes/shown/_data"),
                            "Destination": "/v", "Driver": "local", "Mode": "ro", "RW": False,
                            "Propagation": ""}
    assert mounts["/b"]["Type"] == "bind" and mounts["/b"]["Source"] == str(tmp_path)
    assert mounts["/b"]["RW"] is True and mounts["/b"]["Propagation"] == "rprivate"
    anon = mounts["/anon"]
    assert anon["Type"] == "volume" and len(anon["Name"]) == 64 and anon["RW"] is True
    labels = json.loads(ok(rs("volume", "inspect", anon["Name"])))[0]["Labels"]
    assert "com.docker.volume.anonymous" in labels
    ok(rs("rm", "-v", cid))


# -- copy-up -------------------------------------------------------------------------

def test_image_volume_copied_up_with_owners_and_modes(rs, volume_image):
    out = ok(rs("run", "--rm", "-v", "copied:/data", volume_image, "sh", "-c",
                "stat -c '%n %u:%g %a' /data /data/owned /data/setgid /data/sub;"
                "readlink /data/link; cat /data/sub/deep;"
                "stat -c %i /data/owned /data/hard | uniq | wc -l"))
    lines = out.splitlines()
    assert lines[:4] == ["/data 1000:1000 750", "/data/owned 1000:29 640",
                         "/data/setgid 0:0 2755", "/data/sub 1000:1000 700"]
    assert lines[4:] == ["/etc/passwd", "deep", "1"]
    # On the host, in the store: the same owners, and the symlink as a symlink.
    data = rs.root / "volumes" / "copied" / "_data"
    assert (data / "owned").stat().st_uid == 1000
    assert os.readlink(data / "link") == "/etc/passwd"


def test_copy_up_only_into_an_empty_volume(rs, volume_image, busybox):
    ok(rs("run", "--rm", "-v", "prefilled:/x", busybox, "sh", "-c", "echo mine >/x/keep"))
    out = ok(rs("run", "--rm", "-v", "prefilled:/data", volume_image, "ls", "/data"))
    assert out.split() == ["keep"]


def test_copy_up_into_an_existing_empty_volume(rs, volume_image):
    ok(rs("volume", "create", "made-empty"))
    out = ok(rs("run", "--rm", "-v", "made-empty:/data", volume_image, "sh", "-c",
                "stat -c '%u:%g %a' /data /data/owned; ls /data"))
    assert out.splitlines() == ["1000:1000 750", "1000:29 640", "hard", "link", "owned",
                                "setgid", "sub"]
    assert not list((rs.root / "tmp").glob("copyup-*"))


def test_nocopy(rs, volume_image):
    out = ok(rs("run", "--rm", "-v", "nocopied:/data:nocopy", volume_image, "ls", "-A", "/data"))
    assert out == ""
    out = ok(rs("run", "--rm", "--mount", "type=volume,src=nocopied2,dst=/data,volume-nocopy",
                volume_image, "ls", "-A", "/data"))
    assert out == ""


def test_image_volume_is_an_anonymous_volume(rs, volume_image):
    before = volume_names(rs)
    cid = ok(rs("create", volume_image, "sh", "-c", "echo kept >/data/new")).strip()
    mounts = {m["Destination"]: m for m in inspect(rs, cid)[0]["Mounts"]}
    assert set(mounts) == {"/data", "/empty"}
    names = {m["Name"] for m in mounts.values()}
    assert names <= volume_names(rs) - before
    ok(rs("start", "-a", cid))
    data = Path(mounts["/data"]["Source"])
    assert (data / "new").read_text() == "kept\n" and (data / "owned").exists()
    # rm without -v keeps them; with -v (another container) they go.
    ok(rs("rm", cid))
    assert names <= volume_names(rs)
    for name in names:
        ok(rs("volume", "rm", name))


def test_mount_covers_image_volume(rs, volume_image, tmp_path):
    before = volume_names(rs)
    (tmp_path / "mine").write_text("host\n")
    out = ok(rs("run", "--rm", "-v", f"{tmp_path}:/data", "--tmpfs", "/empty", volume_image,
                "ls", "/data"))
    assert out.split() == ["mine"]
    assert volume_names(rs) == before


# -- removal ---------------------------------------------------------------------------

def test_rm_v_removes_anonymous_volumes_only(rs, busybox):
    cid = ok(rs("create", "-v", "named-survives:/n", "-v", "/anon", busybox, "true")).strip()
    mounts = {m["Destination"]: m for m in inspect(rs, cid)[0]["Mounts"]}
    anon = mounts["/anon"]["Name"]
    assert {"named-survives", anon} <= volume_names(rs)
    ok(rs("rm", "-v", cid))
    names = volume_names(rs)
    assert "named-survives" in names and anon not in names


def test_run_rm_removes_anonymous_volumes(rs, busybox, volume_image):
    before = volume_names(rs)
    ok(rs("run", "--rm", "-v", "/scratch", "-v", "rm-named:/n", volume_image, "true"))
    assert volume_names(rs) - before == {"rm-named"}
    cid = ok(rs("run", "-d", "--rm", "-v", "/scratch", busybox, "true")).strip()
    ok(rs("wait", cid)) if rs("inspect", cid).returncode == 0 else None
    from tests.fixtures.cli import wait_for

    assert wait_for(lambda: volume_names(rs) - before == {"rm-named"})


def test_volume_in_use_cannot_be_removed(rs, busybox):
    cid = ok(rs("create", "--name", "user-of-busy", "-v", "busy:/b", busybox, "true")).strip()
    proc = rs("volume", "rm", "busy")
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"rs-docker: remove busy: volume is in use - [{cid}]"
    proc = rs("volume", "rm", "-f", "busy")
    assert proc.returncode == 1 and "volume is in use" in proc.stderr
    ok(rs("rm", cid))
    ok(rs("volume", "rm", "busy"))
    assert "busy" not in volume_names(rs)


# -- --volumes-from and relative binds ----------------------------------------------------

def test_volumes_from(rs, busybox, tmp_path):
    src = ok(rs("create", "--name", "vsource", "-v", "shared:/shared", "-v",
                f"{tmp_path}:/hostdir", busybox, "true")).strip()
    ok(rs("run", "--rm", "--volumes-from", "vsource", busybox, "sh", "-c",
          "echo via-from >/shared/f; echo bound >/hostdir/g"))
    assert (tmp_path / "g").read_text() == "bound\n"
    assert ok(rs("run", "--rm", "-v", "shared:/s", busybox, "cat", "/s/f")) == "via-from\n"
    proc = rs("run", "--rm", "--volumes-from", "vsource:ro", busybox, "touch", "/shared/h")
    assert proc.returncode != 0 and "Read-only file system" in proc.stderr
    proc = rs("run", "--rm", "--volumes-from", "no-such-container", busybox, "true")
    assert proc.returncode == 125 and "No such container: no-such-container" in proc.stderr
    ok(rs("rm", src))


def test_relative_binds(rs, busybox, tmp_path):
    work = tmp_path / "work"
    (work / "dir").mkdir(parents=True)
    (work / "dir" / "here").write_text("relative\n")
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "there").write_text("parent\n")
    env_cwd = {"cwd": work}
    import subprocess

    def run(*args):
        return subprocess.run([str(rs.script), "--root", str(rs.root), *args],
                              capture_output=True, text=True, env=rs.base_env, **env_cwd)

    proc = run("run", "--rm", "-v", "./dir:/x", "-v", "../up:/y", busybox, "cat", "/x/here",
               "/y/there")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "relative\nparent\n"
    # The record holds the absolute path, as Docker's CLI sends it.
    proc = run("create", "-v", ".:/cwd", busybox, "true")
    cid = proc.stdout.strip()
    assert inspect(rs, cid)[0]["HostConfig"]["Binds"] == [f"{work}:/cwd"]
    ok(rs("rm", cid))


def test_bad_volume_names(rs, busybox):
    proc = rs("run", "--rm", "-v", "a:/x", busybox, "true")
    assert proc.returncode == 125
    assert "volume name is too short" in proc.stderr
    proc = rs("run", "--rm", "-v", "bad$name:/x", busybox, "true")
    assert proc.returncode == 125
    assert ('"bad$name" includes invalid characters for a local volume name, only '
            '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
            "directory, use absolute path") in proc.stderr
    assert "Traceback" not in proc.stderr


# -- hostile images ---------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["absolute", "dotdot"])
def test_hostile_volume_symlink_stays_in_the_image(rs, pusher, tmp_path, how):
    """VOLUME /data with /data a symlink to a host directory (absolute, or
    climbing with ../): the copy-up resolves it inside the image, so the
    host directory's file is neither copied into the volume nor is anything
    written into the host directory."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "secret").write_text("host secret\n")
    host_etc = set(os.listdir("/etc"))
    target = str(victim) if how == "absolute" else "../../../../../.." + str(victim)
    entries = [oci.symlink("data", target), oci.symlink("etcvol", "../../../etc")]
    config = {**default_config(), "Volumes": {"/data": {}, "/etcvol": {}}}
    ref = push(pusher, f"volumes/hostile-{how}", "latest",
               ImageSpec([busybox_layer(), Layer.from_entries(entries)], config)).ref
    cid = ok(rs("create", ref, "sh", "-c", "echo written >/data/new; ls /data")).strip()
    mounts = {m["Destination"]: m for m in inspect(rs, cid)[0]["Mounts"]}
    data = Path(mounts["/data"]["Source"])
    assert list(data.iterdir()) == []  # the image has nothing at the victim's path
    # /etcvol -> ../../../etc is the image's /etc: busybox's passwd, never the host's.
    etcvol = Path(mounts["/etcvol"]["Source"])
    assert sorted(p.name for p in etcvol.iterdir()) == ["group", "motd", "passwd"]
    assert "app:x:1000" in (etcvol / "passwd").read_text()
    proc = rs("start", "-a", cid)
    assert proc.returncode == 0, proc.stderr
    assert "secret" not in proc.stdout
    assert sorted(os.listdir(victim)) == ["secret"]
    assert (victim / "secret").read_text() == "host secret\n"
    assert set(os.listdir("/etc")) == host_etc
    ok(rs("rm", "-v", cid))
