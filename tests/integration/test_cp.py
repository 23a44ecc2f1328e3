"""`cp` through the console script: Docker's path rules both ways, `-`
tars, `-a`, `-L`, running and stopped containers, and the attacks the
container side can try (CVE-2018-15664, the CVE-2019-14271 class): hostile
symlinks, and symlinks swapped in by a process in the container while the
copy runs. The host file they aim at must stay unread and unchanged.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from tests.fixtures.cli import busybox_store, ok, wait_for

pytestmark = pytest.mark.root


rs = busybox_store("cp")


@pytest.fixture(scope="module")
def stopped(rs, busybox):
    """A stopped container with a small tree in /data."""
    name = "cp-stopped"
    ok(rs("run", "--network", "none", "--name", name, busybox, "sh", "-c",
          "mkdir -p /data/sub && echo one > /data/a && echo two > /data/sub/b && "
          "ln -s a /data/link && chown 1000:1000 /data/a"))
    return name


def tar_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return sorted(m.name for m in t)


def cp_bytes(rs, *args) -> bytes:
    proc = subprocess.run([str(rs.script), "--root", str(rs.root), "cp", *args],
                          capture_output=True, env=rs.base_env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_copy_out_rules(rs, stopped, tmp_path):
    # a file to a new name, then into an existing directory
    ok(rs("cp", f"{stopped}:/data/a", tmp_path / "copy"))
    assert (tmp_path / "copy").read_text() == "one\n"
    ok(rs("cp", f"{stopped}:/data/a", tmp_path))
    assert (tmp_path / "a").read_text() == "one\n"
    # copied out: the caller's file, whatever the container's owner
    assert (tmp_path / "a").stat().st_uid == os.getuid()
    # a file onto an existing file replaces it
    ok(rs("cp", f"{stopped}:/data/sub/b", tmp_path / "copy"))
    assert (tmp_path / "copy").read_text() == "two\n"
    # a directory to a new name, then into an existing directory
    ok(rs("cp", f"{stopped}:/data", tmp_path / "new"))
    assert (tmp_path / "new" / "sub" / "b").read_text() == "two\n"
    ok(rs("cp", f"{stopped}:/data", tmp_path / "new"))
    assert (tmp_path / "new" / "data" / "a").read_text() == "one\n"
    # "/." copies the content, not the directory
    (tmp_path / "flat").mkdir()
    ok(rs("cp", f"{stopped}:/data/.", tmp_path / "flat"))
    assert sorted(os.listdir(tmp_path / "flat")) == ["a", "link", "sub"]
    # a symlink is copied as a link; -L copies what it names
    ok(rs("cp", f"{stopped}:/data/link", tmp_path / "l1"))
    assert os.readlink(tmp_path / "l1") == "a"
    ok(rs("cp", "-L", f"{stopped}:/data/link", tmp_path / "l2"))
    assert (tmp_path / "l2").read_text() == "one\n"


def test_copy_out_errors(rs, stopped, tmp_path):
    (tmp_path / "file").write_text("x")
    cases = [
        ((f"{stopped}:/nope", tmp_path), "Could not find the file /nope in container"),
        ((f"{stopped}:/data", tmp_path / "file"), "cannot copy directory"),
        ((f"{stopped}:/data/a/", tmp_path), "not a directory"),
        ((f"{stopped}:/data/a", f"{tmp_path}/missing/"), "does not exist"),
        ((f"{stopped}:/data/a", tmp_path / "no" / "parent"), "no such file or directory"),
        (("nosuchcontainer:/x", tmp_path), "No such container"),
        ((tmp_path, tmp_path), "must specify at least one container source"),
    ]
    for args, message in cases:
        proc = rs("cp", *args)
        assert proc.returncode == 1, (args, proc.returncode, proc.stderr)
        assert message.lower() in proc.stderr.lower(), (args, proc.stderr)
        assert proc.stderr.startswith("rs-docker: ") and "Traceback" not in proc.stderr
    assert (tmp_path / "file").read_text() == "x"


def test_copy_out_to_stdout(rs, stopped):
    assert tar_names(cp_bytes(rs, f"{stopped}:/data", "-")) == [
        "data", "data/a", "data/link", "data/sub", "data/sub/b"]
    data = cp_bytes(rs, f"{stopped}:/data/a", "-")
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        member = t.getmember("a")
        assert (member.uid, member.gid) == (1000, 1000)
        assert t.extractfile(member).read() == b"one\n"


def test_copy_in_rules(rs, busybox, tmp_path):
    name = "cp-in"
    ok(rs("run", "--network", "none", "--name", name, busybox, "true"))
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "f").write_text("file\n")
    (src / "sub" / "g").write_text("g\n")
    os.chown(src / "f", 4321, 8765)
    ok(rs("cp", src / "f", f"{name}:/tmp/"))
    ok(rs("cp", "-a", src / "f", f"{name}:/tmp/kept"))
    ok(rs("cp", src, f"{name}:/tmp/tree"))
    ok(rs("cp", f"{src}/.", f"{name}:/tmp"))
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as t:
        info = tarfile.TarInfo("fromtar/x")
        info.size = 3
        t.addfile(info, io.BytesIO(b"tar"))
    piped = subprocess.run([str(rs.script), "--root", str(rs.root), "cp", "-", f"{name}:/"],
                           input=archive.getvalue(), capture_output=True, env=rs.base_env)
    assert piped.returncode == 0, piped.stderr
    out = tmp_path / "out"
    out.mkdir()
    ok(rs("cp", f"{name}:/", out / "root"))
    root = out / "root"
    assert (root / "tmp" / "f").read_text() == "file\n"
    assert (root / "tmp" / "tree" / "sub" / "g").read_text() == "g\n"
    assert (root / "tmp" / "sub" / "g").read_text() == "g\n"
    assert (root / "fromtar" / "x").read_text() == "tar"
    owners = {m.name: (m.uid, m.gid) for m in tarfile.open(
        fileobj=io.BytesIO(cp_bytes(rs, f"{name}:/tmp", "-")))}
    assert owners["tmp/f"] == (0, 0)            # without -a: the container's root
    assert owners["tmp/kept"] == (4321, 8765)   # -a: the owners kept
    # errors: a tar into a file, a directory onto a file, a missing parent
    (tmp_path / "t.tar").write_bytes(archive.getvalue())
    for args, message in [
        (("-", f"{name}:/tmp/f"), "not a directory"),
        ((src, f"{name}:/tmp/f"), "cannot copy directory"),
        ((src / "f", f"{name}:/no/such/dir"), "Could not find the file /no/such"),
        ((tmp_path / "missing", f"{name}:/tmp"), "no such file or directory"),
    ]:
        proc = subprocess.run([str(rs.script), "--root", str(rs.root), "cp", *map(str, args)],
                              input=archive.getvalue(), capture_output=True, env=rs.base_env)
        assert proc.returncode == 1, (args, proc.stderr)
        assert message.encode() in proc.stderr, (args, proc.stderr)


def test_running_container_both_ways(rs, busybox, tmp_path):
    cid = ok(rs("run", "--network", "none", "-d", "--tmpfs", "/scratch", busybox, "sh", "-c",
                "echo live > /scratch/made-at-runtime; exec sleep 600")).strip()
    assert wait_for(lambda: rs("exec", cid, "test", "-f", "/scratch/made-at-runtime")
                    .returncode == 0)
    # the live view: a file on the container's own tmpfs
    ok(rs("cp", f"{cid}:/scratch/made-at-runtime", tmp_path / "live"))
    assert (tmp_path / "live").read_text() == "live\n"
    (tmp_path / "in").write_text("in\n")
    ok(rs("cp", tmp_path / "in", f"{cid}:/scratch/"))
    assert ok(rs("exec", cid, "cat", "/scratch/in")) == "in\n"
    ok(rs("rm", "-f", cid))


# -- attacks ----------------------------------------------------------------------

@pytest.fixture
def canary(tmp_path):
    """A host directory with a secret file a container aims its symlinks at."""
    d = Path(f"/tmp/rs-docker-cp-canary-{uuid.uuid4().hex[:8]}")
    d.mkdir()
    secret = d / "secret"
    secret.write_text("HOST SECRET\n")
    yield d
    for p in sorted(d.rglob("*"), reverse=True):
        p.unlink() if not p.is_dir() or p.is_symlink() else p.rmdir()
    d.rmdir()


def test_hostile_symlinks_stay_inside(rs, busybox, canary, tmp_path):
    """Symlinks in the container naming host paths (absolute, and "../"
    climbing past the root) resolve inside the container: cp reads the
    container's files or nothing, and writes only into the container."""
    name = f"cp-hostile-{uuid.uuid4().hex[:6]}"
    ok(rs("run", "--network", "none", "--name", name, busybox, "sh", "-c",
          f"ln -s {canary} /abs && ln -s ../../../../../../../../{canary} /rel && "
          f"ln -s {canary}/secret /direct && mkdir -p /x{canary} && "
          f"echo container > /x{canary}/secret && ln -s /x{canary} /inside"))
    before = (canary / "secret").read_text()
    for src in ("/abs/secret", "/rel/secret", "/direct", "/abs/", "/rel/."):
        proc = rs("cp", "-L", f"{name}:{src}", tmp_path / "got")
        assert proc.returncode == 1 and "Could not find the file" in proc.stderr, proc
        assert not (tmp_path / "got").exists()
    # -L on a link that stays inside works
    ok(rs("cp", "-L", f"{name}:/inside/secret", tmp_path / "inside"))
    assert (tmp_path / "inside").read_text() == "container\n"
    # writes through the links land in the container, never on the host
    (tmp_path / "payload").write_text("PAYLOAD\n")
    for dest in ("/abs/", "/rel/", "/abs/secret", "/rel/secret"):
        rs("cp", tmp_path / "payload", f"{name}:{dest}")
    ok(rs("cp", tmp_path / "payload", f"{name}:/direct"))
    assert sorted(os.listdir(canary)) == ["secret"]
    assert (canary / "secret").read_text() == before
    # tar from stdin whose entries climb out or go through a link
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as t:
        link = tarfile.TarInfo("esc")
        link.type, link.linkname = tarfile.SYMTYPE, str(canary)
        t.addfile(link)
        for entry in ("esc/planted", "../../../../../../../" + str(canary) + "/planted2"):
            info = tarfile.TarInfo(entry)
            info.size = 4
            t.addfile(info, io.BytesIO(b"evil"))
    subprocess.run([str(rs.script), "--root", str(rs.root), "cp", "-", f"{name}:/tmp"],
                   input=archive.getvalue(), capture_output=True, env=rs.base_env)
    assert sorted(os.listdir(canary)) == ["secret"]
    assert (canary / "secret").read_text() == before


