"""User networks (root): `network create/ls/inspect/rm/prune/connect/
disconnect`, containers reaching each other by name, ID prefix and
--network-alias through the network's DNS server (aardvark-dns), and a
published port fetched from the host on 127.0.0.1.

Traffic goes only between the test's own containers and 127.0.0.1; no
name is ever looked up beyond the network's own containers."""

from __future__ import annotations

import json
import socket
import urllib.request

import pytest

from tests.fixtures.cli import busybox_store, ok, wait_for
from tests.fixtures.netcheck import container_left, leases

pytestmark = pytest.mark.root

WEB = ("mkdir /www && echo hello-by-name > /www/index.html && httpd -f -p 8080 -h /www")


rs = busybox_store("netuser")


def fetch_retrying(url: str) -> str:
    """wget from a container, retried while httpd starts."""
    return (f"for i in $(seq 1 25); do wget -q -O - {url} && exit 0; sleep 0.2; done; "
            "exit 1")


def test_containers_reach_each_other_by_name_id_and_alias(rs, busybox):
    net_id = ok(rs("network", "create", "appnet")).strip()
    assert len(net_id) == 64
    web = ok(rs("run", "-d", "--network", "appnet", "--name", "web",
                "--network-alias", "www", busybox, "sh", "-c", WEB)).strip()
    try:
        for host in ("web", web[:12], "www"):
            out = ok(rs("run", "--rm", "--network", "appnet", busybox, "sh", "-c",
                        fetch_retrying(f"http://{host}:8080/")))
            assert out.strip() == "hello-by-name", host
        ip = json.loads(ok(rs("inspect", web)))[0]["NetworkSettings"]["Networks"][
            "appnet"]["IPAddress"]
        out = ok(rs("run", "--rm", "--network", "appnet", busybox, "nslookup", "web"))
        assert ip in out
        shown = json.loads(ok(rs("network", "inspect", "appnet")))[0]
        assert shown["Id"] == net_id and web in shown["Containers"]
        assert shown["Containers"][web]["IPv4Address"].startswith(ip + "/")
        proc = rs("network", "rm", "appnet")
        assert proc.returncode == 1 and "has active endpoints" in proc.stderr
    finally:
        ok(rs("rm", "-f", web))
    assert container_left(rs.root, web) == {}
    assert ok(rs("network", "rm", "appnet")).strip() == "appnet"
    assert "appnet" not in ok(rs("network", "ls"))


def test_default_bridge_has_no_names(rs, busybox):
    web = ok(rs("run", "-d", "--name", "plainweb", busybox, "sleep", "60")).strip()
    try:
        proc = rs("run", "--rm", busybox, "nslookup", "plainweb", "127.0.0.1")
        assert proc.returncode != 0
    finally:
        ok(rs("rm", "-f", web))


def test_static_ip_mac_and_files(rs, busybox):
    ok(rs("network", "create", "--subnet", "10.97.3.0/24", "--gateway", "10.97.3.1",
          "static"))
    try:
        out = ok(rs("run", "--rm", "--network", "static", "--ip", "10.97.3.77",
                    "--mac-address", "92:d0:c6:0a:29:33", "--add-host", "db:10.97.3.5",
                    "--add-host", "gw:host-gateway", "--hostname", "h1",
                    "--dns-search", "example.test", "--dns-option", "ndots:2",
                    "--dns", "10.97.3.53",
                    busybox, "sh", "-c",
                    "cat /sys/class/net/eth0/address; ip -o -4 addr show eth0; "
                    "cat /etc/hosts /etc/resolv.conf"))
        assert "92:d0:c6:0a:29:33" in out and "10.97.3.77/24" in out
        assert "10.97.3.5\tdb" in out and "10.97.3.1\tgw" in out
        assert "10.97.3.77\th1" in out
        # The network's DNS server first, then --dns (never queried here).
        assert "nameserver 10.97.3.1\nnameserver 10.97.3.53\n" in out
        assert "search example.test" in out and "options ndots:2" in out
        proc = rs("run", "--rm", "--network", "static", "--ip", "10.98.0.9", busybox, "true")
        assert proc.returncode == 125 and proc.stderr.startswith("rs-docker: ")
    finally:
        ok(rs("network", "rm", "static"))


