"""Pure parts of networking: /etc/hosts and resolv.conf as Docker writes
them, --add-host parsing, subnet arithmetic, Docker's generated MACs."""

from __future__ import annotations

import pytest

from rs_docker.errors import UsageError
from rs_docker.network import files, hostnet
from rs_docker.network.attach import check_mac, mac_for


def test_hosts_file_with_address_add_host_and_domain():
    text = files.hosts_file("web", "172.17.0.5", [("db", "10.0.0.9")], "example.test")
    lines = text.splitlines()
    assert lines[0] == "127.0.0.1\tlocalhost"
    assert "10.0.0.9\tdb" in lines
    assert lines[-1] == "172.17.0.5\tweb.example.test web"


@pytest.mark.parametrize("text, want", [("db:10.0.0.9", ("db", "10.0.0.9")),
                                        ("db=10.0.0.9", ("db", "10.0.0.9")),
                                        ("gw:host-gateway", ("gw", "host-gateway")),
                                        ("v6:[::1]", ("v6", "::1"))])
def test_parse_add_host(text, want):
    assert files.parse_add_host(text) == want


@pytest.mark.parametrize("text", ["db", "db:", ":1.2.3.4", "db:not-an-ip"])
def test_parse_add_host_refuses(text):
    with pytest.raises(UsageError):
        files.parse_add_host(text)


def test_resolv_with_replaces_what_the_flags_name():
    base = "search corp.test\nnameserver 10.1.1.1\noptions ndots:1\n"
    out = files.resolv_with(base, ("10.9.9.9",), ("a.test", "b.test"), ("ndots:3",))
    assert out.splitlines() == ["nameserver 10.9.9.9", "search a.test b.test",
                                "options ndots:3"]
    assert files.resolv_with(base, search=(".",)).splitlines() == [
        "nameserver 10.1.1.1", "options ndots:1"]


def test_subnet_arithmetic():
    assert hostnet.parse_cidr("10.90.3.7/24") == (hostnet.ip_int("10.90.3.0"), 24)
    assert hostnet.overlaps("172.17.0.0/16", "172.17.5.0/24")
    assert not hostnet.overlaps("172.17.0.0/16", "172.18.0.0/16")
    assert hostnet.ip_text(hostnet.ip_int("192.0.2.255")) == "192.0.2.255"
    with pytest.raises(ValueError):
        hostnet.ip_int("1.2.3.256")


def test_docker_generated_mac_and_mac_checks():
    assert mac_for("172.17.0.2") == "02:42:ac:11:00:02"
    assert check_mac("92:D0:C6:0A:29:33") == "92:d0:c6:0a:29:33"
    with pytest.raises(UsageError):
        check_mac("92:d0:c6:0a:29")
