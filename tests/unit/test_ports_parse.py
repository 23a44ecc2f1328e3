"""-p/--publish, --expose, -P: the parser against Docker's behaviour
(docker-cli's run options and go-connections' nat.ParsePortSpec)."""

import pytest

from rs_docker.errors import UsageError
from rs_docker.models.ports import PortMapping as M
from rs_docker.models.ports import parse_expose, parse_image_exposed, parse_publish, plan

# spec -> mappings (host_ip, host_port, container_port, protocol, host_port_end)
PUBLISH_OK = [
    ("80", [M("", 0, 80, "tcp")]),
    ("8080:80", [M("", 8080, 80, "tcp")]),
    ("0.0.0.0:8080:80", [M("0.0.0.0", 8080, 80, "tcp")]),
    ("127.0.0.1::80", [M("127.0.0.1", 0, 80, "tcp")]),
    ("127.0.0.1:8080:80/udp", [M("127.0.0.1", 8080, 80, "udp")]),
    ("53:53/UDP", [M("", 53, 53, "udp")]),
    ("9:9/sctp", [M("", 9, 9, "sctp")]),
    ("80/", [M("", 0, 80, "tcp")]),
    ("[::1]:80:80", [M("::1", 80, 80, "tcp")]),
    ("::1:80:80", [M("::1", 80, 80, "tcp")]),
    ("[::]::80", [M("::", 0, 80, "tcp")]),
    ("8000-8002:80-82", [M("", 8000, 80), M("", 8001, 81), M("", 8002, 82)]),
    ("80-81", [M("", 0, 80), M("", 0, 81)]),
    ("8000-8010:80", [M("", 8000, 80, "tcp", 8010)]),
    ("1.2.3.4:7000-7001:70-71/udp", [M("1.2.3.4", 7000, 70, "udp"), M("1.2.3.4", 7001, 71, "udp")]),
    ("published=8080,target=80", [M("", 8080, 80, "tcp")]),
    ("mode=host,target=53,published=5353,protocol=udp", [M("", 5353, 53, "udp")]),
    ("target=80", [M("", 0, 80, "tcp")]),
]

PUBLISH_BAD = [
    ("abc", "invalid containerPort: abc"),
    ("8080:abc", "invalid containerPort: abc"),
    ("70000", "invalid containerPort: 70000"),
    ("+80", "invalid containerPort: +80"),
    ("0", "invalid containerPort: 0"),
    ("90-80", "invalid containerPort: 90-80"),
    ("abc:80", "invalid hostPort: abc"),
    ("70000:80", "invalid hostPort: 70000"),
    ("80/xyz", "invalid proto: xyz"),
    ("8080:", "invalid proto: "),
    ("1.2.3:80:80", "invalid IP address: 1.2.3"),
    ("localhost:80:80", "invalid IP address: localhost"),
    ("fe80::1%eth0:80:80", "invalid IP address: fe80::1%eth0"),
    ("[::1:80:80", "invalid IP address [::1: address [::1:: missing ']' in address"),
    ("8000-8010:80-81", "invalid ranges specified for container and host Ports: 80-81 and 8000-8010"),
    ("8000-8001:80-82", "invalid ranges specified for container and host Ports: 80-82 and 8000-8001"),
    ("target=80,udp", "invalid publish opts format (should be name=value but got 'udp')"),
    ("published=1,=2", "invalid publish opts format (should be name=value but got '=2')"),
]


@pytest.mark.parametrize(("spec", "expected"), PUBLISH_OK)
def test_publish_spec(spec, expected):
    assert list(parse_publish(spec)) == expected


@pytest.mark.parametrize(("spec", "message"), PUBLISH_BAD)
def test_publish_spec_refused_with_dockers_text(spec, message):
    with pytest.raises(UsageError) as caught:
        parse_publish(spec)
    assert str(caught.value) == message
    assert caught.value.exit_code == 125


def test_binding_records_the_request_as_docker_does():
    assert parse_publish("8080:80")[0].binding == {"HostIp": "", "HostPort": "8080"}
    assert parse_publish("127.0.0.1::80")[0].binding == {"HostIp": "127.0.0.1", "HostPort": ""}
    assert parse_publish("8000-8010:80")[0].binding == {"HostIp": "", "HostPort": "8000-8010"}
    assert parse_publish("53/udp")[0].key == "53/udp"


@pytest.mark.parametrize(("spec", "keys"), [
    ("80", ("80/tcp",)),
    ("53/udp", ("53/udp",)),
    ("53/UDP", ("53/udp",)),
    ("7000-7002", ("7000/tcp", "7001/tcp", "7002/tcp")),
    ("9/sctp", ("9/sctp",)),
])
def test_expose(spec, keys):
    assert parse_expose(spec) == keys


