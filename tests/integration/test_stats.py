"""`stats` through the CLI: a container's memory limit, its processes and
its use, from its cgroup; Docker's columns, --format, --all, errors."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.cli import ok

pytestmark = pytest.mark.root


@pytest.fixture
def limited(rsd, busybox):
    ok(rsd("run", "--network", "none", "-d", "--name", "lim", "--memory", "64m",
           "--pids-limit", "50", busybox, "sh", "-c", "sleep 300 & sleep 301 & wait"))
    yield "lim"
    rsd("rm", "-f", "lim")


def test_no_stream_shows_the_limit_and_the_processes(rsd, limited):
    out = ok(rsd("stats", "--no-stream", limited))
    header, row = out.splitlines()
    assert header.split("   ")[0] == "CONTAINER ID"
    for column in ("NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O",
                   "PIDS"):
        assert column in header
    assert " / 64MiB" in row
    assert row.split()[1] == "lim"
    assert row.split()[-1] == "3"   # sh and its two sleeps
    assert "0B / 0B" in row          # --network none: no interface but lo


def test_format_json_and_template(rsd, limited):
    got = json.loads(ok(rsd("stats", "--no-stream", "--format", "json", limited)))
    assert set(got) == {"BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage",
                        "Name", "NetIO", "PIDs"}
    assert got["Container"] == limited and got["MemUsage"].endswith(" / 64MiB")
    assert got["CPUPerc"].endswith("%") and float(got["MemPerc"].rstrip("%")) < 100
    out = ok(rsd("stats", "--no-stream", "--format", "table {{.Name}}\t{{.PIDs}}", limited))
    assert out.split() == ["NAME", "PIDS", "lim", "3"]


def test_all_shows_a_stopped_container_as_zeros(rsd, busybox, limited):
    ok(rsd("run", "--network", "none", "--name", "done", busybox, "true"))
    names = ok(rsd("stats", "--no-stream", "--format", "{{.Name}}")).split()
    assert names == ["lim"]
    out = ok(rsd("stats", "--no-stream", "--all", "--format",
                 "{{.Name}} {{.MemUsage}} {{.PIDs}}"))
    assert "done 0B / 0B 0" in out.splitlines()


def test_no_such_container(rsd):
    proc = rsd("stats", "--no-stream", "nosuch")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "rs-docker: No such container: nosuch"
