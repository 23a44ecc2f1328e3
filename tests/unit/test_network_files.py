"""/etc/hosts, /etc/resolv.conf and --network modes (pure)."""

import pytest

from rs_docker.errors import UsageError
from rs_docker.network import network_mode
from rs_docker.network.files import container_resolv_conf, hosts_file, uses_systemd_stub


def test_hosts_has_localhost_lines_and_the_hostname():
    text = hosts_file("abc123")
    assert text.startswith("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    assert text.endswith("127.0.0.1\tabc123\n")


def test_resolv_conf_drops_loopback_nameservers_keeps_the_rest():
    host = "search example.org\nnameserver 127.0.0.1\nnameserver ::1\nnameserver 10.0.0.2\n" \
           "options ndots:2\n"
    assert container_resolv_conf(host) == \
        "search example.org\nnameserver 10.0.0.2\noptions ndots:2\n"


def test_resolv_conf_defaults_when_only_loopback():
    assert container_resolv_conf("nameserver 127.0.0.11\n") == \
        "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
    assert uses_systemd_stub("nameserver 127.0.0.53\n")


def test_network_modes():
    none, host = network_mode("none"), network_mode("host")
    assert {"type": "network"} in none.namespaces()
    assert {"type": "network"} not in host.namespaces()
    assert {"type": "pid"} in host.namespaces() and host.host_files
    with pytest.raises(UsageError, match="not supported yet"):
        network_mode("bridge")
    with pytest.raises(UsageError, match="network nosuch not found"):
        network_mode("nosuch")


def test_loopback_is_decided_as_ipaddress_decides_it():
    """Dotted quads are checked by hand (no ipaddress import on a plain run);
    the answer is the one ipaddress gives for every form."""
    import ipaddress

    from rs_docker.network.files import _is_loopback

    for text in ("127.0.0.1", "127.255.0.9", "10.0.0.2", "0.0.0.0", "255.255.255.255",
                 "128.0.0.1", "0127.0.0.1", "127.0.0.256", "127.0.0", "127.0.0.1.1",
                 "1\u0662.0.0.1", "::1", "fe80::1%eth0", "::ffff:127.0.0.1", "localhost", ""):
        try:
            expected = ipaddress.ip_address(text.split("%")[0]).is_loopback
        except ValueError:
            expected = False
        assert _is_loopback(text) is expected, text
