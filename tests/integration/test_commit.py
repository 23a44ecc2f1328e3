"""diff, commit, export, import, history, image/container/system prune and
system df through the console script; a commit killed -9 half way; a
committed and an imported image pushed to the test registry and run from
a fresh store."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import tarfile
import threading
import uuid

import pytest

from tests.conftest import Rsd
from tests.fixtures.cli import busybox_store, ok, wait_for

pytestmark = pytest.mark.root

NET = ("--network", "none")


rs = busybox_store("commit")


def run_named(rs, busybox, script: str) -> str:
    name = f"c-{uuid.uuid4().hex[:8]}"
    ok(rs("run", *NET, "--name", name, busybox, "sh", "-c", script))
    return name


def inspect(rs, ref: str) -> dict:
    return json.loads(ok(rs("image", "inspect", ref)))[0]


CHANGES = ("echo new > /tmp/new && rm /etc/motd && echo extra >> /etc/passwd && "
           "mkdir /newdir && rm -rf /usr && mkdir -p /usr/only")


def test_diff_lines(rs, busybox):
    name = run_named(rs, busybox, CHANGES)
    lines = ok(rs("diff", name)).splitlines()
    for line in ("C /etc", "D /etc/motd", "C /etc/passwd", "A /newdir", "C /tmp",
                 "A /tmp/new", "D /usr", "A /usr/only"):
        assert line in lines, (line, lines)
    # the per-container mount points are no change of the container's
    assert not any(line.endswith(("/etc/hosts", "/etc/hostname", "/etc/resolv.conf"))
                   for line in lines)
    assert lines.index("C /etc") < lines.index("D /etc/motd")
    assert rs("diff", "nosuch").returncode == 1


def test_commit_then_run(rs, busybox):
    name = run_named(rs, busybox, CHANGES)
    proc = rs("commit", "-a", "Ann <ann@example.com>", "-m", "my change",
              "-c", "ENV GREETING=hello", "-c", 'CMD ["cat", "/tmp/new"]',
              "-c", "WORKDIR /newdir", "-c", "LABEL team=data", "-c", "EXPOSE 8080",
              name, "committed:v1")
    image_id = ok(proc).strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    assert ok(rs("run", *NET, "--rm", "committed:v1")) == "new\n"
    out = ok(rs("run", *NET, "--rm", "committed:v1", "sh", "-c",
                "echo $GREETING; pwd; ls /usr; test -e /etc/motd || echo gone; "
                "tail -1 /etc/passwd"))
    assert out == "hello\n/newdir\nonly\ngone\nextra\n"
    info = inspect(rs, "committed:v1")
    assert info["Id"] == image_id and info["Author"] == "Ann <ann@example.com>"
    assert info["Config"]["Labels"]["team"] == "data"
    assert "8080/tcp" in info["Config"]["ExposedPorts"]
    assert len(info["RootFS"]["Layers"]) == 2
    history = ok(rs("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}",
                    "committed:v1")).splitlines()
    assert history[0] == f"sh -c {CHANGES}|my change"
    rows = ok(rs("history", "committed:v1")).splitlines()
    assert rows[0].split()[:5] == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE"]
    assert rows[1].startswith(image_id[7:19]) and rows[2].startswith("<missing>")
    assert ok(rs("image", "history", "-q", "committed:v1")).splitlines() == [
        image_id[7:19], "<missing>"]


def test_commit_of_nothing_and_bad_changes(rs, busybox):
    name = run_named(rs, busybox, "true")
    image_id = ok(rs("commit", name)).strip()
    info = inspect(rs, image_id)
    assert len(info["RootFS"]["Layers"]) == 1      # no change: no layer, as Docker
    assert info["RepoTags"] == []
    for change, message in (("FROM busybox", "FROM is not a valid change command"),
                            ("RUN true", "RUN is not a valid change command")):
        proc = rs("commit", "-c", change, name, "x:y")
        assert proc.returncode == 1 and message in proc.stderr, proc
    assert rs("commit", "nosuch").returncode == 1


def test_export_import_roundtrip(rs, busybox, tmp_path):
    name = run_named(rs, busybox, CHANGES)
    out = tmp_path / "fs.tar"
    ok(rs("export", "-o", out, name))
    with tarfile.open(out) as t:
        names = set(t.getnames())
        assert "tmp/new" in names and "bin/busybox" in names and "usr/only" in names
        assert "etc/motd" not in names and not any(n.startswith(("/", "./")) for n in names)
        assert t.extractfile("tmp/new").read() == b"new\n"
    # import: a file, with a change and a message
    image_id = ok(rs("import", "-c", 'CMD ["cat", "/tmp/new"]', "-m", "from a file",
                     out, "imported:v1")).strip()
    assert image_id.startswith("sha256:")
    assert ok(rs("run", *NET, "--rm", "imported:v1")) == "new\n"
    assert ok(rs("history", "--format", "{{.Comment}}", "imported:v1")) == "from a file\n"
    # import from stdin, gzip-compressed
    import gzip

    piped = subprocess.run([str(rs.script), "--root", str(rs.root), "import", "-",
                            "imported:stdin"], input=gzip.compress(out.read_bytes()),
                           capture_output=True, env=rs.base_env)
    assert piped.returncode == 0, piped.stderr
    assert ok(rs("run", *NET, "--rm", "imported:stdin", "cat", "/tmp/new")) == "new\n"
    # import from a URL (a server on 127.0.0.1)
    handler = type("H", (http.server.SimpleHTTPRequestHandler,),
                   {"log_message": lambda *a: None})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: handler(*a, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/fs.tar"
        ok(rs("import", url, "imported:url"))
        assert ok(rs("history", "--format", "{{.Comment}}", "imported:url")) == \
            f"Imported from {url}\n"
    finally:
        server.shutdown()
    assert rs("import", tmp_path / "missing.tar").returncode == 1


def test_push_committed_and_imported(rs, busybox, registry, tmp_path, tmp_path_factory):
    name = run_named(rs, busybox, "echo pushed > /pushed")
    repo = f"{registry.host}/committed-{uuid.uuid4().hex[:8]}"
    ok(rs("commit", name, f"{repo}:c"))
    ok(rs("export", "-o", tmp_path / "fs.tar", name))
    ok(rs("import", "-c", 'CMD ["cat", "/pushed"]', tmp_path / "fs.tar", f"{repo}:i"))
    ok(rs("push", f"{repo}:c"))
    ok(rs("push", f"{repo}:i"))
    base = tmp_path_factory.mktemp("fresh")
    (base / "store").mkdir()
    (base / "cfg").mkdir()
    from tests.conftest import DockerConfig

    fresh = Rsd(base / "store", DockerConfig(base / "cfg"))
    assert ok(fresh("run", *NET, "--rm", f"{repo}:c", "cat", "/pushed")) == "pushed\n"
    assert ok(fresh("run", *NET, "--rm", f"{repo}:i")) == "pushed\n"


def test_commit_killed_half_way(rs, busybox):
    """kill -9 while the layer is being written: no image appears, the
    store still lists, runs and collects garbage, and a new commit works."""
    name = run_named(rs, busybox,
                     "dd if=/dev/urandom of=/big bs=1M count=64 2>/dev/null")
    before = ok(rs("images", "-q", "--no-trunc"))
    tmp = rs.root / "tmp"
    proc = subprocess.Popen([str(rs.script), "--root", str(rs.root), "commit", name,
                             "half:way"], env=rs.base_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)

    def writing() -> bool:
        try:
            return any(e.name.startswith("newlayer") and e.stat().st_size > (1 << 20)
                       for e in os.scandir(tmp))
        except FileNotFoundError:
            return False

    assert wait_for(writing)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert ok(rs("images", "-q", "--no-trunc")) == before
    assert "half" not in ok(rs("images"))
    assert ok(rs("run", *NET, "--rm", busybox, "echo", "fine")) == "fine\n"
    image_id = ok(rs("commit", name, "half:way")).strip()
    assert ok(rs("run", *NET, "--rm", "half:way", "ls", "/big")) == "/big\n"
    ok(rs("rm", name))
    ok(rs("rmi", "half:way"))
    assert image_id not in ok(rs("images", "-q", "--no-trunc"))
    assert not [e for e in os.listdir(tmp) if e.startswith("newlayer")]


def test_prunes_and_df(rs, busybox):
    name = run_named(rs, busybox, "dd if=/dev/zero of=/blob bs=1000 count=1500 2>/dev/null")
    df = ok(rs("system", "df")).splitlines()
    assert df[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    assert [line.split()[0] for line in df[1:]] == ["Images", "Containers", "Local", "Build"]
    assert "Containers space usage:" in ok(rs("system", "df", "-v"))
    dangling = ok(rs("commit", name)).strip()
    out = ok(rs("image", "prune", "-f"))
    assert f"deleted: {dangling}" in out and "Total reclaimed space: " in out
    assert dangling not in ok(rs("images", "-q", "--no-trunc"))
    assert not out.rstrip().endswith("Total reclaimed space: 0B")
    out = ok(rs("container", "prune", "-f"))
    assert name not in ok(rs("ps", "-a", "--format", "{{.Names}}"))
    reclaimed = out.strip().splitlines()[-1]
    assert reclaimed.startswith("Total reclaimed space: ") and reclaimed.endswith("MB"), out
    name2 = run_named(rs, busybox, "true")
    ok(rs("commit", name2, "unused:tag"))
    out = ok(rs("system", "prune", "-a", "-f"))
    assert "Deleted Containers:" in out and "untagged: unused:tag" in out
    assert "unused" not in ok(rs("images"))
    ok(rs("pull", busybox))


def test_running_container_commit_and_export(rs, busybox, tmp_path):
    """A running container: commit (paused meanwhile, running after) and
    export take its changes but not what is mounted on it (a tmpfs)."""
    cid = ok(rs("run", *NET, "-d", "--tmpfs", "/scratch", busybox, "sh", "-c",
                "echo live > /made && echo mounted > /scratch/f && exec sleep 600")).strip()
    try:
        assert wait_for(lambda: rs("exec", cid, "test", "-f", "/scratch/f").returncode == 0)
        ok(rs("commit", cid, "live:v1"))
        assert json.loads(ok(rs("inspect", cid)))[0]["State"]["Status"] == "running"
        assert ok(rs("run", *NET, "--rm", "live:v1", "cat", "/made")) == "live\n"
        assert rs("run", *NET, "--rm", "live:v1", "test", "-e", "/scratch/f").returncode == 1
        ok(rs("export", "-o", tmp_path / "live.tar", cid))
        with tarfile.open(tmp_path / "live.tar") as t:
            names = set(t.getnames())
        assert "made" in names and "scratch/f" not in names
    finally:
        rs("rm", "-f", cid)
