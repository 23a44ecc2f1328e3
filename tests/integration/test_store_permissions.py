"""The store is closed to other local users (issue 10 item 2, the
CVE-2021-41091 class): as `nobody`, a setuid-root binary an image carries
(in layers/) or a container made (in its upper dir) cannot be executed
through its host path, a device node cannot be opened, and the `-e`
secret in config.json / container.json cannot be read. A store an older
rs-docker left open is closed by the next command.

The store lives in a directory of its own under /var/tmp that every user
may traverse (pytest's own tmp dirs are 0700, which would hide the store
whatever its modes), so only the store's own modes stand in the way."""

from __future__ import annotations

import errno
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import DockerConfig, Rsd
from tests.fixtures import oci
from tests.fixtures.busybox import BUSYBOX
from tests.fixtures.images import MOTD, ImageSpec, Layer, busybox_layer, push_image
from tests.fixtures.procs import in_child
from tests.fixtures.rootless import make_user, remove_user

pytestmark = pytest.mark.root

SECRET = "SECRET=hunter2-do-not-leak"
NOBODY = pwd.getpwnam("nobody")


@pytest.fixture(scope="module")
def setuid_image(pusher):
    """busybox plus /sb, a copy of busybox setuid root (04755), and /nul, a
    character device (1:3, /dev/null's numbers) that anyone may open."""
    probe = Layer.from_entries([
        oci.file("sb", BUSYBOX.read_bytes(), mode=0o4755),
        oci.Entry("nul", "char", mode=0o666, devmajor=1, devminor=3),
    ])
    return push_image(pusher, "perms-setuid", "latest", ImageSpec([busybox_layer(), probe]))


@pytest.fixture(scope="module")
def open_base():
    """A directory every user may traverse, removed at the end."""
    base = Path(tempfile.mkdtemp(prefix="rs-perms-", dir="/var/tmp"))
    base.chmod(0o711)
    yield base
    shutil.rmtree(base)


def _store(base: Path, name: str) -> Rsd:
    (base / f"{name}-cfg").mkdir()
    return Rsd(base / name, DockerConfig(base / f"{name}-cfg"))


def _populate(rs: Rsd, ref: str) -> dict:
    """Pull `ref`, then run a container with a secret in its environment
    that leaves a setuid-root busybox and a device node in its upper dir.
    Returns the host paths an attacker would aim at."""
    rs("pull", "-q", ref, check=True)
    rs("run", "--name", "writer", "-e", SECRET, ref, "sh", "-c",
       "cp /bin/busybox /usb && chmod 4755 /usb && mknod /unul c 1 3 && chmod 666 /unul",
       check=True)
    record = json.loads(rs("inspect", "writer", check=True).stdout)[0]
    upper = Path(record["GraphDriver"]["Data"]["UpperDir"])
    [layer] = [p.parent for p in (rs.root / "layers").glob("*/sb")]
    cdir = Path(record["HostnamePath"]).parent
    targets = {"layer_setuid": layer / "sb", "layer_device": layer / "nul",
               "upper_setuid": upper / "usb", "upper_device": upper / "unul",
               "config": cdir / "config.json", "record": cdir / "container.json"}
    # The bait is there, as root sees it: what makes a refusal below mean something.
    for key in ("layer_setuid", "upper_setuid"):
        st = targets[key].stat()
        assert st.st_uid == 0 and st.st_mode & stat.S_ISUID, key
    for key in ("layer_device", "upper_device"):
        assert stat.S_ISCHR(targets[key].stat().st_mode), key
    for key in ("config", "record"):
        assert SECRET in targets[key].read_text(), key
    return targets


def _as_nobody(action) -> int:
    """Run action() in a child as nobody (no groups); 0 if it succeeded,
    else the errno it failed with."""
    def child():
        os.setgroups([])
        os.setgid(NOBODY.pw_gid)
        os.setuid(NOBODY.pw_uid)
        try:
            action()
        except OSError as e:
            return e.errno
        return 0
    return in_child(child)


def _execute(path: Path):
    # What the attacker does: exec the setuid binary by its host path.
    return lambda: subprocess.run([str(path), "id", "-u"], capture_output=True, timeout=30)


def _open(path: Path, flags: int = os.O_RDONLY):
    return lambda: os.close(os.open(path, flags))


