"""The default bridge network (root): every container gets eth0 with an
address, a default route and the files Docker writes; containers reach
each other by IP (no names on the default bridge, as Docker); UDP; and
nothing is left behind after stop, rm -f, a killed monitor, prune.

Traffic goes only between the test's own containers and 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.fixtures.cli import busybox_store, ok, wait_for
from tests.fixtures.netcheck import container_left, interface_indexes, leases

pytestmark = pytest.mark.root


rs = busybox_store("netbridge")


def inspect(rs, cid) -> dict:
    return json.loads(ok(rs("inspect", cid)))[0]


def test_bridge_is_the_default_with_eth0_route_and_files(rs, busybox):
    out = ok(rs("run", "--rm", "--name", "b1", busybox, "sh", "-c",
                "ip -o -4 addr show eth0; ip route; cat /etc/hosts; hostname"))
    assert "eth0" in out and "inet " in out
    addr = out.split("inet ")[1].split("/")[0]
    assert "default via" in out
    hostname = out.strip().splitlines()[-1]
    assert f"{addr}\t{hostname}" in out


def test_inspect_shows_docker_network_settings(rs, busybox):
    cid = ok(rs("run", "-d", busybox, "sleep", "60")).strip()
    try:
        settings = inspect(rs, cid)["NetworkSettings"]
        bridge = settings["Networks"]["bridge"]
        assert bridge["IPAddress"] and bridge["IPAddress"] == settings["IPAddress"]
        assert bridge["Gateway"] == settings["Gateway"]
        assert bridge["IPPrefixLen"] == settings["IPPrefixLen"] > 0
        assert bridge["MacAddress"].startswith("02:42:")
        assert len(bridge["NetworkID"]) == 64 and len(bridge["EndpointID"]) == 64
        inside = ok(rs("exec", cid, "cat", "/sys/class/net/eth0/address")).strip()
        assert inside == bridge["MacAddress"]
        ok(rs("stop", "-t", "0", cid))
        stopped = inspect(rs, cid)["NetworkSettings"]
        assert stopped["IPAddress"] == "" and stopped["Networks"]["bridge"]["IPAddress"] == ""
        assert stopped["Networks"]["bridge"]["NetworkID"] == bridge["NetworkID"]
    finally:
        ok(rs("rm", "-f", cid))


def test_container_to_container_by_ip_tcp_and_udp(rs, busybox):
    web = ok(rs("run", "-d", busybox, "sh", "-c",
                "mkdir /www && echo hello-from-web > /www/index.html && "
                "httpd -f -p 8080 -h /www")).strip()
    udp = ok(rs("run", "-d", busybox, "sleep", "600")).strip()
    try:
        ip = inspect(rs, web)["NetworkSettings"]["IPAddress"]
        out = ok(rs("run", "--rm", busybox, "sh", "-c",
                    f"for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://{ip}:8080/ && "
                    "exit 0; sleep 0.2; done; exit 1"))
        assert out.strip() == "hello-from-web"
        # UDP: busybox-static's nc has no -u; the receiver is a Python
        # socket inside the second container's network namespace, the
        # sender busybox syslogd forwarding (-R) over UDP.
        uip = inspect(rs, udp)["NetworkSettings"]["IPAddress"]
        receiver = subprocess.Popen(
            ["nsenter", f"--net=/run/rs-docker/netns/{udp}", sys.executable, "-c",
             "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
             "s.bind(('0.0.0.0', 9999)); print('ready', flush=True); s.settimeout(60); "
             "print(s.recv(4096).decode(errors='replace'), flush=True)"],
            stdout=subprocess.PIPE, text=True)
        try:
            assert receiver.stdout.readline().strip() == "ready"
            ok(rs("run", "--rm", busybox, "sh", "-c",
                  f"syslogd -n -R {uip}:9999 & sleep 0.5; "
                  "for i in 1 2 3 4 5; do logger datagram-$i; sleep 0.2; done"))
            got = receiver.stdout.readline()
            assert "datagram-" in got
        finally:
            receiver.kill()
            receiver.wait()
    finally:
        ok(rs("rm", "-f", web, udp))


def test_none_and_host_modes_still_work(rs, busybox):
    out = ok(rs("run", "--rm", "--network", "none", busybox, "ls", "/sys/class/net"))
    assert out.split() == ["lo"]
    out = ok(rs("run", "--rm", "--network", "host", busybox, "ls", "/sys/class/net"))
    assert "lo" in out.split() and len(out.split()) > 1


def test_unknown_network_is_refused(rs, busybox):
    proc = rs("run", "--rm", "--network", "nosuchnet", busybox, "true")
    assert proc.returncode == 125
    assert proc.stderr.strip() == "rs-docker: network nosuchnet not found"


@pytest.mark.parametrize("path", ["stop", "rm-f", "kill-monitor", "prune", "run-rm"])
def test_nothing_left_behind(rs, busybox, path):
    """No namespace file, veth, firewall rule or lease after each way a
    container ends."""
    before = leases(rs.root)
    if path == "run-rm":
        out = ok(rs("run", "--rm", busybox, "cat", "/sys/class/net/eth0/iflink"))
        # The kernel deletes the veth when it frees the namespace (a work queue).
        assert wait_for(lambda: int(out) not in interface_indexes())
        assert leases(rs.root) == before
        return
    cid = ok(rs("run", "-d", busybox, "sleep", "600")).strip()
    peer = int(ok(rs("exec", cid, "cat", "/sys/class/net/eth0/iflink")))
    assert peer in interface_indexes()
    assert os.path.ismount(f"/run/rs-docker/netns/{cid}")
    assert len(leases(rs.root)) == len(before) + 1
    if path == "stop":
        ok(rs("stop", "-t", "0", cid))
        assert container_left(rs.root, cid) == {}
        assert wait_for(lambda: peer not in interface_indexes())
        ok(rs("rm", cid))
    elif path == "rm-f":
        ok(rs("rm", "-f", cid))
    elif path == "kill-monitor":
        x = json.loads((rs.root / "containers" / cid / "container.json").read_text())
        os.kill(x["RsDocker"]["MonitorPid"], signal.SIGKILL)
        assert wait_for(lambda: inspect(rs, cid)["State"]["Status"] == "exited")
        ok(rs("rm", cid))
    else:
        ok(rs("stop", "-t", "0", cid))
        ok(rs("container", "prune", "-f"))
    assert container_left(rs.root, cid) == {}
    assert wait_for(lambda: peer not in interface_indexes())
    assert leases(rs.root) == before


def test_concurrent_runs_get_distinct_addresses(rs, busybox):
    """IPAM under its flock: containers created at once never share an address."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(6) as pool:
        procs = list(pool.map(lambda _: rs("run", "-d", busybox, "sleep", "600"), range(6)))
    ids = [ok(p).strip() for p in procs]
    try:
        ips = [inspect(rs, cid)["NetworkSettings"]["IPAddress"] for cid in ids]
        assert len(set(ips)) == 6 and all(ips)
    finally:
        ok(rs("rm", "-f", *ids))


def test_killed_foreground_run_is_cleaned_up_by_the_next_command(rs, busybox):
    """kill -9 of a foreground `run`: its PID 1 dies with it; the next
    command that sees the record (ps) tears the network down, rm frees the
    address."""
    before = leases(rs.root)
    proc = subprocess.Popen([str(rs.script), "--root", str(rs.root), "run", "--name", "fg9",
                             busybox, "sleep", "600"], env=rs.base_env)
    try:
        assert wait_for(lambda: "fg9" in rs("ps").stdout)
        cid = ok(rs("inspect", "-f", "{{.Id}}", "fg9")).strip()
        assert os.path.ismount(f"/run/rs-docker/netns/{cid}")
    finally:
        proc.kill()
        proc.wait()
    assert wait_for(lambda: "fg9" not in rs("ps").stdout)
    assert container_left(rs.root, cid) == {}
    ok(rs("rm", "fg9"))
    assert leases(rs.root) == before
