"""Escapes a naive runtime leaves open, tried from hostile images and from
inside containers (run as root, through the console script as a user types
it, and through runtime.exec_in for the second process of a container).

- CVE-2019-5736: no /proc/PID/exe inside may be the host's interpreter;
- no host fd and no host cwd reaches the container's processes;
- an image's symlinks (/mnt -> /, /mnt -> ../../..) cannot redirect a bind
  mount, the workdir or the per-container /etc files onto the host;
- an image's /etc/passwd symlinked to a host file is resolved inside the
  image, never read from the host.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import module_rsd
from tests.fixtures import oci
from tests.fixtures.cli import ok
from tests.fixtures.images import ImageSpec, Layer, busybox_layer, default_config, push

pytestmark = pytest.mark.root

# Host paths the hostile images aim at: they must never appear.
PROBE = "rs-docker-escape-probe"
HOST_PASSWD = Path(f"/tmp/{PROBE}-passwd")


@pytest.fixture(scope="module")
def rs(images, tmp_path_factory):
    return module_rsd(tmp_path_factory, "escapes", images.busybox.ref)


def hostile(pusher, name: str, entries: list, config: dict | None = None) -> str:
    """busybox with one more layer of `entries`; returns its reference."""
    spec = ImageSpec([busybox_layer(), Layer.from_entries(entries)], config or default_config())
    return push(pusher, "escapes/" + name, "latest", spec).ref


def host_untouched(*paths: str) -> None:
    for p in paths:
        assert not os.path.lexists(p), f"{p} appeared on the host"


# -- CVE-2019-5736: /proc/PID/exe ---------------------------------------------------

def host_interpreter() -> str:
    st = os.stat(os.path.realpath(sys.executable))
    return f"{st.st_dev}:{st.st_ino}"


EXE_PROBE = "for f in /proc/[0-9]*/exe; do stat -L -c '%d:%i %N' $f; done 2>/dev/null"


def test_no_proc_exe_is_the_host_interpreter_in_run(rs, images):
    lines = ok(rs("run", "--rm", images.busybox.ref, "sh", "-c", EXE_PROBE)).splitlines()
    assert lines, "no /proc/*/exe seen at all"
    assert all(host_interpreter() != line.split()[0] for line in lines), lines
    assert all("python" not in line for line in lines), lines


def test_no_proc_exe_is_the_host_interpreter_in_exec(tmp_path):
    """The exec'd process's parent (a host python) stays outside the PID
    namespace; the process itself is non-dumpable until it execs, so even a
    container process racing it cannot open its exe."""
    from rs_docker.runtime.process.exec import exec_in
    from rs_docker.runtime.process.start import spawn
    from tests.fixtures.bundle import make_bundle

    bundle = make_bundle(tmp_path, ["sleep", "1000"])
    config = json.loads((bundle / "config.json").read_text())
    c = spawn(bundle)
    try:
        with tempfile.TemporaryFile() as out:
            # A watcher inside races the second exec (the one it can see).
            watch = "for i in $(seq 300); do " + EXE_PROBE + "; done"
            exec_args = {"cwd": "/", "env": ["PATH=/bin:/usr/bin"]}
            result = exec_in(c.pid, {"args": ["sh", "-c", watch + " & sleep 0.05; " +
                                              "wait"], **exec_args},
                             config, stdin=None, stdout=out.fileno(), stderr=out.fileno())
            assert result.exit_code == 0
            for _ in range(5):
                exec_in(c.pid, {"args": ["true"], **exec_args}, config, stdin=None,
                        stdout=out.fileno(), stderr=out.fileno())
            out.seek(0)
            lines = out.read().decode().splitlines()
    finally:
        c.kill(9)
        c.wait()
    assert lines
    assert all(host_interpreter() != line.split()[0] for line in lines), lines


# -- fds and cwd ------------------------------------------------------------------------

def test_no_host_fd_reaches_the_container(rs, images, tmp_path):
    """rs-docker inherits an fd (pass_fds) and keeps its own: the container's
    PID 1 has 0, 1, 2 only, and its cwd is its own root."""
    secret = tmp_path / "secret"
    secret.write_text("host secret\n")
    fd = os.open(secret, os.O_RDONLY)
    try:
        proc = subprocess.run(
            [str(rs.script), "--root", str(rs.root), "run", "--rm", images.busybox.ref,
             "sh", "-c", "ls /proc/1/fd; readlink /proc/1/cwd; readlink /proc/1/root"],
            capture_output=True, text=True, pass_fds=(fd,), env=rs.base_env, timeout=60)
    finally:
        os.close(fd)
    lines = ok(proc).split()
    assert lines == ["0", "1", "2", "/", "/"], lines


def test_no_host_fd_or_cwd_reaches_an_exec(tmp_path):
    from rs_docker.runtime.process.exec import exec_in
    from rs_docker.runtime.process.start import spawn
    from tests.fixtures.bundle import make_bundle

    bundle = make_bundle(tmp_path, ["sleep", "1000"])
    config = json.loads((bundle / "config.json").read_text())
    c = spawn(bundle)
    leaked = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    os.set_inheritable(leaked, True)
    old_cwd = os.getcwd()
    os.chdir(tmp_path)  # a host cwd the exec must not keep
    try:
        with tempfile.TemporaryFile() as out:
            result = exec_in(c.pid, {"args": ["sh", "-c", "ls /proc/$$/fd; readlink "
                                              "/proc/$$/cwd; ls /proc/$PPID 2>&1 | head -1"],
                                     "cwd": "/tmp", "env": ["PATH=/bin:/usr/bin"]},
                             config, stdin=None, stdout=out.fileno(), stderr=out.fileno())
            out.seek(0)
            text = out.read().decode()
    finally:
        os.chdir(old_cwd)
        os.close(leaked)
        c.kill(9)
        c.wait()
    assert result.exit_code == 0, text
    lines = text.splitlines()
    assert lines[:4] == ["0", "1", "2", "/tmp"], text
    # The exec's parent is outside the PID namespace: no /proc entry for it.
    assert "No such file" in lines[4] or lines[4].startswith("ls:"), text


# -- symlinks in the rootfs --------------------------------------------------------------

@pytest.fixture(scope="module")
def symlinked(pusher):
    """/mnt -> /, /up -> ../../.., /abs -> /../../../tmp, /etc/hostname -> host path."""
    return hostile(pusher, "symlinks", [
        oci.symlink("mnt", "/"), oci.symlink("up", "../../.."),
        oci.symlink("abs", f"/../../../tmp/{PROBE}-abs"),
        oci.symlink("wd", f"../../../../tmp/{PROBE}-wd"),
    ])


@pytest.mark.parametrize("link", ["mnt", "up"])
def test_bind_target_through_a_symlink_stays_inside(rs, symlinked, tmp_path, link):
    data = tmp_path / "data"
    data.mkdir()
    (data / "f").write_text("bound\n")
    target = f"/{link}/{PROBE}-bind"
    proc = rs("run", "--rm", "-v", f"{data}:{target}", symlinked, "sh", "-c",
              f"cat /{PROBE}-bind/f; touch {target}/written")
    assert ok(proc) == "bound\n"
    host_untouched(f"/{PROBE}-bind")
    assert (data / "written").exists()  # the mount happened, inside the root


def test_bind_file_target_through_a_symlink_stays_inside(rs, symlinked, tmp_path):
    src = tmp_path / "file"
    src.write_text("file\n")
    proc = rs("run", "--rm", "-v", f"{src}:/abs", symlinked, "cat", f"/tmp/{PROBE}-abs")
    assert ok(proc) == "file\n"
    host_untouched(f"/tmp/{PROBE}-abs")


def test_workdir_through_a_symlink_stays_inside(rs, symlinked):
    proc = rs("run", "--rm", "-w", "/wd/sub", symlinked, "pwd", "-P")
    # The link is followed inside the root: created there, not on the host.
    assert ok(proc) == f"/tmp/{PROBE}-wd/sub\n"
    host_untouched(f"/tmp/{PROBE}-wd")


def test_etc_files_through_symlinks_stay_inside(rs, pusher):
    """/etc/hosts, /etc/hostname, /etc/resolv.conf are bind-mounted by
    rs-docker: an image's links for them must not aim those mounts."""
    ref = hostile(pusher, "etclinks", [
        oci.directory("etc"),
        oci.symlink("etc/hosts", f"/../../tmp/{PROBE}-hosts"),
        oci.symlink("etc/hostname", f"../../../tmp/{PROBE}-hostname"),
        oci.symlink("etc/resolv.conf", "/etc/shadow"),
    ])
    proc = rs("run", "--rm", "--hostname", "inside", ref, "cat", "/etc/hostname")
    assert ok(proc) == "inside\n"
    host_untouched(f"/tmp/{PROBE}-hosts", f"/tmp/{PROBE}-hostname")
    assert "nameserver" not in Path("/etc/shadow").read_text()


