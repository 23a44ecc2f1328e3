"""`rename` through the CLI: the new name reaches the container (exec,
logs, inspect, ps), the old one is free again; Docker's refusals."""

from __future__ import annotations

import json
import time

import pytest

from tests.fixtures.cli import ok, wait_for

pytestmark = pytest.mark.root


def test_rename_keeps_exec_and_logs_working(rsd, busybox):
    cid = ok(rsd("run", "--network", "none", "-d", "--name", "before", busybox, "sh", "-c",
                 "echo hello; sleep 300")).strip()
    try:
        assert ok(rsd("rename", "before", "after")) == ""
        assert ok(rsd("exec", "after", "echo", "in")).strip() == "in"
        assert wait_for(lambda: rsd("logs", "after").stdout == "hello\n")
        assert json.loads(ok(rsd("inspect", "after")))[0]["Name"] == "/after"
        assert ok(rsd("ps", "--format", "{{.Names}}")).split() == ["after"]
        proc = rsd("exec", "before", "true")
        assert proc.returncode == 1 and "No such container: before" in proc.stderr
        # the old name is free again
        ok(rsd("run", "--network", "none", "--rm", "--name", "before", busybox, "true"))
        got = ok(rsd("events", "--since", "0", "--until", str(time.time() + 1),
                     "--filter", "event=rename", "--format",
                     "{{.Actor.ID}} {{.Actor.Attributes.name}} {{.Actor.Attributes.oldName}}"))
        assert got.split() == [cid, "after", "/before"]
    finally:
        rsd("rm", "-f", "after")


def test_refusals_as_dockers(rsd, busybox):
    ok(rsd("run", "--network", "none", "--name", "one", busybox, "true"))
    ok(rsd("run", "--network", "none", "--name", "two", busybox, "true"))
    two = json.loads(ok(rsd("inspect", "two")))[0]["Id"]
    proc = rsd("rename", "one", "two")
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f'rs-docker: Conflict. The container name "/two" is already in use by container '
        f'"{two}". You have to remove (or rename) that container to be able to reuse that name.')
    proc = rsd("rename", "one", "one")
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("rs-docker: Renaming a container with the same name as "
                                   "its current name")
    proc = rsd("rename", "one", "bad/name")
    assert proc.returncode == 1 and "Invalid container name (bad/name)" in proc.stderr
    proc = rsd("rename", "nosuch", "three")
    assert proc.returncode == 1 and "No such container: nosuch" in proc.stderr
    assert json.loads(ok(rsd("inspect", "one")))[0]["Name"] == "/one"
