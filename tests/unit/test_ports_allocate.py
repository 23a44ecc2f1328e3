"""Host ports chosen and held per container (network/ports.py) on a temp
store, with real sockets on 127.0.0.1 for the bind test."""

import socket
from pathlib import Path

import pytest

from rs_docker.container import state
from rs_docker.context import Context
from rs_docker.models.ports import PortMapping as M
from rs_docker.models.ports import plan
from rs_docker.network.ports import (
    DEFAULT_RANGE,
    PortAllocated,
    allocate,
    ephemeral_range,
    network_settings_ports,
    release,
)
from tests.fixtures.hostports import free_port

A, B = "a" * 64, "b" * 64


@pytest.fixture
def ctx(tmp_path):
    c = Context(root=tmp_path)
    for cid in (A, B):
        (Path(c.containers_dir) / cid).mkdir(parents=True)
        state.write(c, cid, {"Id": cid, "State": {"Status": "running"}})
    return c


def test_ephemeral_range_is_the_kernels(tmp_path):
    first, last = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range")
                   .read_text().split())
    assert ephemeral_range() == (first, last)
    bad = tmp_path / "range"
    bad.write_text("junk\n")
    assert ephemeral_range(str(bad)) == DEFAULT_RANGE


def test_chosen_ports_come_from_the_range_and_differ(ctx):
    first, last = ephemeral_range()
    got = allocate(ctx, A, plan(["127.0.0.1::80", "127.0.0.1::81", "127.0.0.1::80/udp"])
                   .to_publish)
    assert [(m.container_port, m.protocol) for m in got] == [(80, "tcp"), (81, "tcp"),
                                                             (80, "udp")]
    assert all(first <= m.host_port <= last for m in got)
    assert got[0].host_port != got[1].host_port


def test_a_port_another_container_holds_is_refused_with_dockers_text(ctx):
    port = free_port()
    allocate(ctx, A, [M("", port, 80)])
    for host_ip in ("", "127.0.0.1"):
        with pytest.raises(PortAllocated) as caught:
            allocate(ctx, B, [M(host_ip, port, 80)])
        shown = host_ip or "0.0.0.0"
        assert str(caught.value) == f"Bind for {shown}:{port} failed: port is already allocated"
        assert caught.value.exit_code == 125
    # another protocol on the same number is free
    allocate(ctx, B, [M("", port, 80, "udp")])


def test_a_refused_allocation_records_nothing(ctx):
    held = free_port()
    allocate(ctx, A, [M("", held, 80)])
    other = free_port()
    with pytest.raises(PortAllocated):
        allocate(ctx, B, [M("127.0.0.1", other, 81), M("", held, 80)])
    allocate(ctx, A, [M("", held, 80), M("127.0.0.1", other, 81)])  # other was not kept for B


def test_ports_come_back_on_release_and_when_the_holder_exits(ctx):
    port = free_port()
    allocate(ctx, A, [M("", port, 80)])
    release(ctx, A)
    allocate(ctx, B, [M("", port, 80)])
    state.write(ctx, B, {"Id": B, "State": {"Status": "exited"}})
    allocate(ctx, A, [M("", port, 80)])


def test_a_port_a_host_program_listens_on_is_refused(ctx):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(PortAllocated) as caught:
            allocate(ctx, A, [M("127.0.0.1", port, 80)], endpoint="web (abc)")
    assert str(caught.value) == (
        "driver failed programming external connectivity on endpoint web (abc): Error "
        f"starting userland proxy: listen tcp4 127.0.0.1:{port}: bind: address already in use")


def test_a_range_to_choose_from_skips_taken_ports(ctx):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        got = allocate(ctx, A, [M("127.0.0.1", port, 53, "udp", port + 1)])
    assert got == (M("127.0.0.1", port + 1, 53, "udp"),)


def test_network_settings_ports_shape():
    p = plan(["127.0.0.1:8080:80"], ["9000/udp"])
    got = network_settings_ports(p.exposed, (M("127.0.0.1", 8080, 80), M("", 8081, 80)))
    assert got == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"},
                              {"HostIp": "0.0.0.0", "HostPort": "8081"}],
                   "9000/udp": None}