# -- /etc/passwd symlinked to the host -----------------------------------------------------

@pytest.fixture
def host_passwd():
    HOST_PASSWD.write_text("evil:x:4242:4242::/:/bin/sh\n")
    yield HOST_PASSWD
    HOST_PASSWD.unlink()


def test_passwd_symlink_to_a_host_file_is_not_read(rs, pusher, host_passwd):
    ref = hostile(pusher, "passwdlink", [
        oci.directory("etc"), oci.symlink("etc/passwd", str(host_passwd)),
        oci.symlink("etc/group", "/etc/shadow")])
    proc = rs("run", "--rm", "-u", "evil", ref, "id", "-u")
    assert proc.returncode == 125, proc.stdout
    assert "4242" not in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == \
        "rs-docker: unable to find user evil: no matching entries in passwd file"
    # Root needs no passwd entry: the image still runs.
    assert ok(rs("run", "--rm", ref, "id", "-u")) == "0\n"


def test_passwd_symlink_resolves_inside_the_image(rs, pusher, host_passwd):
    ref = hostile(pusher, "passwdinside", [
        oci.directory("etc"), oci.symlink("etc/passwd", f"../../..{host_passwd}"),
        oci.directory("tmp"), oci.file(str(host_passwd).lstrip("/"),
                                       "evil:x:77:77::/:/bin/sh\n")])
    assert ok(rs("run", "--rm", "-u", "evil", ref, "id", "-u")) == "77\n"