def test_connect_and_disconnect_a_running_container(rs, busybox):
    ok(rs("network", "create", "side"))
    web = ok(rs("run", "-d", "--network", "side", "--name", "sideweb", busybox,
                "sh", "-c", WEB)).strip()
    other = ok(rs("run", "-d", "--name", "joiner", busybox, "sleep", "600")).strip()
    try:
        ok(rs("network", "connect", "--alias", "joined", "side", "joiner"))
        out = ok(rs("exec", other, "sh", "-c", fetch_retrying("http://sideweb:8080/")))
        assert out.strip() == "hello-by-name"
        nets = json.loads(ok(rs("inspect", other)))[0]["NetworkSettings"]["Networks"]
        assert set(nets) == {"bridge", "side"}
        ok(rs("network", "disconnect", "side", "joiner"))
        out = ok(rs("exec", other, "ls", "/sys/class/net"))
        assert out.split() == ["eth0", "lo"]
    finally:
        ok(rs("rm", "-f", web, other))
    assert leases(rs.root) == []
    ok(rs("network", "prune", "-f"))
    assert "side" not in ok(rs("network", "ls"))


def test_network_ls_quiet_filter_format_and_errors(rs):
    ok(rs("network", "create", "--label", "team=a", "lsnet"))
    try:
        assert ok(rs("network", "ls", "-q", "--filter", "name=lsnet")).split() == \
            [json.loads(ok(rs("network", "inspect", "lsnet")))[0]["Id"][:12]]
        assert ok(rs("network", "ls", "--filter", "label=team=a",
                     "--format", "{{.Name}} {{.Driver}}")).strip() == "lsnet bridge"
        proc = rs("network", "create", "lsnet")
        assert proc.returncode == 1
        assert proc.stderr.strip() == "rs-docker: network with name lsnet already exists"
        proc = rs("network", "inspect", "nope")
        assert proc.returncode == 1 and "No such network: nope" in proc.stderr
    finally:
        ok(rs("network", "rm", "lsnet"))


@pytest.mark.parametrize("host_ip", ["127.0.0.1", ""])
def test_published_port_from_the_host_on_loopback(rs, busybox, host_ip):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = f"{host_ip}:{port}:8080" if host_ip else f"{port}:8080"
    web = ok(rs("run", "-d", "-p", spec, busybox, "sh", "-c", WEB)).strip()
    try:
        got = []

        def fetched() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    got.append(r.read().decode())
                return True
            except OSError:
                return False
        assert wait_for(fetched, 30)
        assert got[-1].strip() == "hello-by-name"
    finally:
        ok(rs("rm", "-f", web))
    assert container_left(rs.root, web) == {}


def test_start_after_stop_gets_its_network_and_address_back(rs, busybox):
    ok(rs("network", "create", "--subnet", "10.97.4.0/24", "again"))
    cid = ok(rs("run", "-d", "--network", "again", "--ip", "10.97.4.50", "--name", "again1",
                busybox, "sleep", "600")).strip()
    try:
        ok(rs("stop", "-t", "0", cid))
        assert container_left(rs.root, cid) == {}
        ok(rs("start", cid))
        out = ok(rs("exec", cid, "ip", "-o", "-4", "addr", "show", "eth0"))
        assert "10.97.4.50/24" in out
        out = ok(rs("run", "--rm", "--network", "again", busybox, "nslookup", "again1"))
        assert "10.97.4.50" in out
    finally:
        ok(rs("rm", "-f", cid))
        ok(rs("network", "rm", "again"))


def test_network_container_mode_and_link_alias(rs, busybox):
    ok(rs("network", "create", "linknet"))
    web = ok(rs("run", "-d", "--network", "linknet", "--name", "linkweb", busybox,
                "sh", "-c", WEB)).strip()
    try:
        # --link NAME:ALIAS: the alias resolves on the network (legacy links).
        out = ok(rs("run", "--rm", "--network", "linknet", "--link", "linkweb:db", busybox,
                    "sh", "-c", fetch_retrying("http://db:8080/")))
        assert out.strip() == "hello-by-name"
        # container:NAME shares web's namespace: its httpd is on localhost.
        out = ok(rs("run", "--rm", "--network", "container:linkweb", busybox, "sh", "-c",
                    fetch_retrying("http://127.0.0.1:8080/")))
        assert out.strip() == "hello-by-name"
        proc = rs("run", "--rm", "--network", "container:nosuch", busybox, "true")
        assert proc.returncode == 125 and proc.stderr.startswith("rs-docker: ")
    finally:
        ok(rs("rm", "-f", web))
        ok(rs("network", "rm", "linknet"))
