"""The volume commands through the console script: create (labels,
options, anonymous), ls (-q, --filter dangling=/name=/label=, --format),
inspect (--format, a missing volume), rm (-f, in use) and prune (Docker
23+'s prompt, anonymous only unless -a, what it reclaimed)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import module_rsd_removing
from tests.fixtures.cli import ok

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def rs(images, tmp_path_factory):
    yield from module_rsd_removing(tmp_path_factory, "volumes_cli", images.busybox.ref)


def names(rs, *args) -> list[str]:
    return ok(rs("volume", "ls", "-q", *args)).split()


def test_create_inspect_ls(rs):
    assert ok(rs("volume", "create", "--label", "team=blue", "--label", "x", "-o", "type=none",
                 "labelled")) == "labelled\n"
    vol = json.loads(ok(rs("volume", "inspect", "labelled")))[0]
    assert vol["Labels"] == {"team": "blue", "x": ""}
    assert vol["Options"] == {"type": "none"}
    assert vol["Driver"] == "local" and vol["Scope"] == "local"
    assert vol["CreatedAt"][:2] == "20"
    plain = json.loads(ok(rs("volume", "create", "plain-one") and rs("volume", "inspect",
                                                                      "plain-one")))[0]
    assert plain["Labels"] is None and plain["Options"] is None
    ok(rs("volume", "rm", "plain-one"))
    # An existing name is returned as it is.
    assert ok(rs("volume", "create", "labelled")) == "labelled\n"
    anon = ok(rs("volume", "create")).strip()
    assert len(anon) == 64 and int(anon, 16) >= 0
    table = ok(rs("volume", "ls")).splitlines()
    assert table[0].split() == ["DRIVER", "VOLUME", "NAME"]
    assert "local     labelled" in table
    assert ok(rs("volume", "inspect", "--format", "{{.Name}} {{.Driver}}", "labelled")) == \
        "labelled local\n"
    assert ok(rs("volume", "ls", "--format", "{{.Name}}:{{.Labels}}",
                 "--filter", "name=labelled")) == "labelled:team=blue,x=\n"
    ok(rs("volume", "rm", "labelled", anon))


def test_ls_filters(rs, busybox):
    ok(rs("volume", "create", "--label", "env=prod", "fl-prod"))
    ok(rs("volume", "create", "--label", "env=dev", "fl-dev"))
    cid = ok(rs("create", "-v", "fl-dev:/d", busybox, "true")).strip()
    assert names(rs, "--filter", "label=env=prod") == ["fl-prod"]
    assert names(rs, "--filter", "label=env") == ["fl-dev", "fl-prod"]
    assert "fl-prod" in names(rs, "--filter", "dangling=true")
    assert "fl-dev" not in names(rs, "--filter", "dangling=true")
    assert "fl-dev" in names(rs, "--filter", "dangling=false")
    assert names(rs, "--filter", "name=fl-") == ["fl-dev", "fl-prod"]
    proc = rs("volume", "ls", "--filter", "colour=red")
    assert proc.returncode == 1 and "invalid filter 'colour'" in proc.stderr
    ok(rs("rm", cid))
    ok(rs("volume", "rm", "fl-dev", "fl-prod"))


def test_errors(rs):
    proc = rs("volume", "inspect", "nosuch")
    assert proc.returncode == 1
    assert proc.stdout == "[]\n"
    assert proc.stderr.strip() == "rs-docker: get nosuch: no such volume"
    proc = rs("volume", "rm", "nosuch")
    assert proc.returncode == 1 and "get nosuch: no such volume" in proc.stderr
    assert ok(rs("volume", "rm", "-f", "nosuch")) == "nosuch\n"  # docker/cli prints it
    proc = rs("volume", "create", "-d", "flocker", "plugged")
    assert proc.returncode == 1 and 'plugin "flocker" not found' in proc.stderr
    proc = rs("volume", "create", "bad/name")
    assert proc.returncode == 1 and "includes invalid characters" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_prune(rs, busybox):
    ok(rs("volume", "create", "keep-named"))
    anon = ok(rs("volume", "create")).strip()
    used = ok(rs("create", "-v", "/inuse", busybox, "true")).strip()
    ok(rs("run", "--rm", "-v", f"{anon}:/a", busybox, "sh", "-c",
          "head -c 1500 /dev/zero >/a/f"))
    # Declined at the prompt: nothing goes.
    proc = rs("volume", "prune", input="n\n")
    assert proc.returncode == 0
    assert proc.stdout.startswith("WARNING! This will remove anonymous local volumes not used "
                                  "by at least one container.\nAre you sure you want to "
                                  "continue? [y/N]")
    assert anon in names(rs)
    out = ok(rs("volume", "prune", "-f"))
    assert out == f"Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 1.5kB\n"
    left = names(rs)
    assert "keep-named" in left and anon not in left
    assert len([n for n in left if len(n) == 64]) == 1  # the one `used` holds
    out = ok(rs("volume", "prune", "-a", input="y\n"))
    assert "WARNING! This will remove all local volumes not used" in out
    assert "keep-named" in out and "Total reclaimed space: 0B" in out
    assert "keep-named" not in names(rs)
    ok(rs("rm", "-v", used))
    assert ok(rs("volume", "prune", "-f")) == "Total reclaimed space: 0B\n"
