"""Published ports on the default bridge (root): busybox httpd published
with -p, fetched from the host through 127.0.0.1; -P with an image's
EXPOSE; UDP; a taken port refused with Docker's error and nothing left;
`port`, the PORTS column of `ps` and inspect's fields.

Traffic goes only between the test's own containers and 127.0.0.1; host
ports are chosen free at test time."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from tests.conftest import module_rsd_removing
from tests.fixtures.cli import ok, wait_for
from tests.fixtures.hostports import fetch, free_port
from tests.fixtures.images import ImageSpec, busybox_layer, default_config, push_image

pytestmark = pytest.mark.root

HTTPD = "mkdir -p /www && echo hello-$HOSTNAME > /www/index.html && exec httpd -f -p 80 -h /www"


@pytest.fixture(scope="module")
def exposing(pusher):
    """busybox with EXPOSE 80/tcp 53/udp."""
    config = {**default_config(), "ExposedPorts": {"80/tcp": {}, "53/udp": {}}}
    return push_image(pusher, "ports-expose", "latest",
                      ImageSpec([busybox_layer()], config)).ref


@pytest.fixture(scope="module")
def rs(images, exposing, tmp_path_factory):
    yield from module_rsd_removing(tmp_path_factory, "ports", images.busybox.ref, exposing)


def served(port: int) -> str:
    assert wait_for(lambda: fetch(port) is not None, 30), f"nothing answers on 127.0.0.1:{port}"
    return fetch(port)


def inspect(rs, cid) -> dict:
    return json.loads(ok(rs("inspect", cid)))[0]


@pytest.mark.parametrize("address", ["127.0.0.1:", ""])
def test_httpd_published_is_reached_from_the_host(rs, busybox, address):
    port = free_port()
    cid = ok(rs("run", "-d", "-p", f"{address}{port}:80", busybox, "sh", "-c", HTTPD)).strip()
    try:
        assert served(port).startswith("hello-")
        shown = (address.rstrip(":") or "0.0.0.0")
        assert ok(rs("port", cid)) == f"80/tcp -> {shown}:{port}\n"
        assert ok(rs("port", cid, "80")) == f"{shown}:{port}\n"
        assert ok(rs("ps", "--format", "{{.Ports}}", "--filter", f"id={cid}")) == \
            f"{shown}:{port}->80/tcp\n"
        record = inspect(rs, cid)
        assert record["HostConfig"]["PortBindings"] == \
            {"80/tcp": [{"HostIp": address.rstrip(":"), "HostPort": str(port)}]}
        assert record["Config"]["ExposedPorts"] == {"80/tcp": {}}
        assert record["NetworkSettings"]["Ports"] == \
            {"80/tcp": [{"HostIp": shown, "HostPort": str(port)}]}
        missing = rs("port", cid, "81/tcp")
        assert missing.returncode == 1
        assert missing.stderr.strip().endswith(f"Error: No public port '81/tcp' published "
                                               f"for {cid}")
    finally:
        ok(rs("rm", "-f", cid))
    assert fetch(port) is None
    # the port is given back with the container
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_publish_all_uses_the_images_expose_and_expose_flag(rs, exposing):
    cid = ok(rs("run", "-d", "-P", "--expose", "9000", exposing, "sh", "-c", HTTPD)).strip()
    try:
        ports = inspect(rs, cid)["NetworkSettings"]["Ports"]
        assert set(ports) == {"80/tcp", "53/udp", "9000/tcp"}
        host_port = int(ports["80/tcp"][0]["HostPort"])
        first, last = (int(x) for x in
                       open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
        assert first <= host_port <= last
        assert served(host_port).startswith("hello-")
        assert inspect(rs, cid)["HostConfig"]["PublishAllPorts"] is True
        assert "->80/tcp" in ok(rs("ps", "--format", "{{.Ports}}", "--filter", f"id={cid}"))
    finally:
        ok(rs("rm", "-f", cid))


UDP_ECHO = ("import socket\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "s.bind(('0.0.0.0', 5353))\n"
            "while True:\n"
            "    data, peer = s.recvfrom(64)\n"
            "    s.sendto(b'pong ' + data, peer)\n")


def test_udp_published(rs, busybox):
    port = free_port(socket.SOCK_DGRAM)
    cid = ok(rs("run", "-d", "-p", f"127.0.0.1:{port}:5353/udp", busybox,
                "sleep", "600")).strip()
    # busybox-static's nc has no -u: the UDP server inside the container's
    # network namespace is a Python one
    server = subprocess.Popen(["nsenter", f"--net=/run/rs-docker/netns/{cid}",
                               sys.executable, "-c", UDP_ECHO])
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(1)
            s.connect(("127.0.0.1", port))

            def answered() -> bool:
                try:
                    s.send(b"ping")
                    return s.recv(64) == b"pong ping"
                except OSError:
                    return False
            assert wait_for(answered, 30)
        assert ok(rs("port", cid, "5353/udp")) == f"127.0.0.1:{port}\n"
    finally:
        server.kill()
        server.wait()
        ok(rs("rm", "-f", cid))


def test_a_taken_port_is_refused_with_dockers_error_and_nothing_left(rs, busybox):
    port = free_port()
    first = ok(rs("run", "-d", "-p", f"{port}:80", busybox, "sleep", "300")).strip()
    try:
        before = set(ok(rs("ps", "-aq", "--no-trunc")).split())
        proc = rs("run", "-d", "--name", "second", "-p", f"{port}:80", busybox, "sleep", "300")
        assert proc.returncode == 125
        assert proc.stderr.strip().splitlines()[-1] == \
            f"rs-docker: Bind for 0.0.0.0:{port} failed: port is already allocated"
        # the failed container holds no port: a third one gets another port fine
        third = ok(rs("run", "-d", "-p", "127.0.0.1::80", busybox, "sleep", "300")).strip()
        ok(rs("rm", "-f", third))
        assert set(ok(rs("ps", "-q", "--no-trunc")).split()) <= before
    finally:
        ok(rs("rm", "-f", first))
        rs("rm", "-f", "second")


def test_a_port_a_host_program_listens_on_is_refused(rs, busybox):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        proc = rs("run", "--rm", "-p", f"127.0.0.1:{port}:80", busybox, "true")
    assert proc.returncode == 125
    assert proc.stderr.strip().splitlines()[-1].endswith(
        f"listen tcp4 127.0.0.1:{port}: bind: address already in use")


@pytest.mark.parametrize(("spec", "message"), [
    ("abc", "invalid containerPort: abc"),
    ("8000-8010:80-81", "invalid ranges specified for container and host Ports: 80-81 and "
                        "8000-8010"),
    ("80/xyz", "invalid proto: xyz"),
])
def test_bad_publish_spec_is_one_line_125(rs, busybox, spec, message):
    before = ok(rs("ps", "-aq"))
    proc = rs("run", "--rm", "-p", spec, busybox, "true")
    assert proc.returncode == 125
    assert proc.stderr.strip() == f"rs-docker: {message}"
    assert ok(rs("ps", "-aq")) == before


def test_ports_are_checked_before_the_image_is_looked_up(rs):
    proc = rs("run", "--rm", "-p", "8080:http", "127.0.0.1:1/no/such:image", "true")
    assert proc.returncode == 125
    assert proc.stderr.strip() == "rs-docker: invalid containerPort: http"
    proc = rs("create", "--expose", "80:80", "127.0.0.1:1/no/such:image")
    assert proc.returncode == 125
    assert proc.stderr.strip() == "rs-docker: invalid port format for --expose: 80:80"


def test_publishing_into_another_containers_network_is_refused(rs, busybox):
    proc = rs("run", "--rm", "--network", "container:whatever", "-p", "80", busybox, "true")
    assert proc.returncode == 125
    assert proc.stderr.strip() == \
        "rs-docker: conflicting options: port publishing and the container type network mode"