def test_symlink_swapped_while_copying(rs, busybox, canary, tmp_path):
    """CVE-2018-15664: a process in the running container swaps a directory
    for a symlink to the host's canary path (ln -sfn + rename, in a loop)
    while cp reads and writes through that path again and again. The
    canary is never read (no copy holds the secret) and never written."""
    target = str(canary)
    script = (
        f"mkdir -p /w/real /w/decoy{target} && echo decoy > /w/real/secret && "
        f"echo decoy > /w/decoy{target}/secret && "
        "while true; do "
        f"ln -sfn {target} /w/tmp-link && mv -T /w/tmp-link /w/x; "
        "ln -sfn /w/real /w/tmp-link && mv -T /w/tmp-link /w/x; "
        "done")
    cid = ok(rs("run", "--network", "none", "-d", busybox, "sh", "-c", script)).strip()
    try:
        assert wait_for(lambda: rs("exec", cid, "test", "-e", "/w/x").returncode == 0)
        (tmp_path / "payload").write_text("PAYLOAD\n")
        copied = 0
        for i in range(60):
            out = tmp_path / f"out{i}"
            proc = rs("cp", f"{cid}:/w/x/secret", out)
            if proc.returncode == 0:
                copied += 1
                assert out.read_text() != "HOST SECRET\n"
            rs("cp", tmp_path / "payload", f"{cid}:/w/x/planted")
            rs("cp", tmp_path / "payload", f"{cid}:/w/x/secret")
        assert copied > 0  # the race ran: some copies went through /w/real
        assert sorted(os.listdir(canary)) == ["secret"]
        assert (canary / "secret").read_text() == "HOST SECRET\n"
        # what the writes did land in the container
        assert ok(rs("exec", cid, "cat", "/w/real/planted")) == "PAYLOAD\n"
    finally:
        rs("rm", "-f", cid)


def test_stopped_container_volumes_and_binds(rs, busybox, tmp_path):
    """cp on a stopped container goes through its volumes and binds, as
    its start would mount them: into the volume, not under it."""
    bind = tmp_path / "bind"
    bind.mkdir()
    name = f"cp-vol-{uuid.uuid4().hex[:6]}"
    volume = f"cpvol{uuid.uuid4().hex[:6]}"
    ok(rs("run", "--network", "none", "--name", name, "-v", f"{volume}:/vol",
          "-v", f"{bind}:/bnd", busybox, "sh", "-c", "echo from-run > /vol/old"))
    (tmp_path / "in").write_text("in\n")
    ok(rs("cp", tmp_path / "in", f"{name}:/vol/"))
    ok(rs("cp", tmp_path / "in", f"{name}:/bnd/copied"))
    assert (bind / "copied").read_text() == "in\n"
    assert ok(rs("run", "--network", "none", "--rm", "-v", f"{volume}:/vol", busybox,
                 "cat", "/vol/in", "/vol/old")) == "in\nfrom-run\n"
    ok(rs("cp", f"{name}:/vol/old", tmp_path / "old"))
    assert (tmp_path / "old").read_text() == "from-run\n"
    ok(rs("rm", name))