@pytest.mark.parametrize(("spec", "message"), [
    ("8080:80", "invalid port format for --expose: 8080:80"),
    ("abc", 'invalid range format for --expose: abc, error: strconv.ParseUint: parsing "abc": '
            "invalid syntax"),
    ("70000", 'invalid range format for --expose: 70000, error: strconv.ParseUint: parsing '
              '"70000": value out of range'),
    ("90-80", "invalid range format for --expose: 90-80, error: invalid range specified for "
              "port: 90-80"),
    ("80/xyz", "invalid proto: xyz"),
])
def test_expose_refused_with_dockers_text(spec, message):
    with pytest.raises(UsageError) as caught:
        parse_expose(spec)
    assert str(caught.value) == message


def test_image_exposed_keys_and_junk_skipped():
    assert parse_image_exposed(["80/tcp", "53/udp", "8000-8001", "junk", "0/tcp", "1/xyz"]) == \
        ("80/tcp", "53/udp", "8000/tcp", "8001/tcp")


def test_plan_without_publish_all_publishes_only_p():
    p = plan(["8080:80"], ["9000"], False, ["443/tcp"])
    assert p.exposed_ports == {"443/tcp": {}, "80/tcp": {}, "9000/tcp": {}}
    assert p.port_bindings == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    assert p.to_publish == (M("", 8080, 80),)


def test_plan_publish_all_adds_every_exposed_port_without_a_binding():
    p = plan(["127.0.0.1:8080:80"], ["9000/udp"], True, ["443/tcp", "80/tcp"])
    assert p.to_publish == (M("127.0.0.1", 8080, 80), M("", 0, 443), M("", 0, 9000, "udp"))
    # -P is not a binding: PortBindings holds only what -p asked for
    assert list(p.port_bindings) == ["80/tcp"]


def test_plan_two_bindings_of_one_port_are_kept_in_order():
    p = plan(["127.0.0.1:8080:80", "[::1]:8081:80"])
    assert p.port_bindings == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"},
                                          {"HostIp": "::1", "HostPort": "8081"}]}


def _b(ip, port):
    return {"HostIp": ip, "HostPort": str(port)}


# NetworkSettings.Ports -> the PORTS column (docker-cli DisplayablePorts)
PS_CASES = [
    ({}, ""),
    ({"80/tcp": None}, "80/tcp"),
    ({"80/tcp": [_b("0.0.0.0", 8080)]}, "0.0.0.0:8080->80/tcp"),
    ({"80/tcp": [_b("0.0.0.0", 8080), _b("::", 8080)]},
     "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"),
    ({"80/tcp": [_b("127.0.0.1", 80)]}, "127.0.0.1:80->80/tcp"),
    ({"8000/tcp": [_b("0.0.0.0", 8000)], "8001/tcp": [_b("0.0.0.0", 8001)],
      "8002/tcp": [_b("0.0.0.0", 8002)]}, "0.0.0.0:8000-8002->8000-8002/tcp"),
    ({"7000/udp": None, "7001/udp": None, "7003/udp": None, "443/tcp": None,
      "80/tcp": [_b("0.0.0.0", 8080)]},
     # a run broken by a gap is written out at once (docker-cli does the same)
     "7000-7001/udp, 443/tcp, 7003/udp, 0.0.0.0:8080->80/tcp"),
    ({"53/udp": [_b("127.0.0.1", 5353)], "53/tcp": [_b("127.0.0.1", 5353)]},
     "127.0.0.1:5353->53/tcp, 127.0.0.1:5353->53/udp"),
]


@pytest.mark.parametrize(("ports", "text"), PS_CASES)
def test_ps_ports_column(ports, text):
    from rs_docker.models.ports import displayable_ports

    assert displayable_ports(ports) == text


def test_port_command_lines_and_errors():
    from rs_docker.models.ports import port_lines

    ports = {"80/tcp": [_b("0.0.0.0", 8080), _b("::", 8080)], "9/tcp": [_b("0.0.0.0", 9009)],
             "53/udp": [_b("127.0.0.1", 5353)], "443/tcp": None}
    assert port_lines(ports, "web") == ["9/tcp -> 0.0.0.0:9009", "53/udp -> 127.0.0.1:5353",
                                        "80/tcp -> 0.0.0.0:8080", "80/tcp -> [::]:8080"]
    assert port_lines(ports, "web", "80") == ["0.0.0.0:8080", "[::]:8080"]
    assert port_lines(ports, "web", "53/udp") == ["127.0.0.1:5353"]
    for asked in ("443", "81/tcp", "53"):
        with pytest.raises(UsageError) as caught:
            port_lines(ports, "web", asked)
        assert str(caught.value) == f"Error: No public port '{asked}' published for web"
    with pytest.raises(UsageError) as caught:
        port_lines(ports, "web", "http")
    assert str(caught.value) == \
        'Error: invalid port (http): strconv.ParseUint: parsing "http": invalid syntax'
