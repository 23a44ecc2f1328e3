"""`create` takes every `run` flag and prints the new container's ID; the
container shows as Created (`ps -a`, inspect's State.Status) until
`start` runs it; `start -a` prints its output and exits with its code;
a created container can be removed."""

from __future__ import annotations

import json

import pytest

from tests.conftest import module_rsd_removing
from tests.fixtures.cli import ok

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def rs(images, tmp_path_factory):
    yield from module_rsd_removing(tmp_path_factory, "create_start", images.busybox.ref)


def inspect(rs, cid: str) -> dict:
    return json.loads(ok(rs("inspect", cid)))[0]


def test_create_then_start_attached(rs, busybox):
    cid = ok(rs("create", "--name", "made", "-e", "WHO=created", "-w", "/tmp", busybox,
                "sh", "-c", "echo $WHO in $(pwd); echo oops >&2; exit 3")).strip()
    assert len(cid) == 64 and int(cid, 16) >= 0
    record = inspect(rs, cid)
    assert record["State"]["Status"] == "created"
    assert record["Name"] == "/made"
    row = ok(rs("ps", "-a", "--filter", "name=made", "--format", "{{.Status}}"))
    assert row == "Created\n"
    assert ok(rs("ps", "-q")).split() == [] or cid[:12] not in ok(rs("ps", "-q"))
    proc = rs("start", "-a", "made")
    assert proc.returncode == 3
    assert proc.stdout == "created in /tmp\n"
    assert "oops" in proc.stderr
    assert inspect(rs, cid)["State"]["Status"] == "exited"
    ok(rs("rm", cid))


def test_start_prints_the_name_and_runs_detached(rs, busybox):
    cid = ok(rs("create", busybox, "sh", "-c", "echo detached")).strip()
    assert ok(rs("start", cid)) == f"{cid}\n"
    assert ok(rs("wait", cid)) == "0\n"
    assert ok(rs("logs", cid)) == "detached\n"
    ok(rs("rm", cid))


def test_rm_of_a_created_container(rs, busybox):
    cid = ok(rs("create", "--name", "never-run", busybox, "true")).strip()
    ok(rs("rm", "never-run"))
    assert cid[:12] not in ok(rs("ps", "-aq"))
    # The name is free again.
    cid = ok(rs("create", "--name", "never-run", busybox, "true")).strip()
    ok(rs("rm", cid))


def test_create_refuses_bad_flags_with_125(rs, busybox):
    proc = rs("create", "--memory", "lots", busybox, "true")
    assert proc.returncode == 125
    assert proc.stderr.startswith("rs-docker: ")
    assert "Traceback" not in proc.stderr
    proc = rs("create", "--no-such-flag", busybox)
    assert proc.returncode == 125
    proc = rs("container", "create", "--pull", "never", "no-such-image-here")
    assert proc.returncode == 125 and "Traceback" not in proc.stderr
    assert ok(rs("ps", "-aq")) == ""


def test_create_pulls_a_missing_image(rs, images):
    ref = images.tooling.ref
    proc = rs("create", ref)
    assert proc.returncode == 0, proc.stderr
    cid = proc.stdout.strip().splitlines()[-1]
    assert f"Unable to find image '{ref}' locally" in proc.stderr
    assert inspect(rs, cid)["Config"]["WorkingDir"] == "/srv"
    ok(rs("rm", cid))
