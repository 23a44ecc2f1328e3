"""Rootless networking (pasta): as a user without root, a container gets
eth0 with an address and a default route, a published port reaches busybox
httpd inside from the host's 127.0.0.1, a taken port is refused, the
helper ends with the container, and user networks are refused in one line.

SAFETY: pasta copies the host's addresses and routes into the namespace;
nothing here sends traffic anywhere but to 127.0.0.1 on the host."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request

import pytest

from tests.fixtures import userenv
from tests.fixtures.cli import ok, wait_for
from tests.fixtures.hostports import fetch, free_port
from tests.fixtures.rootless import pulled_busybox, throwaway_user

pytestmark = pytest.mark.root

HTTPD = "mkdir -p /www && echo rootless-hello > /www/index.html && exec httpd -f -p 80 -h /www"


@pytest.fixture(scope="module")
def user():
    with throwaway_user(f"rsdpt{os.getpid() % 10000}", True) as u:
        yield u


@pytest.fixture(scope="module")
def pulled(user, images):
    return pulled_busybox(user, images)


def helpers_of(user) -> list[str]:
    """PIDs of the user's pasta / slirp4netns processes."""
    out = subprocess.run(["pgrep", "-u", str(user.uid), "-f", "pasta|passt|slirp4netns"],
                         capture_output=True, text=True).stdout
    return out.split()


def test_default_network_has_eth0_address_and_default_route(user, pulled):
    out = ok(user.rsd("run", "--rm", pulled, "sh", "-c", "ip -o -4 addr show eth0; ip route"))
    assert "eth0" in out and "inet " in out
    assert "default via" in out
    # pasta is ended by its watcher once PID 1 has exited
    assert wait_for(lambda: helpers_of(user) == [], 30), helpers_of(user)


def test_published_port_reaches_httpd_and_the_helper_ends_with_it(user, pulled):
    port = free_port()
    cid = ok(user.rsd("run", "-d", "-p", f"127.0.0.1:{port}:80", pulled,
                      "sh", "-c", HTTPD)).strip()
    try:
        assert wait_for(lambda: fetch(port) is not None, 30)
        assert fetch(port) == "rootless-hello\n"
        assert ok(user.rsd("port", cid)) == f"80/tcp -> 127.0.0.1:{port}\n"
        assert ok(user.rsd("ps", "--format", "{{.Ports}}")) == f"127.0.0.1:{port}->80/tcp\n"
        record = json.loads(ok(user.rsd("inspect", cid)))[0]
        assert record["NetworkSettings"]["Ports"] == \
            {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
        assert len(helpers_of(user)) == 1
        # taken by this container: a second one is refused, nothing left of it
        proc = user.rsd("run", "-d", "-p", f"127.0.0.1:{port}:80", pulled, "sleep", "60")
        assert proc.returncode == 125
        assert proc.stderr.strip().splitlines()[-1] == \
            f"rs-docker: Bind for 127.0.0.1:{port} failed: port is already allocated"
        assert len(helpers_of(user)) == 1
    finally:
        ok(user.rsd("rm", "-f", cid))
    assert wait_for(lambda: helpers_of(user) == [], 30), helpers_of(user)
    assert fetch(port) is None


def test_helper_ends_when_the_container_stops_by_itself(user, pulled):
    port = free_port()
    ok(user.rsd("run", "--rm", "-p", f"127.0.0.1:{port}:80", pulled, "true"))
    assert wait_for(lambda: helpers_of(user) == [], 30), helpers_of(user)
    cid = ok(user.rsd("run", "-d", "-p", f"{port}:80", pulled, "sleep", "1")).strip()
    assert ok(user.rsd("wait", cid)).strip() == "0"
    assert wait_for(lambda: helpers_of(user) == [], 30), helpers_of(user)
    ok(user.rsd("rm", cid))


def test_user_network_is_a_clear_error(user, pulled):
    proc = user.rsd("run", "--rm", "--network", "mynet", pulled, "true")
    assert proc.returncode == 125
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rs-docker: ")
    assert "rootless" in lines[0]


def test_slirp4netns_when_asked_for(user, pulled):
    """RS_DOCKER_ROOTLESS_NETWORK_CMD=slirp4netns: tap0 10.0.2.100, the
    published port forwarded through its API socket, the helper gone after."""
    port = free_port()
    argv = ["runuser", "-u", user.name, "--", *user.env(),
            "RS_DOCKER_ROOTLESS_NETWORK_CMD=slirp4netns", str(userenv.shared_script())]
    proc = subprocess.run([*argv, "run", "-d", "-p", f"127.0.0.1:{port}:80", pulled,
                           "sh", "-c", "mkdir -p /www && ip -o -4 addr show tap0 > /www/addr; "
                           + HTTPD],
                          capture_output=True, text=True, timeout=90, cwd="/")
    cid = ok(proc).strip()
    try:
        assert wait_for(lambda: fetch(port) is not None, 30)
        assert fetch(port) == "rootless-hello\n"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/addr", timeout=5) as r:
            assert "10.0.2.100/24" in r.read().decode()
        assert any("slirp4netns" in line for line in subprocess.run(
            ["pgrep", "-a", "-u", str(user.uid), "slirp4netns"], capture_output=True,
            text=True).stdout.splitlines())
    finally:
        ok(user.rsd("rm", "-f", cid))
    assert wait_for(lambda: helpers_of(user) == [], 30), helpers_of(user)


def test_unknown_helper_is_one_line(user, pulled):
    argv = ["runuser", "-u", user.name, "--", *user.env(),
            "RS_DOCKER_ROOTLESS_NETWORK_CMD=vpnkit", str(userenv.shared_script())]
    proc = subprocess.run([*argv, "run", "--rm", pulled, "true"], capture_output=True,
                          text=True, timeout=90, cwd="/")
    assert proc.returncode == 125
    assert proc.stderr.strip() == \
        "rs-docker: RS_DOCKER_ROOTLESS_NETWORK_CMD=vpnkit: not one of pasta, slirp4netns"