def _attempts(targets: dict) -> dict[str, int]:
    return {
        "exec layer setuid": _as_nobody(_execute(targets["layer_setuid"])),
        "exec upper setuid": _as_nobody(_execute(targets["upper_setuid"])),
        "open layer device": _as_nobody(_open(targets["layer_device"], os.O_RDWR)),
        "open upper device": _as_nobody(_open(targets["upper_device"], os.O_RDWR)),
        "read config.json": _as_nobody(_open(targets["config"])),
        "read container.json": _as_nobody(_open(targets["record"])),
    }


def _all_refused(attempts: dict[str, int]) -> None:
    assert attempts == dict.fromkeys(attempts, errno.EACCES)


def test_other_users_cannot_use_what_the_store_holds(open_base, setuid_image):
    rs = _store(open_base, "store")
    targets = _populate(rs, setuid_image.ref)
    _all_refused(_attempts(targets))
    assert stat.S_IMODE(rs.root.stat().st_mode) == 0o700


def test_records_are_private_whatever_the_umask(open_base, setuid_image):
    rs = _store(open_base, "umask")
    old = os.umask(0)
    try:
        targets = _populate(rs, setuid_image.ref)
    finally:
        os.umask(old)
    root = rs.root
    records = [root / "images.json", root / "names" / "writer", targets["config"],
               targets["record"], *(root / "blobs" / "sha256").iterdir()]
    assert {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in records} == \
        {str(p): "0o600" for p in records}
    dirs = [root, *(root / d for d in ("blobs", "layers", "containers", "names", "locks",
                                       "tmp"))]
    assert {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in dirs} == \
        {str(p): "0o700" for p in dirs}


def _open_up(root: Path, cdir: Path) -> None:
    """Give a store the modes an older rs-docker left: 0755 dirs, 0644 records."""
    for d in (root, root / "layers", root / "containers", root / "names", root / "locks",
              root / "blobs", root / "blobs" / "sha256"):
        d.chmod(0o755)
    for f in (root / "images.json", cdir / "config.json", cdir / "container.json",
              *(root / "names").iterdir(), *(root / "blobs" / "sha256").iterdir()):
        f.chmod(0o644)
    # ... and one lock file per blob it ever fetched.
    for i in range(3):
        (root / "locks" / f"blob-sha256-{i:064x}.lock").touch()


def test_an_old_open_store_is_closed_by_the_next_command(open_base, setuid_image):
    rs = _store(open_base, "old")
    targets = _populate(rs, setuid_image.ref)
    _open_up(rs.root, targets["config"].parent)
    # The store as it was: wide open (the attacks above all succeed).
    assert _as_nobody(_open(targets["config"])) == 0
    assert rs("ps", "-a", check=True).returncode == 0  # any command
    _all_refused(_attempts(targets))
    assert stat.S_IMODE(rs.root.stat().st_mode) == 0o700
    assert oct(stat.S_IMODE(targets["record"].stat().st_mode)) == "0o600"
    assert not [n for n in os.listdir(rs.root / "locks") if n.startswith(("blob-", "layer-"))]
    # Still a working store.
    assert rs("run", "--rm", setuid_image.ref, "cat", "/etc/motd", check=True).stdout


def test_a_rootless_store_is_its_users_alone(images):
    """As a user with subordinate ids: the store in the user's home is
    closed to others too (a home others may enter, as Debian's default
    0755 is), and the container's other ids still reach its root."""
    user = make_user(f"rsdperm{os.getpid() % 10000}", subids=True)
    try:
        user.home.chmod(0o755)
        ref = images.busybox.ref
        for args in (("pull", "-q", ref),
                     ("run", "--name", "writer", "-e", SECRET, ref, "sh", "-c",
                      "cp /bin/busybox /usb && chmod 4755 /usb")):
            proc = user.rsd(*args)
            assert proc.returncode == 0, proc.stderr
        [config] = (user.store / "containers").glob("*/config.json")
        usb = config.parent / "upper" / "usb"
        assert SECRET in config.read_text() and usb.stat().st_mode & stat.S_ISUID
        assert {"read config.json": _as_nobody(_open(config)),
                "exec upper setuid": _as_nobody(_execute(usb))} == \
            {"read config.json": errno.EACCES, "exec upper setuid": errno.EACCES}
        assert stat.S_IMODE(user.store.stat().st_mode) == 0o700
        proc = user.rsd("run", "--rm", "-u", "1000:1000", ref, "sh", "-c", "id -u; cat /etc/motd")
        assert (proc.returncode, proc.stdout) == (0, "1000\n" + MOTD), proc.stderr
    finally:
        remove_user(user)
