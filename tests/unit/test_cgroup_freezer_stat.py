"""The freezer and the usage readers of runtime/cgroups on fake trees of
each layout (the machine running the tests has one; the others are
written out here as the kernel lays them out)."""

from __future__ import annotations

import pytest

from rs_docker.errors import RuntimeFailure
from rs_docker.runtime.cgroups import freezer, stat


def _v1(tmp_path):
    paths = {}
    for ctrl in ("freezer", "memory", "cpuacct", "blkio", "pids"):
        d = tmp_path / ctrl / "rs-docker" / "c"
        d.mkdir(parents=True)
        paths[ctrl] = str(d)
    (tmp_path / "freezer/rs-docker/c/freezer.state").write_text("THAWED\n")
    (tmp_path / "memory/rs-docker/c/memory.usage_in_bytes").write_text("10485760\n")
    (tmp_path / "memory/rs-docker/c/memory.stat").write_text(
        "cache 4096\ntotal_inactive_file 2097152\n")
    (tmp_path / "memory/rs-docker/c/memory.limit_in_bytes").write_text("9223372036854771712\n")
    (tmp_path / "cpuacct/rs-docker/c/cpuacct.usage").write_text("123456789\n")
    (tmp_path / "blkio/rs-docker/c/blkio.throttle.io_service_bytes_recursive").write_text(
        "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:16 Read 1\nTotal 12289\n")
    (tmp_path / "pids/rs-docker/c/pids.current").write_text("3\n")
    (tmp_path / "pids/rs-docker/c/pids.max").write_text("max\n")
    (tmp_path / "pids/rs-docker/c/cgroup.procs").write_text("12\n14\n")
    return paths


def _v2(tmp_path):
    d = tmp_path / "rs-docker" / "c"
    d.mkdir(parents=True)
    files = {"cgroup.freeze": "0\n", "cgroup.events": "populated 1\nfrozen 0\n",
             "memory.current": "5242880\n", "memory.stat": "anon 1\ninactive_file 1048576\n",
             "memory.max": "33554432\n", "cpu.stat": "usage_usec 2500\nuser_usec 2000\n",
             "io.stat": "8:0 rbytes=100 wbytes=200 rios=1 wios=2\n8:16 rbytes=1 wbytes=2\n",
             "pids.current": "2\n", "pids.max": "50\n", "cgroup.procs": "7\n"}
    for name, text in files.items():
        (d / name).write_text(text)
    return {"": str(d)}


def test_v1_usage(tmp_path):
    u = stat.read(_v1(tmp_path), 1)
    assert u == stat.Usage(cpu_ns=123456789, memory=10485760 - 2097152, memory_limit=None,
                           block_read=4097, block_write=8192, pids=3, pids_limit=None)


def test_v2_usage(tmp_path):
    u = stat.read(_v2(tmp_path), 2)
    assert u == stat.Usage(cpu_ns=2_500_000, memory=5242880 - 1048576, memory_limit=32 << 20,
                           block_read=101, block_write=202, pids=2, pids_limit=50)


def test_tasks(tmp_path):
    assert stat.tasks(_v1(tmp_path)) == [12, 14]
    assert stat.tasks(_v2(tmp_path)) == [7]


def test_v1_freeze_and_thaw(tmp_path):
    paths = _v1(tmp_path)
    freezer.freeze(paths)
    assert (tmp_path / "freezer/rs-docker/c/freezer.state").read_text() == "FROZEN"
    assert freezer.is_frozen(paths)
    freezer.thaw(paths)
    assert not freezer.is_frozen(paths)


def test_v2_freeze_waits_for_the_kernel(tmp_path):
    paths = _v2(tmp_path)
    # cgroup.events never says frozen in a fake tree: freeze gives up,
    # thaws again and says so
    with pytest.raises(RuntimeFailure, match="did not freeze"):
        freezer.freeze(paths, timeout=0.05)
    assert (tmp_path / "rs-docker/c/cgroup.freeze").read_text() == "0"
    (tmp_path / "rs-docker/c/cgroup.events").write_text("populated 1\nfrozen 1\n")
    freezer.freeze(paths, timeout=0.05)
    assert freezer.is_frozen(paths)


def test_no_freezer(tmp_path):
    with pytest.raises(RuntimeFailure, match="no freezer"):
        freezer.freeze({"memory": str(tmp_path)})
